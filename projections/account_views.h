// AccountViews answers view queries from the projection store: one account,
// every account, or the portfolio, now or as of a time on either axis.
//
// Portfolio-wide rules (ABC class, contribution) need every account's
// trailing revenue at T; AccountViews keeps each account's orders in a
// compact RevenueTimeline (loaded from the store at start, then fed by the
// projector) so that figure never needs whole streams. The ABC ranking at
// "now" is cached until an order (or its correction) arrives or an order
// enters or leaves a window, and then only the accounts that moved are
// computed again.
//
//   AccountViews views(store.get(), rules, &SystemClock());
//   KAM_RETURN_IF_ERROR(views.Load());
//   Projector projector(log.get(), store.get(), views.ApplyListener());
//   KAM_ASSIGN_OR_RETURN(kam::v1::AccountView acme, views.GetAccount("acme", {}));

#ifndef KAM_PROJECTIONS_ACCOUNT_VIEWS_H_
#define KAM_PROJECTIONS_ACCOUNT_VIEWS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "eventstore/clock.h"
#include "kam/v1/views.pb.h"
#include "projections/fact.h"
#include "projections/projection_store.h"
#include "projections/revenue_timeline.h"
#include "projections/rules.h"
#include "projections/rules_config.h"

namespace kam::projections {

// When a view is evaluated: `as_of` absent means now.
struct ViewTime {
  std::optional<absl::Time> as_of;
  TimeAxis axis = TimeAxis::kOccurred;
};

// How GetAccount "now" calls were answered: from the cache of live views or
// computed; and what the cache holds and the warmer has yet to compute.
struct LiveCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  size_t cached = 0;
  size_t queued = 0;
};

class AccountViews {
 public:
  // `store` and `clock` are not owned and must outlive this object.
  AccountViews(const ProjectionStore* store, Rules rules, const eventstore::Clock* clock);

  // Loads the revenue events and the catalog from the store. Call once,
  // before the projector starts.
  absl::Status Load();

  // Keeps the in-memory figures current; give it to the Projector. It must
  // see every batch the store applies, in order.
  std::function<void(absl::Span<const eventstore::RecordedEvent>)> ApplyListener();

  // NotFound when the account does not exist at that time.
  absl::StatusOr<kam::v1::AccountView> GetAccount(absl::string_view account_id,
                                                  const ViewTime& when) const;

  // Every account existing at that time, by account id.
  absl::StatusOr<std::vector<kam::v1::AccountView>> AllAccounts(const ViewTime& when) const;

  absl::StatusOr<kam::v1::Portfolio> GetPortfolio(const ViewTime& when, uint32_t max_pareto_points,
                                                  uint32_t max_attention) const;

  // Trailing-365-day revenue and ABC class of every account with revenue at
  // that time, in Pareto order (accounts absent here are class C).
  absl::StatusOr<std::vector<AccountAbc>> AbcRanking(const ViewTime& when) const;

  const Rules& rules() const { return rules_; }

  // Keeps every account's view "now" computed ahead of the calls on a
  // thread of its own: first all accounts, then those whose stream changed
  // (once the events have settled, see kSettle) and those whose cached view
  // reached the end of its validity. Calls never wait for it; they compute
  // (and cache) what is not ready. Stops in StopWarming or the destructor.
  void StartWarming();
  void StopWarming();
  // Waits until the warmer has computed every view it knows to be missing or
  // stale (true), or `timeout` passed or warming is off (false).
  bool AwaitWarm(absl::Duration timeout) const;
  LiveCacheStats live_cache_stats() const;
  ~AccountViews();

 private:
  struct Ranking {
    uint64_t revenue_generation = 0;  // Of the revenue it was computed from.
    absl::Time as_of;
    absl::Time valid_until;  // The next time an order enters or leaves a window.
    std::vector<AccountAbc> accounts;
    absl::flat_hash_map<std::string, size_t> index;  // account id -> accounts[i]

    // Accounts absent from the ranking (no revenue) are class C.
    kam::v1::AbcClass ClassOf(absl::string_view account_id) const {
      auto it = index.find(account_id);
      return it == index.end() ? kam::v1::ABC_CLASS_C : accounts[it->second].abc_class;
    }
  };

