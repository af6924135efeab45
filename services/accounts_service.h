// kam.v1.Accounts: recording what happened with an account as validated
// commands. A handler checks the caller's permission (Permission::kRecord),
// derives the event from the request, checks it with the domain's
// ValidateCommand (projections/command_validation.h) against the stream's
// state as recorded so far, and appends it to the account's stream
// ("account-<id>", or "catalog" for an empty account_id).
//
//   AccountsService accounts(engine, &authorizer, limits);
//   builder.RegisterService(&accounts);
//
// The recorded event: type "kam.v1.<kind's message>", data the AccountEvent
// as sent (deterministic serialization), occurred_at the event's, metadata
// {"request_id": <request_id>}.
//
// Idempotency is durable: the event id is derived from the request,
// "rq-" + the first 32 hex digits of SHA-256(stream || '\0' || request_id),
// so the log's permanent event-id index remembers every request_id, also
// across restarts. A request whose event id is recorded with the same
// content gets the first result back without being validated again; with
// other content it is ALREADY_EXISTS naming the request_id. An empty
// request_id is INVALID_ARGUMENT (the server cannot tell a retry from a new
// fact without it). The same request_id on two accounts is two facts.
//
// Concurrency: each stream is held by one writer from validation to the
// end of its append (whose ExpectedVersion is the exact version validated
// against), so commands of one account are validated and recorded one after
// the other while different accounts proceed in parallel and share the
// log's group commits. The validation state of recently used streams is
// cached; it is caught up from the log before every use, so events appended
// by other means (EventStore.Append) are seen. An append that still meets a
// version conflict is validated again and retried.
//
// RecordBatch reads the client's requests in chunks of kBatchChunk, groups a
// chunk by stream keeping the order sent, validates each request against its
// stream's state including the chunk's earlier requests, appends each
// stream's accepted events in one append, and hands all the chunk's appends
// to the log at once, so that they share commit groups (one fsync for many
// streams). A refused request does not stop the rest. Batches importing into
// the same accounts do not wait for each other's fsyncs: a batch decides on
// the state another batch's append in flight leaves, and appends expecting
// that version (if the one before fails, so does this one, and it is
// validated and appended again).
//
// Record is answered from the commit (gRPC's callback API): no thread waits
// for the fsync on its behalf, and a command for a stream that has an
// append in flight waits in the stream's queue. RecordBatch runs on gRPC's
// sync thread pool and blocks while the log syncs.

#ifndef KAM_SERVICES_ACCOUNTS_SERVICE_H_
#define KAM_SERVICES_ACCOUNTS_SERVICE_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "eventstore/event_log.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "grpcpp/support/sync_stream.h"
#include "kam/v1/accounts.grpc.pb.h"
#include "services/auth.h"
#include "services/engine.h"
#include "services/server.h"

