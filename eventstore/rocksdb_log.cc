#include "eventstore/rocksdb_log.h"

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/canonical_encoding.h"
#include "eventstore/internal/byte_codec.h"
#include "eventstore/internal/commit_queue.h"
#include "eventstore/internal/layout.h"
#include "eventstore/internal/rocksdb_status.h"
#include "eventstore/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"

namespace kam::eventstore {

namespace {

using internal::DecodeLogValue;
using internal::FromRocksDb;
using internal::PendingAppend;
using internal::StreamMeta;

// A filtered scan examines at most this many events per call, so one call
// never runs unbounded over a long log; next_position says where to go on.
constexpr size_t kMaxExaminedPerRead = 65536;

std::string RandomEventId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // OpenSSL's CSPRNG only fails when it cannot seed; ids then fall back to
    // a process-unique counter mixed with the time so appends still proceed.
    static std::atomic<uint64_t> counter{0};
    uint64_t n = counter.fetch_add(1) ^ static_cast<uint64_t>(absl::GetCurrentTimeNanos());
    std::memcpy(bytes, &n, 8);
    std::memcpy(bytes + 8, &n, 8);
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x40;  // UUID version 4.
  bytes[8] = (bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant.
  std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

size_t AppendBytes(absl::Span<const EventData> events) {
  size_t bytes = 0;
  for (const EventData& e : events) bytes += e.data.size() + e.type.size() + 64;
  return bytes;
}

bool SameContent(const EventData& given, absl::string_view stream, const RecordedEvent& stored) {
  return stored.stream == stream && stored.type == given.type && stored.data == given.data &&
         stored.metadata == given.metadata && stored.occurred_at == given.occurred_at;
}

bool Matches(const RecordedEvent& e, const LogFilter& filter) {
  if (!absl::StartsWith(e.stream, filter.stream_prefix)) return false;
  return filter.types.empty() ||
         std::find(filter.types.begin(), filter.types.end(), e.type) != filter.types.end();
}

// Events one commit group has staged but not yet written: later members of
// the group must see them as if they were already in the log.
struct GroupState {
  absl::flat_hash_map<std::string, StreamMeta> streams;
  absl::flat_hash_map<std::string, RecordedEvent> events_by_id;
  uint64_t next_position = 0;
  std::string prev_hash;
  absl::Time recorded_at;
  rocksdb::WriteBatch batch;
  // Index entries, put into the batch in key order at the end: a memtable
  // insert then starts its search where the previous one ended.
  std::vector<std::pair<std::string, std::string>> index_puts;
  std::vector<std::pair<std::string, std::string>> id_puts;
};

class RocksDbLog final : public EventLog {
 public:
  RocksDbLog(std::string directory, const RocksDbLogOptions& options,
             std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> families)
      : directory_(std::move(directory)),
        options_(options),
        clock_(options.clock != nullptr ? *options.clock : SystemClock()),
        queue_(options.max_group_appends, options.max_group_bytes),
        families_(std::move(families)),
        db_(std::move(db)) {
    write_options_.sync = !options.unsafe_skip_fsync_on_append;
    committer_ = std::thread([this] { RunCommitter(); });
    answerer_ = std::thread([this] { RunAnswerer(); });
  }

  ~RocksDbLog() override {
    // The committer first: what it commits while stopping is still answered.
    to_commit_.Stop();
    committer_.join();
    to_answer_.Stop();
    answerer_.join();
    for (rocksdb::ColumnFamilyHandle* family : families_) {
      db_->DestroyColumnFamilyHandle(family).PermitUncheckedError();
    }
    rocksdb::Status s = db_->Close();
    s.PermitUncheckedError();  // Every acknowledged write is already durable.
  }

  absl::Status LoadHead();

  absl::StatusOr<AppendResult> Append(absl::string_view stream, ExpectedVersion expected,
                                      absl::Span<const EventData> events) override;
  void AppendAsync(std::string stream, ExpectedVersion expected, std::vector<EventData> events,
                   std::function<void(absl::StatusOr<AppendResult>)> done) override;
  absl::StatusOr<std::vector<RecordedEvent>> ReadStream(absl::string_view stream,
                                                        uint64_t from_version, Direction direction,
                                                        size_t max_count) const override;
  absl::StatusOr<ReadAllResult> ReadAll(uint64_t from_position, Direction direction,
                                        size_t max_count, const LogFilter& filter) const override;
  absl::StatusOr<std::optional<RecordedEvent>> FindEvent(absl::string_view event_id) const override;
  absl::StatusOr<StreamInfo> GetStreamInfo(absl::string_view stream) const override;
  LogHead Head() const override;
  uint64_t WaitForPositionAfter(uint64_t position, absl::Time deadline) const override;
  uint64_t AddHeadListener(std::function<void(uint64_t)> listener) override;
  void RemoveHeadListener(uint64_t id) override;
  absl::StatusOr<VerifyResult> Verify(uint64_t from_position, uint64_t to_position) const override;

 private:
  rocksdb::ColumnFamilyHandle* log_family() const { return families_[1]; }
  rocksdb::ColumnFamilyHandle* streams_family() const { return families_[2]; }
  rocksdb::ColumnFamilyHandle* index_family() const { return families_[3]; }
  rocksdb::ColumnFamilyHandle* ids_family() const { return families_[4]; }

  // Leads the groups of asynchronous appends handed over by AppendAsync.
  void RunCommitter();
  // Answers the asynchronous appends the committer has committed.
  void RunAnswerer();

  // Commit-group work, run by the leader only.
  void CommitGroup(const std::vector<PendingAppend*>& group);
  absl::StatusOr<AppendResult> Stage(const PendingAppend& append, GroupState* state);
  void PutIndexes(GroupState* state);
  absl::StatusOr<std::optional<AppendResult>> FindRetry(const PendingAppend& append,
                                                        const GroupState& state) const;
  // For the leader: the stream as this group leaves it so far.
  absl::StatusOr<std::optional<StreamMeta>> CurrentMeta(absl::string_view stream,
                                                        const GroupState& state) const;
  // For anyone: the stream as written (possibly beyond the published head).
  absl::StatusOr<std::optional<StreamMeta>> StoredMeta(absl::string_view stream) const;
  void Publish(const GroupState& state);
  absl::StatusOr<std::optional<StreamMeta>> VisibleMeta(absl::string_view stream,
                                                        const StreamMeta& latest) const;
  absl::StatusOr<bool> HasVisibleEvent(absl::string_view stream, uint64_t head) const;

  absl::StatusOr<std::optional<RecordedEvent>> EventById(absl::string_view event_id) const;
  absl::StatusOr<RecordedEvent> EventAt(uint64_t position) const;
  uint64_t head_position() const { return head_position_.load(std::memory_order_acquire); }

  const std::string directory_;
  // Holds options_.env, which db_ uses until it is destroyed: keep it above db_.
  const RocksDbLogOptions options_;
  const Clock& clock_;
  rocksdb::WriteOptions write_options_;
  internal::CommitQueue queue_;

  // Leader-only state: touched only by the current commit leader, and
  // commit leaders follow each other through the queue's mutex.
  absl::Time last_recorded_at_;
  absl::Status broken_;
  // The metadata of streams appended to lately, as written: staging reads
  // it for every append, and only commit leaders write streams.
  static constexpr size_t kMaxCachedStreams = 1 << 18;
  absl::flat_hash_map<std::string, StreamMeta> meta_cache_;

  mutable absl::Mutex head_mu_;
  LogHead head_ ABSL_GUARDED_BY(head_mu_);
  std::atomic<uint64_t> head_position_{0};

  absl::Mutex listeners_mu_;
  uint64_t next_listener_id_ ABSL_GUARDED_BY(listeners_mu_) = 1;
  std::vector<std::pair<uint64_t, std::function<void(uint64_t)>>> listeners_
      ABSL_GUARDED_BY(listeners_mu_);

  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  std::unique_ptr<rocksdb::DB> db_;

  // Asynchronous appenders are server threads that must not block on an
  // fsync, so the one that would lead hands its group to the committer; the
  // answerer answers what the committer committed.
  internal::Handover to_commit_;
  internal::Handover to_answer_;
  std::thread committer_;
  std::thread answerer_;
};

absl::Status RocksDbLog::LoadHead() {
  rocksdb::ReadOptions read_options;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, log_family()));
  it->SeekToLast();
  KAM_RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the log's last entry"));
  LogHead head;
  head.hash = GenesisHash();
  if (it->Valid()) {
    RecordedEvent last;
    KAM_RETURN_IF_ERROR(
        DecodeLogValue(absl::string_view(it->value().data(), it->value().size()), &last));
    if (last.position !=
            internal::DecodeU64(absl::string_view(it->key().data(), it->key().size())) ||
        ChainHash(last.prev_hash, CanonicalBytes(last)) != last.hash) {
      return absl::DataLossError(
          absl::StrCat("the log's last entry (position ", last.position, ") fails its hash check"));
    }
    head.position = last.position;
    head.hash = last.hash;
    head.recorded_at = last.recorded_at;
  }
  last_recorded_at_ = head.recorded_at;
  absl::MutexLock lock(&head_mu_);
  head_ = head;
  head_position_.store(head.position, std::memory_order_release);
  return absl::OkStatus();
}

absl::StatusOr<AppendResult> RocksDbLog::Append(absl::string_view stream, ExpectedVersion expected,
                                                absl::Span<const EventData> events) {
  KAM_RETURN_IF_ERROR(ValidateAppend(stream, events, options_.limits));
  PendingAppend append(stream, expected, events, AppendBytes(events));
  std::vector<PendingAppend*> group = queue_.Join(&append);
  std::vector<PendingAppend*> answered;
  while (!group.empty()) {
    CommitGroup(group);
    group = queue_.Finish(group, &answered);
    // Asynchronous members of the group are answered on the log's answerer
    // thread, never on this caller's, which may hold locks of its own.
    if (!answered.empty()) to_answer_.Put(std::move(answered));
    answered.clear();
  }
  return std::move(append.result);
}

void RocksDbLog::AppendAsync(std::string stream, ExpectedVersion expected,
                             std::vector<EventData> events,
                             std::function<void(absl::StatusOr<AppendResult>)> done) {
  if (absl::Status valid = ValidateAppend(stream, events, options_.limits); !valid.ok()) {
    done(valid);
    return;
  }
  auto* append = new PendingAppend(absl::string_view(), expected, {}, AppendBytes(events));
  append->owned_stream = std::move(stream);
  append->owned_events = std::move(events);
  append->stream = append->owned_stream;
  append->events = append->owned_events;
  append->on_done = std::move(done);
  std::vector<PendingAppend*> group = queue_.Enqueue(append);
  if (group.empty()) return;         // A leader at work takes it.
  to_commit_.Put(std::move(group));  // Only one leader exists at a time.
}

void RocksDbLog::RunCommitter() {
  for (std::vector<PendingAppend*> group = to_commit_.Take(); !group.empty();
       group = to_commit_.Take()) {
    while (!group.empty()) {
      CommitGroup(group);
      std::vector<PendingAppend*> answered;
      group = queue_.Finish(group, &answered);
      // Answering (gRPC's sends, for kamd) overlaps the next group's commit.
      to_answer_.Put(std::move(answered));
    }
  }
}

void RocksDbLog::RunAnswerer() {
  for (std::vector<PendingAppend*> answered = to_answer_.Take(); !answered.empty();
       answered = to_answer_.Take()) {
    internal::CommitQueue::Answer(&answered);
  }
}

void RocksDbLog::CommitGroup(const std::vector<PendingAppend*>& group) {
  if (!broken_.ok()) {
    for (PendingAppend* append : group) append->result = broken_;
    return;
  }
  GroupState state;
  {
    absl::MutexLock lock(&head_mu_);
    state.next_position = head_.position + 1;
    state.prev_hash = head_.hash;
  }
  const uint64_t first_position = state.next_position;
  // recorded_at never decreases along positions, whatever the clock does.
  state.recorded_at = std::max(clock_.Now(), last_recorded_at_);
  std::vector<PendingAppend*> staged;
  for (PendingAppend* append : group) {
    uint64_t position_before = state.next_position;
    append->result = Stage(*append, &state);
    if (append->result.ok() && state.next_position != position_before) {
      staged.push_back(append);
    }
  }
  if (staged.empty()) return;
  PutIndexes(&state);
  rocksdb::Status written = db_->Write(write_options_, &state.batch);
  if (!written.ok()) {
    // The write may be half-applied in memory; refuse further appends until
    // the log is reopened and recovers from what is durable.
    broken_ = FromRocksDb(written, absl::StrCat("appending to the log in ", directory_));
    for (PendingAppend* append : staged) append->result = broken_;
    if (options_.on_appends_refused) options_.on_appends_refused(broken_);
    return;
  }
  last_recorded_at_ = state.recorded_at;
  if (meta_cache_.size() + state.streams.size() > kMaxCachedStreams) meta_cache_.clear();
  for (const auto& [stream, meta] : state.streams) meta_cache_[stream] = meta;
  Publish(state);
  if (options_.on_group_commit) {
    options_.on_group_commit(staged.size(), state.next_position - first_position);
  }
}

void RocksDbLog::PutIndexes(GroupState* state) {
  const auto put_sorted = [state](rocksdb::ColumnFamilyHandle* family,
                                  std::vector<std::pair<std::string, std::string>>* puts) {
    std::sort(puts->begin(), puts->end());
    for (const auto& [key, value] : *puts) state->batch.Put(family, key, value);
  };
  put_sorted(index_family(), &state->index_puts);
  put_sorted(ids_family(), &state->id_puts);
  // Each stream's metadata once, as the group leaves it.
  std::vector<std::pair<std::string, std::string>> metas;
  for (const auto& [stream, meta] : state->streams) {
    metas.emplace_back(stream, internal::EncodeStreamMeta(meta));
  }
  put_sorted(streams_family(), &metas);
}

absl::StatusOr<AppendResult> RocksDbLog::Stage(const PendingAppend& append, GroupState* state) {
  KAM_ASSIGN_OR_RETURN(std::optional<AppendResult> retry, FindRetry(append, *state));
  if (retry.has_value()) return *retry;
  KAM_ASSIGN_OR_RETURN(std::optional<StreamMeta> meta, CurrentMeta(append.stream, *state));

  const ExpectedVersion& expected = append.expected;
  const std::string actual =
      meta.has_value() ? absl::StrCat(meta->last_version) : std::string("no stream");
  bool holds = true;
  switch (expected.kind()) {
    case ExpectedVersion::Kind::kAny:
      break;
    case ExpectedVersion::Kind::kNoStream:
      holds = !meta.has_value();
      break;
    case ExpectedVersion::Kind::kStreamExists:
      holds = meta.has_value();
      break;
    case ExpectedVersion::Kind::kExact:
      holds = meta.has_value() && meta->last_version == expected.version();
      break;
  }
  if (!holds) {
    return absl::AbortedError(absl::StrCat("stream '", append.stream, "': expected version ",
                                           expected.ToString(), ", actual version ", actual));
  }

  StreamMeta next = meta.value_or(StreamMeta{0, 0, 0, state->recorded_at, {}});
  AppendResult result;
  result.first_version = meta.has_value() ? meta->last_version + 1 : 0;
  result.first_position = state->next_position;
  for (size_t i = 0; i < append.events.size(); ++i) {
    const EventData& given = append.events[i];
    std::string event_id = given.event_id.empty() ? RandomEventId() : given.event_id;
    // Built in place: later members of the group look events up here.
    RecordedEvent& e = state->events_by_id[event_id];
    e.event_id = std::move(event_id);
    e.stream = std::string(append.stream);
    e.recorded_at = state->recorded_at;
    e.type = given.type;
    e.data = given.data;
    e.metadata = given.metadata;
    e.occurred_at = given.occurred_at;
    e.version = result.first_version + i;
    e.position = state->next_position++;
    const std::string canonical = CanonicalBytes(e);
    e.prev_hash = std::move(state->prev_hash);
    e.hash = ChainHash(e.prev_hash, canonical);
    const std::string position_key = internal::EncodeU64(e.position);
    state->batch.Put(log_family(), position_key,
                     internal::EncodeLogValue(e.prev_hash, e.hash, canonical));
    state->index_puts.emplace_back(internal::StreamIndexKey(e.stream, e.version), position_key);
    state->id_puts.emplace_back(e.event_id, position_key);
    state->prev_hash = e.hash;
  }
  result.last_version = result.first_version + append.events.size() - 1;
  result.last_position = state->next_position - 1;
  next.last_version = result.last_version;
  next.last_position = result.last_position;
  next.event_count += append.events.size();
  next.last_recorded_at = state->recorded_at;
  state->streams[append.stream] = next;
  return result;
}

// An append whose event_ids were recorded before is a retry when every event
// matches what is stored, in the same stream and in order; then the original
// result is the answer. Any other reuse of an id is refused.
absl::StatusOr<std::optional<AppendResult>> RocksDbLog::FindRetry(const PendingAppend& append,
                                                                  const GroupState& state) const {
  std::vector<RecordedEvent> found;
  for (size_t i = 0; i < append.events.size(); ++i) {
    const EventData& given = append.events[i];
    if (given.event_id.empty()) continue;
    std::optional<RecordedEvent> stored;
    if (auto it = state.events_by_id.find(given.event_id); it != state.events_by_id.end()) {
      stored = it->second;
    } else {
      KAM_ASSIGN_OR_RETURN(stored, EventById(given.event_id));
    }
    if (!stored.has_value()) continue;
    if (!SameContent(given, append.stream, *stored)) {
      return absl::AlreadyExistsError(
          absl::StrCat("events[", i, "].event_id: '", given.event_id, "' was recorded at position ",
                       stored->position, " in stream '", stored->stream, "' with other content"));
    }
    found.push_back(std::move(*stored));
    if (found.size() != i + 1 || (i > 0 && found[i].version != found[i - 1].version + 1)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "events[", i, "].event_id: '", given.event_id, "' was recorded at position ",
          found.back().position, " by a different append; retry the original append whole"));
    }
  }
  if (found.empty()) return std::nullopt;
  if (found.size() != append.events.size()) {
    return absl::AlreadyExistsError(absl::StrCat("events[", found.size(),
                                                 "]: not recorded, while events before it were, at "
                                                 "position ",
                                                 found.front().position,
                                                 "; retry the original append whole"));
  }
  return AppendResult{found.front().version, found.back().version, found.front().position,
                      found.back().position};
}

