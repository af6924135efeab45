#include "services/accounts_service.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/canonical_encoding.h"
#include "eventstore/limits.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "projections/command_validation.h"
#include "projections/history.h"
#include "projections/projection_store.h"
#include "services/conversions.h"
#include "services/grpc_status.h"

namespace kam::services {

// A request on its way to the log, and its outcome.
struct AccountsService::Command {
  const kam::v1::RecordRequest* request = nullptr;
  std::string stream;
  eventstore::EventData data;
  // The outcome: OK with `recorded`, or why the request was refused.
  absl::Status status;
  kam::v1::RecordResponse recorded;
};

// The validation state of one stream and the version it reflects.
struct AccountsService::StreamSlot {
  absl::Mutex mu;
  projections::RecordedState state ABSL_GUARDED_BY(mu);
  // Versions below it are folded into `state` (or were not AccountEvents),
  // including those of the batch appends in flight.
  uint64_t next_version ABSL_GUARDED_BY(mu) = 0;
  // False while an append decided on `state` is not answered yet: only
  // further batch appends are decided meanwhile (see Stackable). Only
  // Release makes it true again.
  bool idle ABSL_GUARDED_BY(mu) = true;
  // RecordGroups' appends in flight, each decided on the state the ones
  // before it leave; they reach the log in the order decided (tickets).
  int batch_appends ABSL_GUARDED_BY(mu) = 0;
  // `state` holds the events of every batch append in flight: no Reset
  // since the first of them.
  bool stackable ABSL_GUARDED_BY(mu) = false;
  // Blocking recorders waiting for the stream to be idle.
  int blocked ABSL_GUARDED_BY(mu) = 0;
  // Counts Resets: an answer to an append decided before one does not move
  // next_version.
  uint64_t generation ABSL_GUARDED_BY(mu) = 0;
  // Records waiting for the stream to be idle, first come first.
  std::deque<SingleRecord*> waiting ABSL_GUARDED_BY(mu);
  // Events of `state`, as last counted into the cache's total.
  std::atomic<size_t> counted{0};
  // Batch appends are handed to the log in ticket order, outside `mu` (an
  // append refused at once is answered on the caller's thread).
  uint64_t next_ticket ABSL_GUARDED_BY(mu) = 0;
  absl::Mutex order_mu;
  uint64_t turn ABSL_GUARDED_BY(order_mu) = 0;

  void Reset() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    state = projections::RecordedState();
    next_version = 0;
    stackable = false;
    ++generation;
  }

  // A batch may decide now: the stream is idle, or held only by batch
  // appends whose events `state` holds, and nobody waits for it to be
  // idle (stacking would starve them).
  bool Stackable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return idle || (batch_appends > 0 && stackable && waiting.empty() && blocked == 0);
  }
};

namespace {

// What one try decided for one command.
struct Decision {
  enum class Kind { kRefused, kRecordedBefore, kAppend, kSameAs } kind = Kind::kRefused;
  absl::Status status;
  kam::v1::RecordResponse recorded;
  size_t same_as = 0;  // kSameAs: the command of this try it repeats.
};

}  // namespace

// What one try decided for one stream's commands: the append to make, if
// any, and every command's decision.
struct AccountsService::Attempt {
  std::vector<Decision> decisions;
  std::vector<eventstore::EventData> events;
  std::vector<size_t> appended;  // Index of the command of each event.
  eventstore::ExpectedVersion expected = eventstore::ExpectedVersion::Any();
  absl::Time start;         // When the append was handed to the log.
  uint64_t generation = 0;  // The slot's, when decided.
};

// One Record call on its way: owned by itself from StartRecord until it
// answers the call.
struct AccountsService::SingleRecord {
  grpc::ServerUnaryReactor* reactor = nullptr;
  kam::v1::RecordResponse* response = nullptr;
  Command command;
  std::shared_ptr<StreamSlot> slot;
  Attempt attempt;
  int attempts = 0;
};

