// kam.v1.EventStore: the generic log over gRPC. Handlers check the caller's
// permission, convert, call the EventLog and map its status; the log owns
// every rule (limits, expected versions, idempotent retries).
//
//   EventStoreService event_store(engine, &authorizer, limits);
//   builder.RegisterService(&event_store);
//   ...
//   event_store.BeginShutdown();  // Ends live Subscribes, then:
//   server->Shutdown(deadline);
//
// Threads: appends go to the log's commit queue with AppendAsync and are
// answered from the commit, so concurrent callers share one fsync and no
// thread waits per call (the gRPC thread that finds the queue empty leads
// one group commit). Reads and subscriptions take one
// step at a time on a small shared pool: read a batch, write one message,
// and continue only when gRPC has taken it (flow control), so a slow reader
// holds at most one message and one batch on the server. A subscriber at the
// head waits for the log's head listener to wake it: no thread per
// subscriber, no polling.

#ifndef KAM_SERVICES_EVENT_STORE_SERVICE_H_
#define KAM_SERVICES_EVENT_STORE_SERVICE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "kam/v1/event_store.grpc.pb.h"
#include "services/auth.h"
#include "services/engine.h"
#include "services/server.h"

namespace kam::services {

class EventStoreService final : public kam::v1::EventStore::CallbackService {
 public:
  // `engine` and `authorizer` must outlive the service; the service must
  // outlive the grpc::Server it is registered with.
  EventStoreService(Engine* engine, const Authorizer* authorizer, const ServiceLimits& limits);
  ~EventStoreService() override;

  EventStoreService(const EventStoreService&) = delete;
  EventStoreService& operator=(const EventStoreService&) = delete;

  grpc::ServerUnaryReactor* Append(grpc::CallbackServerContext* context,
                                   const kam::v1::AppendRequest* request,
                                   kam::v1::AppendResponse* response) override;
  grpc::ServerWriteReactor<kam::v1::ReadStreamResponse>* ReadStream(
      grpc::CallbackServerContext* context, const kam::v1::ReadStreamRequest* request) override;
  grpc::ServerWriteReactor<kam::v1::ReadAllResponse>* ReadAll(
      grpc::CallbackServerContext* context, const kam::v1::ReadAllRequest* request) override;
  grpc::ServerWriteReactor<kam::v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context, const kam::v1::SubscribeRequest* request) override;
  grpc::ServerUnaryReactor* GetStreamInfo(grpc::CallbackServerContext* context,
                                          const kam::v1::GetStreamInfoRequest* request,
                                          kam::v1::GetStreamInfoResponse* response) override;

  // Makes every live Subscribe finish promptly with UNAVAILABLE "server
  // shutting down" (one whose client has stopped reading finishes when its
  // pending message is taken, or when the server's shutdown deadline cancels
  // it), and refuses later Subscribes the same way, so that a graceful
  // shutdown does not wait for endless streams. Idempotent; thread-safe.
  void BeginShutdown();

  // Subscribes not yet done (finished and cleaned up).
  size_t subscriber_count() const;
  // Messages written by Subscribes so far, over all subscribers. Lets tests
  // and metrics see that a stalled subscriber is held back, not buffered.
  uint64_t subscribe_messages_written() const {
    return subscribe_messages_written_.load(std::memory_order_relaxed);
  }

  class WorkerPool;
  class Subscription;

 private:
  void OnCommit();
  void WakeSubscriptions();
  bool Register(const std::shared_ptr<Subscription>& subscription);
  void Unregister(Subscription* subscription);

  Engine* const engine_;
  const Authorizer* const authorizer_;
  const ServiceLimits limits_;
  // Bytes of events per streamed message: about 1 MiB, well under the limit.
  const size_t message_bytes_;
  std::atomic<uint64_t> subscribe_messages_written_{0};
  uint64_t head_listener_id_ = 0;
  std::atomic<bool> wake_pending_{false};  // A WakeSubscriptions is scheduled.

  mutable absl::Mutex subscriptions_mu_;
  bool shutting_down_ ABSL_GUARDED_BY(subscriptions_mu_) = false;
  absl::flat_hash_map<Subscription*, std::weak_ptr<Subscription>> subscriptions_
      ABSL_GUARDED_BY(subscriptions_mu_);

  // Declared last: destroyed first, so that no task outlives what it uses.
  std::unique_ptr<WorkerPool> read_pool_;
};

}  // namespace kam::services

#endif  // KAM_SERVICES_EVENT_STORE_SERVICE_H_
