#include "tests/eventstore/test_support.h"

namespace kam::eventstore::testing {

EventData MakeEvent(const std::string& event_id, const std::string& type, const std::string& data) {
  EventData e;
  e.event_id = event_id;
  e.type = type;
  e.data = data;
  e.metadata = {{"correlation", "c-" + event_id}, {"actor", "test"}};
  e.occurred_at = absl::FromUnixSeconds(1600000000) + absl::Nanoseconds(123);
  return e;
}

std::vector<RecordedEvent> ReadWholeLog(const EventLog& log, size_t page) {
  std::vector<RecordedEvent> all;
  uint64_t from = 1;
  for (int round = 0; round < 1000000; ++round) {
    absl::StatusOr<ReadAllResult> r = log.ReadAll(from, Direction::kForward, page, LogFilter());
    if (!r.ok()) {
      ADD_FAILURE() << "ReadAll(" << from << ") failed: " << r.status();
      return all;
    }
    for (RecordedEvent& e : r->events) all.push_back(std::move(e));
    if (r->end_of_log) return all;
    if (r->next_position <= from) {
      ADD_FAILURE() << "ReadAll(" << from
                    << ") made no progress: next_position=" << r->next_position;
      return all;
    }
    from = r->next_position;
  }
  ADD_FAILURE() << "ReadAll never reached end_of_log";
  return all;
}

std::vector<RecordedEvent> ReadWholeStream(const EventLog& log, const std::string& stream) {
  absl::StatusOr<std::vector<RecordedEvent>> r =
      log.ReadStream(stream, 0, Direction::kForward, 1000000);
  if (absl::IsNotFound(r.status())) return {};
  if (!r.ok()) {
    ADD_FAILURE() << "ReadStream(" << stream << ") failed: " << r.status();
    return {};
  }
  return *std::move(r);
}

void ExpectSameEvent(const RecordedEvent& a, const RecordedEvent& b) {
  EXPECT_EQ(a.event_id, b.event_id);
  EXPECT_EQ(a.stream, b.stream) << "event " << a.event_id;
  EXPECT_EQ(a.version, b.version) << "event " << a.event_id;
  EXPECT_EQ(a.position, b.position) << "event " << a.event_id;
  EXPECT_EQ(a.type, b.type) << "event " << a.event_id;
  EXPECT_EQ(a.data, b.data) << "event " << a.event_id;
  EXPECT_EQ(a.metadata, b.metadata) << "event " << a.event_id;
  EXPECT_EQ(a.occurred_at, b.occurred_at) << "event " << a.event_id;
  EXPECT_EQ(a.recorded_at, b.recorded_at) << "event " << a.event_id;
  EXPECT_EQ(a.prev_hash, b.prev_hash) << "event " << a.event_id;
  EXPECT_EQ(a.hash, b.hash) << "event " << a.event_id;
}

void ExpectSameResult(const AppendResult& a, const AppendResult& b) {
  EXPECT_EQ(a.first_version, b.first_version);
  EXPECT_EQ(a.last_version, b.last_version);
  EXPECT_EQ(a.first_position, b.first_position);
  EXPECT_EQ(a.last_position, b.last_position);
}

void ExpectSameHead(const LogHead& a, const LogHead& b) {
  EXPECT_EQ(a.position, b.position);
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.recorded_at, b.recorded_at);
}

}  // namespace kam::eventstore::testing
