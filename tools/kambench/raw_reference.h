// The raw RocksDB limit that `kambench log` and `kambench server` hold kam's
// appends against: per append, the keys the log writes (per event its log
// entry, stream index entry and event id entry; the stream's metadata once)
// in one WriteBatch and one DB::Write, with the log's own RocksDB options and
// column families. No reads, no hashing, no commit queue.
//
//   KAM_ASSIGN_OR_RETURN(std::unique_ptr<RawLogWriter> raw,
//                        RawLogWriter::Open(directory, /*stream_count=*/1000, /*sync=*/true));
//   KAM_RETURN_IF_ERROR(raw->Append(7, "bench-7", events));  // From any thread.
//   KAM_RETURN_IF_ERROR(raw->Close());

#ifndef KAM_TOOLS_KAMBENCH_RAW_REFERENCE_H_
#define KAM_TOOLS_KAMBENCH_RAW_REFERENCE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "eventstore/event_log.h"
#include "rocksdb/db.h"

namespace kam::kambench {

class RawLogWriter {
 public:
  // Creates `directory` if missing. Appends name their stream by an index
  // below `stream_count`, which keeps its versions; `sync` is the
  // WriteOptions.sync of every write.
  static absl::StatusOr<std::unique_ptr<RawLogWriter>> Open(const std::string& directory,
                                                            size_t stream_count, bool sync);

  RawLogWriter(const RawLogWriter&) = delete;
  RawLogWriter& operator=(const RawLogWriter&) = delete;
  ~RawLogWriter() { Close().IgnoreError(); }  // Callers that care call Close.

  // Thread-safe. `stream` is the name of stream `stream_index`, the same on
  // every call.
  absl::Status Append(size_t stream_index, absl::string_view stream,
                      absl::Span<const eventstore::EventData> events);

  // Events given positions so far, by every Append (failed writes included).
  uint64_t events() const { return next_position_.load() - 1; }

  absl::Status Close();

 private:
  RawLogWriter(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> families,
               size_t stream_count, bool sync);

  // The order of internal::MakeFamilyDescriptors.
  rocksdb::ColumnFamilyHandle* log_family() const { return families_[1]; }
  rocksdb::ColumnFamilyHandle* streams_family() const { return families_[2]; }
  rocksdb::ColumnFamilyHandle* index_family() const { return families_[3]; }
  rocksdb::ColumnFamilyHandle* ids_family() const { return families_[4]; }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  rocksdb::WriteOptions write_options_;
  // Of the log's value beside the stream, id, type and data: the two hashes
  // and the rest of the canonical bytes.
  size_t log_value_fixed_bytes_ = 0;
  std::atomic<uint64_t> next_position_{1};
  std::vector<std::atomic<uint64_t>> next_versions_;  // By stream index.
};

}  // namespace kam::kambench

#endif  // KAM_TOOLS_KAMBENCH_RAW_REFERENCE_H_