// The slots of the streams recently recorded in, sharded so that looking one
// up never waits for another account's work. Slots not in use are dropped
// once the cached events exceed kMaxCachedEvents.
class AccountsService::StreamCache {
 public:
  std::shared_ptr<StreamSlot> Get(const std::string& stream) {
    Shard& shard = shards_[absl::Hash<std::string>()(stream) % kShards];
    absl::MutexLock lock(&shard.mu);
    std::shared_ptr<StreamSlot>& slot = shard.slots[stream];
    if (slot == nullptr) {
      slot = std::make_shared<StreamSlot>();
      if (total_.load(std::memory_order_relaxed) > kMaxCachedEvents) EvictIdle(shard, stream);
    }
    return shard.slots[stream];
  }

  // Brings the cache's total up to date with the slot's state.
  void Count(StreamSlot* slot, size_t events) {
    const size_t before = slot->counted.exchange(events);
    total_.fetch_add(events - before);  // Wraps correctly when shrinking.
  }

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, std::shared_ptr<StreamSlot>> slots ABSL_GUARDED_BY(mu);
  };

  // A slot held only by the map is in use by no one, and no one can take it
  // while the shard is locked.
  void EvictIdle(Shard& shard, const std::string& keep) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu) {
    for (auto it = shard.slots.begin(); it != shard.slots.end();) {
      if (total_.load(std::memory_order_relaxed) <= kMaxCachedEvents) break;
      if (it->second.use_count() == 1 && it->first != keep) {
        total_.fetch_sub(it->second->counted.load());
        shard.slots.erase(it++);
      } else {
        ++it;
      }
    }
  }

  std::array<Shard, kShards> shards_;
  std::atomic<size_t> total_{0};
};

namespace {

using Command = AccountsService::Command;

// "rq-" + 32 hex digits of SHA-256(stream || '\0' || request_id): streams
// hold no control characters, so the input is unambiguous.
std::string RequestEventId(absl::string_view stream, absl::string_view request_id) {
  const std::string digest =
      eventstore::ChainHash("", absl::StrCat(stream, std::string(1, '\0'), request_id));
  return absl::StrCat("rq-", absl::BytesToHexString(digest).substr(0, 32));
}

// The same event always gives the same bytes, so a retry matches the stored
// data exactly.
std::string DeterministicBytes(const kam::v1::AccountEvent& event) {
  std::string bytes;
  google::protobuf::io::StringOutputStream output(&bytes);
  google::protobuf::io::CodedOutputStream coded(&output);
  coded.SetSerializationDeterministic(true);
  event.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

// The checks that need neither the log nor the state; fills the command.
absl::Status PrepareCommand(const kam::v1::RecordRequest& request, Command* command) {
  command->request = &request;
  if (request.request_id().empty()) {
    return absl::InvalidArgumentError(
        "request_id: required: one id per intended fact (a UUID or an import line key); a "
        "retry with the same id returns the first result");
  }
  if (request.request_id().size() > AccountsService::kMaxRequestIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("request_id: ", request.request_id().size(),
                                                   " bytes, more than the limit of ",
                                                   AccountsService::kMaxRequestIdBytes));
  }
  const std::string type = projections::EventTypeOf(request.event());
  if (type.empty()) {
    return absl::InvalidArgumentError(
        "event: no event kind is set; set exactly one of the kinds of kam.v1.AccountEvent "
        "(account_opened, contact_added, ..., event_retracted)");
  }
  const eventstore::Limits limits;
  command->stream = request.account_id().empty() ? std::string(projections::kCatalogStream)
                                                 : projections::AccountStream(request.account_id());
  if (!request.account_id().empty() &&
      !eventstore::ValidateStreamName(command->stream, limits).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "account_id: must be 1-",
        limits.max_stream_name_bytes - command->stream.size() + request.account_id().size(),
        " bytes of UTF-8 without control characters"));
  }
  eventstore::EventData& data = command->data;
  data.event_id = RequestEventId(command->stream, request.request_id());
  data.type = type;
  data.data = DeterministicBytes(request.event());
  data.metadata["request_id"] = request.request_id();
  data.occurred_at = FromProto(request.event().occurred_at());
  absl::Status fits = eventstore::ValidateAppend(command->stream, {data}, limits);
  if (!fits.ok()) return absl::InvalidArgumentError(absl::StrCat("event: ", fits.message()));
  return absl::OkStatus();
}

