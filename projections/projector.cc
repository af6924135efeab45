#include "projections/projector.h"

#include <utility>

#include "eventstore/status_macros.h"

namespace kam::projections {

namespace {
constexpr size_t kEventsPerBatch = 4096;
}  // namespace

Projector::Projector(eventstore::EventLog* log, ProjectionStore* store, ApplyListener on_applied,
                     FailureListener on_failure)
    : log_(log),
      store_(store),
      on_applied_(std::move(on_applied)),
      on_failure_(std::move(on_failure)) {
  absl::MutexLock lock(&mu_);
  checkpoint_ = store_->checkpoint().position;
}

Projector::~Projector() { Stop(); }

absl::Status Projector::ApplyBatch(bool* applied_any) {
  const uint64_t from = store_->checkpoint().position + 1;
  KAM_ASSIGN_OR_RETURN(eventstore::ReadAllResult read,
                       log_->ReadAll(from, eventstore::Direction::kForward, kEventsPerBatch,
                                     eventstore::LogFilter()));
  *applied_any = !read.events.empty();
  if (read.events.empty()) return absl::OkStatus();
  KAM_RETURN_IF_ERROR(store_->Apply(read.events));
  if (on_applied_) on_applied_(read.events);
  absl::MutexLock lock(&mu_);
  checkpoint_ = read.events.back().position;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Projector::CatchUp() {
  const uint64_t head = log_->Head().position;
  while (store_->checkpoint().position < head) {
    bool applied_any = false;
    KAM_RETURN_IF_ERROR(ApplyBatch(&applied_any));
    if (!applied_any) break;
  }
  return store_->checkpoint().position;
}

absl::Status Projector::Start() {
  KAM_RETURN_IF_ERROR(CatchUp().status());
  listener_id_ = log_->AddHeadListener([this](uint64_t head) {
    absl::MutexLock lock(&mu_);
    log_head_ = head;
  });
  {
    absl::MutexLock lock(&mu_);
    stop_ = false;
    log_head_ = log_->Head().position;
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void Projector::Stop() {
  if (!thread_.joinable()) return;
  log_->RemoveHeadListener(listener_id_);
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void Projector::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stop_ || log_head_ > checkpoint_;
      };
      mu_.Await(absl::Condition(&has_work));
      if (stop_) return;
    }
    bool applied_any = false;
    absl::Status s = ApplyBatch(&applied_any);
    if (!s.ok()) {
      {
        absl::MutexLock lock(&mu_);
        status_ = s;
      }
      if (on_failure_) on_failure_(s);
      return;
    }
  }
}

uint64_t Projector::WaitFor(uint64_t position, absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto reached = [this, position]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return checkpoint_ >= position || !status_.ok();
  };
  mu_.AwaitWithDeadline(absl::Condition(&reached), deadline);
  return checkpoint_;
}

absl::Status Projector::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

}  // namespace kam::projections
