// Helpers shared by the event-log tests: a temporary directory per test, a
// controllable Clock, event builders, and a fixture that opens a fresh
// RocksDB log in its own directory.
//
//   class ReadTest : public LogTest {};
//   TEST_F(ReadTest, Something) {
//     KAM_ASSERT_OK_AND_ASSIGN(AppendResult r,
//                              log().Append("s", ExpectedVersion::Any(),
//                                           {MakeEvent("id-1")}));
//   }

#ifndef KAM_TESTS_EVENTSTORE_TEST_SUPPORT_H_
#define KAM_TESTS_EVENTSTORE_TEST_SUPPORT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "eventstore/clock.h"
#include "eventstore/event_log.h"
#include "eventstore/rocksdb_log.h"
#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace kam::eventstore::testing {

inline const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

#define KAM_TEST_CONCAT_INNER_(a, b) a##b
#define KAM_TEST_CONCAT_(a, b) KAM_TEST_CONCAT_INNER_(a, b)

#define KAM_ASSERT_OK(expr)                                                             \
  do {                                                                                  \
    const ::absl::Status kam_test_status_ = ::kam::eventstore::testing::StatusOf(expr); \
    ASSERT_TRUE(kam_test_status_.ok()) << kam_test_status_.ToString();                  \
  } while (0)

#define KAM_EXPECT_OK(expr)                                                             \
  do {                                                                                  \
    const ::absl::Status kam_test_status_ = ::kam::eventstore::testing::StatusOf(expr); \
    EXPECT_TRUE(kam_test_status_.ok()) << kam_test_status_.ToString();                  \
  } while (0)

// Only in functions returning void (it may ASSERT).
#define KAM_ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  KAM_ASSERT_OK_AND_ASSIGN_IMPL_(KAM_TEST_CONCAT_(kam_test_statusor_, __LINE__), lhs, rexpr)

#define KAM_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr)  \
  auto statusor = (rexpr);                                    \
  ASSERT_TRUE(statusor.ok()) << statusor.status().ToString(); \
  lhs = std::move(statusor).value()

using ::kam::test_support::FakeClock;
using ::kam::test_support::TempDir;

// Where every FakeClock of the fixtures starts: 2023-11-14T22:13:20Z.
inline absl::Time FixtureStartTime() { return absl::FromUnixSeconds(1700000000); }

EventData MakeEvent(const std::string& event_id, const std::string& type = "kam.v1.TestEvent",
                    const std::string& data = "payload");

// Every event of the log, read forward in pages; records a failure and
// returns what it has on error or when the pages do not line up.
std::vector<RecordedEvent> ReadWholeLog(const EventLog& log, size_t page = 1000);

// Every event of `stream` from version 0; empty and no failure when the
// stream has no events.
std::vector<RecordedEvent> ReadWholeStream(const EventLog& log, const std::string& stream);

// Records a failure per field that differs.
void ExpectSameEvent(const RecordedEvent& a, const RecordedEvent& b);
void ExpectSameResult(const AppendResult& a, const AppendResult& b);
void ExpectSameHead(const LogHead& a, const LogHead& b);

// Base fixture: a temp dir, a FakeClock and a log open in `<tmp>/log`.
class LogTest : public ::testing::Test {
 protected:
  LogTest() : clock_(FixtureStartTime()) {}

  void SetUp() override { ASSERT_NO_FATAL_FAILURE(Open()); }

  virtual RocksDbLogOptions Options() const {
    RocksDbLogOptions options;
    options.clock = &clock_;
    return options;
  }

  void Open() {
    auto log = OpenRocksDbLog(log_dir(), Options());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }
  void Close() { log_.reset(); }
  void Reopen() {
    Close();
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  EventLog& log() { return *log_; }
  std::string log_dir() const { return dir_.Join("log"); }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<EventLog> log_;
};

}  // namespace kam::eventstore::testing

#endif  // KAM_TESTS_EVENTSTORE_TEST_SUPPORT_H_
