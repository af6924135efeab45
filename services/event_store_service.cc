#include "services/event_store_service.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "eventstore/status_macros.h"
#include "services/conversions.h"
#include "services/grpc_status.h"

namespace kam::services {

namespace {

using eventstore::RecordedEvent;

// Appends wait in the log's group commit for about one fsync; every waiting
// append is one thread here, and the more wait together, the more share one
// fsync.
// Reads never block on anything but RocksDB; a few threads keep both cores
// busy without starving appends.
constexpr int kReadThreads = 4;
// A message is about this big: batches keep reads fast (API.md).
constexpr size_t kTargetMessageBytes = 1 << 20;
// Events a single read of the log may return, whatever their size.
constexpr size_t kMaxBatchEvents = 2048;
// A filtered subscriber hears where it is after at most this many skipped
// positions, so that it can resume without rescanning them.
constexpr uint64_t kProgressEvery = 65536;

// What an encoded event costs in a message, from its fields: close enough to
// fill messages to about kTargetMessageBytes without encoding twice.
size_t EstimatedBytes(const RecordedEvent& e) {
  size_t bytes = e.event_id.size() + e.stream.size() + e.type.size() + e.data.size() +
                 e.prev_hash.size() + e.hash.size() + 96;
  for (const auto& [key, value] : e.metadata) bytes += key.size() + value.size() + 8;
  return bytes;
}

// Sizes each read of the log to about one message: many small events, few
// large ones. It starts cautious, as the events' size is not known yet.
class BatchSizer {
 public:
  size_t Next() const {
    return std::clamp<size_t>(kTargetMessageBytes / std::max<size_t>(event_bytes_, 1), 1,
                              kMaxBatchEvents);
  }
  void Observe(const std::vector<RecordedEvent>& events) {
    if (events.empty()) return;
    size_t total = 0;
    for (const RecordedEvent& e : events) total += EstimatedBytes(e);
    event_bytes_ = total / events.size();
  }

 private:
  size_t event_bytes_ = 16 << 10;
};

// Converts events[*next...] into `out` while it stays under `max_bytes`,
// always at least one, advancing *next.
template <typename Response>
void PackEvents(const std::vector<RecordedEvent>& events, size_t* next, size_t max_bytes,
                Response* out) {
  size_t bytes = 0;
  for (; *next < events.size(); ++*next) {
    const size_t size = EstimatedBytes(events[*next]);
    if (bytes > 0 && bytes + size > max_bytes) break;
    bytes += size;
    ToProto(events[*next], out->add_events());
  }
}

absl::StatusOr<eventstore::Direction> DirectionFromProto(kam::v1::Direction direction) {
  switch (direction) {
    case kam::v1::DIRECTION_UNSPECIFIED:
    case kam::v1::DIRECTION_FORWARD:
      return eventstore::Direction::kForward;
    case kam::v1::DIRECTION_BACKWARD:
      return eventstore::Direction::kBackward;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("direction: unknown value ", static_cast<int>(direction)));
  }
}

absl::StatusOr<std::vector<eventstore::EventData>> EventsFromProto(
    const google::protobuf::RepeatedPtrField<kam::v1::EventData>& events) {
  std::vector<eventstore::EventData> out;
  out.reserve(events.size());
  for (int i = 0; i < events.size(); ++i) {
    KAM_RETURN_IF_ERROR(
        ValidateTimestamp(events[i].occurred_at(), absl::StrCat("events[", i, "].occurred_at")));
    out.push_back(FromProto(events[i]));
  }
  return out;
}

// One step of a read: its events in the read's order, where it continues,
// and whether anything follows.
struct Batch {
  std::vector<RecordedEvent> events;
  uint64_t next_position = 0;  // ReadAll only.
  bool last = false;
};

// The events of one ReadAll, batch by batch. A forward read ends at the head
// as it was when the read started, so it ends even while appends go on.
class LogRange {
 public:
  LogRange(const eventstore::EventLog& log, const kam::v1::ReadAllRequest& request,
           eventstore::Direction direction)
      : log_(log),
        direction_(direction),
        filter_(FromProto(request.filter())),
        next_(request.from_position()),
        remaining_(request.max_count() == 0 ? std::numeric_limits<uint64_t>::max()
                                            : request.max_count()),
        end_(log.Head().position) {}

