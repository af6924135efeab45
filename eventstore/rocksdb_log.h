// The embedded event log, stored in RocksDB: the default backend of EventLog.
//
// Durability: by default every append is fsynced before it is acknowledged.
// Concurrent appends are gathered by a leader/follower commit queue into one
// RocksDB write and one fsync; each caller is answered only after its own
// events are synced.
//
// Example:
//   RocksDbLogOptions options;
//   absl::StatusOr<std::unique_ptr<EventLog>> log =
//       OpenRocksDbLog("./data/log", options);
//   if (!log.ok()) return log.status();  // Names the directory and the cause.

#ifndef KAM_EVENTSTORE_ROCKSDB_LOG_H_
#define KAM_EVENTSTORE_ROCKSDB_LOG_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eventstore/clock.h"
#include "eventstore/event_log.h"
#include "eventstore/limits.h"
#include "eventstore/storage_env.h"

namespace kam::eventstore {

struct RocksDbLogOptions {
  // Create the directory and an empty log when none exists.
  bool create_if_missing = true;

  // DANGER: false acknowledges appends before they reach the disk; a crash or
  // power loss can then lose acknowledged events. For benchmarks and bulk
  // loads that can be redone, never for a system of record.
  bool unsafe_skip_fsync_on_append = false;

  Limits limits;

  // Most appends gathered into one commit group, and most bytes.
  size_t max_group_appends = 1024;
  size_t max_group_bytes = 8 << 20;

  // RocksDB block cache, shared by all column families.
  size_t block_cache_bytes = 64 << 20;

  // Source of recorded_at; nullptr means the system clock. Not owned; must
  // outlive the log.
  const Clock* clock = nullptr;

  // The file system the log lives on (the log holds it until destroyed);
  // nullptr means the default. For tests that inject I/O failures, and for
  // custom storage.
  StorageEnv env;

  // Called by the commit leader after each commit group is durably written
  // (and, unless unsafe_skip_fsync_on_append, fsynced) and published, with
  // the group's new appends and events; idempotent retries and refused
  // appends are not counted. For metrics: it runs on an appending thread
  // while later appends wait, so it must be fast and must not append.
  std::function<void(size_t appends, size_t events)> on_group_commit;

  // Called once, on the committing thread, when a failed write (a full disk,
  // an I/O error) makes the log refuse every later append until it is
  // reopened, with that cause. For alerting; it must not append.
  std::function<void(const absl::Status& cause)> on_appends_refused;
};

// Opens (or creates) the log stored in `directory`.
// Errors: FailedPrecondition naming the directory when another process (or
// this one) has it open; DataLoss naming the file when stored data is
// corrupt (the log refuses to open rather than drop acknowledged events);
// NotFound when it does not exist and create_if_missing is false.
absl::StatusOr<std::unique_ptr<EventLog>> OpenRocksDbLog(const std::string& directory,
                                                         const RocksDbLogOptions& options);

// Writes a consistent copy of the closed log in `log_dir` to `to_dir` (a
// RocksDB checkpoint: immutable files are hard-linked when both directories
// are on one file system, else copied), for kamctl backup. `to_dir` must not
// exist; its parent must. The log must not be open elsewhere meanwhile.
// Errors: NotFound when `log_dir` holds no log; FailedPrecondition when the
// log is in use or `to_dir` exists; others name the cause.
absl::Status BackupRocksDbLog(const std::string& log_dir, const std::string& to_dir);

}  // namespace kam::eventstore

#endif  // KAM_EVENTSTORE_ROCKSDB_LOG_H_
