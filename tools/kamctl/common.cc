#include "tools/kamctl/common.h"

#include <unistd.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"

namespace kam::kamctl {

namespace {

// Marks a status as the user's mistake; the payload never leaves kamctl.
constexpr char kUsagePayload[] = "kamctl/usage-error";

}  // namespace

absl::Status UsageError(absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

int ExitCodeOf(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  return IsUsageError(status) ? kExitUsage : kExitFailure;
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message, bool all_fields) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = all_fields;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print a ", message.GetTypeName(), " as JSON: ", status.ToString()));
  }
  return json;
}

absl::Status PrintJson(const google::protobuf::Message& message, bool all_fields, std::FILE* out) {
  absl::StatusOr<std::string> json = ToJson(message, all_fields);
  if (!json.ok()) return json.status();
  json->push_back('\n');
  if (std::fwrite(json->data(), 1, json->size(), out) != json->size() || std::fflush(out) != 0) {
    return absl::UnavailableError("cannot write the output (closed pipe or full disk?)");
  }
  return absl::OkStatus();
}

absl::Status ParseJson(absl::string_view json, absl::string_view what,
                       google::protobuf::Message* message) {
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message);
  if (!status.ok()) {
    // The parser's message quotes the input on further lines; its first line
    // says what is wrong, and reports must stay one line each.
    const std::string cause = status.message().ToString();
    return UsageError(
        absl::StrCat(what, " is not a ", message->GetTypeName(),
                     " in the protobuf JSON mapping: ", cause.substr(0, cause.find('\n'))));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> ParseTimeFlag(absl::string_view flag, const std::string& text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return UsageError(absl::StrCat(
        flag, ": '", text, "' is not an RFC 3339 time such as 2024-05-01T12:00:00Z (", error, ")"));
  }
  return t;
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

absl::StatusOr<int> ParseEnumFlag(absl::string_view flag, const std::string& text,
                                  const google::protobuf::EnumDescriptor& type,
                                  absl::string_view prefix) {
  const std::string upper = absl::AsciiStrToUpper(text);
  const google::protobuf::EnumValueDescriptor* value = type.FindValueByName(upper);
  if (value == nullptr) value = type.FindValueByName(absl::StrCat(prefix, upper));
  if (value != nullptr && value->number() != 0) return value->number();
  std::vector<std::string> names;
  for (int i = 1; i < type.value_count(); ++i) {
    names.push_back(absl::AsciiStrToLower(type.value(i)->name().substr(prefix.size())));
  }
  return UsageError(
      absl::StrCat(flag, ": '", text, "' is not one of ", absl::StrJoin(names, ", ")));
}

Progress::Progress(std::string what)
    : what_(std::move(what)), enabled_(isatty(STDERR_FILENO) == 1), started_(absl::Now()) {}

Progress::~Progress() {
  if (shown_) std::fprintf(stderr, "\r\033[K");
}

void Progress::Update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  const absl::Time now = absl::Now();
  if (now - last_shown_ < absl::Milliseconds(100)) return;
  last_shown_ = now;
  shown_ = true;
  const double seconds = absl::ToDoubleSeconds(now - started_);
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  if (total > 0) {
    std::fprintf(stderr, "\r\033[K%s: %llu of %llu (%.0f%%), %.0f/s", what_.c_str(),
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                 100.0 * static_cast<double>(done) / static_cast<double>(total), rate);
  } else {
    std::fprintf(stderr, "\r\033[K%s: %llu, %.0f/s", what_.c_str(),
                 static_cast<unsigned long long>(done), rate);
  }
  std::fflush(stderr);
}

std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

}  // namespace kam::kamctl
