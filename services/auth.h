// Who may call what. With a tokens file, every call must carry
// `authorization: Bearer <token>`; the file stores only SHA-256 hashes of the
// tokens, never the tokens, one per line:
//
//   # sha256(token) in hex          roles
//   9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 recorder,reader
//
// Roles (API.md): recorder: Accounts and EventStore.Append; reader: Views;
// auditor: Views, Audit and EventStore reads, never writes; admin: all.
// Without a tokens file every call is allowed (kamd then listens on loopback
// only).

#ifndef KAM_SERVICES_AUTH_H_
#define KAM_SERVICES_AUTH_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"

namespace kam::services {

// What a call needs.
enum class Permission { kRecord, kAppend, kReadLog, kReadViews, kAudit };

class Authorizer {
 public:
  // Allows every call.
  static Authorizer AllowAll() { return Authorizer(); }
  // Parses a tokens file; errors name the file and line.
  static absl::StatusOr<Authorizer> FromTokensFile(const std::string& path);
  static absl::StatusOr<Authorizer> FromTokensText(absl::string_view text,
                                                   absl::string_view source);

  bool enabled() const { return enabled_; }
  size_t token_count() const { return roles_by_hash_.size(); }

  // OK, UNAUTHENTICATED (no or unknown token) or PERMISSION_DENIED (a known
  // token without the role). Messages never contain the token.
  grpc::Status Check(const grpc::ServerContextBase& context, Permission permission) const;
  grpc::Status CheckToken(absl::string_view authorization_header, Permission permission) const;

 private:
  bool enabled_ = false;
  absl::flat_hash_map<std::string, uint32_t> roles_by_hash_;  // Raw SHA-256 -> role bits.
};

// SHA-256 of a token in lowercase hex: what the tokens file holds.
std::string TokenHash(absl::string_view token);

}  // namespace kam::services

#endif  // KAM_SERVICES_AUTH_H_
