// Reads: ReadStream, ReadAll with filters and paging, GetStreamInfo, Head.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eventstore/canonical_encoding.h"
#include "eventstore/event_log.h"
#include "gtest/gtest.h"
#include "tests/eventstore/test_support.h"

namespace kam::eventstore {
namespace {

using ::kam::eventstore::testing::FixtureStartTime;
using ::kam::eventstore::testing::LogTest;
using ::kam::eventstore::testing::MakeEvent;
using ::kam::eventstore::testing::ReadWholeLog;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

struct Planned {
  const char* stream;
  const char* type;
};

// Position p (from 1) is kPlan[p - 1], appended alone at FixtureStartTime()+p s.
constexpr Planned kPlan[] = {
    {"acct-1", "A"},  {"acct-2", "B"},  {"acct-1", "B"},  {"other-1", "A"},
    {"acct-1", "A"},  {"acct-1", "C"},  {"acct-2", "A"},  {"acct-1", "B"},
    {"other-1", "B"}, {"other-2", "C"}, {"acct-10", "A"},
};
constexpr uint64_t kEvents = sizeof(kPlan) / sizeof(kPlan[0]);

absl::Time RecordedAtOf(uint64_t position) {
  return FixtureStartTime() + absl::Seconds(static_cast<int64_t>(position));
}

class ReadTest : public LogTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(LogTest::SetUp());
    for (uint64_t p = 1; p <= kEvents; ++p) {
      clock_.Set(RecordedAtOf(p));
      KAM_ASSERT_OK(log().Append(
          kPlan[p - 1].stream, ExpectedVersion::Any(),
          {MakeEvent(absl::StrCat("e", p), kPlan[p - 1].type, absl::StrCat("data of ", p))}));
    }
  }

  // The positions a filtered read must return, in forward order.
  static std::vector<uint64_t> Matching(const LogFilter& filter) {
    std::vector<uint64_t> positions;
    for (uint64_t p = 1; p <= kEvents; ++p) {
      bool type_ok = filter.types.empty();
      for (const std::string& t : filter.types) type_ok = type_ok || t == kPlan[p - 1].type;
      if (absl::StartsWith(kPlan[p - 1].stream, filter.stream_prefix) && type_ok) {
        positions.push_back(p);
      }
    }
    return positions;
  }

  // Every position a filtered read returns, paging by `page` in `direction`.
  std::vector<uint64_t> ReadPaged(Direction direction, size_t page, const LogFilter& filter) {
    std::vector<uint64_t> positions;
    uint64_t from = direction == Direction::kForward ? 1 : 0;
    for (int round = 0; round < 100; ++round) {
      absl::StatusOr<ReadAllResult> r = log().ReadAll(from, direction, page, filter);
      if (!r.ok()) {
        ADD_FAILURE() << r.status();
        break;
      }
      EXPECT_LE(r->events.size(), page);
      for (const RecordedEvent& e : r->events) positions.push_back(e.position);
      if (r->end_of_log) break;
      if (direction == Direction::kForward) {
        if (!r->events.empty()) {
          EXPECT_GT(r->next_position, r->events.back().position);
        }
      } else if (!r->events.empty()) {
        EXPECT_LT(r->next_position, r->events.back().position);
      }
      from = r->next_position;
    }
    return positions;
  }

  static std::vector<uint64_t> Positions(const std::vector<RecordedEvent>& events) {
    std::vector<uint64_t> positions;
    for (const RecordedEvent& e : events) positions.push_back(e.position);
    return positions;
  }
  static std::vector<uint64_t> Versions(const std::vector<RecordedEvent>& events) {
    std::vector<uint64_t> versions;
    for (const RecordedEvent& e : events) versions.push_back(e.version);
    return versions;
  }
};

using EmptyLogTest = LogTest;

TEST_F(EmptyLogTest, HeadOfEmptyLogIsPositionZeroWithGenesisHash) {
  LogHead head = log().Head();
  EXPECT_EQ(head.position, 0u);
  EXPECT_EQ(head.hash, GenesisHash());
  EXPECT_EQ(head.hash, std::string(32, '\0'));
}