absl::StatusOr<std::optional<StreamMeta>> RocksDbLog::CurrentMeta(absl::string_view stream,
                                                                  const GroupState& state) const {
  if (auto it = state.streams.find(stream); it != state.streams.end()) return it->second;
  if (auto it = meta_cache_.find(stream); it != meta_cache_.end()) return it->second;
  return StoredMeta(stream);
}

absl::StatusOr<std::optional<StreamMeta>> RocksDbLog::StoredMeta(absl::string_view stream) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), streams_family(),
                               rocksdb::Slice(stream.data(), stream.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  KAM_RETURN_IF_ERROR(FromRocksDb(s, absl::StrCat("reading stream '", stream, "'")));
  StreamMeta meta;
  KAM_RETURN_IF_ERROR(internal::DecodeStreamMeta(value, &meta));
  return meta;
}

void RocksDbLog::Publish(const GroupState& state) {
  const uint64_t position = state.next_position - 1;
  {
    absl::MutexLock lock(&head_mu_);
    head_.position = position;
    head_.hash = state.prev_hash;
    head_.recorded_at = state.recorded_at;
    head_position_.store(position, std::memory_order_release);
  }
  absl::MutexLock lock(&listeners_mu_);
  for (const auto& [id, listener] : listeners_) listener(position);
}

