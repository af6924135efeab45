// KAM_RETURN_IF_ERROR / KAM_ASSIGN_OR_RETURN: the Debian Abseil predates
// absl's own status macros.
//
//   KAM_RETURN_IF_ERROR(log.Verify(1, 0).status());
//   KAM_ASSIGN_OR_RETURN(AppendResult r, log.Append(stream, expected, events));

#ifndef KAM_EVENTSTORE_STATUS_MACROS_H_
#define KAM_EVENTSTORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define KAM_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::absl::Status kam_status_ = (expr);       \
    if (!kam_status_.ok()) return kam_status_; \
  } while (0)

#define KAM_STATUS_CONCAT_INNER_(a, b) a##b
#define KAM_STATUS_CONCAT_(a, b) KAM_STATUS_CONCAT_INNER_(a, b)

#define KAM_ASSIGN_OR_RETURN(lhs, rexpr) \
  KAM_ASSIGN_OR_RETURN_IMPL_(KAM_STATUS_CONCAT_(kam_statusor_, __LINE__), lhs, rexpr)

#define KAM_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  if (!statusor.ok()) return statusor.status();          \
  lhs = std::move(statusor).value()

#endif  // KAM_EVENTSTORE_STATUS_MACROS_H_
