#include "eventstore/internal/layout.h"

#include <cstring>
#include <memory>

#include "eventstore/canonical_encoding.h"
#include "eventstore/internal/byte_codec.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"

namespace kam::eventstore::internal {

std::string EncodeStreamMeta(const StreamMeta& meta) {
  std::string out;
  out.reserve(40);
  PutU64(&out, meta.last_version);
  PutU64(&out, meta.last_position);
  PutU64(&out, meta.event_count);
  PutU64(&out, static_cast<uint64_t>(absl::ToUnixNanos(meta.first_recorded_at)));
  PutU64(&out, static_cast<uint64_t>(absl::ToUnixNanos(meta.last_recorded_at)));
  return out;
}

absl::Status DecodeStreamMeta(absl::string_view bytes, StreamMeta* meta) {
  ByteReader reader(bytes);
  uint64_t first_ns = 0;
  uint64_t last_ns = 0;
  if (!reader.GetU64(&meta->last_version) || !reader.GetU64(&meta->last_position) ||
      !reader.GetU64(&meta->event_count) || !reader.GetU64(&first_ns) || !reader.GetU64(&last_ns) ||
      !reader.empty()) {
    return absl::DataLossError("malformed stream record");
  }
  meta->first_recorded_at = absl::FromUnixNanos(static_cast<int64_t>(first_ns));
  meta->last_recorded_at = absl::FromUnixNanos(static_cast<int64_t>(last_ns));
  return absl::OkStatus();
}

std::string StreamIndexKey(absl::string_view stream, uint64_t version) {
  std::string key;
  key.reserve(stream.size() + 9);
  key.append(stream.data(), stream.size());
  key.push_back('\0');
  PutU64(&key, version);
  return key;
}

std::string StreamIndexEnd(absl::string_view stream) {
  std::string key(stream);
  key.push_back('\x01');
  return key;
}

std::string EncodeLogValue(absl::string_view prev_hash, absl::string_view hash,
                           absl::string_view canonical) {
  std::string value;
  value.reserve(2 * kHashBytes + canonical.size());
  value.append(prev_hash.data(), prev_hash.size());
  value.append(hash.data(), hash.size());
  value.append(canonical.data(), canonical.size());
  return value;
}

absl::Status SplitLogValue(absl::string_view value, absl::string_view* prev_hash,
                           absl::string_view* hash, absl::string_view* canonical) {
  if (value.size() < 2 * kHashBytes) {
    return absl::DataLossError("log entry shorter than its two hashes");
  }
  *prev_hash = value.substr(0, kHashBytes);
  *hash = value.substr(kHashBytes, kHashBytes);
  *canonical = value.substr(2 * kHashBytes);
  return absl::OkStatus();
}

absl::Status DecodeLogValue(absl::string_view value, RecordedEvent* e) {
  absl::string_view prev_hash, hash, canonical;
  if (absl::Status s = SplitLogValue(value, &prev_hash, &hash, &canonical); !s.ok()) {
    return s;
  }
  e->prev_hash.assign(prev_hash.data(), prev_hash.size());
  e->hash.assign(hash.data(), hash.size());
  return ParseCanonicalBytes(canonical, e);
}

rocksdb::DBOptions MakeDbOptions(bool create_if_missing) {
  rocksdb::DBOptions options;
  options.create_if_missing = create_if_missing;
  options.create_missing_column_families = true;
  // A torn last record can only be an unacknowledged write; any damage
  // before it stops the open instead of silently dropping what follows.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.paranoid_checks = true;
  options.track_and_verify_wals_in_manifest = true;
  options.max_background_jobs = 2;
  options.bytes_per_sync = 1 << 20;
  options.keep_log_file_num = 5;
  return options;
}

namespace {

// The stream of a stream-index key: its bytes up to the '\0' (stream names
// hold no control characters). A stream's versions arrive in order, so the
// memtable keeps one insert position per stream and starts there.
class StreamOfIndexKey final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "kam.StreamOfIndexKey"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* end = std::memchr(key.data(), '\0', key.size());
    return rocksdb::Slice(key.data(), static_cast<const char*>(end) - key.data() + 1);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return std::memchr(key.data(), '\0', key.size()) != nullptr;
  }
};

}  // namespace

std::vector<rocksdb::ColumnFamilyDescriptor> MakeFamilyDescriptors(size_t block_cache_bytes) {
  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(block_cache_bytes);
  auto family = [&](const char* name, bool point_lookups) {
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.checksum = rocksdb::kXXH3;
    table.format_version = 5;
    if (point_lookups) {
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    }
    rocksdb::ColumnFamilyOptions options;
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    options.level_compaction_dynamic_level_bytes = true;
    if (point_lookups) {
      // Most event-id lookups are for new ids: a memtable bloom filter
      // answers them without a search.
      options.memtable_prefix_bloom_size_ratio = 0.05;
      options.memtable_whole_key_filtering = true;
    }
    return rocksdb::ColumnFamilyDescriptor(name, options);
  };
  rocksdb::ColumnFamilyDescriptor index = family(kStreamIndexFamily, false);
  index.options.memtable_insert_with_hint_prefix_extractor = std::make_shared<StreamOfIndexKey>();
  return {family(rocksdb::kDefaultColumnFamilyName.c_str(), false), family(kLogFamily, false),
          family(kStreamsFamily, true), index, family(kEventIdsFamily, true)};
}

}  // namespace kam::eventstore::internal
