#include "tools/kambench/server_bench.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "eventstore/event_log.h"
#include "eventstore/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "kam/v1/accounts.grpc.pb.h"
#include "kam/v1/audit.grpc.pb.h"
#include "kam/v1/event_store.grpc.pb.h"
#include "kam/v1/views.grpc.pb.h"
#include "projections/time_proto.h"
#include "tools/generator/portfolio_generator.h"
#include "tools/kambench/filler_events.h"
#include "tools/kambench/raw_reference.h"
#include "tools/kambench/report.h"

extern char** environ;

namespace kam::kambench {

namespace {

using Clock = BenchClock;

constexpr size_t kEventBytes = 300;
constexpr size_t kFillerStreams = 1000;
constexpr char kAccountStreamPrefix[] = "account-";
constexpr int kAppendClients = 32;
constexpr int kBatchClients = 4;
constexpr int kBatchEvents = 100;
constexpr int kRecordClients = 32;
constexpr int kAccountsPerRecordClient = 10;
constexpr int kRecordBatchRequests = 1000;
constexpr int kLoadClients = 8;
// Several HTTP/2 connections, as that many real clients would have.
constexpr int kClientsPerChannel = 4;
constexpr int kChannels = kAppendClients / kClientsPerChannel;
constexpr int kWarmUpViewCalls = 100;

// Targets of issue 5.
constexpr double kAppendTargetRatio = 1.0;
constexpr double kBatchTargetRatio = 0.6;
constexpr double kRecordBatchTargetRatio = 1.0;
constexpr double kSubscribeTargetEventsPerSecond = 200000;
constexpr double kGetAccountTargetP99Ms = 1.0;

std::chrono::system_clock::time_point DeadlineIn(absl::Duration timeout) {
  return absl::ToChronoTime(absl::Now() + timeout);
}

void ToProto(const eventstore::EventData& e, kam::v1::EventData* out) {
  out->set_event_id(e.event_id);
  out->set_type(e.type);
  out->set_data(e.data);
  for (const auto& [key, value] : e.metadata) (*out->mutable_metadata())[key] = value;
  *out->mutable_occurred_at() = projections::TimeToProto(e.occurred_at);
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
                      ": ", status.error_message());
}

// ---------------------------------------------------------------------------
// Failures of any call, over the whole run.

class Failures {
 public:
  void Add(absl::string_view what, const grpc::Status& status) { Add(what, Describe(status)); }
  void Add(absl::string_view what, absl::string_view error) {
    absl::MutexLock lock(&mu_);
    if (count_++ == 0) first_ = absl::StrCat(what, ": ", error);
  }
  uint64_t count() {
    absl::MutexLock lock(&mu_);
    return count_;
  }
  std::string first() {
    absl::MutexLock lock(&mu_);
    return first_;
  }

 private:
  absl::Mutex mu_;
  uint64_t count_ ABSL_GUARDED_BY(mu_) = 0;
  std::string first_ ABSL_GUARDED_BY(mu_);
};

// ---------------------------------------------------------------------------
// The filler events of the append workloads, the same on both sides.

// "bench-0" .. "bench-999": streams the projections ignore, so appending
// filler events costs kamd what an append costs and nothing more.
const std::vector<std::string>& FillerStreams() {
  static const std::vector<std::string>* const names =
      new std::vector<std::string>(NumberedStreams("bench-", kFillerStreams));
  return *names;
}

// The events of one client. Event ids are unique per `source_index`.
FillerEvents ClientEvents(uint64_t seed, uint64_t source_index) {
  return FillerEvents(&FillerStreams(), seed, source_index, kEventBytes);
}

// ---------------------------------------------------------------------------
// kamd as a child process.

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Tail(const std::string& text, size_t bytes) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

class KamdProcess {
 public:
  // Starts `binary` on `data_dir` and a free loopback port, its stdout and
  // stderr going to files in `log_dir`, and waits for its "listening on" line.
  static absl::StatusOr<std::unique_ptr<KamdProcess>> Start(const std::string& binary,
                                                            const std::string& data_dir,
                                                            const std::string& log_dir) {
    const std::string out_path = log_dir + "/kamd.stdout";
    const std::string err_path = log_dir + "/kamd.stderr";
    const int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0 || err_fd < 0) {
      if (out_fd >= 0) close(out_fd);
      if (err_fd >= 0) close(err_fd);
      return absl::FailedPreconditionError(
          absl::StrCat("creating kamd's log files in ", log_dir, ": ", std::strerror(errno)));
    }
    std::vector<std::string> args = {binary, "--data", data_dir, "--listen", "127.0.0.1:0"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out_fd);
    close(err_fd);
    if (spawned != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("starting kamd (", binary, "): ", std::strerror(spawned), "; see --kamd"));
    }
    std::unique_ptr<KamdProcess> kamd(new KamdProcess(pid, err_path));
    KAM_RETURN_IF_ERROR(kamd->AwaitAddress(out_path));
    return kamd;
  }

  // After a failure elsewhere: kamd must not outlive the benchmark.
  ~KamdProcess() {
    if (!running_) return;
    kill(pid_, SIGTERM);
    if (!WaitExit(absl::Seconds(60)).ok()) {
      kill(pid_, SIGKILL);
      WaitExit(absl::InfiniteDuration()).IgnoreError();
    }
  }

  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }

  // SIGTERM, then waits up to `timeout` for the exit; an error unless kamd
  // exits 0 in time (then it is killed).
  absl::Status Stop(absl::Duration timeout) {
    if (kill(pid_, SIGTERM) != 0) {
      return absl::InternalError(absl::StrCat("SIGTERM to kamd: ", std::strerror(errno)));
    }
    absl::StatusOr<int> status = WaitExit(timeout);
    if (!status.ok()) {
      kill(pid_, SIGKILL);
      WaitExit(absl::InfiniteDuration()).IgnoreError();
      return status.status();
    }
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return absl::OkStatus();
    const std::string how = WIFEXITED(*status)
                                ? absl::StrCat("exited ", WEXITSTATUS(*status))
                                : absl::StrCat("was killed by signal ", WTERMSIG(*status));
    return absl::InternalError(absl::StrCat(
        "kamd ", how, " after SIGTERM; its stderr: ", Tail(ReadFile(err_path_), 2000)));
  }

 private:
  KamdProcess(pid_t pid, std::string err_path) : pid_(pid), err_path_(std::move(err_path)) {}

  absl::Status AwaitAddress(const std::string& out_path) {
    static constexpr char kListening[] = "listening on ";
    constexpr size_t kListeningBytes = sizeof(kListening) - 1;
    const absl::Time deadline = absl::Now() + absl::Minutes(2);
    while (absl::Now() < deadline) {
      const std::string out = ReadFile(out_path);
      const size_t at = out.find(kListening);
      const size_t end = at == std::string::npos ? at : out.find_first_of(",\n", at);
      if (end != std::string::npos) {
        address_ = out.substr(at + kListeningBytes, end - at - kListeningBytes);
        return absl::OkStatus();
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        running_ = false;
        return absl::FailedPreconditionError(absl::StrCat(
            "kamd exited before listening; its stderr: ", Tail(ReadFile(err_path_), 2000)));
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return absl::DeadlineExceededError("kamd did not say where it listens within 2 minutes");
  }

  // The wait status of the exit.
  absl::StatusOr<int> WaitExit(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      int status = 0;
      const pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        running_ = false;
        return status;
      }
      if (done < 0) {
        running_ = false;
        return absl::InternalError(absl::StrCat("waiting for kamd: ", std::strerror(errno)));
      }
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "kamd did not exit within ", absl::FormatDuration(timeout), " of SIGTERM"));
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  pid_t pid_;
  std::string err_path_;
  bool running_ = true;
  std::string address_;
};