TEST_F(EmptyLogTest, ReadAllOfEmptyLogIsEmptyAndAtEnd) {
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult fwd,
                           log().ReadAll(1, Direction::kForward, 10, LogFilter()));
  EXPECT_TRUE(fwd.events.empty());
  EXPECT_TRUE(fwd.end_of_log);
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult back,
                           log().ReadAll(0, Direction::kBackward, 10, LogFilter()));
  EXPECT_TRUE(back.events.empty());
  EXPECT_TRUE(back.end_of_log);
  EXPECT_EQ(log().GetStreamInfo("acct-1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ReadTest, ReadStreamForwardFromVersionWithMaxCount) {
  KAM_ASSERT_OK_AND_ASSIGN(std::vector<RecordedEvent> events,
                           log().ReadStream("acct-1", 1, Direction::kForward, 2));
  EXPECT_EQ(Versions(events), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(Positions(events), (std::vector<uint64_t>{3, 5}));
  for (const RecordedEvent& e : events) {
    EXPECT_EQ(e.stream, "acct-1");
    EXPECT_EQ(e.event_id, absl::StrCat("e", e.position));
    EXPECT_EQ(e.type, kPlan[e.position - 1].type);
    EXPECT_EQ(e.data, absl::StrCat("data of ", e.position));
    EXPECT_EQ(e.recorded_at, RecordedAtOf(e.position));
  }
}

TEST_F(ReadTest, ReadStreamForwardReturnsOnlyThatStream) {
  // "acct-1" is a prefix of "acct-10": its events must not leak in.
  KAM_ASSERT_OK_AND_ASSIGN(std::vector<RecordedEvent> events,
                           log().ReadStream("acct-1", 0, Direction::kForward, 100));
  EXPECT_EQ(Versions(events), (std::vector<uint64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(Positions(events), (std::vector<uint64_t>{1, 3, 5, 6, 8}));
}

TEST_F(ReadTest, ReadStreamForwardPastEndIsEmpty) {
  KAM_ASSERT_OK_AND_ASSIGN(std::vector<RecordedEvent> events,
                           log().ReadStream("acct-1", 5, Direction::kForward, 10));
  EXPECT_TRUE(events.empty());
}

TEST_F(ReadTest, ReadStreamBackwardFromVersionWithMaxCount) {
  KAM_ASSERT_OK_AND_ASSIGN(std::vector<RecordedEvent> events,
                           log().ReadStream("acct-1", 3, Direction::kBackward, 2));
  EXPECT_EQ(Versions(events), (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ(Positions(events), (std::vector<uint64_t>{6, 5}));
}

TEST_F(ReadTest, ReadStreamBackwardFromBeyondEndStartsAtLastEvent) {
  KAM_ASSERT_OK_AND_ASSIGN(std::vector<RecordedEvent> some,
                           log().ReadStream("acct-1", 100, Direction::kBackward, 3));
  EXPECT_EQ(Versions(some), (std::vector<uint64_t>{4, 3, 2}));
  KAM_ASSERT_OK_AND_ASSIGN(std::vector<RecordedEvent> all,
                           log().ReadStream("acct-1", kMax, Direction::kBackward, 100));
  EXPECT_EQ(Versions(all), (std::vector<uint64_t>{4, 3, 2, 1, 0}));
}

TEST_F(ReadTest, ReadStreamOfUnknownStreamIsNotFound) {
  EXPECT_EQ(log().ReadStream("acct-3", 0, Direction::kForward, 10).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(log().ReadStream("acct-", 0, Direction::kBackward, 10).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ReadTest, ReadAllForwardStopsAtMaxCountWithNextPosition) {
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult r, log().ReadAll(1, Direction::kForward, 4, LogFilter()));
  EXPECT_EQ(Positions(r.events), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(r.next_position, 5u);
  EXPECT_FALSE(r.end_of_log);
}

TEST_F(ReadTest, ReadAllForwardToTheHeadIsEndOfLog) {
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult r,
                           log().ReadAll(9, Direction::kForward, 100, LogFilter()));
  EXPECT_EQ(Positions(r.events), (std::vector<uint64_t>{9, 10, 11}));
  EXPECT_EQ(r.next_position, kEvents + 1);
  EXPECT_TRUE(r.end_of_log);
  for (const RecordedEvent& e : r.events) {
    EXPECT_EQ(e.stream, kPlan[e.position - 1].stream);
    EXPECT_EQ(e.event_id, absl::StrCat("e", e.position));
  }
}

TEST_F(ReadTest, ReadAllForwardBeyondHeadIsEmptyEndOfLog) {
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult r,
                           log().ReadAll(kEvents + 1, Direction::kForward, 10, LogFilter()));
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(r.end_of_log);
}

TEST_F(ReadTest, ReadAllBackwardFromHead) {
  for (uint64_t from : {uint64_t{0}, kEvents, kMax}) {
    SCOPED_TRACE(absl::StrCat("from ", from));
    KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult r,
                             log().ReadAll(from, Direction::kBackward, 3, LogFilter()));
    EXPECT_EQ(Positions(r.events), (std::vector<uint64_t>{11, 10, 9}));
    EXPECT_EQ(r.next_position, 8u);
    EXPECT_FALSE(r.end_of_log);
  }
}

TEST_F(ReadTest, ReadAllBackwardToTheStartIsEndOfLog) {
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult r,
                           log().ReadAll(3, Direction::kBackward, 10, LogFilter()));
  EXPECT_EQ(Positions(r.events), (std::vector<uint64_t>{3, 2, 1}));
  EXPECT_EQ(r.next_position, 0u);
  EXPECT_TRUE(r.end_of_log);
}

TEST_F(ReadTest, ReadAllPagesCoverTheLogOnceInEachDirection) {
  std::vector<uint64_t> forward = Matching(LogFilter());
  std::vector<uint64_t> backward(forward.rbegin(), forward.rend());
  for (size_t page : {size_t{1}, size_t{2}, size_t{3}, size_t{100}}) {
    SCOPED_TRACE(absl::StrCat("page ", page));
    EXPECT_EQ(ReadPaged(Direction::kForward, page, LogFilter()), forward);
    EXPECT_EQ(ReadPaged(Direction::kBackward, page, LogFilter()), backward);
  }
}

TEST_F(ReadTest, ReadAllFiltersByStreamPrefix) {
  LogFilter filter;
  filter.stream_prefix = "acct-";
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult r, log().ReadAll(1, Direction::kForward, 100, filter));
  EXPECT_EQ(Positions(r.events), (std::vector<uint64_t>{1, 2, 3, 5, 6, 7, 8, 11}));
  EXPECT_TRUE(r.end_of_log);
  for (const RecordedEvent& e : r.events) EXPECT_TRUE(absl::StartsWith(e.stream, "acct-"));

  filter.stream_prefix = "other-";
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult back, log().ReadAll(0, Direction::kBackward, 100, filter));
  EXPECT_EQ(Positions(back.events), (std::vector<uint64_t>{10, 9, 4}));
  EXPECT_TRUE(back.end_of_log);
}

TEST_F(ReadTest, ReadAllFiltersByTypes) {
  LogFilter filter;
  filter.types = {"B"};
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult b, log().ReadAll(1, Direction::kForward, 100, filter));
  EXPECT_EQ(Positions(b.events), (std::vector<uint64_t>{2, 3, 8, 9}));

  filter.types = {"C", "A"};
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult ac, log().ReadAll(1, Direction::kForward, 100, filter));
  EXPECT_EQ(Positions(ac.events), (std::vector<uint64_t>{1, 4, 5, 6, 7, 10, 11}));
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult ac_back,
                           log().ReadAll(0, Direction::kBackward, 100, filter));
  EXPECT_EQ(Positions(ac_back.events), (std::vector<uint64_t>{11, 10, 7, 6, 5, 4, 1}));
}

