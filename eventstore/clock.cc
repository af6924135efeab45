#include "eventstore/clock.h"

#include "absl/time/clock.h"

namespace kam::eventstore {

namespace {
class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};
}  // namespace

const Clock& SystemClock() {
  static const RealClock* const kClock = new RealClock();
  return *kClock;
}

}  // namespace kam::eventstore