// ---------------------------------------------------------------------------
// Clients.

class Clients {
 public:
  explicit Clients(const std::string& address) {
    for (int i = 0; i < kChannels; ++i) {
      grpc::ChannelArguments args;
      // Channels with equal arguments would share one connection.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt("kambench.channel", i);
      args.SetMaxReceiveMessageSize(-1);
      args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
      channels_.push_back(
          grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
    }
  }

  // The channel of client `client`: kClientsPerChannel clients share one.
  const std::shared_ptr<grpc::Channel>& channel(int client) const {
    return channels_[(client / kClientsPerChannel) % channels_.size()];
  }
  std::shared_ptr<kam::v1::EventStore::Stub> EventStore(int client) const {
    return kam::v1::EventStore::NewStub(channel(client));
  }
  std::shared_ptr<kam::v1::Accounts::Stub> Accounts(int client) const {
    return kam::v1::Accounts::NewStub(channel(client));
  }
  std::shared_ptr<kam::v1::Views::Stub> Views(int client) const {
    return kam::v1::Views::NewStub(channel(client));
  }

 private:
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
};

absl::StatusOr<kam::v1::GetLogHeadResponse> GetLogHead(const std::string& address,
                                                       absl::Duration timeout) {
  auto audit =
      kam::v1::Audit::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  context.set_deadline(DeadlineIn(timeout));
  kam::v1::GetLogHeadResponse head;
  const grpc::Status status = audit->GetLogHead(&context, kam::v1::GetLogHeadRequest(), &head);
  if (!status.ok()) return absl::UnavailableError(absl::StrCat("GetLogHead: ", Describe(status)));
  return head;
}

// ---------------------------------------------------------------------------
// Running clients for a while.

// One call of one client; returns the items it completed (0 after a
// failure, which it has recorded).
using Step = std::function<uint64_t()>;

// Runs every step on a thread of its own, over and over, for `seconds` from
// the moment all threads are ready. Calls in flight at the stop count, and so
// does the time they took.
Throughput RunSteps(std::vector<Step> steps, double seconds) {
  absl::BlockingCounter ready(static_cast<int>(steps.size()));
  absl::Notification start;
  std::atomic<bool> stop{false};
  std::vector<uint64_t> items(steps.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < steps.size(); ++i) {
    threads.emplace_back([&, i] {
      ready.DecrementCount();
      start.WaitForNotification();
      uint64_t done = 0;
      while (!stop.load(std::memory_order_relaxed)) done += steps[i]();
      items[i] = done;
    });
  }
  ready.Wait();
  const Clock::time_point started = Clock::now();
  start.Notify();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (std::thread& thread : threads) thread.join();
  Throughput result;
  result.seconds = SecondsSince(started);
  for (uint64_t n : items) result.items += n;
  return result;
}

// Runs one half of a side: `half` numbers the halves of a run, so event
// sources never repeat.
using HalfRunner = std::function<Throughput(int half, double seconds)>;

// Each side for half of `seconds` at a time, in the order of kKamHalves.
Paired MeasurePaired(const HalfRunner& raw, const HalfRunner& kam, double seconds) {
  Paired paired;
  for (int half = 0; half < static_cast<int>(std::size(kKamHalves)); ++half) {
    const HalfRunner& run = kKamHalves[half] ? kam : raw;
    PairedSide& side = kKamHalves[half] ? paired.kam : paired.raw;
    side.halves.push_back(run(half, seconds / 2));
  }
  return paired;
}

Step RawAppendStep(RawLogWriter* db, FillerEvents source, size_t events_per_append,
                   Failures* failures) {
  std::vector<eventstore::EventData> events;
  return [=]() mutable -> uint64_t {
    const FillerStream stream = source.NextStream();
    source.NextEvents(events_per_append, &events);
    const absl::Status written = db->Append(stream.index, stream.name, events);
    if (!written.ok()) {
      failures->Add("raw RocksDB write", written.ToString());
      return 0;
    }
    return events.size();
  };
}

// One client of kamd: keeps one Append in flight and sends the next when it
// is answered, as a blocking client would, but on gRPC's callback API, so 32
// clients do not need 32 threads on the 2 cores kamd runs on too.
class KamAppender {
 public:
  KamAppender(std::shared_ptr<kam::v1::EventStore::Stub> stub, FillerEvents source,
              size_t events_per_append, const std::atomic<bool>* stop,
              absl::BlockingCounter* stopped, Failures* failures)
      : stub_(std::move(stub)),
        source_(std::move(source)),
        events_per_append_(events_per_append),
        stop_(stop),
        stopped_(stopped),
        failures_(failures) {}

