#include "tools/kambench/rebuild_bench.h"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "eventstore/internal/layout.h"
#include "eventstore/internal/rocksdb_status.h"
#include "eventstore/rocksdb_log.h"
#include "eventstore/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "projections/account_views.h"
#include "projections/projector.h"
#include "projections/rebuild.h"
#include "rocksdb/db.h"
#include "tools/generator/portfolio_generator.h"
#include "tools/kambench/report.h"

namespace kam::kambench {

namespace {

using Clock = BenchClock;

absl::StatusOr<std::unique_ptr<eventstore::EventLog>> GenerateLog(const std::string& directory,
                                                                  int accounts, int64_t events,
                                                                  uint64_t seed) {
  eventstore::RocksDbLogOptions options;
  // Loading the input is not what is measured; it can be redone.
  options.unsafe_skip_fsync_on_append = true;
  KAM_ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventLog> log,
                       eventstore::OpenRocksDbLog(directory, options));
  tools::GeneratorOptions generator;
  generator.seed = seed;
  generator.accounts = accounts;
  generator.events = events;
  KAM_RETURN_IF_ERROR(tools::GenerateIntoLog(generator, log.get(), 100).status());
  return log;
}

// Reads every entry of the log's column family with a plain RocksDB
// iterator: the ceiling for anything that must read the whole log.
absl::StatusOr<double> RawScanEventsPerSecond(const std::string& directory, uint64_t* scanned) {
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(
      eventstore::internal::MakeDbOptions(false), directory,
      eventstore::internal::MakeFamilyDescriptors(64 << 20), &families, &raw);
  KAM_RETURN_IF_ERROR(eventstore::internal::FromRocksDb(s, "opening the log read-only"));
  std::unique_ptr<rocksdb::DB> db(raw);
  const auto start = Clock::now();
  uint64_t count = 0;
  uint64_t bytes = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), families[1]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      bytes += it->value().size();
      ++count;
    }
    KAM_RETURN_IF_ERROR(eventstore::internal::FromRocksDb(it->status(), "scanning the log"));
  }
  const double seconds = SecondsSince(start);
  for (rocksdb::ColumnFamilyHandle* family : families) {
    db->DestroyColumnFamilyHandle(family).PermitUncheckedError();
  }
  *scanned = count;
  return bytes > 0 ? count / seconds : 0.0;
}

// As-of queries on the one account of the second log, on both axes.
absl::StatusOr<Latency> MeasureAccountAsOf(const std::string& directory,
                                           const RebuildBenchFlags& flags, std::string* account) {
  KAM_ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventLog> log,
                       GenerateLog(directory + "/log", 1, flags.big_account_events, 7));
  KAM_ASSIGN_OR_RETURN(std::unique_ptr<projections::ProjectionStore> store,
                       projections::OpenCurrentProjections(directory + "/projections"));
  projections::Projector projector(log.get(), store.get());
  KAM_RETURN_IF_ERROR(projector.CatchUp().status());
  projections::AccountViews views(store.get(), projections::DefaultRules(),
                                  &eventstore::SystemClock());
  KAM_RETURN_IF_ERROR(views.Load());
  KAM_ASSIGN_OR_RETURN(std::vector<std::string> ids, store->AccountIds());
  if (ids.size() != 1) return absl::InternalError("expected one account in the as-of log");
  *account = ids[0];
  std::vector<double> ms;
  // Half way through the business history, and (on the RECORDED axis) just
  // after the generated events were recorded.
  const absl::Time occurred_as_of = absl::FromUnixSeconds(1735689600);  // 2025-01-01.
  const absl::Time recorded_as_of = absl::Now();
  for (int i = 0; i < flags.repetitions; ++i) {
    const bool occurred = i % 2 == 0;
    const projections::ViewTime when{
        occurred ? occurred_as_of : recorded_as_of,
        occurred ? projections::TimeAxis::kOccurred : projections::TimeAxis::kRecorded};
    const auto start = Clock::now();
    KAM_RETURN_IF_ERROR(views.GetAccount(*account, when).status());
    ms.push_back(SecondsSince(start) * 1000);
  }
  return Summarize(std::move(ms));
}

void Row(const char* what, const std::string& value, const std::string& target) {
  std::printf("%-44s %18s   %s\n", what, value.c_str(), target.c_str());
  std::fflush(stdout);
}

absl::StatusOr<std::string> MakeDirectory(const RebuildBenchFlags& flags) {
  std::string base = flags.dir;
  if (base.empty()) {
    std::filesystem::create_directories("bench-data");
    char pattern[] = "bench-data/rebuild-XXXXXX";
    if (mkdtemp(pattern) == nullptr) {
      return absl::UnavailableError("cannot create a directory under ./bench-data");
    }
    base = pattern;
  }
  return base;
}

}  // namespace

