#include "tools/kamctl/offline_commands.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "eventstore/canonical_encoding.h"
#include "eventstore/event_log.h"
#include "eventstore/rocksdb_log.h"
#include "eventstore/status_macros.h"
#include "kam/v1/event_store.pb.h"
#include "projections/projection_store.h"
#include "projections/rebuild.h"
#include "services/conversions.h"
#include "tools/kamctl/common.h"

namespace kam::kamctl {

namespace {

namespace fs = std::filesystem;

// Events read (export) or hash-checked (verify) per call: bounds memory and
// paces the progress line.
constexpr size_t kExportChunk = 4096;
constexpr uint64_t kVerifyChunk = 1 << 16;
// Most events of one imported append; an export's own appends are rebuilt
// from consecutive events of one stream with one recorded_at, capped here
// so two original appends that shared a commit never exceed the log's limit.
constexpr size_t kMaxImportGroupEvents = 1000;
constexpr size_t kMaxImportGroupBytes = 4 << 20;

constexpr char kBackupFile[] = "BACKUP";

std::string LogDir(const DataFlags& data) { return data.data + "/log"; }
std::string ProjectionsDir(const DataFlags& data) { return data.data + "/projections"; }

// Opens the log for offline work, with errors that say what to do.
absl::StatusOr<std::unique_ptr<eventstore::EventLog>> OpenLog(
    const std::string& directory, eventstore::RocksDbLogOptions options = {}) {
  options.create_if_missing = false;
  // Offline work scans the log once: a large block cache would only hold
  // blocks that are never read again.
  options.block_cache_bytes = 8 << 20;
  absl::StatusOr<std::unique_ptr<eventstore::EventLog>> log =
      eventstore::OpenRocksDbLog(directory, options);
  if (absl::IsNotFound(log.status())) {
    return absl::NotFoundError(absl::StrCat(log.status().message(), " (is --data right?)"));
  }
  if (absl::IsFailedPrecondition(log.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat(log.status().message(), " (offline commands need kamd stopped)"));
  }
  return log;
}

// recorded_at of imported events: the export's, set before each append.
class SettableClock final : public eventstore::Clock {
 public:
  absl::Time Now() const override { return absl::FromUnixNanos(nanos_.load()); }
  void Set(absl::Time t) { nanos_.store(absl::ToUnixNanos(t)); }

 private:
  std::atomic<int64_t> nanos_{0};
};

absl::Status SyncPath(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return absl::UnavailableError(absl::StrCat("cannot open ", path.string(), " to sync"));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return absl::UnavailableError(absl::StrCat("fsync of ", path.string(), " failed"));
  return absl::OkStatus();
}

// Makes every file and directory under `root` (and its entry in its parent)
// durable: for work done without per-write syncs (import) or by copying.
absl::Status SyncTree(const fs::path& root) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() || it->is_directory()) KAM_RETURN_IF_ERROR(SyncPath(it->path()));
  }
  if (ec)
    return absl::UnavailableError(absl::StrCat("cannot list ", root.string(), ": ", ec.message()));
  KAM_RETURN_IF_ERROR(SyncPath(root));
  return SyncPath(fs::absolute(root).parent_path());
}

bool MissingOrEmpty(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return true;
  return fs::is_directory(path, ec) && fs::is_empty(path, ec);
}

uint64_t DiskUsage(const fs::path& root) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) bytes += it->file_size(ec);
  }
  return bytes;
}

std::string Bytes(uint64_t bytes) {
  return absl::StrCat(bytes, " (", absl::StrFormat("%.1f", bytes / 1048576.0), " MiB)");
}

void PrintField(absl::string_view name, absl::string_view value) {
  std::printf("%s: %s\n", std::string(name).c_str(), std::string(value).c_str());
}

