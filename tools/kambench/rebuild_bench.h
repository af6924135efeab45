// `kambench rebuild`: the offline rebuild of every projection over a
// generated log, against a raw RocksDB scan of the same log in the same run;
// then the as-of latency of one account of 10,000 events and of a portfolio
// as-of over every account.
//
//   RebuildBenchFlags flags;
//   CLI::App* command = AddRebuildCommand(&app, &flags);
//   ... app.parse(argc, argv) ...
//   if (command->parsed()) status = RunRebuildBench(flags);

#ifndef KAM_TOOLS_KAMBENCH_REBUILD_BENCH_H_
#define KAM_TOOLS_KAMBENCH_REBUILD_BENCH_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace kam::kambench {

struct RebuildBenchFlags {
  int64_t events = 1000000;
  int accounts = 10000;
  int64_t big_account_events = 10000;  // The one account of the as-of latency.
  int threads = 2;
  int repetitions = 50;  // Of each as-of query on the big account.
  std::string json_path;
  std::string dir;  // Empty: a fresh directory under ./bench-data.
  bool keep = false;
};

CLI::App* AddRebuildCommand(CLI::App* app, RebuildBenchFlags* flags);

// Prints the table as results come, and writes JSON when asked. Errors name
// the step that failed.
absl::Status RunRebuildBench(const RebuildBenchFlags& flags);

}  // namespace kam::kambench

#endif  // KAM_TOOLS_KAMBENCH_REBUILD_BENCH_H_
