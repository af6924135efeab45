#include "eventstore/limits.h"

#include <cstdint>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace kam::eventstore {

namespace {

// Decodes one UTF-8 code point at s[*i], advancing *i; false when malformed
// (overlong forms, surrogates and values beyond U+10FFFF included).
bool NextCodePoint(absl::string_view s, size_t* i, uint32_t* cp) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t lead = byte(*i);
  size_t length = lead < 0x80           ? 1
                  : (lead >> 5) == 0x6  ? 2
                  : (lead >> 4) == 0xe  ? 3
                  : (lead >> 3) == 0x1e ? 4
                                        : 0;
  if (length == 0 || *i + length > s.size()) return false;
  uint32_t value = length == 1 ? lead : lead & (0x7f >> length);
  for (size_t k = 1; k < length; ++k) {
    if ((byte(*i + k) & 0xc0) != 0x80) return false;
    value = (value << 6) | (byte(*i + k) & 0x3f);
  }
  static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < kMinForLength[length] || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
    return false;
  }
  *i += length;
  *cp = value;
  return true;
}

bool IsControl(uint32_t cp) { return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f); }

size_t EventBytes(const EventData& e) {
  size_t bytes = e.type.size() + e.data.size();
  for (const auto& [key, value] : e.metadata) bytes += key.size() + value.size();
  return bytes;
}

absl::Status ValidateEvent(const EventData& e, size_t index, const Limits& limits) {
  const std::string field = absl::StrCat("events[", index, "]");
  if (e.type.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".type: must not be empty"));
  }
  if (e.type.size() > limits.max_type_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".type: ", e.type.size(), " bytes, more than the limit of ", limits.max_type_bytes));
  }
  if (e.event_id.size() > limits.max_event_id_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".event_id: ", e.event_id.size(),
                                                   " bytes, more than the limit of ",
                                                   limits.max_event_id_bytes));
  }
  if (size_t bytes = EventBytes(e); bytes > limits.max_event_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", bytes,
                                                   " bytes (type, data and metadata), more "
                                                   "than the limit of ",
                                                   limits.max_event_bytes, " bytes per event"));
  }
  constexpr int64_t kMaxNanos = std::numeric_limits<int64_t>::max();
  if (e.occurred_at < absl::FromUnixNanos(-kMaxNanos) ||
      e.occurred_at > absl::FromUnixNanos(kMaxNanos)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".occurred_at: outside the years 1678-2262"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateStreamName(absl::string_view stream, const Limits& limits) {
  if (stream.empty()) {
    return absl::InvalidArgumentError("stream: must not be empty");
  }
  if (stream.size() > limits.max_stream_name_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("stream: ", stream.size(),
                                                   " bytes, more than the limit of ",
                                                   limits.max_stream_name_bytes));
  }
  for (size_t i = 0; i < stream.size();) {
    uint32_t cp = 0;
    size_t at = i;
    if (!NextCodePoint(stream, &i, &cp)) {
      return absl::InvalidArgumentError(absl::StrCat("stream: not valid UTF-8 at byte ", at));
    }
    if (IsControl(cp)) {
      return absl::InvalidArgumentError(absl::StrCat("stream: control character at byte ", at));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateAppend(absl::string_view stream, absl::Span<const EventData> events,
                            const Limits& limits) {
  if (absl::Status s = ValidateStreamName(stream, limits); !s.ok()) return s;
  if (events.empty()) {
    return absl::InvalidArgumentError("events: an append needs at least one event");
  }
  if (events.size() > limits.max_events_per_append) {
    return absl::InvalidArgumentError(absl::StrCat("events: ", events.size(),
                                                   " events, more than the limit of ",
                                                   limits.max_events_per_append, " per append"));
  }
  absl::flat_hash_set<absl::string_view> ids;
  for (size_t i = 0; i < events.size(); ++i) {
    if (absl::Status s = ValidateEvent(events[i], i, limits); !s.ok()) return s;
    if (!events[i].event_id.empty() && !ids.insert(events[i].event_id).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "events[", i, "].event_id: '", events[i].event_id, "' appears twice in one append"));
    }
  }
  return absl::OkStatus();
}

}  // namespace kam::eventstore
