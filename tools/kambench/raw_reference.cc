#include "tools/kambench/raw_reference.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "eventstore/canonical_encoding.h"
#include "eventstore/internal/byte_codec.h"
#include "eventstore/internal/layout.h"
#include "eventstore/internal/rocksdb_status.h"
#include "eventstore/rocksdb_log.h"
#include "eventstore/status_macros.h"
#include "rocksdb/write_batch.h"

namespace kam::kambench {

absl::StatusOr<std::unique_ptr<RawLogWriter>> RawLogWriter::Open(const std::string& directory,
                                                                 size_t stream_count, bool sync) {
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
  return std::unique_ptr<RawLogWriter>(
      new RawLogWriter(std::unique_ptr<rocksdb::DB>(db), std::move(families), stream_count, sync));
}

RawLogWriter::RawLogWriter(std::unique_ptr<rocksdb::DB> db,
                           std::vector<rocksdb::ColumnFamilyHandle*> families, size_t stream_count,
                           bool sync)
    : db_(std::move(db)), families_(std::move(families)), next_versions_(stream_count) {
  write_options_.sync = sync;
  // Measured rather than hard-coded so a change of the encoding follows here.
  log_value_fixed_bytes_ =
      2 * eventstore::kHashBytes + eventstore::CanonicalBytes(eventstore::RecordedEvent()).size();
  for (std::atomic<uint64_t>& version : next_versions_) version.store(0);
}

absl::Status RawLogWriter::Append(size_t stream_index, absl::string_view stream,
                                  absl::Span<const eventstore::EventData> events) {
  if (stream_index >= next_versions_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("raw: no stream ", stream_index, " of ", next_versions_.size()));
  }
  const uint64_t count = events.size();
  const uint64_t first_position = next_position_.fetch_add(count);
  const uint64_t first_version = next_versions_[stream_index].fetch_add(count);
  rocksdb::WriteBatch batch;
  for (uint64_t i = 0; i < count; ++i) {
    const eventstore::EventData& e = events[i];
    const std::string position_key = eventstore::internal::EncodeU64(first_position + i);
    // The size of the log's value; its bytes are not the log's.
    std::string value(log_value_fixed_bytes_, '\0');
    absl::StrAppend(&value, stream, e.event_id, e.type, e.data);
    batch.Put(log_family(), position_key, value);
    batch.Put(index_family(), eventstore::internal::StreamIndexKey(stream, first_version + i),
              position_key);
    batch.Put(ids_family(), e.event_id, position_key);
  }
  const absl::Time now = absl::Now();
  const eventstore::internal::StreamMeta meta{first_version + count - 1, first_position + count - 1,
                                              first_version + count, now, now};
  batch.Put(streams_family(), rocksdb::Slice(stream.data(), stream.size()),
            eventstore::internal::EncodeStreamMeta(meta));
  return eventstore::internal::FromRocksDb(db_->Write(write_options_, &batch), "raw write");
}

absl::Status RawLogWriter::Close() {
  if (db_ == nullptr) return absl::OkStatus();
  for (rocksdb::ColumnFamilyHandle* family : families_) {
    db_->DestroyColumnFamilyHandle(family).PermitUncheckedError();  // Only frees memory.
  }
  families_.clear();
  const rocksdb::Status closed = db_->Close();
  db_.reset();
  return eventstore::internal::FromRocksDb(closed, "closing the raw database");
}

}  // namespace kam::kambench
