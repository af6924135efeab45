#include "tools/kambench/log_bench.h"

#include <stdlib.h>
#include <sys/utsname.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/types/span.h"
#include "eventstore/event_log.h"
#include "eventstore/rocksdb_log.h"
#include "eventstore/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "rocksdb/version.h"
#include "tools/kambench/filler_events.h"
#include "tools/kambench/raw_reference.h"
#include "tools/kambench/report.h"

namespace kam::kambench {

namespace {

using eventstore::EventData;

constexpr size_t kStreamCount = 1000;

struct Workload {
  const char* name;
  int threads;
  size_t events_per_append;
  // Least acceptable kam/raw events/s; 0 when the issue sets no target.
  double target_ratio;
};

constexpr Workload kWorkloads[] = {
    {"1 thread x 1 event", 1, 1, 0.0},
    {"32 threads x 1 event", 32, 1, 1.0},
    {"4 threads x 100 events", 4, 100, 0.8},
};

enum class Side { kRaw = 0, kKam = 1 };  // Also indexes arrays of the two.

const char* SideName(Side side) { return side == Side::kRaw ? "raw" : "kam"; }

// "account-0" .. "account-999", built once and never freed.
const std::vector<std::string>& StreamNames() {
  static const std::vector<std::string>* const names =
      new std::vector<std::string>(NumberedStreams("account-", kStreamCount));
  return *names;
}

// ---------------------------------------------------------------------------
// The two sides.

// A database that takes appends; every method but Finish is thread-safe.
class AppendTarget {
 public:
  virtual ~AppendTarget() = default;
  virtual absl::Status Append(const FillerStream& stream, absl::Span<const EventData> events) = 0;
  // After the run: checks that exactly `acknowledged_events` were recorded,
  // then closes the database.
  virtual absl::Status Finish(uint64_t acknowledged_events) = 0;
};

// The raw limit of raw_reference.h, on the streams both sides write.
class RawTarget final : public AppendTarget {
 public:
  static absl::StatusOr<std::unique_ptr<AppendTarget>> Open(const std::string& directory,
                                                            bool sync) {
    KAM_ASSIGN_OR_RETURN(std::unique_ptr<RawLogWriter> writer,
                         RawLogWriter::Open(directory, kStreamCount, sync));
    return std::unique_ptr<AppendTarget>(new RawTarget(std::move(writer)));
  }

  absl::Status Append(const FillerStream& stream, absl::Span<const EventData> events) override {
    return writer_->Append(stream.index, stream.name, events);
  }

  absl::Status Finish(uint64_t acknowledged_events) override {
    if (writer_->events() != acknowledged_events) {
      return absl::InternalError(absl::StrCat("raw: wrote ", writer_->events(),
                                              " events but counted ", acknowledged_events));
    }
    return writer_->Close();
  }

 private:
  explicit RawTarget(std::unique_ptr<RawLogWriter> writer) : writer_(std::move(writer)) {}

  std::unique_ptr<RawLogWriter> writer_;
};

// The log as a program embedding it sees it.
class KamLogTarget final : public AppendTarget {
 public:
  static absl::StatusOr<std::unique_ptr<AppendTarget>> Open(const std::string& directory,
                                                            bool sync) {
    eventstore::RocksDbLogOptions options;
    options.unsafe_skip_fsync_on_append = !sync;
    KAM_ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventLog> log,
                         eventstore::OpenRocksDbLog(directory, options));
    return std::unique_ptr<AppendTarget>(new KamLogTarget(std::move(log)));
  }

  absl::Status Append(const FillerStream& stream, absl::Span<const EventData> events) override {
    KAM_ASSIGN_OR_RETURN(eventstore::AppendResult result,
                         log_->Append(stream.name, eventstore::ExpectedVersion::Any(), events));
    if (result.last_position - result.first_position + 1 != events.size()) {
      return absl::InternalError(absl::StrCat("append of ", events.size(),
                                              " events was given positions ", result.first_position,
                                              "..", result.last_position));
    }
    return absl::OkStatus();
  }

