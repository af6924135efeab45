// The canonical bytes of a recorded event: the input of its chain hash. This
// encoding is part of the audit contract and never changes; a new layout
// would need a new hash-chain version.
//
// CanonicalBytes(e) is the concatenation of
//   u8    format version, 1
//   u64   position
//   str   stream
//   u64   version
//   str   event_id
//   str   type
//   i64   occurred_at, nanoseconds since the Unix epoch
//   i64   recorded_at, nanoseconds since the Unix epoch
//   u32   number of metadata entries, then per entry in ascending byte order
//         of keys: str key, str value
//   str   data
// where integers are big-endian, i64 is two's complement, and str is a u32
// byte length followed by the bytes.
//
//   hash = SHA-256(prev_hash || CanonicalBytes(e))
// with prev_hash the hash of position - 1, or 32 zero bytes for position 1.

#ifndef KAM_EVENTSTORE_CANONICAL_ENCODING_H_
#define KAM_EVENTSTORE_CANONICAL_ENCODING_H_

#include <string>

#include "absl/strings/string_view.h"
#include "eventstore/event_log.h"

namespace kam::eventstore {

inline constexpr size_t kHashBytes = 32;

// Ignores e.prev_hash and e.hash.
std::string CanonicalBytes(const RecordedEvent& e);

// SHA-256(prev_hash || canonical), 32 raw bytes.
std::string ChainHash(absl::string_view prev_hash, absl::string_view canonical);

// 32 zero bytes: the prev_hash of position 1.
const std::string& GenesisHash();

}  // namespace kam::eventstore

#endif  // KAM_EVENTSTORE_CANONICAL_ENCODING_H_