  void Send() {
    const FillerStream stream = source_.NextStream();
    source_.NextEvents(events_per_append_, &events_);
    request_.Clear();
    request_.set_stream(std::string(stream.name));
    for (const eventstore::EventData& e : events_) ToProto(e, request_.add_events());
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(DeadlineIn(absl::Seconds(60)));
    stub_->async()->Append(context_.get(), &request_, &response_,
                           [this](grpc::Status status) { Answered(status); });
  }

  // Events acknowledged; read after `stopped` has counted this client.
  uint64_t items() const { return items_; }

 private:
  void Answered(const grpc::Status& status) {
    if (!status.ok()) {
      failures_->Add("EventStore.Append", status);
    } else if (response_.last_position() + 1 - response_.first_position() != events_.size()) {
      failures_->Add("EventStore.Append",
                     absl::StrCat(events_.size(), " events were given positions ",
                                  response_.first_position(), "..", response_.last_position()));
    } else {
      items_ += events_.size();
    }
    if (stop_->load(std::memory_order_relaxed)) {
      stopped_->DecrementCount();
      return;
    }
    Send();
  }

  std::shared_ptr<kam::v1::EventStore::Stub> stub_;
  FillerEvents source_;
  const size_t events_per_append_;
  const std::atomic<bool>* stop_;
  absl::BlockingCounter* stopped_;
  Failures* failures_;
  std::vector<eventstore::EventData> events_;
  kam::v1::AppendRequest request_;
  kam::v1::AppendResponse response_;
  std::unique_ptr<grpc::ClientContext> context_;
  uint64_t items_ = 0;
};

// Both sides of an append workload: `clients` writers of `events_per_append`
// events each, the raw side in a fresh database under `raw_dir`.
absl::StatusOr<Paired> MeasureAppends(const Clients& clients, const std::string& raw_dir,
                                      int client_count, size_t events_per_append, double seconds,
                                      uint64_t seed, Failures* failures) {
  KAM_ASSIGN_OR_RETURN(std::unique_ptr<RawLogWriter> raw,
                       RawLogWriter::Open(raw_dir, kFillerStreams, /*sync=*/true));
  // The half and the client make the event source, so ids never repeat.
  const auto source_index = [client_count](int half, int client) {
    return static_cast<uint64_t>(half * kAppendClients * 4 + client + 1) * 1000003 +
           static_cast<uint64_t>(client_count);
  };
  const HalfRunner run_raw = [&](int half, double half_seconds) {
    std::vector<Step> steps;
    for (int c = 0; c < client_count; ++c) {
      steps.push_back(RawAppendStep(raw.get(), ClientEvents(seed, source_index(half, c)),
                                    events_per_append, failures));
    }
    return RunSteps(std::move(steps), half_seconds);
  };
  const HalfRunner run_kam = [&](int half, double half_seconds) {
    std::atomic<bool> stop{false};
    absl::BlockingCounter stopped(client_count);
    std::vector<std::unique_ptr<KamAppender>> appenders;
    for (int c = 0; c < client_count; ++c) {
      appenders.push_back(std::make_unique<KamAppender>(
          clients.EventStore(c), ClientEvents(seed, source_index(half, c)), events_per_append,
          &stop, &stopped, failures));
    }
    const Clock::time_point started = Clock::now();
    for (auto& appender : appenders) appender->Send();
    std::this_thread::sleep_for(std::chrono::duration<double>(half_seconds));
    stop.store(true);
    stopped.Wait();  // Calls in flight at the stop count, and so does their time.
    Throughput result;
    result.seconds = SecondsSince(started);
    for (const auto& appender : appenders) result.items += appender->items();
    return result;
  };
  Paired paired = MeasurePaired(run_raw, run_kam, seconds);
  KAM_RETURN_IF_ERROR(raw->Close());
  std::error_code ec;
  std::filesystem::remove_all(raw_dir, ec);
  return paired;
}

// ---------------------------------------------------------------------------
// Accounts.Record.

kam::v1::AccountEvent Now() {
  kam::v1::AccountEvent e;
  *e.mutable_occurred_at() = projections::TimeToProto(absl::Now());
  e.set_actor("kambench");
  return e;
}

std::string RecordAccountId(int client, int account) {
  return absl::StrFormat("bench-c%02d-a%02d", client, account);
}

// Opens the accounts of every Record client, `clients` at a time.
void OpenRecordAccounts(const Clients& clients, Failures* failures) {
  std::vector<std::thread> threads;
  for (int c = 0; c < kRecordClients; ++c) {
    threads.emplace_back([&clients, failures, c] {
      auto stub = clients.Accounts(c);
      for (int a = 0; a < kAccountsPerRecordClient; ++a) {
        kam::v1::RecordRequest request;
        request.set_account_id(RecordAccountId(c, a));
        request.set_request_id(absl::StrCat("open-", request.account_id()));
        *request.mutable_event() = Now();
        kam::v1::AccountOpened* opened = request.mutable_event()->mutable_account_opened();
        opened->set_name(absl::StrCat("Bench Customer ", c, "-", a));
        opened->set_kind(kam::v1::ACCOUNT_KIND_CUSTOMER);
        opened->set_account_manager("Wang Fang");
        grpc::ClientContext context;
        context.set_deadline(DeadlineIn(absl::Seconds(60)));
        kam::v1::RecordResponse response;
        const grpc::Status status = stub->Record(&context, request, &response);
        if (!status.ok()) failures->Add("Accounts.Record (AccountOpened)", status);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

// The n-th command of a Record client: visits and orders by turns, occurring
// now.
kam::v1::RecordRequest BenchRecord(const std::string& account_id, std::string request_id,
                                   uint64_t n) {
  kam::v1::RecordRequest request;
  request.set_account_id(account_id);
  request.set_request_id(std::move(request_id));
  *request.mutable_event() = Now();
  if (n % 2 == 0) {
    kam::v1::VisitRecorded* visit = request.mutable_event()->mutable_visit_recorded();
    kam::v1::Visitor* visitor = visit->add_visitors();
    visitor->set_name("Wang Fang");
    visitor->set_seniority(kam::v1::VISITOR_SENIORITY_SALES);
    visit->set_purpose("quarterly review");
  } else {
    kam::v1::OrderPlaced* order = request.mutable_event()->mutable_order_placed();
    order->set_order_id(absl::StrCat("o-", request.request_id()));
    order->mutable_amount()->set_minor_units(100000 + static_cast<int64_t>(n % 1000) * 100);
    order->mutable_amount()->set_currency_code("CNY");
    order->set_quantity(1 + n % 10);
  }
  return request;
}

// Visits and orders, in turn, on the client's own accounts.
Step RecordStep(std::shared_ptr<kam::v1::Accounts::Stub> stub, int client, Failures* failures) {
  uint64_t sequence = 0;
  return [=]() mutable -> uint64_t {
    const uint64_t n = sequence++;
    const kam::v1::RecordRequest request =
        BenchRecord(RecordAccountId(client, static_cast<int>(n % kAccountsPerRecordClient)),
                    absl::StrCat("kambench-", client, "-", n), n);
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    kam::v1::RecordResponse response;
    const grpc::Status status = stub->Record(&context, request, &response);
    if (!status.ok()) {
      failures->Add("Accounts.Record", status);
      return 0;
    }
    return 1;
  };
}

// One bulk-import client: RecordBatch calls of kRecordBatchRequests commands
// spread over every Record client's accounts, as an import of a portfolio's
// visits and orders would be.
Step RecordBatchStep(std::shared_ptr<kam::v1::Accounts::Stub> stub, int client,
                     Failures* failures) {
  uint64_t sequence = 0;
  return [=]() mutable -> uint64_t {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(120)));
    kam::v1::RecordBatchResponse response;
    std::unique_ptr<grpc::ClientWriter<kam::v1::RecordRequest>> writer =
        stub->RecordBatch(&context, &response);
    for (int i = 0; i < kRecordBatchRequests; ++i) {
      const uint64_t n = sequence++;
      const int account = static_cast<int>(n % (kRecordClients * kAccountsPerRecordClient));
      // Later writes may share the frame and the syscall.
      grpc::WriteOptions options;
      if (i + 1 < kRecordBatchRequests) options.set_buffer_hint();
      if (!writer->Write(
              BenchRecord(RecordAccountId(account % kRecordClients, account / kRecordClients),
                          absl::StrCat("kambench-batch-", client, "-", n), n),
              options)) {
        break;
      }
    }
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    if (!status.ok()) {
      failures->Add("Accounts.RecordBatch", status);
      return 0;
    }
    if (response.accepted() != static_cast<uint64_t>(kRecordBatchRequests)) {
      failures->Add(
          "Accounts.RecordBatch",
          absl::StrCat(response.accepted(), " of ", kRecordBatchRequests, " commands accepted"));
    }
    return response.accepted();
  };
}

// ---------------------------------------------------------------------------
// Read your writes: waits until the views include `position`.

// The seconds it took; DEADLINE_EXCEEDED answers (the server clamps long
// deadlines) are retried until `timeout`, and only then count as a failure.
double WaitForViews(const Clients& clients, const std::string& account, uint64_t position,
                    absl::Duration timeout, Failures* failures) {
  auto views = clients.Views(0);
  const Clock::time_point start = Clock::now();
  const absl::Time give_up = absl::Now() + timeout;
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(std::min(give_up, absl::Now() + absl::Minutes(5))));
    kam::v1::GetAccountRequest request;
    request.set_account_id(account);
    request.set_min_position(position);
    kam::v1::AccountView view;
    const grpc::Status status = views->GetAccount(&context, request, &view);
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && absl::Now() < give_up) {
      continue;
    }
    if (!status.ok()) failures->Add("Views.GetAccount (min_position)", status);
    return SecondsSince(start);
  }
}

absl::StatusOr<uint64_t> HeadPosition(const std::string& address) {
  KAM_ASSIGN_OR_RETURN(kam::v1::GetLogHeadResponse head, GetLogHead(address, absl::Seconds(60)));
  return head.position();
}

// ---------------------------------------------------------------------------
// The generated log.

struct GeneratedStream {
  std::string name;
  std::vector<kam::v1::AppendRequest> batches;  // Of up to kBatchEvents events, in order.
};

// The portfolio, grouped by stream, the catalog first.
absl::StatusOr<std::vector<GeneratedStream>> GenerateStreams(int accounts, int64_t events) {
  tools::GeneratorOptions options;
  options.seed = 42;
  options.accounts = accounts;
  options.events = events;
  std::vector<GeneratedStream> streams;
  absl::flat_hash_map<std::string, size_t> index;
  KAM_RETURN_IF_ERROR(
      tools::GeneratePortfolio(options, [&](const tools::GeneratedEvent& e) -> absl::Status {
        auto [it, inserted] = index.try_emplace(e.stream, streams.size());
        if (inserted) streams.push_back(GeneratedStream{e.stream, {}});
        GeneratedStream& stream = streams[it->second];
        if (stream.batches.empty() || stream.batches.back().events_size() >= kBatchEvents) {
          stream.batches.emplace_back().set_stream(e.stream);
        }
        ToProto(e.data, stream.batches.back().add_events());
        return absl::OkStatus();
      }));
  std::stable_partition(streams.begin(), streams.end(), [](const GeneratedStream& s) {
    return s.name.rfind(kAccountStreamPrefix, 0) != 0;  // The catalog.
  });
  return streams;
}

bool AppendBatch(kam::v1::EventStore::Stub* stub, const kam::v1::AppendRequest& batch,
                 Failures* failures) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(120)));
  kam::v1::AppendResponse response;
  const grpc::Status status = stub->Append(&context, batch, &response);
  if (!status.ok()) {
    failures->Add(absl::StrCat("EventStore.Append (loading ", batch.stream(), ")"), status);
    return false;
  }
  return true;
}

