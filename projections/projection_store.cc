#include "projections/projection_store.h"

#include <openssl/evp.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/canonical_encoding.h"
#include "eventstore/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/write_batch.h"

namespace kam::projections {

namespace {

// Keys: "e" stream 0x00 u64 version -> event; "r" account 0x00 u64 version
// -> the same event when it is revenue-related; "c" -> checkpoint.
constexpr char kEventTag = 'e';
constexpr char kRevenueTag = 'r';
constexpr char kCheckpointKey[] = "c";

void PutU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint64_t GetU64(absl::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < in.size(); ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

std::string EventKey(absl::string_view stream, uint64_t version, char tag = kEventTag) {
  std::string key(1, tag);
  key.append(stream.data(), stream.size());
  key.push_back('\0');
  PutU64(&key, version);
  return key;
}

// The tag and stream of an event key: its bytes up to the '\0' (stream names
// hold no control characters). A stream's versions arrive in order, so the
// memtable keeps one insert position per stream and starts there instead of
// searching from the top for every event.
class StreamOfEventKey final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "kam.StreamOfEventKey"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* end = std::memchr(key.data(), '\0', key.size());
    return rocksdb::Slice(key.data(), static_cast<const char*>(end) - key.data() + 1);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return std::memchr(key.data(), '\0', key.size()) != nullptr;
  }
};

// Event ids and types are limited to a few hundred bytes: a u16 length.
void PutShortString(std::string* out, absl::string_view s) {
  out->push_back(static_cast<char>(s.size() >> 8));
  out->push_back(static_cast<char>(s.size() & 0xff));
  out->append(s.data(), s.size());
}

// position, occurred_at ns, recorded_at ns (u64 each), event id and type
// (each a u16 length and bytes), then the AccountEvent bytes as recorded.
std::string EventValue(const eventstore::RecordedEvent& e) {
  std::string value;
  value.reserve(28 + e.event_id.size() + e.type.size() + e.data.size());
  PutU64(&value, e.position);
  PutU64(&value, static_cast<uint64_t>(absl::ToUnixNanos(e.occurred_at)));
  PutU64(&value, static_cast<uint64_t>(absl::ToUnixNanos(e.recorded_at)));
  PutShortString(&value, e.event_id);
  PutShortString(&value, e.type);
  value += e.data;
  return value;
}

bool GetShortString(absl::string_view* in, absl::string_view* s) {
  if (in->size() < 2) return false;
  const size_t size = (static_cast<uint8_t>((*in)[0]) << 8) | static_cast<uint8_t>((*in)[1]);
  if (in->size() < 2 + size) return false;
  *s = in->substr(2, size);
  in->remove_prefix(2 + size);
  return true;
}

// Null when the entry is not an account event (its data does not match its
// type): stored like any event, so the digest covers it, but never used.
absl::StatusOr<std::optional<StoredEvent>> ParseEventValue(absl::string_view key,
                                                           absl::string_view value) {
  if (value.size() < 24 || key.size() < 10) {
    return absl::DataLossError("projection entry is truncated");
  }
  StoredEvent e;
  e.version = GetU64(key.substr(key.size() - 8));
  e.position = GetU64(value);
  e.occurred_at = absl::FromUnixNanos(static_cast<int64_t>(GetU64(value.substr(8))));
  e.recorded_at = absl::FromUnixNanos(static_cast<int64_t>(GetU64(value.substr(16))));
  absl::string_view rest = value.substr(24);
  absl::string_view id, type;
  if (!GetShortString(&rest, &id) || !GetShortString(&rest, &type)) {
    return absl::DataLossError("projection entry is truncated");
  }
  e.event_id = std::string(id);
  if (!e.event.ParseFromArray(rest.data(), static_cast<int>(rest.size())) ||
      !KindMatchesType(e.event, type)) {
    return std::nullopt;
  }
  return e;
}

std::string EntryHash(absl::string_view key, absl::string_view value) {
  return eventstore::ChainHash(key, value);  // SHA-256(key || value).
}

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(context, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsNoSpace()) return absl::ResourceExhaustedError(message);
  return absl::UnavailableError(message);
}

// Puts the entries of one event into `batch` and adds them to `digest`.
void StageEvent(const eventstore::RecordedEvent& e, rocksdb::WriteBatch* batch,
                std::string* digest) {
  if (!IsProjectedStream(e.stream)) return;
  const std::string value = EventValue(e);
  const std::string key = EventKey(e.stream, e.version);
  AddDigest(digest, EntryHash(key, value));
  batch->Put(key, value);
  if (absl::StartsWith(e.stream, kAccountStreamPrefix) && IsRevenueEvent(e)) {
    const std::string revenue_key = EventKey(e.stream, e.version, kRevenueTag);
    AddDigest(digest, EntryHash(revenue_key, value));
    batch->Put(revenue_key, value);
  }
}

