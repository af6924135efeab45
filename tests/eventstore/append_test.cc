// Append: coordinates, optimistic concurrency, idempotent retries, atomic
// failure and recorded_at.

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eventstore/event_log.h"
#include "gtest/gtest.h"
#include "tests/eventstore/test_support.h"

namespace kam::eventstore {
namespace {

using ::kam::eventstore::testing::ExpectSameEvent;
using ::kam::eventstore::testing::ExpectSameHead;
using ::kam::eventstore::testing::ExpectSameResult;
using ::kam::eventstore::testing::FixtureStartTime;
using ::kam::eventstore::testing::LogTest;
using ::kam::eventstore::testing::MakeEvent;
using ::kam::eventstore::testing::ReadWholeLog;

class AppendTest : public LogTest {
 protected:
  // Appends `count` events to `stream` with ids `<prefix>-0`, `<prefix>-1`...
  void AppendEvents(const std::string& stream, const std::string& prefix, int count) {
    std::vector<EventData> events;
    for (int i = 0; i < count; ++i) events.push_back(MakeEvent(absl::StrCat(prefix, "-", i)));
    KAM_ASSERT_OK(log().Append(stream, ExpectedVersion::Any(), events));
  }

  // An append to `stream` with a fresh event id.
  absl::StatusOr<AppendResult> AppendOne(const std::string& stream, ExpectedVersion expected) {
    return log().Append(stream, expected, {MakeEvent(absl::StrCat("one-", next_id_++))});
  }

  int next_id_ = 0;
};

// What a failed append must leave untouched.
struct LogSnapshot {
  LogHead head;
  std::vector<RecordedEvent> events;
  std::vector<absl::StatusOr<StreamInfo>> streams;
};

LogSnapshot TakeSnapshot(const EventLog& log, const std::vector<std::string>& streams) {
  LogSnapshot s;
  s.head = log.Head();
  s.events = ReadWholeLog(log);
  for (const std::string& stream : streams) s.streams.push_back(log.GetStreamInfo(stream));
  return s;
}

void ExpectUnchanged(const LogSnapshot& before, const LogSnapshot& after) {
  ExpectSameHead(before.head, after.head);
  ASSERT_EQ(before.events.size(), after.events.size());
  for (size_t i = 0; i < before.events.size(); ++i) {
    ExpectSameEvent(before.events[i], after.events[i]);
  }
  ASSERT_EQ(before.streams.size(), after.streams.size());
  for (size_t i = 0; i < before.streams.size(); ++i) {
    EXPECT_EQ(before.streams[i].status().code(), after.streams[i].status().code())
        << "stream #" << i;
    if (before.streams[i].ok() && after.streams[i].ok()) {
      EXPECT_EQ(before.streams[i]->last_version, after.streams[i]->last_version);
      EXPECT_EQ(before.streams[i]->last_position, after.streams[i]->last_position);
      EXPECT_EQ(before.streams[i]->event_count, after.streams[i]->event_count);
      EXPECT_EQ(before.streams[i]->last_recorded_at, after.streams[i]->last_recorded_at);
    }
  }
}

TEST_F(AppendTest, FirstAppendStartsAtVersionZeroAndPositionOne) {
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult r,
                           log().Append("acct-1", ExpectedVersion::Any(),
                                        {MakeEvent("a"), MakeEvent("b"), MakeEvent("c")}));
  EXPECT_EQ(r.first_version, 0u);
  EXPECT_EQ(r.last_version, 2u);
  EXPECT_EQ(r.first_position, 1u);
  EXPECT_EQ(r.last_position, 3u);
  EXPECT_EQ(log().Head().position, 3u);

  KAM_ASSERT_OK_AND_ASSIGN(AppendResult r2,
                           log().Append("acct-2", ExpectedVersion::Any(), {MakeEvent("d")}));
  EXPECT_EQ(r2.first_version, 0u);
  EXPECT_EQ(r2.last_version, 0u);
  EXPECT_EQ(r2.first_position, 4u);
  EXPECT_EQ(r2.last_position, 4u);