absl::StatusOr<std::optional<RecordedEvent>> RocksDbLog::EventById(
    absl::string_view event_id) const {
  std::string position;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ids_family(),
                               rocksdb::Slice(event_id.data(), event_id.size()), &position);
  if (s.IsNotFound()) return std::nullopt;
  KAM_RETURN_IF_ERROR(FromRocksDb(s, absl::StrCat("looking up event id '", event_id, "'")));
  return EventAt(internal::DecodeU64(position));
}

absl::StatusOr<RecordedEvent> RocksDbLog::EventAt(uint64_t position) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), log_family(), internal::EncodeU64(position), &value);
  if (s.IsNotFound()) {
    return absl::DataLossError(
        absl::StrCat("position ", position, " is indexed but missing from the log"));
  }
  KAM_RETURN_IF_ERROR(FromRocksDb(s, absl::StrCat("reading position ", position)));
  RecordedEvent e;
  KAM_RETURN_IF_ERROR(DecodeLogValue(value, &e));
  return e;
}

absl::StatusOr<std::vector<RecordedEvent>> RocksDbLog::ReadStream(absl::string_view stream,
                                                                  uint64_t from_version,
                                                                  Direction direction,
                                                                  size_t max_count) const {
  KAM_RETURN_IF_ERROR(ValidateStreamName(stream, options_.limits));
  const uint64_t head = head_position();
  const std::string begin = internal::StreamIndexKey(stream, 0);
  const std::string end = internal::StreamIndexEnd(stream);
  rocksdb::Slice lower(begin), upper(end);
  rocksdb::ReadOptions read_options;
  read_options.iterate_lower_bound = &lower;
  read_options.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, index_family()));
  const std::string start = internal::StreamIndexKey(stream, from_version);
  if (direction == Direction::kForward) {
    it->Seek(start);
  } else {
    it->SeekForPrev(start);
  }
  std::vector<uint64_t> positions;
  for (; it->Valid() && positions.size() < max_count;
       direction == Direction::kForward ? it->Next() : it->Prev()) {
    uint64_t position =
        internal::DecodeU64(absl::string_view(it->value().data(), it->value().size()));
    // Only what every reader may see: nothing beyond the published head.
    if (position > head) {
      if (direction == Direction::kForward) break;
      continue;
    }
    positions.push_back(position);
  }
  KAM_RETURN_IF_ERROR(FromRocksDb(it->status(), absl::StrCat("reading stream '", stream, "'")));
  if (positions.empty()) {
    // NotFound for a stream with no visible event; an empty range of a
    // known one is fine.
    KAM_ASSIGN_OR_RETURN(bool visible, HasVisibleEvent(stream, head));
    if (!visible) {
      return absl::NotFoundError(absl::StrCat("stream '", stream, "' has no events"));
    }
    return std::vector<RecordedEvent>();
  }
  std::vector<RecordedEvent> events;
  events.reserve(positions.size());
  for (uint64_t position : positions) {
    KAM_ASSIGN_OR_RETURN(RecordedEvent e, EventAt(position));
    events.push_back(std::move(e));
  }
  return events;
}

