#include "tools/kamctl/online_commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "eventstore/status_macros.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "kam/v1/accounts.grpc.pb.h"
#include "kam/v1/audit.grpc.pb.h"
#include "kam/v1/event_store.grpc.pb.h"
#include "kam/v1/views.grpc.pb.h"
#include "services/conversions.h"
#include "tools/kamctl/common.h"

namespace kam::kamctl {

namespace {

// Portfolios and account views of large accounts outgrow gRPC's default
// 4 MiB receive limit; the server bounds what it sends.
constexpr int kMaxReceiveBytes = 64 << 20;

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return UsageError(absl::StrCat(what, ": cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A connection to kamd and the per-call settings every command shares.
class Client {
 public:
  static absl::StatusOr<Client> Open(const ServerFlags& flags) {
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
    if (!flags.tls_ca.empty()) {
      grpc::SslCredentialsOptions tls;
      KAM_ASSIGN_OR_RETURN(tls.pem_root_certs, ReadWholeFile(flags.tls_ca, "--tls-ca"));
      credentials = grpc::SslCredentials(tls);
    }
    grpc::ChannelArguments arguments;
    arguments.SetMaxReceiveMessageSize(kMaxReceiveBytes);
    return Client(flags, grpc::CreateCustomChannel(flags.server, credentials, arguments));
  }

  // `bounded`: with the --timeout deadline; streams that run until the user
  // stops them (tail) are not.
  std::unique_ptr<grpc::ClientContext> Context(bool bounded = true) const {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!flags_.token.empty()) context->AddMetadata("authorization", "Bearer " + flags_.token);
    if (bounded) {
      context->set_deadline(
          std::chrono::system_clock::now() +
          std::chrono::milliseconds(static_cast<int64_t>(flags_.timeout_seconds * 1000)));
    }
    return context;
  }

  // The call's status, with a hint for the failures a person can fix.
  absl::Status Check(const grpc::Status& status) const {
    if (status.ok()) return absl::OkStatus();
    std::string message = status.error_message();
    switch (status.error_code()) {
      case grpc::StatusCode::UNAVAILABLE:
        absl::StrAppend(&message, " (is kamd running at ", flags_.server, "? see --server)");
        break;
      case grpc::StatusCode::UNAUTHENTICATED:
        absl::StrAppend(&message, " (give --token or set KAM_TOKEN)");
        break;
      case grpc::StatusCode::PERMISSION_DENIED:
        absl::StrAppend(&message, " (the token lacks the role this call needs)");
        break;
      default:
        break;
    }
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), message);
  }

  std::unique_ptr<kam::v1::Accounts::Stub> Accounts() const {
    return kam::v1::Accounts::NewStub(channel_);
  }
  std::unique_ptr<kam::v1::EventStore::Stub> EventStore() const {
    return kam::v1::EventStore::NewStub(channel_);
  }
  std::unique_ptr<kam::v1::Views::Stub> Views() const { return kam::v1::Views::NewStub(channel_); }
  std::unique_ptr<kam::v1::Audit::Stub> Audit() const { return kam::v1::Audit::NewStub(channel_); }

 private:
  Client(ServerFlags flags, std::shared_ptr<grpc::Channel> channel)
      : flags_(std::move(flags)), channel_(std::move(channel)) {}

