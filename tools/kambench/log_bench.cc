#include "tools/kambench/log_bench.h"

#include <stdlib.h>
#include <sys/utsname.h>

#include <algorithm>
#include <array>
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
#include "absl/time/clock.h"
#include "absl/types/span.h"
#include "eventstore/canonical_encoding.h"
#include "eventstore/event_log.h"
#include "eventstore/internal/byte_codec.h"
#include "eventstore/internal/layout.h"
#include "eventstore/internal/rocksdb_status.h"
#include "eventstore/rocksdb_log.h"
#include "eventstore/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/version.h"
#include "rocksdb/write_batch.h"

namespace kam::kambench {

namespace {

using eventstore::EventData;

constexpr size_t kStreamCount = 1000;
constexpr char kEventType[] = "kambench.v1.Filler";

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

// ---------------------------------------------------------------------------
// What both sides append.

struct Stream {
  size_t index;
  absl::string_view name;
};

// Builds the events of one thread. Both sides build theirs the same way, so
// the cost of making events is the same on each.
class EventSource {
 public:
  // `source_index` must differ between the sources writing to one database.
  EventSource(const std::vector<std::string>* stream_names, uint64_t seed, uint64_t source_index,
              size_t event_bytes)
      : stream_names_(stream_names),
        rng_(seed ^ (source_index * 0x9e3779b97f4a7c15ull)),
        source_tag_(source_index << 40),
        event_bytes_(event_bytes) {}

  Stream NextStream() {
    size_t index = static_cast<size_t>(rng_() % stream_names_->size());
    return Stream{index, (*stream_names_)[index]};
  }

  // Overwrites *events with `count` events, reusing their buffers.
  void NextEvents(size_t count, std::vector<EventData>* events) {
    events->resize(count);
    const absl::Time now = absl::Now();
    for (EventData& e : *events) {
      NextEventId(&e.event_id);
      e.type = kEventType;
      FillRandom(event_bytes_, &e.data);
      e.occurred_at = now;
    }
  }

 private:
  // 16 bytes as 32 hex digits: 8 random bytes keep the ids spread over the
  // key space like UUIDs; 8 bytes of source and sequence make them unique.
  void NextEventId(std::string* id) {
    static constexpr char kHex[] = "0123456789abcdef";
    const uint64_t words[2] = {rng_(), source_tag_ | sequence_++};
    id->resize(32);
    for (int i = 0; i < 32; ++i) {
      const uint64_t word = words[i / 16];
      (*id)[i] = kHex[(word >> (60 - 4 * (i % 16))) & 0xf];
    }
  }

  void FillRandom(size_t bytes, std::string* out) {
    out->resize(bytes);
    for (size_t i = 0; i < bytes; i += 8) {
      uint64_t word = rng_();
      std::memcpy(&(*out)[i], &word, std::min<size_t>(8, bytes - i));
    }
  }

  const std::vector<std::string>* stream_names_;
  std::mt19937_64 rng_;
  const uint64_t source_tag_;
  uint64_t sequence_ = 0;
  const size_t event_bytes_;
};

// "account-0" .. "account-999", built once and never freed.
const std::vector<std::string>& StreamNames() {
  static const std::vector<std::string>* const names = [] {
    auto* names = new std::vector<std::string>();
    for (size_t i = 0; i < kStreamCount; ++i) names->push_back(absl::StrCat("account-", i));
    return names;
  }();
  return *names;
}

// ---------------------------------------------------------------------------
// The two sides.

// A database that takes appends; every method but Finish is thread-safe.
class AppendTarget {
 public:
  virtual ~AppendTarget() = default;
  virtual absl::Status Append(const Stream& stream, absl::Span<const EventData> events) = 0;
  // After the run: checks that exactly `acknowledged_events` were recorded,
  // then closes the database.
  virtual absl::Status Finish(uint64_t acknowledged_events) = 0;
};

// The raw limit: the keys the log writes for these events, and nothing else
// (no reads, no hashing, no commit queue), with the log's RocksDB options.
class RawRocksDbTarget final : public AppendTarget {
 public:
  static absl::StatusOr<std::unique_ptr<AppendTarget>> Open(const std::string& directory,
                                                            bool sync);

  ~RawRocksDbTarget() override { Close().IgnoreError(); }  // Finish reports errors.

  absl::Status Append(const Stream& stream, absl::Span<const EventData> events) override;
  absl::Status Finish(uint64_t acknowledged_events) override;

 private:
  RawRocksDbTarget(std::unique_ptr<rocksdb::DB> db,
                   std::vector<rocksdb::ColumnFamilyHandle*> families, bool sync);

