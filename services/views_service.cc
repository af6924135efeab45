#include "services/views_service.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "eventstore/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "projections/account_views.h"
#include "projections/rules.h"
#include "projections/rules_config.h"
#include "services/conversions.h"
#include "services/grpc_status.h"

namespace kam::services {

namespace {

absl::StatusOr<projections::TimeAxis> AxisOf(kam::v1::TimeAxis axis) {
  switch (axis) {
    case kam::v1::TIME_AXIS_UNSPECIFIED:
    case kam::v1::TIME_AXIS_OCCURRED:
      return projections::TimeAxis::kOccurred;
    case kam::v1::TIME_AXIS_RECORDED:
      return projections::TimeAxis::kRecorded;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("time_axis: unknown value ", static_cast<int>(axis)));
  }
}

// The view time of a request: `as_of` when present (validated), else now.
absl::StatusOr<projections::ViewTime> ViewTimeOf(bool has_as_of,
                                                 const google::protobuf::Timestamp& as_of,
                                                 kam::v1::TimeAxis axis) {
  projections::ViewTime when;
  KAM_ASSIGN_OR_RETURN(when.axis, AxisOf(axis));
  if (has_as_of) {
    KAM_RETURN_IF_ERROR(ValidateTimestamp(as_of, "as_of"));
    when.as_of = FromProto(as_of);
  }
  return when;
}

// How long a handler may wait: the call's deadline, clamped to the server's
// maximum, less a small margin so that the answer (which names the position
// the views reached) gets to the client before its own deadline fires.
absl::Time WaitDeadline(const grpc::ServerContext& context, absl::Duration max_deadline) {
  const absl::Time now = absl::Now();
  const absl::Time deadline = std::min(absl::FromChrono(context.deadline()), now + max_deadline);
  if (deadline <= now) return deadline;
  return deadline - std::min((deadline - now) / 10, absl::Milliseconds(50));
}

// ---------------------------------------------------------------------------
// ListAccounts: filter, order, page tokens

bool Matches(const kam::v1::AccountFilter& filter, const kam::v1::AccountView& view) {
  if (filter.stage() != kam::v1::RELATIONSHIP_STAGE_UNSPECIFIED && view.stage() != filter.stage()) {
    return false;
  }
  if (filter.abc_class() != kam::v1::ABC_CLASS_UNSPECIFIED &&
      view.abc_class() != filter.abc_class()) {
    return false;
  }
  if (filter.value_segment() != kam::v1::VALUE_SEGMENT_UNSPECIFIED &&
      view.value_segment() != filter.value_segment()) {
    return false;
  }
  if (filter.risk_level() != kam::v1::RISK_LEVEL_UNSPECIFIED &&
      view.risk().level() != filter.risk_level()) {
    return false;
  }
  return filter.account_manager().empty() || view.account_manager() == filter.account_manager();
}

absl::Status ValidateFilter(const kam::v1::AccountFilter& filter) {
  if (!kam::v1::RelationshipStage_IsValid(filter.stage())) {
    return absl::InvalidArgumentError("filter.stage: unknown value");
  }
  if (!kam::v1::AbcClass_IsValid(filter.abc_class())) {
    return absl::InvalidArgumentError("filter.abc_class: unknown value");
  }
  if (!kam::v1::ValueSegment_IsValid(filter.value_segment())) {
    return absl::InvalidArgumentError("filter.value_segment: unknown value");
  }
  if (!kam::v1::RiskLevel_IsValid(filter.risk_level())) {
    return absl::InvalidArgumentError("filter.risk_level: unknown value");
  }
  return absl::OkStatus();
}

// Where an account sorts in a list: compared field by field, ascending, so
// "highest first" criteria are stored negated. The account id comes last and
// is unique, which makes every order total and the pages stable.
struct SortKey {
  int64_t first = 0;
  int64_t second = 0;
  int64_t third = 0;
  std::string name;
  std::string account_id;

