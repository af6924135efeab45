// kam.v1.Views: the projections of the log over gRPC. One account, a filtered
// and ordered list of accounts in pages, or the whole portfolio, now or as of
// a time on either axis. Every call needs Permission::kReadViews.
//
// Read your own writes: a request with `min_position` waits until the
// projector has applied that log position, bounded by the call's deadline
// (clamped to ServiceLimits::max_deadline), and fails with DEADLINE_EXCEEDED
// naming the position the views are at when it is not reached in time.
//
//   ViewsService views(engine, &authorizer, limits);
//   builder.RegisterService(&views);
//
// Handlers run on gRPC's sync thread pool and may block while they wait.

#ifndef KAM_SERVICES_VIEWS_SERVICE_H_
#define KAM_SERVICES_VIEWS_SERVICE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "kam/v1/views.grpc.pb.h"
#include "services/auth.h"
#include "services/engine.h"
#include "services/server.h"

namespace kam::services {

class ViewsService final : public kam::v1::Views::Service {
 public:
  // Pages of ListAccounts: page_size 0 gives kDefaultPageSize, larger than
  // kMaxPageSize is capped to it (as views.proto says, never an error).
  static constexpr uint32_t kDefaultPageSize = 100;
  static constexpr uint32_t kMaxPageSize = 1000;
  // GetPortfolio: max_pareto_points 0 gives kDefaultParetoPoints; more than
  // kMaxParetoPoints is capped (each point is a line of the response).
  static constexpr uint32_t kDefaultParetoPoints = 100;
  static constexpr uint32_t kMaxParetoPoints = 10000;

  // None of the pointers is owned; all must outlive the service.
  ViewsService(Engine* engine, const Authorizer* authorizer, const ServiceLimits& limits);

  // NOT_FOUND when the account does not exist at as_of; INVALID_ARGUMENT
  // naming the field for an empty account_id, a malformed as_of or an
  // unknown time_axis; DEADLINE_EXCEEDED when min_position is not reached.
  grpc::Status GetAccount(grpc::ServerContext* context, const kam::v1::GetAccountRequest* request,
                          kam::v1::AccountView* response) override;

  // Every account existing at as_of that matches the filter, in order_by
  // order (ties by account id), one page at a time. The page token carries
  // the first page's as_of and the sort key of the page's last account, so
  // the next page starts right after it: no duplicates, no gaps. A token
  // from another query (other filter, order, as_of or axis) or not from
  // this server is INVALID_ARGUMENT.
  grpc::Status ListAccounts(grpc::ServerContext* context,
                            const kam::v1::ListAccountsRequest* request,
                            kam::v1::ListAccountsResponse* response) override;

  grpc::Status GetPortfolio(grpc::ServerContext* context,
                            const kam::v1::GetPortfolioRequest* request,
                            kam::v1::Portfolio* response) override;

 private:
  // OK once the views include `min_position` (0: at once); otherwise
  // DeadlineExceeded, or Unavailable when the projector has stopped.
  absl::Status AwaitPosition(const grpc::ServerContext& context, uint64_t min_position) const;

  Engine* const engine_;
  const Authorizer* const authorizer_;
  const ServiceLimits limits_;
};

}  // namespace kam::services

#endif  // KAM_SERVICES_VIEWS_SERVICE_H_
