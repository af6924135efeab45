#include "services/engine.h"

#include "eventstore/rocksdb_log.h"
#include "eventstore/status_macros.h"
#include "projections/rebuild.h"

namespace kam::services {

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  std::unique_ptr<Engine> engine(new Engine());
  engine->clock_ = options.clock != nullptr ? options.clock : &eventstore::SystemClock();
  if (options.metrics == nullptr) engine->own_metrics_ = std::make_unique<ServerMetrics>();
  engine->metrics_ = options.metrics != nullptr ? options.metrics : engine->own_metrics_.get();
  eventstore::RocksDbLogOptions log_options;
  log_options.on_group_commit = [metrics = engine->metrics_](size_t appends, size_t events) {
    metrics->GroupCommitted(appends, events);
  };
  Engine* self = engine.get();
  log_options.on_appends_refused = [self](const absl::Status& cause) {
    self->Fault(EngineFault::kLogRefusesAppends, cause);
  };
  log_options.unsafe_skip_fsync_on_append = options.unsafe_skip_fsync_on_append;
  log_options.clock = engine->clock_;
  log_options.env = options.log_env;
  KAM_ASSIGN_OR_RETURN(engine->log_,
                       eventstore::OpenRocksDbLog(options.data_dir + "/log", log_options));
  KAM_ASSIGN_OR_RETURN(engine->store_,
                       projections::OpenCurrentProjections(options.data_dir + "/projections",
                                                           options.projections_env));
  engine->views_ = std::make_unique<projections::AccountViews>(engine->store_.get(), options.rules,
                                                               engine->clock_);
  KAM_RETURN_IF_ERROR(engine->views_->Load());
  engine->views_->StartWarming();
  engine->projector_ = std::make_unique<projections::Projector>(
      engine->log_.get(), engine->store_.get(), engine->views_->ApplyListener(),
      [self](const absl::Status& cause) { self->Fault(EngineFault::kProjectionsStopped, cause); });
  KAM_RETURN_IF_ERROR(engine->projector_->Start());
  return engine;
}

absl::StatusOr<uint64_t> Engine::Drain() {
  projector_->Stop();
  KAM_RETURN_IF_ERROR(projector_->status());
  return projector_->CatchUp();
}

void Engine::OnFault(FaultListener listener) {
  std::vector<std::pair<EngineFault, absl::Status>> met;
  {
    absl::MutexLock lock(&fault_mu_);
    fault_listeners_.push_back(listener);
    met = faults_;
  }
  for (const auto& [fault, cause] : met) listener(fault, cause);
}

void Engine::Fault(EngineFault fault, const absl::Status& cause) {
  if (fault == EngineFault::kLogRefusesAppends) metrics_->LogRefusesAppends();
  if (fault == EngineFault::kProjectionsStopped) metrics_->ProjectionsStopped();
  std::vector<FaultListener> listeners;
  {
    absl::MutexLock lock(&fault_mu_);
    faults_.emplace_back(fault, cause);
    listeners = fault_listeners_;
  }
  for (const FaultListener& listener : listeners) listener(fault, cause);
}

Engine::~Engine() {
  if (projector_ != nullptr) projector_->Stop();
  if (views_ != nullptr) views_->StopWarming();
  projector_.reset();
  views_.reset();
  store_.reset();
  log_.reset();
}

}  // namespace kam::services
