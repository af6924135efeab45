// kam.v1.Audit: what an auditor uses to see how an account's view came to
// be (ReplayAccount), to prove the log was not changed (VerifyLog), and to
// write down a value to check later (GetLogHead). Every call needs
// Permission::kAudit.
//
//   AuditService audit(engine, &authorizer, limits);
//   builder.RegisterService(&audit);
//
// Handlers run on gRPC's sync thread pool; ReplayAccount's writes block while
// the client is slow (flow control), so memory per call stays bounded by the
// account's own stream.

#ifndef KAM_SERVICES_AUDIT_SERVICE_H_
#define KAM_SERVICES_AUDIT_SERVICE_H_

#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "grpcpp/support/sync_stream.h"
#include "kam/v1/audit.grpc.pb.h"
#include "services/auth.h"
#include "services/engine.h"
#include "services/server.h"

namespace kam::services {

class AuditService final : public kam::v1::Audit::Service {
 public:
  // Events read from the log per batch while replaying.
  static constexpr size_t kReplayReadBatch = 512;

  // None of the pointers is owned; all must outlive the service. No limit
  // applies: the calls do not wait, and a replay's writes are flow-controlled.
  AuditService(Engine* engine, const Authorizer* authorizer, const ServiceLimits& limits);

  // Streams every event of the account's stream in version order, up to
  // to_version or to the last event recorded at or before as_of, each with
  // the view right after it: the view on the RECORDED axis at the event's
  // recorded_at of the stream's events up to and including it. The ABC class
  // in that view is the portfolio's ranking on the RECORDED axis at that
  // recorded_at (what the engine showed then; events recorded in the same
  // commit count together). An event whose data is not an AccountEvent is
  // sent without account_event and leaves the view as it was; an event before
  // the account exists (no AccountOpened yet) is sent without view_after.
  // NOT_FOUND for an unknown account; INVALID_ARGUMENT for an empty
  // account_id or a malformed as_of.
  grpc::Status ReplayAccount(grpc::ServerContext* context,
                             const kam::v1::ReplayAccountRequest* request,
                             grpc::ServerWriter<kam::v1::ReplayAccountResponse>* writer) override;

  // A broken chain is reported in the response (ok false, first_bad_position,
  // problem), not as an error. INVALID_ARGUMENT when from_position is after
  // to_position or beyond the head.
  grpc::Status VerifyLog(grpc::ServerContext* context, const kam::v1::VerifyLogRequest* request,
                         kam::v1::VerifyLogResponse* response) override;

  // The head of the log; recorded_at is absent for an empty log.
  grpc::Status GetLogHead(grpc::ServerContext* context, const kam::v1::GetLogHeadRequest* request,
                          kam::v1::GetLogHeadResponse* response) override;

 private:
  Engine* const engine_;
  const Authorizer* const authorizer_;
};

}  // namespace kam::services

#endif  // KAM_SERVICES_AUDIT_SERVICE_H_
