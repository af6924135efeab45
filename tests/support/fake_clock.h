// A Clock that stands still until told otherwise, shared by every test
// binary. Thread-safe.

#ifndef KAM_TESTS_SUPPORT_FAKE_CLOCK_H_
#define KAM_TESTS_SUPPORT_FAKE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "eventstore/clock.h"

namespace kam::test_support {

class FakeClock final : public eventstore::Clock {
 public:
  explicit FakeClock(absl::Time now) : now_(now) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Set(absl::Time now) {
    absl::MutexLock lock(&mu_);
    now_ = now;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kam::test_support

#endif  // KAM_TESTS_SUPPORT_FAKE_CLOCK_H_