absl::StatusOr<ReadAllResult> RocksDbLog::ReadAll(uint64_t from_position, Direction direction,
                                                  size_t max_count, const LogFilter& filter) const {
  const uint64_t head = head_position();
  ReadAllResult result;
  const bool forward = direction == Direction::kForward;
  uint64_t position = forward ? std::max<uint64_t>(from_position, 1)
                              : (from_position == 0 || from_position > head ? head : from_position);
  const std::string lower_key = internal::EncodeU64(1);
  const std::string upper_key = internal::EncodeU64(head + 1);
  rocksdb::Slice lower(lower_key), upper(upper_key);
  rocksdb::ReadOptions read_options;
  read_options.iterate_lower_bound = &lower;
  read_options.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, log_family()));
  it->Seek(internal::EncodeU64(position));
  size_t examined = 0;
  while (position >= 1 && position <= head && result.events.size() < max_count &&
         examined < kMaxExaminedPerRead) {
    if (!it->Valid() ||
        internal::DecodeU64(absl::string_view(it->key().data(), it->key().size())) != position) {
      KAM_RETURN_IF_ERROR(FromRocksDb(it->status(), absl::StrCat("reading position ", position)));
      return absl::DataLossError(absl::StrCat("position ", position, " is missing from the log"));
    }
    RecordedEvent e;
    KAM_RETURN_IF_ERROR(
        DecodeLogValue(absl::string_view(it->value().data(), it->value().size()), &e));
    if (Matches(e, filter)) result.events.push_back(std::move(e));
    ++examined;
    if (forward) {
      ++position;
      it->Next();
    } else {
      --position;
      it->Prev();
    }
  }
  result.next_position = position;
  result.end_of_log = forward ? position > head : position == 0;
  return result;
}

