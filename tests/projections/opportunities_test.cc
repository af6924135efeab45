// Worked examples of DOMAIN.md "Opportunities": each kind, its 90-day
// expiry, the stages that have them, and SUPPLIER_EVALUATION_DUE.

#include "gtest/gtest.h"
#include "projections/account_state.h"
#include "projections/rules.h"
#include "tests/projections/rules_test_support.h"

namespace kam::projections {
namespace {

using testing::Day;
using testing::HistoryBuilder;
namespace t = testing;

std::vector<kam::v1::Opportunity> OpportunitiesAt(HistoryBuilder& h, absl::Time as_of) {
  h.set_as_of(as_of);
  AccountHistory history = h.OccurredView();
  AccountState state = FoldAccountState(history);
  return OpportunitiesOf(state, StageOf(state.stage_inputs, DefaultRules()), history.catalog, as_of,
                         DefaultRules());
}

struct Expected {
  kam::v1::OpportunityKind kind;
  std::vector<std::string> event_ids;
};

void ExpectOpportunities(const std::vector<kam::v1::Opportunity>& actual,
                         const std::vector<Expected>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(actual[i].kind(), expected[i].kind) << i;
    EXPECT_EQ(std::vector<std::string>(actual[i].event_ids().begin(), actual[i].event_ids().end()),
              expected[i].event_ids)
        << i;
  }
}

TEST(OpportunitiesTest, EveryKindFromTheTrailing90Days) {
  HistoryBuilder h("acme", Day(0));
  h.Add(t::Opened("Acme Steel", "wang", kam::v1::ACCOUNT_KIND_PROSPECT), Day(0));
  h.Add(t::BoardDecisionMaker(), Day(1));
  h.Add(t::Contact("c2", "plant", kam::v1::CONTACT_ROLE_USER, kam::v1::CONTACT_LEVEL_OPERATIONAL),
        Day(1));
  std::string launch = h.Launch("p1", Day(100));
  std::string changed =
      h.Add(t::ContactRoleChanged("c2", kam::v1::CONTACT_ROLE_INFLUENCER), Day(101));
  std::string left = h.Add(t::ContactLeft("c1"), Day(102));
  std::string rival_people =
      h.Add(t::Competitor(kam::v1::COMPETITOR_ACTIVITY_PERSONNEL_CHANGE), Day(103));
  std::string quality =
      h.Add(t::Competitor(kam::v1::COMPETITOR_ACTIVITY_QUALITY_PROBLEM), Day(104));
  std::string service =
      h.Add(t::Competitor(kam::v1::COMPETITOR_ACTIVITY_SERVICE_COMPLAINT), Day(105));
  std::string weak = h.Add(t::Competitor(kam::v1::COMPETITOR_ACTIVITY_WEAK_RELATIONSHIP), Day(106));
  std::string worse =
      h.Add(t::Competitor(kam::v1::COMPETITOR_ACTIVITY_RELATIONSHIP_DETERIORATED), Day(107));
  h.Add(t::Competitor(kam::v1::COMPETITOR_ACTIVITY_PRICE_CUT), Day(108));  // A threat.
  std::string cost = h.Add(t::Signal(kam::v1::CUSTOMER_SIGNAL_COST_REDUCTION_PRESSURE), Day(109));
  std::string project = h.Add(t::Signal(kam::v1::CUSTOMER_SIGNAL_NEW_PROJECT), Day(110));
  std::string evaluation =
      h.Add(t::Signal(kam::v1::CUSTOMER_SIGNAL_SUPPLIER_EVALUATION_ANNOUNCED), Day(111));
  std::string tender = h.Add(t::Signal(kam::v1::CUSTOMER_SIGNAL_TENDER_ANNOUNCED), Day(112));

  ExpectOpportunities(OpportunitiesAt(h, Day(120)),
                      {{kam::v1::OPPORTUNITY_KIND_NEW_PRODUCT, {launch}},
                       {kam::v1::OPPORTUNITY_KIND_PERSONNEL_CHANGE, {changed, left, rival_people}},
                       {kam::v1::OPPORTUNITY_KIND_QUALITY_PROBLEM, {quality}},
                       {kam::v1::OPPORTUNITY_KIND_SERVICE_COMPLAINT, {service}},
                       {kam::v1::OPPORTUNITY_KIND_WEAK_RELATIONSHIP, {weak}},
                       {kam::v1::OPPORTUNITY_KIND_RELATIONSHIP_DETERIORATED, {worse}},
                       {kam::v1::OPPORTUNITY_KIND_COST_REDUCTION_PRESSURE, {cost}},
                       {kam::v1::OPPORTUNITY_KIND_NEW_PROJECT, {project}},
                       {kam::v1::OPPORTUNITY_KIND_SUPPLIER_EVALUATION, {evaluation, tender}}});
}

TEST(OpportunitiesTest, EachExpires90DaysAfterItsEvent) {
  HistoryBuilder h("acme", Day(0));
  h.Add(t::Opened("Acme Steel", "wang", kam::v1::ACCOUNT_KIND_PROSPECT), Day(0));
  std::string launch = h.Launch("p1", Day(100));
  std::string project = h.Add(t::Signal(kam::v1::CUSTOMER_SIGNAL_NEW_PROJECT), Day(110));
  ExpectOpportunities(OpportunitiesAt(h, Day(190) - absl::Nanoseconds(1)),
                      {{kam::v1::OPPORTUNITY_KIND_NEW_PRODUCT, {launch}},
                       {kam::v1::OPPORTUNITY_KIND_NEW_PROJECT, {project}}});
  // At Day(190) the launch fails T - 90 d < occurred_at.
  ExpectOpportunities(OpportunitiesAt(h, Day(190)),
                      {{kam::v1::OPPORTUNITY_KIND_NEW_PROJECT, {project}}});
  ExpectOpportunities(OpportunitiesAt(h, Day(200)), {});
}

TEST(OpportunitiesTest, InitialCooperationHasThemStableAndLostDoNot) {
  HistoryBuilder h("acme", Day(0));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("o1", 100), Day(1));
  std::string project = h.Add(t::Signal(kam::v1::CUSTOMER_SIGNAL_NEW_PROJECT), Day(10));
  ExpectOpportunities(OpportunitiesAt(h, Day(20)),
                      {{kam::v1::OPPORTUNITY_KIND_NEW_PROJECT, {project}}});
  h.Add(t::Share(50), Day(11));  // STABLE_COOPERATION.
  ExpectOpportunities(OpportunitiesAt(h, Day(20)), {});
  h.Add(t::Share(10), Day(12));
  h.Add(t::Lost(), Day(13));
  ExpectOpportunities(OpportunitiesAt(h, Day(20)), {});
}