// Copies a directory tree (regular files and directories only).
absl::Status CopyTree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy(from, to, fs::copy_options::recursive, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot copy ", from.string(), " to ", to.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

// Hash-checks the log over [from, to] in chunks, with progress.
absl::StatusOr<eventstore::VerifyResult> VerifyInChunks(const eventstore::EventLog& log,
                                                        uint64_t from, uint64_t to) {
  const eventstore::LogHead head = log.Head();
  from = std::max<uint64_t>(from, 1);
  if (to == 0 || to > head.position) to = head.position;
  eventstore::VerifyResult total;
  total.head_hash = eventstore::GenesisHash();
  if (from > to) return log.Verify(from, to);
  Progress progress("verify: events checked");
  for (uint64_t start = from; start <= to; start += kVerifyChunk) {
    const uint64_t end = std::min(to, start + kVerifyChunk - 1);
    KAM_ASSIGN_OR_RETURN(eventstore::VerifyResult part, log.Verify(start, end));
    total.checked += part.checked;
    total.head_hash = part.head_hash;
    if (!part.ok) {
      total.ok = false;
      total.first_bad_position = part.first_bad_position;
      total.problem = part.problem;
      return total;
    }
    progress.Update(end - from + 1, to - from + 1);
  }
  return total;
}

}  // namespace

absl::Status Rebuild(const DataFlags& data, int threads) {
  KAM_ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventLog> log, OpenLog(LogDir(data)));
  std::error_code ec;
  fs::create_directories(ProjectionsDir(data), ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", ProjectionsDir(data)));
  projections::RebuildOptions options;
  options.threads = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  projections::Checkpoint checkpoint;
  {
    Progress progress("rebuild: events read");
    options.progress = [&progress](uint64_t position, uint64_t head) {
      progress.Update(position, head);
    };
    KAM_ASSIGN_OR_RETURN(checkpoint,
                         projections::RebuildProjections(*log, ProjectionsDir(data), options));
  }
  PrintField("rebuilt", ProjectionsDir(data));
  PrintField("position", absl::StrCat(checkpoint.position));
  PrintField("digest", Hex(checkpoint.digest));
  return absl::OkStatus();
}

absl::Status VerifyLogOffline(const DataFlags& data, const VerifyRangeFlags& range) {
  KAM_ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventLog> log, OpenLog(LogDir(data)));
  KAM_ASSIGN_OR_RETURN(eventstore::VerifyResult result,
                       VerifyInChunks(*log, range.from_position, range.to_position));
  PrintField("log", LogDir(data));
  PrintField("ok", result.ok ? "true" : "false");
  PrintField("checked", absl::StrCat(result.checked));
  if (!result.ok) {
    PrintField("first_bad_position", absl::StrCat(result.first_bad_position));
    PrintField("problem", result.problem);
    std::fflush(stdout);
    return absl::DataLossError(absl::StrCat("the log's hash chain breaks at position ",
                                            result.first_bad_position, ": ", result.problem));
  }
  PrintField("hash", Hex(result.head_hash));
  return absl::OkStatus();
}

namespace {

// Writes every event up to `head` to `out` as NDJSON; returns the count.
absl::StatusOr<uint64_t> WriteExport(const eventstore::EventLog& log, uint64_t head,
                                     std::FILE* out) {
  Progress progress("export: events written");
  kam::v1::RecordedEvent message;
  uint64_t next = 1;
  uint64_t written = 0;
  while (next <= head) {
    KAM_ASSIGN_OR_RETURN(
        eventstore::ReadAllResult read,
        log.ReadAll(next, eventstore::Direction::kForward,
                    std::min<uint64_t>(kExportChunk, head - next + 1), eventstore::LogFilter()));
    if (read.events.empty()) {
      return absl::DataLossError(
          absl::StrCat("the log ends at position ", next - 1, " before its head ", head));
    }
    for (const eventstore::RecordedEvent& event : read.events) {
      message.Clear();  // ToProto adds to the metadata map rather than replacing it.
      services::ToProto(event, &message);
      KAM_ASSIGN_OR_RETURN(std::string json, ToJson(message, /*all_fields=*/false));
      json.push_back('\n');
      if (std::fwrite(json.data(), 1, json.size(), out) != json.size()) {
        return absl::UnavailableError("cannot write the export (closed pipe or full disk?)");
      }
      ++written;
    }
    next = read.events.back().position + 1;
    progress.Update(next - 1, head);
  }
  return written;
}

}  // namespace

