// Who may call what (API.md "Roles"), over real gRPC calls: every RPC of the
// four kam.v1 services against every kind of caller, plus the tokens file,
// the loopback rule and TLS.

#include "services/auth.h"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "services/server.h"
#include "tests/services/test_server.h"
#include "tests/support/account_events.h"

namespace kam::services {
namespace {

using ::kam::services::testing::Context;
using ::kam::services::testing::TestServer;
using ::testing::HasSubstr;
using ::testing::Not;

// ---------------------------------------------------------------------------
// The tokens file

TEST(AuthorizerTest, TokenHashIsLowercaseHexSha256) {
  EXPECT_EQ(TokenHash("test"), "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

TEST(AuthorizerTest, ParseErrorsNameTheFileAndLine) {
  const std::string hash = TokenHash("t");
  struct Case {
    std::string text;
    std::string where;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"# comment\n\nnot-a-hash reader\n", "tokens.txt:3", "64 hex digits"},
      {absl::StrCat(hash, " reader\n", hash, " janitor\n"), "tokens.txt:2",
       "unknown role 'janitor'"},
      {absl::StrCat(std::string(64, 'z'), " reader\n"), "tokens.txt:1", "not hexadecimal"},
      {absl::StrCat(hash, "\n"), "tokens.txt:1", "<role>"},
      {absl::StrCat(hash, " reader extra\n"), "tokens.txt:1", "<role>"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Authorizer> parsed = Authorizer::FromTokensText(c.text, "tokens.txt");
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.where + ":")) << c.text;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.why)) << c.text;
  }
}

TEST(AuthorizerTest, AFileWithoutTokensIsRefused) {
  absl::StatusOr<Authorizer> parsed = Authorizer::FromTokensText("# nobody\n\n", "empty.txt");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("empty.txt"));
}

TEST(AuthorizerTest, AMissingFileIsNamed) {
  absl::StatusOr<Authorizer> parsed = Authorizer::FromTokensFile("/nonexistent/kam-tokens");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(parsed.status().message(), HasSubstr("/nonexistent/kam-tokens"));
}

TEST(AuthorizerTest, ReadsAFileAndNamesItsLineOnError) {
  char path[] = "/tmp/kam_tokens_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "# kam tokens\n" << TokenHash("a") << " admin\n" << TokenHash("b") << " root\n";
  }
  absl::StatusOr<Authorizer> parsed = Authorizer::FromTokensFile(path);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr(absl::StrCat(path, ":3")));
  {
    std::ofstream out(path);
    out << TokenHash("a") << " admin  # the operator\n" << TokenHash("b") << " reader\n";
  }
  parsed = Authorizer::FromTokensFile(path);
  std::remove(path);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->enabled());
  EXPECT_EQ(parsed->token_count(), 2u);
}