CLI::App* AddRebuildCommand(CLI::App* app, RebuildBenchFlags* flags) {
  CLI::App* command =
      app->add_subcommand("rebuild", "offline projection rebuild vs a raw scan; as-of latency");
  command->add_option("--events", flags->events, "events in the generated log")
      ->check(CLI::Range(int64_t{1000}, int64_t{1} << 40));
  command->add_option("--accounts", flags->accounts, "accounts in the generated log")
      ->check(CLI::Range(1, 1 << 24));
  command
      ->add_option("--big-account-events", flags->big_account_events,
                   "events of the one account of the as-of latency")
      ->check(CLI::Range(int64_t{10}, int64_t{1} << 30));
  command->add_option("--threads", flags->threads, "rebuild threads")->check(CLI::Range(1, 64));
  command->add_option("--repetitions", flags->repetitions, "as-of queries measured")
      ->check(CLI::Range(1, 100000));
  command->add_option("--json", flags->json_path, "write the results to this JSON file");
  command->add_option("--dir", flags->dir,
                      "work directory (default: under ./bench-data); a log already there is "
                      "reused");
  command->add_flag("--keep", flags->keep, "keep the generated data");
  return command;
}

absl::Status RunRebuildBench(const RebuildBenchFlags& flags) {
  KAM_ASSIGN_OR_RETURN(std::string base, MakeDirectory(flags));
  google::protobuf::Struct report;
  auto& fields = *report.mutable_fields();
  fields["benchmark"].set_string_value("rebuild");
  fields["events"].set_number_value(static_cast<double>(flags.events));
  fields["accounts"].set_number_value(flags.accounts);

  auto start = Clock::now();
  std::unique_ptr<eventstore::EventLog> log;
  if (std::filesystem::exists(base + "/log/CURRENT")) {
    std::printf("kambench rebuild: reusing the log in %s/log\n", base.c_str());
  } else {
    std::printf("kambench rebuild: generating %lld events over %d accounts in %s\n",
                static_cast<long long>(flags.events), flags.accounts, base.c_str());
    KAM_ASSIGN_OR_RETURN(log, GenerateLog(base + "/log", flags.accounts, flags.events, 42));
    Row("generated and appended (no fsync)", absl::StrFormat("%.1f s", SecondsSince(start)), "");
    log.reset();  // The raw scan opens the same files read-only.
  }

  // Opening the log recovers its write-ahead log into table files; the raw
  // scan then reads exactly what the rebuild reads (a read-only open takes
  // no lock and finds nothing left to replay).
  KAM_ASSIGN_OR_RETURN(log, eventstore::OpenRocksDbLog(base + "/log", {}));
  uint64_t scanned = 0;
  KAM_ASSIGN_OR_RETURN(double raw, RawScanEventsPerSecond(base + "/log", &scanned));
  Row("raw RocksDB scan of the log", absl::StrFormat("%.0f ev/s", raw), "");
  fields["raw_scan_events_per_s"].set_number_value(raw);
  projections::RebuildOptions options;
  options.threads = flags.threads;
  start = Clock::now();
  KAM_ASSIGN_OR_RETURN(projections::Checkpoint done,
                       projections::RebuildProjections(*log, base + "/projections", options));
  const double rebuild = done.position / SecondsSince(start);
  const double ratio = raw > 0 ? rebuild / raw : 0;
  Row("rebuild of all projections", absl::StrFormat("%.0f ev/s", rebuild),
      Verdict(rebuild >= 300000) + " (target >= 300,000 ev/s)");
  Row("  ratio to the raw scan", absl::StrFormat("%.3fx", ratio),
      Verdict(ratio >= 0.2) + " (target >= 0.2x)");
  fields["rebuild_events_per_s"].set_number_value(rebuild);
  fields["rebuild_ratio_to_raw_scan"].set_number_value(ratio);

  {
    KAM_ASSIGN_OR_RETURN(auto store, projections::OpenCurrentProjections(base + "/projections"));
    projections::AccountViews views(store.get(), projections::DefaultRules(),
                                    &eventstore::SystemClock());
    KAM_RETURN_IF_ERROR(views.Load());
    std::vector<double> ms;
    for (const projections::ViewTime& when :
         {projections::ViewTime{absl::FromUnixSeconds(1767225600),  // 2026-01-01.
                                projections::TimeAxis::kOccurred},
          projections::ViewTime{absl::Now(), projections::TimeAxis::kRecorded}}) {
      start = Clock::now();
      KAM_ASSIGN_OR_RETURN(kam::v1::Portfolio portfolio, views.GetPortfolio(when, 0, 0));
      ms.push_back(SecondsSince(start) * 1000);
    }
    const double worst = std::max(ms[0], ms[1]);
    Row("portfolio as-of, every account (worst axis)", absl::StrFormat("%.1f ms", worst),
        Verdict(worst < 1000) + " (target < 1 s)");
    fields["portfolio_as_of_ms"].set_number_value(worst);
  }

  std::string account;
  KAM_ASSIGN_OR_RETURN(Latency latency, MeasureAccountAsOf(base + "/as-of", flags, &account));
  Row(absl::StrCat("as-of on one account of ", flags.big_account_events, " events, p50").c_str(),
      absl::StrFormat("%.2f ms", latency.p50_ms), "");
  Row("  p99", absl::StrFormat("%.2f ms", latency.p99_ms),
      Verdict(latency.p99_ms < 10) + " (target < 10 ms)");
  fields["account_as_of_p50_ms"].set_number_value(latency.p50_ms);
  fields["account_as_of_p99_ms"].set_number_value(latency.p99_ms);

  log.reset();
  if (!flags.keep) std::filesystem::remove_all(flags.dir.empty() ? base : base + "/as-of");
  if (!flags.json_path.empty()) KAM_RETURN_IF_ERROR(WriteJson(flags.json_path, report));
  return absl::OkStatus();
}

}  // namespace kam::kambench
