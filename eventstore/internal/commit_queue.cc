#include "eventstore/internal/commit_queue.h"

namespace kam::eventstore::internal {

std::vector<PendingAppend*> CommitQueue::TakeGroup() {
  std::vector<PendingAppend*> group;
  size_t bytes = 0;
  for (PendingAppend* next : queue_) {
    // The leader's own append always goes in, however big it is.
    if (!group.empty() &&
        (group.size() >= max_group_appends_ || bytes + next->bytes > max_group_bytes_)) {
      break;
    }
    group.push_back(next);
    bytes += next->bytes;
  }
  return group;
}

std::vector<PendingAppend*> CommitQueue::Join(PendingAppend* append) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(append);
  while (!append->done && queue_.front() != append) append->cv.Wait(&mu_);
  if (append->done) return {};
  return TakeGroup();
}

std::vector<PendingAppend*> CommitQueue::Enqueue(PendingAppend* append) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(append);
  if (queue_.front() != append) return {};  // A leader is at work; it takes this too.
  return TakeGroup();
}

std::vector<PendingAppend*> CommitQueue::Finish(const std::vector<PendingAppend*>& group,
                                                std::vector<PendingAppend*>* answered) {
  std::vector<PendingAppend*> next;
  absl::MutexLock lock(&mu_);
  for (PendingAppend* member : group) {
    queue_.pop_front();
    if (member->on_done) {
      answered->push_back(member);
      continue;
    }
    member->done = true;
    if (member != group.front()) member->cv.Signal();
  }
  if (!queue_.empty()) {
    if (queue_.front()->on_done) {
      next = TakeGroup();
    } else {
      queue_.front()->cv.Signal();
    }
  }
  return next;
}

void CommitQueue::Answer(std::vector<PendingAppend*>* answered) {
  for (PendingAppend* member : *answered) {
    member->on_done(std::move(member->result));
    delete member;
  }
  answered->clear();
}

void Handover::Put(std::vector<PendingAppend*> appends) {
  absl::MutexLock lock(&mu_);
  if (appends_.empty()) {
    appends_ = std::move(appends);
  } else {
    appends_.insert(appends_.end(), appends.begin(), appends.end());
  }
}

std::vector<PendingAppend*> Handover::Take() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](Handover* h)
           ABSL_EXCLUSIVE_LOCKS_REQUIRED(h->mu_) { return !h->appends_.empty() || h->stopped_; },
      this));
  std::vector<PendingAppend*> taken;
  taken.swap(appends_);
  return taken;
}

void Handover::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

}  // namespace kam::eventstore::internal
