// Which facts a view sees on each axis, and how corrections apply
// (DOMAIN.md "Corrections" and "Which events a view at time T sees").

#include "projections/history.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kam::projections {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01.

absl::Time Day(int n) { return kT0 + absl::Hours(24 * n); }

class Stream {
 public:
  // Appends an event occurring on day `occurred` and recorded on `recorded`.
  const StoredEvent& Add(kam::v1::AccountEvent event, int occurred, int recorded) {
    StoredEvent e;
    e.event_id = "e" + std::to_string(events_.size());
    e.version = events_.size();
    e.position = 100 + events_.size();
    e.occurred_at = Day(occurred);
    e.recorded_at = Day(recorded);
    event.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(e.occurred_at));
    e.event = std::move(event);
    events_.push_back(std::move(e));
    return events_.back();
  }
  std::string Order(int64_t amount, int occurred, int recorded) {
    kam::v1::AccountEvent e;
    e.mutable_order_placed()->set_order_id("o" + std::to_string(events_.size()));
    e.mutable_order_placed()->mutable_amount()->set_minor_units(amount);
    return Add(e, occurred, recorded).event_id;
  }
  std::string Correct(const std::string& target, int64_t amount, int new_occurred, int recorded) {
    kam::v1::AccountEvent e;
    e.mutable_event_corrected()->set_corrected_event_id(target);
    kam::v1::AccountEvent* replacement = e.mutable_event_corrected()->mutable_replacement();
    replacement->mutable_order_placed()->set_order_id("fixed");
    replacement->mutable_order_placed()->mutable_amount()->set_minor_units(amount);
    replacement->mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(Day(new_occurred)));
    return Add(e, recorded, recorded).event_id;
  }
  std::string Retract(const std::string& target, int recorded) {
    kam::v1::AccountEvent e;
    e.mutable_event_retracted()->set_retracted_event_id(target);
    return Add(e, recorded, recorded).event_id;
  }
  const std::vector<StoredEvent>& events() const { return events_; }

 private:
  std::vector<StoredEvent> events_;
};

std::vector<int64_t> Amounts(const AccountHistory& history) {
  std::vector<int64_t> amounts;
  for (const Fact& f : history.facts)
    amounts.push_back(f.event.order_placed().amount().minor_units());
  return amounts;
}

