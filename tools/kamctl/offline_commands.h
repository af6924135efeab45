// kamctl's offline commands: work on a data directory (DIR/log, the event
// log; DIR/projections, the projections) while no kamd has it open. Opening
// the log takes its lock, so a command run against a live server fails and
// says the directory is in use rather than reading a moving target.
//
//   absl::Status done = VerifyLogOffline(DataFlags{"./data"}, {});
//
// Results for people go to stdout (key: value lines); `export` writes its
// NDJSON to stdout or --out and its summary to stderr.

#ifndef KAM_TOOLS_KAMCTL_OFFLINE_COMMANDS_H_
#define KAM_TOOLS_KAMCTL_OFFLINE_COMMANDS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "tools/kamctl/online_commands.h"

namespace kam::kamctl {

struct DataFlags {
  std::string data = "./data";
};

// Rebuilds every projection from the whole log (projections::RebuildProjections)
// and prints the checkpoint position and digest.
absl::Status Rebuild(const DataFlags& data, int threads);

// Recomputes the hash chain over [from, to] (default: the whole log).
// DataLoss (exit code 1) naming the first bad position when it breaks.
absl::Status VerifyLogOffline(const DataFlags& data, const VerifyRangeFlags& range);

// Writes the log as NDJSON, one kam.v1.RecordedEvent per line in position
// order, hashes included, reading it in chunks (never the whole log in
// memory). `out` empty or "-": stdout; otherwise written to OUT.partial
// and renamed to `out` once complete.
absl::Status ExportLog(const DataFlags& data, const std::string& out);

// Appends an export (`file`, "-" for stdin) to the empty log of `data`,
// preserving every event's stream, version, id, type, data, metadata,
// occurred_at and recorded_at, so positions and hashes come out equal; each
// is checked against the export's hash chain before it is written and
// against the log's hash after. Refuses a data directory that already holds
// events or projections; on failure removes the partial log again.
absl::Status ImportExport(const DataFlags& data, const std::string& file);

// Writes a consistent copy of the stopped data directory to `to` (which must
// not exist, or be empty): a RocksDB checkpoint of the log, a copy of the
// projections, and a BACKUP file naming the head. The copy is verified.
absl::Status Backup(const DataFlags& data, const std::string& to);

// Copies a backup into `data` (which must not exist, or be empty), verifies
// the whole chain and checks the head against the backup's BACKUP file
// before the directory appears under its name.
absl::Status Restore(const DataFlags& data, const std::string& from);

// Prints the log head, the projections' checkpoint and whether it is behind,
// the number of accounts, and the disk usage of each directory.
absl::Status Stats(const DataFlags& data);

}  // namespace kam::kamctl

#endif  // KAM_TOOLS_KAMCTL_OFFLINE_COMMANDS_H_
