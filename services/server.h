// The gRPC server of kamd: every kam.v1 service over one Engine, plus
// grpc.health.v1.Health and server reflection.
//
//   ServerOptions options;
//   options.listen = "127.0.0.1:50051";
//   KAM_ASSIGN_OR_RETURN(std::unique_ptr<KamServer> server, KamServer::Start(engine.get(),
//   options));
//   ...
//   server->Shutdown(absl::Now() + absl::Seconds(30));  // Finishes in-flight calls.

#ifndef KAM_SERVICES_SERVER_H_
#define KAM_SERVICES_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/auth.h"
#include "services/engine.h"

namespace kam::services {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // Port 0 picks a free port.
  std::string tokens_file;                 // Empty: no auth, loopback only.
  std::string tls_cert_file;               // PEM; with tls_key_file.
  std::string tls_key_file;
  int max_message_bytes = 4 << 20;
  // Calls asking for longer (or no) deadlines get this one.
  absl::Duration max_deadline = absl::Minutes(10);
};

struct ServiceLimits {
  int max_message_bytes = 4 << 20;
  absl::Duration max_deadline = absl::Minutes(10);
};

class KamServer {
 public:
  // Errors: InvalidArgument for a malformed listen address, FailedPrecondition
  // for a non-loopback address without tokens, Unavailable when the port
  // cannot be bound; each names the cause.
  static absl::StatusOr<std::unique_ptr<KamServer>> Start(Engine* engine,
                                                          const ServerOptions& options);
  // The checks of Start that need no engine (tokens file, loopback without
  // tokens, TLS files), so a program can refuse bad options before opening
  // its data. Same errors as Start.
  static absl::Status CheckOptions(const ServerOptions& options);
  ~KamServer();

  int port() const { return port_; }
  bool authenticated() const { return authorizer_.enabled(); }

  // Stops accepting calls, lets in-flight calls finish until `deadline`,
  // then cancels the rest. Idempotent.
  void Shutdown(absl::Time deadline);

 private:
  struct Services;
  class Health;
  class CallCounter;
  KamServer() = default;

  Authorizer authorizer_;
  std::unique_ptr<Services> services_;
  std::shared_ptr<Health> health_;
  CallCounter* calls_ = nullptr;  // Owned by the gRPC server.
  int port_ = 0;
  bool shut_down_ = false;
};

// True for 127.0.0.0/8, ::1 and localhost.
bool IsLoopbackAddress(const std::string& host_port);

}  // namespace kam::services

#endif  // KAM_SERVICES_SERVER_H_
