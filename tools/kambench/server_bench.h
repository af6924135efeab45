// `kambench server`: kamd as its clients see it, over gRPC on loopback,
// against the raw RocksDB limit measured on the same disk in the same run.
//
// It starts kamd as a separate process on a fresh data directory and a free
// port, then measures:
//   - durable EventStore.Append of single events with 1 and 32 clients, and
//     of 100-event batches with 4 clients, each beside a raw RocksDB
//     WriteBatch + Write (sync) of the same keys with as many writers;
//   - Accounts.Record with 32 clients on accounts of their own;
//   - Accounts.RecordBatch with 4 clients, each streaming calls of 1000
//     visits and orders spread over all of those accounts, against kam's
//     own 100-event Append batches (the raw column of that row);
//   - Subscribe from position 1 over a generated log of --events events;
//   - GetAccount latency (p50, p99) on that log's --accounts accounts.
// --only names some of these (append, record, batch, views) to run alone.
// It prints a table with the targets, writes JSON when asked, stops kamd
// with SIGTERM and checks that it exits 0. Any failed call fails the run.
//
//   ServerBenchFlags flags;
//   CLI::App* command = AddServerCommand(&app, &flags);
//   ... app.parse(argc, argv) ...
//   if (command->parsed()) status = RunServerBench(flags);

#ifndef KAM_TOOLS_KAMBENCH_SERVER_BENCH_H_
#define KAM_TOOLS_KAMBENCH_SERVER_BENCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace kam::kambench {

struct ServerBenchFlags {
  int64_t events = 1000000;  // Of the generated log (Subscribe, GetAccount).
  int accounts = 10000;      // Of the generated log.
  double seconds = 3.0;      // Per throughput measurement, both sides together.
  int view_calls = 2000;     // GetAccount calls timed.
  int view_clients = 1;      // Threads making them.
  std::string json_path;     // Empty: no JSON.
  std::string dir;           // Empty: a fresh directory under ./bench-data.
  bool keep = false;         // Keep the data afterwards.
  std::string kamd_path;     // Set by AddServerCommand to the kamd built beside kambench.
  // Of "append", "record", "batch", "views": the workloads to run; empty
  // runs them all.
  std::vector<std::string> only;
};

// Adds the `server` subcommand to `app`, binding its flags to *flags, which
// must outlive the parse.
CLI::App* AddServerCommand(CLI::App* app, ServerBenchFlags* flags);

// Prints the table as results come, writes JSON when asked. Errors: kamd
// cannot be started or stopped cleanly, a directory or file cannot be
// written, or any call failed (the count and the first error).
absl::Status RunServerBench(const ServerBenchFlags& flags);

}  // namespace kam::kambench

#endif  // KAM_TOOLS_KAMBENCH_SERVER_BENCH_H_