absl::Status ExportLog(const DataFlags& data, const std::string& out) {
  KAM_ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventLog> log, OpenLog(LogDir(data)));
  const eventstore::LogHead head = log->Head();
  const bool to_stdout = out.empty() || out == "-";
  const std::string partial = out + ".partial";
  std::FILE* file = to_stdout ? stdout : std::fopen(partial.c_str(), "w");
  if (file == nullptr) return UsageError(absl::StrCat("--out: cannot create ", partial));
  absl::StatusOr<uint64_t> written = WriteExport(*log, head.position, file);
  const bool flushed = std::fflush(file) == 0 && (to_stdout || ::fsync(fileno(file)) == 0);
  if (!to_stdout) std::fclose(file);
  if (written.ok() && !flushed) written = absl::UnavailableError("cannot flush the export");
  if (!written.ok()) {
    if (!to_stdout) std::remove(partial.c_str());
    return written.status();
  }
  if (!to_stdout) {
    std::error_code ec;
    fs::rename(partial, out, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot rename ", partial, " to ", out));
  }
  std::fprintf(stderr, "exported %llu events (positions 1-%llu) to %s, head hash %s\n",
               static_cast<unsigned long long>(*written),
               static_cast<unsigned long long>(head.position), to_stdout ? "stdout" : out.c_str(),
               Hex(head.hash).c_str());
  return absl::OkStatus();
}

namespace {

// Refuses a data directory that already holds history: an import rebuilds
// positions from 1 and cannot merge.
absl::Status CheckImportTarget(const DataFlags& data) {
  if (!MissingOrEmpty(LogDir(data))) {
    KAM_ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventLog> log, OpenLog(LogDir(data)));
    if (log->Head().position > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(LogDir(data), " already holds ", log->Head().position,
                       " events: import only into an empty data directory"));
    }
  }
  if (fs::exists(ProjectionsDir(data) + "/CURRENT")) {
    KAM_ASSIGN_OR_RETURN(std::unique_ptr<projections::ProjectionStore> store,
                         projections::OpenCurrentProjections(ProjectionsDir(data)));
    if (store->checkpoint().position > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(ProjectionsDir(data), " holds projections of another log (checkpoint ",
                       store->checkpoint().position,
                       "): import only into an empty data "
                       "directory"));
    }
  }
  return absl::OkStatus();
}

// Consecutive exported events of one stream and one recorded_at: appended
// together, as they were recorded.
class ImportGroup {
 public:
  bool Empty() const { return originals_.empty(); }

  bool Fits(const kam::v1::RecordedEvent& e) const {
    if (Empty()) return true;
    const kam::v1::RecordedEvent& last = originals_.back();
    return e.stream() == last.stream() && e.version() == last.version() + 1 &&
           e.recorded_at().seconds() == last.recorded_at().seconds() &&
           e.recorded_at().nanos() == last.recorded_at().nanos() &&
           originals_.size() < kMaxImportGroupEvents && bytes_ < kMaxImportGroupBytes;
  }

  void Add(kam::v1::RecordedEvent e) {
    eventstore::EventData data;
    data.event_id = e.event_id();
    data.type = e.type();
    data.data = e.data();
    data.metadata.insert(e.metadata().begin(), e.metadata().end());
    data.occurred_at = services::FromProto(e.occurred_at());
    bytes_ += data.data.size();
    events_.push_back(std::move(data));
    originals_.push_back(std::move(e));
  }

  // Appends the group with the export's recorded_at and checks that
  // positions and the chain's hash came out as exported.
  absl::Status Append(eventstore::EventLog* log, SettableClock* clock) {
    const kam::v1::RecordedEvent& first = originals_.front();
    const kam::v1::RecordedEvent& last = originals_.back();
    clock->Set(services::FromProto(first.recorded_at()));
    const eventstore::ExpectedVersion expected =
        first.version() == 0 ? eventstore::ExpectedVersion::NoStream()
                             : eventstore::ExpectedVersion::Exact(first.version() - 1);
    absl::StatusOr<eventstore::AppendResult> appended =
        log->Append(first.stream(), expected, events_);
    if (!appended.ok()) {
      return absl::Status(
          appended.status().code(),
          absl::StrCat("position ", first.position(), ": ", appended.status().message()));
    }
    if (appended->first_position != first.position() ||
        appended->last_position != last.position()) {
      return absl::DataLossError(absl::StrCat("position ", first.position(), ": recorded at ",
                                              appended->first_position, " instead"));
    }
    if (log->Head().hash != last.hash()) {
      // The export's own chain was checked: the log did not reproduce it.
      return absl::DataLossError(absl::StrCat("position ", last.position(),
                                              ": the imported event's hash differs from the "
                                              "export's (recorded_at or content not reproduced)"));
    }
    events_.clear();
    originals_.clear();
    bytes_ = 0;
    return absl::OkStatus();
  }