  absl::StatusOr<Batch> Next(size_t max_events) {
    const size_t count = static_cast<size_t>(std::min<uint64_t>(max_events, remaining_));
    KAM_ASSIGN_OR_RETURN(eventstore::ReadAllResult read,
                         log_.ReadAll(next_, direction_, count, filter_));
    Batch batch;
    batch.events = std::move(read.events);
    if (direction_ == eventstore::Direction::kForward) {
      // What was appended after the read started is not part of it.
      while (!batch.events.empty() && batch.events.back().position > end_) {
        batch.events.pop_back();
      }
      next_ = std::min(read.next_position, std::max(end_ + 1, next_));
      batch.last = next_ > end_;
    } else {
      next_ = read.next_position;
      batch.last = read.end_of_log;
    }
    remaining_ -= batch.events.size();
    batch.last = batch.last || remaining_ == 0;
    batch.next_position = next_;
    return batch;
  }

 private:
  const eventstore::EventLog& log_;
  const eventstore::Direction direction_;
  const eventstore::LogFilter filter_;
  uint64_t next_;
  uint64_t remaining_;
  const uint64_t end_;  // Forward: the head when the read started.
};

// The events of one ReadStream, batch by batch; a forward read ends at the
// head as it was when the read started.
class StreamRange {
 public:
  StreamRange(const eventstore::EventLog& log, const kam::v1::ReadStreamRequest& request,
              eventstore::Direction direction)
      : log_(log),
        stream_(request.stream()),
        direction_(direction),
        next_version_(request.has_from_version() ? request.from_version()
                      : direction == eventstore::Direction::kForward
                          ? 0
                          : std::numeric_limits<uint64_t>::max()),
        remaining_(request.max_count() == 0 ? std::numeric_limits<uint64_t>::max()
                                            : request.max_count()),
        end_(log.Head().position) {}

  absl::StatusOr<Batch> Next(size_t max_events) {
    const size_t count = static_cast<size_t>(std::min<uint64_t>(max_events, remaining_));
    KAM_ASSIGN_OR_RETURN(std::vector<RecordedEvent> events,
                         log_.ReadStream(stream_, next_version_, direction_, count));
    Batch batch;
    batch.last = events.size() < count;
    batch.events = std::move(events);
    if (direction_ == eventstore::Direction::kForward) {
      while (!batch.events.empty() && batch.events.back().position > end_) {
        batch.events.pop_back();
        batch.last = true;
      }
      if (!batch.events.empty()) next_version_ = batch.events.back().version + 1;
    } else if (!batch.events.empty()) {
      const uint64_t version = batch.events.back().version;
      if (version == 0) batch.last = true;
      next_version_ = version - 1;
    }
    remaining_ -= batch.events.size();
    batch.last = batch.last || remaining_ == 0;
    return batch;
  }