bool SameContent(const eventstore::RecordedEvent& stored, const Command& command) {
  const eventstore::EventData& data = command.data;
  return stored.stream == command.stream && stored.type == data.type && stored.data == data.data &&
         stored.occurred_at == data.occurred_at && stored.metadata == data.metadata;
}

kam::v1::RecordResponse ResponseFor(const eventstore::RecordedEvent& stored) {
  kam::v1::RecordResponse response;
  response.set_event_id(stored.event_id);
  response.set_version(stored.version);
  response.set_position(stored.position);
  return response;
}

absl::Status RequestIdReused(const Command& command, const eventstore::RecordedEvent& stored) {
  return absl::AlreadyExistsError(absl::StrCat(
      "request_id: '", command.request->request_id(), "' was already used for another event (",
      stored.type, " at version ", stored.version, " of stream '", stored.stream,
      "'); use a new request_id for a new fact"));
}

bool IsConflict(const absl::Status& status) {
  return absl::IsAborted(status) || absl::IsAlreadyExists(status);
}

// A repeated message field's tag and length prefix, at most.
constexpr size_t kRepeatedFieldOverhead = 6;

const char* TooLargeAdvice() {
  return " requests were processed: send them again with the same request_ids for their "
         "results (recorded ones are not recorded twice), and the rest in further calls";
}

}  // namespace

AccountsService::AccountsService(Engine* engine, const Authorizer* authorizer,
                                 const ServiceLimits& limits)
    : engine_(engine),
      authorizer_(authorizer),
      limits_(limits),
      cache_(std::make_unique<StreamCache>()) {}

AccountsService::~AccountsService() = default;

grpc::ServerUnaryReactor* AccountsService::Record(grpc::CallbackServerContext* context,
                                                  const kam::v1::RecordRequest* request,
                                                  kam::v1::RecordResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status allowed = authorizer_->Check(*context, Permission::kRecord); !allowed.ok()) {
    reactor->Finish(allowed);
    return reactor;
  }
  auto record = std::make_unique<SingleRecord>();
  record->reactor = reactor;
  record->response = response;
  if (absl::Status prepared = PrepareCommand(*request, &record->command); !prepared.ok()) {
    reactor->Finish(ToGrpcStatus(prepared));
    return reactor;
  }
  record->slot = cache_->Get(record->command.stream);
  StartRecord(record.release(), /*handed_on=*/false);
  return reactor;
}

void AccountsService::StartRecord(SingleRecord* record, bool handed_on) {
  {
    StreamSlot& slot = *record->slot;
    absl::MutexLock lock(&slot.mu);
    if (!slot.idle) {
      // One the stream was handed on to lost it to a blocking recorder
      // meanwhile: it stays first.
      if (handed_on) {
        slot.waiting.push_front(record);
      } else {
        slot.waiting.push_back(record);
      }
      return;
    }
    slot.idle = false;
  }
  DecideRecord(record);
}

AccountsService::SingleRecord* AccountsService::Release(StreamSlot* slot)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  slot->idle = true;
  if (slot->waiting.empty()) return nullptr;
  SingleRecord* next = slot->waiting.front();
  slot->waiting.pop_front();
  return next;
}

// The caller holds the stream (made it not idle).
void AccountsService::DecideRecord(SingleRecord* record) {
  StreamSlot& slot = *record->slot;
  Command* one[] = {&record->command};
  SingleRecord* next = nullptr;
  {
    absl::MutexLock lock(&slot.mu);
    record->attempt = Decide(&slot, one);
    ++record->attempts;
    if (record->attempt.events.empty()) {
      Conclude(&slot, one, record->attempt, absl::UnknownError("not appended"),
               /*last_try=*/false);
      next = Release(&slot);
    }
  }
  if (record->attempt.events.empty()) {
    FinishRecord(record);
    if (next != nullptr) StartRecord(next, /*handed_on=*/true);
    return;
  }
  record->attempt.start = absl::Now();
  // Outside the stream's lock: the answer takes it, and comes on this thread
  // when the log refuses the input at once. `record` may be gone on return.
  engine_->log().AppendAsync(record->command.stream, record->attempt.expected,
                             std::move(record->attempt.events),
                             [this, record](absl::StatusOr<eventstore::AppendResult> result) {
                               OnRecordAppended(record, std::move(result));
                             });
}