absl::StatusOr<StreamInfo> RocksDbLog::GetStreamInfo(absl::string_view stream) const {
  KAM_RETURN_IF_ERROR(ValidateStreamName(stream, options_.limits));
  const uint64_t head = head_position();
  KAM_ASSIGN_OR_RETURN(std::optional<StreamMeta> meta, StoredMeta(stream));
  if (meta.has_value() && meta->last_position > head) {
    // A commit is being published: answer as of the published head.
    KAM_ASSIGN_OR_RETURN(meta, VisibleMeta(stream, *meta));
  }
  if (!meta.has_value()) {
    return absl::NotFoundError(absl::StrCat("stream '", stream, "' has no events"));
  }
  return StreamInfo{meta->last_version, meta->last_position, meta->event_count,
                    meta->first_recorded_at, meta->last_recorded_at};
}

// The stream as readers see it: up to its last event at or before the
// published head (ReadStream never goes beyond it).
absl::StatusOr<std::optional<StreamMeta>> RocksDbLog::VisibleMeta(absl::string_view stream,
                                                                  const StreamMeta& latest) const {
  absl::StatusOr<std::vector<RecordedEvent>> last =
      ReadStream(stream, latest.last_version, Direction::kBackward, 1);
  if (absl::IsNotFound(last.status())) return std::nullopt;
  KAM_RETURN_IF_ERROR(last.status());
  if (last->empty()) return std::nullopt;
  StreamMeta visible = latest;
  visible.last_version = (*last)[0].version;
  visible.last_position = (*last)[0].position;
  visible.event_count = (*last)[0].version + 1;
  visible.last_recorded_at = (*last)[0].recorded_at;
  return visible;
}

