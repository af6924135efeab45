// Input limits: every violation is InvalidArgument naming the field, and
// writes nothing.

#include "eventstore/limits.h"

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

using ::kam::eventstore::testing::LogTest;
using ::kam::eventstore::testing::MakeEvent;

class LimitsTest : public LogTest {
 protected:
  // Expects the append to be rejected as InvalidArgument with a message
  // containing `field`, and the log to stay empty.
  void ExpectRejected(const std::string& stream, const std::vector<EventData>& events,
                      const std::string& field) {
    absl::StatusOr<AppendResult> r = log().Append(stream, ExpectedVersion::Any(), events);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), field))
        << "message should name '" << field << "': " << r.status();
    EXPECT_EQ(log().Head().position, 0u);
  }
};

TEST_F(LimitsTest, EmptyStreamNameIsRejected) { ExpectRejected("", {MakeEvent("a")}, "stream"); }

TEST_F(LimitsTest, StreamNameOf257BytesIsRejectedAnd256Accepted) {
  ExpectRejected(std::string(257, 's'), {MakeEvent("a")}, "stream");
  KAM_EXPECT_OK(log().Append(std::string(256, 's'), ExpectedVersion::Any(), {MakeEvent("a")}));
}

TEST_F(LimitsTest, StreamNameWithInvalidUtf8IsRejected) {
  ExpectRejected("acct-\xff", {MakeEvent("a")}, "stream");
  ExpectRejected("acct-\xc3", {MakeEvent("a")}, "stream");          // Truncated.
  ExpectRejected("acct-\xc0\xaf", {MakeEvent("a")}, "stream");      // Overlong '/'.
  ExpectRejected("acct-\xed\xa0\x80", {MakeEvent("a")}, "stream");  // Surrogate.
}

TEST_F(LimitsTest, StreamNameWithControlCharacterIsRejected) {
  ExpectRejected("acct\n1", {MakeEvent("a")}, "stream");
  ExpectRejected("acct\t1", {MakeEvent("a")}, "stream");
  ExpectRejected(std::string("acct\0"
                             "1",
                             6),
                 {MakeEvent("a")}, "stream");
  ExpectRejected("acct\x7f", {MakeEvent("a")}, "stream");
}

TEST_F(LimitsTest, StreamNameInOtherScriptsIsAccepted) {
  const std::string stream = "konto-\xc3\xb8-\xe6\x97\xa5-\xf0\x9f\x98\x80";  // ø, 日, 😀
  KAM_ASSERT_OK(log().Append(stream, ExpectedVersion::Any(), {MakeEvent("a")}));
  KAM_ASSERT_OK_AND_ASSIGN(std::vector<RecordedEvent> events,
                           log().ReadStream(stream, 0, Direction::kForward, 10));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].stream, stream);
}

TEST_F(LimitsTest, EventOverOneMebibyteIsRejected) {
  EventData big = MakeEvent("big", "t", std::string((1 << 20) + 1, 'x'));
  ExpectRejected("acct", {MakeEvent("small"), big}, "events[1]");
}

// limits.h: max_event_bytes counts "type + data + metadata keys and values".
TEST_F(LimitsTest, EventOfExactlyOneMebibyteIsAccepted) {
  EventData e = MakeEvent("exact", "t");
  e.metadata = {{"k", "v"}};
  e.data = std::string((1 << 20) - 3, 'x');  // 1 + 2 + data == 1 MiB.
  KAM_ASSERT_OK(log().Append("acct", ExpectedVersion::Any(), {e}));
  KAM_ASSERT_OK_AND_ASSIGN(std::vector<RecordedEvent> events,
                           log().ReadStream("acct", 0, Direction::kForward, 1));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data.size(), e.data.size());
}

TEST_F(LimitsTest, MoreThanTenThousandEventsIsRejected) {
  std::vector<EventData> events;
  for (int i = 0; i < 10001; ++i) events.push_back(MakeEvent(absl::StrCat("e", i), "t", ""));
  ExpectRejected("acct", events, "events");
}

TEST_F(LimitsTest, TenThousandEventsInOneAppendAreAccepted) {
  std::vector<EventData> events;
  for (int i = 0; i < 10000; ++i) events.push_back(MakeEvent(absl::StrCat("e", i), "t", ""));
  KAM_ASSERT_OK_AND_ASSIGN(AppendResult r,
                           log().Append("acct", ExpectedVersion::NoStream(), events));
  EXPECT_EQ(r.first_version, 0u);
  EXPECT_EQ(r.last_version, 9999u);
  EXPECT_EQ(r.first_position, 1u);
  EXPECT_EQ(r.last_position, 10000u);
  EXPECT_EQ(log().Head().position, 10000u);
}

TEST_F(LimitsTest, EmptyTypeIsRejected) { ExpectRejected("acct", {MakeEvent("a", "")}, "type"); }

TEST_F(LimitsTest, TypeOver256BytesIsRejected) {
  ExpectRejected("acct", {MakeEvent("a", std::string(257, 't'))}, "type");
}

TEST_F(LimitsTest, EventIdOver128BytesIsRejected) {
  ExpectRejected("acct", {MakeEvent(std::string(129, 'i'))}, "event_id");
}

TEST_F(LimitsTest, EmptyAppendIsRejected) { ExpectRejected("acct", {}, "events"); }

class CustomLimitsTest : public LogTest {
 protected:
  RocksDbLogOptions Options() const override {
    RocksDbLogOptions options = LogTest::Options();
    options.limits.max_events_per_append = 3;
    options.limits.max_stream_name_bytes = 8;
    return options;
  }
};

TEST_F(CustomLimitsTest, LimitsFromOptionsAreEnforced) {
  absl::StatusOr<AppendResult> r =
      log().Append("acct", ExpectedVersion::Any(),
                   {MakeEvent("a"), MakeEvent("b"), MakeEvent("c"), MakeEvent("d")});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  r = log().Append("acct-1234", ExpectedVersion::Any(), {MakeEvent("a")});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_EQ(log().Head().position, 0u);
  KAM_EXPECT_OK(log().Append("acct-123", ExpectedVersion::Any(),
                             {MakeEvent("a"), MakeEvent("b"), MakeEvent("c")}));
}

}  // namespace
}  // namespace kam::eventstore