void AccountsService::OnRecordAppended(SingleRecord* record,
                                       absl::StatusOr<eventstore::AppendResult> result) {
  StreamSlot& slot = *record->slot;
  Command* one[] = {&record->command};
  SingleRecord* next = nullptr;
  bool again = false;
  {
    absl::MutexLock lock(&slot.mu);
    again = !Conclude(&slot, one, record->attempt, result, record->attempts >= kMaxAttempts);
    if (!again) next = Release(&slot);
  }
  if (again) {
    DecideRecord(record);  // The stream is still this record's.
    return;
  }
  FinishRecord(record);
  if (next != nullptr) StartRecord(next, /*handed_on=*/true);
}

void AccountsService::FinishRecord(SingleRecord* record) {
  const Command& command = record->command;
  if (command.status.ok()) *record->response = command.recorded;
  record->reactor->Finish(command.status.ok() ? grpc::Status::OK : ToGrpcStatus(command.status));
  delete record;
}

void AccountsService::RecordInStream(absl::Span<Command* const> commands) {
  for (int attempt = 1;; ++attempt) {
    std::shared_ptr<StreamSlot> slot = cache_->Get(commands.front()->stream);
    absl::MutexLock lock(&slot->mu);
    ++slot->blocked;
    slot->mu.Await(absl::Condition(&slot->idle));
    --slot->blocked;
    Attempt decided = Decide(slot.get(), commands);
    absl::StatusOr<eventstore::AppendResult> appended = absl::UnknownError("not appended");
    if (!decided.events.empty()) {
      decided.start = absl::Now();
      appended = engine_->log().Append(commands.front()->stream, decided.expected, decided.events);
    }
    if (Conclude(slot.get(), commands, decided, appended, attempt == kMaxAttempts)) return;
  }
}

// The caller holds slot->mu.
absl::Status AccountsService::CatchUp(const std::string& stream,
                                      StreamSlot* slot) const ABSL_NO_THREAD_SAFETY_ANALYSIS {
  constexpr size_t kPage = 1000;
  // Until the log's version of the stream is the slot's: a long read (after
  // a conflict, the whole stream) must not miss what was appended while it
  // ran, or the append that follows conflicts again. Each pass reads only
  // what the previous one took to read, far fewer events than were read.
  for (;;) {
    // Usually nobody else wrote since: one lookup instead of a range read.
    absl::StatusOr<eventstore::StreamInfo> info = engine_->log().GetStreamInfo(stream);
    if (absl::IsNotFound(info.status()) && slot->next_version == 0) return absl::OkStatus();
    if (info.ok() && info->last_version + 1 <= slot->next_version) return absl::OkStatus();
    for (;;) {
      absl::StatusOr<std::vector<eventstore::RecordedEvent>> page = engine_->log().ReadStream(
          stream, slot->next_version, eventstore::Direction::kForward, kPage);
      if (absl::IsNotFound(page.status())) return absl::OkStatus();  // No stream yet.
      if (!page.ok()) return page.status();
      for (const eventstore::RecordedEvent& recorded : *page) {
        // Data that is no AccountEvent (appended through EventStore) is
        // ignored, as every projection ignores it.
        absl::StatusOr<projections::StoredEvent> event = projections::DecodeStoredEvent(recorded);
        if (event.ok()) slot->state.Apply(*event);
        slot->next_version = recorded.version + 1;
      }
      if (page->size() < kPage) break;
    }
    if (!info.ok()) return absl::OkStatus();  // The read itself answered for the log.
  }
}

