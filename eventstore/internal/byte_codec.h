// Big-endian fixed-width integers and length-prefixed strings: the building
// blocks of the canonical event encoding and of the log's keys and values.

#ifndef KAM_EVENTSTORE_INTERNAL_BYTE_CODEC_H_
#define KAM_EVENTSTORE_INTERNAL_BYTE_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "eventstore/event_log.h"

namespace kam::eventstore::internal {

inline void PutU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

inline void PutU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

inline void PutString(std::string* out, absl::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s.data(), s.size());
}

inline std::string EncodeU64(uint64_t v) {
  std::string out;
  PutU64(&out, v);
  return out;
}

// Reads what the Put functions wrote; every Get returns false on truncation.
class ByteReader {
 public:
  explicit ByteReader(absl::string_view bytes) : rest_(bytes) {}

  bool GetU8(uint8_t* v) {
    if (rest_.empty()) return false;
    *v = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return true;
  }
  bool GetU32(uint32_t* v) { return GetFixed(4, v); }
  bool GetU64(uint64_t* v) { return GetFixed(8, v); }
  bool GetString(std::string* s) {
    uint32_t length = 0;
    if (!GetU32(&length) || rest_.size() < length) return false;
    s->assign(rest_.data(), length);
    rest_.remove_prefix(length);
    return true;
  }
  bool GetBytes(size_t n, std::string* s) {
    if (rest_.size() < n) return false;
    s->assign(rest_.data(), n);
    rest_.remove_prefix(n);
    return true;
  }
  bool empty() const { return rest_.empty(); }

 private:
  template <typename T>
  bool GetFixed(size_t n, T* v) {
    if (rest_.size() < n) return false;
    T result = 0;
    for (size_t i = 0; i < n; ++i) {
      result = static_cast<T>((result << 8) | static_cast<uint8_t>(rest_[i]));
    }
    rest_.remove_prefix(n);
    *v = result;
    return true;
  }

  absl::string_view rest_;
};

inline uint64_t DecodeU64(absl::string_view bytes) {
  uint64_t v = 0;
  ByteReader(bytes).GetU64(&v);
  return v;
}

// The inverse of CanonicalBytes. DataLoss when the bytes are malformed.
absl::Status ParseCanonicalBytes(absl::string_view bytes, RecordedEvent* e);

}  // namespace kam::eventstore::internal

#endif  // KAM_EVENTSTORE_INTERNAL_BYTE_CODEC_H_
