// What kamd reports to Prometheus: appends and their latency, the size of
// each fsync group, subscribers and how far they lag, and how far the
// projections lag behind the log. Every recording method is thread-safe and
// cheap (atomics, or a short lock inside a histogram), so handlers call them
// on their own threads.
//
//   ServerMetrics metrics;
//   metrics.SetScrapeHook([&] { metrics.ProjectionLag(Lag()); });
//   KAM_RETURN_IF_ERROR(metrics.Serve("127.0.0.1:9464"));  // GET /metrics
//   ...
//   metrics.AppendDone(absl::Now() - start, request.events_size());
//
// Without Serve the metrics are still kept (Text() renders them), so code
// can report unconditionally.

#ifndef KAM_SERVICES_METRICS_H_
#define KAM_SERVICES_METRICS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace kam::services {

class ServerMetrics {
 public:
  ServerMetrics();
  ~ServerMetrics();  // Stops serving first.

  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // Serves the metrics in the Prometheus text format at
  // http://<listen>/metrics. `listen` is HOST:PORT; port 0 picks a free one
  // (see port()). Call at most once, before other threads use the object.
  // Errors: InvalidArgument for an address without a port, Unavailable when
  // it cannot be bound.
  absl::Status Serve(const std::string& listen);
  // The bound port once Serve succeeded, else 0.
  int port() const { return port_; }

  // Called before each scrape (and by Text()), on the scraping thread, so
  // gauges that are cheap to sample, like the projection lag, are exact
  // when read. Set it before Serve; it must outlive serving (the destructor
  // or ClearScrapeHook stops calls to it).
  void SetScrapeHook(std::function<void()> hook);
  void ClearScrapeHook();

  // One Append (or Record) call finished successfully: how long it took and
  // how many events it recorded.
  void AppendDone(absl::Duration latency, size_t events);
  // One commit group was written and fsynced: its appends and events. Fed
  // by the log's on_group_commit hook.
  void GroupCommitted(size_t appends, size_t events);
  // A Subscribe call started or ended.
  void SubscriberAdded();
  void SubscriberRemoved();
  // How many positions a subscriber was behind the log head when it sent a
  // message (sampled into a histogram).
  void SubscriberLag(uint64_t positions);
  // The log head minus the projections' checkpoint.
  void ProjectionLag(uint64_t positions);
  // The log head position.
  void LogHead(uint64_t position);
  // The live-view cache: GetAccount calls for now answered from it and
  // computed (totals so far), views held, accounts queued for the warmer.
  void ViewCache(uint64_t hits, uint64_t misses, size_t views, size_t queued);
  // The log refuses appends, or the projections stopped, until kamd is
  // restarted (see Engine::OnFault).
  void LogRefusesAppends();
  void ProjectionsStopped();

  // Every metric in the Prometheus text format, after running the hook.
  std::string Text() const;

 private:
  struct Instruments;
  class Scrape;

  std::unique_ptr<Instruments> instruments_;
  std::shared_ptr<Scrape> scrape_;
  int port_ = 0;
};

}  // namespace kam::services

#endif  // KAM_SERVICES_METRICS_H_
