#include "projections/account_views.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eventstore/status_macros.h"
#include "projections/account_state.h"
#include "projections/account_view.h"
#include "projections/history.h"
#include "projections/time_proto.h"

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
  ++catalog_generation_;
  ++revenue_generation_;
  occurred_revenue_.clear();
  live_views_.clear();
  expiries_.clear();
  live_ranking_.reset();
  return absl::OkStatus();
}

std::function<void(absl::Span<const eventstore::RecordedEvent>)> AccountViews::ApplyListener() {
  return [this](absl::Span<const eventstore::RecordedEvent> events) { Apply(events); };
}

void AccountViews::Apply(absl::Span<const eventstore::RecordedEvent> events) {
  const absl::Time applied_at = absl::Now();
  absl::MutexLock lock(&mu_);
  for (const eventstore::RecordedEvent& recorded : events) {
    position_ = std::max(position_, recorded.position);
    if (!IsProjectedStream(recorded.stream)) continue;
    absl::StatusOr<StoredEvent> e = DecodeStoredEvent(recorded);
    if (!e.ok()) continue;  // The store skips it too: no view can use it.
    if (recorded.stream == kCatalogStream) {
      catalog_.push_back(std::move(*e));
      ++catalog_generation_;
      // Every view reads the catalog: the cached ones are all stale now.
      if (warming_) {
        for (const auto& [account, entry] : live_views_) dirty_[account] = applied_at;
      }
      live_views_.clear();
      expiries_.clear();
      continue;
    }
    const std::string account = recorded.stream.substr(sizeof(kAccountStreamPrefix) - 1);
    ++stream_changes_[account];
    live_views_.erase(account);
    last_event_at_ = applied_at;
    if (warming_) dirty_[account] = applied_at;
    if (IsRevenueEvent(e->event)) {
      revenue_[account].Add(*e);
      occurred_revenue_.erase(account);
      ++revenue_generation_;
    }
  }
  // The ranking reads revenue only: visits, contacts and the like keep it.
  if (live_ranking_ != nullptr && live_ranking_->revenue_generation != revenue_generation_) {
    live_ranking_.reset();
  }
}

AccountViews::~AccountViews() { StopWarming(); }

void AccountViews::StartWarming() {
  if (warmer_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stop_warming_ = false;
    warming_ = true;
  }
  warmer_ = std::thread([this] { Warm(); });
}

void AccountViews::StopWarming() {
  if (!warmer_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stop_warming_ = true;
    warming_ = false;
  }
  warmer_.join();
}

void AccountViews::Warm() {
  // Work ahead of the calls, never in their way: the calls that miss compute
  // their view themselves, so the warmer yields the CPU to them.
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kWarmerNice);
  {
    absl::MutexLock lock(&mu_);
    warmer_busy_ = true;
  }
  absl::StatusOr<std::vector<std::string>> all = store_->AccountIds();
  std::vector<std::string> batch = all.ok() ? *std::move(all) : std::vector<std::string>();
  while (true) {
    OrderByWork(&batch);
    // One ranking for the pass while it holds: during an import every order
    // moves the revenue, and ranking every account again for each view
    // would cost more than the views. Lookups compare the class a view was
    // computed with, so none is served with a class that moved.
    std::shared_ptr<const Ranking> ranking;
    for (const std::string& account : batch) {
      {
        absl::MutexLock lock(&mu_);
        if (stop_warming_) return;
      }
      const absl::Time now = clock_->Now();
      if (ranking == nullptr || now < ranking->as_of || now >= ranking->valid_until) {
        ranking = RankingAt(now, TimeAxis::kOccurred);
      }
      // An account not opened yet, or a failing read, is computed (and
      // reported) again by the call that asks for it.
      LiveView(account, now, *ranking, nullptr).IgnoreError();
    }
    batch.clear();
    absl::MutexLock lock(&mu_);
    warmer_busy_ = false;
    if (!NextBatch(&batch)) return;
    warmer_busy_ = true;
  }
}

