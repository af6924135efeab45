#include "projections/rebuild.h"

#include <fcntl.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/canonical_encoding.h"
#include "eventstore/status_macros.h"

namespace kam::projections {

namespace {

constexpr size_t kEventsPerChunk = 8192;
constexpr size_t kChunksInFlight = 8;

absl::StatusOr<std::string> ReadCurrent(const std::string& root) {
  std::ifstream in(root + "/CURRENT");
  if (!in) return std::string();
  std::string name;
  std::getline(in, name);
  if (name.empty() || name.find('/') != std::string::npos) {
    return absl::DataLossError(absl::StrCat(root, "/CURRENT is malformed"));
  }
  return name;
}

absl::Status SyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot open ", path, " to sync"));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return absl::UnavailableError(absl::StrCat("fsync of ", path, " failed"));
  return absl::OkStatus();
}

// Replaces CURRENT atomically: a crash leaves either the old or the new name.
absl::Status WriteCurrent(const std::string& root, const std::string& name) {
  const std::string tmp = root + "/CURRENT.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << name << "\n";
    if (!out.flush()) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
  }
  KAM_RETURN_IF_ERROR(SyncPath(tmp));
  std::error_code ec;
  std::filesystem::rename(tmp, root + "/CURRENT", ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot replace ", root, "/CURRENT"));
  return SyncPath(root);
}

uint64_t StateNumber(const std::string& name) {
  uint64_t n = 0;
  absl::string_view digits = name;
  if (!absl::ConsumePrefix(&digits, "state-") || !absl::SimpleAtoi(digits, &n)) return 0;
  return n;
}

// A bounded queue of chunks for one worker.
class ChunkQueue {
 public:
  void Push(std::vector<eventstore::RecordedEvent> chunk, bool last) {
    absl::MutexLock lock(&mu_);
    auto has_room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return chunks_.size() < kChunksInFlight;
    };
    mu_.Await(absl::Condition(&has_room));
    chunks_.push_back(std::move(chunk));
    closed_ = last;
  }
  // False once the queue is closed and drained.
  bool Pop(std::vector<eventstore::RecordedEvent>* chunk) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !chunks_.empty() || closed_; };
    mu_.Await(absl::Condition(&ready));
    if (chunks_.empty()) return false;
    *chunk = std::move(chunks_.front());
    chunks_.pop_front();
    return true;
  }

 private:
  absl::Mutex mu_;
  std::deque<std::vector<eventstore::RecordedEvent>> chunks_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

struct Worker {
  ChunkQueue queue;
  std::string digest = eventstore::GenesisHash();
  absl::Status status;
  std::thread thread;
};

void RunWorker(ProjectionStore* store, Worker* worker) {
  std::vector<eventstore::RecordedEvent> chunk;
  while (worker->queue.Pop(&chunk)) {
    if (!worker->status.ok()) continue;  // Drain so the reader never blocks.
    absl::StatusOr<std::string> part = store->FileEvents(chunk);
    if (!part.ok()) {
      worker->status = part.status();
    } else {
      AddDigest(&worker->digest, *part);
    }
  }
}

// Reads the log up to `head` and deals each event to the worker owning its
// stream. Returns the first read error.
absl::Status DealLog(const eventstore::EventLog& log, uint64_t head,
                     std::vector<std::unique_ptr<Worker>>& workers, const RebuildOptions& options) {
  uint64_t next = 1;
  absl::Status status;
  while (next <= head && status.ok()) {
    absl::StatusOr<eventstore::ReadAllResult> read =
        log.ReadAll(next, eventstore::Direction::kForward,
                    std::min<uint64_t>(kEventsPerChunk, head - next + 1), eventstore::LogFilter());
    if (!read.ok()) {
      status = read.status();
      break;
    }
    std::vector<std::vector<eventstore::RecordedEvent>> parts(workers.size());
    for (eventstore::RecordedEvent& e : read->events) {
      if (e.position > head) break;
      if (!IsProjectedStream(e.stream)) continue;
      parts[absl::HashOf(e.stream) % workers.size()].push_back(std::move(e));
    }
    next = read->next_position;
    for (size_t i = 0; i < workers.size(); ++i) workers[i]->queue.Push(std::move(parts[i]), false);
    if (options.progress) options.progress(next - 1, head);
  }
  for (auto& worker : workers) worker->queue.Push({}, true);
  return status;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProjectionStore>> OpenCurrentProjections(
    const std::string& root, eventstore::StorageEnv env) {
  KAM_ASSIGN_OR_RETURN(std::string name, ReadCurrent(root));
  if (name.empty()) {
    name = "state-1";
    std::error_code ec;
    std::filesystem::create_directories(root, ec);
    if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot create ", root));
    KAM_ASSIGN_OR_RETURN(auto store,
                         ProjectionStore::Open(root + "/" + name, /*bulk_load=*/false, env));
    KAM_RETURN_IF_ERROR(WriteCurrent(root, name));
    return store;
  }
  return ProjectionStore::Open(root + "/" + name, /*bulk_load=*/false, std::move(env));
}

absl::StatusOr<Checkpoint> RebuildProjections(const eventstore::EventLog& log,
                                              const std::string& root,
                                              const RebuildOptions& options) {
  KAM_ASSIGN_OR_RETURN(std::string current, ReadCurrent(root));
  const std::string name = absl::StrCat("state-", StateNumber(current) + 1);
  const std::string directory = root + "/" + name;
  std::error_code ec;
  std::filesystem::remove_all(directory, ec);  // Left over by a crashed rebuild.
  const uint64_t head = log.Head().position;
  Checkpoint checkpoint{head, eventstore::GenesisHash()};
  {
    KAM_ASSIGN_OR_RETURN(std::unique_ptr<ProjectionStore> store,
                         ProjectionStore::Open(directory, /*bulk_load=*/true));
    std::vector<std::unique_ptr<Worker>> workers;
    for (int i = 0; i < std::max(1, options.threads); ++i) {
      workers.push_back(std::make_unique<Worker>());
      Worker* worker = workers.back().get();
      worker->thread = std::thread([&store, worker] { RunWorker(store.get(), worker); });
    }
    absl::Status dealt = DealLog(log, head, workers, options);
    for (auto& worker : workers) worker->thread.join();
    KAM_RETURN_IF_ERROR(dealt);
    for (auto& worker : workers) {
      KAM_RETURN_IF_ERROR(worker->status);
      AddDigest(&checkpoint.digest, worker->digest);
    }
    KAM_RETURN_IF_ERROR(store->Seal(checkpoint));
  }
  KAM_RETURN_IF_ERROR(WriteCurrent(root, name));
  if (!current.empty()) std::filesystem::remove_all(root + "/" + current, ec);
  return checkpoint;
}

}  // namespace kam::projections