 private:
  const eventstore::EventLog& log_;
  const std::string stream_;
  const eventstore::Direction direction_;
  uint64_t next_version_;
  uint64_t remaining_;
  const uint64_t end_;
};

void SetNextPosition(kam::v1::ReadAllResponse* response, uint64_t position) {
  response->set_next_position(position);
}
void SetNextPosition(kam::v1::ReadStreamResponse*, uint64_t) {}

// A call refused before it started: finishes at once, sends nothing.
template <typename Response>
class RefusedWrite final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RefusedWrite(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

// A fixed set of threads running tasks in the order they were scheduled.
// The destructor runs what is still queued (tasks may schedule more), then
// joins.
class EventStoreService::WorkerPool {
 public:
  explicit WorkerPool(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~WorkerPool() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      ready_.SignalAll();
    }
    for (std::thread& t : threads_) t.join();
  }

  void Schedule(std::function<void()> task) {
    absl::MutexLock lock(&mu_);
    tasks_.push_back(std::move(task));
    ready_.Signal();
  }

 private:
  void Run() {
    while (true) {
      std::function<void()> task;
      {
        absl::MutexLock lock(&mu_);
        while (tasks_.empty() && !stopping_) ready_.Wait(&mu_);
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  absl::Mutex mu_;
  absl::CondVar ready_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

namespace {

// ReadStream and ReadAll: read a batch, write one message of it, and take the
// next step only once gRPC has taken the message. Steps run on the read pool
// one after another, so the fields below have one user at a time; Finish is
// called once, by the step or write that ends the call, and OnDone follows
// it, so no step is pending when the reactor deletes itself.
template <typename Response, typename Source>
class ReadReactor final : public grpc::ServerWriteReactor<Response> {
 public:
  ReadReactor(EventStoreService::WorkerPool* pool, size_t message_bytes, Source source)
      : pool_(pool), message_bytes_(message_bytes), source_(std::move(source)) {
    ScheduleStep();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the reader went away"));
      return;
    }
    ScheduleStep();
  }
  void OnCancel() override { cancelled_.store(true, std::memory_order_relaxed); }
  void OnDone() override { delete this; }

 private:
  // ReadAll tells where to continue, even after a range the filter emptied.
  static constexpr bool kReportsPosition = std::is_same_v<Response, kam::v1::ReadAllResponse>;

  void ScheduleStep() {
    pool_->Schedule([this] { Step(); });
  }

  void Step() {
    if (cancelled_.load(std::memory_order_relaxed)) {
      this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
      return;
    }
    if (next_event_ == pending_.size() && !source_done_) {
      absl::StatusOr<Batch> batch = source_.Next(sizer_.Next());
      if (!batch.ok()) {
        this->Finish(ToGrpcStatus(batch.status()));
        return;
      }
      sizer_.Observe(batch->events);
      pending_ = std::move(batch->events);
      next_event_ = 0;
      next_position_ = batch->next_position;
      source_done_ = batch->last;
    }
    response_.Clear();
    PackEvents(pending_, &next_event_, message_bytes_, &response_);
    const bool all_read = source_done_ && next_event_ == pending_.size();
    const uint64_t next =
        next_event_ < pending_.size() ? pending_[next_event_].position : next_position_;
    const bool position_untold = kReportsPosition && all_read && sent_position_ != next;
    if (response_.events_size() > 0 || position_untold) {
      SetNextPosition(&response_, next);
      sent_position_ = next;
      this->StartWrite(&response_);
      return;
    }
    if (all_read) {
      this->Finish(grpc::Status::OK);
      return;
    }
    ScheduleStep();  // The filter emptied this batch: let other reads run first.
  }

  EventStoreService::WorkerPool* const pool_;
  const size_t message_bytes_;
  Source source_;
  std::atomic<bool> cancelled_{false};
  BatchSizer sizer_;
  std::vector<RecordedEvent> pending_;
  size_t next_event_ = 0;  // The first event of pending_ not yet written.
  uint64_t next_position_ = 0;
  bool source_done_ = false;
  std::optional<uint64_t> sent_position_;
  Response response_;
};

}  // namespace

// One Subscribe. It reads the log from next_position in batches and writes
// one message at a time; at the head it waits until the service's head
// listener wakes it. Catch-up and live are the same loop.
//
// phase_ says who owns the call's next move, so that Finish is called once
// and never while a step or write is under way:
//   kReading  a step is scheduled or running on the read pool;
//   kWriting  a message is with gRPC until OnWriteDone;
//   kWaiting  at the head, nothing under way: a commit, a cancel or
//             BeginShutdown moves it on;
//   kFinished Finish was called.
// The fields below mu_'s are used only by the owner of kReading.
// The reactor lives until OnDone and until the last pool task holding it; it
// is in the service's registry from Start until OnDone.
class EventStoreService::Subscription final
    : public grpc::ServerWriteReactor<kam::v1::SubscribeResponse>,
      public std::enable_shared_from_this<Subscription> {
 public:
  Subscription(EventStoreService* service, const kam::v1::SubscribeRequest& request)
      : service_(service),
        log_(service->engine_->log()),
        filter_(FromProto(request.filter())),
        read_position_(std::max<uint64_t>(request.from_position(), 1)) {}

  // Finishes at once with `status`.
  void Refuse(const grpc::Status& status) {
    self_ = shared_from_this();
    {
      absl::MutexLock lock(&mu_);
      phase_ = Phase::kFinished;
    }
    Finish(status);
  }

  void Start() {
    self_ = shared_from_this();
    if (!service_->Register(self_)) {
      Refuse(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
      return;
    }
    ScheduleStep();
  }

  // After a commit: a waiting subscription reads on. Quick; takes only mu_
  // and the pool's lock.
  void OnCommit() {
    {
      absl::MutexLock lock(&mu_);
      wake_ = true;
      if (phase_ != Phase::kWaiting) return;
      phase_ = Phase::kReading;
    }
    ScheduleStep();
  }

  // Ends the call with `status` as soon as nothing is under way.
  void Stop(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (phase_ == Phase::kFinished) return;
      if (!stop_.has_value()) stop_ = status;
      if (phase_ != Phase::kWaiting) return;  // The owner of the call sees stop_.
      phase_ = Phase::kFinished;
    }
    Finish(status);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      EndWith(grpc::Status(grpc::StatusCode::CANCELLED, "the subscriber went away"));
      return;
    }
    if (std::optional<grpc::Status> stop = Advance(Phase::kReading)) {
      Finish(*stop);
      return;
    }
    ScheduleStep();
  }

  void OnCancel() override { Stop(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")); }

  void OnDone() override {
    service_->Unregister(this);  // After this no commit or shutdown reaches it.
    std::shared_ptr<Subscription> self = std::move(self_);  // May be the last owner.
  }

 private:
  enum class Phase { kReading, kWriting, kWaiting, kFinished };

  void ScheduleStep() {
    service_->read_pool_->Schedule([self = shared_from_this()] { self->Step(); });
  }

  // Moves to `next`, or, when a stop was asked for, takes the call over to
  // finish it and returns the stop's status.
  std::optional<grpc::Status> Advance(Phase next) {
    absl::MutexLock lock(&mu_);
    if (stop_.has_value()) {
      phase_ = Phase::kFinished;
      return stop_;
    }
    phase_ = next;
    // A step reads from here on: it sees the commits before this point, and
    // those after it set wake_ again.
    if (next == Phase::kReading) wake_ = false;
    return std::nullopt;
  }

  void EndWith(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      phase_ = Phase::kFinished;
    }
    Finish(status);
  }

  void Step() {
    if (std::optional<grpc::Status> stop = Advance(Phase::kReading)) {
      Finish(*stop);
      return;
    }
    if (next_event_ == pending_.size()) {
      if (absl::Status read = ReadBatch(); !read.ok()) {
        EndWith(ToGrpcStatus(read));
        return;
      }
    }
    response_.Clear();
    PackEvents(pending_, &next_event_, service_->message_bytes_, &response_);
    const bool batch_written = next_event_ == pending_.size();
    const uint64_t next = batch_written ? read_position_ : pending_[next_event_].position;
    response_.set_next_position(next);
    if (batch_written && at_head_ && !caught_up_sent_) response_.set_caught_up(true);
    if (response_.events_size() > 0 || response_.caught_up() ||
        next - sent_position_ >= kProgressEvery) {
      Write();
    } else if (!at_head_) {
      ScheduleStep();  // The filter emptied this batch: let other reads run first.
    } else {
      Wait();
    }
  }

  absl::Status ReadBatch() {
    KAM_ASSIGN_OR_RETURN(
        eventstore::ReadAllResult read,
        log_.ReadAll(read_position_, eventstore::Direction::kForward, sizer_.Next(), filter_));
    sizer_.Observe(read.events);
    pending_ = std::move(read.events);
    next_event_ = 0;
    read_position_ = read.next_position;
    at_head_ = read.end_of_log;
    return absl::OkStatus();
  }

  void Write() {
    if (std::optional<grpc::Status> stop = Advance(Phase::kWriting)) {
      Finish(*stop);
      return;
    }
    sent_position_ = response_.next_position();
    caught_up_sent_ = caught_up_sent_ || response_.caught_up();
    service_->subscribe_messages_written_.fetch_add(1, std::memory_order_relaxed);
    const uint64_t head = log_.Head().position;
    service_->engine_->metrics().SubscriberLag(head >= sent_position_ ? head + 1 - sent_position_
                                                                      : 0);
    StartWrite(&response_);
  }

  void Wait() {
    // A subscriber may wait long: it keeps no batch or message meanwhile.
    std::vector<RecordedEvent>().swap(pending_);
    next_event_ = 0;
    kam::v1::SubscribeResponse().Swap(&response_);
    {
      absl::MutexLock lock(&mu_);
      if (!stop_.has_value() && !wake_) {
        phase_ = Phase::kWaiting;
        return;
      }
    }
    // A commit or a stop came during the read: go on (Step sees a stop).
    ScheduleStep();
  }

  EventStoreService* const service_;
  const eventstore::EventLog& log_;
  const eventstore::LogFilter filter_;
  std::shared_ptr<Subscription> self_;  // Keeps the reactor until OnDone.

  absl::Mutex mu_;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kReading;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;  // A commit since the last read began.
  std::optional<grpc::Status> stop_ ABSL_GUARDED_BY(mu_);

  BatchSizer sizer_;
  std::vector<RecordedEvent> pending_;
  size_t next_event_ = 0;   // The first event of pending_ not yet written.
  uint64_t read_position_;  // Where the next read of the log starts.
  bool at_head_ = false;    // The last read reached the head.
  bool caught_up_sent_ = false;
  uint64_t sent_position_ = 0;  // next_position of the last message written.
  kam::v1::SubscribeResponse response_;
};

EventStoreService::EventStoreService(Engine* engine, const Authorizer* authorizer,
                                     const ServiceLimits& limits)
    : engine_(engine),
      authorizer_(authorizer),
      limits_(limits),
      message_bytes_(std::clamp<size_t>(static_cast<size_t>(limits_.max_message_bytes) / 4, 1,
                                        kTargetMessageBytes)),
      read_pool_(std::make_unique<WorkerPool>(kReadThreads)) {
  head_listener_id_ = engine_->log().AddHeadListener([this](uint64_t) { OnCommit(); });
}

EventStoreService::~EventStoreService() { engine_->log().RemoveHeadListener(head_listener_id_); }

// On the committing thread: one flag and at most one task, however many
// subscribers there are, so that subscribers never slow appends down.
void EventStoreService::OnCommit() {
  if (wake_pending_.exchange(true)) return;  // The pending wake covers this commit.
  read_pool_->Schedule([this] { WakeSubscriptions(); });
}

void EventStoreService::WakeSubscriptions() {
  // Commits from here on schedule another wake.
  wake_pending_.store(false);
  absl::MutexLock lock(&subscriptions_mu_);
  // Registered subscriptions are alive: OnDone unregisters before release.
  for (const auto& [subscription, weak] : subscriptions_) {
    subscription->OnCommit();
  }
}

grpc::ServerUnaryReactor* EventStoreService::Append(grpc::CallbackServerContext* context,
                                                    const kam::v1::AppendRequest* request,
                                                    kam::v1::AppendResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status allowed = authorizer_->Check(*context, Permission::kAppend); !allowed.ok()) {
    reactor->Finish(allowed);
    return reactor;
  }
  absl::StatusOr<std::vector<eventstore::EventData>> events = EventsFromProto(request->events());
  if (!events.ok()) {
    reactor->Finish(ToGrpcStatus(events.status()));
    return reactor;
  }
  // The log validates the rest (names the field). The call is answered from
  // the commit, so no thread waits for the fsync on its behalf.
  engine_->log().AppendAsync(
      request->stream(), FromProto(request->expected_version()), std::move(*events),
      [this, reactor, response,
       start = absl::Now()](absl::StatusOr<eventstore::AppendResult> result) {
        if (result.ok()) {
          engine_->metrics().AppendDone(absl::Now() - start,
                                        result->last_position - result->first_position + 1);
          response->set_first_version(result->first_version);
          response->set_last_version(result->last_version);
          response->set_first_position(result->first_position);
          response->set_last_position(result->last_position);
        }
        reactor->Finish(ToGrpcStatus(result.status()));
      });
  return reactor;
}

grpc::ServerWriteReactor<kam::v1::ReadStreamResponse>* EventStoreService::ReadStream(
    grpc::CallbackServerContext* context, const kam::v1::ReadStreamRequest* request) {
  using Response = kam::v1::ReadStreamResponse;
  if (grpc::Status allowed = authorizer_->Check(*context, Permission::kReadLog); !allowed.ok()) {
    return new RefusedWrite<Response>(allowed);
  }
  absl::StatusOr<eventstore::Direction> direction = DirectionFromProto(request->direction());
  if (!direction.ok()) return new RefusedWrite<Response>(ToGrpcStatus(direction.status()));
  return new ReadReactor<Response, StreamRange>(read_pool_.get(), message_bytes_,
                                                StreamRange(engine_->log(), *request, *direction));
}

grpc::ServerWriteReactor<kam::v1::ReadAllResponse>* EventStoreService::ReadAll(
    grpc::CallbackServerContext* context, const kam::v1::ReadAllRequest* request) {
  using Response = kam::v1::ReadAllResponse;
  if (grpc::Status allowed = authorizer_->Check(*context, Permission::kReadLog); !allowed.ok()) {
    return new RefusedWrite<Response>(allowed);
  }
  absl::StatusOr<eventstore::Direction> direction = DirectionFromProto(request->direction());
  if (!direction.ok()) return new RefusedWrite<Response>(ToGrpcStatus(direction.status()));
  return new ReadReactor<Response, LogRange>(read_pool_.get(), message_bytes_,
                                             LogRange(engine_->log(), *request, *direction));
}

grpc::ServerWriteReactor<kam::v1::SubscribeResponse>* EventStoreService::Subscribe(
    grpc::CallbackServerContext* context, const kam::v1::SubscribeRequest* request) {
  auto subscription = std::make_shared<Subscription>(this, *request);
  if (grpc::Status allowed = authorizer_->Check(*context, Permission::kReadLog); !allowed.ok()) {
    subscription->Refuse(allowed);
  } else {
    subscription->Start();
  }
  return subscription.get();
}

grpc::ServerUnaryReactor* EventStoreService::GetStreamInfo(
    grpc::CallbackServerContext* context, const kam::v1::GetStreamInfoRequest* request,
    kam::v1::GetStreamInfoResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status allowed = authorizer_->Check(*context, Permission::kReadLog); !allowed.ok()) {
    reactor->Finish(allowed);
    return reactor;
  }
  // A point read of one stream's metadata: quick enough for this thread.
  absl::StatusOr<eventstore::StreamInfo> info = engine_->log().GetStreamInfo(request->stream());
  if (info.ok()) {
    response->set_last_version(info->last_version);
    response->set_last_position(info->last_position);
    response->set_event_count(info->event_count);
    *response->mutable_first_recorded_at() = ToProto(info->first_recorded_at);
    *response->mutable_last_recorded_at() = ToProto(info->last_recorded_at);
  }
  reactor->Finish(ToGrpcStatus(info.status()));
  return reactor;
}

void EventStoreService::BeginShutdown() {
  std::vector<std::shared_ptr<Subscription>> live;
  {
    absl::MutexLock lock(&subscriptions_mu_);
    shutting_down_ = true;
    for (const auto& [key, weak] : subscriptions_) {
      if (std::shared_ptr<Subscription> subscription = weak.lock()) {
        live.push_back(std::move(subscription));
      }
    }
  }
  // Outside the registry's lock: a finished call unregisters itself.
  for (const std::shared_ptr<Subscription>& subscription : live) {
    subscription->Stop(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
  }
}

size_t EventStoreService::subscriber_count() const {
  absl::MutexLock lock(&subscriptions_mu_);
  return subscriptions_.size();
}

bool EventStoreService::Register(const std::shared_ptr<Subscription>& subscription) {
  {
    absl::MutexLock lock(&subscriptions_mu_);
    if (shutting_down_) return false;
    subscriptions_.emplace(subscription.get(), subscription);
  }
  engine_->metrics().SubscriberAdded();
  return true;
}

void EventStoreService::Unregister(Subscription* subscription) {
  {
    absl::MutexLock lock(&subscriptions_mu_);
    if (subscriptions_.erase(subscription) == 0) return;
  }
  engine_->metrics().SubscriberRemoved();
}

}  // namespace kam::services
