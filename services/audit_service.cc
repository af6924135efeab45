#include "services/audit_service.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "eventstore/status_macros.h"
#include "projections/account_state.h"
#include "projections/account_view.h"
#include "projections/account_views.h"
#include "projections/history.h"
#include "projections/projection_store.h"
#include "services/conversions.h"
#include "services/grpc_status.h"

namespace kam::services {

namespace {

using projections::StoredEvent;

// Every event of `stream` in version order, read in batches; `visit` returns
// false to stop early. NotFound when the stream has no events.
template <typename Visit>
absl::Status ForEachInStream(const eventstore::EventLog& log, absl::string_view stream,
                             Visit visit) {
  uint64_t from = 0;
  while (true) {
    KAM_ASSIGN_OR_RETURN(std::vector<eventstore::RecordedEvent> batch,
                         log.ReadStream(stream, from, eventstore::Direction::kForward,
                                        AuditService::kReplayReadBatch));
    for (eventstore::RecordedEvent& e : batch) {
      KAM_ASSIGN_OR_RETURN(bool more, visit(e));
      if (!more) return absl::OkStatus();
    }
    if (batch.size() < AuditService::kReplayReadBatch) return absl::OkStatus();
    from = batch.back().version + 1;
  }
}

// The catalog's events (for the NEW_PRODUCT opportunity), decoded; events
// that are not account events are skipped, as the projections skip them.
absl::StatusOr<std::vector<StoredEvent>> CatalogEvents(const eventstore::EventLog& log) {
  std::vector<StoredEvent> catalog;
  absl::Status read =
      ForEachInStream(log, projections::kCatalogStream,
                      [&catalog](const eventstore::RecordedEvent& e) -> absl::StatusOr<bool> {
                        absl::StatusOr<StoredEvent> stored = projections::DecodeStoredEvent(e);
                        if (stored.ok()) catalog.push_back(std::move(*stored));
                        return true;
                      });
  if (absl::IsNotFound(read)) return catalog;  // No product launched yet.
  if (!read.ok()) return read;
  return catalog;
}

// Rebuilds one account's view after each of its events, in version order.
class AccountReplay {
 public:
  AccountReplay(const projections::AccountViews* views, std::string account_id,
                std::vector<StoredEvent> catalog)
      : views_(views),
        account_id_(std::move(account_id)),
        catalog_(std::move(catalog)),
        fold_(&views->rules()) {
    history_.account_id = account_id_;
    history_.axis = projections::TimeAxis::kRecorded;
  }

  // The response for the stream's next event.
  absl::StatusOr<kam::v1::ReplayAccountResponse> Next(const eventstore::RecordedEvent& recorded) {
    kam::v1::ReplayAccountResponse out;
    ToProto(recorded, out.mutable_event());
    absl::StatusOr<StoredEvent> stored = projections::DecodeStoredEvent(recorded);
    if (stored.ok()) {
      *out.mutable_account_event() = stored->event;
      prefix_.push_back(std::move(*stored));
      AddToHistory(recorded.recorded_at);
    }
    history_.as_of = recorded.recorded_at;
    history_.catalog = projections::SelectCatalog(catalog_, recorded.recorded_at,
                                                  projections::TimeAxis::kRecorded);
    absl::StatusOr<kam::v1::AccountView> view = ViewOf(history_);
    if (absl::IsNotFound(view.status())) return out;  // No AccountOpened yet.
    if (!view.ok()) {
      return absl::Status(view.status().code(),
                          absl::StrCat("the view after version ", recorded.version, " of ",
                                       recorded.stream, ": ", view.status().message()));
    }
    *out.mutable_view_after() = std::move(*view);
    return out;
  }

