#include "services/metrics.h"

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace kam::services {

namespace {

// 1, 2, 4, ... 2^(count-1): group sizes and lags span orders of magnitude.
prometheus::Histogram::BucketBoundaries PowersOfTwo(int count) {
  prometheus::Histogram::BucketBoundaries bounds;
  for (int i = 0; i < count; ++i) bounds.push_back(static_cast<double>(uint64_t{1} << i));
  return bounds;
}

// 50 µs to ~3 s: an fsynced append takes about a millisecond on an SSD, much
// longer on a busy disk.
prometheus::Histogram::BucketBoundaries LatencySeconds() {
  prometheus::Histogram::BucketBoundaries bounds;
  for (double s = 50e-6; s < 4.0; s *= 2) bounds.push_back(s);
  return bounds;
}

prometheus::Counter& AddCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Gauge& AddGauge(prometheus::Registry& registry, const std::string& name,
                            const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Histogram& AddHistogram(prometheus::Registry& registry, const std::string& name,
                                    const std::string& help,
                                    const prometheus::Histogram::BucketBoundaries& bounds) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry).Add({}, bounds);
}

}  // namespace

// The instruments live in the registry; these are references into it.
struct ServerMetrics::Instruments {
  Instruments()
      : registry(std::make_shared<prometheus::Registry>()),
        appends(AddCounter(*registry, "kam_log_appends_total",
                           "Appends durably committed to the log (retries excluded).")),
        events(
            AddCounter(*registry, "kam_log_events_total", "Events durably committed to the log.")),
        group_appends(AddHistogram(*registry, "kam_log_commit_group_appends",
                                   "Appends per commit group, i.e. per fsync.", PowersOfTwo(12))),
        group_events(AddHistogram(*registry, "kam_log_commit_group_events",
                                  "Events per commit group, i.e. per fsync.", PowersOfTwo(16))),
        append_latency(AddHistogram(*registry, "kam_append_latency_seconds",
                                    "Time of successful Append and Record calls, durable.",
                                    LatencySeconds())),
        append_events(AddHistogram(*registry, "kam_append_call_events",
                                   "Events per successful Append or Record call.",
                                   PowersOfTwo(12))),
        subscribers(AddGauge(*registry, "kam_subscribers", "Open Subscribe calls.")),
        subscriber_lag(AddHistogram(*registry, "kam_subscriber_lag_positions",
                                    "Log positions a subscriber was behind the head when sent "
                                    "a message.",
                                    PowersOfTwo(24))),
        projection_lag(AddGauge(*registry, "kam_projection_lag_positions",
                                "Log head minus the projections' checkpoint.")),
        log_head(AddGauge(*registry, "kam_log_head_position", "The log's last position.")),
        view_cache_hits(AddCounter(*registry, "kam_view_cache_hits_total",
                                   "GetAccount calls for now answered from the live-view cache.")),
        view_cache_misses(AddCounter(*registry, "kam_view_cache_misses_total",
                                     "GetAccount calls for now that computed the view.")),
        view_cache_views(
            AddGauge(*registry, "kam_view_cache_views", "Views of now held in the cache.")),
        view_warming_queued(AddGauge(*registry, "kam_view_warming_queued",
                                     "Accounts whose view of now waits to be computed ahead.")),
        log_refuses_appends(AddGauge(*registry, "kam_log_refuses_appends",
                                     "Whether a failed write (full disk, I/O error) made the log "
                                     "refuse appends until kamd is restarted (1) or not (0).")),
        projections_stopped(AddGauge(*registry, "kam_projections_stopped",
                                     "Whether an error stopped the projections until kamd is "
                                     "restarted (1) or not (0).")) {}

  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Counter& appends;
  prometheus::Counter& events;
  prometheus::Histogram& group_appends;
  prometheus::Histogram& group_events;
  prometheus::Histogram& append_latency;
  prometheus::Histogram& append_events;
  prometheus::Gauge& subscribers;
  prometheus::Histogram& subscriber_lag;
  prometheus::Gauge& projection_lag;
  prometheus::Gauge& log_head;
  prometheus::Counter& view_cache_hits;
  prometheus::Counter& view_cache_misses;
  prometheus::Gauge& view_cache_views;
  prometheus::Gauge& view_warming_queued;
  prometheus::Gauge& log_refuses_appends;
  prometheus::Gauge& projections_stopped;
  std::unique_ptr<prometheus::Exposer> exposer;
};

