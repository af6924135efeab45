// How the log lays out its data in RocksDB. Column families:
//   log           u64 position -> prev_hash(32) || hash(32) || CanonicalBytes
//   streams       stream -> StreamMeta (40 bytes)
//   stream_index  stream || 0x00 || u64 version -> u64 position
//   event_ids     event_id -> u64 position
// Integers are big-endian so keys sort numerically. Stream names never hold
// a 0x00 byte, so one stream's index keys are contiguous.

#ifndef KAM_EVENTSTORE_INTERNAL_LAYOUT_H_
#define KAM_EVENTSTORE_INTERNAL_LAYOUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "eventstore/event_log.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"

namespace kam::eventstore::internal {

inline constexpr char kLogFamily[] = "log";
inline constexpr char kStreamsFamily[] = "streams";
inline constexpr char kStreamIndexFamily[] = "stream_index";
inline constexpr char kEventIdsFamily[] = "event_ids";

// What the log knows of one stream, kept current by every append.
struct StreamMeta {
  uint64_t last_version = 0;
  uint64_t last_position = 0;
  uint64_t event_count = 0;
  absl::Time first_recorded_at;
  absl::Time last_recorded_at;
};

std::string EncodeStreamMeta(const StreamMeta& meta);
absl::Status DecodeStreamMeta(absl::string_view bytes, StreamMeta* meta);

std::string StreamIndexKey(absl::string_view stream, uint64_t version);
// The first key after every index key of `stream`.
std::string StreamIndexEnd(absl::string_view stream);

// The stored value of a log entry.
std::string EncodeLogValue(absl::string_view prev_hash, absl::string_view hash,
                           absl::string_view canonical);
// Splits a stored value; DataLoss when it is too short.
absl::Status SplitLogValue(absl::string_view value, absl::string_view* prev_hash,
                           absl::string_view* hash, absl::string_view* canonical);
// Decodes a stored value into *e (hashes included).
absl::Status DecodeLogValue(absl::string_view value, RecordedEvent* e);

// The options the log opens RocksDB with: safe recovery and paranoid checks.
// Shared with the benchmark so its raw reference uses the same settings.
rocksdb::DBOptions MakeDbOptions(bool create_if_missing);
// One entry per family above (and "default"), all sharing `block_cache_bytes`.
std::vector<rocksdb::ColumnFamilyDescriptor> MakeFamilyDescriptors(size_t block_cache_bytes);

}  // namespace kam::eventstore::internal

#endif  // KAM_EVENTSTORE_INTERNAL_LAYOUT_H_
