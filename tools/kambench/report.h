// What every kambench subcommand shares: timing, latency summaries, kam
// measured against raw RocksDB in alternating halves, the PASS/MISS verdict
// and the JSON report (protobuf's JSON mapping of a google.protobuf.Struct).

#ifndef KAM_TOOLS_KAMBENCH_REPORT_H_
#define KAM_TOOLS_KAMBENCH_REPORT_H_

#include <chrono>
#include <cstdint>
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

// What a run completed (events, calls) in how long.
struct Throughput {
  uint64_t items = 0;
  double seconds = 0;
  double PerSecond() const { return seconds > 0 ? items / seconds : 0; }
};

// One side of a paired measurement, over its halves.
struct PairedSide {
  std::vector<Throughput> halves;

  Throughput Total() const;
  double PerSecond() const { return Total().PerSecond(); }
  // The faster half over the slower; far above 1 hints that the disk or the
  // CPUs were disturbed.
  double HalvesRatio() const;
};

// kam against the raw limit, each measured in halves in the order
// kKamHalves gives.
struct Paired {
  PairedSide raw;
  PairedSide kam;
  double Ratio() const { return raw.PerSecond() > 0 ? kam.PerSecond() / raw.PerSecond() : 0; }
};

// Raw, kam, kam, raw: each side runs once early and once late, so drift of
// the disk or the CPUs favours neither.
inline constexpr bool kKamHalves[] = {false, true, true, false};

// Halves of one side this far apart mean the run cannot be trusted.
inline constexpr double kDisturbedHalvesRatio = 1.5;

// A note per side of `paired` whose halves differ kDisturbedHalvesRatio or
// more, naming `what` and giving the halves' rates in `unit`.
std::vector<std::string> HalvesNotes(const std::string& what, const Paired& paired,
                                     const char* unit);

inline std::string Verdict(bool pass) { return pass ? "PASS" : "MISS"; }

// Whether kambench itself was compiled with optimization.
bool OptimizedBuild();

// Writes `report` to `path`, indented. Errors name the file.
absl::Status WriteJson(const std::string& path, const google::protobuf::Struct& report);

}  // namespace kam::kambench

#endif  // KAM_TOOLS_KAMBENCH_REPORT_H_