  bool operator<(const SortKey& other) const {
    return std::tie(first, second, third, name, account_id) <
           std::tie(other.first, other.second, other.third, other.name, other.account_id);
  }
};

int64_t Negated(int64_t value) {
  return value == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max()
                                                      : -value;
}

// The precedence of the portfolio's attention list (views.proto
// ACCOUNT_ORDER_ATTENTION), with accounts that need no attention last.
int64_t AttentionPrecedence(const kam::v1::AccountView& view) {
  const std::vector<kam::v1::AttentionReason> reasons = projections::AttentionReasonsOf(view);
  return reasons.empty() ? std::numeric_limits<int64_t>::max()
                         : static_cast<int64_t>(reasons.front());
}

SortKey KeyOf(kam::v1::AccountOrder order, const kam::v1::AccountView& view) {
  SortKey key;
  key.account_id = view.account_id();
  const int64_t revenue = view.revenue().trailing_365_days().minor_units();
  switch (order) {
    case kam::v1::ACCOUNT_ORDER_NAME:
      key.name = view.profile().name();
      break;
    case kam::v1::ACCOUNT_ORDER_REVENUE_DESC:
      key.first = Negated(revenue);
      break;
    case kam::v1::ACCOUNT_ORDER_RISK_SCORE_DESC:
      key.first = -static_cast<int64_t>(view.risk().score());
      break;
    case kam::v1::ACCOUNT_ORDER_ATTENTION:
      key.first = AttentionPrecedence(view);
      key.second = -static_cast<int64_t>(view.risk().score());
      key.third = Negated(revenue);
      break;
    default:  // ACCOUNT_ID, and UNSPECIFIED read as it.
      break;
  }
  return key;
}

// What a page token holds: which query it belongs to, the time the first
// page resolved "now" to, and the key of the last account returned.
struct PageToken {
  uint64_t query = 0;
  google::protobuf::Timestamp as_of;
  SortKey last;
};

constexpr uint32_t kPageTokenFormat = 1;
constexpr size_t kMaxPageTokenBytes = 8192;

// FNV-1a: stable across processes and restarts, unlike absl::Hash.
uint64_t Fnv1a(absl::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

// Identifies the query a token may continue: filter, order, axis and the
// requested as_of (or its absence), not the page size.
uint64_t QueryFingerprint(const kam::v1::ListAccountsRequest& request) {
  const kam::v1::AccountFilter& f = request.filter();
  const int order = request.order_by() == kam::v1::ACCOUNT_ORDER_UNSPECIFIED
                        ? kam::v1::ACCOUNT_ORDER_ACCOUNT_ID
                        : request.order_by();
  const int axis = request.time_axis() == kam::v1::TIME_AXIS_UNSPECIFIED
                       ? kam::v1::TIME_AXIS_OCCURRED
                       : request.time_axis();
  const std::string as_of =
      request.has_as_of() ? absl::StrCat(request.as_of().seconds(), ".", request.as_of().nanos())
                          : std::string("now");
  return Fnv1a(absl::StrCat("kam-list/", f.stage(), "/", f.abc_class(), "/", f.value_segment(), "/",
                            f.risk_level(), "/", f.account_manager().size(), ":",
                            f.account_manager(), "/", order, "/", axis, "/", as_of));
}

// Signed integers as varints of their zigzag form, as protobuf's sint64.
uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t raw) {
  return static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
}

std::string EncodePageToken(const PageToken& token) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.WriteVarint32(kPageTokenFormat);
    out.WriteLittleEndian64(token.query);
    out.WriteVarint64(ZigZag(token.as_of.seconds()));
    out.WriteVarint32(static_cast<uint32_t>(token.as_of.nanos()));
    for (int64_t v : {token.last.first, token.last.second, token.last.third}) {
      out.WriteVarint64(ZigZag(v));
    }
    for (const std::string* s : {&token.last.name, &token.last.account_id}) {
      out.WriteVarint32(static_cast<uint32_t>(s->size()));
      out.WriteString(*s);
    }
  }
  return absl::WebSafeBase64Escape(bytes);
}

bool ReadSigned(google::protobuf::io::CodedInputStream& in, int64_t* value) {
  uint64_t raw = 0;
  if (!in.ReadVarint64(&raw)) return false;
  *value = UnZigZag(raw);
  return true;
}

bool ReadString(google::protobuf::io::CodedInputStream& in, std::string* value) {
  uint32_t size = 0;
  return in.ReadVarint32(&size) && size <= kMaxPageTokenBytes && in.ReadString(value, size);
}

