// The event log: an append-only, durable, hash-chained sequence of events,
// grouped into named streams. It knows nothing about accounts or any other
// domain; its callers give it opaque payloads.
//
// Every event has two coordinates: its stream version (0, 1, 2, ... within its
// stream) and its global position (1, 2, 3, ... over the whole log, gap-free
// and in commit order). Each recorded event carries
//   hash = SHA-256(prev_hash || CanonicalBytes(event))
// where prev_hash is the hash of the previous position (32 zero bytes before
// position 1); see canonical_encoding.h for the exact bytes.
//
// Example:
//   KAM_ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log,
//                        OpenRocksDbLog("./data/log", RocksDbLogOptions()));
//   EventData visit;
//   visit.event_id = "4f1c...";
//   visit.type = "kam.v1.VisitRecorded";
//   visit.data = payload;
//   visit.occurred_at = absl::Now();
//   KAM_ASSIGN_OR_RETURN(AppendResult r,
//                        log->Append("account-42", ExpectedVersion::Any(), {visit}));
//
// All methods of EventLog are thread-safe.

#ifndef KAM_EVENTSTORE_EVENT_LOG_H_
#define KAM_EVENTSTORE_EVENT_LOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace kam::eventstore {

// What an append may be given: a client-built event, not yet recorded.
struct EventData {
  // Unique over the whole log for ever; the key of idempotent retries.
  // Empty: the log assigns a random UUID.
  std::string event_id;
  std::string type;  // Non-empty, e.g. "kam.v1.VisitRecorded".
  std::string data;  // Opaque payload.
  std::map<std::string, std::string> metadata;
  absl::Time occurred_at = absl::UnixEpoch();  // Business time.
};

// An event as stored, with its coordinates and its link in the hash chain.
struct RecordedEvent {
  std::string event_id;
  std::string stream;
  uint64_t version = 0;   // Within the stream, from 0.
  uint64_t position = 0;  // Global, from 1.
  std::string type;
  std::string data;
  std::map<std::string, std::string> metadata;
  absl::Time occurred_at = absl::UnixEpoch();
  absl::Time recorded_at = absl::UnixEpoch();  // Assigned at commit.
  std::string prev_hash;                       // 32 bytes.
  std::string hash;                            // 32 bytes.
};

// The optimistic-concurrency condition of an append.
class ExpectedVersion {
 public:
  enum class Kind { kAny, kNoStream, kStreamExists, kExact };

  static ExpectedVersion Any() { return ExpectedVersion(Kind::kAny, 0); }
  static ExpectedVersion NoStream() { return ExpectedVersion(Kind::kNoStream, 0); }
  static ExpectedVersion StreamExists() { return ExpectedVersion(Kind::kStreamExists, 0); }
  // The stream's last version must be exactly `version`.
  static ExpectedVersion Exact(uint64_t version) { return ExpectedVersion(Kind::kExact, version); }

  Kind kind() const { return kind_; }
  uint64_t version() const { return version_; }
  std::string ToString() const;

 private:
  ExpectedVersion(Kind kind, uint64_t version) : kind_(kind), version_(version) {}
  Kind kind_;
  uint64_t version_;
};

struct AppendResult {
  uint64_t first_version = 0;
  uint64_t last_version = 0;
  uint64_t first_position = 0;
  uint64_t last_position = 0;
};

struct StreamInfo {
  uint64_t last_version = 0;
  uint64_t last_position = 0;
  uint64_t event_count = 0;
  absl::Time first_recorded_at = absl::UnixEpoch();
  absl::Time last_recorded_at = absl::UnixEpoch();
};

// The end of the log. An empty log has position 0 and 32 zero bytes as hash.
struct LogHead {
  uint64_t position = 0;
  std::string hash;
  absl::Time recorded_at = absl::UnixEpoch();
};

enum class Direction { kForward, kBackward };

// Selects events of the global log. Empty fields select everything.
struct LogFilter {
  std::string stream_prefix;
  std::vector<std::string> types;  // Any of these types.
};

