// kam.v1.Views end to end over loopback: one account now and as of a time on
// both axes, read-your-writes with min_position, the filtered, ordered and
// paged account list, and the portfolio. Events are appended to the log
// directly, as the Accounts service would record them, under a settable
// clock so that recorded_at is known.

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "kam/v1/views.grpc.pb.h"
#include "projections/projection_store.h"
#include "services/conversions.h"
#include "tests/services/test_server.h"
#include "tests/support/account_events.h"

namespace kam::services {
namespace {

using test_support::DataOf;
using test_support::Lost;
using test_support::Opened;
using test_support::Order;
using test_support::Share;

class ViewsServiceTest : public testing::ClockedServerTest {
 protected:
  explicit ViewsServiceTest(ServerOptions options = ServerOptions())
      : ClockedServerTest(std::move(options)), views_(server_.Views()) {}

  // Appends `event` to the account's stream as if now were `recorded_at`,
  // without waiting for the views; returns its log position.
  uint64_t Append(const std::string& account, kam::v1::AccountEvent event, absl::Time occurred_at,
                  absl::Time recorded_at) {
    eventstore::EventData data = DataOf(std::move(event), occurred_at);
    data.event_id = "ev-" + std::to_string(++next_id_);
    return AppendAt(account, {data}, recorded_at);
  }

  // Appends and waits until the views include the event.
  uint64_t Record(const std::string& account, kam::v1::AccountEvent event, absl::Time occurred_at,
                  absl::Time recorded_at) {
    uint64_t position = Append(account, std::move(event), occurred_at, recorded_at);
    AwaitViews(position);
    return position;
  }
  uint64_t Record(const std::string& account, kam::v1::AccountEvent event, absl::Time at) {
    return Record(account, std::move(event), at, at);
  }

  grpc::Status GetAccount(const kam::v1::GetAccountRequest& request, kam::v1::AccountView* view,
                          absl::Duration timeout = absl::Seconds(30)) {
    return views_->GetAccount(testing::Context("", timeout).get(), request, view);
  }

  kam::v1::AccountView ViewOf(const std::string& account, absl::Time as_of,
                              kam::v1::TimeAxis axis) {
    kam::v1::GetAccountRequest request;
    request.set_account_id(account);
    *request.mutable_as_of() = ToProto(as_of);
    request.set_time_axis(axis);
    kam::v1::AccountView view;
    grpc::Status status = GetAccount(request, &view);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return view;
  }

  grpc::Status List(const kam::v1::ListAccountsRequest& request,
                    kam::v1::ListAccountsResponse* response) {
    return views_->ListAccounts(testing::Context().get(), request, response);
  }

  // Every page of `request`'s list, in order: the account ids.
  std::vector<std::string> ListAll(kam::v1::ListAccountsRequest request, int* pages = nullptr) {
    std::vector<std::string> ids;
    int count = 0;
    do {
      kam::v1::ListAccountsResponse response;
      grpc::Status status = List(request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const auto& a : response.accounts()) ids.push_back(a.account_id());
      request.set_page_token(response.next_page_token());
      ++count;
    } while (!request.page_token().empty() && count < 1000);
    if (pages != nullptr) *pages = count;
    return ids;
  }

  // Four accounts at day 30: acme (li, INITIAL, 1,000,000), beta (wang,
  // DEVELOPMENT), gamma (li, STABLE, 300), delta (wang, LOST, 200).
  void RecordFourAccounts() {
    // In recording order: recorded_at never decreases along the log.
    Record("acme", Opened("Acme", "li"), Day(0));
    Record("beta", Opened("Beta", "wang"), Day(1));
    Record("gamma", Opened("Gamma", "li"), Day(2));
    Record("delta", Opened("Delta", "wang"), Day(3));
    Record("acme", Order("o-1", 1000000), Day(10));
    Record("gamma", Order("o-1", 300), Day(11));
    Record("gamma", Share(60), Day(12));
    Record("delta", Order("o-1", 200), Day(13));
    Record("delta", Lost(), Day(14));
    clock_.Set(Day(30));
  }