namespace kam::services {

class AccountsService final
    : public kam::v1::Accounts::WithCallbackMethod_Record<kam::v1::Accounts::Service> {
 public:
  // Most requests in one RecordBatch call; more is RESOURCE_EXHAUSTED.
  static constexpr size_t kMaxBatchRequests = 100000;
  // Requests of a RecordBatch validated and appended together.
  static constexpr size_t kBatchChunk = 1000;
  // Longest request_id accepted, in bytes.
  static constexpr size_t kMaxRequestIdBytes = 256;
  // Appends tried per stream when other writers keep moving its version.
  static constexpr int kMaxAttempts = 5;
  // Events of validation state kept in memory over all cached streams;
  // streams not in use are dropped beyond it and read again when needed.
  static constexpr size_t kMaxCachedEvents = size_t{1} << 20;

  // None of the pointers is owned; all must outlive the service.
  AccountsService(Engine* engine, const Authorizer* authorizer, const ServiceLimits& limits);
  ~AccountsService() override;

  // Validates and records one event; returns its event id, stream version
  // and log position. Errors: INVALID_ARGUMENT naming the field for a
  // malformed request or an event wrong on its own; NOT_FOUND for an event
  // of an account that is not open; ALREADY_EXISTS for an AccountOpened of
  // an open account, or a request_id used before for another event;
  // FAILED_PRECONDITION for an event that contradicts the account's state;
  // ABORTED when expected_version is given and the stream is elsewhere; the
  // log's errors (UNAVAILABLE, INTERNAL, DATA_LOSS) as they are.
  grpc::ServerUnaryReactor* Record(grpc::CallbackServerContext* context,
                                   const kam::v1::RecordRequest* request,
                                   kam::v1::RecordResponse* response) override;

  // Records a stream of requests; one result per request in the order sent,
  // each with Record's outcome. `accepted` counts the recorded requests,
  // retries of recorded ones included. RESOURCE_EXHAUSTED when a call sends
  // more than kMaxBatchRequests requests, or its results outgrow one
  // response message (about 40,000 results with short request_ids in
  // 4 MiB): the requests before were processed, and sending them again with
  // the same request_ids returns their results.
  grpc::Status RecordBatch(grpc::ServerContext* context,
                           grpc::ServerReader<kam::v1::RecordRequest>* reader,
                           kam::v1::RecordBatchResponse* response) override;

  // One request on its way to the log (defined in the .cc).
  struct Command;

 private:
  class StreamCache;
  struct StreamSlot;
  struct SingleRecord;

  // Record's command: decided and appended at once when its stream is idle,
  // else queued on the stream until the append in flight is answered
  // (first when `handed_on`: Release gave it the stream).
  void StartRecord(SingleRecord* record, bool handed_on);
  // The answer to the append of `record`: concludes it, or tries again
  // after a version conflict, keeping the stream.
  void OnRecordAppended(SingleRecord* record, absl::StatusOr<eventstore::AppendResult> result);
  // Makes `slot` idle and returns the Record waiting first for it, if any.
  // The caller holds slot->mu.
  SingleRecord* Release(StreamSlot* slot);
  // Decides what is in `record` with the stream held; appends or answers.
  void DecideRecord(SingleRecord* record);
  // Answers the call and deletes `record`.
  void FinishRecord(SingleRecord* record);

  // Records `commands`, all of one stream and in order; sets each one's
  // outcome.
  void RecordInStream(absl::Span<Command* const> commands);
  struct Attempt;
  // One try of recording a stream's commands, with the stream's lock held:
  // Decide validates them against the stream's state and gives the append
  // to make; Conclude takes the append's result (ignored when the attempt
  // has no events) and sets each command's outcome, or returns false when
  // the append met a version conflict and should be tried again. Conclude
  // also reports the append to the metrics (from attempt.start) and brings
  // the cache's count of the slot's events up to date.
  Attempt Decide(StreamSlot* slot, absl::Span<Command* const> commands);
  bool Conclude(StreamSlot* slot, absl::Span<Command* const> commands, Attempt& attempt,
                const absl::StatusOr<eventstore::AppendResult>& result, bool last_try);
  // Records each group's commands (of one stream each, distinct streams).
  void RecordGroups(const std::vector<std::vector<Command*>>& groups);
  // Reads the stream's events beyond those the slot holds.
  absl::Status CatchUp(const std::string& stream, StreamSlot* slot) const;
  // Records one chunk of a batch; results go to `response` in order.
  // Returns the bytes they add to the response.
  size_t RecordChunk(absl::Span<const kam::v1::RecordRequest> chunk, uint64_t first_index,
                     kam::v1::RecordBatchResponse* response);

  Engine* const engine_;
  const Authorizer* const authorizer_;
  const ServiceLimits limits_;
  std::unique_ptr<StreamCache> cache_;
};

}  // namespace kam::services

#endif  // KAM_SERVICES_ACCOUNTS_SERVICE_H_
