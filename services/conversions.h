// Conversions between the log's C++ types and the kam.v1 messages.

#ifndef KAM_SERVICES_CONVERSIONS_H_
#define KAM_SERVICES_CONVERSIONS_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "eventstore/event_log.h"
#include "google/protobuf/timestamp.pb.h"
#include "kam/v1/event_store.pb.h"

namespace kam::services {

absl::Time FromProto(const google::protobuf::Timestamp& t);
google::protobuf::Timestamp ToProto(absl::Time t);

// InvalidArgument naming `field` when the timestamp is out of the range
// protobuf allows (nanos outside 0..999,999,999 or seconds beyond year 9999).
absl::Status ValidateTimestamp(const google::protobuf::Timestamp& t, absl::string_view field);

// Sets every field of *out (a reused message keeps nothing of its past).
void ToProto(const eventstore::RecordedEvent& e, kam::v1::RecordedEvent* out);
eventstore::EventData FromProto(const kam::v1::EventData& e);
eventstore::ExpectedVersion FromProto(const kam::v1::ExpectedVersion& e);
eventstore::LogFilter FromProto(const kam::v1::EventFilter& f);

}  // namespace kam::services

#endif  // KAM_SERVICES_CONVERSIONS_H_