  // Same size as the log's value: two hashes plus the canonical bytes.
  std::string LogValue(absl::string_view stream, const EventData& e) const;
  absl::Status Close();

  // The order of internal::MakeFamilyDescriptors.
  rocksdb::ColumnFamilyHandle* log_family() const { return families_[1]; }
  rocksdb::ColumnFamilyHandle* streams_family() const { return families_[2]; }
  rocksdb::ColumnFamilyHandle* index_family() const { return families_[3]; }
  rocksdb::ColumnFamilyHandle* ids_family() const { return families_[4]; }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  rocksdb::WriteOptions write_options_;
  size_t log_value_fixed_bytes_;
  std::atomic<uint64_t> next_position_{1};
  std::array<std::atomic<uint64_t>, kStreamCount> next_versions_;
};

absl::StatusOr<std::unique_ptr<AppendTarget>> RawRocksDbTarget::Open(const std::string& directory,
                                                                     bool sync) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat("creating ", directory, ": ", ec.message()));
  }
  // The very options and column families OpenRocksDbLog uses.
  const rocksdb::DBOptions options = eventstore::internal::MakeDbOptions(true);
  const std::vector<rocksdb::ColumnFamilyDescriptor> descriptors =
      eventstore::internal::MakeFamilyDescriptors(
          eventstore::RocksDbLogOptions().block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  rocksdb::DB* db = nullptr;
  KAM_RETURN_IF_ERROR(eventstore::internal::FromRocksDb(
      rocksdb::DB::Open(options, directory, descriptors, &families, &db),
      absl::StrCat("opening the raw database in ", directory)));
  return std::unique_ptr<AppendTarget>(
      new RawRocksDbTarget(std::unique_ptr<rocksdb::DB>(db), std::move(families), sync));
}

RawRocksDbTarget::RawRocksDbTarget(std::unique_ptr<rocksdb::DB> db,
                                   std::vector<rocksdb::ColumnFamilyHandle*> families, bool sync)
    : db_(std::move(db)), families_(std::move(families)) {
  write_options_.sync = sync;
  // Measured rather than hard-coded so a change of the encoding follows here.
  log_value_fixed_bytes_ =
      2 * eventstore::kHashBytes + eventstore::CanonicalBytes(eventstore::RecordedEvent()).size();
  for (std::atomic<uint64_t>& version : next_versions_) version.store(0);
}

std::string RawRocksDbTarget::LogValue(absl::string_view stream, const EventData& e) const {
  std::string value(log_value_fixed_bytes_, '\0');
  absl::StrAppend(&value, stream, e.event_id, e.type, e.data);
  return value;
}

absl::Status RawRocksDbTarget::Append(const Stream& stream, absl::Span<const EventData> events) {
  const uint64_t count = events.size();
  const uint64_t first_position = next_position_.fetch_add(count);
  const uint64_t first_version = next_versions_[stream.index].fetch_add(count);
  rocksdb::WriteBatch batch;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string position_key = eventstore::internal::EncodeU64(first_position + i);
    batch.Put(log_family(), position_key, LogValue(stream.name, events[i]));
    batch.Put(index_family(), eventstore::internal::StreamIndexKey(stream.name, first_version + i),
              position_key);
    batch.Put(ids_family(), events[i].event_id, position_key);
  }
  const absl::Time now = absl::Now();
  eventstore::internal::StreamMeta meta{first_version + count - 1, first_position + count - 1,
                                        first_version + count, now, now};
  batch.Put(streams_family(), rocksdb::Slice(stream.name.data(), stream.name.size()),
            eventstore::internal::EncodeStreamMeta(meta));
  return eventstore::internal::FromRocksDb(db_->Write(write_options_, &batch), "raw write");
}

absl::Status RawRocksDbTarget::Finish(uint64_t acknowledged_events) {
  if (next_position_.load() - 1 != acknowledged_events) {
    return absl::InternalError(absl::StrCat("raw: wrote ", next_position_.load() - 1,
                                            " events but counted ", acknowledged_events));
  }
  return Close();
}