  KAM_ASSERT_OK_AND_ASSIGN(AppendResult r3, log().Append("acct-1", ExpectedVersion::Any(),
                                                         {MakeEvent("e"), MakeEvent("f")}));
  EXPECT_EQ(r3.first_version, 3u);
  EXPECT_EQ(r3.last_version, 4u);
  EXPECT_EQ(r3.first_position, 5u);
  EXPECT_EQ(r3.last_position, 6u);
}

TEST_F(AppendTest, AppendedEventsReadBackWithAllFields) {
  EventData e = MakeEvent("evt-1", "kam.v1.VisitRecorded", std::string("bin\0ary\xff", 8));
  e.metadata = {{"b", "2"}, {"a", "1"}, {"", "empty key"}};
  e.occurred_at = absl::FromUnixNanos(1234567890123456789);
  KAM_ASSERT_OK(log().Append("acct-42", ExpectedVersion::NoStream(), {e}));

  KAM_ASSERT_OK_AND_ASSIGN(std::vector<RecordedEvent> read,
                           log().ReadStream("acct-42", 0, Direction::kForward, 10));
  ASSERT_EQ(read.size(), 1u);
  const RecordedEvent& r = read[0];
  EXPECT_EQ(r.event_id, "evt-1");
  EXPECT_EQ(r.stream, "acct-42");
  EXPECT_EQ(r.version, 0u);
  EXPECT_EQ(r.position, 1u);
  EXPECT_EQ(r.type, "kam.v1.VisitRecorded");
  EXPECT_EQ(r.data, std::string("bin\0ary\xff", 8));
  EXPECT_EQ(r.metadata, e.metadata);
  EXPECT_EQ(r.occurred_at, e.occurred_at);
  EXPECT_EQ(r.recorded_at, FixtureStartTime());
  EXPECT_EQ(r.prev_hash.size(), 32u);
  EXPECT_EQ(r.hash.size(), 32u);
}

// --- Optimistic concurrency: the expected-version matrix. ---

TEST_F(AppendTest, AnyOnMissingStreamCreatesIt) {
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult r, AppendOne("s", ExpectedVersion::Any()));
  EXPECT_EQ(r.first_version, 0u);
}

TEST_F(AppendTest, NoStreamOnMissingStreamCreatesIt) {
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult r, AppendOne("s", ExpectedVersion::NoStream()));
  EXPECT_EQ(r.first_version, 0u);
}

TEST_F(AppendTest, StreamExistsOnMissingStreamIsAborted) {
  AppendEvents("other", "o", 1);
  absl::StatusOr<AppendResult> r = AppendOne("s", ExpectedVersion::StreamExists());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted) << r.status();
}

TEST_F(AppendTest, ExactOnMissingStreamIsAbortedNamingExpectedVersion) {
  AppendEvents("other", "o", 3);  // Another stream with version 2 exists.
  absl::StatusOr<AppendResult> r0 = AppendOne("s", ExpectedVersion::Exact(0));
  EXPECT_EQ(r0.status().code(), absl::StatusCode::kAborted) << r0.status();

  absl::StatusOr<AppendResult> r = AppendOne("s", ExpectedVersion::Exact(57));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kAborted) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "57")) << r.status();
}

TEST_F(AppendTest, AnyOnExistingStreamAppends) {
  AppendEvents("s", "s", 13);
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult r, AppendOne("s", ExpectedVersion::Any()));
  EXPECT_EQ(r.first_version, 13u);
}

TEST_F(AppendTest, NoStreamOnExistingStreamIsAbortedNamingActualVersion) {
  AppendEvents("s", "s", 13);  // Last version 12.
  absl::StatusOr<AppendResult> r = AppendOne("s", ExpectedVersion::NoStream());
  ASSERT_EQ(r.status().code(), absl::StatusCode::kAborted) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "12")) << r.status();
}

TEST_F(AppendTest, StreamExistsOnExistingStreamAppends) {
  AppendEvents("s", "s", 13);
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult r, AppendOne("s", ExpectedVersion::StreamExists()));
  EXPECT_EQ(r.first_version, 13u);
}

TEST_F(AppendTest, ExactRightVersionOnExistingStreamAppends) {
  AppendEvents("s", "s", 13);
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult r, AppendOne("s", ExpectedVersion::Exact(12)));
  EXPECT_EQ(r.first_version, 13u);
  EXPECT_EQ(r.last_version, 13u);
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult r2, AppendOne("s", ExpectedVersion::Exact(13)));
  EXPECT_EQ(r2.first_version, 14u);
}

