// Time comes in through Clock, so tests can control recorded_at.

#ifndef KAM_EVENTSTORE_CLOCK_H_
#define KAM_EVENTSTORE_CLOCK_H_

#include "absl/time/time.h"

namespace kam::eventstore {

class Clock {
 public:
  virtual ~Clock() = default;
  // Thread-safe.
  virtual absl::Time Now() const = 0;
};

// The system's real-time clock. Never destroyed.
const Clock& SystemClock();

}  // namespace kam::eventstore

#endif  // KAM_EVENTSTORE_CLOCK_H_