TEST(AuthorizerTest, ATokenMayHoldSeveralRolesOnOneOrMoreLines) {
  const std::string text = absl::StrCat(TokenHash("both"), " recorder,reader\n", TokenHash("split"),
                                        " recorder\n", TokenHash("split"), " auditor\n");
  absl::StatusOr<Authorizer> authorizer = Authorizer::FromTokensText(text, "t");
  ASSERT_TRUE(authorizer.ok()) << authorizer.status();
  EXPECT_TRUE(authorizer->CheckToken("Bearer both", Permission::kRecord).ok());
  EXPECT_TRUE(authorizer->CheckToken("Bearer both", Permission::kReadViews).ok());
  EXPECT_EQ(authorizer->CheckToken("Bearer both", Permission::kAudit).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(authorizer->CheckToken("Bearer split", Permission::kAppend).ok());
  EXPECT_TRUE(authorizer->CheckToken("Bearer split", Permission::kReadLog).ok());
}

TEST(AuthorizerTest, RefusalsNameNeitherTheTokenNorAcceptOtherSchemes) {
  const std::string secret = "s3cret-token-value";
  absl::StatusOr<Authorizer> authorizer =
      Authorizer::FromTokensText(absl::StrCat(TokenHash(secret), " reader\n"), "t");
  ASSERT_TRUE(authorizer.ok()) << authorizer.status();
  for (const std::string& header :
       {absl::StrCat("Basic ", secret), std::string("Bearer "), std::string(""),
        absl::StrCat("Bearer ", secret, "x"), absl::StrCat("bearer ", secret)}) {
    grpc::Status status = authorizer->CheckToken(header, Permission::kReadViews);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << header;
    EXPECT_THAT(status.error_message(), Not(HasSubstr(secret)));
  }
  grpc::Status denied = authorizer->CheckToken("Bearer " + secret, Permission::kAppend);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(denied.error_message(), Not(HasSubstr(secret)));
}

TEST(AuthorizerTest, AllowAllAllowsEveryCall) {
  Authorizer authorizer = Authorizer::AllowAll();
  EXPECT_FALSE(authorizer.enabled());
  EXPECT_TRUE(authorizer.CheckToken("", Permission::kAudit).ok());
}

// ---------------------------------------------------------------------------
// The matrix: every RPC x every kind of caller

enum class Caller { kNoToken, kBadToken, kRecorder, kReader, kAuditor, kAdmin };

constexpr Caller kCallers[] = {Caller::kNoToken, Caller::kBadToken, Caller::kRecorder,
                               Caller::kReader,  Caller::kAuditor,  Caller::kAdmin};

const char* CallerName(Caller caller) {
  switch (caller) {
    case Caller::kNoToken:
      return "NoToken";
    case Caller::kBadToken:
      return "BadToken";
    case Caller::kRecorder:
      return "Recorder";
    case Caller::kReader:
      return "Reader";
    case Caller::kAuditor:
      return "Auditor";
    case Caller::kAdmin:
      return "Admin";
  }
  return "?";
}

uint32_t Bit(Caller caller) { return 1u << static_cast<int>(caller); }

// What a call returned: its status and every byte of data it got.
struct Outcome {
  grpc::Status status;
  int messages = 0;
  size_t bytes = 0;
};

template <typename Response>
Outcome UnaryOutcome(const grpc::Status& status, const Response& response) {
  return {status, 0, response.ByteSizeLong()};
}

// Reads up to `max_messages`, then cancels: a live Subscribe never ends.
template <typename Response>
Outcome Drain(grpc::ClientContext* context, grpc::ClientReader<Response>* reader,
              int max_messages = 1000) {
  Outcome outcome;
  Response response;
  while (outcome.messages < max_messages && reader->Read(&response)) {
    ++outcome.messages;
    outcome.bytes += response.ByteSizeLong();
  }
  if (outcome.messages >= max_messages) context->TryCancel();
  outcome.status = reader->Finish();
  return outcome;
}

google::protobuf::Timestamp HourAgo() {
  return google::protobuf::util::TimeUtil::SecondsToTimestamp(
      absl::ToUnixSeconds(absl::Now() - absl::Hours(1)));
}

// Unique ids, so allowed writes of different cases never collide.
std::string NextId(absl::string_view prefix) {
  static std::atomic<int> next{0};
  return absl::StrCat(prefix, "-", next.fetch_add(1));
}

v1::RecordRequest OpenAccountRequest() {
  const std::string account_id = NextId("acct");
  const std::string request_id = NextId("req");
  v1::AccountEvent event = test_support::Opened("Acme Trading", "maria");
  *event.mutable_occurred_at() = HourAgo();
  event.set_actor("auth-test");
  return test_support::Request(account_id, request_id, event);
}

constexpr char kSeedAccount[] = "seed";
constexpr char kSeedStream[] = "seed-stream";

Outcome CallAppend(const TestServer& server, const std::string& token) {
  v1::AppendRequest request;
  request.set_stream(NextId("auth-stream"));
  v1::EventData* event = request.add_events();
  event->set_type("test.Noted");
  event->set_data("payload");
  *event->mutable_occurred_at() = HourAgo();
  v1::AppendResponse response;
  auto context = Context(token);
  return UnaryOutcome(server.EventStore()->Append(context.get(), request, &response), response);
}

Outcome CallReadStream(const TestServer& server, const std::string& token) {
  v1::ReadStreamRequest request;
  request.set_stream(kSeedStream);
  auto context = Context(token);
  auto reader = server.EventStore()->ReadStream(context.get(), request);
  return Drain(context.get(), reader.get());
}

Outcome CallReadAll(const TestServer& server, const std::string& token) {
  v1::ReadAllRequest request;
  auto context = Context(token);
  auto reader = server.EventStore()->ReadAll(context.get(), request);
  return Drain(context.get(), reader.get());
}

Outcome CallSubscribe(const TestServer& server, const std::string& token) {
  v1::SubscribeRequest request;
  request.set_from_position(1);  // The seed event: an allowed call gets a message at once.
  auto context = Context(token, absl::Seconds(10));
  auto reader = server.EventStore()->Subscribe(context.get(), request);
  return Drain(context.get(), reader.get(), 1);
}

Outcome CallGetStreamInfo(const TestServer& server, const std::string& token) {
  v1::GetStreamInfoRequest request;
  request.set_stream(kSeedStream);
  v1::GetStreamInfoResponse response;
  auto context = Context(token);
  return UnaryOutcome(server.EventStore()->GetStreamInfo(context.get(), request, &response),
                      response);
}

Outcome CallRecord(const TestServer& server, const std::string& token) {
  v1::RecordResponse response;
  auto context = Context(token);
  return UnaryOutcome(server.Accounts()->Record(context.get(), OpenAccountRequest(), &response),
                      response);
}

Outcome CallRecordBatch(const TestServer& server, const std::string& token) {
  v1::RecordBatchResponse response;
  auto context = Context(token);
  auto writer = server.Accounts()->RecordBatch(context.get(), &response);
  // A refused call may end before reading: a failed Write is then expected.
  if (writer->Write(OpenAccountRequest())) writer->Write(OpenAccountRequest());
  writer->WritesDone();
  return UnaryOutcome(writer->Finish(), response);
}

Outcome CallGetAccount(const TestServer& server, const std::string& token) {
  v1::GetAccountRequest request;
  request.set_account_id(kSeedAccount);
  v1::AccountView response;
  auto context = Context(token);
  return UnaryOutcome(server.Views()->GetAccount(context.get(), request, &response), response);
}

Outcome CallListAccounts(const TestServer& server, const std::string& token) {
  v1::ListAccountsRequest request;
  v1::ListAccountsResponse response;
  auto context = Context(token);
  return UnaryOutcome(server.Views()->ListAccounts(context.get(), request, &response), response);
}

Outcome CallGetPortfolio(const TestServer& server, const std::string& token) {
  v1::GetPortfolioRequest request;
  v1::Portfolio response;
  auto context = Context(token);
  return UnaryOutcome(server.Views()->GetPortfolio(context.get(), request, &response), response);
}

Outcome CallReplayAccount(const TestServer& server, const std::string& token) {
  v1::ReplayAccountRequest request;
  request.set_account_id(kSeedAccount);
  auto context = Context(token);
  auto reader = server.Audit()->ReplayAccount(context.get(), request);
  return Drain(context.get(), reader.get());
}

Outcome CallVerifyLog(const TestServer& server, const std::string& token) {
  v1::VerifyLogRequest request;
  v1::VerifyLogResponse response;
  auto context = Context(token);
  return UnaryOutcome(server.Audit()->VerifyLog(context.get(), request, &response), response);
}

Outcome CallGetLogHead(const TestServer& server, const std::string& token) {
  v1::GetLogHeadRequest request;
  v1::GetLogHeadResponse response;
  auto context = Context(token);
  return UnaryOutcome(server.Audit()->GetLogHead(context.get(), request, &response), response);
}

struct Rpc {
  const char* name;
  uint32_t allowed;  // Bits of the callers API.md allows.
  Outcome (*call)(const TestServer& server, const std::string& token);
};

const uint32_t kWriters = Bit(Caller::kRecorder) | Bit(Caller::kAdmin);
const uint32_t kLogReaders = Bit(Caller::kAuditor) | Bit(Caller::kAdmin);
const uint32_t kViewReaders = Bit(Caller::kReader) | Bit(Caller::kAuditor) | Bit(Caller::kAdmin);

const Rpc kRpcs[] = {
    {"EventStore_Append", kWriters, CallAppend},
    {"EventStore_ReadStream", kLogReaders, CallReadStream},
    {"EventStore_ReadAll", kLogReaders, CallReadAll},
    {"EventStore_Subscribe", kLogReaders, CallSubscribe},
    {"EventStore_GetStreamInfo", kLogReaders, CallGetStreamInfo},
    {"Accounts_Record", kWriters, CallRecord},
    {"Accounts_RecordBatch", kWriters, CallRecordBatch},
    {"Views_GetAccount", kViewReaders, CallGetAccount},
    {"Views_ListAccounts", kViewReaders, CallListAccounts},
    {"Views_GetPortfolio", kViewReaders, CallGetPortfolio},
    {"Audit_ReplayAccount", kLogReaders, CallReplayAccount},
    {"Audit_VerifyLog", kLogReaders, CallVerifyLog},
    {"Audit_GetLogHead", kLogReaders, CallGetLogHead},
};

std::string RandomToken() {
  std::random_device random;
  std::string bytes(24, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  return absl::BytesToHexString(bytes);
}

// One server with a tokens file for the whole matrix.
class AuthorizationMatrixTest : public ::testing::TestWithParam<std::tuple<int, Caller>> {
 protected:
  static void SetUpTestSuite() {
    for (Caller caller : kCallers) Tokens()[static_cast<int>(caller)] = RandomToken();
    Tokens()[static_cast<int>(Caller::kNoToken)] = "";
    char path[] = "/tmp/kam_auth_tokens_XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    tokens_file_ = new std::string(path);
    std::ofstream out(path);
    out << "# hashes of the matrix's tokens; bad-token is in no line\n"
        << TokenHash(Token(Caller::kRecorder)) << " recorder\n"
        << TokenHash(Token(Caller::kReader)) << " reader\n"
        << TokenHash(Token(Caller::kAuditor)) << " auditor\n"
        << TokenHash(Token(Caller::kAdmin)) << " admin\n";
    out.close();
    ServerOptions options;
    options.tokens_file = path;
    server_ = new TestServer(options);
    Seed();
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::remove(tokens_file_->c_str());
    delete tokens_file_;
  }

  // An event at position 1, so an allowed Subscribe from 1 gets a message at
  // once, and an account, so allowed view and replay calls find it.
  static void Seed() {
    eventstore::EventData event;
    event.type = "test.Seeded";
    event.data = "seed";
    event.occurred_at = absl::Now() - absl::Hours(1);
    absl::StatusOr<eventstore::AppendResult> appended =
        server_->engine().log().Append(kSeedStream, eventstore::ExpectedVersion::Any(), {event});
    ASSERT_TRUE(appended.ok()) << appended.status();
    v1::RecordRequest request = OpenAccountRequest();
    request.set_account_id(kSeedAccount);
    v1::RecordResponse recorded;
    auto context = Context(Token(Caller::kAdmin));
    grpc::Status status = server_->Accounts()->Record(context.get(), request, &recorded);
    ASSERT_TRUE(status.ok()) << status.error_message();
    server_->engine().projector().WaitFor(recorded.position(), absl::Now() + absl::Seconds(10));
  }

  static std::string* Tokens() {
    static std::string tokens[6];
    return tokens;
  }
  static const std::string& Token(Caller caller) { return Tokens()[static_cast<int>(caller)]; }

  static TestServer* server_;
  static std::string* tokens_file_;
};

TestServer* AuthorizationMatrixTest::server_ = nullptr;
std::string* AuthorizationMatrixTest::tokens_file_ = nullptr;

TEST_P(AuthorizationMatrixTest, AllowedByRoleElseRefusedWithNoData) {
  const Rpc& rpc = kRpcs[std::get<0>(GetParam())];
  const Caller caller = std::get<1>(GetParam());
  ASSERT_TRUE(server_->engine().log().Head().position >= 1);
  const Outcome outcome = rpc.call(*server_, Token(caller));
  const grpc::StatusCode code = outcome.status.error_code();
  if (rpc.allowed & Bit(caller)) {
    // Every request of the matrix is valid: an allowed call gets its answer
    // (a Subscribe ends only when the client cancels it after one message).
    const grpc::StatusCode answered = std::string(rpc.name) == "EventStore_Subscribe"
                                          ? grpc::StatusCode::CANCELLED
                                          : grpc::StatusCode::OK;
    EXPECT_EQ(code, answered) << outcome.status.error_message();
    EXPECT_GT(outcome.bytes, 0u);
    return;
  }
  const grpc::StatusCode expected = caller == Caller::kNoToken || caller == Caller::kBadToken
                                        ? grpc::StatusCode::UNAUTHENTICATED
                                        : grpc::StatusCode::PERMISSION_DENIED;
  EXPECT_EQ(code, expected) << outcome.status.error_message();
  EXPECT_EQ(outcome.messages, 0);
  EXPECT_EQ(outcome.bytes, 0u);
  if (!Token(caller).empty()) {
    EXPECT_THAT(outcome.status.error_message(), Not(HasSubstr(Token(caller))));
  }
}

INSTANTIATE_TEST_SUITE_P(EveryRpcAndCaller, AuthorizationMatrixTest,
                         ::testing::Combine(::testing::Range(0, static_cast<int>(std::size(kRpcs))),
                                            ::testing::ValuesIn(kCallers)),
                         [](const ::testing::TestParamInfo<std::tuple<int, Caller>>& info) {
                           return absl::StrCat(kRpcs[std::get<0>(info.param)].name, "_",
                                               CallerName(std::get<1>(info.param)));
                         });

// A refused write leaves no trace in the log.
TEST(AuthorizationTest, RefusedWritesRecordNothing) {
  const std::string reader_token = RandomToken();
  char path[] = "/tmp/kam_auth_tokens_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << TokenHash(reader_token) << " reader,auditor\n";
  ServerOptions options;
  options.tokens_file = path;
  TestServer server(options);
  std::remove(path);
  for (const std::string& token : {std::string(""), std::string("wrong"), reader_token}) {
    EXPECT_FALSE(CallAppend(server, token).status.ok());
    EXPECT_FALSE(CallRecord(server, token).status.ok());
    EXPECT_FALSE(CallRecordBatch(server, token).status.ok());
  }
  EXPECT_EQ(server.engine().log().Head().position, 0u);
}

// ---------------------------------------------------------------------------
// Where the server may listen

TEST(ListenTest, LoopbackAddresses) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopbackAddress("127.1.2.3:0"));
  EXPECT_TRUE(IsLoopbackAddress("localhost:50051"));
  EXPECT_TRUE(IsLoopbackAddress("[::1]:50051"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0:50051"));
  EXPECT_FALSE(IsLoopbackAddress("[::]:50051"));
  EXPECT_FALSE(IsLoopbackAddress(":50051"));
  EXPECT_FALSE(IsLoopbackAddress("10.1.2.3:50051"));
  EXPECT_FALSE(IsLoopbackAddress("127.example.com:50051"));
}

TEST(ListenTest, ANonLoopbackAddressWithoutTokensIsRefused) {
  TestServer loopback;  // Its engine; a second server on it is refused before binding.
  ServerOptions options;
  options.listen = "0.0.0.0:0";
  absl::StatusOr<std::unique_ptr<KamServer>> server = KamServer::Start(&loopback.engine(), options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(server.status().message(), HasSubstr("0.0.0.0:0"));
  EXPECT_THAT(server.status().message(), HasSubstr("--tokens"));
  EXPECT_EQ(KamServer::CheckOptions(options).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ListenTest, WithoutTokensEveryCallIsAllowedOnLoopback) {
  TestServer server;
  EXPECT_FALSE(server.server().authenticated());
  EXPECT_TRUE(CallGetLogHead(server, "").status.ok());
  EXPECT_TRUE(CallGetLogHead(server, "any-token-at-all").status.ok());
}

// ---------------------------------------------------------------------------
// TLS

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kam_tls_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    cert_ = dir_ + "/cert.pem";
    key_ = dir_ + "/key.pem";
    const std::string command = absl::StrCat(
        "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout ",
        key_, " -out ", cert_, " >/dev/null 2>&1");
    ASSERT_EQ(std::system(command.c_str()), 0) << "openssl failed: " << command;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string ReadCert() const {
    std::ifstream in(cert_);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  std::string dir_, cert_, key_;
};

TEST_F(TlsTest, ServesOverTlsAndRefusesPlaintextClients) {
  ServerOptions options;
  options.tls_cert_file = cert_;
  options.tls_key_file = key_;
  TestServer server(options);
  const std::string target = absl::StrCat("127.0.0.1:", server.server().port());

  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadCert();
  grpc::ChannelArguments arguments;
  arguments.SetSslTargetNameOverride("localhost");
  auto tls_stub =
      v1::Audit::NewStub(grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), arguments));
  v1::GetLogHeadResponse head;
  auto context = Context("", absl::Seconds(10));
  grpc::Status status = tls_stub->GetLogHead(context.get(), v1::GetLogHeadRequest(), &head);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(head.hash().size(), 32u);

  auto plain_stub =
      v1::Audit::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  v1::GetLogHeadResponse refused;
  context = Context("", absl::Seconds(3));
  status = plain_stub->GetLogHead(context.get(), v1::GetLogHeadRequest(), &refused);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(refused.ByteSizeLong(), 0u);
}

TEST_F(TlsTest, CertificateAndKeyGoTogetherAndMustBeReadable) {
  ServerOptions options;
  options.tls_cert_file = cert_;
  EXPECT_EQ(KamServer::CheckOptions(options).code(), absl::StatusCode::kInvalidArgument);
  options.tls_key_file = dir_ + "/missing.pem";
  absl::Status status = KamServer::CheckOptions(options);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("missing.pem"));
}

}  // namespace
}  // namespace kam::services