// InvalidArgument for anything that is not a token of this query.
absl::StatusOr<PageToken> DecodePageToken(const kam::v1::ListAccountsRequest& request) {
  const absl::Status invalid = absl::InvalidArgumentError(
      "page_token: not a page token of this query (give the same filter, order_by, as_of and "
      "time_axis as the first page, or no token to start over)");
  std::string bytes;
  if (request.page_token().size() > kMaxPageTokenBytes ||
      !absl::WebSafeBase64Unescape(request.page_token(), &bytes)) {
    return invalid;
  }
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  PageToken token;
  uint32_t format = 0;
  int64_t seconds = 0;
  uint32_t nanos = 0;
  bool ok = in.ReadVarint32(&format) && format == kPageTokenFormat &&
            in.ReadLittleEndian64(&token.query) && ReadSigned(in, &seconds) &&
            in.ReadVarint32(&nanos) && ReadSigned(in, &token.last.first) &&
            ReadSigned(in, &token.last.second) && ReadSigned(in, &token.last.third) &&
            ReadString(in, &token.last.name) && ReadString(in, &token.last.account_id) &&
            in.ExpectAtEnd();
  if (!ok || token.query != QueryFingerprint(request)) return invalid;
  token.as_of.set_seconds(seconds);
  token.as_of.set_nanos(static_cast<int32_t>(nanos));
  if (!ValidateTimestamp(token.as_of, "page_token").ok()) return invalid;
  return token;
}

kam::v1::AccountSummary SummaryOf(const kam::v1::AccountView& view) {
  kam::v1::AccountSummary summary;
  summary.set_account_id(view.account_id());
  summary.set_name(view.profile().name());
  summary.set_account_manager(view.account_manager());
  summary.set_stage(view.stage());
  summary.set_dormant(view.dormant());
  summary.set_relationship_level(view.relationship_level());
  summary.set_abc_class(view.abc_class());
  summary.set_value_segment(view.value_segment());
  summary.set_strategy(view.strategy());
  summary.set_prospect_segment(view.prospect_segment());
  summary.set_risk_score(view.risk().score());
  summary.set_risk_level(view.risk().level());
  *summary.mutable_trailing_365_day_revenue() = view.revenue().trailing_365_days();
  for (const kam::v1::Opportunity& o : view.opportunities()) summary.add_opportunities(o.kind());
  summary.set_version(view.version());
  return summary;
}

uint32_t PageSizeOf(uint32_t requested) {
  if (requested == 0) return ViewsService::kDefaultPageSize;
  return std::min(requested, ViewsService::kMaxPageSize);
}

// Fills `response` with the page of `views` (all accounts at the list's
// time) that follows `after`.
void FillPage(std::vector<kam::v1::AccountView>& views, const kam::v1::ListAccountsRequest& request,
              const std::optional<SortKey>& after, const google::protobuf::Timestamp& as_of,
              kam::v1::ListAccountsResponse* response) {
  std::vector<std::pair<SortKey, kam::v1::AccountView*>> rows;
  for (kam::v1::AccountView& view : views) {
    if (!Matches(request.filter(), view)) continue;
    SortKey key = KeyOf(request.order_by(), view);
    if (after.has_value() && !(*after < key)) continue;
    rows.emplace_back(std::move(key), &view);
  }
  const size_t page_size = PageSizeOf(request.page_size());
  const size_t shown = std::min(page_size, rows.size());
  std::partial_sort(rows.begin(), rows.begin() + shown, rows.end(),
                    [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < shown; ++i) *response->add_accounts() = SummaryOf(*rows[i].second);
  if (shown < rows.size()) {
    PageToken next;
    next.query = QueryFingerprint(request);
    next.as_of = as_of;
    next.last = rows[shown - 1].first;
    response->set_next_page_token(EncodePageToken(next));
  }
}

// A validated ListAccounts request: when to evaluate (the first page's
// time when continuing) and the key after which the page starts.
struct ListQuery {
  projections::ViewTime when;
  std::optional<SortKey> after;
};

absl::StatusOr<ListQuery> ListQueryOf(const kam::v1::ListAccountsRequest& request) {
  KAM_RETURN_IF_ERROR(ValidateFilter(request.filter()));
  if (!kam::v1::AccountOrder_IsValid(request.order_by())) {
    return absl::InvalidArgumentError("order_by: unknown value");
  }
  ListQuery query;
  KAM_ASSIGN_OR_RETURN(query.when,
                       ViewTimeOf(request.has_as_of(), request.as_of(), request.time_axis()));
  if (!request.page_token().empty()) {
    KAM_ASSIGN_OR_RETURN(PageToken token, DecodePageToken(request));
    query.when.as_of = FromProto(token.as_of);  // Also when the first page said "now".
    query.after = std::move(token.last);
  }
  return query;
}

}  // namespace

ViewsService::ViewsService(Engine* engine, const Authorizer* authorizer,
                           const ServiceLimits& limits)
    : engine_(engine), authorizer_(authorizer), limits_(limits) {}