bool AccountViews::NextBatch(std::vector<std::string>* batch) {
  auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_warming_ || !dirty_.empty() ||
           (!expiries_.empty() && expiries_.begin()->first <= clock_->Now());
  };
  auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_warming_; };
  const absl::Time waiting_since = absl::Now();
  while (!stop_warming_) {
    // Accounts whose events settled, at once when the log is quiet, and at
    // most every kMaxSettle while events keep coming. Accounts still
    // changing wait: their view would be stale at once, and the calls that
    // ask for them cache what they compute.
    const absl::Time real_now = absl::Now();
    if (last_event_at_ + kSettle <= real_now || waiting_since + kMaxSettle <= real_now) {
      for (auto it = dirty_.begin(); it != dirty_.end();) {
        if (it->second + kSettle <= real_now) {
          batch->push_back(it->first);
          dirty_.erase(it++);
        } else {
          ++it;
        }
      }
    }
    const absl::Time now = clock_->Now();
    while (!expiries_.empty() && expiries_.begin()->first <= now) {
      batch->push_back(expiries_.begin()->second);
      expiries_.erase(expiries_.begin());
    }
    if (!batch->empty()) return true;
    if (!dirty_.empty()) {
      mu_.AwaitWithTimeout(absl::Condition(&stopped), kSettle);
      continue;
    }
    // Woken by new events; otherwise sleeps until the next view expires (on
    // the views' clock, looked at again at least every minute).
    const absl::Duration until_expiry =
        expiries_.empty() ? absl::InfiniteDuration() : expiries_.begin()->first - now;
    mu_.AwaitWithTimeout(absl::Condition(&woken),
                         std::clamp(until_expiry, absl::ZeroDuration(), absl::Minutes(1)));
  }
  return false;
}

bool AccountViews::AwaitWarm(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto warm = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return warming_ && !warmer_busy_ && dirty_.empty();
  };
  return mu_.AwaitWithTimeout(absl::Condition(&warm), timeout);
}

