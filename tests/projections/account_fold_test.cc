// AccountFold: folding a growing history one fact at a time gives the state
// and stage history of folding it whole, backdated facts included.

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "projections/account_state.h"
#include "projections/account_view.h"
#include "projections/history.h"
#include "projections/projection_store.h"
#include "projections/rules.h"
#include "tests/projections/rules_test_support.h"
#include "tools/generator/portfolio_generator.h"

namespace kam::projections {
namespace {

using testing::Day;
namespace t = testing;

// The view built from the fold equals the one built from the history whole.
void ExpectSameView(const AccountHistory& history, const AccountFold& fold, const Rules& rules,
                    const std::string& where) {
  absl::StatusOr<kam::v1::AccountView> whole =
      BuildAccountView(history, kam::v1::ABC_CLASS_B, rules);
  absl::StatusOr<kam::v1::AccountView> folded =
      BuildAccountView(history, fold.state(), fold.stage_history(), kam::v1::ABC_CLASS_B, rules);
  ASSERT_EQ(whole.status(), folded.status()) << where;
  if (!whole.ok()) return;
  EXPECT_EQ(whole->SerializeAsString(), folded->SerializeAsString())
      << where << "\nwhole:  " << whole->ShortDebugString()
      << "\nfolded: " << folded->ShortDebugString();
}

TEST(AccountFoldTest, ABackdatedFactFoldsAsIfTheHistoryWereFoldedWhole) {
  const Rules rules = DefaultRules();
  t::HistoryBuilder h("acme", Day(400), TimeAxis::kRecorded);
  h.Add(t::Opened(), Day(0));
  h.Add(t::PurchasingManager(), Day(1));
  AccountFold fold(&rules);
  fold.Reset(h.history());
  ExpectSameView(h.history(), fold, rules, "after the reset");

  h.Add(t::Order("o1", 1000), Day(50));
  fold.Extend(h.history());
  ExpectSameView(h.history(), fold, rules, "an order in business order");
  // Occurred before the order, recorded after it: the latest share is the
  // later one in business order, whatever the recording order.
  h.Add(t::Share(85), Day(90));
  fold.Extend(h.history());
  h.Add(t::Share(20), Day(30), Day(91));
  fold.Extend(h.history());
  ExpectSameView(h.history(), fold, rules, "a backdated share");
  ASSERT_TRUE(fold.state().stage_inputs.latest_share.has_value());
  EXPECT_EQ(fold.state().stage_inputs.latest_share->share_percent, 85);
  h.Add(t::Order("o2", 3000), Day(140));
  fold.Extend(h.history());
  ExpectSameView(h.history(), fold, rules, "an order after the backdated share");
  EXPECT_EQ(fold.stage_history().size(), StageHistoryOf(h.history(), rules).size());
}

// Every account of a generated portfolio (late-recorded events, corrections
// and retractions) replayed event by event on the RECORDED axis, as
// Audit.ReplayAccount does.
TEST(AccountFoldTest, ReplayingGeneratedAccountsEventByEventMatchesWholeFolds) {
  tools::GeneratorOptions options;
  options.seed = 7;
  options.accounts = 12;
  options.events = 3000;
  std::map<std::string, std::vector<StoredEvent>> streams;
  uint64_t position = 0;
  absl::Time recorded = options.start;
  ASSERT_TRUE(tools::GeneratePortfolio(options, [&](const tools::GeneratedEvent& g) {
                eventstore::RecordedEvent recorded_event;
                recorded_event.event_id = g.data.event_id;
                recorded_event.stream = g.stream;
                recorded_event.type = g.data.type;
                recorded_event.data = g.data.data;
                recorded_event.occurred_at = g.data.occurred_at;
                recorded_event.position = ++position;
                recorded = std::max(recorded + absl::Seconds(1), g.data.occurred_at);
                recorded_event.recorded_at = recorded;
                std::vector<StoredEvent>& stream = streams[g.stream];
                recorded_event.version = stream.size();
                absl::StatusOr<StoredEvent> stored = DecodeStoredEvent(recorded_event);
                if (!stored.ok()) return stored.status();
                stream.push_back(*std::move(stored));
                return absl::OkStatus();
              }).ok());

  const Rules rules = DefaultRules();
  int extended = 0, backdated = 0, reset = 0;
  for (const auto& [stream, events] : streams) {
    if (stream == kCatalogStream) continue;
    const std::string account = stream.substr(sizeof(kAccountStreamPrefix) - 1);
    AccountFold fold(&rules);
    AccountHistory before;
    for (size_t n = 1; n <= events.size(); ++n) {
      const absl::Time as_of = events[n - 1].recorded_at;
      AccountHistory history = SelectHistory(account, absl::MakeConstSpan(events.data(), n), {},
                                             as_of, TimeAxis::kRecorded);
      // One fact more at the end, the others unchanged: extend; else reset.
      bool grew = history.facts.size() == before.facts.size() + 1;
      for (size_t i = 0; grew && i < before.facts.size(); ++i) {
        grew =
            before.facts[i].event_id == history.facts[i].event_id &&
            before.facts[i].occurred_at == history.facts[i].occurred_at &&
            before.facts[i].event.SerializeAsString() == history.facts[i].event.SerializeAsString();
      }
      if (grew && n > 1) {
        for (const Fact& fact : before.facts)
          backdated += BusinessOrder(history.facts.back(), fact);
        fold.Extend(history);
        ++extended;
      } else {
        fold.Reset(history);
        ++reset;
      }
      ASSERT_NO_FATAL_FAILURE(
          ExpectSameView(history, fold, rules, absl::StrCat(stream, " after version ", n - 1)));
      before = std::move(history);
    }
  }
  // For this test to mean anything.
  EXPECT_GT(extended, 2000);
  EXPECT_GT(backdated, 0) << "no late-recorded event took the refold path";
  EXPECT_GT(reset, static_cast<int>(streams.size())) << "no correction or retraction";
}

}  // namespace
}  // namespace kam::projections