TEST(OpportunitiesTest, SupplierEvaluationDue330DaysAfterTheLatestEvaluation) {
  HistoryBuilder h("acme", Day(0));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Order("o1", 100), Day(1));
  h.Add(t::Share(20, kam::v1::SHARE_SOURCE_SUPPLIER_EVALUATION), Day(5));
  std::string latest = h.Add(t::Share(30, kam::v1::SHARE_SOURCE_SUPPLIER_EVALUATION), Day(10));
  h.Add(t::Share(40, kam::v1::SHARE_SOURCE_ESTIMATE), Day(20));  // Not an evaluation.
  ExpectOpportunities(OpportunitiesAt(h, Day(340) - absl::Nanoseconds(1)), {});
  ExpectOpportunities(OpportunitiesAt(h, Day(340)),
                      {{kam::v1::OPPORTUNITY_KIND_SUPPLIER_EVALUATION_DUE, {latest}}});
  // No window: still due long after.
  ExpectOpportunities(OpportunitiesAt(h, Day(900)),
                      {{kam::v1::OPPORTUNITY_KIND_SUPPLIER_EVALUATION_DUE, {latest}}});
}

TEST(OpportunitiesTest, NeverEvaluatedOrInDevelopmentIsNotDue) {
  HistoryBuilder h("acme", Day(0));
  h.Add(t::Opened(), Day(0));
  h.Add(t::Share(20, kam::v1::SHARE_SOURCE_ESTIMATE), Day(5));
  h.Add(t::Order("o1", 100), Day(6));
  ExpectOpportunities(OpportunitiesAt(h, Day(900)), {});  // Never evaluated.

  HistoryBuilder prospect("beta", Day(0));
  prospect.Add(t::Opened("Acme Steel", "wang", kam::v1::ACCOUNT_KIND_PROSPECT), Day(0));
  prospect.Add(t::Share(20, kam::v1::SHARE_SOURCE_SUPPLIER_EVALUATION), Day(5));
  ExpectOpportunities(OpportunitiesAt(prospect, Day(900)), {});  // INITIAL only.
}

}  // namespace
}  // namespace kam::projections