absl::StatusOr<bool> RocksDbLog::HasVisibleEvent(absl::string_view stream, uint64_t head) const {
  std::string position;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), index_family(),
                               internal::StreamIndexKey(stream, 0), &position);
  if (s.IsNotFound()) return false;
  KAM_RETURN_IF_ERROR(FromRocksDb(s, absl::StrCat("reading stream '", stream, "'")));
  return internal::DecodeU64(position) <= head;
}

absl::StatusOr<std::optional<RecordedEvent>> RocksDbLog::FindEvent(
    absl::string_view event_id) const {
  KAM_ASSIGN_OR_RETURN(std::optional<RecordedEvent> e, EventById(event_id));
  if (e.has_value() && e->position > head_position()) return std::nullopt;
  return e;
}

LogHead RocksDbLog::Head() const {
  absl::MutexLock lock(&head_mu_);
  return head_;
}

uint64_t RocksDbLog::WaitForPositionAfter(uint64_t position, absl::Time deadline) const {
  absl::MutexLock lock(&head_mu_);
  auto beyond = [this, position]()
                    ABSL_SHARED_LOCKS_REQUIRED(head_mu_) { return head_.position > position; };
  head_mu_.AwaitWithDeadline(absl::Condition(&beyond), deadline);
  return head_.position;
}

