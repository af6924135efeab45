// kamd: the kam server. This build opens the durable event log in the data
// directory, checks its hash chain head, and holds it until SIGTERM or
// SIGINT; the gRPC services are served from the services issue on.

#include <csignal>
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "eventstore/rocksdb_log.h"

namespace {

int Run(const std::string& data_dir) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  // Blocked before any thread starts, so only sigwait below receives them.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<kam::eventstore::EventLog>> log =
      kam::eventstore::OpenRocksDbLog(data_dir + "/log", kam::eventstore::RocksDbLogOptions());
  if (!log.ok()) {
    std::fprintf(stderr, "kamd: %s\n", log.status().ToString().c_str());
    return 1;
  }
  kam::eventstore::LogHead head = (*log)->Head();
  std::printf("kamd: event log open in %s/log: head position %llu, hash %s, recorded %s\n",
              data_dir.c_str(), static_cast<unsigned long long>(head.position),
              absl::BytesToHexString(head.hash).c_str(),
              absl::FormatTime(head.recorded_at, absl::UTCTimeZone()).c_str());
  std::printf("kamd: log only in this build (no gRPC listener yet); SIGTERM or Ctrl-C stops\n");
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  std::printf("kamd: signal %d, closing the log\n", received);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kamd: the kam key-account history server"};
  std::string data_dir = "./data";
  app.add_option("--data", data_dir, "data directory")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return Run(data_dir);
}