class RocksDbProjectionStore final : public ProjectionStore {
 public:
  RocksDbProjectionStore(std::string directory, eventstore::StorageEnv env,
                         std::unique_ptr<rocksdb::DB> db, bool bulk_load)
      : directory_(std::move(directory)), env_(std::move(env)), db_(std::move(db)) {
    // A crash in a bulk load leaves a half-built directory that is never
    // swapped in, so it needs neither WAL nor fsync.
    write_options_.disableWAL = bulk_load;
  }

  absl::Status LoadCheckpoint() {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kCheckpointKey, &value);
    absl::MutexLock lock(&mu_);
    checkpoint_.digest = eventstore::GenesisHash();
    if (s.IsNotFound()) return absl::OkStatus();
    KAM_RETURN_IF_ERROR(FromRocks(s, absl::StrCat("reading the checkpoint in ", directory_)));
    if (value.size() != 8 + eventstore::kHashBytes) {
      return absl::DataLossError(absl::StrCat("malformed checkpoint in ", directory_));
    }
    checkpoint_.position = GetU64(value);
    checkpoint_.digest = value.substr(8);
    return absl::OkStatus();
  }

  absl::Status Apply(absl::Span<const eventstore::RecordedEvent> events) override {
    if (events.empty()) return absl::OkStatus();
    Checkpoint next = checkpoint();
    rocksdb::WriteBatch batch;
    for (const eventstore::RecordedEvent& e : events) {
      if (e.position != next.position + 1) {
        return absl::FailedPreconditionError(absl::StrCat("projections are at position ",
                                                          next.position,
                                                          " but were given position ", e.position));
      }
      next.position = e.position;
      StageEvent(e, &batch, &next.digest);
    }
    std::string checkpoint_value;
    PutU64(&checkpoint_value, next.position);
    checkpoint_value += next.digest;
    batch.Put(kCheckpointKey, checkpoint_value);
    KAM_RETURN_IF_ERROR(FromRocks(db_->Write(write_options_, &batch),
                                  absl::StrCat("writing projections in ", directory_)));
    absl::MutexLock lock(&mu_);
    checkpoint_ = std::move(next);
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> FileEvents(
      absl::Span<const eventstore::RecordedEvent> events) override {
    std::string digest = eventstore::GenesisHash();
    rocksdb::WriteBatch batch;
    for (const eventstore::RecordedEvent& e : events) StageEvent(e, &batch, &digest);
    KAM_RETURN_IF_ERROR(FromRocks(db_->Write(write_options_, &batch),
                                  absl::StrCat("writing projections in ", directory_)));
    return digest;
  }

  absl::Status Seal(const Checkpoint& checkpoint) override {
    std::string value;
    PutU64(&value, checkpoint.position);
    value += checkpoint.digest;
    KAM_RETURN_IF_ERROR(
        FromRocks(db_->Put(write_options_, kCheckpointKey, value), "writing the checkpoint"));
    KAM_RETURN_IF_ERROR(FromRocks(db_->Flush(rocksdb::FlushOptions()), "flushing projections"));
    KAM_RETURN_IF_ERROR(FromRocks(db_->SyncWAL(), "syncing projections"));
    absl::MutexLock lock(&mu_);
    checkpoint_ = checkpoint;
    return absl::OkStatus();
  }

  Checkpoint checkpoint() const override {
    absl::MutexLock lock(&mu_);
    return checkpoint_;
  }

  absl::StatusOr<std::vector<StoredEvent>> LoadStream(absl::string_view stream) const override {
    const std::string begin = EventKey(stream, 0);
    std::string end = begin.substr(0, begin.size() - 9);
    end.push_back('\x01');
    rocksdb::Slice upper(end);
    rocksdb::ReadOptions options;
    options.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
    std::vector<StoredEvent> events;
    for (it->Seek(begin); it->Valid(); it->Next()) {
      KAM_ASSIGN_OR_RETURN(
          std::optional<StoredEvent> e,
          ParseEventValue(absl::string_view(it->key().data(), it->key().size()),
                          absl::string_view(it->value().data(), it->value().size())));
      if (e.has_value()) events.push_back(std::move(*e));
    }
    KAM_RETURN_IF_ERROR(FromRocks(it->status(), absl::StrCat("reading stream ", stream)));
    return events;
  }

  absl::StatusOr<std::vector<std::pair<std::string, std::vector<StoredEvent>>>> LoadRevenueEvents()
      const override {
    std::vector<std::pair<std::string, std::vector<StoredEvent>>> accounts;
    const std::string prefix = absl::StrCat(std::string(1, kRevenueTag), kAccountStreamPrefix);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      absl::string_view key(it->key().data(), it->key().size());
      absl::string_view account = key.substr(prefix.size(), key.size() - 9 - prefix.size());
      if (accounts.empty() || accounts.back().first != account) {
        accounts.emplace_back(std::string(account), std::vector<StoredEvent>());
      }
      KAM_ASSIGN_OR_RETURN(
          std::optional<StoredEvent> e,
          ParseEventValue(key, absl::string_view(it->value().data(), it->value().size())));
      if (e.has_value()) accounts.back().second.push_back(std::move(*e));
    }
    KAM_RETURN_IF_ERROR(FromRocks(it->status(), "reading revenue events"));
    return accounts;
  }

  absl::StatusOr<std::vector<std::string>> AccountIds() const override {
    std::vector<std::string> ids;
    const std::string prefix = absl::StrCat(std::string(1, kEventTag), kAccountStreamPrefix);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);) {
      absl::string_view key(it->key().data(), it->key().size());
      absl::string_view stream = key.substr(1, key.size() - 10);
      ids.emplace_back(stream.substr(sizeof(kAccountStreamPrefix) - 1));
      // Jump past this stream's entries.
      it->Seek(absl::StrCat(key.substr(0, key.size() - 9), std::string(1, '\x01')));
    }
    KAM_RETURN_IF_ERROR(FromRocks(it->status(), "listing accounts"));
    return ids;
  }

  absl::StatusOr<std::string> ScanDigest() const override {
    std::string digest = eventstore::GenesisHash();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    // Every state entry sorts after the checkpoint key "c".
    for (it->Seek(std::string(1, kEventTag)); it->Valid(); it->Next()) {
      AddDigest(&digest, EntryHash(absl::string_view(it->key().data(), it->key().size()),
                                   absl::string_view(it->value().data(), it->value().size())));
    }
    KAM_RETURN_IF_ERROR(FromRocks(it->status(), "scanning projections"));
    return digest;
  }

 private:
  const std::string directory_;
  // db_ uses env_ until it is destroyed: keep env_ above db_.
  const eventstore::StorageEnv env_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions write_options_;
  mutable absl::Mutex mu_;
  Checkpoint checkpoint_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::string AccountStream(absl::string_view account_id) {
  return absl::StrCat(kAccountStreamPrefix, account_id);
}

