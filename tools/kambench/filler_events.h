// The events of the append benchmarks: random payloads of a set size, on
// streams picked at random. The kam side and the raw side of a benchmark make
// theirs the same way, so making events costs each side the same.
//
//   static const std::vector<std::string> names = NumberedStreams("bench-", 1000);
//   FillerEvents source(&names, seed, /*source_index=*/3, /*event_bytes=*/300);
//   std::vector<eventstore::EventData> events;
//   const FillerStream stream = source.NextStream();
//   source.NextEvents(100, &events);

#ifndef KAM_TOOLS_KAMBENCH_FILLER_EVENTS_H_
#define KAM_TOOLS_KAMBENCH_FILLER_EVENTS_H_

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "eventstore/event_log.h"

namespace kam::kambench {

inline constexpr char kFillerEventType[] = "kambench.v1.Filler";

// `prefix` + "0" .. `prefix` + (count - 1).
std::vector<std::string> NumberedStreams(absl::string_view prefix, size_t count);

struct FillerStream {
  size_t index;  // Among the names the source picks from.
  absl::string_view name;
};

// One writer's events; copyable, not thread-safe.
class FillerEvents {
 public:
  // `stream_names` must outlive the source. Event ids are unique per
  // `source_index`, which must differ between the sources writing to one
  // database.
  FillerEvents(const std::vector<std::string>* stream_names, uint64_t seed, uint64_t source_index,
               size_t event_bytes);

  FillerStream NextStream();

  // Overwrites *events with `count` events, reusing their buffers.
  void NextEvents(size_t count, std::vector<eventstore::EventData>* events);

 private:
  void NextEventId(std::string* id);
  void FillRandom(std::string* out);

  const std::vector<std::string>* stream_names_;
  std::mt19937_64 rng_;
  uint64_t source_tag_;
  uint64_t sequence_ = 0;
  size_t event_bytes_;
};

}  // namespace kam::kambench

#endif  // KAM_TOOLS_KAMBENCH_FILLER_EVENTS_H_