  ServerFlags flags_;
  std::shared_ptr<grpc::Channel> channel_;
};

template <typename Request>
absl::Status SetViewTime(const ViewTimeFlags& flags, Request* request) {
  if (!flags.as_of.empty()) {
    KAM_ASSIGN_OR_RETURN(absl::Time as_of, ParseTimeFlag("--as-of", flags.as_of));
    *request->mutable_as_of() = services::ToProto(as_of);
  }
  if (!flags.axis.empty()) {
    KAM_ASSIGN_OR_RETURN(int axis, ParseEnumFlag("--axis", flags.axis,
                                                 *kam::v1::TimeAxis_descriptor(), "TIME_AXIS_"));
    request->set_time_axis(static_cast<kam::v1::TimeAxis>(axis));
  }
  request->set_min_position(flags.min_position);
  return absl::OkStatus();
}

// Prints every message's events of a server stream as NDJSON, then returns
// the stream's status. `limit` 0: no limit; reaching it cancels the call.
template <typename Response>
absl::Status PrintEvents(const Client& client, grpc::ClientContext* context,
                         grpc::ClientReader<Response>* reader, uint64_t limit) {
  Response response;
  uint64_t printed = 0;
  absl::Status written;
  while (written.ok() && reader->Read(&response)) {
    for (const kam::v1::RecordedEvent& event : response.events()) {
      written = PrintJson(event);
      if (!written.ok() || (limit != 0 && ++printed == limit)) break;
    }
    if (limit != 0 && printed == limit) break;
  }
  if (!written.ok() || (limit != 0 && printed == limit)) {
    context->TryCancel();
    reader->Finish().ok();  // Cancelled on purpose: only `written` matters.
    return written;
  }
  return client.Check(reader->Finish());
}

// A random (version 4) UUID: the request id of a record without one.
std::string NewRequestId() {
  std::random_device random;
  std::uniform_int_distribution<uint32_t> word;
  uint32_t w[4] = {word(random), word(random), word(random), word(random)};
  w[1] = (w[1] & 0xffff0fffu) | 0x00004000u;  // Version 4.
  w[2] = (w[2] & 0x3fffffffu) | 0x80000000u;  // RFC 4122 variant.
  return absl::StrFormat("%08x-%04x-%04x-%04x-%04x%08x", w[0], w[1] >> 16, w[1] & 0xffff,
                         w[2] >> 16, w[2] & 0xffff, w[3]);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The running count of an import, and the refusals of the chunk being
// built: lines that did not parse wait for the server's answers to the
// chunk, so the report lists lines in order.
struct ImportTally {
  uint64_t lines = 0;
  uint64_t accepted = 0;
  uint64_t refused = 0;
  std::vector<std::pair<uint64_t, std::string>> refusals;

  void Refuse(uint64_t line, absl::StatusCode code, absl::string_view message) {
    refusals.emplace_back(
        line, absl::StrCat("line ", line, ": ", absl::StatusCodeToString(code), ": ", message));
    ++refused;
  }

  void PrintRefusals() {
    std::sort(refusals.begin(), refusals.end());
    for (const auto& refusal : refusals) std::printf("%s\n", refusal.second.c_str());
    std::fflush(stdout);
    refusals.clear();
  }
};

// Sends one chunk of an import as one RecordBatch call and reports its
// refused lines. An error when the call itself fails.
absl::Status SendChunk(const Client& client, const std::vector<kam::v1::RecordRequest>& requests,
                       const std::vector<uint64_t>& lines, ImportTally* tally) {
  if (requests.empty()) {
    tally->PrintRefusals();
    return absl::OkStatus();
  }
  std::unique_ptr<grpc::ClientContext> context = client.Context();
  kam::v1::RecordBatchResponse response;
  auto writer = client.Accounts()->RecordBatch(context.get(), &response);
  for (size_t i = 0; i < requests.size(); ++i) {
    // Requests but the last may wait to share a frame and a syscall.
    grpc::WriteOptions options;
    if (i + 1 < requests.size()) options.set_buffer_hint();
    if (!writer->Write(requests[i], options)) break;  // Finish says why.
  }
  writer->WritesDone();
  absl::Status status = client.Check(writer->Finish());
  if (!status.ok()) {
    tally->PrintRefusals();
    return absl::Status(
        status.code(),
        absl::StrCat("lines ", lines.front(), "-", lines.back(),
                     " were not recorded: ", status.message(), "; lines before ", lines.front(),
                     " were; run the same import again to finish: request ids make the "
                     "retry safe"));
  }
  for (const kam::v1::RecordResult& result : response.results()) {
    if (!result.has_error()) continue;
    const uint64_t line = result.index() < lines.size() ? lines[result.index()] : 0;
    tally->Refuse(line, static_cast<absl::StatusCode>(result.error().code()),
                  result.error().message());
  }
  tally->accepted += response.accepted();
  tally->PrintRefusals();
  return absl::OkStatus();
}

absl::Status ImportStream(const Client& client, const ImportFlags& flags, std::istream& in,
                          ImportTally* tally) {
  const std::string source = flags.file == "-" ? "stdin" : BaseName(flags.file);
  std::vector<kam::v1::RecordRequest> requests;
  std::vector<uint64_t> lines;
  Progress progress("import: lines sent");
  std::string text;
  uint64_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (absl::StripAsciiWhitespace(text).empty()) continue;
    ++tally->lines;
    kam::v1::RecordRequest request;
    absl::Status parsed = ParseJson(text, "the line", &request);
    if (!parsed.ok()) {
      tally->Refuse(line, parsed.code(), parsed.message());
      continue;
    }
    // A stable default makes a rerun of the same file a safe retry.
    if (request.request_id().empty()) request.set_request_id(absl::StrCat(source, ":", line));
    requests.push_back(std::move(request));
    lines.push_back(line);
    if (requests.size() >= flags.chunk) {
      KAM_RETURN_IF_ERROR(SendChunk(client, requests, lines, tally));
      requests.clear();
      lines.clear();
      progress.Update(line, 0);
    }
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", flags.file));
  return SendChunk(client, requests, lines, tally);
}

}  // namespace

absl::Status Record(const ServerFlags& server, const RecordFlags& flags) {
  kam::v1::RecordRequest request;
  std::string json = flags.event_json;
  if (json.empty()) {
    if (isatty(STDIN_FILENO) == 1) {
      std::fprintf(stderr,
                   "kamctl record: reading the event's JSON from stdin (end with Ctrl-D)\n");
    }
    json.assign(std::istreambuf_iterator<char>(std::cin), {});
  }
  if (absl::StripAsciiWhitespace(json).empty()) {
    return UsageError("no event: give --event '{...}' or the event's JSON on stdin");
  }
  KAM_RETURN_IF_ERROR(ParseJson(json, "the event", request.mutable_event()));
  if (!request.event().has_occurred_at()) {
    *request.mutable_event()->mutable_occurred_at() = services::ToProto(absl::Now());
  }
  request.set_account_id(flags.account_id);
  request.set_request_id(flags.request_id.empty() ? NewRequestId() : flags.request_id);
  if (flags.expected_version) request.set_expected_version(*flags.expected_version);

  KAM_ASSIGN_OR_RETURN(Client client, Client::Open(server));
  std::unique_ptr<grpc::ClientContext> context = client.Context();
  kam::v1::RecordResponse response;
  absl::Status status = client.Check(client.Accounts()->Record(context.get(), request, &response));
  if (absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status)) {
    // The event may or may not be recorded: only the same id retries safely.
    return absl::Status(status.code(), absl::StrCat(status.message(),
                                                    "; the outcome is unknown: retry with "
                                                    "--request-id ",
                                                    request.request_id()));
  }
  KAM_RETURN_IF_ERROR(status);
  return PrintJson(response);
}