  absl::Status Finish(uint64_t acknowledged_events) override {
    const uint64_t head = log_->Head().position;
    log_.reset();
    if (head != acknowledged_events) {
      return absl::InternalError(absl::StrCat("kam: the log's head is at position ", head,
                                              " after ", acknowledged_events,
                                              " acknowledged events"));
    }
    return absl::OkStatus();
  }

 private:
  explicit KamLogTarget(std::unique_ptr<eventstore::EventLog> log) : log_(std::move(log)) {}

  std::unique_ptr<eventstore::EventLog> log_;
};

absl::StatusOr<std::unique_ptr<AppendTarget>> OpenTarget(Side side, const std::string& directory,
                                                         bool sync) {
  return side == Side::kRaw ? RawTarget::Open(directory, sync)
                            : KamLogTarget::Open(directory, sync);
}

// ---------------------------------------------------------------------------
// Running a workload against one side.

// Lines the threads up so the clock starts when all are ready, stops them,
// and keeps the first failure.
class RunControl {
 public:
  RunControl(int threads, uint64_t max_appends) : ready_(threads), max_appends_(max_appends) {}

  // Worker side.
  void ArriveAndWait() {
    ready_.DecrementCount();
    start_.WaitForNotification();
  }
  bool MayAppend() {
    if (stop_.load(std::memory_order_relaxed)) return false;
    return max_appends_ == 0 || claimed_.fetch_add(1, std::memory_order_relaxed) < max_appends_;
  }
  void RecordFailure(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (failures_++ == 0) first_failure_ = status;
  }

  // Controller side.
  void WaitUntilReady() { ready_.Wait(); }
  void Start() { start_.Notify(); }
  void Stop() { stop_.store(true, std::memory_order_relaxed); }
  uint64_t failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }
  absl::Status first_failure() {
    absl::MutexLock lock(&mu_);
    return first_failure_;
  }

 private:
  absl::BlockingCounter ready_;
  absl::Notification start_;
  std::atomic<bool> stop_{false};
  const uint64_t max_appends_;
  std::atomic<uint64_t> claimed_{0};
  absl::Mutex mu_;
  uint64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status first_failure_ ABSL_GUARDED_BY(mu_);
};

// Returns the events acknowledged.
uint64_t AppendUntilStopped(AppendTarget* target, const Workload& workload, FillerEvents source,
                            RunControl* control) {
  std::vector<EventData> events;
  uint64_t acknowledged = 0;
  control->ArriveAndWait();
  while (control->MayAppend()) {
    const FillerStream stream = source.NextStream();
    source.NextEvents(workload.events_per_append, &events);
    absl::Status appended = target->Append(stream, events);
    if (!appended.ok()) {
      control->RecordFailure(appended);
      continue;
    }
    acknowledged += events.size();
  }
  return acknowledged;
}

// One half of a measurement: runs for `seconds`, or for `max_appends` when
// that is not 0.
struct Half {
  double seconds = 0;
  uint64_t max_appends = 0;
  // Numbers the threads' event sources, so event ids never repeat in a database.
  uint64_t first_source = 0;
};

// The events acknowledged and the time they took.
absl::StatusOr<Throughput> MeasureHalf(AppendTarget* target, const Workload& workload,
                                       size_t event_bytes, const Half& half, uint64_t seed) {
  RunControl control(workload.threads, half.max_appends);
  std::vector<uint64_t> counts(workload.threads);
  std::vector<std::thread> threads;
  for (int t = 0; t < workload.threads; ++t) {
    FillerEvents source(&StreamNames(), seed, half.first_source + t, event_bytes);
    threads.emplace_back(
        [&, t, source] { counts[t] = AppendUntilStopped(target, workload, source, &control); });
  }
  control.WaitUntilReady();
  const auto start = std::chrono::steady_clock::now();
  control.Start();
  if (half.max_appends == 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(half.seconds));
    control.Stop();
  }
  for (std::thread& thread : threads) thread.join();
  // Appends in flight at the stop count, and so does the time they took.
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;

  if (control.failures() > 0) {
    return absl::Status(control.first_failure().code(),
                        absl::StrCat(control.failures(), " appends failed; the first: ",
                                     control.first_failure().message()));
  }
  Throughput measurement;
  measurement.seconds = elapsed.count();
  for (uint64_t count : counts) measurement.items += count;
  return measurement;
}