  int next_id_ = 0;
  std::unique_ptr<kam::v1::Views::Stub> views_;
};

// ---------------------------------------------------------------------------
// GetAccount

TEST_F(ViewsServiceTest, GetAccountNowShowsEveryRecordedEvent) {
  Record("acme", Opened("Acme", "li"), Day(0));
  const uint64_t order = Record("acme", Order("o-1", 5000), Day(1));
  clock_.Set(Day(2));

  kam::v1::GetAccountRequest request;
  request.set_account_id("acme");
  kam::v1::AccountView view;
  ASSERT_TRUE(GetAccount(request, &view).ok());
  EXPECT_EQ(view.account_id(), "acme");
  EXPECT_EQ(view.profile().name(), "Acme");
  EXPECT_EQ(view.account_manager(), "li");
  EXPECT_EQ(view.stage(), kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);
  EXPECT_EQ(view.revenue().trailing_365_days().minor_units(), 5000);
  EXPECT_EQ(view.version(), 1u);
  EXPECT_EQ(view.position(), order);
  EXPECT_EQ(view.time_axis(), kam::v1::TIME_AXIS_OCCURRED);
  EXPECT_EQ(FromProto(view.as_of()), Day(2));
}

TEST_F(ViewsServiceTest, GetAccountAsOfOnBothAxes) {
  Record("acme", Opened("Acme", "li"), Day(0));
  // Placed on day 10, recorded only on day 20.
  Record("acme", Order("o-1", 5000), Day(10), Day(20));
  clock_.Set(Day(40));

  EXPECT_EQ(ViewOf("acme", Day(5), kam::v1::TIME_AXIS_OCCURRED).stage(),
            kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT);
  EXPECT_EQ(ViewOf("acme", Day(15), kam::v1::TIME_AXIS_OCCURRED).stage(),
            kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);
  // What the engine knew on day 15: not the order yet.
  kam::v1::AccountView known = ViewOf("acme", Day(15), kam::v1::TIME_AXIS_RECORDED);
  EXPECT_EQ(known.stage(), kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT);
  EXPECT_EQ(known.version(), 0u);
  EXPECT_EQ(known.time_axis(), kam::v1::TIME_AXIS_RECORDED);
  EXPECT_EQ(FromProto(known.as_of()), Day(15));
  EXPECT_EQ(ViewOf("acme", Day(25), kam::v1::TIME_AXIS_RECORDED).stage(),
            kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);

  // Before the AccountOpened the account does not exist, on either axis.
  for (auto axis : {kam::v1::TIME_AXIS_OCCURRED, kam::v1::TIME_AXIS_RECORDED}) {
    kam::v1::GetAccountRequest request;
    request.set_account_id("acme");
    *request.mutable_as_of() = ToProto(Day(-1));
    request.set_time_axis(axis);
    kam::v1::AccountView view;
    EXPECT_EQ(GetAccount(request, &view).error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(ViewsServiceTest, MinPositionReadsYourOwnWrites) {
  Record("acme", Opened("Acme", "li"), Day(0));
  for (int i = 0; i < 5; ++i) {
    // No wait for the projector: min_position does it.
    const uint64_t position =
        Append("acme", Order("o-" + std::to_string(i), 100), Day(1 + i), Day(1 + i));
    kam::v1::GetAccountRequest request;
    request.set_account_id("acme");
    request.set_min_position(position);
    kam::v1::AccountView view;
    grpc::Status status = GetAccount(request, &view);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_GE(view.position(), position);
    EXPECT_EQ(view.revenue().trailing_365_days().minor_units(), 100 * (i + 1));
  }
}

TEST_F(ViewsServiceTest, MinPositionReadsYourOwnWritesInListsAndPortfolio) {
  Record("acme", Opened("Acme", "li"), Day(0));
  const uint64_t position = Append("beta", Opened("Beta", "li"), Day(1), Day(1));
  kam::v1::ListAccountsRequest list;
  list.set_min_position(position);
  kam::v1::ListAccountsResponse response;
  ASSERT_TRUE(List(list, &response).ok());
  ASSERT_EQ(response.accounts_size(), 2);
  EXPECT_EQ(response.accounts(1).account_id(), "beta");
  EXPECT_GE(response.position(), position);

  const uint64_t next = Append("gamma", Opened("Gamma", "li"), Day(2), Day(2));
  kam::v1::GetPortfolioRequest request;
  request.set_min_position(next);
  kam::v1::Portfolio portfolio;
  ASSERT_TRUE(views_->GetPortfolio(testing::Context().get(), request, &portfolio).ok());
  EXPECT_EQ(portfolio.account_count(), 3u);
  EXPECT_GE(portfolio.position(), next);
}

TEST_F(ViewsServiceTest, MinPositionBeyondTheHeadIsDeadlineExceeded) {
  const uint64_t head = Record("acme", Opened("Acme", "li"), Day(0));
  kam::v1::GetAccountRequest request;
  request.set_account_id("acme");
  request.set_min_position(head + 100);
  kam::v1::AccountView view;
  const absl::Time start = absl::Now();
  grpc::Status status = GetAccount(request, &view, absl::Milliseconds(300));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

class ShortMaxDeadlineTest : public ViewsServiceTest {
 protected:
  static ServerOptions Options() {
    ServerOptions options;
    options.max_deadline = absl::Milliseconds(200);
    return options;
  }
  ShortMaxDeadlineTest() : ViewsServiceTest(Options()) {}
};

TEST_F(ShortMaxDeadlineTest, WaitIsClampedAndNamesThePositionReached) {
  const uint64_t head = Record("acme", Opened("Acme", "li"), Day(0));
  kam::v1::GetAccountRequest request;
  request.set_account_id("acme");
  request.set_min_position(head + 1);
  kam::v1::AccountView view;
  // The client would wait 30 s; the server gives up after its maximum.
  grpc::Status status = GetAccount(request, &view, absl::Seconds(30));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_NE(status.error_message().find("views are at position " + std::to_string(head)),
            std::string::npos)
      << status.error_message();
}

TEST_F(ViewsServiceTest, UnknownAccountIsNotFound) {
  Record("acme", Opened("Acme", "li"), Day(0));
  kam::v1::GetAccountRequest request;
  request.set_account_id("nobody");
  kam::v1::AccountView view;
  grpc::Status status = GetAccount(request, &view);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(status.error_message().find("nobody"), std::string::npos);
}

TEST_F(ViewsServiceTest, BadRequestsAreInvalidArgumentNamingTheField) {
  Record("acme", Opened("Acme", "li"), Day(0));
  kam::v1::AccountView view;
  struct Case {
    std::string field;
    kam::v1::GetAccountRequest request;
  };
  std::vector<Case> cases(3);
  cases[0].field = "account_id";
  cases[1].field = "as_of";
  cases[1].request.set_account_id("acme");
  cases[1].request.mutable_as_of()->set_nanos(-1);
  cases[2].field = "time_axis";
  cases[2].request.set_account_id("acme");
  cases[2].request.set_time_axis(static_cast<kam::v1::TimeAxis>(9));
  for (const Case& c : cases) {
    grpc::Status status = GetAccount(c.request, &view);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(status.error_message().rfind(c.field, 0), 0u) << status.error_message();
  }
  kam::v1::ListAccountsRequest list;
  list.mutable_as_of()->set_seconds(253402300800);  // Year 10000.
  kam::v1::ListAccountsResponse response;
  EXPECT_EQ(List(list, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  kam::v1::GetPortfolioRequest portfolio_request;
  portfolio_request.mutable_as_of()->set_nanos(1000000000);
  kam::v1::Portfolio portfolio;
  EXPECT_EQ(
      views_->GetPortfolio(testing::Context().get(), portfolio_request, &portfolio).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
}

// ---------------------------------------------------------------------------
// ListAccounts

TEST_F(ViewsServiceTest, ListAccountsFilters) {
  RecordFourAccounts();
  auto ids_where = [&](const kam::v1::AccountFilter& filter) {
    kam::v1::ListAccountsRequest request;
    *request.mutable_filter() = filter;
    return ListAll(request);
  };
  using Ids = std::vector<std::string>;
  kam::v1::AccountFilter all;
  EXPECT_EQ(ids_where(all), (Ids{"acme", "beta", "delta", "gamma"}));

  kam::v1::AccountFilter development;
  development.set_stage(kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT);
  EXPECT_EQ(ids_where(development), (Ids{"beta"}));

  kam::v1::AccountFilter by_li;
  by_li.set_account_manager("li");
  EXPECT_EQ(ids_where(by_li), (Ids{"acme", "gamma"}));

  kam::v1::AccountFilter class_a;
  class_a.set_abc_class(kam::v1::ABC_CLASS_A);
  EXPECT_EQ(ids_where(class_a), (Ids{"acme"}));

  kam::v1::AccountFilter no_segment;
  no_segment.set_value_segment(kam::v1::VALUE_SEGMENT_NONE);
  EXPECT_EQ(ids_where(no_segment), (Ids{"beta", "delta"}));

  kam::v1::AccountFilter not_applicable;
  not_applicable.set_risk_level(kam::v1::RISK_LEVEL_NOT_APPLICABLE);
  EXPECT_EQ(ids_where(not_applicable), (Ids{"beta", "delta"}));

  kam::v1::AccountFilter lost_by_wang;
  lost_by_wang.set_stage(kam::v1::RELATIONSHIP_STAGE_LOST);
  lost_by_wang.set_account_manager("wang");
  EXPECT_EQ(ids_where(lost_by_wang), (Ids{"delta"}));

  kam::v1::AccountFilter bad;
  bad.set_abc_class(static_cast<kam::v1::AbcClass>(42));
  kam::v1::ListAccountsRequest request;
  *request.mutable_filter() = bad;
  kam::v1::ListAccountsResponse response;
  grpc::Status status = List(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("filter.abc_class", 0), 0u);
}

TEST_F(ViewsServiceTest, ListAccountsSummariesAndResponseFields) {
  RecordFourAccounts();
  kam::v1::ListAccountsRequest request;
  request.mutable_filter()->set_stage(kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION);
  kam::v1::ListAccountsResponse response;
  ASSERT_TRUE(List(request, &response).ok());
  ASSERT_EQ(response.accounts_size(), 1);
  const kam::v1::AccountSummary& gamma = response.accounts(0);
  EXPECT_EQ(gamma.account_id(), "gamma");
  EXPECT_EQ(gamma.name(), "Gamma");
  EXPECT_EQ(gamma.account_manager(), "li");
  EXPECT_EQ(gamma.trailing_365_day_revenue().minor_units(), 300);
  EXPECT_EQ(gamma.abc_class(), kam::v1::ABC_CLASS_C);
  EXPECT_EQ(gamma.version(), 2u);
  EXPECT_TRUE(response.next_page_token().empty());
  EXPECT_EQ(response.position(), server_.engine().log().Head().position);
  EXPECT_EQ(FromProto(response.as_of()), Day(30));
  EXPECT_EQ(response.time_axis(), kam::v1::TIME_AXIS_OCCURRED);
  EXPECT_FALSE(response.rules_version().empty());
}

TEST_F(ViewsServiceTest, ListAccountsOrders) {
  RecordFourAccounts();
  using Ids = std::vector<std::string>;
  auto ids_by = [&](kam::v1::AccountOrder order) {
    kam::v1::ListAccountsRequest request;
    request.set_order_by(order);
    return ListAll(request);
  };
  EXPECT_EQ(ids_by(kam::v1::ACCOUNT_ORDER_UNSPECIFIED), (Ids{"acme", "beta", "delta", "gamma"}));
  EXPECT_EQ(ids_by(kam::v1::ACCOUNT_ORDER_ACCOUNT_ID), (Ids{"acme", "beta", "delta", "gamma"}));
  EXPECT_EQ(ids_by(kam::v1::ACCOUNT_ORDER_NAME), (Ids{"acme", "beta", "delta", "gamma"}));
  EXPECT_EQ(ids_by(kam::v1::ACCOUNT_ORDER_REVENUE_DESC), (Ids{"acme", "gamma", "delta", "beta"}));

  // Risk score, highest first, ties by account id.
  kam::v1::ListAccountsRequest request;
  request.set_order_by(kam::v1::ACCOUNT_ORDER_RISK_SCORE_DESC);
  kam::v1::ListAccountsResponse response;
  ASSERT_TRUE(List(request, &response).ok());
  ASSERT_EQ(response.accounts_size(), 4);
  for (int i = 1; i < response.accounts_size(); ++i) {
    const auto& a = response.accounts(i - 1);
    const auto& b = response.accounts(i);
    EXPECT_TRUE(a.risk_score() > b.risk_score() ||
                (a.risk_score() == b.risk_score() && a.account_id() < b.account_id()));
  }

  // The attention order begins with the portfolio's attention list.
  kam::v1::Portfolio portfolio;
  ASSERT_TRUE(
      views_->GetPortfolio(testing::Context().get(), kam::v1::GetPortfolioRequest(), &portfolio)
          .ok());
  ASSERT_GT(portfolio.attention_size(), 0);
  Ids attention = ids_by(kam::v1::ACCOUNT_ORDER_ATTENTION);
  ASSERT_EQ(attention.size(), 4u);
  for (int i = 0; i < portfolio.attention_size(); ++i) {
    EXPECT_EQ(attention[i], portfolio.attention(i).account_id()) << i;
  }
}

TEST_F(ViewsServiceTest, ListAccountsPagesWithoutDuplicatesOrGaps) {
  // 23 accounts; revenues repeat so that ties must be broken by account id.
  std::vector<std::string> expected_by_revenue;
  std::map<int64_t, std::vector<std::string>, std::greater<int64_t>> by_revenue;
  for (int i = 0; i < 23; ++i) {
    char id[16];
    snprintf(id, sizeof(id), "acct-%02d", i);
    Append(id, Opened(std::string("Name ") + id, "li"), Day(0), Day(0));
    const int64_t revenue = 1000 * (i % 4);
    if (revenue > 0) Append(id, Order("o-1", revenue), Day(1), Day(1));
    by_revenue[revenue].push_back(id);
  }
  Record("acct-00", Share(10), Day(2));
  clock_.Set(Day(3));
  for (auto& [revenue, ids] : by_revenue) {
    for (const std::string& id : ids) expected_by_revenue.push_back(id);
  }

  kam::v1::ListAccountsRequest request;
  request.set_order_by(kam::v1::ACCOUNT_ORDER_REVENUE_DESC);
  request.set_page_size(5);
  int pages = 0;
  EXPECT_EQ(ListAll(request, &pages), expected_by_revenue);
  EXPECT_EQ(pages, 5);

  // The pages keep the first page's time: an account opened after it does
  // not appear on a later page.
  kam::v1::ListAccountsResponse first;
  request.set_order_by(kam::v1::ACCOUNT_ORDER_ACCOUNT_ID);
  ASSERT_TRUE(List(request, &first).ok());
  ASSERT_EQ(first.accounts_size(), 5);
  Record("zz-late", Opened("Late", "li"), Day(4));
  kam::v1::ListAccountsRequest next = request;
  next.set_page_token(first.next_page_token());
  std::vector<std::string> ids;
  for (const auto& a : first.accounts()) ids.push_back(a.account_id());
  for (const std::string& id : ListAll(next)) ids.push_back(id);
  EXPECT_EQ(ids.size(), 23u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 23u);
  EXPECT_EQ(ids.back(), "acct-22");

  // A page size beyond the cap is capped, not refused.
  kam::v1::ListAccountsRequest huge;
  huge.set_page_size(1u << 30);
  kam::v1::ListAccountsResponse all;
  ASSERT_TRUE(List(huge, &all).ok());
  EXPECT_EQ(all.accounts_size(), 24);
  EXPECT_TRUE(all.next_page_token().empty());
}

TEST_F(ViewsServiceTest, ForeignOrGarbagePageTokensAreInvalidArgument) {
  RecordFourAccounts();
  kam::v1::ListAccountsRequest request;
  request.set_page_size(1);
  kam::v1::ListAccountsResponse first;
  ASSERT_TRUE(List(request, &first).ok());
  ASSERT_FALSE(first.next_page_token().empty());

  std::vector<kam::v1::ListAccountsRequest> foreign(6, request);
  foreign[0].set_page_token("not a token");
  foreign[1].set_page_token("AAAA");
  foreign[2].set_page_token(first.next_page_token() + "AA");
  foreign[3] = request;
  foreign[3].set_page_token(first.next_page_token());
  foreign[3].set_order_by(kam::v1::ACCOUNT_ORDER_NAME);
  foreign[4].set_page_token(first.next_page_token());
  foreign[4].mutable_filter()->set_account_manager("li");
  foreign[5].set_page_token(first.next_page_token());
  foreign[5].set_time_axis(kam::v1::TIME_AXIS_RECORDED);
  for (size_t i = 0; i < foreign.size(); ++i) {
    kam::v1::ListAccountsResponse response;
    grpc::Status status = List(foreign[i], &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << i;
    EXPECT_EQ(status.error_message().rfind("page_token", 0), 0u) << status.error_message();
    EXPECT_EQ(response.accounts_size(), 0);
  }
  // The same query with its own token goes on; the page size may change.
  kam::v1::ListAccountsRequest same = request;
  same.set_page_size(10);
  same.set_page_token(first.next_page_token());
  kam::v1::ListAccountsResponse rest;
  ASSERT_TRUE(List(same, &rest).ok());
  EXPECT_EQ(rest.accounts_size(), 3);
}

TEST_F(ViewsServiceTest, ListAccountsAsOfOnTheRecordedAxis) {
  RecordFourAccounts();
  kam::v1::ListAccountsRequest request;
  *request.mutable_as_of() = ToProto(Day(2));
  request.set_time_axis(kam::v1::TIME_AXIS_RECORDED);
  EXPECT_EQ(ListAll(request), (std::vector<std::string>{"acme", "beta", "gamma"}));
}

// ---------------------------------------------------------------------------
// GetPortfolio

TEST_F(ViewsServiceTest, GetPortfolioCounts) {
  RecordFourAccounts();
  kam::v1::GetPortfolioRequest request;
  request.set_min_position(server_.engine().log().Head().position);
  kam::v1::Portfolio portfolio;
  grpc::Status status = views_->GetPortfolio(testing::Context().get(), request, &portfolio);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(portfolio.account_count(), 4u);
  EXPECT_EQ(portfolio.trailing_365_day_revenue().minor_units(), 1000500);
  std::map<int, uint32_t> by_stage;
  for (const auto& group : portfolio.by_stage()) by_stage[group.stage()] = group.accounts();
  EXPECT_EQ(by_stage[kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT], 1u);
  EXPECT_EQ(by_stage[kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION], 1u);
  EXPECT_EQ(by_stage[kam::v1::RELATIONSHIP_STAGE_STABLE_COOPERATION], 1u);
  EXPECT_EQ(by_stage[kam::v1::RELATIONSHIP_STAGE_LOST], 1u);
  std::map<int, uint32_t> by_class;
  for (const auto& group : portfolio.by_abc_class()) by_class[group.abc_class()] = group.accounts();
  EXPECT_EQ(by_class[kam::v1::ABC_CLASS_A], 1u);
  EXPECT_EQ(by_class[kam::v1::ABC_CLASS_C], 3u);
  EXPECT_EQ(portfolio.pareto_curve_size(), 4);
  EXPECT_EQ(portfolio.position(), server_.engine().log().Head().position);
  EXPECT_EQ(FromProto(portfolio.as_of()), Day(30));

  // As of day 1.5 on the RECORDED axis only acme and beta existed.
  request.Clear();
  *request.mutable_as_of() = ToProto(Day(1) + absl::Hours(12));
  request.set_time_axis(kam::v1::TIME_AXIS_RECORDED);
  request.set_max_pareto_points(1);
  ASSERT_TRUE(views_->GetPortfolio(testing::Context().get(), request, &portfolio).ok());
  EXPECT_EQ(portfolio.account_count(), 2u);
  EXPECT_EQ(portfolio.time_axis(), kam::v1::TIME_AXIS_RECORDED);
}

// ---------------------------------------------------------------------------
// Authorization

class ViewsAuthTest : public ViewsServiceTest {
 protected:
  ViewsAuthTest()
      : ViewsServiceTest(testing::TokenOptions(
            "views", {{"reader-token", "reader"}, {"recorder-token", "recorder"}})) {}
};

TEST_F(ViewsAuthTest, OnlyReadersSeeViews) {
  Record("acme", Opened("Acme", "li"), Day(0));
  kam::v1::GetAccountRequest request;
  request.set_account_id("acme");
  kam::v1::AccountView view;
  EXPECT_TRUE(views_->GetAccount(testing::Context("reader-token").get(), request, &view).ok());
  EXPECT_EQ(view.account_id(), "acme");
  for (auto [token, code] :
       {std::pair<std::string, grpc::StatusCode>{"", grpc::StatusCode::UNAUTHENTICATED},
        {"wrong-token", grpc::StatusCode::UNAUTHENTICATED},
        {"recorder-token", grpc::StatusCode::PERMISSION_DENIED}}) {
    kam::v1::AccountView refused;
    EXPECT_EQ(views_->GetAccount(testing::Context(token).get(), request, &refused).error_code(),
              code);
    EXPECT_EQ(refused.ByteSizeLong(), 0u);
    kam::v1::ListAccountsResponse list;
    EXPECT_EQ(views_->ListAccounts(testing::Context(token).get(), {}, &list).error_code(), code);
    EXPECT_EQ(list.accounts_size(), 0);
    kam::v1::Portfolio portfolio;
    EXPECT_EQ(views_->GetPortfolio(testing::Context(token).get(), {}, &portfolio).error_code(),
              code);
    EXPECT_EQ(portfolio.account_count(), 0u);
  }
}

}  // namespace
}  // namespace kam::services
