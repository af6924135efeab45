// The file system a RocksDB-backed store lives on. Outside eventstore/ and
// the projection store it is an opaque handle, passed down from whoever opens
// the stores (tests put them on a disk that fails on purpose).

#ifndef KAM_EVENTSTORE_STORAGE_ENV_H_
#define KAM_EVENTSTORE_STORAGE_ENV_H_

#include <memory>

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace kam::eventstore {

// nullptr means the machine's own file system.
using StorageEnv = std::shared_ptr<rocksdb::Env>;

}  // namespace kam::eventstore

#endif  // KAM_EVENTSTORE_STORAGE_ENV_H_
