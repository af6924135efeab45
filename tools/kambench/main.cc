// kambench: kam's benchmarks, one subcommand each.
// Exit codes: 0 success, 1 a benchmark failed, 2 usage error.

#include <iostream>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "tools/kambench/log_bench.h"
#include "tools/kambench/rebuild_bench.h"
#include "tools/kambench/server_bench.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  // As in kamd: Debian's abseil checks every mutex for deadlock cycles.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app("kambench: benchmarks of kam");
  app.require_subcommand(1);
  kam::kambench::LogBenchFlags log_flags;
  CLI::App* log_command = kam::kambench::AddLogCommand(&app, &log_flags);
  kam::kambench::RebuildBenchFlags rebuild_flags;
  CLI::App* rebuild_command = kam::kambench::AddRebuildCommand(&app, &rebuild_flags);
  kam::kambench::ServerBenchFlags server_flags;
  CLI::App* server_command = kam::kambench::AddServerCommand(&app, &server_flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is reported as a "parse error" whose exit code is 0.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  absl::Status status = absl::OkStatus();
  if (log_command->parsed()) status = kam::kambench::RunLogBench(log_flags);
  if (rebuild_command->parsed()) status = kam::kambench::RunRebuildBench(rebuild_flags);
  if (server_command->parsed()) status = kam::kambench::RunServerBench(server_flags);
  if (!status.ok()) {
    std::cerr << "kambench: " << status << "\n";
    return kExitFailure;
  }
  return kExitOk;
}