// The caller holds slot->mu.
AccountsService::Attempt AccountsService::Decide(
    StreamSlot* slot, absl::Span<Command* const> commands) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const std::string& stream = commands.front()->stream;
  const std::string& account_id = commands.front()->request->account_id();
  Attempt attempt;
  std::vector<Decision>& decisions = attempt.decisions;
  decisions.resize(commands.size());
  attempt.generation = slot->generation;
  // On top of batch appends in flight the log is behind the state; another
  // writer's append meanwhile shows as a version conflict.
  absl::Status caught_up = slot->batch_appends > 0 ? absl::OkStatus() : CatchUp(stream, slot);
  if (!caught_up.ok()) {
    slot->Reset();
    for (Decision& d : decisions) d.status = caught_up;
    return attempt;
  }
  const absl::Time now = engine_->clock().Now();
  std::vector<eventstore::EventData>& events = attempt.events;
  std::vector<size_t>& appended = attempt.appended;
  absl::flat_hash_map<absl::string_view, size_t> in_this_append;
  for (size_t i = 0; i < commands.size(); ++i) {
    const Command& c = *commands[i];
    Decision& d = decisions[i];
    // A request_id repeated within the batch.
    if (auto it = in_this_append.find(c.data.event_id); it != in_this_append.end()) {
      const Command& first = *commands[it->second];
      if (first.data.data == c.data.data && first.data.occurred_at == c.data.occurred_at) {
        d.kind = Decision::Kind::kSameAs;
        d.same_as = it->second;
      } else {
        d.status = absl::AlreadyExistsError(absl::StrCat(
            "request_id: '", c.request->request_id(),
            "' is used twice in this batch for different events; use a new request_id for a "
            "new fact"));
      }
      continue;
    }
    // A retry of a recorded request: the first result, not validated again.
    absl::StatusOr<std::optional<eventstore::RecordedEvent>> stored =
        engine_->log().FindEvent(c.data.event_id);
    if (!stored.ok()) {
      d.status = stored.status();
      continue;
    }
    if (stored->has_value()) {
      if (SameContent(**stored, c)) {
        d.kind = Decision::Kind::kRecordedBefore;
        d.recorded = ResponseFor(**stored);
      } else {
        d.status = RequestIdReused(c, **stored);
      }
      continue;
    }
    const uint64_t next_version = slot->next_version + events.size();
    if (c.request->has_expected_version() &&
        (next_version == 0 || next_version - 1 != c.request->expected_version())) {
      d.status = absl::AbortedError(absl::StrCat(
          "expected_version: ", c.request->expected_version(), ", but stream '", stream, "' ",
          next_version == 0 ? std::string("has no events")
                            : absl::StrCat("is at version ", next_version - 1)));
      continue;
    }
    d.status = projections::ValidateCommand(account_id, slot->state, c.request->event(), now,
                                            engine_->rules());
    if (!d.status.ok()) continue;
    // Later commands of the batch are validated with this one applied.
    projections::StoredEvent applied;
    applied.event_id = c.data.event_id;
    applied.version = next_version;
    applied.occurred_at = c.data.occurred_at;
    applied.event = c.request->event();
    slot->state.Apply(applied);
    d.kind = Decision::Kind::kAppend;
    in_this_append.emplace(c.data.event_id, i);
    appended.push_back(i);
    events.push_back(c.data);
  }

  attempt.expected = slot->next_version == 0
                         ? eventstore::ExpectedVersion::NoStream()
                         : eventstore::ExpectedVersion::Exact(slot->next_version - 1);
  return attempt;
}