uint64_t RocksDbLog::AddHeadListener(std::function<void(uint64_t)> listener) {
  absl::MutexLock lock(&listeners_mu_);
  uint64_t id = next_listener_id_++;
  listeners_.emplace_back(id, std::move(listener));
  return id;
}

void RocksDbLog::RemoveHeadListener(uint64_t id) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.erase(std::remove_if(listeners_.begin(), listeners_.end(),
                                  [id](const auto& entry) { return entry.first == id; }),
                   listeners_.end());
}

absl::StatusOr<VerifyResult> RocksDbLog::Verify(uint64_t from_position,
                                                uint64_t to_position) const {
  const LogHead head = Head();
  const uint64_t from = std::max<uint64_t>(from_position, 1);
  const uint64_t to = to_position == 0 || to_position > head.position ? head.position : to_position;
  VerifyResult result;
  std::string expected_prev = GenesisHash();
  if (from > 1 && from <= to) {
    KAM_ASSIGN_OR_RETURN(RecordedEvent before, EventAt(from - 1));
    expected_prev = before.hash;
  }
  result.head_hash = expected_prev;
  const std::string lower_key = internal::EncodeU64(from);
  const std::string upper_key = internal::EncodeU64(to + 1);
  rocksdb::Slice lower(lower_key), upper(upper_key);
  rocksdb::ReadOptions read_options;
  read_options.iterate_lower_bound = &lower;
  read_options.iterate_upper_bound = &upper;
  read_options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, log_family()));
  it->SeekToFirst();
  auto fail = [&result](uint64_t position, std::string problem) {
    result.ok = false;
    result.first_bad_position = position;
    result.problem = std::move(problem);
    return result;
  };
  for (uint64_t position = from; position <= to; ++position, it->Next()) {
    if (!it->Valid()) {
      return fail(position, it->status().ok() ? "missing from the log" : it->status().ToString());
    }
    absl::string_view key(it->key().data(), it->key().size());
    absl::string_view value(it->value().data(), it->value().size());
    if (internal::DecodeU64(key) != position) return fail(position, "missing from the log");
    absl::string_view prev_hash, hash, canonical;
    RecordedEvent e;
    if (!internal::SplitLogValue(value, &prev_hash, &hash, &canonical).ok() ||
        !internal::ParseCanonicalBytes(canonical, &e).ok()) {
      return fail(position, "entry is malformed");
    }
    if (e.position != position) return fail(position, "entry names another position");
    if (prev_hash != expected_prev) return fail(position, "prev_hash breaks the chain");
    if (ChainHash(prev_hash, canonical) != hash) {
      return fail(position, "hash does not match the event's content");
    }
    expected_prev = std::string(hash);
    result.head_hash = expected_prev;
    ++result.checked;
  }
  return result;
}