 private:
  // Keeps history_ equal to SelectHistory(prefix_) on the RECORDED axis at
  // `as_of` (every event of the prefix is recorded by then), and fold_ its
  // fold. An event that nothing named before adds its own fact at the end
  // (log order); a correction or retraction, or an event an earlier one
  // named (possible only through EventStore.Append), selects the whole
  // prefix again.
  void AddToHistory(absl::Time as_of) {
    const StoredEvent& e = prefix_.back();
    const kam::v1::AccountEvent& event = e.event;
    const std::string* named =
        event.has_event_corrected()
            ? &event.event_corrected().corrected_event_id()
            : (event.has_event_retracted() ? &event.event_retracted().retracted_event_id()
                                           : nullptr);
    if (named != nullptr) named_.insert(*named);
    if (selected_ && named == nullptr && !named_.contains(e.event_id)) {
      projections::AccountHistory one = projections::SelectHistory(
          account_id_, absl::MakeConstSpan(&e, 1), {}, as_of, projections::TimeAxis::kRecorded);
      history_.version = e.version;
      history_.position = e.position;
      for (projections::Fact& fact : one.facts) {
        history_.facts.push_back(std::move(fact));
        fold_.Extend(history_);
      }
      return;
    }
    history_ = projections::SelectHistory(account_id_, prefix_, {}, as_of,
                                          projections::TimeAxis::kRecorded);
    fold_.Reset(history_);
    selected_ = true;
  }

  absl::StatusOr<kam::v1::AccountView> ViewOf(const projections::AccountHistory& history) {
    KAM_ASSIGN_OR_RETURN(kam::v1::AbcClass abc, AbcClassAt(history));
    return projections::BuildAccountView(history, fold_.state(), fold_.stage_history(), abc,
                                         views_->rules());
  }

  // The account's class in the portfolio on the RECORDED axis at
  // history.as_of. The ranking walks every account's revenue, so it is
  // computed once per distinct recorded_at (a batch shares one), and not at
  // all while the account has no revenue: AbcRanking leaves such accounts
  // out, as class C.
  absl::StatusOr<kam::v1::AbcClass> AbcClassAt(const projections::AccountHistory& history) {
    KAM_ASSIGN_OR_RETURN(int64_t revenue,
                         projections::TrailingYearRevenue(history, fold_.state(), views_->rules()));
    if (revenue == 0) return kam::v1::ABC_CLASS_C;
    if (cached_at_ == history.as_of) return cached_class_;
    KAM_ASSIGN_OR_RETURN(std::vector<projections::AccountAbc> ranking,
                         views_->AbcRanking({history.as_of, projections::TimeAxis::kRecorded}));
    cached_class_ = kam::v1::ABC_CLASS_C;
    for (const projections::AccountAbc& entry : ranking) {
      if (entry.account_id == account_id_) cached_class_ = entry.abc_class;
    }
    cached_at_ = history.as_of;
    return cached_class_;
  }

