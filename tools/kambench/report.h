// What every kambench subcommand shares: timing, latency summaries, the
// PASS/MISS verdict and the JSON report (protobuf's JSON mapping of a
// google.protobuf.Struct).

#ifndef KAM_TOOLS_KAMBENCH_REPORT_H_
#define KAM_TOOLS_KAMBENCH_REPORT_H_

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/struct.pb.h"

namespace kam::kambench {

using BenchClock = std::chrono::steady_clock;

double SecondsSince(BenchClock::time_point start);

struct Latency {
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

// Percentiles of `ms` (milliseconds per call).
Latency Summarize(std::vector<double> ms);

inline std::string Verdict(bool pass) { return pass ? "PASS" : "MISS"; }

// Writes `report` to `path`, indented. Errors name the file.
absl::Status WriteJson(const std::string& path, const google::protobuf::Struct& report);

}  // namespace kam::kambench

#endif  // KAM_TOOLS_KAMBENCH_REPORT_H_
