#include "tools/kambench/filler_events.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kam::kambench {

std::vector<std::string> NumberedStreams(absl::string_view prefix, size_t count) {
  std::vector<std::string> names;
  names.reserve(count);
  for (size_t i = 0; i < count; ++i) names.push_back(absl::StrCat(prefix, i));
  return names;
}

FillerEvents::FillerEvents(const std::vector<std::string>* stream_names, uint64_t seed,
                           uint64_t source_index, size_t event_bytes)
    : stream_names_(stream_names),
      rng_(seed ^ (source_index * 0x9e3779b97f4a7c15ull)),
      source_tag_(source_index << 40),
      event_bytes_(event_bytes) {}

FillerStream FillerEvents::NextStream() {
  const size_t index = static_cast<size_t>(rng_() % stream_names_->size());
  return FillerStream{index, (*stream_names_)[index]};
}

void FillerEvents::NextEvents(size_t count, std::vector<eventstore::EventData>* events) {
  events->resize(count);
  const absl::Time now = absl::Now();
  for (eventstore::EventData& e : *events) {
    NextEventId(&e.event_id);
    e.type = kFillerEventType;
    FillRandom(&e.data);
    e.occurred_at = now;
  }
}

// 16 bytes as 32 hex digits: 8 random bytes keep the ids spread over the key
// space like UUIDs; 8 bytes of source and sequence make them unique.
void FillerEvents::NextEventId(std::string* id) {
  static constexpr char kHex[] = "0123456789abcdef";
  const uint64_t words[2] = {rng_(), source_tag_ | sequence_++};
  id->resize(32);
  for (int i = 0; i < 32; ++i) {
    (*id)[i] = kHex[(words[i / 16] >> (60 - 4 * (i % 16))) & 0xf];
  }
}

void FillerEvents::FillRandom(std::string* out) {
  out->resize(event_bytes_);
  for (size_t i = 0; i < event_bytes_; i += 8) {
    const uint64_t word = rng_();
    std::memcpy(&(*out)[i], &word, std::min<size_t>(8, event_bytes_ - i));
  }
}

}  // namespace kam::kambench