TEST_F(AppendTest, ExactWrongVersionIsAbortedNamingBothVersions) {
  AppendEvents("s", "s", 13);  // Last version 12.
  for (uint64_t wrong : {uint64_t{11}, uint64_t{37}}) {
    SCOPED_TRACE(absl::StrCat("expected version ", wrong));
    absl::StatusOr<AppendResult> r = AppendOne("s", ExpectedVersion::Exact(wrong));
    ASSERT_EQ(r.status().code(), absl::StatusCode::kAborted) << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), absl::StrCat(wrong))) << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), "12")) << r.status();
  }
}

// --- Idempotent retries and event-id reuse. ---

TEST_F(AppendTest, RetryWithSameIdsAndContentReturnsOriginalResult) {
  AppendEvents("before", "b", 2);
  const std::vector<EventData> batch = {MakeEvent("x-1"), MakeEvent("x-2"), MakeEvent("x-3")};
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult original,
                           log().Append("acct", ExpectedVersion::NoStream(), batch));
  AppendEvents("after", "a", 2);
  const LogSnapshot before = TakeSnapshot(log(), {"acct", "before", "after"});

  // The exact same request again: its expected version no longer holds, but
  // a retry must get the original answer, not a conflict.
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult retry,
                           log().Append("acct", ExpectedVersion::NoStream(), batch));
  ExpectSameResult(original, retry);
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult retry_any,
                           log().Append("acct", ExpectedVersion::Any(), batch));
  ExpectSameResult(original, retry_any);

  ExpectUnchanged(before, TakeSnapshot(log(), {"acct", "before", "after"}));
}

TEST_F(AppendTest, RetryOfExactVersionAppendReturnsOriginalResult) {
  AppendEvents("acct", "s", 3);
  const std::vector<EventData> batch = {MakeEvent("y-1")};
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult original,
                           log().Append("acct", ExpectedVersion::Exact(2), batch));
  AppendEvents("acct", "later", 2);
  const LogHead head = log().Head();
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult retry,
                           log().Append("acct", ExpectedVersion::Exact(2), batch));
  ExpectSameResult(original, retry);
  ExpectSameHead(head, log().Head());
}

TEST_F(AppendTest, ReusedIdWithDifferentDataIsAlreadyExists) {
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("id-1", "t", "one")}));
  absl::StatusOr<AppendResult> r =
      log().Append("acct", ExpectedVersion::Any(), {MakeEvent("id-1", "t", "two")});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists) << r.status();
}

TEST_F(AppendTest, ReusedIdWithDifferentTypeIsAlreadyExists) {
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("id-1", "t1", "d")}));
  absl::StatusOr<AppendResult> r =
      log().Append("acct", ExpectedVersion::Any(), {MakeEvent("id-1", "t2", "d")});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists) << r.status();
}

TEST_F(AppendTest, ReusedIdInDifferentStreamIsAlreadyExists) {
  KAM_ASSERT_OK(log().Append("acct-1", ExpectedVersion::Any(), {MakeEvent("id-1")}));
  absl::StatusOr<AppendResult> r =
      log().Append("acct-2", ExpectedVersion::Any(), {MakeEvent("id-1")});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists) << r.status();
  EXPECT_EQ(log().GetStreamInfo("acct-2").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AppendTest, DuplicateIdsWithinOneAppendAreInvalidArgument) {
  absl::StatusOr<AppendResult> r = log().Append("acct", ExpectedVersion::Any(),
                                                {MakeEvent("a"), MakeEvent("b"), MakeEvent("a")});
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "event_id")) << r.status();
}

TEST_F(AppendTest, EmptyEventIdGetsUniqueAssignedId) {
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent(""), MakeEvent("")}));
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("")}));
  std::vector<RecordedEvent> all = ReadWholeLog(log());
  ASSERT_EQ(all.size(), 3u);
  std::set<std::string> ids;
  for (const RecordedEvent& e : all) {
    EXPECT_FALSE(e.event_id.empty());
    ids.insert(e.event_id);
  }
  EXPECT_EQ(ids.size(), 3u) << "assigned ids must be unique";
}

// --- A failed append writes nothing. ---

