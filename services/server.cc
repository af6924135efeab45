#include "services/server.h"

#include <arpa/inet.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "eventstore/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/server_interceptor.h"
#include "services/accounts_service.h"
#include "services/audit_service.h"
#include "services/event_store_service.h"
#include "services/views_service.h"

namespace kam::services {

// The calls in progress, counted by an interceptor on every call: Shutdown
// closes the connections left once there are none.
class KamServer::CallCounter : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* /*info*/) override {
    return new Counted(this);
  }

  // False at `deadline` with calls still in progress.
  bool AwaitNone(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithDeadline(absl::Condition(
                                     +[](int64_t* calls) { return *calls == 0; }, &calls_),
                                 deadline);
  }

 private:
  // Lives as long as its call.
  class Counted : public grpc::experimental::Interceptor {
   public:
    explicit Counted(CallCounter* counter) : counter_(counter) {
      absl::MutexLock lock(&counter_->mu_);
      ++counter_->calls_;
    }
    ~Counted() override {
      absl::MutexLock lock(&counter_->mu_);
      --counter_->calls_;
    }
    void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
      methods->Proceed();
    }

   private:
    CallCounter* const counter_;
  };

  absl::Mutex mu_;
  int64_t calls_ ABSL_GUARDED_BY(mu_) = 0;
};

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the ", what, " ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerOptions& options) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (options.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  KAM_ASSIGN_OR_RETURN(pair.cert_chain, ReadFile(options.tls_cert_file, "TLS certificate"));
  KAM_ASSIGN_OR_RETURN(pair.private_key, ReadFile(options.tls_key_file, "TLS key"));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(ssl);
}

std::string HostOf(const std::string& host_port) {
  if (absl::StartsWith(host_port, "[")) {
    size_t end = host_port.find(']');
    return end == std::string::npos ? host_port : host_port.substr(1, end - 1);
  }
  size_t colon = host_port.rfind(':');
  return colon == std::string::npos ? host_port : host_port.substr(0, colon);
}

// Without tokens every call is allowed, so only this machine may call.
absl::StatusOr<Authorizer> LoadAuthorizer(const ServerOptions& options) {
  if (!options.tokens_file.empty()) return Authorizer::FromTokensFile(options.tokens_file);
  if (!IsLoopbackAddress(options.listen)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to listen on ", options.listen,
        " without --tokens: anyone who can reach it could read and write every account; "
        "give a tokens file or listen on 127.0.0.1"));
  }
  return Authorizer::AllowAll();
}

}  // namespace

absl::Status KamServer::CheckOptions(const ServerOptions& options) {
  KAM_RETURN_IF_ERROR(LoadAuthorizer(options).status());
  return Credentials(options).status();
}

bool IsLoopbackAddress(const std::string& host_port) {
  const std::string host = HostOf(host_port);
  if (host == "localhost" || host == "::1") return true;
  // A numeric address only: a name like 127.example.com may resolve anywhere.
  in_addr ipv4;
  return inet_pton(AF_INET, host.c_str(), &ipv4) == 1 && (ntohl(ipv4.s_addr) >> 24) == 127;
}

// grpc.health.v1 statuses: every kam.v1 service and the server ("") serve
// until an engine fault stops what a restart would repair. The engine may
// report after the server is gone, hence the shared, detachable object.
class KamServer::Health {
 public:
  explicit Health(grpc::HealthCheckServiceInterface* service) : service_(service) {
    if (service_ == nullptr) return;  // Only when the health service is disabled.
    for (const char* name :
         {"", "kam.v1.EventStore", "kam.v1.Accounts", "kam.v1.Views", "kam.v1.Audit"}) {
      service_->SetServingStatus(name, true);
    }
  }

  void Mark(EngineFault fault) {
    absl::MutexLock lock(&mu_);
    if (service_ == nullptr) return;
    service_->SetServingStatus("", false);
    // Accounts only records; EventStore's reads and Audit still work.
    service_->SetServingStatus(
        fault == EngineFault::kLogRefusesAppends ? "kam.v1.Accounts" : "kam.v1.Views", false);
  }

  void Detach() {
    absl::MutexLock lock(&mu_);
    service_ = nullptr;
  }

 private:
  absl::Mutex mu_;
  grpc::HealthCheckServiceInterface* service_ ABSL_GUARDED_BY(mu_);
};

struct KamServer::Services {
  Services(Engine* engine, const Authorizer* authorizer, const ServiceLimits& limits)
      : event_store(engine, authorizer, limits),
        accounts(engine, authorizer, limits),
        views(engine, authorizer, limits),
        audit(engine, authorizer, limits) {}

  EventStoreService event_store;
  AccountsService accounts;
  ViewsService views;
  AuditService audit;
  std::unique_ptr<grpc::Server> server;
};

absl::StatusOr<std::unique_ptr<KamServer>> KamServer::Start(Engine* engine,
                                                            const ServerOptions& options) {
  std::unique_ptr<KamServer> server(new KamServer());
  KAM_ASSIGN_OR_RETURN(server->authorizer_, LoadAuthorizer(options));
  KAM_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials, Credentials(options));
  ServiceLimits limits{options.max_message_bytes, options.max_deadline};
  server->services_ = std::make_unique<Services>(engine, &server->authorizer_, limits);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &server->port_);
  // Sync handlers (Accounts, Views, Audit) block on the log's fsync; with the
  // default of 2 idle pollers, every burst of concurrent calls would create
  // threads and the end of the burst destroy them again.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 32);
  // kamd serves no channelz service, so its per-call bookkeeping is waste.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.RegisterService(&server->services_->event_store);
  builder.RegisterService(&server->services_->accounts);
  builder.RegisterService(&server->services_->views);
  builder.RegisterService(&server->services_->audit);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  auto counter = std::make_unique<CallCounter>();
  server->calls_ = counter.get();  // The server owns it, and outlives every call.
  interceptors.push_back(std::move(counter));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server->services_->server = builder.BuildAndStart();
  if (server->services_->server == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen, " (address in use or not valid)"));
  }
  server->health_ = std::make_shared<Health>(server->services_->server->GetHealthCheckService());
  engine->OnFault([health = server->health_](EngineFault fault, const absl::Status& /*cause*/) {
    health->Mark(fault);
  });
  return server;
}

void KamServer::Shutdown(absl::Time deadline) {
  if (shut_down_ || services_ == nullptr || services_->server == nullptr) return;
  shut_down_ = true;
  if (health_ != nullptr) health_->Detach();
  services_->event_store.BeginShutdown();
  grpc::Server* server = services_->server.get();
  // gRPC's graceful shutdown waits for every client to answer its GOAWAY,
  // which a client that polls nothing until its next call (a blocking stub)
  // does seconds later at best. Once no call is left, nothing is lost by
  // closing the connections; one that opens meanwhile is closed in turn.
  absl::Notification finished;
  std::thread closer([this, server, deadline, &finished] {
    // Each round lets the shutdown begin, or finish, first. Past the
    // deadline gRPC cancels everything itself.
    while (!finished.WaitForNotificationWithTimeout(absl::Milliseconds(100)) &&
           absl::Now() < deadline && calls_->AwaitNone(deadline)) {
      grpc_server_cancel_all_calls(server->c_server());
    }
  });
  server->Shutdown(absl::ToChronoTime(deadline));
  finished.Notify();
  closer.join();
  server->Wait();
}

KamServer::~KamServer() { Shutdown(absl::Now() + absl::Seconds(5)); }

}  // namespace kam::services
