// A deterministic generator of a realistic key-account portfolio: a supplier
// of industrial weighing equipment (truck scales, crane scales, load cells)
// and its Chinese industrial customers, recorded as kam.v1.AccountEvent
// events. It feeds tests, benchmarks and demos with data that exercises every
// rule of DOMAIN.md: a Pareto-skewed portfolio (ABC classes A, B and C),
// prospects that never order, lost and reactivated accounts, strategic
// partnerships with shares >= 80 %, single-threaded accounts, complaints,
// late-recorded events, corrections and retractions. Every event it emits is
// valid by DOMAIN.md and API.md when recorded in the order it is emitted.
//
// The same options always give byte-identical events: the only randomness is
// a std::mt19937_64 seeded from `seed`, and nothing reads the clock.
//
//   kam::tools::GeneratorOptions options;
//   options.accounts = 200;
//   options.events = 20000;
//   KAM_ASSIGN_OR_RETURN(int64_t n, kam::tools::GenerateIntoLog(options, log.get()));

#ifndef KAM_TOOLS_GENERATOR_PORTFOLIO_GENERATOR_H_
#define KAM_TOOLS_GENERATOR_PORTFOLIO_GENERATOR_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "eventstore/event_log.h"

namespace kam::tools {

struct GeneratorOptions {
  uint64_t seed = 42;
  // Number of account streams; each starts with its AccountOpened.
  int accounts = 1000;
  // Exact number of events emitted, the catalog stream's included. At least
  // `accounts`.
  int64_t events = 100000;
  // Business time span: every occurred_at lies in [start, end]. Not before
  // 2000-01-01, start < end.
  absl::Time start = absl::FromUnixSeconds(1672531200);  // 2023-01-01T00:00:00Z
  absl::Time end = absl::FromUnixSeconds(1782777600);    // 2026-06-30T00:00:00Z
  // ISO-4217 code of every amount: the deployment's reporting currency.
  std::string currency = "CNY";
};

// One event and the stream it is recorded in ("account-<id>" or "catalog").
struct GeneratedEvent {
  std::string stream;
  // type: "kam.v1.<MessageName>" of the oneof case; data: the serialized
  // kam.v1.AccountEvent; occurred_at: the AccountEvent's occurred_at;
  // event_id: "gen-<seed>-<n>", n counting from 1 in emission order (so two
  // portfolios with the same seed but other options clash in one log).
  eventstore::EventData data;
};

// Calls `sink` once per event, `options.events` times, in a valid recording
// order: roughly by recording time over the whole portfolio, each account's
// AccountOpened first in its stream, per stream mostly in occurred_at order
// with some late-recorded events (occurred before events recorded ahead of
// them), corrections and retractions naming earlier events of their stream.
// The GeneratedEvent passed to `sink` is reused: copy what must outlive the
// call. Stops at, and returns, the first error of `sink`. InvalidArgument
// naming the field for bad options.
absl::Status GeneratePortfolio(const GeneratorOptions& options,
                               const std::function<absl::Status(const GeneratedEvent&)>& sink);

// Generates the portfolio and appends it to `log` (not owned), batching up to
// `events_per_append` consecutive events of one stream per Append with
// expected version Any; each stream's events keep their emission order.
// Returns the number of events appended (== options.events). Errors: those of
// GeneratePortfolio and of EventLog::Append; InvalidArgument for a null log or
// events_per_append < 1.
absl::StatusOr<int64_t> GenerateIntoLog(const GeneratorOptions& options, eventstore::EventLog* log,
                                        int events_per_append = 100);

}  // namespace kam::tools

#endif  // KAM_TOOLS_GENERATOR_PORTFOLIO_GENERATOR_H_