absl::Status OpenError(const std::string& directory, const rocksdb::Status& s) {
  const std::string cause = s.ToString();
  if (s.IsIOError() && absl::StrContains(absl::AsciiStrToLower(cause), "lock")) {
    return absl::FailedPreconditionError(absl::StrCat("the data directory ", directory,
                                                      " is in use by another process (or already "
                                                      "open in this one): ",
                                                      cause));
  }
  if (s.IsCorruption()) {
    return absl::DataLossError(absl::StrCat("refusing to open the log in ", directory,
                                            ": stored data is corrupt: ", cause));
  }
  if (s.IsInvalidArgument() && absl::StrContains(cause, "does not exist")) {
    return absl::NotFoundError(absl::StrCat("no log in ", directory, ": ", cause));
  }
  return FromRocksDb(s, absl::StrCat("opening the log in ", directory));
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventLog>> OpenRocksDbLog(const std::string& directory,
                                                         const RocksDbLogOptions& options) {
  rocksdb::DBOptions db_options = internal::MakeDbOptions(options.create_if_missing);
  if (options.env != nullptr) db_options.env = options.env.get();
  if (!options.create_if_missing &&
      !std::filesystem::exists(std::filesystem::path(directory) / "CURRENT")) {
    // Checked here because RocksDB creates the directory before it looks.
    return absl::NotFoundError(
        absl::StrCat("no log in ", directory, " (and create_if_missing is off)"));
  }
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, directory, &existing).ok() &&
      std::find(existing.begin(), existing.end(), internal::kLogFamily) == existing.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat(directory, " holds a RocksDB database that is not a kam log"));
  }
  if (options.create_if_missing) {
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create the data directory ", directory, ": ", ec.message()));
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, directory,
                                        internal::MakeFamilyDescriptors(options.block_cache_bytes),
                                        &families, &raw);
  if (!s.ok()) return OpenError(directory, s);
  auto log = std::make_unique<RocksDbLog>(directory, options, std::unique_ptr<rocksdb::DB>(raw),
                                          std::move(families));
  if (absl::Status loaded = log->LoadHead(); !loaded.ok()) {
    return absl::Status(loaded.code(), absl::StrCat("refusing to open the log in ", directory, ": ",
                                                    loaded.message()));
  }
  return std::unique_ptr<EventLog>(std::move(log));
}

absl::Status BackupRocksDbLog(const std::string& log_dir, const std::string& to_dir) {
  if (!std::filesystem::exists(std::filesystem::path(log_dir) / "CURRENT")) {
    return absl::NotFoundError(absl::StrCat("no log in ", log_dir));
  }
  if (std::filesystem::exists(to_dir)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the backup target ", to_dir, " already exists"));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(internal::MakeDbOptions(/*create_if_missing=*/false), log_dir,
                        internal::MakeFamilyDescriptors(8 << 20), &families, &raw);
  if (!s.ok()) return OpenError(log_dir, s);
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::Checkpoint* raw_checkpoint = nullptr;
  s = rocksdb::Checkpoint::Create(db.get(), &raw_checkpoint);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw_checkpoint);
  if (s.ok()) s = checkpoint->CreateCheckpoint(to_dir);
  absl::Status result =
      FromRocksDb(s, absl::StrCat("writing a checkpoint of ", log_dir, " to ", to_dir));
  for (rocksdb::ColumnFamilyHandle* family : families) {
    rocksdb::Status dropped = db->DestroyColumnFamilyHandle(family);
    if (result.ok() && !dropped.ok()) result = FromRocksDb(dropped, "closing the log");
  }
  rocksdb::Status closed = db->Close();
  if (result.ok() && !closed.ok()) result = FromRocksDb(closed, "closing the log");
  return result;
}

}  // namespace kam::eventstore