// ---------------------------------------------------------------------------
// Where the databases live.

// A fresh directory for this run's databases, under `--dir`, else under
// ./bench-data, else under /tmp. Removed with its contents unless kept.
class ScratchDir {
 public:
  static absl::StatusOr<std::unique_ptr<ScratchDir>> Create(const std::string& parent_flag,
                                                            bool keep);
  ~ScratchDir() { Remove().IgnoreError(); }  // The normal path reports errors.

  const std::string& path() const { return path_; }
  std::string Subdir(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

  // Deletes one database once measured, so a run never holds them all.
  absl::Status Discard(const std::string& subdir) const {
    if (keep_) return absl::OkStatus();
    std::error_code ec;
    std::filesystem::remove_all(subdir, ec);
    if (ec) return absl::InternalError(absl::StrCat("removing ", subdir, ": ", ec.message()));
    return absl::OkStatus();
  }

  absl::Status Remove();

 private:
  ScratchDir(std::string path, std::string created_parent, bool keep)
      : path_(std::move(path)), created_parent_(std::move(created_parent)), keep_(keep) {}

  std::string path_;
  std::string created_parent_;  // Empty when the parent existed before.
  bool keep_;
  bool removed_ = false;
};

absl::StatusOr<std::unique_ptr<ScratchDir>> ScratchDir::Create(const std::string& parent_flag,
                                                               bool keep) {
  std::string parent = parent_flag.empty() ? "./bench-data" : parent_flag;
  std::error_code ec;
  bool created = std::filesystem::create_directories(parent, ec);
  if (ec && parent_flag.empty()) {
    // A read-only working directory: the default falls back to /tmp.
    parent = "/tmp";
    created = false;
    ec.clear();
  }
  if (ec) return absl::FailedPreconditionError(absl::StrCat("--dir ", parent, ": ", ec.message()));
  std::string path_template = absl::StrCat(parent, "/kambench-log-XXXXXX");
  if (mkdtemp(path_template.data()) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("creating a directory under ", parent, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<ScratchDir>(
      new ScratchDir(std::move(path_template), created ? parent : std::string(), keep));
}

absl::Status ScratchDir::Remove() {
  if (keep_ || removed_) return absl::OkStatus();
  removed_ = true;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  if (ec) return absl::InternalError(absl::StrCat("removing ", path_, ": ", ec.message()));
  if (!created_parent_.empty()) {
    // Only when empty: another run may have put its own directory there.
    std::filesystem::remove(created_parent_, ec);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// The machine, for the report.

struct Machine {
  unsigned nproc = 0;
  std::string kernel;
  std::string cpu;
  std::string filesystem;  // Of the data directory.
  std::string device;      // Which holds the data directory.
};

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (!absl::StartsWith(line, "model name")) continue;
    size_t colon = line.find(':');
    if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
  }
  return "unknown";
}

// The mount holding `directory`: the longest mount point that prefixes it.
void DescribeMount(const std::string& directory, Machine* machine) {
  std::error_code ec;
  const std::string path = std::filesystem::canonical(directory, ec).string();
  std::ifstream mounts("/proc/self/mounts");
  std::string device, mount_point, type, rest;
  size_t best = 0;
  while (mounts >> device >> mount_point >> type && std::getline(mounts, rest)) {
    const bool contains =
        mount_point == "/" || path == mount_point || absl::StartsWith(path, mount_point + "/");
    if (contains && mount_point.size() >= best) {
      best = mount_point.size();
      machine->filesystem = type;
      machine->device = device;
    }
  }
}

Machine DescribeMachine(const std::string& directory) {
  Machine machine;
  machine.nproc = std::thread::hardware_concurrency();
  struct utsname name;
  if (uname(&name) == 0) machine.kernel = absl::StrCat(name.sysname, " ", name.release);
  machine.cpu = CpuModel();
  DescribeMount(directory, &machine);
  return machine;
}

std::string RocksDbVersion() {
  return absl::StrCat(ROCKSDB_MAJOR, ".", ROCKSDB_MINOR, ".", ROCKSDB_PATCH);
}

// ---------------------------------------------------------------------------
// The report.

struct WorkloadResult {
  const Workload* workload;
  Paired paired;  // Of events.
  bool HasTarget() const { return workload->target_ratio > 0; }
  bool TargetMet() const { return paired.Ratio() >= workload->target_ratio; }
};

std::string Fixed(double value, int decimals) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(decimals) << value;
  return out.str();
}

std::string Duration(const LogBenchFlags& flags) {
  return flags.events > 0 ? absl::StrCat(flags.events, " events per measurement")
                          : absl::StrCat(Fixed(flags.seconds, 1), " s per measurement");
}

constexpr char kNoSyncWarning[] =
    "!!! --no-sync: WriteOptions.sync=false on BOTH sides: nothing is fsynced, !!!\n"
    "!!! so these numbers say nothing about durable appends.                     !!!\n";

void PrintHeader(const LogBenchFlags& flags, const std::string& directory, const Machine& machine) {
  std::cout << "kambench log: " << flags.event_bytes << "-byte events, " << Duration(flags) << ", "
            << (flags.no_sync ? "NO fsync" : "fsync on every write (WriteOptions.sync=true)")
            << "\n"
            << "data: " << directory << " (" << machine.filesystem << " on " << machine.device
            << "), " << machine.nproc << " cores, " << machine.kernel << ", RocksDB "
            << RocksDbVersion() << "\n"
            << "raw: WriteBatch + DB::Write of the log's keys (3 per event + 1 per append), "
               "the log's RocksDB options\n"
            << "kam: OpenRocksDbLog(default options) then Append(stream, Any, events)\n"
            << "each workload: fresh databases, measured in halves in the order raw, kam, "
               "kam, raw\n";
  if (flags.no_sync) std::cout << kNoSyncWarning;
  if (machine.filesystem == "tmpfs") {
    std::cout << "WARNING: the data directory is on tmpfs, where fsync costs nothing.\n";
  }
  if (!OptimizedBuild()) {
    std::cout << "WARNING: kambench was built without optimization; use a Release build.\n";
  }
  std::cout << "\n"
            << std::left << std::setw(26) << "workload" << std::right << std::setw(14)
            << "raw events/s" << std::setw(14) << "kam events/s" << std::setw(10) << "kam/raw"
            << "  target\n";
}

void PrintRow(const WorkloadResult& result) {
  std::cout << std::left << std::setw(26) << result.workload->name << std::right << std::setw(14)
            << Fixed(result.paired.raw.PerSecond(), 0) << std::setw(14)
            << Fixed(result.paired.kam.PerSecond(), 0) << std::setw(9)
            << Fixed(result.paired.Ratio(), 2) << "x  ";
  if (result.HasTarget()) {
    std::cout << ">= " << Fixed(result.workload->target_ratio, 2) << "x "
              << (result.TargetMet() ? "PASS" : "MISS");
  } else {
    std::cout << "-";
  }
  std::cout << std::endl;  // Flushed: rows appear as workloads finish.
}

void PrintDisturbances(const std::vector<WorkloadResult>& results) {
  for (const WorkloadResult& result : results) {
    for (const std::string& note : HalvesNotes(result.workload->name, result.paired, "events/s")) {
      std::cout << note << "\n";
    }
  }
}

// Readers of earlier reports depend on these keys.
using JsonFields = google::protobuf::Map<std::string, google::protobuf::Value>;

void JsonMachine(const Machine& machine, JsonFields* json) {
  (*json)["nproc"].set_number_value(machine.nproc);
  (*json)["kernel"].set_string_value(machine.kernel);
  (*json)["cpu"].set_string_value(machine.cpu);
  (*json)["filesystem"].set_string_value(machine.filesystem);
  (*json)["device"].set_string_value(machine.device);
  (*json)["rocksdb"].set_string_value(RocksDbVersion());
  (*json)["optimized_build"].set_bool_value(OptimizedBuild());
}

void JsonSide(const std::string& side, const PairedSide& r, JsonFields* json) {
  const Throughput total = r.Total();
  (*json)[side + "_events"].set_number_value(static_cast<double>(total.items));
  (*json)[side + "_seconds"].set_number_value(total.seconds);
  (*json)[side + "_events_per_s"].set_number_value(total.PerSecond());
  google::protobuf::ListValue* halves = (*json)[side + "_halves_events_per_s"].mutable_list_value();
  for (const Throughput& half : r.halves) halves->add_values()->set_number_value(half.PerSecond());
  (*json)[side + "_halves_ratio_fast_to_slow"].set_number_value(r.HalvesRatio());
}

void JsonResult(const WorkloadResult& r, JsonFields* json) {
  (*json)["workload"].set_string_value(r.workload->name);
  (*json)["threads"].set_number_value(r.workload->threads);
  (*json)["events_per_append"].set_number_value(static_cast<double>(r.workload->events_per_append));
  JsonSide("raw", r.paired.raw, json);
  JsonSide("kam", r.paired.kam, json);
  (*json)["ratio_kam_to_raw"].set_number_value(r.paired.Ratio());
  if (r.HasTarget()) {
    (*json)["target_ratio_kam_to_raw"].set_number_value(r.workload->target_ratio);
    (*json)["target_met"].set_bool_value(r.TargetMet());
  }
}

absl::Status WriteReport(const LogBenchFlags& flags, const std::string& directory,
                         const Machine& machine, const std::vector<WorkloadResult>& results) {
  google::protobuf::Struct report;
  JsonFields& json = *report.mutable_fields();
  json["benchmark"].set_string_value("log");
  json["event_bytes"].set_number_value(static_cast<double>(flags.event_bytes));
  json["sync"].set_bool_value(!flags.no_sync);
  if (flags.events > 0) {
    json["events_per_measurement"].set_number_value(static_cast<double>(flags.events));
  } else {
    json["seconds_per_measurement"].set_number_value(flags.seconds);
  }
  json["directory"].set_string_value(directory);
  JsonMachine(machine, json["machine"].mutable_struct_value()->mutable_fields());
  google::protobuf::ListValue* list = json["results"].mutable_list_value();
  for (const WorkloadResult& result : results) {
    JsonResult(result, list->add_values()->mutable_struct_value()->mutable_fields());
  }
  return WriteJson(flags.json_path, report);
}

// ---------------------------------------------------------------------------

absl::Status InContext(Side side, const Workload& workload, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(SideName(side), ", ", workload.name, ": ", status.message()));
}

Half HalfOf(const LogBenchFlags& flags, const Workload& workload, size_t index) {
  Half half;
  half.seconds = flags.seconds / 2;
  if (flags.events > 0) {
    const uint64_t events = (flags.events + 1) / 2;
    half.max_appends = (events + workload.events_per_append - 1) / workload.events_per_append;
  }
  half.first_source = index * workload.threads;
  return half;
}

// Measures both sides in fresh databases, open side by side for the whole
// workload, and removes them afterwards (unless kept).
absl::StatusOr<WorkloadResult> RunWorkload(const Workload& workload, const LogBenchFlags& flags,
                                           const ScratchDir& scratch, uint64_t seed) {
  constexpr Side kSides[] = {Side::kRaw, Side::kKam};
  std::string directories[2];
  std::unique_ptr<AppendTarget> targets[2];
  for (Side side : kSides) {
    const int i = static_cast<int>(side);
    directories[i] = scratch.Subdir(
        absl::StrCat(SideName(side), "-", workload.threads, "x", workload.events_per_append));
    absl::StatusOr<std::unique_ptr<AppendTarget>> target =
        OpenTarget(side, directories[i], !flags.no_sync);
    if (!target.ok()) return InContext(side, workload, target.status());
    targets[i] = std::move(*target);
  }
  WorkloadResult result{&workload, {}};
  PairedSide* side_results[2] = {&result.paired.raw, &result.paired.kam};
  // Each side runs once early and once late, so a disk or CPUs that speed up
  // or slow down during a workload favour neither.
  for (size_t index = 0; index < std::size(kKamHalves); ++index) {
    const Side side = kKamHalves[index] ? Side::kKam : Side::kRaw;
    const int i = static_cast<int>(side);
    absl::StatusOr<Throughput> half = MeasureHalf(targets[i].get(), workload, flags.event_bytes,
                                                  HalfOf(flags, workload, index), seed);
    if (!half.ok()) return InContext(side, workload, half.status());
    side_results[i]->halves.push_back(*half);
  }
  for (Side side : kSides) {
    const int i = static_cast<int>(side);
    KAM_RETURN_IF_ERROR(
        InContext(side, workload, targets[i]->Finish(side_results[i]->Total().items)));
    targets[i].reset();
    KAM_RETURN_IF_ERROR(scratch.Discard(directories[i]));
  }
  return result;
}

}  // namespace

