// kamctl: kam's command line for people and scripts.
//
// Online commands call a running kamd (--server HOST:PORT, default
// 127.0.0.1:50051; --token or KAM_TOKEN; --tls-ca FILE for TLS):
//   record, import FILE.ndjson, read STREAM, tail, account ID, accounts,
//   portfolio, replay ID, verify, head
// Offline commands work on a stopped server's data directory (--data DIR,
// default ./data):
//   rebuild, verify --data, export, import --data FILE, backup --to DIR,
//   restore --from DIR, stats
// `verify` and `import` exist in both worlds: with --data they work offline.
//
// Exit codes: 0 ok, 1 failure (the message on stderr names the cause), 2
// usage error (a bad flag or flag value). Answers go to stdout: JSON (NDJSON
// for lists and streams) in the protobuf JSON mapping for online commands,
// "key: value" lines for offline ones. Long work shows a progress line on
// stderr when it is a terminal.

#include <cstdio>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "tools/kamctl/common.h"
#include "tools/kamctl/offline_commands.h"
#include "tools/kamctl/online_commands.h"

namespace kam::kamctl {
namespace {

// Everything the flags fill in; the chosen command reads its part.
struct Flags {
  ServerFlags server;
  DataFlags data;
  RecordFlags record;
  ImportFlags import;
  ReadFlags read;
  TailFlags tail;
  AccountFlags account;
  AccountsFlags accounts;
  PortfolioFlags portfolio;
  ReplayFlags replay;
  VerifyRangeFlags verify;
  std::string export_out;
  std::string backup_to;
  std::string restore_from;
  int rebuild_threads = 0;
};

// A subcommand and what runs when it is chosen.
struct Command {
  CLI::App* app;
  std::function<absl::Status()> run;
};

// Flags whose absence differs from any value: copied into the std::optional
// once parsing is done.
struct OptionalFlag {
  CLI::Option* option;
  uint64_t value = 0;
  std::optional<uint64_t>* target;
};

class Cli {
 public:
  Cli()
      : app_(
            "kamctl: kam's command line (online: talks to kamd; offline: works on a "
            "stopped server's data directory)") {
    app_.require_subcommand(1);
    AddOnlineCommands();
    AddOfflineCommands();
  }

  // The exit code.
  int Run(int argc, char** argv) {
    // CLI11 reports by throwing; these are its only exceptions.
    try {
      app_.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app_.exit(e) == 0 ? kExitOk : kExitUsage;
    }
    for (OptionalFlag& flag : optional_flags_) {
      if (flag.option->count() > 0) *flag.target = flag.value;
    }
    for (const Command& command : commands_) {
      if (!command.app->parsed()) continue;
      const absl::Status status = command.run();
      Report(command.app->get_name(), status);
      return ExitCodeOf(status);
    }
    return kExitUsage;  // Unreachable: require_subcommand(1).
  }

 private:
  static void Report(const std::string& name, const absl::Status& status) {
    if (status.ok()) return;
    std::fflush(stdout);
    if (IsUsageError(status)) {
      std::fprintf(stderr, "kamctl %s: %s\n", name.c_str(), std::string(status.message()).c_str());
    } else {
      std::fprintf(stderr, "kamctl %s: %s: %s\n", name.c_str(),
                   absl::StatusCodeToString(status.code()).c_str(),
                   std::string(status.message()).c_str());
    }
  }

  CLI::App* Add(const std::string& name, const std::string& description,
                std::function<absl::Status()> run) {
    CLI::App* command = app_.add_subcommand(name, description);
    commands_.push_back({command, std::move(run)});
    return command;
  }

  void AddOptional(CLI::App* command, const std::string& name, std::optional<uint64_t>* target,
                   const std::string& description) {
    optional_flags_.push_back({nullptr, 0, target});
    optional_flags_.back().option =
        command->add_option(name, optional_flags_.back().value, description);
  }

  void AddServerFlags(CLI::App* command) {
    command->add_option("--server", flags_.server.server, "HOST:PORT of kamd")
        ->capture_default_str();
    command->add_option("--token", flags_.server.token, "bearer token")->envname("KAM_TOKEN");
    command
        ->add_option("--tls-ca", flags_.server.tls_ca,
                     "PEM certificate of the CA that signed kamd's: call over TLS")
        ->check(CLI::ExistingFile);
    command->add_option("--timeout", flags_.server.timeout_seconds, "seconds each call may take")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
  }