// What the exposer collects: runs the hook, then reads the registry. The
// exposer holds it weakly, so it never outlives what the hook refers to.
class ServerMetrics::Scrape final : public prometheus::Collectable {
 public:
  explicit Scrape(std::shared_ptr<prometheus::Registry> registry)
      : registry_(std::move(registry)) {}

  void SetHook(std::function<void()> hook) {
    absl::MutexLock lock(&mu_);
    hook_ = std::move(hook);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    {
      // Held while the hook runs, so ClearScrapeHook waits for a running one.
      absl::MutexLock lock(&mu_);
      if (hook_) hook_();
    }
    return registry_->Collect();
  }

 private:
  const std::shared_ptr<prometheus::Registry> registry_;
  mutable absl::Mutex mu_;
  std::function<void()> hook_ ABSL_GUARDED_BY(mu_);
};

ServerMetrics::ServerMetrics()
    : instruments_(std::make_unique<Instruments>()),
      scrape_(std::make_shared<Scrape>(instruments_->registry)) {}

ServerMetrics::~ServerMetrics() {
  instruments_->exposer.reset();  // Joins the HTTP threads: no scrape after this.
}

absl::Status ServerMetrics::Serve(const std::string& listen) {
  if (listen.rfind(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics ", listen, ": expected HOST:PORT, e.g. 127.0.0.1:9464"));
  }
  // prometheus-cpp reports a failed bind by throwing; nothing else here does.
  try {
    instruments_->exposer = std::make_unique<prometheus::Exposer>(listen, 1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", listen, ": ", e.what()));
  }
  instruments_->exposer->RegisterCollectable(scrape_);
  std::vector<int> ports = instruments_->exposer->GetListeningPorts();
  port_ = ports.empty() ? 0 : ports.front();
  return absl::OkStatus();
}

void ServerMetrics::SetScrapeHook(std::function<void()> hook) { scrape_->SetHook(std::move(hook)); }

void ServerMetrics::ClearScrapeHook() { scrape_->SetHook(nullptr); }

void ServerMetrics::AppendDone(absl::Duration latency, size_t events) {
  instruments_->append_latency.Observe(absl::ToDoubleSeconds(latency));
  instruments_->append_events.Observe(static_cast<double>(events));
}

void ServerMetrics::GroupCommitted(size_t appends, size_t events) {
  instruments_->appends.Increment(static_cast<double>(appends));
  instruments_->events.Increment(static_cast<double>(events));
  instruments_->group_appends.Observe(static_cast<double>(appends));
  instruments_->group_events.Observe(static_cast<double>(events));
}

void ServerMetrics::SubscriberAdded() { instruments_->subscribers.Increment(); }

void ServerMetrics::SubscriberRemoved() { instruments_->subscribers.Decrement(); }

void ServerMetrics::SubscriberLag(uint64_t positions) {
  instruments_->subscriber_lag.Observe(static_cast<double>(positions));
}

void ServerMetrics::ProjectionLag(uint64_t positions) {
  instruments_->projection_lag.Set(static_cast<double>(positions));
}

void ServerMetrics::LogHead(uint64_t position) {
  instruments_->log_head.Set(static_cast<double>(position));
}

void ServerMetrics::ViewCache(uint64_t hits, uint64_t misses, size_t views, size_t queued) {
  // The counters follow totals kept elsewhere, which never decrease.
  Instruments& m = *instruments_;
  m.view_cache_hits.Increment(std::max(0.0, static_cast<double>(hits) - m.view_cache_hits.Value()));
  m.view_cache_misses.Increment(
      std::max(0.0, static_cast<double>(misses) - m.view_cache_misses.Value()));
  m.view_cache_views.Set(static_cast<double>(views));
  m.view_warming_queued.Set(static_cast<double>(queued));
}

void ServerMetrics::LogRefusesAppends() { instruments_->log_refuses_appends.Set(1); }

void ServerMetrics::ProjectionsStopped() { instruments_->projections_stopped.Set(1); }

std::string ServerMetrics::Text() const {
  return prometheus::TextSerializer().Serialize(scrape_->Collect());
}

}  // namespace kam::services
