#include "tools/kambench/report.h"

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace kam::kambench {

double SecondsSince(BenchClock::time_point start) {
  return std::chrono::duration<double>(BenchClock::now() - start).count();
}

Latency Summarize(std::vector<double> ms) {
  Latency l;
  if (ms.empty()) return l;
  std::sort(ms.begin(), ms.end());
  l.p50_ms = ms[ms.size() / 2];
  l.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  l.max_ms = ms.back();
  return l;
}

absl::Status WriteJson(const std::string& path, const google::protobuf::Struct& report) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  if (!google::protobuf::util::MessageToJsonString(report, &json, options).ok()) {
    return absl::InternalError("cannot encode the JSON report");
  }
  std::ofstream out(path, std::ios::trunc);
  out << json;
  if (!out.flush()) return absl::UnavailableError(absl::StrCat("--json: cannot write ", path));
  return absl::OkStatus();
}

}  // namespace kam::kambench
