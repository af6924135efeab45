// What every kamctl command shares: how a failure becomes an exit code, how
// messages are printed as JSON, how flag values are parsed, and the progress
// line long work shows on a terminal.
//
//   absl::StatusOr<absl::Time> as_of = ParseTimeFlag("--as-of", text);
//   if (!as_of.ok()) return as_of.status();  // A usage error: exit code 2.
//   KAM_RETURN_IF_ERROR(PrintJson(view));     // One line on stdout.

#ifndef KAM_TOOLS_KAMCTL_COMMON_H_
#define KAM_TOOLS_KAMCTL_COMMON_H_

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace kam::kamctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// A mistake in what the user gave (a flag value, an event's JSON): exit code
// 2, like a bad flag. Every other error is a failure: exit code 1.
absl::Status UsageError(absl::string_view message);
bool IsUsageError(const absl::Status& status);
// The exit code for the outcome of a command.
int ExitCodeOf(const absl::Status& status);

// Writes `message` in the protobuf JSON mapping as one line to `out` and
// flushes it (so a pipe reader sees every line as soon as it is ready).
// `all_fields` also prints fields that hold their default value, so scripts
// find e.g. "version": "0" instead of nothing.
absl::Status PrintJson(const google::protobuf::Message& message, bool all_fields = true,
                       std::FILE* out = stdout);
// The message's JSON mapping as one line, without a newline.
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message, bool all_fields);
// Parses JSON into *message; a usage error naming `what` when it is not.
absl::Status ParseJson(absl::string_view json, absl::string_view what,
                       google::protobuf::Message* message);

// RFC 3339 with optional fractional seconds, e.g. 2024-05-01T12:00:00Z.
absl::StatusOr<absl::Time> ParseTimeFlag(absl::string_view flag, const std::string& text);
std::string FormatRfc3339(absl::Time t);

// An enum value given by its name, case-insensitive, with or without its
// prefix: "initial_cooperation" or "RELATIONSHIP_STAGE_INITIAL_COOPERATION"
// for RelationshipStage with prefix "RELATIONSHIP_STAGE_". A usage error
// listing the accepted names otherwise.
absl::StatusOr<int> ParseEnumFlag(absl::string_view flag, const std::string& text,
                                  const google::protobuf::EnumDescriptor& type,
                                  absl::string_view prefix);

// A progress line on stderr, shown only when stderr is a terminal (never in
// a pipe or a log file), rewritten at most ten times a second.
class Progress {
 public:
  explicit Progress(std::string what);
  ~Progress();  // Clears the line.
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `total` 0 when unknown.
  void Update(uint64_t done, uint64_t total);

 private:
  std::string what_;
  bool enabled_;
  bool shown_ = false;
  absl::Time last_shown_ = absl::InfinitePast();
  absl::Time started_;
};

// The hex digits of raw bytes (hashes, digests).
std::string Hex(absl::string_view bytes);

}  // namespace kam::kamctl

#endif  // KAM_TOOLS_KAMCTL_COMMON_H_
