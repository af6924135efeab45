#include "eventstore/internal/rocksdb_status.h"

#include "absl/strings/str_cat.h"

namespace kam::eventstore::internal {

absl::Status FromRocksDb(const rocksdb::Status& status, absl::string_view context) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(context, ": ", status.ToString());
  if (status.IsCorruption()) return absl::DataLossError(message);
  if (status.IsNoSpace()) return absl::ResourceExhaustedError(message);
  if (status.IsNotFound()) return absl::NotFoundError(message);
  if (status.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  if (status.IsBusy() || status.IsTryAgain()) return absl::UnavailableError(message);
  if (status.IsIOError()) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

}  // namespace kam::eventstore::internal
