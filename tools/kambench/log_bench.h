// `kambench log`: how close the embedded log's Append comes to the raw
// RocksDB limit on the same disk.
//
// For each workload (1 thread x 1 event, 32 threads x 1 event, 4 threads x
// 100 events per append) it measures, each in a fresh database:
//   raw: plain rocksdb::WriteBatch + DB::Write of the same keys the log
//        writes (3 per event, 1 per append) with the log's own RocksDB
//        options and the same sync setting;
//   kam: OpenRocksDbLog with default options, then EventLog::Append.
// It prints a table of events/s and the ratio kam/raw against the targets,
// and with --json writes the same to a file.
//
// Example:
//   LogBenchFlags flags;
//   CLI::App* log_command = AddLogCommand(&app, &flags);
//   ... app.parse(argc, argv) ...
//   if (log_command->parsed()) status = RunLogBench(flags);

#ifndef KAM_TOOLS_KAMBENCH_LOG_BENCH_H_
#define KAM_TOOLS_KAMBENCH_LOG_BENCH_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace kam::kambench {

struct LogBenchFlags {
  double seconds = 3.0;      // Per measurement, when `events` is 0.
  uint64_t events = 0;       // Per measurement; 0 means run for `seconds`.
  size_t event_bytes = 300;  // Payload bytes of each event.
  bool no_sync = false;      // Skips fsync on both sides.
  std::string json_path;     // Empty: no JSON.
  std::string dir;           // Empty: a fresh dir under ./bench-data or /tmp.
  bool keep = false;         // Keep the databases afterwards.
};

// Adds the `log` subcommand to `app`, binding its flags to *flags, which must
// outlive the parse. Returns the subcommand so the caller can ask whether it
// was parsed.
CLI::App* AddLogCommand(CLI::App* app, LogBenchFlags* flags);

// Runs every workload, printing the table to stdout as rows complete, then
// writes the JSON report if flags.json_path is set. Returns an error (naming
// the side, the workload and the first error) when any append or raw write
// failed, when the log lost or invented events, or when a directory or the
// JSON file cannot be written.
absl::Status RunLogBench(const LogBenchFlags& flags);

}  // namespace kam::kambench

#endif  // KAM_TOOLS_KAMBENCH_LOG_BENCH_H_