 private:
  std::vector<eventstore::EventData> events_;
  std::vector<kam::v1::RecordedEvent> originals_;
  size_t bytes_ = 0;
};

// Checks one exported event against the chain before anything is written:
// it must follow `prev_hash`, and its hash must be that of its content.
absl::Status CheckChainLink(const kam::v1::RecordedEvent& exported, const std::string& prev_hash,
                            uint64_t line) {
  eventstore::RecordedEvent e;
  e.event_id = exported.event_id();
  e.stream = exported.stream();
  e.version = exported.version();
  e.position = exported.position();
  e.type = exported.type();
  e.data = exported.data();
  e.metadata.insert(exported.metadata().begin(), exported.metadata().end());
  e.occurred_at = services::FromProto(exported.occurred_at());
  e.recorded_at = services::FromProto(exported.recorded_at());
  const std::string where = absl::StrCat("line ", line, " (position ", e.position, "): ");
  if (exported.prev_hash() != prev_hash) {
    return absl::DataLossError(absl::StrCat(where, "prev_hash does not continue the chain"));
  }
  if (eventstore::ChainHash(prev_hash, eventstore::CanonicalBytes(e)) != exported.hash()) {
    return absl::DataLossError(
        absl::StrCat(where,
                     "the hash does not match the event's content: the export was changed after it "
                     "was written"));
  }
  return absl::OkStatus();
}

// Appends every line of `in` to `log`; returns the number of events.
absl::StatusOr<uint64_t> ImportLines(std::istream& in, eventstore::EventLog* log,
                                     SettableClock* clock) {
  Progress progress("import: events appended");
  ImportGroup group;
  std::string text;
  uint64_t line = 0;
  uint64_t position = 0;
  std::string prev_hash = eventstore::GenesisHash();
  while (std::getline(in, text)) {
    ++line;
    if (absl::StripAsciiWhitespace(text).empty()) continue;
    kam::v1::RecordedEvent event;
    absl::Status parsed = ParseJson(text, absl::StrCat("line ", line), &event);
    if (!parsed.ok()) return absl::InvalidArgumentError(parsed.message());
    if (event.position() != position + 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line, ": position ", event.position(), " where ", position + 1,
                       " was expected: an export lists every position once, in order"));
    }
    KAM_RETURN_IF_ERROR(CheckChainLink(event, prev_hash, line));
    prev_hash = event.hash();
    position = event.position();
    if (!group.Fits(event)) KAM_RETURN_IF_ERROR(group.Append(log, clock));
    group.Add(std::move(event));
    progress.Update(position, 0);
  }
  if (in.bad()) return absl::DataLossError("cannot read the export");
  if (!group.Empty()) KAM_RETURN_IF_ERROR(group.Append(log, clock));
  return position;
}

}  // namespace

absl::Status ImportExport(const DataFlags& data, const std::string& file) {
  std::ifstream input;
  if (file != "-") {
    input.open(file);
    if (!input) return UsageError(absl::StrCat("cannot read ", file));
  }
  KAM_RETURN_IF_ERROR(CheckImportTarget(data));
  SettableClock clock;
  eventstore::RocksDbLogOptions options;
  options.create_if_missing = true;
  // The import is redone from the file if it fails; SyncTree below makes the
  // finished log durable at once instead of one fsync per append.
  options.unsafe_skip_fsync_on_append = true;
  options.clock = &clock;
  KAM_ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventLog> log,
                       eventstore::OpenRocksDbLog(LogDir(data), options));
  absl::StatusOr<uint64_t> imported =
      ImportLines(file == "-" ? std::cin : input, log.get(), &clock);
  if (!imported.ok()) {
    // The log held no events before (CheckImportTarget), so removing it
    // loses nothing and leaves the directory ready for the next attempt.
    log.reset();
    std::error_code ec;
    fs::remove_all(LogDir(data), ec);
    return absl::Status(imported.status().code(),
                        absl::StrCat(imported.status().message(), "; nothing was imported"));
  }
  const eventstore::LogHead head = log->Head();
  log.reset();
  KAM_RETURN_IF_ERROR(SyncTree(LogDir(data)));
  PrintField("imported", absl::StrCat(*imported, " events into ", LogDir(data)));
  PrintField("position", absl::StrCat(head.position));
  PrintField("hash", Hex(head.hash));
  PrintField("projections", absl::StrCat("run kamctl rebuild --data ", data.data,
                                         " (or start kamd, which catches them up)"));
  return absl::OkStatus();
}