bool IsProjectedStream(absl::string_view stream) {
  return stream == kCatalogStream || (absl::StartsWith(stream, kAccountStreamPrefix) &&
                                      stream.size() > sizeof(kAccountStreamPrefix) - 1);
}

// Every correction and retraction counts: which event it amends is only
// known against the account's orders, and they are few.
bool IsRevenueEvent(const kam::v1::AccountEvent& event) {
  return event.has_order_placed() || event.has_order_cancelled() || event.has_event_retracted() ||
         event.has_event_corrected();
}

bool IsRevenueEvent(const eventstore::RecordedEvent& e) {
  // Decided by type, without decoding; an event whose data does not match
  // its type is ignored by every reader anyway.
  return e.type == "kam.v1.OrderPlaced" || e.type == "kam.v1.OrderCancelled" ||
         e.type == "kam.v1.EventRetracted" || e.type == "kam.v1.EventCorrected";
}

void AddDigest(std::string* sum, absl::string_view addend) {
  unsigned carry = 0;
  for (size_t i = eventstore::kHashBytes; i-- > 0;) {
    unsigned total = static_cast<uint8_t>((*sum)[i]) + static_cast<uint8_t>(addend[i]) + carry;
    (*sum)[i] = static_cast<char>(total & 0xff);
    carry = total >> 8;
  }
}

absl::StatusOr<std::unique_ptr<ProjectionStore>> ProjectionStore::Open(const std::string& directory,
                                                                       bool bulk_load,
                                                                       eventstore::StorageEnv env) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", directory, ": ", ec.message()));
  }
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.max_background_jobs = 2;
  if (env != nullptr) options.env = env.get();
  if (bulk_load) {
    // A bulk load only appends: an unsorted vector memtable takes inserts in
    // O(1) and is sorted once at flush, where a skiplist compares keys on
    // every insert.
    options.memtable_factory.reset(new rocksdb::VectorRepFactory());
    options.allow_concurrent_memtable_write = false;
    options.write_buffer_size = 64 << 20;
    options.max_write_buffer_number = 4;
  } else {
    options.memtable_insert_with_hint_prefix_extractor = std::make_shared<StreamOfEventKey>();
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, directory, &raw);
  if (!s.ok()) {
    return absl::Status(FromRocks(s, "").code(),
                        absl::StrCat("cannot open projections in ", directory, ": ", s.ToString()));
  }
  auto store = std::make_unique<RocksDbProjectionStore>(
      directory, std::move(env), std::unique_ptr<rocksdb::DB>(raw), bulk_load);
  KAM_RETURN_IF_ERROR(store->LoadCheckpoint());
  return std::unique_ptr<ProjectionStore>(std::move(store));
}

}  // namespace kam::projections