  const projections::AccountViews* const views_;
  const std::string account_id_;
  const std::vector<StoredEvent> catalog_;
  std::vector<StoredEvent> prefix_;  // The stream's decoded events so far.
  projections::AccountHistory history_;
  projections::AccountFold fold_;
  bool selected_ = false;                   // history_ was selected from the prefix once.
  absl::flat_hash_set<std::string> named_;  // Event ids corrections and retractions named.
  std::optional<absl::Time> cached_at_;
  kam::v1::AbcClass cached_class_ = kam::v1::ABC_CLASS_C;
};

// Whether `e` is past the request's bound (inclusive bounds).
bool BeyondBound(const kam::v1::ReplayAccountRequest& request, const eventstore::RecordedEvent& e) {
  switch (request.bound_case()) {
    case kam::v1::ReplayAccountRequest::kToVersion:
      return e.version > request.to_version();
    case kam::v1::ReplayAccountRequest::kAsOf:
      return e.recorded_at > FromProto(request.as_of());
    default:
      return false;
  }
}

absl::Status ValidateReplay(const kam::v1::ReplayAccountRequest& request) {
  if (request.account_id().empty()) return absl::InvalidArgumentError("account_id: required");
  if (request.bound_case() == kam::v1::ReplayAccountRequest::kAsOf) {
    return ValidateTimestamp(request.as_of(), "as_of");
  }
  return absl::OkStatus();
}

}  // namespace

AuditService::AuditService(Engine* engine, const Authorizer* authorizer,
                           const ServiceLimits& /*limits*/)
    : engine_(engine), authorizer_(authorizer) {}

grpc::Status AuditService::ReplayAccount(
    grpc::ServerContext* context, const kam::v1::ReplayAccountRequest* request,
    grpc::ServerWriter<kam::v1::ReplayAccountResponse>* writer) {
  grpc::Status allowed = authorizer_->Check(*context, Permission::kAudit);
  if (!allowed.ok()) return allowed;
  absl::Status valid = ValidateReplay(*request);
  if (!valid.ok()) return ToGrpcStatus(valid);
  const std::string stream = projections::AccountStream(request->account_id());
  absl::Status exists = engine_->log().GetStreamInfo(stream).status();
  if (absl::IsNotFound(exists)) {
    return ToGrpcStatus(
        absl::NotFoundError(absl::StrCat("account '", request->account_id(), "' does not exist")));
  }
  if (absl::IsInvalidArgument(exists)) {  // The log's limits on stream names.
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("account_id: not a valid account id (", exists.message(), ")")));
  }
  if (!exists.ok()) return ToGrpcStatus(exists);
  absl::StatusOr<std::vector<StoredEvent>> catalog = CatalogEvents(engine_->log());
  if (!catalog.ok()) return ToGrpcStatus(catalog.status());

  AccountReplay replay(&engine_->views(), request->account_id(), std::move(*catalog));
  bool client_gone = false;
  absl::Status replayed = ForEachInStream(
      engine_->log(), stream, [&](const eventstore::RecordedEvent& e) -> absl::StatusOr<bool> {
        if (BeyondBound(*request, e)) return false;
        KAM_ASSIGN_OR_RETURN(kam::v1::ReplayAccountResponse response, replay.Next(e));
        // Write blocks while the client is slow; false once it is gone.
        client_gone = context->IsCancelled() || !writer->Write(response);
        return !client_gone;
      });
  if (client_gone) return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
  return ToGrpcStatus(replayed);
}

grpc::Status AuditService::VerifyLog(grpc::ServerContext* context,
                                     const kam::v1::VerifyLogRequest* request,
                                     kam::v1::VerifyLogResponse* response) {
  grpc::Status allowed = authorizer_->Check(*context, Permission::kAudit);
  if (!allowed.ok()) return allowed;
  const uint64_t from = std::max<uint64_t>(request->from_position(), 1);
  if (request->to_position() != 0 && from > request->to_position()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("from_position ", from, " is after to_position ", request->to_position())));
  }
  const uint64_t head = engine_->log().Head().position;
  if (from > 1 && from > head) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("from_position ", from, " is beyond the log head ", head)));
  }
  absl::StatusOr<eventstore::VerifyResult> result =
      engine_->log().Verify(from, request->to_position());
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->set_ok(result->ok);
  response->set_checked(result->checked);
  response->set_first_bad_position(result->first_bad_position);
  response->set_head_hash(result->head_hash);
  response->set_problem(result->problem);
  // The log checks from `from` on and stops at the first break: the last
  // good position, whose hash head_hash is.
  response->set_last_position(from - 1 + result->checked);
  return grpc::Status::OK;
}

grpc::Status AuditService::GetLogHead(grpc::ServerContext* context,
                                      const kam::v1::GetLogHeadRequest* /*request*/,
                                      kam::v1::GetLogHeadResponse* response) {
  grpc::Status allowed = authorizer_->Check(*context, Permission::kAudit);
  if (!allowed.ok()) return allowed;
  const eventstore::LogHead head = engine_->log().Head();
  response->set_position(head.position);
  response->set_hash(head.hash);
  if (head.position > 0) *response->mutable_recorded_at() = ToProto(head.recorded_at);
  return grpc::Status::OK;
}

}  // namespace kam::services