absl::Status ViewsService::AwaitPosition(const grpc::ServerContext& context,
                                         uint64_t min_position) const {
  if (min_position == 0) return absl::OkStatus();
  const uint64_t reached =
      engine_->projector().WaitFor(min_position, WaitDeadline(context, limits_.max_deadline));
  if (reached >= min_position) return absl::OkStatus();
  const absl::Status projector = engine_->projector().status();
  if (!projector.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the views are stopped at position ", reached, ": ", projector.message()));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "min_position ", min_position, " not reached before the deadline: the views are at position ",
      reached, ", the log head is ", engine_->log().Head().position));
}

grpc::Status ViewsService::GetAccount(grpc::ServerContext* context,
                                      const kam::v1::GetAccountRequest* request,
                                      kam::v1::AccountView* response) {
  grpc::Status allowed = authorizer_->Check(*context, Permission::kReadViews);
  if (!allowed.ok()) return allowed;
  if (request->account_id().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError("account_id: required"));
  }
  absl::StatusOr<projections::ViewTime> when =
      ViewTimeOf(request->has_as_of(), request->as_of(), request->time_axis());
  if (!when.ok()) return ToGrpcStatus(when.status());
  absl::Status waited = AwaitPosition(*context, request->min_position());
  if (!waited.ok()) return ToGrpcStatus(waited);
  absl::StatusOr<kam::v1::AccountView> view =
      engine_->views().GetAccount(request->account_id(), *when);
  if (!view.ok()) return ToGrpcStatus(view.status());
  *response = std::move(*view);
  return grpc::Status::OK;
}

grpc::Status ViewsService::ListAccounts(grpc::ServerContext* context,
                                        const kam::v1::ListAccountsRequest* request,
                                        kam::v1::ListAccountsResponse* response) {
  grpc::Status allowed = authorizer_->Check(*context, Permission::kReadViews);
  if (!allowed.ok()) return allowed;
  absl::StatusOr<ListQuery> query = ListQueryOf(*request);
  if (!query.ok()) return ToGrpcStatus(query.status());
  projections::ViewTime& when = query->when;
  absl::Status waited = AwaitPosition(*context, request->min_position());
  if (!waited.ok()) return ToGrpcStatus(waited);
  // "Now" once the awaited writes are in, so that they are seen.
  if (!when.as_of.has_value()) when.as_of = engine_->clock().Now();

  // Read before the views: the list includes at least this position.
  const uint64_t position = engine_->projector().WaitFor(0, absl::InfinitePast());
  // Builds every account's view, then filters and orders them: linear in the
  // portfolio per page, which is what AccountViews offers today.
  absl::StatusOr<std::vector<kam::v1::AccountView>> views = engine_->views().AllAccounts(when);
  if (!views.ok()) return ToGrpcStatus(views.status());
  const google::protobuf::Timestamp as_of = ToProto(*when.as_of);
  FillPage(*views, *request, query->after, as_of, response);
  response->set_rules_version(projections::RulesVersion(engine_->rules()));
  response->set_position(position);
  *response->mutable_as_of() = as_of;
  response->set_time_axis(when.axis == projections::TimeAxis::kOccurred
                              ? kam::v1::TIME_AXIS_OCCURRED
                              : kam::v1::TIME_AXIS_RECORDED);
  return grpc::Status::OK;
}

grpc::Status ViewsService::GetPortfolio(grpc::ServerContext* context,
                                        const kam::v1::GetPortfolioRequest* request,
                                        kam::v1::Portfolio* response) {
  grpc::Status allowed = authorizer_->Check(*context, Permission::kReadViews);
  if (!allowed.ok()) return allowed;
  absl::StatusOr<projections::ViewTime> when =
      ViewTimeOf(request->has_as_of(), request->as_of(), request->time_axis());
  if (!when.ok()) return ToGrpcStatus(when.status());
  absl::Status waited = AwaitPosition(*context, request->min_position());
  if (!waited.ok()) return ToGrpcStatus(waited);
  const uint32_t pareto_points = request->max_pareto_points() == 0
                                     ? kDefaultParetoPoints
                                     : std::min(request->max_pareto_points(), kMaxParetoPoints);
  absl::StatusOr<kam::v1::Portfolio> portfolio =
      engine_->views().GetPortfolio(*when, pareto_points, request->max_attention());
  if (!portfolio.ok()) return ToGrpcStatus(portfolio.status());
  *response = std::move(*portfolio);
  return grpc::Status::OK;
}

}  // namespace kam::services
