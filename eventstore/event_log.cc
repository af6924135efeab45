#include "eventstore/event_log.h"

#include "absl/strings/str_cat.h"

namespace kam::eventstore {

std::string ExpectedVersion::ToString() const {
  switch (kind_) {
    case Kind::kAny:
      return "any";
    case Kind::kNoStream:
      return "no stream";
    case Kind::kStreamExists:
      return "stream exists";
    case Kind::kExact:
      return absl::StrCat(version_);
  }
  return "unknown";
}

}  // namespace kam::eventstore