  absl::Time Resolve(const ViewTime& when) const;
  // "Now" on the OCCURRED axis: the views the live cache holds.
  static bool IsLive(const ViewTime& when);
  void Apply(absl::Span<const eventstore::RecordedEvent> events);
  std::shared_ptr<const Ranking> RankingAt(absl::Time as_of, TimeAxis axis) const;
  std::shared_ptr<const Ranking> ComputeRanking(absl::Time as_of, TimeAxis axis) const;
  void MarkClassChanges(const Ranking& before, const Ranking& after) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `live`: the views "now", which may come from the live cache.
  absl::StatusOr<std::vector<kam::v1::AccountView>> AllAccountsAt(absl::Time as_of, TimeAxis axis,
                                                                  bool live) const;
  // With `event_times`, also adds the business times of the account's events.
  absl::StatusOr<kam::v1::AccountView> ViewOf(absl::string_view account_id, absl::Time as_of,
                                              TimeAxis axis, const Ranking& ranking,
                                              const std::vector<Fact>& catalog,
                                              std::vector<absl::Time>* event_times) const;
  // Sets *hit (when given) if the view came from the cache.
  absl::StatusOr<kam::v1::AccountView> LiveView(absl::string_view account_id, absl::Time now,
                                                const Ranking& ranking, bool* hit) const;
  static void AddEventTimes(const std::vector<StoredEvent>& events, std::vector<absl::Time>* times);
  absl::Time NextEdge(const std::vector<absl::Time>& times, absl::Time now) const;

  struct LiveEntry {
    kam::v1::AccountView view;
    kam::v1::AbcClass abc_class = kam::v1::ABC_CLASS_UNSPECIFIED;
    uint64_t catalog_generation = 0;
    absl::Time computed_at;
    absl::Time valid_until;
  };
  static constexpr size_t kMaxLiveViews = 100000;
  // The warming thread's nice value (Linux: per thread).
  static constexpr int kWarmerNice = 10;
  // A view computed while its account's events keep coming is stale at once:
  // the warmer computes an account's view once no event of it arrived for
  // kSettle, and waits for the log to be quiet as long, or kMaxSettle at
  // most, before it computes the accounts that settled.
  static constexpr absl::Duration kSettle = absl::Milliseconds(20);
  static constexpr absl::Duration kMaxSettle = absl::Seconds(1);
  // Events applied to the account's stream so far.
  uint64_t StreamChanges(absl::string_view account_id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Warm();
  // Waits for the accounts to compute next: settled ones and those whose
  // cached view expired. False when warming stops.
  bool NextBatch(std::vector<std::string>* batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OrderByWork(std::vector<std::string>* accounts) const;
  std::vector<Fact> CatalogFacts(absl::Time as_of, TimeAxis axis) const;

  const ProjectionStore* const store_;
  const Rules rules_;
  const eventstore::Clock* const clock_;

  mutable absl::Mutex mu_;
  uint64_t position_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, RevenueTimeline> revenue_ ABSL_GUARDED_BY(mu_);
  std::vector<StoredEvent> catalog_ ABSL_GUARDED_BY(mu_);
  mutable std::shared_ptr<const Ranking> live_ranking_ ABSL_GUARDED_BY(mu_);
  // The last live ranking, kept across events to see which classes move.
  mutable std::shared_ptr<const Ranking> marked_ranking_ ABSL_GUARDED_BY(mu_);
  uint64_t catalog_generation_ ABSL_GUARDED_BY(mu_) = 0;
  // Revenue events applied so far.
  uint64_t revenue_generation_ ABSL_GUARDED_BY(mu_) = 0;
  // An account's trailing revenue on the OCCURRED axis, exact at any time in
  // [from, until) while its orders stay as they are.
  struct OccurredRevenue {
    int64_t revenue = 0;
    absl::Time from = absl::InfiniteFuture();
    absl::Time until = absl::InfinitePast();
  };
  mutable absl::flat_hash_map<std::string, OccurredRevenue> occurred_revenue_ ABSL_GUARDED_BY(mu_);
  mutable absl::flat_hash_map<std::string, LiveEntry> live_views_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> stream_changes_ ABSL_GUARDED_BY(mu_);
  // For the warming thread: accounts to compute with the (real) time their
  // stream last changed, and when cached views end.
  mutable absl::flat_hash_map<std::string, absl::Time> dirty_ ABSL_GUARDED_BY(mu_);
  // When the last account event was applied (real time).
  absl::Time last_event_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  mutable std::multimap<absl::Time, std::string> expiries_ ABSL_GUARDED_BY(mu_);
  bool stop_warming_ ABSL_GUARDED_BY(mu_) = false;
  bool warming_ ABSL_GUARDED_BY(mu_) = false;
  bool warmer_busy_ ABSL_GUARDED_BY(mu_) = false;
  mutable std::atomic<uint64_t> cache_hits_{0};
  mutable std::atomic<uint64_t> cache_misses_{0};
  std::thread warmer_;
};

}  // namespace kam::projections

#endif  // KAM_PROJECTIONS_ACCOUNT_VIEWS_H_