namespace {

// The BACKUP file: what a restore checks the copy against.
std::string BackupManifest(const eventstore::VerifyResult& verified, bool with_projections) {
  return absl::StrCat("format: kam-backup/1\n", "created_at: ", FormatRfc3339(absl::Now()), "\n",
                      "position: ", verified.checked, "\n", "hash: ", Hex(verified.head_hash), "\n",
                      "projections: ", with_projections ? "copied" : "none", "\n");
}

absl::StatusOr<std::map<std::string, std::string>> ReadManifest(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no ", path.string()));
  std::map<std::string, std::string> fields;
  std::string line;
  while (std::getline(in, line)) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits(": ", 1));
    fields[kv.first] = kv.second;
  }
  return fields;
}

// Opens a copied log and hash-checks all of it.
absl::StatusOr<eventstore::VerifyResult> VerifyCopy(const std::string& log_dir) {
  KAM_ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventLog> log, OpenLog(log_dir));
  KAM_ASSIGN_OR_RETURN(eventstore::VerifyResult verified, VerifyInChunks(*log, 1, 0));
  if (!verified.ok) {
    return absl::DataLossError(absl::StrCat("the copy in ", log_dir, " is broken at position ",
                                            verified.first_bad_position, ": ", verified.problem));
  }
  return verified;
}

}  // namespace

absl::Status Backup(const DataFlags& data, const std::string& to) {
  if (!MissingOrEmpty(to)) {
    return UsageError(absl::StrCat("--to ", to,
                                   " exists and is not empty: back up into a new "
                                   "directory"));
  }
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", to, ": ", ec.message()));
  absl::Status copied = eventstore::BackupRocksDbLog(LogDir(data), to + "/log");
  if (absl::IsFailedPrecondition(copied) && fs::exists(LogDir(data))) {
    copied = absl::FailedPreconditionError(
        absl::StrCat(copied.message(), " (offline commands need kamd stopped)"));
  }
  KAM_RETURN_IF_ERROR(copied);
  // Projections are derived, but copying them saves a rebuild at restore.
  // kamd is stopped (the log's lock was free), so they are at rest.
  const bool with_projections = fs::exists(ProjectionsDir(data));
  if (with_projections) KAM_RETURN_IF_ERROR(CopyTree(ProjectionsDir(data), to + "/projections"));
  KAM_ASSIGN_OR_RETURN(eventstore::VerifyResult verified, VerifyCopy(to + "/log"));
  const std::string manifest = BackupManifest(verified, with_projections);
  {
    std::ofstream out(to + "/" + kBackupFile, std::ios::trunc);
    out << manifest;
    if (!out.flush()) return absl::UnavailableError(absl::StrCat("cannot write ", to, "/BACKUP"));
  }
  KAM_RETURN_IF_ERROR(SyncTree(to));
  PrintField("backup", to);
  std::fputs(manifest.c_str(), stdout);
  return absl::OkStatus();
}

