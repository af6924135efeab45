#include "tools/kambench/report.h"

#include <algorithm>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

Throughput PairedSide::Total() const {
  Throughput total;
  for (const Throughput& half : halves) {
    total.items += half.items;
    total.seconds += half.seconds;
  }
  return total;
}

double PairedSide::HalvesRatio() const {
  double low = 0, high = 0;
  for (const Throughput& half : halves) {
    low = low == 0 ? half.PerSecond() : std::min(low, half.PerSecond());
    high = std::max(high, half.PerSecond());
  }
  return low > 0 ? high / low : 0;
}

std::vector<std::string> HalvesNotes(const std::string& what, const Paired& paired,
                                     const char* unit) {
  std::vector<std::string> notes;
  for (const auto& [side, name] :
       {std::pair<const PairedSide*, const char*>{&paired.raw, "raw"}, {&paired.kam, "kam"}}) {
    if (side->HalvesRatio() < kDisturbedHalvesRatio) continue;
    notes.push_back(absl::StrFormat(
        "note: %s, %s: its halves differ %.1fx (%.0f vs %.0f %s); the disk or CPUs were likely "
        "disturbed, consider a rerun",
        what, name, side->HalvesRatio(), side->halves.front().PerSecond(),
        side->halves.back().PerSecond(), unit));
  }
  return notes;
}

bool OptimizedBuild() {
#if defined(__OPTIMIZE__)
  return true;
#else
  return false;
#endif
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