TEST_F(ReadTest, ReadAllFiltersByPrefixAndTypesTogether) {
  LogFilter filter;
  filter.stream_prefix = "acct-1";
  filter.types = {"A", "C"};
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult r, log().ReadAll(1, Direction::kForward, 100, filter));
  EXPECT_EQ(Positions(r.events), (std::vector<uint64_t>{1, 5, 6, 11}));
}

TEST_F(ReadTest, FilteredPagesNeitherSkipNorRepeat) {
  std::vector<LogFilter> filters(4);
  filters[0].stream_prefix = "acct-1";
  filters[1].types = {"B"};
  filters[2].stream_prefix = "other-";
  filters[2].types = {"A", "B"};
  filters[3].stream_prefix = "nothing-";
  for (size_t i = 0; i < filters.size(); ++i) {
    std::vector<uint64_t> forward = Matching(filters[i]);
    std::vector<uint64_t> backward(forward.rbegin(), forward.rend());
    for (size_t page : {size_t{1}, size_t{2}, size_t{3}}) {
      SCOPED_TRACE(absl::StrCat("filter #", i, " page ", page));
      EXPECT_EQ(ReadPaged(Direction::kForward, page, filters[i]), forward);
      EXPECT_EQ(ReadPaged(Direction::kBackward, page, filters[i]), backward);
    }
  }
}