// Appends every stream's batches in order, the catalog before the accounts,
// whose streams kLoadClients clients share out. Returns the events appended.
Throughput LoadStreams(const Clients& clients, const std::vector<GeneratedStream>& streams,
                       Failures* failures) {
  const Clock::time_point start = Clock::now();
  std::atomic<uint64_t> appended{0};
  size_t first_account = 0;
  {
    auto stub = clients.EventStore(0);
    for (; first_account < streams.size() &&
           streams[first_account].name.rfind(kAccountStreamPrefix, 0) != 0;
         ++first_account) {
      for (const kam::v1::AppendRequest& batch : streams[first_account].batches) {
        if (AppendBatch(stub.get(), batch, failures)) appended += batch.events_size();
      }
    }
  }
  std::atomic<size_t> next{first_account};
  std::vector<std::thread> threads;
  for (int c = 0; c < kLoadClients; ++c) {
    threads.emplace_back([&, c] {
      auto stub = clients.EventStore(c * kClientsPerChannel / 2);  // Over several channels.
      for (size_t i = next++; i < streams.size(); i = next++) {
        for (const kam::v1::AppendRequest& batch : streams[i].batches) {
          if (AppendBatch(stub.get(), batch, failures)) appended += batch.events_size();
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return Throughput{appended.load(), SecondsSince(start)};
}

// ---------------------------------------------------------------------------
// Subscribe.

// Subscribes from position 1 and reads until caught up; every position from
// 1 to `head` must come once, in order.
Throughput MeasureSubscribe(const Clients& clients, uint64_t head, Failures* failures) {
  auto stub = clients.EventStore(0);
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Minutes(10)));
  kam::v1::SubscribeRequest request;
  request.set_from_position(1);
  const Clock::time_point start = Clock::now();
  std::unique_ptr<grpc::ClientReader<kam::v1::SubscribeResponse>> reader =
      stub->Subscribe(&context, request);
  kam::v1::SubscribeResponse message;
  uint64_t expected = 1;
  uint64_t received = 0;
  bool caught_up = false;
  bool out_of_order = false;
  while (!caught_up && reader->Read(&message)) {
    for (const kam::v1::RecordedEvent& e : message.events()) {
      if (e.position() != expected && !out_of_order) {
        out_of_order = true;
        failures->Add("EventStore.Subscribe", absl::StrCat("position ", e.position(),
                                                           " came where ", expected, " was due"));
      }
      expected = e.position() + 1;
      ++received;
    }
    caught_up = message.caught_up();
  }
  const double seconds = SecondsSince(start);
  context.TryCancel();
  const grpc::Status status = reader->Finish();
  if (!caught_up) {
    failures->Add("EventStore.Subscribe",
                  status.ok() ? "the stream ended before catching up" : Describe(status));
  } else if (received != head) {
    failures->Add("EventStore.Subscribe",
                  absl::StrCat("caught up after ", received, " events; the head is ", head));
  }
  return Throughput{received, seconds};
}

// ---------------------------------------------------------------------------
// GetAccount latency.

struct AccountLatency : Latency {
  std::string slowest_account;
};

// `calls` GetAccount calls (now, no as_of) on random accounts, shared by
// `client_count` threads, after a few untimed ones.
AccountLatency MeasureGetAccount(const Clients& clients, const std::vector<std::string>& accounts,
                                 int calls, int client_count, uint64_t seed, Failures* failures) {
  const auto call = [&](kam::v1::Views::Stub* views, const std::string& account) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(30)));
    kam::v1::GetAccountRequest request;
    request.set_account_id(account);
    kam::v1::AccountView view;
    const grpc::Status status = views->GetAccount(&context, request, &view);
    if (!status.ok()) failures->Add(absl::StrCat("Views.GetAccount ", account), status);
  };
  {
    auto views = clients.Views(0);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < kWarmUpViewCalls; ++i) call(views.get(), accounts[rng() % accounts.size()]);
  }
  // Per client: each call's milliseconds and account.
  std::vector<std::vector<std::pair<double, size_t>>> timed(client_count);
  std::vector<std::thread> threads;
  for (int c = 0; c < client_count; ++c) {
    threads.emplace_back([&, c] {
      auto views = clients.Views(c * kClientsPerChannel);  // A channel each.
      std::mt19937_64 rng(seed + c + 1);
      const int mine = calls / client_count + (c < calls % client_count ? 1 : 0);
      for (int i = 0; i < mine; ++i) {
        const size_t account = rng() % accounts.size();
        const Clock::time_point start = Clock::now();
        call(views.get(), accounts[account]);
        timed[c].emplace_back(SecondsSince(start) * 1000, account);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<double> all;
  std::pair<double, size_t> slowest{-1, 0};
  for (const auto& some : timed) {
    for (const auto& call_ms : some) {
      all.push_back(call_ms.first);
      slowest = std::max(slowest, call_ms);
    }
  }
  AccountLatency latency;
  static_cast<Latency&>(latency) = Summarize(std::move(all));
  if (slowest.first >= 0) latency.slowest_account = accounts[slowest.second];
  return latency;
}

// ---------------------------------------------------------------------------
// The report.

std::string Rate(double per_second, const char* unit) {
  return absl::StrFormat("%.0f %s", per_second, unit);
}

void PrintRow(const std::string& what, const std::string& kam, const std::string& raw,
              const std::string& ratio, const std::string& target) {
  std::printf("%-46s %16s %16s %8s   %s\n", what.c_str(), kam.c_str(), raw.c_str(), ratio.c_str(),
              target.c_str());
  std::fflush(stdout);
}

class Report {
 public:
  google::protobuf::Struct& json() { return json_; }
  void Number(const std::string& key, double value) {
    (*json_.mutable_fields())[key].set_number_value(value);
  }
  void Bool(const std::string& key, bool value) {
    (*json_.mutable_fields())[key].set_bool_value(value);
  }
  void String(const std::string& key, const std::string& value) {
    (*json_.mutable_fields())[key].set_string_value(value);
  }

  // A kam-against-raw row: `key`_<unit>, `key`_raw_<unit>, `key`_ratio_to_raw
  // and, with a target, `key`_target_ratio_to_raw and `key`_target_met.
  void PairedRow(const std::string& key, const std::string& what, double kam, double raw,
                 const char* unit, const char* json_unit, double target_ratio) {
    const double ratio = raw > 0 ? kam / raw : 0;
    const std::string target = target_ratio > 0 ? absl::StrFormat(">= %.2fx %s", target_ratio,
                                                                  Verdict(ratio >= target_ratio))
                                                : "-";
    PrintRow(what, Rate(kam, unit), Rate(raw, "ev/s"), absl::StrFormat("%.2fx", ratio), target);
    Number(absl::StrCat(key, "_", json_unit), kam);
    Number(absl::StrCat(key, "_raw_events_per_s"), raw);
    Number(absl::StrCat(key, "_ratio_to_raw"), ratio);
    if (target_ratio > 0) {
      Number(absl::StrCat(key, "_target_ratio_to_raw"), target_ratio);
      Bool(absl::StrCat(key, "_target_met"), ratio >= target_ratio);
    }
  }

  // Notes a measurement whose halves differ too much to be trusted.
  void CheckHalves(const std::string& what, const Paired& paired) {
    for (std::string& note : HalvesNotes(what, paired, "/s")) notes_.push_back(std::move(note));
  }
  void Note(std::string note) { notes_.push_back(std::move(note)); }
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  google::protobuf::Struct json_;
  std::vector<std::string> notes_;
};

absl::StatusOr<std::string> MakeDirectory(const ServerBenchFlags& flags) {
  const std::string parent = flags.dir.empty() ? "bench-data" : flags.dir;
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec)
    return absl::FailedPreconditionError(absl::StrCat("creating ", parent, ": ", ec.message()));
  std::string pattern = parent + "/server-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("creating a directory under ", parent, ": ", std::strerror(errno)));
  }
  return std::filesystem::absolute(pattern).string();
}

// ---------------------------------------------------------------------------
// The run, step by step.

class ServerBench {
 public:
  ServerBench(const ServerBenchFlags& flags, std::string directory)
      : flags_(flags), directory_(std::move(directory)), seed_(std::random_device()()) {}

  absl::Status Run() {
    const absl::Status status = RunAll();
    if (status.ok() || failures_.count() == 0) return status;
    return absl::Status(status.code(),
                        absl::StrCat(status.message(), "; before that ", failures_.count(),
                                     " calls failed, the first: ", failures_.first()));
  }

 private:
  absl::Status RunAll() {
    PrintHeader();
    KAM_ASSIGN_OR_RETURN(kamd_,
                         KamdProcess::Start(flags_.kamd_path, directory_ + "/kamd", directory_));
    KAM_RETURN_IF_ERROR(GetLogHead(kamd_->address(), absl::Seconds(60)).status());
    std::printf("kamd: pid %d, listening on %s\n\n", static_cast<int>(kamd_->pid()),
                kamd_->address().c_str());
    PrintRow("measurement", "kam", "raw RocksDB", "kam/raw", "target");
    clients_ = std::make_unique<Clients>(kamd_->address());

    if (Runs("append")) KAM_RETURN_IF_ERROR(Appends());
    if (Runs("record") || Runs("batch")) KAM_RETURN_IF_ERROR(Records());
    if (Runs("views")) KAM_RETURN_IF_ERROR(GeneratedLog());
    StopKamd();
    return Finish();
  }

  bool Runs(absl::string_view workload) const {
    return flags_.only.empty() ||
           std::find(flags_.only.begin(), flags_.only.end(), workload) != flags_.only.end();
  }

  void PrintHeader() {
    std::printf(
        "kambench server: kamd over gRPC on loopback (insecure, %d channels, %d clients per "
        "channel) against raw RocksDB on the same disk\n"
        "data: %s; %u cores shared by kambench and kamd; %zu-byte events; %.1f s per "
        "throughput measurement\n"
        "raw: WriteBatch + DB::Write(sync) of the log's keys (3 per event + 1 per append), the "
        "log's RocksDB options; halves in the order raw, kam, kam, raw\n"
        "Append clients: each keeps one call in flight (gRPC callback API), the next sent when "
        "it is acknowledged\n"
        "kamd: %s\n",
        kChannels, kClientsPerChannel, directory_.c_str(), std::thread::hardware_concurrency(),
        kEventBytes, flags_.seconds, flags_.kamd_path.c_str());
    if (!OptimizedBuild()) {
      std::printf("WARNING: kambench was built without optimization; use a Release build.\n");
    }
    report_.String("benchmark", "server");
    report_.Number("event_bytes", kEventBytes);
    report_.Number("seconds_per_measurement", flags_.seconds);
    report_.Number("events", static_cast<double>(flags_.events));
    report_.Number("accounts", flags_.accounts);
    report_.Number("nproc", std::thread::hardware_concurrency());
    report_.String("directory", directory_);
    report_.Bool("optimized_build", OptimizedBuild());
  }

  absl::Status Appends() {
    struct Workload {
      const char* key;
      const char* what;
      int clients;
      size_t events_per_append;
      double target_ratio;
    };
    const Workload workloads[] = {
        {"append_1_client", "Append, 1 client x 1 event", 1, 1, 0},
        {"append_32_clients", "Append, 32 clients x 1 event", kAppendClients, 1,
         kAppendTargetRatio},
        {"append_batch_4_clients", "Append, 4 clients x 100 events", kBatchClients, kBatchEvents,
         kBatchTargetRatio},
    };
    for (const Workload& w : workloads) {
      KAM_ASSIGN_OR_RETURN(
          Paired paired,
          MeasureAppends(*clients_, absl::StrCat(directory_, "/raw-", w.key), w.clients,
                         w.events_per_append, flags_.seconds, seed_, &failures_));
      report_.PairedRow(w.key, w.what, paired.kam.PerSecond(), paired.raw.PerSecond(), "ev/s",
                        "events_per_s", w.target_ratio);
      report_.CheckHalves(w.what, paired);
      if (w.clients == kAppendClients) raw_32_writers_ = paired.raw.PerSecond();
      if (w.events_per_append == kBatchEvents) batched_append_ = paired.kam.PerSecond();
    }
    return absl::OkStatus();
  }

  absl::Status Records() {
    OpenRecordAccounts(*clients_, &failures_);
    if (Runs("record")) {
      std::vector<Step> steps;
      for (int c = 0; c < kRecordClients; ++c) {
        steps.push_back(RecordStep(clients_->Accounts(c), c, &failures_));
      }
      const Throughput records = RunSteps(std::move(steps), flags_.seconds);
      report_.PairedRow("record_32_clients", "Record, 32 clients (visits, orders)",
                        records.PerSecond(), raw_32_writers_, "rec/s", "records_per_s", 0);
    }
    if (Runs("batch")) RecordBatches();
    // The projector catches up before anything else is measured.
    KAM_ASSIGN_OR_RETURN(uint64_t head, HeadPosition(kamd_->address()));
    WaitForViews(*clients_, RecordAccountId(0, 0), head, absl::Minutes(10), &failures_);
    return absl::OkStatus();
  }

  // Bulk import into the Record clients' accounts, opened before.
  void RecordBatches() {
    std::vector<Step> batches;
    for (int c = 0; c < kBatchClients; ++c) {
      batches.push_back(RecordBatchStep(clients_->Accounts(c), c, &failures_));
    }
    const Throughput imported = RunSteps(std::move(batches), flags_.seconds);
    report_.Number("record_batch_4_clients_records_per_s", imported.PerSecond());
    const std::string what = absl::StrFormat("RecordBatch, %d clients x %d commands", kBatchClients,
                                             kRecordBatchRequests);
    if (batched_append_ == 0) {  // --only without append.
      PrintRow(what, Rate(imported.PerSecond(), "rec/s"), "", "", "(append not run)");
      return;
    }
    // Issue 5: RecordBatch reaches the batched-append speed of the log.
    const double ratio = imported.PerSecond() / batched_append_;
    PrintRow(
        what, Rate(imported.PerSecond(), "rec/s"), Rate(batched_append_, "ev/s"),
        absl::StrFormat("%.2fx", ratio),
        absl::StrFormat(">= %.2fx kam's Append %dx%d %s", kRecordBatchTargetRatio, kBatchClients,
                        kBatchEvents, Verdict(ratio >= kRecordBatchTargetRatio)));
    report_.Number("record_batch_ratio_to_batched_append", ratio);
    report_.Number("record_batch_target_ratio_to_batched_append", kRecordBatchTargetRatio);
    report_.Bool("record_batch_target_met", ratio >= kRecordBatchTargetRatio);
  }

  // Loads the generated log, waits for the views, then reads it all with
  // Subscribe and times GetAccount on its accounts.
  absl::Status GeneratedLog() {
    KAM_ASSIGN_OR_RETURN(std::vector<std::string> accounts, LoadGeneratedLog());
    KAM_ASSIGN_OR_RETURN(uint64_t head, HeadPosition(kamd_->address()));
    const double catch_up =
        WaitForViews(*clients_, accounts.front(), head, absl::Minutes(30), &failures_);
    PrintRow("views include the head (GetAccount min_position)",
             absl::StrFormat("%.1f s", catch_up), "", "", "after the load");
    report_.Number("views_catch_up_seconds", catch_up);
    Subscribe(head);
    GetAccountLatency(accounts);
    return absl::OkStatus();
  }

  // The generated accounts' ids.
  absl::StatusOr<std::vector<std::string>> LoadGeneratedLog() {
    Clock::time_point start = Clock::now();
    KAM_ASSIGN_OR_RETURN(std::vector<GeneratedStream> streams,
                         GenerateStreams(flags_.accounts, flags_.events));
    std::vector<std::string> accounts;
    for (const GeneratedStream& s : streams) {
      if (s.name.rfind(kAccountStreamPrefix, 0) == 0) {
        accounts.push_back(s.name.substr(sizeof(kAccountStreamPrefix) - 1));
      }
    }
    std::printf("(generated %lld events over %zu accounts in %.1f s)\n",
                static_cast<long long>(flags_.events), accounts.size(), SecondsSince(start));
    const Throughput load = LoadStreams(*clients_, streams, &failures_);
    streams.clear();
    PrintRow(absl::StrFormat("load: Append, %d clients x <=100 events", kLoadClients),
             Rate(load.PerSecond(), "ev/s"), "", "",
             absl::StrFormat("%llu events in %.1f s", static_cast<unsigned long long>(load.items),
                             load.seconds));
    report_.Number("load_events_per_s", load.PerSecond());
    if (accounts.empty()) return absl::InternalError("the generated log has no accounts");
    return accounts;
  }

  void Subscribe(uint64_t head) {
    const Throughput subscribe = MeasureSubscribe(*clients_, head, &failures_);
    const bool subscribe_met = subscribe.PerSecond() >= kSubscribeTargetEventsPerSecond;
    PrintRow(absl::StrFormat("Subscribe from 1, %llu events",
                             static_cast<unsigned long long>(subscribe.items)),
             Rate(subscribe.PerSecond(), "ev/s"), "-", "-",
             absl::StrFormat(">= %.0f ev/s %s", kSubscribeTargetEventsPerSecond,
                             Verdict(subscribe_met)));
    report_.Number("subscribe_events", static_cast<double>(subscribe.items));
    report_.Number("subscribe_events_per_s", subscribe.PerSecond());
    report_.Number("subscribe_target_events_per_s", kSubscribeTargetEventsPerSecond);
    report_.Bool("subscribe_target_met", subscribe_met);
  }

  void GetAccountLatency(const std::vector<std::string>& accounts) {
    const AccountLatency latency = MeasureGetAccount(*clients_, accounts, flags_.view_calls,
                                                     flags_.view_clients, seed_, &failures_);
    const bool latency_met = latency.p99_ms < kGetAccountTargetP99Ms;
    PrintRow(absl::StrFormat("GetAccount p50 (%d calls, %d client%s)", flags_.view_calls,
                             flags_.view_clients, flags_.view_clients == 1 ? "" : "s"),
             absl::StrFormat("%.3f ms", latency.p50_ms), "", "", "");
    PrintRow(absl::StrFormat("GetAccount p99 (max %.1f ms, %s)", latency.max_ms,
                             latency.slowest_account),
             absl::StrFormat("%.3f ms", latency.p99_ms), "", "",
             absl::StrFormat("< %.0f ms %s", kGetAccountTargetP99Ms, Verdict(latency_met)));
    report_.Number("get_account_p50_ms", latency.p50_ms);
    report_.Number("get_account_p99_ms", latency.p99_ms);
    report_.Number("get_account_max_ms", latency.max_ms);
    report_.String("get_account_slowest_account", latency.slowest_account);
    report_.Number("get_account_calls", flags_.view_calls);
    report_.Number("get_account_clients", flags_.view_clients);
    report_.Number("get_account_target_p99_ms", kGetAccountTargetP99Ms);
    report_.Bool("get_account_target_met", latency_met);
  }

  // With the benchmark's clients still connected, as a server's clients
  // usually are.
  void StopKamd() {
    const Clock::time_point start = Clock::now();
    stopped_ = kamd_->Stop(absl::Seconds(90));
    const double seconds = SecondsSince(start);
    PrintRow("kamd: SIGTERM until exit", absl::StrFormat("%.2f s", seconds), "", "",
             stopped_.ok() ? "exit 0 PASS" : "MISS");
    report_.Number("kamd_stop_seconds", seconds);
    if (seconds > 5) {
      report_.Note(absl::StrFormat(
          "note: kamd took %.1f s to exit; it waits for the calls in progress, 30 s at most",
          seconds));
    }
    report_.Bool("kamd_exit_0", stopped_.ok());
  }

  absl::Status Finish() {
    for (const std::string& note : report_.notes()) std::printf("%s\n", note.c_str());
    const uint64_t failed = failures_.count();
    std::printf("failed calls: %llu\n", static_cast<unsigned long long>(failed));
    report_.Number("failed_calls", static_cast<double>(failed));
    if (failed > 0) report_.String("first_failure", failures_.first());
    if (!flags_.json_path.empty()) {
      KAM_RETURN_IF_ERROR(WriteJson(flags_.json_path, report_.json()));
      std::printf("wrote %s\n", flags_.json_path.c_str());
    }
    if (flags_.keep) {
      std::printf("kept: %s\n", directory_.c_str());
    } else {
      std::error_code ec;
      std::filesystem::remove_all(directory_, ec);
    }
    if (failed > 0) {
      return absl::InternalError(
          absl::StrCat(failed, " calls failed; the first: ", failures_.first()));
    }
    return stopped_;
  }

  const ServerBenchFlags& flags_;
  const std::string directory_;
  const uint64_t seed_;
  std::unique_ptr<KamdProcess> kamd_;
  std::unique_ptr<Clients> clients_;
  Failures failures_;
  Report report_;
  double raw_32_writers_ = 0;
  double batched_append_ = 0;  // kam's Append, kBatchClients x kBatchEvents.
  absl::Status stopped_;
};

}  // namespace