namespace {

// Checks a restored log against the backup's manifest, when there is one.
absl::Status MatchManifest(const fs::path& manifest_path, const eventstore::VerifyResult& got) {
  if (!fs::exists(manifest_path)) return absl::OkStatus();
  KAM_ASSIGN_OR_RETURN(auto manifest, ReadManifest(manifest_path));
  if (manifest["position"] != absl::StrCat(got.checked) || manifest["hash"] != Hex(got.head_hash)) {
    return absl::DataLossError(absl::StrCat(
        "the restored log ends at position ", got.checked, " hash ", Hex(got.head_hash),
        " but the backup recorded position ", manifest["position"], " hash ", manifest["hash"]));
  }
  return absl::OkStatus();
}

absl::StatusOr<eventstore::VerifyResult> RestoreInto(const fs::path& from,
                                                     const fs::path& staging) {
  std::error_code ec;
  fs::create_directories(staging, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", staging.string()));
  KAM_RETURN_IF_ERROR(CopyTree(from / "log", staging / "log"));
  if (fs::exists(from / "projections")) {
    KAM_RETURN_IF_ERROR(CopyTree(from / "projections", staging / "projections"));
  }
  KAM_ASSIGN_OR_RETURN(eventstore::VerifyResult verified, VerifyCopy((staging / "log").string()));
  KAM_RETURN_IF_ERROR(MatchManifest(from / kBackupFile, verified));
  KAM_RETURN_IF_ERROR(SyncTree(staging));
  return verified;
}

}  // namespace

absl::Status Restore(const DataFlags& data, const std::string& from) {
  if (!fs::exists(fs::path(from) / "log" / "CURRENT")) {
    return UsageError(absl::StrCat("--from ", from, " holds no backup (no log inside)"));
  }
  if (!MissingOrEmpty(data.data)) {
    return UsageError(absl::StrCat("--data ", data.data,
                                   " is not empty: restore only into a "
                                   "new or empty directory"));
  }
  // Built beside the target and renamed into place once verified, so the
  // data directory never holds a half-restored copy.
  fs::path target = fs::absolute(fs::path(data.data)).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();
  const fs::path staging = target.string() + ".restoring";
  std::error_code ec;
  fs::remove_all(staging, ec);  // Left over by an interrupted restore.
  absl::StatusOr<eventstore::VerifyResult> verified = RestoreInto(from, staging);
  if (!verified.ok()) {
    fs::remove_all(staging, ec);
    return verified.status();
  }
  fs::rename(staging, target, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot move ", staging.string(), " to ",
                                               target.string(), ": ", ec.message()));
  }
  KAM_RETURN_IF_ERROR(SyncPath(target.parent_path()));
  PrintField("restored", absl::StrCat(from, " into ", data.data));
  PrintField("position", absl::StrCat(verified->checked));
  PrintField("hash", Hex(verified->head_hash));
  PrintField("verified", "true");
  return absl::OkStatus();
}

absl::Status Stats(const DataFlags& data) {
  uint64_t head_position = 0;
  {
    KAM_ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventLog> log, OpenLog(LogDir(data)));
    const eventstore::LogHead head = log->Head();
    head_position = head.position;
    PrintField("log", LogDir(data));
    PrintField("head_position", absl::StrCat(head.position));
    PrintField("head_hash", Hex(head.hash));
    PrintField("head_recorded_at", head.position > 0 ? FormatRfc3339(head.recorded_at) : "-");
  }
  if (fs::exists(ProjectionsDir(data) + "/CURRENT")) {
    KAM_ASSIGN_OR_RETURN(std::unique_ptr<projections::ProjectionStore> store,
                         projections::OpenCurrentProjections(ProjectionsDir(data)));
    const projections::Checkpoint checkpoint = store->checkpoint();
    KAM_ASSIGN_OR_RETURN(std::vector<std::string> accounts, store->AccountIds());
    PrintField("projections_position", absl::StrCat(checkpoint.position));
    PrintField("projections_digest", Hex(checkpoint.digest));
    PrintField(
        "projections_behind_by",
        absl::StrCat(head_position > checkpoint.position ? head_position - checkpoint.position : 0,
                     " events"));
    PrintField("accounts", absl::StrCat(accounts.size()));
  } else {
    PrintField("projections_position", "none (kamd or kamctl rebuild builds them)");
  }
  const uint64_t log_bytes = DiskUsage(LogDir(data));
  const uint64_t projection_bytes = DiskUsage(ProjectionsDir(data));
  PrintField("disk_log", Bytes(log_bytes));
  PrintField("disk_projections", Bytes(projection_bytes));
  PrintField("disk_total", Bytes(DiskUsage(data.data)));
  return absl::OkStatus();
}

}  // namespace kam::kamctl