TEST(HistoryTest, OccurredAxisSeesWhatOccurredByTIncludingLateRecordedEvents) {
  Stream s;
  s.Order(1, 1, 1);
  s.Order(2, 5, 20);  // Late: occurred day 5, recorded day 20.
  s.Order(3, 12, 12);
  AccountHistory h = SelectHistory("a", s.events(), {}, Day(10), TimeAxis::kOccurred);
  EXPECT_EQ(Amounts(h), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(h.position, 102u);  // Every event known now.
}

TEST(HistoryTest, RecordedAxisSeesWhatWasRecordedByTInLogOrder) {
  Stream s;  // recorded_at never decreases along the log.
  s.Order(1, 1, 1);
  s.Order(2, 5, 20);
  s.Order(3, 2, 25);
  AccountHistory h = SelectHistory("a", s.events(), {}, Day(10), TimeAxis::kRecorded);
  EXPECT_EQ(Amounts(h), (std::vector<int64_t>{1}));
  EXPECT_EQ(h.version, 0u);
  h = SelectHistory("a", s.events(), {}, Day(22), TimeAxis::kRecorded);
  EXPECT_EQ(Amounts(h), (std::vector<int64_t>{1, 2}));
  h = SelectHistory("a", s.events(), {}, Day(30), TimeAxis::kRecorded);
  EXPECT_EQ(Amounts(h), (std::vector<int64_t>{1, 2, 3}));  // Log order, not business order.
}

TEST(HistoryTest, OccurredAxisPutsFactsInBusinessOrder) {
  Stream s;
  s.Order(1, 9, 9);
  s.Order(2, 3, 10);
  AccountHistory h = SelectHistory("a", s.events(), {}, Day(30), TimeAxis::kOccurred);
  EXPECT_EQ(Amounts(h), (std::vector<int64_t>{2, 1}));
}

TEST(HistoryTest, CorrectionReplacesContentAndMayMoveOccurredAt) {
  Stream s;
  std::string order = s.Order(100, 10, 10);
  std::string fix = s.Correct(order, 150, 2, 20);
  AccountHistory h = SelectHistory("a", s.events(), {}, Day(5), TimeAxis::kOccurred);
  ASSERT_EQ(h.facts.size(), 1u);
  EXPECT_EQ(h.facts[0].event.order_placed().amount().minor_units(), 150);
  EXPECT_EQ(h.facts[0].occurred_at, Day(2));
  EXPECT_EQ(h.facts[0].event_id, order);
  EXPECT_EQ(h.facts[0].corrected_by, (std::vector<std::string>{fix}));
}

TEST(HistoryTest, RecordedAxisAppliesOnlyCorrectionsRecordedByT) {
  Stream s;
  std::string order = s.Order(100, 10, 10);
  s.Correct(order, 150, 10, 20);
  EXPECT_EQ(Amounts(SelectHistory("a", s.events(), {}, Day(15), TimeAxis::kRecorded)),
            (std::vector<int64_t>{100}));
  EXPECT_EQ(Amounts(SelectHistory("a", s.events(), {}, Day(25), TimeAxis::kRecorded)),
            (std::vector<int64_t>{150}));
  // On the OCCURRED axis the correction applies at every T: the mistake was never true.
  EXPECT_EQ(Amounts(SelectHistory("a", s.events(), {}, Day(15), TimeAxis::kOccurred)),
            (std::vector<int64_t>{150}));
}

TEST(HistoryTest, LastCorrectionInLogOrderWins) {
  Stream s;
  std::string order = s.Order(100, 10, 10);
  s.Correct(order, 150, 10, 20);
  s.Correct(order, 175, 10, 21);
  EXPECT_EQ(Amounts(SelectHistory("a", s.events(), {}, Day(30), TimeAxis::kOccurred)),
            (std::vector<int64_t>{175}));
}

TEST(HistoryTest, RetractingACorrectionRestoresThePreviousReading) {
  Stream s;
  std::string order = s.Order(100, 10, 10);
  s.Correct(order, 150, 10, 20);
  std::string second = s.Correct(order, 175, 10, 21);
  s.Retract(second, 22);
  EXPECT_EQ(Amounts(SelectHistory("a", s.events(), {}, Day(30), TimeAxis::kOccurred)),
            (std::vector<int64_t>{150}));
  // Before the retraction was recorded, the second correction stood.
  EXPECT_EQ(Amounts(SelectHistory("a", s.events(), {}, Day(21), TimeAxis::kRecorded)),
            (std::vector<int64_t>{175}));
}

TEST(HistoryTest, RetractedEventIsNotSeenOnceTheRetractionIsKnown) {
  Stream s;
  std::string order = s.Order(100, 10, 10);
  s.Order(7, 11, 11);
  s.Retract(order, 20);
  EXPECT_EQ(Amounts(SelectHistory("a", s.events(), {}, Day(15), TimeAxis::kOccurred)),
            (std::vector<int64_t>{7}));
  EXPECT_EQ(Amounts(SelectHistory("a", s.events(), {}, Day(15), TimeAxis::kRecorded)),
            (std::vector<int64_t>{100, 7}));
}

TEST(HistoryTest, MovingSelectGivesTheSameFactsAsCopyingSelect) {
  Stream s;
  std::string order = s.Order(100, 10, 10);
  s.Order(5, 3, 12);
  s.Correct(order, 120, 4, 13);
  AccountHistory copied = SelectHistory("a", s.events(), {}, Day(30), TimeAxis::kOccurred);
  std::vector<StoredEvent> events = s.events();
  AccountHistory moved = SelectHistory("a", std::move(events), {}, Day(30), TimeAxis::kOccurred);
  ASSERT_EQ(copied.facts.size(), moved.facts.size());
  for (size_t i = 0; i < copied.facts.size(); ++i) {
    EXPECT_EQ(copied.facts[i].event.SerializeAsString(), moved.facts[i].event.SerializeAsString());
    EXPECT_EQ(copied.facts[i].occurred_at, moved.facts[i].occurred_at);
  }
  EXPECT_EQ(copied.position, moved.position);
}

TEST(HistoryTest, EventWhoseDataDoesNotMatchItsTypeIsRejected) {
  kam::v1::AccountEvent e;
  e.mutable_order_placed()->set_order_id("o");
  eventstore::RecordedEvent recorded;
  recorded.type = "kam.v1.VisitRecorded";
  recorded.data = e.SerializeAsString();
  EXPECT_FALSE(DecodeStoredEvent(recorded).ok());
  recorded.type = "kam.v1.OrderPlaced";
  EXPECT_TRUE(DecodeStoredEvent(recorded).ok());
  recorded.data = "\xff\xff not a protobuf";
  EXPECT_FALSE(DecodeStoredEvent(recorded).ok());
}

}  // namespace
}  // namespace kam::projections
