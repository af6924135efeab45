// Projection state lives in `root`/state-N directories; the file
// `root`/CURRENT names the one in use. The offline rebuild builds a fresh
// state-N+1 from the whole log, using several threads (accounts partitioned
// by stream), and then swaps it in by atomically replacing CURRENT.
//
//   KAM_ASSIGN_OR_RETURN(Checkpoint done,
//                        RebuildProjections(*log, "./data/projections", options));

#ifndef KAM_PROJECTIONS_REBUILD_H_
#define KAM_PROJECTIONS_REBUILD_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "eventstore/event_log.h"
#include "projections/projection_store.h"

namespace kam::projections {

// Opens the state CURRENT names, creating an empty first state if none.
// `env` is the file system the state's RocksDB database lives on (see
// ProjectionStore::Open); `root`, CURRENT and the state directories are
// handled on the real file system.
absl::StatusOr<std::unique_ptr<ProjectionStore>> OpenCurrentProjections(
    const std::string& root, eventstore::StorageEnv env = nullptr);

struct RebuildOptions {
  int threads = 2;
  // Called from the reading thread after each chunk: (position, head).
  std::function<void(uint64_t, uint64_t)> progress;
};

// Rebuilds every projection from the log up to its head at the start, into a
// fresh directory under `root`, then makes it current and removes the old
// one. The log must not be appended to meanwhile only if the caller wants
// the result to cover later events: those are applied by the projector next
// time it runs. Nothing may have the current state open.
absl::StatusOr<Checkpoint> RebuildProjections(const eventstore::EventLog& log,
                                              const std::string& root,
                                              const RebuildOptions& options);

}  // namespace kam::projections

#endif  // KAM_PROJECTIONS_REBUILD_H_
