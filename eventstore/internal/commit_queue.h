// The leader/follower commit queue (the pattern of LevelDB's DBImpl::Write):
// appenders line up; the one at the front becomes the leader, takes a group
// of the appenders behind it, commits the whole group with one write and one
// fsync, then answers every member. Nobody is answered before the group's
// write is durable.

#ifndef KAM_EVENTSTORE_INTERNAL_COMMIT_QUEUE_H_
#define KAM_EVENTSTORE_INTERNAL_COMMIT_QUEUE_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "eventstore/event_log.h"

namespace kam::eventstore::internal {

// One caller's append. A blocking Append owns it on its stack while it
// waits; an asynchronous one owns its data here and is answered through
// `on_done`, then deleted by the queue.
struct PendingAppend {
  PendingAppend(absl::string_view s, ExpectedVersion e, absl::Span<const EventData> ev, size_t b)
      : stream(s), expected(e), events(ev), bytes(b) {}

  absl::string_view stream;
  ExpectedVersion expected;
  absl::Span<const EventData> events;
  size_t bytes;
  absl::StatusOr<AppendResult> result = absl::UnknownError("not committed");
  bool done = false;
  absl::CondVar cv;

  // Asynchronous appends only.
  std::string owned_stream;
  std::vector<EventData> owned_events;
  std::function<void(absl::StatusOr<AppendResult>)> on_done;
};

class CommitQueue {
 public:
  CommitQueue(size_t max_group_appends, size_t max_group_bytes)
      : max_group_appends_(max_group_appends), max_group_bytes_(max_group_bytes) {}

  // Lines `append` up. Returns the group to commit when the caller became
  // the leader (the group starts with `append`), or an empty group once
  // another leader has answered `append`.
  std::vector<PendingAppend*> Join(PendingAppend* append);

  // Lines up an asynchronous append (see PendingAppend), which nobody waits
  // for: returns the group to commit when the caller must lead (the queue
  // was empty), else an empty group.
  std::vector<PendingAppend*> Enqueue(PendingAppend* append);

  // Called by the leader after setting every member's result: wakes the
  // blocked members, moves the asynchronous ones to *answered (for Answer)
  // and hands leadership on. When the next in line is asynchronous (nobody
  // waits to lead), returns its group for the caller to commit next.
  std::vector<PendingAppend*> Finish(const std::vector<PendingAppend*>& group,
                                     std::vector<PendingAppend*>* answered);

  // Answers asynchronous appends that Finish gave back, and deletes them.
  static void Answer(std::vector<PendingAppend*>* answered);

 private:
  std::vector<PendingAppend*> TakeGroup() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_group_appends_;
  const size_t max_group_bytes_;
  absl::Mutex mu_;
  std::deque<PendingAppend*> queue_ ABSL_GUARDED_BY(mu_);
};

// Appends passed from one thread to another: Put adds, Take waits until
// there are some (or Stop was called) and takes them all.
class Handover {
 public:
  void Put(std::vector<PendingAppend*> appends);
  // Empty only once stopped and everything put was taken.
  std::vector<PendingAppend*> Take();
  void Stop();

 private:
  absl::Mutex mu_;
  std::vector<PendingAppend*> appends_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kam::eventstore::internal

#endif  // KAM_EVENTSTORE_INTERNAL_COMMIT_QUEUE_H_