  CLI::Option* AddDataFlag(CLI::App* command) {
    return command->add_option("--data", flags_.data.data, "data directory of a stopped kamd")
        ->capture_default_str();
  }

  void AddViewTimeFlags(CLI::App* command, ViewTimeFlags* time) {
    command->add_option("--as-of", time->as_of, "RFC 3339 time of the view (default: now)");
    command->add_option("--axis", time->axis, "clock of --as-of: occurred (default) or recorded");
    command->add_option("--min-position", time->min_position,
                        "wait until the views include this log position");
  }

  void AddRangeFlags(CLI::App* command) {
    command->add_option("--from", flags_.verify.from_position, "first position (default 1)");
    command->add_option("--to", flags_.verify.to_position, "last position (default: the head)");
  }

  void AddOnlineCommands();
  void AddViewCommands();
  void AddOfflineCommands();

  CLI::App app_;
  Flags flags_;
  std::vector<Command> commands_;
  // A deque: flags point at their elements, which must not move.
  std::deque<OptionalFlag> optional_flags_;
  CLI::Option* verify_data_ = nullptr;
  CLI::Option* import_data_ = nullptr;
};

void Cli::AddOnlineCommands() {
  CLI::App* record = Add("record", "record one account event (Accounts.Record)",
                         [this] { return Record(flags_.server, flags_.record); });
  AddServerFlags(record);
  record->add_option("--account", flags_.record.account_id,
                     "account id (empty only for ProductLaunched)");
  record->add_option("--event", flags_.record.event_json,
                     "the AccountEvent as protobuf JSON (default: read from stdin; occurredAt "
                     "defaults to now)");
  record->add_option("--request-id", flags_.record.request_id,
                     "idempotency key (default: a new UUID)");
  AddOptional(record, "--expected-version", &flags_.record.expected_version,
              "the account's stream must be at exactly this version");

  CLI::App* import = Add("import",
                         "online: record each line (a RecordRequest as protobuf JSON) "
                         "with Accounts.RecordBatch; offline with --data: load an export",
                         [this] {
                           return import_data_->count() > 0
                                      ? ImportExport(flags_.data, flags_.import.file)
                                      : ImportRequests(flags_.server, flags_.import);
                         });
  AddServerFlags(import);
  import->add_option("FILE", flags_.import.file, "NDJSON file, - for stdin")->required();
  import->add_option("--chunk", flags_.import.chunk, "requests per RecordBatch call")
      ->capture_default_str();
  import_data_ = AddDataFlag(import);
  import_data_->excludes(import->get_option("--server"));

  CLI::App* read = Add("read", "print a stream's events as NDJSON (EventStore.ReadStream)",
                       [this] { return ReadStream(flags_.server, flags_.read); });
  AddServerFlags(read);
  read->add_option("STREAM", flags_.read.stream, "stream name, e.g. account-acme")->required();
  AddOptional(read, "--from-version", &flags_.read.from_version, "first version");
  read->add_flag("--backward", flags_.read.backward, "newest first");
  read->add_option("--max-count", flags_.read.max_count, "most events (default: all)");

  CLI::App* tail = Add("tail", "follow the log: print new events as NDJSON until interrupted",
                       [this] { return Tail(flags_.server, flags_.tail); });
  AddServerFlags(tail);
  AddOptional(tail, "--from", &flags_.tail.from_position,
              "first position (default: after the head, new events only)");
  tail->add_option("--stream-prefix", flags_.tail.stream_prefix, "only streams starting so");
  tail->add_option("--type", flags_.tail.types, "only events of this type (repeatable)");
  tail->add_option("--max-count", flags_.tail.max_count, "stop after this many events");

  AddViewCommands();

  CLI::App* verify = Add("verify",
                         "check the log's hash chain: online (Audit.VerifyLog), or "
                         "offline with --data; exit code 1 when it is broken",
                         [this] {
                           return verify_data_->count() > 0
                                      ? VerifyLogOffline(flags_.data, flags_.verify)
                                      : VerifyLogOnline(flags_.server, flags_.verify);
                         });
  AddServerFlags(verify);
  AddRangeFlags(verify);
  verify_data_ = AddDataFlag(verify);
  verify_data_->excludes(verify->get_option("--server"));

  AddServerFlags(Add("head", "print the log's head: position, hash, recorded_at",
                     [this] { return ShowHead(flags_.server); }));
}

void Cli::AddViewCommands() {
  CLI::App* account = Add("account", "print an account's view as JSON (Views.GetAccount)",
                          [this] { return ShowAccount(flags_.server, flags_.account); });
  AddServerFlags(account);
  account->add_option("ID", flags_.account.account_id, "account id")->required();
  AddViewTimeFlags(account, &flags_.account.time);

  AccountsFlags& filter = flags_.accounts;
  CLI::App* accounts = Add("accounts", "list accounts as NDJSON, every page (Views.ListAccounts)",
                           [this] { return ListAccounts(flags_.server, flags_.accounts); });
  AddServerFlags(accounts);
  accounts->add_option("--stage", filter.stage, "development, initial_cooperation, ...");
  accounts->add_option("--abc", filter.abc, "a, b or c");
  accounts->add_option("--segment", filter.segment, "ei, eii, eiii, eiv or none");
  accounts->add_option("--risk", filter.risk, "not_applicable, low, medium or high");
  accounts->add_option("--manager", filter.manager, "account manager");
  accounts->add_option("--order", filter.order,
                       "account_id, name, revenue_desc, risk_score_desc or attention");
  accounts->add_option("--page-size", filter.page_size, "accounts per call");
  AddViewTimeFlags(accounts, &filter.time);

  CLI::App* portfolio = Add("portfolio", "print the portfolio as JSON (Views.GetPortfolio)",
                            [this] { return ShowPortfolio(flags_.server, flags_.portfolio); });
  AddServerFlags(portfolio);
  AddViewTimeFlags(portfolio, &flags_.portfolio.time);
  portfolio->add_option("--max-attention", flags_.portfolio.max_attention,
                        "most accounts on the attention list (default: all)");

  CLI::App* replay = Add("replay",
                         "print each event of an account with the view after it, as "
                         "NDJSON (Audit.ReplayAccount)",
                         [this] { return ReplayAccount(flags_.server, flags_.replay); });
  AddServerFlags(replay);
  replay->add_option("ID", flags_.replay.account_id, "account id")->required();
  AddOptional(replay, "--to-version", &flags_.replay.to_version, "last version replayed");
  replay->add_option("--as-of", flags_.replay.as_of, "last recorded_at replayed (RFC 3339)")
      ->excludes(replay->get_option("--to-version"));
}

void Cli::AddOfflineCommands() {
  CLI::App* rebuild = Add("rebuild", "offline: rebuild every projection from the log",
                          [this] { return Rebuild(flags_.data, flags_.rebuild_threads); });
  AddDataFlag(rebuild);
  rebuild->add_option("--threads", flags_.rebuild_threads, "worker threads (default: all cores)");

  CLI::App* export_log = Add("export", "offline: write the log as NDJSON of RecordedEvent",
                             [this] { return ExportLog(flags_.data, flags_.export_out); });
  AddDataFlag(export_log);
  export_log->add_option("--out", flags_.export_out, "file to write (default: stdout)");

  CLI::App* backup = Add("backup", "offline: copy the data directory consistently",
                         [this] { return Backup(flags_.data, flags_.backup_to); });
  AddDataFlag(backup);
  backup->add_option("--to", flags_.backup_to, "new directory for the backup")->required();

  CLI::App* restore = Add("restore", "offline: restore a backup into an empty --data, verified",
                          [this] { return Restore(flags_.data, flags_.restore_from); });
  AddDataFlag(restore);
  restore->add_option("--from", flags_.restore_from, "backup directory")->required();

  AddDataFlag(Add("stats", "offline: log head, projections checkpoint, accounts, disk usage",
                  [this] { return Stats(flags_.data); }));
}

}  // namespace
}  // namespace kam::kamctl

int main(int argc, char** argv) {
  kam::kamctl::Cli cli;
  return cli.Run(argc, argv);
}