LiveCacheStats AccountViews::live_cache_stats() const {
  LiveCacheStats stats;
  stats.hits = cache_hits_.load(std::memory_order_relaxed);
  stats.misses = cache_misses_.load(std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  stats.cached = live_views_.size();
  stats.queued = dirty_.size();
  return stats;
}

// The busiest accounts first: they are the slowest to compute on demand,
// so warming them early takes the worst waits off the calls.
void AccountViews::OrderByWork(std::vector<std::string>* accounts) const {
  std::vector<std::pair<size_t, std::string>> sized;
  {
    absl::MutexLock lock(&mu_);
    for (std::string& account : *accounts) {
      auto it = revenue_.find(account);
      sized.emplace_back(it == revenue_.end() ? 0 : it->second.size(), std::move(account));
    }
  }
  std::stable_sort(sized.begin(), sized.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  accounts->clear();
  for (auto& [size, account] : sized) accounts->push_back(std::move(account));
}

bool AccountViews::IsLive(const ViewTime& when) {
  return !when.as_of.has_value() && when.axis == TimeAxis::kOccurred;
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
    ranking->revenue_generation = revenue_generation_;
    for (const auto& [account, timeline] : revenue_) {
      // On the OCCURRED axis an account's revenue stays what it was from the
      // time it was computed until its next edge, unless its orders change
      // (Apply forgets it then): only the accounts that moved are computed.
      OccurredRevenue* known = nullptr;
      if (axis == TimeAxis::kOccurred) {
        known = &occurred_revenue_[account];
        if (known->from <= as_of && as_of < known->until) {
          ranking->valid_until = std::min(ranking->valid_until, known->until);
          if (known->revenue > 0) revenues.push_back({account, known->revenue});
          continue;
        }
      }
      absl::Time edge;
      const int64_t revenue = timeline.RevenueAt(as_of, axis, window, &edge);
      if (known != nullptr) *known = OccurredRevenue{revenue, as_of, edge};
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
    if (live_ranking_ != nullptr && live_ranking_->revenue_generation == revenue_generation_ &&
        live_ranking_->as_of <= as_of && as_of < live_ranking_->valid_until) {
      return live_ranking_;
    }
  }
  std::shared_ptr<const Ranking> ranking = ComputeRanking(as_of, axis);
  if (live) {
    absl::MutexLock lock(&mu_);
    if (ranking->revenue_generation == revenue_generation_) {
      if (warming_ && marked_ranking_ != nullptr) MarkClassChanges(*marked_ranking_, *ranking);
      live_ranking_ = ranking;
      marked_ranking_ = ranking;
    }
  }
  return ranking;
}

// Cached views of accounts whose class moved no longer match any lookup:
// the warmer computes them again.
void AccountViews::MarkClassChanges(const Ranking& before, const Ranking& after) const {
  for (const Ranking* ranking : {&before, &after}) {
    for (const AccountAbc& account : ranking->accounts) {
      if (before.ClassOf(account.account_id) != after.ClassOf(account.account_id)) {
        dirty_.try_emplace(account.account_id, absl::InfinitePast());
      }
    }
  }
}

absl::StatusOr<std::vector<AccountAbc>> AccountViews::AbcRanking(const ViewTime& when) const {
  return RankingAt(Resolve(when), when.axis)->accounts;
}

absl::StatusOr<kam::v1::AccountView> AccountViews::ViewOf(
    absl::string_view account_id, absl::Time as_of, TimeAxis axis, const Ranking& ranking,
    const std::vector<Fact>& catalog, std::vector<absl::Time>* event_times) const {
  KAM_ASSIGN_OR_RETURN(std::vector<StoredEvent> events,
                       store_->LoadStream(AccountStream(account_id)));
  if (events.empty()) {
    return absl::NotFoundError(absl::StrCat("account '", account_id, "' does not exist"));
  }
  if (event_times != nullptr) AddEventTimes(events, event_times);
  AccountHistory history =
      SelectHistoryWithCatalog(account_id, std::move(events), catalog, as_of, axis);
  const kam::v1::AbcClass abc_class = ranking.ClassOf(account_id);
  absl::StatusOr<kam::v1::AccountView> view = BuildAccountView(history, abc_class, rules_);
  if (!view.ok() && absl::IsNotFound(view.status())) {
    return absl::NotFoundError(
        absl::StrCat("account '", account_id, "' does not exist at ", absl::FormatTime(as_of),
                     " on the ", axis == TimeAxis::kOccurred ? "occurred" : "recorded", " axis"));
  }
  return view;
}

absl::StatusOr<kam::v1::AccountView> AccountViews::GetAccount(absl::string_view account_id,
                                                              const ViewTime& when) const {
  const absl::Time as_of = Resolve(when);
  std::shared_ptr<const Ranking> ranking = RankingAt(as_of, when.axis);
  if (!IsLive(when)) {
    return ViewOf(account_id, as_of, when.axis, *ranking, CatalogFacts(as_of, when.axis), nullptr);
  }
  bool hit = false;
  absl::StatusOr<kam::v1::AccountView> view = LiveView(account_id, as_of, *ranking, &hit);
  (hit ? cache_hits_ : cache_misses_).fetch_add(1, std::memory_order_relaxed);
  return view;
}

// Views "now" are asked for far more than any other; one stays valid until
// the account's stream, its ABC class or the catalog changes, or until now
// reaches a time at which some window of the rules could start or stop
// covering one of its facts: every fact time plus every window length of the
// rules (a superset of the real edges, so a cached view is never stale).
absl::StatusOr<kam::v1::AccountView> AccountViews::LiveView(absl::string_view account_id,
                                                            absl::Time now, const Ranking& ranking,
                                                            bool* hit) const {
  const kam::v1::AbcClass abc_class = ranking.ClassOf(account_id);
  std::vector<absl::Time> times;
  uint64_t catalog_generation = 0;
  uint64_t stream_changes = 0;
  {
    absl::MutexLock lock(&mu_);
    stream_changes = StreamChanges(account_id);
    auto cached = live_views_.find(account_id);
    if (cached != live_views_.end() && cached->second.abc_class == abc_class &&
        cached->second.catalog_generation == catalog_generation_ &&
        cached->second.computed_at <= now && now < cached->second.valid_until) {
      kam::v1::AccountView view = cached->second.view;
      *view.mutable_as_of() = TimeToProto(now);
      if (hit != nullptr) *hit = true;
      return view;
    }
    catalog_generation = catalog_generation_;
    AddEventTimes(catalog_, &times);
  }
  KAM_ASSIGN_OR_RETURN(kam::v1::AccountView view,
                       ViewOf(account_id, now, TimeAxis::kOccurred, ranking,
                              CatalogFacts(now, TimeAxis::kOccurred), &times));
  LiveEntry entry{view, abc_class, catalog_generation, now, NextEdge(times, now)};
  absl::MutexLock lock(&mu_);
  // An event of the account or the catalog applied meanwhile may be in the
  // view or not: do not keep it, but compute it again ahead of the calls.
  // (Other accounts' events only matter through the ABC class, which every
  // lookup compares.)
  if (stream_changes != StreamChanges(account_id) || catalog_generation != catalog_generation_) {
    if (warming_) dirty_.try_emplace(std::string(account_id), absl::Now());
    return view;
  }
  if (live_views_.size() >= kMaxLiveViews) {
    live_views_.clear();
    expiries_.clear();
  }
  if (entry.valid_until != absl::InfiniteFuture()) {
    expiries_.emplace(entry.valid_until, std::string(account_id));
  }
  live_views_[std::string(account_id)] = std::move(entry);
  return view;
}

uint64_t AccountViews::StreamChanges(absl::string_view account_id) const {
  auto it = stream_changes_.find(account_id);
  return it == stream_changes_.end() ? 0 : it->second;
}

void AccountViews::AddEventTimes(const std::vector<StoredEvent>& events,
                                 std::vector<absl::Time>* times) {
  for (const StoredEvent& e : events) {
    times->push_back(e.occurred_at);
    if (e.event.has_event_corrected() &&
        e.event.event_corrected().replacement().has_occurred_at()) {
      times->push_back(TimeFromProto(e.event.event_corrected().replacement().occurred_at()));
    }
  }
}

absl::Time AccountViews::NextEdge(const std::vector<absl::Time>& times, absl::Time now) const {
  const Rules& r = rules_;
  const absl::Duration year = Days(r.revenue_window_days);
  const std::vector<absl::Duration> windows = {
      absl::ZeroDuration(),
      Days(r.complaint_open_days),
      Days(r.dormant_days),
      Days(r.no_contact_days),
      Days(r.no_executive_contact_days),
      Days(r.opportunity_window_days),
      Days(r.risk_window_days),
      Days(r.social_contact_days),
      Days(r.supplier_evaluation_due_days),
      Days(r.revenue_decline_window_days),
      Days(r.revenue_decline_shift_days),
      Days(r.revenue_decline_shift_days) + Days(r.revenue_decline_window_days),
      year / 4,
      year / 2,
      year * 3 / 4,
      year,
  };
  // A rule compares with "<" or "<=": a view computed exactly at an edge may
  // change just after it, so an edge at `now` ends the validity at once.
  absl::Time edge = absl::InfiniteFuture();
  for (absl::Time t : times) {
    for (absl::Duration w : windows) {
      const absl::Time candidate = t + w;
      if (candidate >= now && candidate < edge) edge = candidate;
    }
  }
  return edge;
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
  facts.erase(std::remove_if(
                  facts.begin(), facts.end(),
                  [&](const Fact& f) { return !InTrailingWindow(f.occurred_at, as_of, window); }),
              facts.end());
  return facts;
}

absl::StatusOr<std::vector<kam::v1::AccountView>> AccountViews::AllAccounts(
    const ViewTime& when) const {
  return AllAccountsAt(Resolve(when), when.axis, IsLive(when));
}

absl::StatusOr<std::vector<kam::v1::AccountView>> AccountViews::AllAccountsAt(absl::Time as_of,
                                                                              TimeAxis axis,
                                                                              bool live) const {
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
      // Views "now" come from the live cache when they are there.
      absl::StatusOr<kam::v1::AccountView> view =
          live ? LiveView(ids[i], as_of, *ranking, nullptr)
               : ViewOf(ids[i], as_of, axis, *ranking, catalog, nullptr);
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
                       AllAccountsAt(options.as_of, when.axis, IsLive(when)));
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
