// The one conversion between absl::Time and google.protobuf.Timestamp, for
// every layer above proto.

#ifndef KAM_PROJECTIONS_TIME_PROTO_H_
#define KAM_PROJECTIONS_TIME_PROTO_H_

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace kam::projections {

inline absl::Time TimeFromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// Seconds round down, so nanos are always 0..999,999,999 as protobuf wants.
inline google::protobuf::Timestamp TimeToProto(absl::Time t) {
  google::protobuf::Timestamp out;
  const int64_t seconds = absl::ToUnixSeconds(t);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  return out;
}

}  // namespace kam::projections

#endif  // KAM_PROJECTIONS_TIME_PROTO_H_
