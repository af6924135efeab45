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

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/clock.h"
#include "eventstore/event_log.h"
#include "eventstore/storage_env.h"
#include "projections/account_views.h"
#include "projections/projection_store.h"
#include "projections/projector.h"
#include "projections/rules_config.h"
#include "services/metrics.h"

namespace kam::services {

// A part of the engine that stopped working until the engine is reopened
// (kamd restarted), after the cause is repaired.
enum class EngineFault {
  kLogRefusesAppends,   // A write failed (full disk, I/O error); reads still work.
  kProjectionsStopped,  // Applying events failed; views stay at their position.
};

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
  // The file system the log lives on; nullptr: the default. Tests inject
  // I/O failures with it.
  eventstore::StorageEnv log_env;
  // The file system the projections' RocksDB database lives on (their
  // directories and CURRENT stay on the default one); nullptr: the default.
  // Tests inject I/O failures with it.
  eventstore::StorageEnv projections_env;
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

  // Calls `listener` once for each fault, on the thread that met it, and at
  // once for faults met before. It must be fast and must not append. Every
  // fault is also counted in metrics(). Thread-safe.
  using FaultListener = std::function<void(EngineFault, const absl::Status& cause)>;
  void OnFault(FaultListener listener);

 private:
  Engine() = default;
  void Fault(EngineFault fault, const absl::Status& cause);

  const eventstore::Clock* clock_ = nullptr;
  std::unique_ptr<ServerMetrics> own_metrics_;  // When none was given.
  ServerMetrics* metrics_ = nullptr;
  std::unique_ptr<eventstore::EventLog> log_;
  std::unique_ptr<projections::ProjectionStore> store_;
  std::unique_ptr<projections::AccountViews> views_;
  std::unique_ptr<projections::Projector> projector_;

  absl::Mutex fault_mu_;
  std::vector<FaultListener> fault_listeners_ ABSL_GUARDED_BY(fault_mu_);
  std::vector<std::pair<EngineFault, absl::Status>> faults_ ABSL_GUARDED_BY(fault_mu_);
};

}  // namespace kam::services

#endif  // KAM_SERVICES_ENGINE_H_
