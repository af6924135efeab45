// The projector follows the log from the store's checkpoint and files every
// new event into the projection store, in log order, so views can be served
// from it. It runs on its own thread, woken by the log's commits.
//
//   Projector projector(log.get(), store.get());
//   KAM_RETURN_IF_ERROR(projector.Start());
//   ...
//   projector.WaitFor(append_result.last_position, absl::Now() + absl::Seconds(1));
//   projector.Stop();

#ifndef KAM_PROJECTIONS_PROJECTOR_H_
#define KAM_PROJECTIONS_PROJECTOR_H_

#include <cstdint>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "eventstore/event_log.h"
#include "projections/projection_store.h"

namespace kam::projections {

class Projector {
 public:
  // Called after each batch the store applied, on the projector's thread.
  using ApplyListener = std::function<void(absl::Span<const eventstore::RecordedEvent>)>;

  // Called once, on the projector's thread, when an error stops the
  // background thread (see status()).
  using FailureListener = std::function<void(const absl::Status& cause)>;

  // Neither `log` nor `store` is owned; both must outlive the projector.
  Projector(eventstore::EventLog* log, ProjectionStore* store, ApplyListener on_applied = nullptr,
            FailureListener on_failure = nullptr);
  ~Projector();  // Stops.

  Projector(const Projector&) = delete;
  Projector& operator=(const Projector&) = delete;

  // Applies everything up to the log's current head; returns the new
  // checkpoint. Not to be called while the background thread runs.
  absl::StatusOr<uint64_t> CatchUp();

  // Starts the background thread after a first CatchUp.
  absl::Status Start();
  // Stops and joins the thread; idempotent.
  void Stop();

  // Blocks until the projections include `position` or `deadline` passes;
  // returns the checkpoint then. Thread-safe.
  uint64_t WaitFor(uint64_t position, absl::Time deadline) const;

  // The error that stopped the background thread, if any.
  absl::Status status() const;

 private:
  absl::Status ApplyBatch(bool* applied_any);
  void Run();

  eventstore::EventLog* const log_;
  ProjectionStore* const store_;
  const ApplyListener on_applied_;
  const FailureListener on_failure_;
  uint64_t listener_id_ = 0;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t log_head_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t checkpoint_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kam::projections

#endif  // KAM_PROJECTIONS_PROJECTOR_H_
