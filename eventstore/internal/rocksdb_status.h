// The one place where rocksdb::Status becomes absl::Status.

#ifndef KAM_EVENTSTORE_INTERNAL_ROCKSDB_STATUS_H_
#define KAM_EVENTSTORE_INTERNAL_ROCKSDB_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/status.h"

namespace kam::eventstore::internal {

// `context` says what was being done, e.g. "reading position 42".
// Corruption becomes DataLoss; no space becomes ResourceExhausted.
absl::Status FromRocksDb(const rocksdb::Status& status, absl::string_view context);

}  // namespace kam::eventstore::internal

#endif  // KAM_EVENTSTORE_INTERNAL_ROCKSDB_STATUS_H_