// The caller holds slot->mu, as it did for Decide.
bool AccountsService::Conclude(StreamSlot* slot, absl::Span<Command* const> commands,
                               Attempt& attempt,
                               const absl::StatusOr<eventstore::AppendResult>& result,
                               bool last_try) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  std::vector<Decision>& decisions = attempt.decisions;
  const std::vector<size_t>& appended = attempt.appended;
  if (!appended.empty()) {
    if (!result.ok()) {
      // The state holds events that were not recorded.
      slot->Reset();
      cache_->Count(slot, 0);
      if (IsConflict(result.status()) && !last_try) return false;
      for (size_t i : appended) decisions[i].status = result.status();
      for (size_t i : appended) decisions[i].kind = Decision::Kind::kRefused;
    } else {
      engine_->metrics().AppendDone(absl::Now() - attempt.start, appended.size());
      // Batch appends decided on top of this one are in it already.
      if (attempt.generation == slot->generation) {
        slot->next_version = std::max(slot->next_version, result->last_version + 1);
      }
      for (size_t k = 0; k < appended.size(); ++k) {
        kam::v1::RecordResponse& r = decisions[appended[k]].recorded;
        r.set_event_id(commands[appended[k]]->data.event_id);
        r.set_version(result->first_version + k);
        r.set_position(result->first_position + k);
      }
    }
  }

  for (size_t i = 0; i < commands.size(); ++i) {
    Decision& d = decisions[i];
    const Decision& source = d.kind == Decision::Kind::kSameAs ? decisions[d.same_as] : d;
    const bool recorded =
        source.kind == Decision::Kind::kAppend || source.kind == Decision::Kind::kRecordedBefore;
    commands[i]->status = recorded ? absl::OkStatus() : source.status;
    commands[i]->recorded = recorded ? source.recorded : kam::v1::RecordResponse();
  }
  cache_->Count(slot, slot->state.size());
  return true;
}

grpc::Status AccountsService::RecordBatch(grpc::ServerContext* context,
                                          grpc::ServerReader<kam::v1::RecordRequest>* reader,
                                          kam::v1::RecordBatchResponse* response) {
  grpc::Status allowed = authorizer_->Check(*context, Permission::kRecord);
  if (!allowed.ok()) return allowed;
  std::vector<kam::v1::RecordRequest> chunk;
  chunk.reserve(kBatchChunk);
  uint64_t received = 0;
  size_t response_bytes = 0;
  kam::v1::RecordRequest request;
  bool more = true;
  while (more) {
    chunk.clear();
    while (chunk.size() < kBatchChunk && (more = reader->Read(&request))) {
      if (++received > kMaxBatchRequests) {
        return ToGrpcStatus(absl::ResourceExhaustedError(absl::StrCat(
            "RecordBatch takes at most ", kMaxBatchRequests, " requests per call; the first ",
            received - 1 - chunk.size(), TooLargeAdvice())));
      }
      chunk.push_back(std::move(request));
    }
    if (chunk.empty()) break;
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "RecordBatch cancelled by the client");
    }
    response_bytes += RecordChunk(chunk, received - chunk.size(), response);
    // Retries return the same results, so a call whose results outgrow one
    // message loses nothing: the client sends the requests again in parts.
    if (response_bytes > static_cast<size_t>(limits_.max_message_bytes)) {
      return ToGrpcStatus(absl::ResourceExhaustedError(absl::StrCat(
          "RecordBatch: the results of ", received, " requests do not fit in one ",
          limits_.max_message_bytes, "-byte response; the first ", received, TooLargeAdvice())));
    }
  }
  return grpc::Status::OK;
}

