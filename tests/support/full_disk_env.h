// A disk that fills up when a test says so, for tests of what kam does when a
// write meets a full disk. It is RocksDB's default file system with every
// writable file wrapped: while the disk is full, writes or fsyncs fail the way
// a real full disk fails them, and free space reads zero. Test binaries that
// use it link RocksDB themselves (RocksDB is private to kam_eventstore).
//
//   test_support::FullDisk disk(test_support::FullDisk::Fault::kWriteRefused);
//   options.env = disk.env();  // RocksDbLogOptions::env, EngineOptions::log_env
//   ... open the log, append ...
//   disk.Fill();  // Writes now fail with "No space left on device".
//   disk.Free();  // Room again, for files opened before and after.

#ifndef KAM_TESTS_SUPPORT_FULL_DISK_ENV_H_
#define KAM_TESTS_SUPPORT_FULL_DISK_ENV_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace kam::test_support {

class FullDisk {
 public:
  // How a full disk shows itself to a writer.
  enum class Fault {
    kWriteRefused,  // write(2) fails at once: nothing of the record lands.
    kTornWrite,     // A short write, then ENOSPC: half the record lands.
    kSyncFails,     // The write lands in the page cache; fsync fails.
  };

  // A disk with room, which fails as `fault` says once filled.
  explicit FullDisk(Fault fault);
  FullDisk(const FullDisk&) = delete;
  FullDisk& operator=(const FullDisk&) = delete;

  // The default Env on this disk. Whoever holds it keeps the disk alive, so
  // it may outlive this object (a RocksDB log holds it until closed).
  std::shared_ptr<rocksdb::Env> env() const { return env_; }

  // From Fill() until Free(), files written through env(), open ones too,
  // fail their writes or fsyncs as the constructor's `fault` says, with
  // RocksDB's NoSpace naming the file and "No space left on device"; free
  // space reads 0. Thread-safe.
  void Fill() { full_->store(true); }
  void Free() { full_->store(false); }

 private:
  const std::shared_ptr<std::atomic<bool>> full_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<rocksdb::Env> env_;
};

// Every way a disk fills, for tests run once per fault:
//   INSTANTIATE_TEST_SUITE_P(Faults, MyTest, ::testing::ValuesIn(kEveryFault),
//                            FaultTestName());
inline constexpr FullDisk::Fault kEveryFault[] = {
    FullDisk::Fault::kWriteRefused, FullDisk::Fault::kTornWrite, FullDisk::Fault::kSyncFails};

// "WriteRefused", "TornWrite" or "SyncFails": the parameterized test's name.
struct FaultTestName {
  std::string operator()(const ::testing::TestParamInfo<FullDisk::Fault>& info) const {
    switch (info.param) {
      case FullDisk::Fault::kWriteRefused:
        return "WriteRefused";
      case FullDisk::Fault::kTornWrite:
        return "TornWrite";
      case FullDisk::Fault::kSyncFails:
        return "SyncFails";
    }
    return "Unknown";
  }
};

namespace full_disk_internal {

using Fault = FullDisk::Fault;
using Switch = std::shared_ptr<const std::atomic<bool>>;

// As RocksDB's POSIX file system reports ENOSPC (env/io_posix.cc), which
// RocksDB's error handling tells apart from other I/O errors.
inline rocksdb::IOStatus NoSpace(const std::string& context, const std::string& file) {
  rocksdb::IOStatus s =
      rocksdb::IOStatus::NoSpace(absl::StrCat(context, ": ", file), "No space left on device");
  s.SetRetryable(true);
  return s;
}

inline rocksdb::Slice FirstHalf(const rocksdb::Slice& data) {
  return rocksdb::Slice(data.data(), data.size() / 2);
}

// A writable file on a disk that may fill up.
class FullDiskFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FullDiskFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::string name, Fault fault,
               Switch full)
      : FSWritableFileOwnerWrapper(std::move(file)),
        name_(std::move(name)),
        fault_(fault),
        full_(std::move(full)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (!WriteFails()) return target()->Append(data, options, dbg);
    if (fault_ == Fault::kTornWrite) {
      rocksdb::IOStatus torn = target()->Append(FirstHalf(data), options, dbg);
      if (!torn.ok()) return torn;
    }
    return NoSpace("While appending to file", name_);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& /*verification_info*/,
                           rocksdb::IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    if (!WriteFails()) return target()->PositionedAppend(data, offset, options, dbg);
    if (fault_ == Fault::kTornWrite) {
      rocksdb::IOStatus torn = target()->PositionedAppend(FirstHalf(data), offset, options, dbg);
      if (!torn.ok()) return torn;
    }
    return NoSpace(absl::StrCat("While pwrite to file at offset ", offset), name_);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& /*verification_info*/,
                                     rocksdb::IODebugContext* dbg) override {
    return PositionedAppend(data, offset, options, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (SyncFails()) return NoSpace("While fdatasync", name_);
    return target()->Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (SyncFails()) return NoSpace("While fsync", name_);
    return target()->Fsync(options, dbg);
  }

 private:
  bool WriteFails() const { return fault_ != Fault::kSyncFails && full_->load(); }
  bool SyncFails() const { return fault_ == Fault::kSyncFails && full_->load(); }

  const std::string name_;
  const Fault fault_;
  const Switch full_;
};

// The default file system, whose every writable file fails as `fault` says
// while the disk is full.
class FullDiskFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  FullDiskFileSystem(Fault fault, Switch full)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), fault_(fault), full_(std::move(full)) {}

  const char* Name() const override { return "FullDiskFileSystem"; }

  // RocksDB's own recovery starts once it sees free space: a full disk has
  // none, so it waits as it would for a real one.
  rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& options,
                                 uint64_t* free_space, rocksdb::IODebugContext* dbg) override {
    if (!full_->load()) return target()->GetFreeSpace(path, options, free_space, dbg);
    *free_space = 0;
    return rocksdb::IOStatus::OK();
  }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* dbg) override {
    return Wrap(name, target()->NewWritableFile(name, options, file, dbg), file);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* file,
                                       rocksdb::IODebugContext* dbg) override {
    return Wrap(name, target()->ReopenWritableFile(name, options, file, dbg), file);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* file,
                                      rocksdb::IODebugContext* dbg) override {
    return Wrap(name, target()->ReuseWritableFile(name, old_name, options, file, dbg), file);
  }

 private:
  rocksdb::IOStatus Wrap(const std::string& name, rocksdb::IOStatus opened,
                         std::unique_ptr<rocksdb::FSWritableFile>* file) const {
    if (opened.ok()) *file = std::make_unique<FullDiskFile>(std::move(*file), name, fault_, full_);
    return opened;
  }

  const Fault fault_;
  const Switch full_;
};

}  // namespace full_disk_internal

inline FullDisk::FullDisk(Fault fault)
    : env_(rocksdb::NewCompositeEnv(
          std::make_shared<full_disk_internal::FullDiskFileSystem>(fault, full_))) {}

}  // namespace kam::test_support

#endif  // KAM_TESTS_SUPPORT_FULL_DISK_ENV_H_
