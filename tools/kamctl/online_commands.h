// kamctl's online commands: calls to a running kamd over gRPC. Each command
// prints its answer on stdout (one JSON object, or NDJSON for streams and
// lists, in the protobuf JSON mapping) and returns the call's status.
//
//   ServerFlags server;               // --server, --token / KAM_TOKEN, --tls-ca
//   AccountFlags account{"acme"};
//   absl::Status done = ShowAccount(server, account);

#ifndef KAM_TOOLS_KAMCTL_ONLINE_COMMANDS_H_
#define KAM_TOOLS_KAMCTL_ONLINE_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace kam::kamctl {

// Where kamd listens and how to reach it.
struct ServerFlags {
  std::string server = "127.0.0.1:50051";
  // Sent as "authorization: Bearer <token>"; empty: none (kamd without a
  // tokens file). main() fills it from KAM_TOKEN when --token is absent.
  std::string token;
  // PEM file of the CA that signed kamd's certificate; empty: plaintext.
  std::string tls_ca;
  // Deadline of each unary call and of each RecordBatch chunk.
  double timeout_seconds = 30;
};

// The views' clock (--as-of, --axis) and read-your-writes (--min-position).
struct ViewTimeFlags {
  std::string as_of;  // RFC 3339; empty: now.
  std::string axis;   // occurred | recorded; empty: occurred.
  uint64_t min_position = 0;
};

struct RecordFlags {
  std::string account_id;
  std::string request_id;  // Empty: a random UUID, printed on stderr.
  std::string event_json;  // Empty: read from stdin.
  std::optional<uint64_t> expected_version;
};

struct ImportFlags {
  std::string file;  // NDJSON of RecordRequest; "-" is stdin.
  size_t chunk = 5000;
};

struct ReadFlags {
  std::string stream;
  std::optional<uint64_t> from_version;
  bool backward = false;
  uint64_t max_count = 0;
};

struct TailFlags {
  std::optional<uint64_t> from_position;  // Absent: only events after the head.
  std::string stream_prefix;
  std::vector<std::string> types;
  uint64_t max_count = 0;  // 0: until interrupted.
};

struct AccountFlags {
  std::string account_id;
  ViewTimeFlags time;
};

struct AccountsFlags {
  std::string stage, abc, segment, risk, manager, order;
  uint32_t page_size = 0;
  ViewTimeFlags time;
};

struct PortfolioFlags {
  ViewTimeFlags time;
  uint32_t max_attention = 0;
};

struct ReplayFlags {
  std::string account_id;
  std::optional<uint64_t> to_version;
  std::string as_of;
};

struct VerifyRangeFlags {
  uint64_t from_position = 0;
  uint64_t to_position = 0;  // 0: the head.
};

absl::Status Record(const ServerFlags& server, const RecordFlags& flags);
// Prints "line N: CODE: message" for each refused line and a summary; an
// error (exit code 1) when any line was refused.
absl::Status ImportRequests(const ServerFlags& server, const ImportFlags& flags);
absl::Status ReadStream(const ServerFlags& server, const ReadFlags& flags);
absl::Status Tail(const ServerFlags& server, const TailFlags& flags);
absl::Status ShowAccount(const ServerFlags& server, const AccountFlags& flags);
absl::Status ListAccounts(const ServerFlags& server, const AccountsFlags& flags);
absl::Status ShowPortfolio(const ServerFlags& server, const PortfolioFlags& flags);
absl::Status ReplayAccount(const ServerFlags& server, const ReplayFlags& flags);
// DataLoss (exit code 1) when the server reports a broken chain.
absl::Status VerifyLogOnline(const ServerFlags& server, const VerifyRangeFlags& flags);
absl::Status ShowHead(const ServerFlags& server);

}  // namespace kam::kamctl

#endif  // KAM_TOOLS_KAMCTL_ONLINE_COMMANDS_H_