size_t AccountsService::RecordChunk(absl::Span<const kam::v1::RecordRequest> chunk,
                                    uint64_t first_index, kam::v1::RecordBatchResponse* response) {
  std::vector<Command> commands(chunk.size());
  // Each stream's commands in the order sent.
  absl::flat_hash_map<absl::string_view, size_t> group_of;
  std::vector<std::vector<Command*>> groups;
  for (size_t i = 0; i < chunk.size(); ++i) {
    Command& c = commands[i];
    c.status = PrepareCommand(chunk[i], &c);
    if (!c.status.ok()) continue;
    auto [it, added] = group_of.emplace(c.stream, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(&c);
  }
  RecordGroups(groups);
  size_t bytes = 0;
  for (size_t i = 0; i < chunk.size(); ++i) {
    kam::v1::RecordResult* result = response->add_results();
    result->set_index(first_index + i);
    result->set_request_id(chunk[i].request_id());
    if (commands[i].status.ok()) {
      *result->mutable_recorded() = std::move(commands[i].recorded);
      response->set_accepted(response->accepted() + 1);
    } else {
      result->mutable_error()->set_code(static_cast<int32_t>(commands[i].status.code()));
      result->mutable_error()->set_message(std::string(commands[i].status.message()));
    }
    bytes += result->ByteSizeLong() + kRepeatedFieldOverhead;
  }
  return bytes;
}

// Each stream's commands are decided under its lock and its append handed
// to the log at once, without waiting, so the streams' appends share commit
// groups (one fsync for many). Until its append is answered a stream is
// busy for Records and blocking recorders; another batch decides on top of
// it (parallel importers of the same accounts would otherwise take turns,
// each waiting for the other's fsync), its append expecting the version the
// one in flight leaves: when that one fails, so does this one, as a
// conflict. The answer concludes the attempt on the log's thread. Streams
// whose append met a version conflict are recorded again one by one.
void AccountsService::RecordGroups(const std::vector<std::vector<Command*>>& groups) {
  struct Turn {
    StreamSlot* slot;
    uint64_t ticket;
    bool Reached() const ABSL_NO_THREAD_SAFETY_ANALYSIS { return slot->turn == ticket; }
  };
  struct Stream {
    std::shared_ptr<StreamSlot> slot;
    Attempt attempt;
    bool conflicted = false;
  };
  std::vector<Stream> streams(groups.size());
  // Shared with the answers: the last one may still be unlocking it when the
  // wait below returns.
  struct Pending {
    absl::Mutex mu;
    size_t count ABSL_GUARDED_BY(mu) = 0;
  };
  const auto pending = std::make_shared<Pending>();
  for (size_t g = 0; g < groups.size(); ++g) {
    Stream& stream = streams[g];
    const absl::Span<Command* const> commands = groups[g];
    stream.slot = cache_->Get(commands.front()->stream);
    StreamSlot& slot = *stream.slot;
    uint64_t ticket = 0;
    {
      absl::MutexLock lock(&slot.mu);
      slot.mu.Await(absl::Condition(&slot, &StreamSlot::Stackable));
      stream.attempt = Decide(&slot, commands);
      if (stream.attempt.events.empty()) {
        Conclude(&slot, commands, stream.attempt, absl::UnknownError("not appended"),
                 /*last_try=*/false);
        continue;
      }
      if (slot.idle) slot.stackable = true;
      slot.idle = false;
      ++slot.batch_appends;
      slot.next_version += stream.attempt.events.size();
      ticket = slot.next_ticket++;
    }
    {
      absl::MutexLock count(&pending->mu);
      ++pending->count;
    }
    // Held over AppendAsync, which may answer on this thread: the answer
    // takes slot.mu, and nobody takes order_mu while holding slot.mu.
    absl::MutexLock order(&slot.order_mu);
    const Turn turn{&slot, ticket};
    slot.order_mu.Await(absl::Condition(&turn, &Turn::Reached));
    stream.attempt.start = absl::Now();
    // Outside the stream's lock: `done` takes it, and runs on this thread
    // when the log refuses the input at once.
    engine_->log().AppendAsync(
        commands.front()->stream, stream.attempt.expected, std::move(stream.attempt.events),
        [this, &stream, commands, pending](absl::StatusOr<eventstore::AppendResult> result) {
          StreamSlot& slot = *stream.slot;
          SingleRecord* next = nullptr;
          {
            absl::MutexLock lock(&slot.mu);
            stream.conflicted =
                !Conclude(&slot, commands, stream.attempt, result, /*last_try=*/false);
            if (--slot.batch_appends == 0) next = Release(&slot);
          }
          if (next != nullptr) StartRecord(next, /*handed_on=*/true);
          absl::MutexLock count(&pending->mu);
          --pending->count;
        });
    ++slot.turn;
  }
  {
    absl::MutexLock lock(&pending->mu);
    pending->mu.Await(absl::Condition(
        +[](Pending* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu) { return p->count == 0; },
        pending.get()));
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    if (streams[g].conflicted) RecordInStream(groups[g]);
  }
}

}  // namespace kam::services
