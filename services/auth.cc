#include "services/auth.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "eventstore/canonical_encoding.h"

namespace kam::services {

namespace {

constexpr uint32_t kRecorder = 1;
constexpr uint32_t kReader = 2;
constexpr uint32_t kAuditor = 4;
constexpr uint32_t kAdmin = 8;

uint32_t AllowedRoles(Permission permission) {
  switch (permission) {
    case Permission::kRecord:
    case Permission::kAppend:
      return kRecorder | kAdmin;
    case Permission::kReadLog:
    case Permission::kAudit:
      return kAuditor | kAdmin;
    case Permission::kReadViews:
      return kReader | kAuditor | kAdmin;
  }
  return kAdmin;
}

bool ParseRole(absl::string_view name, uint32_t* role) {
  if (name == "recorder")
    *role = kRecorder;
  else if (name == "reader")
    *role = kReader;
  else if (name == "auditor")
    *role = kAuditor;
  else if (name == "admin")
    *role = kAdmin;
  else
    return false;
  return true;
}

std::string RawSha256(absl::string_view data) {
  return eventstore::ChainHash("", data);  // SHA-256("" || data).
}

}  // namespace

std::string TokenHash(absl::string_view token) { return absl::BytesToHexString(RawSha256(token)); }

absl::StatusOr<Authorizer> Authorizer::FromTokensText(absl::string_view text,
                                                      absl::string_view source) {
  Authorizer authorizer;
  authorizer.enabled_ = true;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const std::string where = absl::StrCat(source, ":", line_number);
    if (fields.size() != 2 || fields[0].size() != 64) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": expected '<sha256 of the token, 64 hex digits> <role>[,<role>...]'"));
    }
    std::string hex = absl::AsciiStrToLower(fields[0]);
    if (hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": the hash is not hexadecimal"));
    }
    uint32_t roles = 0;
    for (absl::string_view name : absl::StrSplit(fields[1], ',', absl::SkipEmpty())) {
      uint32_t role = 0;
      if (!ParseRole(name, &role)) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": unknown role '", name, "' (roles: recorder, reader, auditor, admin)"));
      }
      roles |= role;
    }
    authorizer.roles_by_hash_[absl::HexStringToBytes(hex)] |= roles;
  }
  if (authorizer.roles_by_hash_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": holds no token"));
  }
  return authorizer;
}

absl::StatusOr<Authorizer> Authorizer::FromTokensFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the tokens file ", path));
  std::stringstream text;
  text << in.rdbuf();
  return FromTokensText(text.str(), path);
}

grpc::Status Authorizer::CheckToken(absl::string_view header, Permission permission) const {
  if (!enabled_) return grpc::Status::OK;
  absl::string_view token = header;
  if (!absl::ConsumePrefix(&token, "Bearer ") || token.empty()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing 'authorization: Bearer <token>' metadata");
  }
  auto it = roles_by_hash_.find(RawSha256(token));
  if (it == roles_by_hash_.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown token");
  }
  if ((it->second & AllowedRoles(permission)) == 0) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "this token's roles do not allow this call");
  }
  return grpc::Status::OK;
}

grpc::Status Authorizer::Check(const grpc::ServerContextBase& context,
                               Permission permission) const {
  if (!enabled_) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  absl::string_view header;
  if (it != metadata.end()) header = absl::string_view(it->second.data(), it->second.size());
  return CheckToken(header, permission);
}

}  // namespace kam::services