struct ReadAllResult {
  std::vector<RecordedEvent> events;
  // Where the next read in the same direction should start. Forward: one past
  // the last position examined (filtered-out events count as examined).
  // Backward: one before it, 0 when the start of the log was reached.
  uint64_t next_position = 0;
  // True when the read stopped at the log's end (forward: the head as seen at
  // the start of the read; backward: position 1).
  bool end_of_log = false;
};

struct VerifyResult {
  bool ok = true;
  uint64_t checked = 0;
  uint64_t first_bad_position = 0;  // 0 when ok.
  std::string problem;              // What was wrong at first_bad_position.
  std::string head_hash;            // Hash at the last position checked.
};

class EventLog {
 public:
  virtual ~EventLog() = default;

  // Appends `events` to `stream` atomically: all are recorded or none.
  // Returns once the events are durable (unless sync was disabled at open).
  // Errors: InvalidArgument naming the field (limits, empty type, empty
  // append, duplicate event_id within the append); Aborted when `expected`
  // does not hold, naming expected and actual versions; AlreadyExists when an
  // event_id was recorded before with different content or in a different
  // place. Retrying an append whose events were all recorded before with the
  // same content returns the original result.
  virtual absl::StatusOr<AppendResult> Append(absl::string_view stream, ExpectedVersion expected,
                                              absl::Span<const EventData> events) = 0;

  // Append without blocking the caller on the commit: `done` gets the same
  // result Append would return, once the events are durable (or at once, on
  // the caller's thread, for invalid input). The caller never waits for an
  // fsync: the RocksDB log commits on a thread of its own and runs `done` on
  // another of its own, never on an appending caller's thread, so `done` may
  // take locks that appenders hold while they append. `done` must be quick
  // and must not append.
  virtual void AppendAsync(std::string stream, ExpectedVersion expected,
                           std::vector<EventData> events,
                           std::function<void(absl::StatusOr<AppendResult>)> done) = 0;

  // Reads up to `max_count` events of `stream` starting at `from_version`
  // (inclusive) in `direction`. Backward reads with from_version beyond the
  // end start at the last event. NotFound for a stream with no events.
  virtual absl::StatusOr<std::vector<RecordedEvent>> ReadStream(absl::string_view stream,
                                                                uint64_t from_version,
                                                                Direction direction,
                                                                size_t max_count) const = 0;

  // Reads up to `max_count` events of the global log matching `filter`,
  // starting at `from_position` (inclusive; backward reads with 0 or a
  // position beyond the head start at the head). Never returns a position
  // beyond the head: a position is readable only once every lower one is.
  virtual absl::StatusOr<ReadAllResult> ReadAll(uint64_t from_position, Direction direction,
                                                size_t max_count,
                                                const LogFilter& filter) const = 0;

  // The event recorded with `event_id`, or nullopt when there is none (or it
  // is not yet visible to readers).
  virtual absl::StatusOr<std::optional<RecordedEvent>> FindEvent(
      absl::string_view event_id) const = 0;

  // NotFound for a stream with no events.
  virtual absl::StatusOr<StreamInfo> GetStreamInfo(absl::string_view stream) const = 0;

  virtual LogHead Head() const = 0;

  // Blocks until the head is beyond `position` or `deadline` passes; returns
  // the head position then (which is <= position on timeout). Never polls.
  virtual uint64_t WaitForPositionAfter(uint64_t position, absl::Time deadline) const = 0;

  // Registers `listener` to be called with the new head position after every
  // commit, on the committing thread: it must be quick and must not call
  // Append. Returns an id for RemoveHeadListener.
  virtual uint64_t AddHeadListener(std::function<void(uint64_t)> listener) = 0;
  // After it returns, the listener is not running and will not be called.
  virtual void RemoveHeadListener(uint64_t id) = 0;

  // Recomputes the hash chain over [from_position, to_position] (to_position
  // 0 or beyond the head means the head) and reports the first break.
  virtual absl::StatusOr<VerifyResult> Verify(uint64_t from_position,
                                              uint64_t to_position) const = 0;
};

}  // namespace kam::eventstore

#endif  // KAM_EVENTSTORE_EVENT_LOG_H_