TEST_F(ReadTest, FilteredOutTailCountsAsExamined) {
  LogFilter filter;
  filter.stream_prefix = "other-1";  // Last match at 9; the log ends at 11.
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult r, log().ReadAll(1, Direction::kForward, 100, filter));
  EXPECT_EQ(Positions(r.events), (std::vector<uint64_t>{4, 9}));
  EXPECT_TRUE(r.end_of_log);
  EXPECT_EQ(r.next_position, kEvents + 1);

  filter.stream_prefix = "acct-10";  // Only position 11 matches.
  KAM_ASSERT_OK_AND_ASSIGN(ReadAllResult back, log().ReadAll(0, Direction::kBackward, 100, filter));
  EXPECT_EQ(Positions(back.events), (std::vector<uint64_t>{11}));
  EXPECT_TRUE(back.end_of_log);
  EXPECT_EQ(back.next_position, 0u);
}

TEST_F(ReadTest, GetStreamInfoOfUnknownStreamIsNotFound) {
  EXPECT_EQ(log().GetStreamInfo("acct-3").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(log().GetStreamInfo("acct-").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ReadTest, GetStreamInfoReportsVersionsPositionsCountsAndTimes) {
  KAM_ASSERT_OK_AND_ASSIGN(StreamInfo acct1, log().GetStreamInfo("acct-1"));
  EXPECT_EQ(acct1.last_version, 4u);
  EXPECT_EQ(acct1.last_position, 8u);
  EXPECT_EQ(acct1.event_count, 5u);
  EXPECT_EQ(acct1.first_recorded_at, RecordedAtOf(1));
  EXPECT_EQ(acct1.last_recorded_at, RecordedAtOf(8));

  KAM_ASSERT_OK_AND_ASSIGN(StreamInfo other2, log().GetStreamInfo("other-2"));
  EXPECT_EQ(other2.last_version, 0u);
  EXPECT_EQ(other2.last_position, 10u);
  EXPECT_EQ(other2.event_count, 1u);
  EXPECT_EQ(other2.first_recorded_at, RecordedAtOf(10));
  EXPECT_EQ(other2.last_recorded_at, RecordedAtOf(10));

  clock_.Set(RecordedAtOf(20));
  KAM_ASSERT_OK(log().Append("other-2", ExpectedVersion::Exact(0),
                             {MakeEvent("late-1"), MakeEvent("late-2")}));
  KAM_ASSERT_OK_AND_ASSIGN(other2, log().GetStreamInfo("other-2"));
  EXPECT_EQ(other2.last_version, 2u);
  EXPECT_EQ(other2.last_position, kEvents + 2);
  EXPECT_EQ(other2.event_count, 3u);
  EXPECT_EQ(other2.first_recorded_at, RecordedAtOf(10));
  EXPECT_EQ(other2.last_recorded_at, RecordedAtOf(20));
}

TEST_F(ReadTest, HeadIsLastPositionWithItsHashAndTime) {
  std::vector<RecordedEvent> all = ReadWholeLog(log());
  ASSERT_EQ(all.size(), kEvents);
  LogHead head = log().Head();
  EXPECT_EQ(head.position, kEvents);
  EXPECT_EQ(head.hash, all.back().hash);
  EXPECT_EQ(head.recorded_at, RecordedAtOf(kEvents));
}

}  // namespace
}  // namespace kam::eventstore