absl::Status ImportRequests(const ServerFlags& server, const ImportFlags& flags) {
  if (flags.chunk == 0) return UsageError("--chunk must be at least 1");
  std::ifstream file;
  if (flags.file != "-") {
    file.open(flags.file);
    if (!file) return UsageError(absl::StrCat("cannot read ", flags.file));
  }
  KAM_ASSIGN_OR_RETURN(Client client, Client::Open(server));
  ImportTally tally;
  absl::Status sent = ImportStream(client, flags, flags.file == "-" ? std::cin : file, &tally);
  std::printf("%s: %llu lines, %llu accepted, %llu refused\n", flags.file.c_str(),
              static_cast<unsigned long long>(tally.lines),
              static_cast<unsigned long long>(tally.accepted),
              static_cast<unsigned long long>(tally.refused));
  std::fflush(stdout);
  KAM_RETURN_IF_ERROR(sent);
  if (tally.refused > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(tally.refused, " of ", tally.lines, " lines were refused (listed above)"));
  }
  return absl::OkStatus();
}

absl::Status ReadStream(const ServerFlags& server, const ReadFlags& flags) {
  kam::v1::ReadStreamRequest request;
  request.set_stream(flags.stream);
  if (flags.from_version) request.set_from_version(*flags.from_version);
  request.set_direction(flags.backward ? kam::v1::DIRECTION_BACKWARD : kam::v1::DIRECTION_FORWARD);
  request.set_max_count(flags.max_count);
  KAM_ASSIGN_OR_RETURN(Client client, Client::Open(server));
  std::unique_ptr<grpc::ClientContext> context = client.Context();
  auto reader = client.EventStore()->ReadStream(context.get(), request);
  return PrintEvents(client, context.get(), reader.get(), 0);
}

