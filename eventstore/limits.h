// Input limits of the event log and the checks that enforce them. Every
// violation is an InvalidArgument naming the offending field.

#ifndef KAM_EVENTSTORE_LIMITS_H_
#define KAM_EVENTSTORE_LIMITS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "eventstore/event_log.h"

namespace kam::eventstore {

struct Limits {
  size_t max_stream_name_bytes = 256;
  size_t max_event_id_bytes = 128;
  size_t max_type_bytes = 256;
  // type + data + metadata keys and values.
  size_t max_event_bytes = 1 << 20;
  size_t max_events_per_append = 10000;
};

// 1 to max_stream_name_bytes of valid UTF-8 without control characters.
absl::Status ValidateStreamName(absl::string_view stream, const Limits& limits);

// The whole append: stream, count, and each event's fields. Duplicate
// event_ids within the append are rejected.
absl::Status ValidateAppend(absl::string_view stream, absl::Span<const EventData> events,
                            const Limits& limits);

}  // namespace kam::eventstore

#endif  // KAM_EVENTSTORE_LIMITS_H_