CLI::App* AddLogCommand(CLI::App* app, LogBenchFlags* flags) {
  CLI::App* log = app->add_subcommand(
      "log", "Append throughput of the embedded log against raw RocksDB on the same disk");
  CLI::Option* seconds =
      log->add_option("--seconds", flags->seconds, "Duration of each of the 6 measurements")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
  log->add_option("--events", flags->events,
                  "Run each measurement for this many events instead of --seconds")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->excludes(seconds);
  log->add_option("--event-bytes", flags->event_bytes, "Payload bytes per event")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str();
  log->add_flag("--no-sync", flags->no_sync,
                "Do not fsync, on either side (numbers then say nothing about durability)");
  log->add_option("--json", flags->json_path, "Also write the results to this JSON file");
  log->add_option("--dir", flags->dir,
                  "Where to create the databases (default: ./bench-data, else /tmp)");
  log->add_flag("--keep", flags->keep, "Keep the databases afterwards");
  return log;
}

absl::Status RunLogBench(const LogBenchFlags& flags) {
  KAM_ASSIGN_OR_RETURN(std::unique_ptr<ScratchDir> scratch,
                       ScratchDir::Create(flags.dir, flags.keep));
  const Machine machine = DescribeMachine(scratch->path());
  PrintHeader(flags, scratch->path(), machine);
  const uint64_t seed = std::random_device()();
  std::vector<WorkloadResult> results;
  for (const Workload& workload : kWorkloads) {
    KAM_ASSIGN_OR_RETURN(WorkloadResult result, RunWorkload(workload, flags, *scratch, seed));
    PrintRow(result);
    results.push_back(result);
  }
  PrintDisturbances(results);
  if (flags.no_sync) std::cout << kNoSyncWarning;
  if (flags.keep) std::cout << "kept: " << scratch->path() << "\n";
  if (!flags.json_path.empty()) {
    KAM_RETURN_IF_ERROR(WriteReport(flags, scratch->path(), machine, results));
    std::cout << "wrote " << flags.json_path << "\n";
  }
  return scratch->Remove();
}

}  // namespace kam::kambench