CLI::App* AddServerCommand(CLI::App* app, ServerBenchFlags* flags) {
#ifdef KAMD_PATH
  if (flags->kamd_path.empty()) flags->kamd_path = KAMD_PATH;
#else
  if (flags->kamd_path.empty()) flags->kamd_path = "kamd";
#endif
  CLI::App* command = app->add_subcommand(
      "server", "kamd over gRPC (Append, Record, Subscribe, GetAccount) against raw RocksDB");
  command->add_option("--events", flags->events, "events of the generated log")
      ->check(CLI::Range(int64_t{1000}, int64_t{1} << 40))
      ->capture_default_str();
  command->add_option("--accounts", flags->accounts, "accounts of the generated log")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  command->add_option("--seconds", flags->seconds, "duration of each throughput measurement")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->add_option("--view-calls", flags->view_calls, "GetAccount calls timed")
      ->check(CLI::Range(1, 10000000))
      ->capture_default_str();
  command->add_option("--view-clients", flags->view_clients, "threads making them")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  command->add_option("--json", flags->json_path, "also write the results to this JSON file");
  command->add_option("--dir", flags->dir, "where to create the run's directory")
      ->default_str("./bench-data");
  command->add_flag("--keep", flags->keep, "keep the data afterwards");
  command->add_option("--kamd", flags->kamd_path, "the kamd binary to start")
      ->capture_default_str();
  command
      ->add_option("--only", flags->only,
                   "run only these workloads, comma-separated: append, record, batch, views")
      ->delimiter(',')
      ->check(CLI::IsMember({"append", "record", "batch", "views"}));
  return command;
}

absl::Status RunServerBench(const ServerBenchFlags& flags) {
  if (flags.events < flags.accounts) {
    return absl::InvalidArgumentError("--events must be at least --accounts");
  }
  KAM_ASSIGN_OR_RETURN(std::string directory, MakeDirectory(flags));
  ServerBench bench(flags, std::move(directory));
  return bench.Run();
}

}  // namespace kam::kambench
