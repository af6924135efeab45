#include "eventstore/internal/commit_queue.h"

namespace kam::eventstore::internal {

std::vector<PendingAppend*> CommitQueue::Join(PendingAppend* append) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(append);
  while (!append->done && queue_.front() != append) append->cv.Wait(&mu_);
  if (append->done) return {};

  std::vector<PendingAppend*> group;
  size_t bytes = 0;
  for (PendingAppend* next : queue_) {
    // The leader's own append always goes in, however big it is.
    if (!group.empty() && (group.size() >= max_group_appends_ ||
                           bytes + next->bytes > max_group_bytes_)) {
      break;
    }
    group.push_back(next);
    bytes += next->bytes;
  }
  return group;
}

void CommitQueue::Finish(const std::vector<PendingAppend*>& group) {
  absl::MutexLock lock(&mu_);
  for (PendingAppend* member : group) {
    queue_.pop_front();
    member->done = true;
    if (member != group.front()) member->cv.Signal();
  }
  if (!queue_.empty()) queue_.front()->cv.Signal();
}

}  // namespace kam::eventstore::internal