absl::Status Tail(const ServerFlags& server, const TailFlags& flags) {
  KAM_ASSIGN_OR_RETURN(Client client, Client::Open(server));
  kam::v1::SubscribeRequest request;
  if (flags.from_position) {
    request.set_from_position(*flags.from_position);
  } else {
    std::unique_ptr<grpc::ClientContext> context = client.Context();
    kam::v1::GetLogHeadResponse head;
    KAM_RETURN_IF_ERROR(client.Check(
        client.Audit()->GetLogHead(context.get(), kam::v1::GetLogHeadRequest(), &head)));
    request.set_from_position(head.position() + 1);
  }
  request.mutable_filter()->set_stream_prefix(flags.stream_prefix);
  for (const std::string& type : flags.types) request.mutable_filter()->add_types(type);
  std::unique_ptr<grpc::ClientContext> context = client.Context(/*bounded=*/false);
  auto reader = client.EventStore()->Subscribe(context.get(), request);
  return PrintEvents(client, context.get(), reader.get(), flags.max_count);
}

absl::Status ShowAccount(const ServerFlags& server, const AccountFlags& flags) {
  kam::v1::GetAccountRequest request;
  request.set_account_id(flags.account_id);
  KAM_RETURN_IF_ERROR(SetViewTime(flags.time, &request));
  KAM_ASSIGN_OR_RETURN(Client client, Client::Open(server));
  std::unique_ptr<grpc::ClientContext> context = client.Context();
  kam::v1::AccountView view;
  KAM_RETURN_IF_ERROR(client.Check(client.Views()->GetAccount(context.get(), request, &view)));
  return PrintJson(view);
}

namespace {

absl::Status SetFilter(const AccountsFlags& flags, kam::v1::ListAccountsRequest* request) {
  kam::v1::AccountFilter* filter = request->mutable_filter();
  if (!flags.stage.empty()) {
    KAM_ASSIGN_OR_RETURN(
        int stage, ParseEnumFlag("--stage", flags.stage, *kam::v1::RelationshipStage_descriptor(),
                                 "RELATIONSHIP_STAGE_"));
    filter->set_stage(static_cast<kam::v1::RelationshipStage>(stage));
  }
  if (!flags.abc.empty()) {
    KAM_ASSIGN_OR_RETURN(
        int abc, ParseEnumFlag("--abc", flags.abc, *kam::v1::AbcClass_descriptor(), "ABC_CLASS_"));
    filter->set_abc_class(static_cast<kam::v1::AbcClass>(abc));
  }
  if (!flags.segment.empty()) {
    KAM_ASSIGN_OR_RETURN(
        int segment, ParseEnumFlag("--segment", flags.segment, *kam::v1::ValueSegment_descriptor(),
                                   "VALUE_SEGMENT_"));
    filter->set_value_segment(static_cast<kam::v1::ValueSegment>(segment));
  }
  if (!flags.risk.empty()) {
    KAM_ASSIGN_OR_RETURN(int risk, ParseEnumFlag("--risk", flags.risk,
                                                 *kam::v1::RiskLevel_descriptor(), "RISK_LEVEL_"));
    filter->set_risk_level(static_cast<kam::v1::RiskLevel>(risk));
  }
  filter->set_account_manager(flags.manager);
  if (!flags.order.empty()) {
    KAM_ASSIGN_OR_RETURN(int order,
                         ParseEnumFlag("--order", flags.order, *kam::v1::AccountOrder_descriptor(),
                                       "ACCOUNT_ORDER_"));
    request->set_order_by(static_cast<kam::v1::AccountOrder>(order));
  }
  request->set_page_size(flags.page_size);
  return SetViewTime(flags.time, request);
}

}  // namespace

