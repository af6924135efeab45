#include "services/conversions.h"

#include "absl/strings/str_cat.h"
#include "projections/time_proto.h"

namespace kam::services {

absl::Time FromProto(const google::protobuf::Timestamp& t) { return projections::TimeFromProto(t); }

google::protobuf::Timestamp ToProto(absl::Time t) { return projections::TimeToProto(t); }

absl::Status ValidateTimestamp(const google::protobuf::Timestamp& t, absl::string_view field) {
  constexpr int64_t kMinSeconds = -62135596800;  // 0001-01-01.
  constexpr int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59.
  if (t.nanos() < 0 || t.nanos() > 999999999 || t.seconds() < kMinSeconds ||
      t.seconds() > kMaxSeconds) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a valid timestamp"));
  }
  return absl::OkStatus();
}

void ToProto(const eventstore::RecordedEvent& e, kam::v1::RecordedEvent* out) {
  out->set_event_id(e.event_id);
  out->set_stream(e.stream);
  out->set_version(e.version);
  out->set_position(e.position);
  out->set_type(e.type);
  out->set_data(e.data);
  out->mutable_metadata()->clear();
  out->mutable_metadata()->insert(e.metadata.begin(), e.metadata.end());
  *out->mutable_occurred_at() = ToProto(e.occurred_at);
  *out->mutable_recorded_at() = ToProto(e.recorded_at);
  out->set_prev_hash(e.prev_hash);
  out->set_hash(e.hash);
}

eventstore::EventData FromProto(const kam::v1::EventData& e) {
  eventstore::EventData out;
  out.event_id = e.event_id();
  out.type = e.type();
  out.data = e.data();
  out.metadata.insert(e.metadata().begin(), e.metadata().end());
  out.occurred_at = FromProto(e.occurred_at());
  return out;
}

eventstore::ExpectedVersion FromProto(const kam::v1::ExpectedVersion& e) {
  if (e.condition_case() == kam::v1::ExpectedVersion::kExact) {
    return eventstore::ExpectedVersion::Exact(e.exact());
  }
  switch (e.kind()) {
    case kam::v1::ExpectedVersion::KIND_NO_STREAM:
      return eventstore::ExpectedVersion::NoStream();
    case kam::v1::ExpectedVersion::KIND_STREAM_EXISTS:
      return eventstore::ExpectedVersion::StreamExists();
    default:
      return eventstore::ExpectedVersion::Any();
  }
}

eventstore::LogFilter FromProto(const kam::v1::EventFilter& f) {
  eventstore::LogFilter out;
  out.stream_prefix = f.stream_prefix();
  out.types.assign(f.types().begin(), f.types().end());
  return out;
}

}  // namespace kam::services
