// The projections' own durable state, in RocksDB, separate from the log:
// every account event decoded and filed under its stream, plus the
// checkpoint (the last log position applied) and a digest of the whole state.
// The checkpoint and digest are written in the same WriteBatch as the state
// they cover, so a crash never double-applies or skips an event.
//
// The digest is the sum modulo 2^256 of SHA-256(key || value) over every
// entry of the state: it does not depend on the order entries were written
// in, so an offline rebuild that partitions the work gives the digest the
// incremental projector reached at the same position.
//
//   KAM_ASSIGN_OR_RETURN(auto store, ProjectionStore::Open("./data/projections/state-1"));
//   KAM_RETURN_IF_ERROR(store->Apply(events_from_log));
//   KAM_ASSIGN_OR_RETURN(std::vector<StoredEvent> acme, store->LoadStream("account-acme"));

#ifndef KAM_PROJECTIONS_PROJECTION_STORE_H_
#define KAM_PROJECTIONS_PROJECTION_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "eventstore/event_log.h"
#include "eventstore/storage_env.h"
#include "projections/history.h"

namespace kam::projections {

inline constexpr char kAccountStreamPrefix[] = "account-";
inline constexpr char kCatalogStream[] = "catalog";

// The stream an account's events are recorded in.
std::string AccountStream(absl::string_view account_id);
// True for the streams projections follow: accounts and the catalog.
bool IsProjectedStream(absl::string_view stream);

struct Checkpoint {
  uint64_t position = 0;  // Last log position applied; 0 before any.
  std::string digest;     // 32 bytes.
};

class ProjectionStore {
 public:
  // Opens or creates the state in `directory`. Errors name the directory.
  // `env` is the file system the RocksDB database lives on (the store holds
  // it until destroyed); nullptr means the default. For tests that inject
  // I/O failures, and for custom storage. The directory itself is created
  // on the real file system.
  static absl::StatusOr<std::unique_ptr<ProjectionStore>> Open(
      const std::string& directory, bool bulk_load = false, eventstore::StorageEnv env = nullptr);
  virtual ~ProjectionStore() = default;

  // Files the projected events among `events` (consecutive log positions
  // starting right after the checkpoint) and moves the checkpoint to the
  // last one, atomically. FailedPrecondition when the positions do not
  // continue the checkpoint. Single writer.
  virtual absl::Status Apply(absl::Span<const eventstore::RecordedEvent> events) = 0;

  // For the offline rebuild: files events without touching the checkpoint
  // and returns the digest contribution of what it wrote. Thread-safe.
  virtual absl::StatusOr<std::string> FileEvents(
      absl::Span<const eventstore::RecordedEvent> events) = 0;
  // For the offline rebuild: sets checkpoint and digest, then flushes.
  virtual absl::Status Seal(const Checkpoint& checkpoint) = 0;

  virtual Checkpoint checkpoint() const = 0;

  // One stream's events in version order; empty for an unknown stream.
  virtual absl::StatusOr<std::vector<StoredEvent>> LoadStream(absl::string_view stream) const = 0;

  // Every account's order-related events (OrderPlaced, OrderCancelled, every
  // correction and every retraction), in version order: what the
  // portfolio-wide revenue figures need, without loading whole streams.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::vector<StoredEvent>>>>
  LoadRevenueEvents() const = 0;

  // Every account id with at least one event, in ascending order.
  virtual absl::StatusOr<std::vector<std::string>> AccountIds() const = 0;

  // Recomputes the digest from a full scan (for audits and tests).
  virtual absl::StatusOr<std::string> ScanDigest() const = 0;
};

// True for the events LoadRevenueEvents returns.
bool IsRevenueEvent(const kam::v1::AccountEvent& event);
bool IsRevenueEvent(const eventstore::RecordedEvent& event);

// 256-bit big-endian addition modulo 2^256: *sum += addend.
void AddDigest(std::string* sum, absl::string_view addend);

}  // namespace kam::projections

#endif  // KAM_PROJECTIONS_PROJECTION_STORE_H_