TEST_F(AppendTest, FailedOccAppendWritesNothing) {
  AppendEvents("acct", "s", 3);
  const LogSnapshot before = TakeSnapshot(log(), {"acct", "new"});
  EXPECT_EQ(log().Append("acct", ExpectedVersion::Exact(1), {MakeEvent("n-1")}).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(
      log().Append("new", ExpectedVersion::StreamExists(), {MakeEvent("n-2")}).status().code(),
      absl::StatusCode::kAborted);
  ExpectUnchanged(before, TakeSnapshot(log(), {"acct", "new"}));
  // The rejected ids were not taken: they can be used elsewhere.
  KAM_EXPECT_OK(log().Append("elsewhere", ExpectedVersion::Any(),
                             {MakeEvent("n-1", "other"), MakeEvent("n-2", "other")}));
}

TEST_F(AppendTest, FailedValidationAppendWritesNothing) {
  AppendEvents("acct", "s", 3);
  const LogSnapshot before = TakeSnapshot(log(), {"acct", "new"});
  EventData no_type = MakeEvent("v-2");
  no_type.type.clear();
  absl::StatusOr<AppendResult> r =
      log().Append("acct", ExpectedVersion::Any(), {MakeEvent("v-1"), no_type});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  r = log().Append("new", ExpectedVersion::Any(), {MakeEvent("v-3"), no_type});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  ExpectUnchanged(before, TakeSnapshot(log(), {"acct", "new"}));
  KAM_EXPECT_OK(log().Append("elsewhere", ExpectedVersion::Any(),
                             {MakeEvent("v-1", "other"), MakeEvent("v-3", "other")}));
}

TEST_F(AppendTest, DuplicateIdAppendWritesNothing) {
  AppendEvents("acct", "s", 3);
  const LogSnapshot before = TakeSnapshot(log(), {"acct", "new"});
  absl::StatusOr<AppendResult> r = log().Append(
      "new", ExpectedVersion::Any(), {MakeEvent("d-1"), MakeEvent("d-2"), MakeEvent("d-1")});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  ExpectUnchanged(before, TakeSnapshot(log(), {"acct", "new"}));
  KAM_EXPECT_OK(log().Append("elsewhere", ExpectedVersion::Any(),
                             {MakeEvent("d-1", "other"), MakeEvent("d-2", "other")}));
}

TEST_F(AppendTest, ConflictingReuseAppendWritesNothing) {
  AppendEvents("acct", "s", 3);  // Records s-0, s-1, s-2.
  const LogSnapshot before = TakeSnapshot(log(), {"acct", "new"});
  // A fresh event together with a reused id in a different place.
  absl::StatusOr<AppendResult> r =
      log().Append("new", ExpectedVersion::Any(), {MakeEvent("fresh-1"), MakeEvent("s-1")});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists) << r.status();
  ExpectUnchanged(before, TakeSnapshot(log(), {"acct", "new"}));
  KAM_EXPECT_OK(log().Append("elsewhere", ExpectedVersion::Any(), {MakeEvent("fresh-1", "other")}));
}

// --- recorded_at. ---

TEST_F(AppendTest, RecordedAtComesFromInjectedClock) {
  const absl::Time t1 = absl::FromUnixSeconds(1800000000);
  clock_.Set(t1);
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("a"), MakeEvent("b")}));
  const absl::Time t2 = t1 + absl::Milliseconds(1500);
  clock_.Set(t2);
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("c")}));

  std::vector<RecordedEvent> all = ReadWholeLog(log());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].recorded_at, t1);
  EXPECT_EQ(all[1].recorded_at, t1);
  EXPECT_EQ(all[2].recorded_at, t2);
  EXPECT_EQ(log().Head().recorded_at, t2);
}

TEST_F(AppendTest, RecordedAtNeverGoesBackwardsWhenClockDoes) {
  const absl::Time t1 = absl::FromUnixSeconds(1800000000);
  clock_.Set(t1);
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("a")}));
  clock_.Set(t1 - absl::Hours(1));  // The clock steps back.
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("b")}));
  KAM_ASSERT_OK(log().Append("other", ExpectedVersion::Any(), {MakeEvent("c"), MakeEvent("d")}));
  clock_.Set(t1 + absl::Seconds(5));
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("e")}));
  clock_.Set(t1 - absl::Hours(48));
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {MakeEvent("f")}));

  std::vector<RecordedEvent> all = ReadWholeLog(log());
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[0].recorded_at, t1);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_GE(all[i].recorded_at, all[i - 1].recorded_at) << "position " << all[i].position;
  }
  EXPECT_EQ(all[4].recorded_at, t1 + absl::Seconds(5));
  EXPECT_GE(all[5].recorded_at, t1 + absl::Seconds(5));
  EXPECT_GE(log().Head().recorded_at, t1 + absl::Seconds(5));
}

}  // namespace
}  // namespace kam::eventstore
