// The engine a kamd process serves: the durable event log, the projection
// store with its projector following the log, and the views over it. The
// services hold a reference to one Engine; it owns everything below them.
//
//   EngineOptions options;
//   options.data_dir = "./data";
//   KAM_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(options));
//   engine->log().Append(...);
//   engine->projector().WaitFor(position, deadline);
//   engine->views().GetAccount("acme", {});

#ifndef KAM_SERVICES_ENGINE_H_
#define KAM_SERVICES_ENGINE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "eventstore/clock.h"
#include "eventstore/event_log.h"
#include "projections/account_views.h"
#include "projections/projection_store.h"
#include "projections/projector.h"
#include "projections/rules_config.h"
#include "services/metrics.h"

namespace kam::services {

struct EngineOptions {
  std::string data_dir = "./data";  // Holds log/ and projections/.
  projections::Rules rules = projections::DefaultRules();
  // DANGER: acknowledges appends before they are on disk. Benchmarks only.
  bool unsafe_skip_fsync_on_append = false;
  const eventstore::Clock* clock = nullptr;  // nullptr: the system clock.
  // Where the engine and the services report (the log's commit groups among
  // others). Not owned; must outlive the engine. nullptr: the engine keeps
  // its own, which nobody serves.
  ServerMetrics* metrics = nullptr;
};

class Engine {
 public:
  // Opens the log and the current projections, catches the projections up
  // with the log, and starts the projector.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options);
  ~Engine();  // Stops the projector, then closes the projections and the log.

  // For a clean stop: stops the projector and applies what it had not yet,
  // so the projections on disk reflect every acknowledged append. Appends
  // must have stopped. Returns the projections' position or why it failed.
  absl::StatusOr<uint64_t> Drain();

  eventstore::EventLog& log() { return *log_; }
  projections::AccountViews& views() { return *views_; }
  projections::Projector& projector() { return *projector_; }
  const projections::Rules& rules() const { return views_->rules(); }
  const eventstore::Clock& clock() const { return *clock_; }
  // Thread-safe; see metrics.h.
  ServerMetrics& metrics() { return *metrics_; }

 private:
  Engine() = default;

  const eventstore::Clock* clock_ = nullptr;
  std::unique_ptr<ServerMetrics> own_metrics_;  // When none was given.
  ServerMetrics* metrics_ = nullptr;
  std::unique_ptr<eventstore::EventLog> log_;
  std::unique_ptr<projections::ProjectionStore> store_;
  std::unique_ptr<projections::AccountViews> views_;
  std::unique_ptr<projections::Projector> projector_;
};

}  // namespace kam::services

#endif  // KAM_SERVICES_ENGINE_H_
