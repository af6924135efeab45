// kamd: the kam server. Opens the engine on a data directory (the durable
// log, the projections and their projector), serves the kam.v1 services over
// gRPC, and optionally Prometheus metrics over HTTP, until SIGTERM or SIGINT;
// then it stops accepting calls, lets in-flight calls finish, stops the
// projector and closes the log.
//
//   kamd --data ./data --listen 127.0.0.1:50051 [--tokens FILE]
//        [--tls-cert F --tls-key F] [--config rules.json] [--metrics HOST:PORT]
//
// Exit codes: 0 after a clean stop, 1 on failure, 2 on a usage error. One
// line on stdout says where it listens; logs go to stderr, one logfmt line
// each (ts=... level=... msg="..." key=value), and never hold a token.

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "CLI/CLI.hpp"
#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "eventstore/status_macros.h"
#include "projections/rules_config.h"
#include "services/engine.h"
#include "services/metrics.h"
#include "services/server.h"

namespace {

using Field = std::pair<const char*, std::string>;

// How long in-flight calls may run on after SIGTERM before they are
// cancelled: longer than any sane unary call, shorter than an orchestrator's
// kill timeout.
constexpr absl::Duration kShutdownGrace = absl::Seconds(30);

struct Flags {
  std::string data_dir = "./data";
  std::string listen = "127.0.0.1:50051";
  std::string tokens_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string config_file;
  std::string metrics_listen;
};

std::string LogfmtValue(const std::string& value) {
  if (!value.empty() && value.find_first_of(" \"=\\\n\t") == std::string::npos) return value;
  return absl::StrCat("\"", absl::CEscape(value), "\"");
}

// One logfmt line on stderr, written with one call so lines never interleave.
void Log(const char* level, const std::string& msg, std::initializer_list<Field> fields = {}) {
  std::string line = absl::StrCat(
      "ts=", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      " level=", level, " msg=", LogfmtValue(msg));
  for (const Field& field : fields) {
    absl::StrAppend(&line, " ", field.first, "=", LogfmtValue(field.second));
  }
  line += "\n";
  std::fputs(line.c_str(), stderr);
}

// The exit code when the program should stop here (after --help, or on a
// usage error, which CLI11 has then explained on stderr), else nullopt.
std::optional<int> ParseFlags(int argc, char** argv, Flags* flags) {
  CLI::App app{"kamd: the kam key-account history server"};
  // A later flag overrides an earlier one, so a wrapper (tools/run.sh) can
  // give defaults that the caller's own flags replace.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--data", flags->data_dir, "data directory (holds log/ and projections/)")
      ->capture_default_str();
  app.add_option("--listen", flags->listen, "HOST:PORT to serve gRPC on; port 0 picks a free one")
      ->capture_default_str();
  app.add_option("--tokens", flags->tokens_file,
                 "tokens file (SHA-256 of each token and its roles); without it every call is "
                 "allowed and only a loopback --listen is accepted");
  CLI::Option* cert = app.add_option("--tls-cert", flags->tls_cert_file, "PEM certificate chain");
  CLI::Option* key = app.add_option("--tls-key", flags->tls_key_file, "PEM private key");
  cert->needs(key);
  key->needs(cert);
  app.add_option("--config", flags->config_file,
                 "rules configuration (JSON kam.v1.RulesConfig); default: DOMAIN.md's rules");
  app.add_option("--metrics", flags->metrics_listen,
                 "HOST:PORT to serve Prometheus metrics on (GET /metrics); default: off");
  // CLI11 reports by throwing; these are its only exceptions.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return std::nullopt;
}

kam::services::ServerOptions ToServerOptions(const Flags& flags) {
  kam::services::ServerOptions options;
  options.listen = flags.listen;
  options.tokens_file = flags.tokens_file;
  options.tls_cert_file = flags.tls_cert_file;
  options.tls_key_file = flags.tls_key_file;
  return options;
}

absl::StatusOr<kam::services::EngineOptions> ToEngineOptions(
    const Flags& flags, kam::services::ServerMetrics* metrics) {
  kam::services::EngineOptions options;
  options.data_dir = flags.data_dir;
  options.metrics = metrics;
  if (!flags.config_file.empty()) {
    KAM_ASSIGN_OR_RETURN(options.rules, kam::projections::LoadRulesFile(flags.config_file));
  }
  return options;
}

// `listen` with the port the server actually bound.
std::string BoundAddress(const std::string& listen, int port) {
  return absl::StrCat(listen.substr(0, listen.rfind(':') + 1), port);
}

// The one line a person reads: where to call, and how.
void AnnounceListening(const Flags& flags, const kam::services::KamServer& server,
                       int metrics_port) {
  const std::string address = BoundAddress(flags.listen, server.port());
  std::string line = absl::StrCat("kamd: listening on ", address);
  if (flags.tls_cert_file.empty()) {
    absl::StrAppend(&line, ", plaintext (grpcurl -plaintext");
  } else {
    absl::StrAppend(&line, ", TLS (grpcurl -cacert ", flags.tls_cert_file);
  }
  absl::StrAppend(&line, server.authenticated() ? " -H 'authorization: Bearer <token>' " : " ",
                  address, " list), ");
  absl::StrAppend(&line, server.authenticated()
                             ? "tokens required"
                             : "no tokens: every call is allowed, so loopback only");
  if (metrics_port != 0) {
    absl::StrAppend(&line, ", metrics on http://", BoundAddress(flags.metrics_listen, metrics_port),
                    "/metrics");
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// Reports the log head and the projection lag at each scrape.
void SampleOnScrape(kam::services::ServerMetrics* metrics, kam::services::Engine* engine) {
  metrics->SetScrapeHook([metrics, engine] {
    const uint64_t head = engine->log().Head().position;
    const uint64_t checkpoint = engine->projector().WaitFor(0, absl::InfinitePast());
    metrics->LogHead(head);
    metrics->ProjectionLag(head > checkpoint ? head - checkpoint : 0);
    const kam::projections::LiveCacheStats cache = engine->views().live_cache_stats();
    metrics->ViewCache(cache.hits, cache.misses, cache.cached, cache.queued);
  });
}

// Said once per fault: the operator's cue to repair the cause and restart.
void LogFault(kam::services::EngineFault fault, const absl::Status& cause) {
  const bool log = fault == kam::services::EngineFault::kLogRefusesAppends;
  Log("error",
      log ? "the log refuses appends until kamd is restarted; reads still work"
          : "the projections stopped until kamd is restarted; views stay where they were",
      {{"cause", std::string(cause.message())},
       {"code", absl::StatusCodeToString(cause.code())},
       {"then",
        log ? "free disk space or repair the disk, then restart kamd: it recovers every "
              "acknowledged append"
            : "repair the cause, then restart kamd (kamctl rebuild if it cannot catch up)"}});
}

int Fail(const std::string& what, const absl::Status& status) {
  Log("error", what,
      {{"error", std::string(status.message())},
       {"code", absl::StatusCodeToString(status.code())}});
  return 1;
}

absl::StatusOr<std::unique_ptr<kam::services::Engine>> OpenEngine(
    const Flags& flags, const kam::services::EngineOptions& options) {
  Log("info", "opening the engine", {{"data", flags.data_dir}});
  KAM_ASSIGN_OR_RETURN(std::unique_ptr<kam::services::Engine> engine,
                       kam::services::Engine::Open(options));
  const kam::eventstore::LogHead head = engine->log().Head();
  Log("info", "engine open",
      {{"data", flags.data_dir},
       {"head_position", absl::StrCat(head.position)},
       {"head_hash", absl::BytesToHexString(head.hash)},
       {"rules", kam::projections::RulesVersion(engine->rules())}});
  return engine;
}

// Stops accepting calls, lets in-flight ones finish (bounded), then closes
// the engine: the projector stops and the log closes with every
// acknowledged append already fsynced.
void Stop(int signal, std::unique_ptr<kam::services::KamServer> server,
          std::unique_ptr<kam::services::Engine> engine) {
  Log("info", "stopping: no new calls, finishing in-flight ones",
      {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"},
       {"grace", absl::FormatDuration(kShutdownGrace)}});
  server->Shutdown(absl::Now() + kShutdownGrace);
  server.reset();
  const uint64_t last_position = engine->log().Head().position;
  // The projections are derived and rebuildable; still, leave them current.
  absl::StatusOr<uint64_t> projected = engine->Drain();
  if (!projected.ok()) {
    Log("error", "projections not brought up to date (kamctl rebuild repairs them)",
        {{"cause", projected.status().ToString()}});
  }
  engine.reset();
  Log("info", "stopped",
      {{"head_position", absl::StrCat(last_position)},
       {"projections_position", projected.ok() ? absl::StrCat(*projected) : "unknown"}});
}

int Serve(const Flags& flags, const sigset_t& signals) {
  const kam::services::ServerOptions server_options = ToServerOptions(flags);
  // Refuse bad options before touching (or creating) the data directory.
  absl::Status checked = kam::services::KamServer::CheckOptions(server_options);
  if (!checked.ok()) return Fail("refusing to start", checked);

  // Declared first: the engine reports into it until it is closed.
  kam::services::ServerMetrics metrics;
  absl::StatusOr<kam::services::EngineOptions> options = ToEngineOptions(flags, &metrics);
  if (!options.ok()) return Fail("cannot load the rules configuration", options.status());
  absl::StatusOr<std::unique_ptr<kam::services::Engine>> engine = OpenEngine(flags, *options);
  if (!engine.ok()) return Fail("cannot open the engine", engine.status());
  SampleOnScrape(&metrics, engine->get());
  (*engine)->OnFault(LogFault);
  // Runs before the engine closes, on every path: no scrape reads a closed engine.
  absl::Cleanup stop_sampling = [&metrics] { metrics.ClearScrapeHook(); };
  if (!flags.metrics_listen.empty()) {
    absl::Status served = metrics.Serve(flags.metrics_listen);
    if (!served.ok()) return Fail("cannot serve metrics", served);
    Log("info", "serving metrics",
        {{"metrics", BoundAddress(flags.metrics_listen, metrics.port())}});
  }

  absl::StatusOr<std::unique_ptr<kam::services::KamServer>> server =
      kam::services::KamServer::Start(engine->get(), server_options);
  if (!server.ok()) return Fail("cannot start the server", server.status());
  Log("info", "listening",
      {{"listen", BoundAddress(flags.listen, (*server)->port())},
       {"auth", (*server)->authenticated() ? "on" : "off"},
       {"tls", flags.tls_cert_file.empty() ? "off" : "on"}});
  AnnounceListening(flags, **server, metrics.port());

  int received = 0;
  sigwait(&signals, &received);
  std::move(stop_sampling).Invoke();
  Stop(received, std::move(*server), std::move(*engine));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian builds abseil without NDEBUG, so every absl::Mutex (gRPC makes
  // some per call) would otherwise update a global lock graph.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  Flags flags;
  if (std::optional<int> usage_exit = ParseFlags(argc, argv, &flags)) return *usage_exit;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  // Blocked before any thread starts, so every thread inherits the mask and
  // only the sigwait in Serve receives them.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return Serve(flags, signals);
}