absl::Status RawRocksDbTarget::Close() {
  if (db_ == nullptr) return absl::OkStatus();
  for (rocksdb::ColumnFamilyHandle* family : families_) {
    db_->DestroyColumnFamilyHandle(family).PermitUncheckedError();  // Only frees memory.
  }
  families_.clear();
  rocksdb::Status closed = db_->Close();
  db_.reset();
  return eventstore::internal::FromRocksDb(closed, "closing the raw database");
}

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

  absl::Status Append(const Stream& stream, absl::Span<const EventData> events) override {
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
  return side == Side::kRaw ? RawRocksDbTarget::Open(directory, sync)
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

struct Measurement {
  uint64_t events = 0;
  uint64_t appends = 0;
  double seconds = 0;
  double EventsPerSecond() const { return seconds > 0 ? events / seconds : 0; }
};

struct ThreadCount {
  uint64_t events = 0;
  uint64_t appends = 0;
};

ThreadCount AppendUntilStopped(AppendTarget* target, const Workload& workload, EventSource source,
                               RunControl* control) {
  std::vector<EventData> events;
  ThreadCount count;
  control->ArriveAndWait();
  while (control->MayAppend()) {
    const Stream stream = source.NextStream();
    source.NextEvents(workload.events_per_append, &events);
    absl::Status appended = target->Append(stream, events);
    if (!appended.ok()) {
      control->RecordFailure(appended);
      continue;
    }
    count.events += events.size();
    ++count.appends;
  }
  return count;
}

// One half of a measurement: runs for `seconds`, or for `max_appends` when
// that is not 0.
struct Half {
  double seconds = 0;
  uint64_t max_appends = 0;
  // Numbers the threads' event sources, so event ids never repeat in a database.
  uint64_t first_source = 0;
};

absl::StatusOr<Measurement> MeasureHalf(AppendTarget* target, const Workload& workload,
                                        size_t event_bytes, const Half& half, uint64_t seed) {
  RunControl control(workload.threads, half.max_appends);
  std::vector<ThreadCount> counts(workload.threads);
  std::vector<std::thread> threads;
  for (int t = 0; t < workload.threads; ++t) {
    EventSource source(&StreamNames(), seed, half.first_source + t, event_bytes);
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
  Measurement measurement;
  measurement.seconds = elapsed.count();
  for (const ThreadCount& count : counts) {
    measurement.events += count.events;
    measurement.appends += count.appends;
  }
  return measurement;
}

// What one side measured in a workload, over its two halves.
struct SideResult {
  std::vector<Measurement> halves;

  uint64_t events() const {
    uint64_t events = 0;
    for (const Measurement& half : halves) events += half.events;
    return events;
  }
  double seconds() const {
    double seconds = 0;
    for (const Measurement& half : halves) seconds += half.seconds;
    return seconds;
  }
  double EventsPerSecond() const { return seconds() > 0 ? events() / seconds() : 0; }
  // The faster half's events/s over the slower's: far above 1 hints that the
  // disk or the CPUs were disturbed.
  double HalvesRatio() const {
    double low = 0, high = 0;
    for (const Measurement& half : halves) {
      low = low == 0 ? half.EventsPerSecond() : std::min(low, half.EventsPerSecond());
      high = std::max(high, half.EventsPerSecond());
    }
    return low > 0 ? high / low : 0;
  }
};

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

bool OptimizedBuild() {
#if defined(__OPTIMIZE__)
  return true;
#else
  return false;
#endif
}

std::string RocksDbVersion() {
  return absl::StrCat(ROCKSDB_MAJOR, ".", ROCKSDB_MINOR, ".", ROCKSDB_PATCH);
}

// ---------------------------------------------------------------------------
// The report.

struct WorkloadResult {
  const Workload* workload;
  SideResult raw;
  SideResult kam;
  double Ratio() const {
    return raw.EventsPerSecond() > 0 ? kam.EventsPerSecond() / raw.EventsPerSecond() : 0;
  }
  bool HasTarget() const { return workload->target_ratio > 0; }
  bool TargetMet() const { return Ratio() >= workload->target_ratio; }
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
            << Fixed(result.raw.EventsPerSecond(), 0) << std::setw(14)
            << Fixed(result.kam.EventsPerSecond(), 0) << std::setw(9) << Fixed(result.Ratio(), 2)
            << "x  ";
  if (result.HasTarget()) {
    std::cout << ">= " << Fixed(result.workload->target_ratio, 2) << "x "
              << (result.TargetMet() ? "PASS" : "MISS");
  } else {
    std::cout << "-";
  }
  std::cout << std::endl;  // Flushed: rows appear as workloads finish.
}

// Halves of one side this far apart mean the run cannot be trusted.
constexpr double kDisturbedHalvesRatio = 1.5;

void PrintDisturbances(const std::vector<WorkloadResult>& results) {
  for (const WorkloadResult& result : results) {
    for (Side side : {Side::kRaw, Side::kKam}) {
      const SideResult& r = side == Side::kRaw ? result.raw : result.kam;
      if (r.HalvesRatio() < kDisturbedHalvesRatio) continue;
      std::cout << "note: " << result.workload->name << ", " << SideName(side)
                << ": its halves differ " << Fixed(r.HalvesRatio(), 1) << "x ("
                << Fixed(r.halves[0].EventsPerSecond(), 0) << " vs "
                << Fixed(r.halves[1].EventsPerSecond(), 0)
                << " events/s); the disk or CPUs were likely disturbed, consider a rerun\n";
    }
  }
}

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string JsonMachine(const Machine& machine) {
  return absl::StrCat(
      "{\"nproc\":", machine.nproc, ",\"kernel\":", JsonString(machine.kernel),
      ",\"cpu\":", JsonString(machine.cpu), ",\"filesystem\":", JsonString(machine.filesystem),
      ",\"device\":", JsonString(machine.device), ",\"rocksdb\":", JsonString(RocksDbVersion()),
      ",\"optimized_build\":", OptimizedBuild() ? "true" : "false", "}");
}

std::string JsonSide(const char* side, const SideResult& r) {
  std::string json = absl::StrCat(",\"", side, "_events\":", r.events(), ",\"", side,
                                  "_seconds\":", Fixed(r.seconds(), 3), ",\"", side,
                                  "_events_per_s\":", Fixed(r.EventsPerSecond(), 1), ",\"", side,
                                  "_halves_events_per_s\":[");
  for (size_t i = 0; i < r.halves.size(); ++i) {
    absl::StrAppend(&json, i > 0 ? "," : "", Fixed(r.halves[i].EventsPerSecond(), 1));
  }
  absl::StrAppend(&json, "],\"", side, "_halves_ratio_fast_to_slow\":", Fixed(r.HalvesRatio(), 4));
  return json;
}

std::string JsonResult(const WorkloadResult& r) {
  std::string json = absl::StrCat(
      "{\"workload\":", JsonString(r.workload->name), ",\"threads\":", r.workload->threads,
      ",\"events_per_append\":", r.workload->events_per_append, JsonSide("raw", r.raw),
      JsonSide("kam", r.kam), ",\"ratio_kam_to_raw\":", Fixed(r.Ratio(), 4));
  if (r.HasTarget()) {
    absl::StrAppend(&json, ",\"target_ratio_kam_to_raw\":", Fixed(r.workload->target_ratio, 2),
                    ",\"target_met\":", r.TargetMet() ? "true" : "false");
  }
  json.push_back('}');
  return json;
}

absl::Status WriteJson(const LogBenchFlags& flags, const std::string& directory,
                       const Machine& machine, const std::vector<WorkloadResult>& results) {
  std::string json = absl::StrCat(
      "{\"benchmark\":\"log\",\"event_bytes\":", flags.event_bytes,
      ",\"sync\":", flags.no_sync ? "false" : "true",
      flags.events > 0 ? absl::StrCat(",\"events_per_measurement\":", flags.events)
                       : absl::StrCat(",\"seconds_per_measurement\":", Fixed(flags.seconds, 3)),
      ",\"directory\":", JsonString(directory), ",\"machine\":", JsonMachine(machine),
      ",\"results\":[");
  for (size_t i = 0; i < results.size(); ++i) {
    absl::StrAppend(&json, i > 0 ? "," : "", JsonResult(results[i]));
  }
  json.append("]}\n");
  std::ofstream out(flags.json_path, std::ios::binary | std::ios::trunc);
  out << json;
  out.close();
  if (!out) {
    return absl::FailedPreconditionError(
        absl::StrCat("--json: cannot write ", flags.json_path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------

absl::Status InContext(Side side, const Workload& workload, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(SideName(side), ", ", workload.name, ": ", status.message()));
}

// The order of the halves: each side runs once early and once late, so a disk
// or CPUs that speed up or slow down during a workload favour neither side.
constexpr Side kHalfOrder[] = {Side::kRaw, Side::kKam, Side::kKam, Side::kRaw};

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
  WorkloadResult result{&workload, {}, {}};
  SideResult* side_results[2] = {&result.raw, &result.kam};
  for (size_t index = 0; index < std::size(kHalfOrder); ++index) {
    const int i = static_cast<int>(kHalfOrder[index]);
    absl::StatusOr<Measurement> half = MeasureHalf(targets[i].get(), workload, flags.event_bytes,
                                                   HalfOf(flags, workload, index), seed);
    if (!half.ok()) return InContext(kHalfOrder[index], workload, half.status());
    side_results[i]->halves.push_back(*half);
  }
  for (Side side : kSides) {
    const int i = static_cast<int>(side);
    KAM_RETURN_IF_ERROR(InContext(side, workload, targets[i]->Finish(side_results[i]->events())));
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
    KAM_RETURN_IF_ERROR(WriteJson(flags, scratch->path(), machine, results));
    std::cout << "wrote " << flags.json_path << "\n";
  }
  return scratch->Remove();
}

}  // namespace kam::kambench