absl::Status ListAccounts(const ServerFlags& server, const AccountsFlags& flags) {
  kam::v1::ListAccountsRequest request;
  KAM_RETURN_IF_ERROR(SetFilter(flags, &request));
  KAM_ASSIGN_OR_RETURN(Client client, Client::Open(server));
  std::unique_ptr<kam::v1::Views::Stub> views = client.Views();
  do {
    std::unique_ptr<grpc::ClientContext> context = client.Context();
    kam::v1::ListAccountsResponse page;
    KAM_RETURN_IF_ERROR(client.Check(views->ListAccounts(context.get(), request, &page)));
    for (const kam::v1::AccountSummary& account : page.accounts()) {
      KAM_RETURN_IF_ERROR(PrintJson(account));
    }
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  return absl::OkStatus();
}

absl::Status ShowPortfolio(const ServerFlags& server, const PortfolioFlags& flags) {
  kam::v1::GetPortfolioRequest request;
  KAM_RETURN_IF_ERROR(SetViewTime(flags.time, &request));
  request.set_max_attention(flags.max_attention);
  KAM_ASSIGN_OR_RETURN(Client client, Client::Open(server));
  std::unique_ptr<grpc::ClientContext> context = client.Context();
  kam::v1::Portfolio portfolio;
  KAM_RETURN_IF_ERROR(
      client.Check(client.Views()->GetPortfolio(context.get(), request, &portfolio)));
  return PrintJson(portfolio);
}

absl::Status ReplayAccount(const ServerFlags& server, const ReplayFlags& flags) {
  kam::v1::ReplayAccountRequest request;
  request.set_account_id(flags.account_id);
  if (flags.to_version) request.set_to_version(*flags.to_version);
  if (!flags.as_of.empty()) {
    KAM_ASSIGN_OR_RETURN(absl::Time as_of, ParseTimeFlag("--as-of", flags.as_of));
    *request.mutable_as_of() = services::ToProto(as_of);
  }
  KAM_ASSIGN_OR_RETURN(Client client, Client::Open(server));
  std::unique_ptr<grpc::ClientContext> context = client.Context();
  auto reader = client.Audit()->ReplayAccount(context.get(), request);
  kam::v1::ReplayAccountResponse step;
  while (reader->Read(&step)) {
    if (absl::Status printed = PrintJson(step); !printed.ok()) {
      context->TryCancel();
      reader->Finish().ok();  // Cancelled on purpose.
      return printed;
    }
  }
  return client.Check(reader->Finish());
}

absl::Status VerifyLogOnline(const ServerFlags& server, const VerifyRangeFlags& flags) {
  kam::v1::VerifyLogRequest request;
  request.set_from_position(flags.from_position);
  request.set_to_position(flags.to_position);
  KAM_ASSIGN_OR_RETURN(Client client, Client::Open(server));
  std::unique_ptr<grpc::ClientContext> context = client.Context();
  kam::v1::VerifyLogResponse response;
  KAM_RETURN_IF_ERROR(client.Check(client.Audit()->VerifyLog(context.get(), request, &response)));
  KAM_RETURN_IF_ERROR(PrintJson(response));
  if (!response.ok()) {
    return absl::DataLossError(absl::StrCat("the log's hash chain breaks at position ",
                                            response.first_bad_position(), ": ",
                                            response.problem()));
  }
  return absl::OkStatus();
}

absl::Status ShowHead(const ServerFlags& server) {
  KAM_ASSIGN_OR_RETURN(Client client, Client::Open(server));
  std::unique_ptr<grpc::ClientContext> context = client.Context();
  kam::v1::GetLogHeadResponse head;
  KAM_RETURN_IF_ERROR(
      client.Check(client.Audit()->GetLogHead(context.get(), kam::v1::GetLogHeadRequest(), &head)));
  return PrintJson(head);
}

}  // namespace kam::kamctl
