#include "projections/account_views.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eventstore/status_macros.h"
#include "projections/account_state.h"
#include "projections/account_view.h"
#include "projections/history.h"

namespace kam::projections {

namespace {

kam::v1::TimeAxis ToProto(TimeAxis axis) {
  return axis == TimeAxis::kOccurred ? kam::v1::TIME_AXIS_OCCURRED : kam::v1::TIME_AXIS_RECORDED;
}

}  // namespace

AccountViews::AccountViews(const ProjectionStore* store, Rules rules,
                           const eventstore::Clock* clock)
    : store_(store), rules_(std::move(rules)), clock_(clock) {}

absl::Status AccountViews::Load() {
  KAM_ASSIGN_OR_RETURN(auto revenue, store_->LoadRevenueEvents());
  KAM_ASSIGN_OR_RETURN(std::vector<StoredEvent> catalog, store_->LoadStream(kCatalogStream));
  absl::MutexLock lock(&mu_);
  position_ = store_->checkpoint().position;
  revenue_.clear();
  for (const auto& [account, events] : revenue) {
    RevenueTimeline& timeline = revenue_[account];
    for (const StoredEvent& e : events) timeline.Add(e);
  }
  catalog_ = std::move(catalog);
  live_ranking_.reset();
  return absl::OkStatus();
}

std::function<void(absl::Span<const eventstore::RecordedEvent>)> AccountViews::ApplyListener() {
  return [this](absl::Span<const eventstore::RecordedEvent> events) { Apply(events); };
}

void AccountViews::Apply(absl::Span<const eventstore::RecordedEvent> events) {
  absl::MutexLock lock(&mu_);
  for (const eventstore::RecordedEvent& recorded : events) {
    position_ = std::max(position_, recorded.position);
    if (!IsProjectedStream(recorded.stream)) continue;
    absl::StatusOr<StoredEvent> e = DecodeStoredEvent(recorded);
    if (!e.ok()) continue;  // The store skips it too: no view can use it.
    if (recorded.stream == kCatalogStream) {
      catalog_.push_back(std::move(*e));
    } else if (IsRevenueEvent(e->event)) {
      std::string account = recorded.stream.substr(sizeof(kAccountStreamPrefix) - 1);
      revenue_[account].Add(*e);
    }
  }
  live_ranking_.reset();
}

absl::Time AccountViews::Resolve(const ViewTime& when) const {
  return when.as_of.has_value() ? *when.as_of : clock_->Now();
}

std::shared_ptr<const AccountViews::Ranking> AccountViews::ComputeRanking(absl::Time as_of,
                                                                          TimeAxis axis) const {
  auto ranking = std::make_shared<Ranking>();
  ranking->as_of = as_of;
  ranking->valid_until = absl::InfiniteFuture();
  const absl::Duration window = Days(rules_.revenue_window_days);
  std::vector<AccountRevenue> revenues;
  {
    absl::MutexLock lock(&mu_);
    ranking->position = position_;
    for (const auto& [account, timeline] : revenue_) {
      absl::Time edge;
      int64_t revenue = timeline.RevenueAt(as_of, axis, window, &edge);
      ranking->valid_until = std::min(ranking->valid_until, edge);
      if (revenue > 0) revenues.push_back({account, revenue});
    }
  }
  ranking->accounts = AbcClasses(std::move(revenues), rules_);
  for (size_t i = 0; i < ranking->accounts.size(); ++i) {
    ranking->index[ranking->accounts[i].account_id] = i;
  }
  return ranking;
}

std::shared_ptr<const AccountViews::Ranking> AccountViews::RankingAt(absl::Time as_of,
                                                                     TimeAxis axis) const {
  // Only "now" on the OCCURRED axis is asked for often enough to cache; the
  // cached ranking is exact while no event arrives and no order crosses a
  // window edge.
  const bool live = axis == TimeAxis::kOccurred;
  if (live) {
    absl::MutexLock lock(&mu_);
    if (live_ranking_ != nullptr && live_ranking_->position == position_ &&
        live_ranking_->as_of <= as_of && as_of < live_ranking_->valid_until) {
      return live_ranking_;
    }
  }
  std::shared_ptr<const Ranking> ranking = ComputeRanking(as_of, axis);
  if (live) {
    absl::MutexLock lock(&mu_);
    if (ranking->position == position_) live_ranking_ = ranking;
  }
  return ranking;
}

absl::StatusOr<std::vector<AccountAbc>> AccountViews::AbcRanking(const ViewTime& when) const {
  return RankingAt(Resolve(when), when.axis)->accounts;
}

absl::StatusOr<kam::v1::AccountView> AccountViews::ViewOf(
    absl::string_view account_id, absl::Time as_of, TimeAxis axis, const Ranking& ranking,
    const std::vector<Fact>& catalog) const {
  KAM_ASSIGN_OR_RETURN(std::vector<StoredEvent> events,
                       store_->LoadStream(AccountStream(account_id)));
  if (events.empty()) {
    return absl::NotFoundError(absl::StrCat("account '", account_id, "' does not exist"));
  }
  AccountHistory history =
      SelectHistoryWithCatalog(account_id, std::move(events), catalog, as_of, axis);
  auto it = ranking.index.find(account_id);
  kam::v1::AbcClass abc_class = it == ranking.index.end() ? kam::v1::ABC_CLASS_C
                                                          : ranking.accounts[it->second].abc_class;
  absl::StatusOr<kam::v1::AccountView> view = BuildAccountView(history, abc_class, rules_);
  if (!view.ok() && absl::IsNotFound(view.status())) {
    return absl::NotFoundError(absl::StrCat("account '", account_id, "' does not exist at ",
                                            absl::FormatTime(as_of), " on the ",
                                            axis == TimeAxis::kOccurred ? "occurred" : "recorded",
                                            " axis"));
  }
  return view;
}

absl::StatusOr<kam::v1::AccountView> AccountViews::GetAccount(absl::string_view account_id,
                                                              const ViewTime& when) const {
  const absl::Time as_of = Resolve(when);
  std::shared_ptr<const Ranking> ranking = RankingAt(as_of, when.axis);
  return ViewOf(account_id, as_of, when.axis, *ranking, CatalogFacts(as_of, when.axis));
}

std::vector<Fact> AccountViews::CatalogFacts(absl::Time as_of, TimeAxis axis) const {
  std::vector<Fact> facts;
  {
    absl::MutexLock lock(&mu_);
    facts = SelectCatalog(catalog_, as_of, axis);
  }
  // Only launches inside the opportunity window can matter to a view; every
  // account gets a copy, so keep it short.
  const absl::Duration window = Days(rules_.opportunity_window_days);
  facts.erase(std::remove_if(facts.begin(), facts.end(),
                             [&](const Fact& f) {
                               return !InTrailingWindow(f.occurred_at, as_of, window);
                             }),
              facts.end());
  return facts;
}

absl::StatusOr<std::vector<kam::v1::AccountView>> AccountViews::AllAccounts(
    const ViewTime& when) const {
  return AllAccountsAt(Resolve(when), when.axis);
}

absl::StatusOr<std::vector<kam::v1::AccountView>> AccountViews::AllAccountsAt(
    absl::Time as_of, TimeAxis axis) const {
  std::shared_ptr<const Ranking> ranking = RankingAt(as_of, axis);
  const std::vector<Fact> catalog = CatalogFacts(as_of, axis);
  KAM_ASSIGN_OR_RETURN(std::vector<std::string> ids, store_->AccountIds());
  // Accounts are independent: evaluate them on every core, in contiguous
  // slices so the result stays in account id order.
  const size_t workers = std::max<size_t>(
      1, std::min<size_t>({std::thread::hardware_concurrency(), 8, ids.size() / 64 + 1}));
  std::vector<std::vector<kam::v1::AccountView>> parts(workers);
  std::vector<absl::Status> statuses(workers);
  auto evaluate = [&](size_t w) {
    const size_t begin = ids.size() * w / workers;
    const size_t end = ids.size() * (w + 1) / workers;
    for (size_t i = begin; i < end; ++i) {
      absl::StatusOr<kam::v1::AccountView> view = ViewOf(ids[i], as_of, axis, *ranking, catalog);
      if (absl::IsNotFound(view.status())) continue;  // Not opened yet at as_of.
      if (!view.ok()) {
        statuses[w] = view.status();
        return;
      }
      parts[w].push_back(std::move(*view));
    }
  };
  std::vector<std::thread> threads;
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(evaluate, w);
  evaluate(0);
  for (std::thread& t : threads) t.join();
  std::vector<kam::v1::AccountView> views;
  views.reserve(ids.size());
  for (size_t w = 0; w < workers; ++w) {
    KAM_RETURN_IF_ERROR(statuses[w]);
    for (kam::v1::AccountView& view : parts[w]) views.push_back(std::move(view));
  }
  return views;
}

absl::StatusOr<kam::v1::Portfolio> AccountViews::GetPortfolio(const ViewTime& when,
                                                              uint32_t max_pareto_points,
                                                              uint32_t max_attention) const {
  PortfolioOptions options;
  options.as_of = Resolve(when);
  KAM_ASSIGN_OR_RETURN(std::vector<kam::v1::AccountView> views,
                       AllAccountsAt(options.as_of, when.axis));
  options.time_axis = ToProto(when.axis);
  {
    absl::MutexLock lock(&mu_);
    options.position = position_;
  }
  options.max_pareto_points = max_pareto_points;
  options.max_attention = max_attention;
  return BuildPortfolio(views, rules_, options);
}

}  // namespace kam::projections
