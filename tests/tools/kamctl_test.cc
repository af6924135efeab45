// The real kamctl program against the real kamd, both run as child
// processes: online commands on a server on a free loopback port, then
// offline commands on its data directory once it is stopped.

#include <stdlib.h>
#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "kam/v1/accounts.pb.h"
#include "kam/v1/audit.pb.h"
#include "kam/v1/event_store.pb.h"
#include "kam/v1/views.pb.h"
#include "tests/support/kamd_process.h"

namespace kam::kamctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using test_support::ExitCode;
using test_support::Kamd;
using test_support::ReadWholeFile;
using test_support::ServeArgs;
using test_support::Spawn;
using test_support::WaitFor;

void WriteWholeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// "key: value" lines of an offline command's answer.
std::map<std::string, std::string> Fields(const std::string& text) {
  std::map<std::string, std::string> fields;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits(": ", 1));
    if (!kv.first.empty()) fields[kv.first] = kv.second;
  }
  return fields;
}

template <typename Message>
Message FromJson(const std::string& json) {
  Message message;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &message).ok()) << json;
  return message;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

constexpr char kAccountOpened[] =
    R"({"occurredAt":"2024-01-10T09:00:00Z","accountOpened":{"name":"Acme Trading",)"
    R"("kind":"ACCOUNT_KIND_CUSTOMER","accountManager":"li"}})";
constexpr char kOrderPlaced[] =
    R"({"occurredAt":"2024-02-01T09:00:00Z","orderPlaced":{"orderId":"o-1",)"
    R"("amount":{"minorUnits":"1250000","currencyCode":"CNY"},"quantity":"10"}})";

class KamctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kamctl_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string data() const { return Path("data"); }

  std::unique_ptr<Kamd> StartKamd() {
    auto kamd =
        std::make_unique<Kamd>(ServeArgs(data()), Path(absl::StrCat("kamd", runs_++, ".log")));
    EXPECT_TRUE(kamd->WaitUntilListening())
        << ReadWholeFile(Path(absl::StrCat("kamd", runs_ - 1, ".log")));
    return kamd;
  }

  Outcome Kamctl(const std::vector<std::string>& args, const std::string& stdin_text = "",
                 const std::vector<std::string>& extra_env = {}) {
    const std::string id = absl::StrCat(runs_++);
    std::string stdin_path;
    if (!stdin_text.empty()) {
      stdin_path = Path("in" + id);
      WriteWholeFile(stdin_path, stdin_text);
    }
    Outcome run;
    const pid_t pid =
        Spawn(KAMCTL_PATH, args, stdin_path, Path("out" + id), -1, Path("err" + id), extra_env);
    if (pid < 0) {
      ADD_FAILURE() << "cannot start " << KAMCTL_PATH;
      return run;
    }
    run.exit_code = ExitCode(WaitFor(pid, absl::Seconds(30)));
    run.out = ReadWholeFile(Path("out" + id));
    run.err = ReadWholeFile(Path("err" + id));
    return run;
  }

  // kamctl with --server of the running kamd.
  Outcome Online(const Kamd& kamd, std::vector<std::string> args,
                 const std::string& stdin_text = "") {
    args.push_back("--server");
    args.push_back(kamd.address());
    return Kamctl(args, stdin_text);
  }

  // Records acme's opening and first order, then returns the order's
  // position.
  uint64_t RecordAcme(const Kamd& kamd) {
    Outcome opened = Online(kamd, {"record", "--account", "acme", "--event", kAccountOpened});
    EXPECT_EQ(opened.exit_code, 0) << opened.err;
    // The event on stdin, as scripts pipe it.
    Outcome ordered =
        Online(kamd, {"record", "--account", "acme", "--request-id", "order-o-1"}, kOrderPlaced);
    EXPECT_EQ(ordered.exit_code, 0) << ordered.err;
    return FromJson<kam::v1::RecordResponse>(ordered.out).position();
  }

  // A data directory with two accounts' history, its kamd stopped.
  void Populate() {
    std::unique_ptr<Kamd> kamd = StartKamd();
    ASSERT_FALSE(kamd->address().empty());
    RecordAcme(*kamd);
    WriteWholeFile(Path("more.ndjson"),
                   absl::StrCat(R"({"accountId":"beta","event":)", kAccountOpened, "}\n",
                                R"({"accountId":"beta","event":)", kOrderPlaced, "}\n"));
    Outcome imported = Online(*kamd, {"import", Path("more.ndjson")});
    ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
    ASSERT_EQ(kamd->Stop(), 0);
  }

  std::string dir_;
  int runs_ = 0;
};

TEST(KamctlUsageTest, BadFlagsAndValuesExitTwo) {
  auto exit_code = [](const std::vector<std::string>& args) {
    const std::string out = "/dev/null";
    const pid_t pid = Spawn(KAMCTL_PATH, args, "", out, -1, out);
    return ExitCode(WaitFor(pid, absl::Seconds(30)));
  };
  EXPECT_EQ(exit_code({"head", "--no-such-flag"}), 2);
  EXPECT_EQ(exit_code({}), 2);
  EXPECT_EQ(exit_code({"frobnicate"}), 2);
  EXPECT_EQ(exit_code({"account"}), 2);  // ID missing.
  EXPECT_EQ(exit_code({"account", "acme", "--as-of", "yesterday"}), 2);
  EXPECT_EQ(exit_code({"accounts", "--stage", "thriving"}), 2);
  EXPECT_EQ(exit_code({"record", "--account", "acme", "--event", "{not json"}), 2);
  EXPECT_EQ(exit_code({"verify", "--data", "/tmp", "--server", "127.0.0.1:1"}), 2);
  EXPECT_EQ(exit_code({"--help"}), 0);
}

TEST_F(KamctlTest, UnreachableServerFailsNamingIt) {
  Outcome run = Kamctl({"head", "--server", "127.0.0.1:1"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(run.err, HasSubstr("127.0.0.1:1"));
}

TEST_F(KamctlTest, RecordedOrderMakesTheAccountAnInitialCooperation) {
  std::unique_ptr<Kamd> kamd = StartKamd();
  const uint64_t position = RecordAcme(*kamd);
  ASSERT_EQ(position, 2u);

  Outcome account = Online(*kamd, {"account", "acme", "--min-position", absl::StrCat(position)});
  ASSERT_EQ(account.exit_code, 0) << account.err;
  const auto view = FromJson<kam::v1::AccountView>(account.out);
  EXPECT_EQ(view.stage(), kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);
  EXPECT_THAT(account.out, HasSubstr("\"RELATIONSHIP_STAGE_INITIAL_COOPERATION\""));

  // Before the order, on the business clock, the account was in development.
  Outcome before = Online(*kamd, {"account", "acme", "--as-of", "2024-01-20T00:00:00Z"});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_EQ(FromJson<kam::v1::AccountView>(before.out).stage(),
            kam::v1::RELATIONSHIP_STAGE_DEVELOPMENT);

  Outcome listed = Online(*kamd, {"accounts", "--stage", "initial_cooperation"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  ASSERT_EQ(Lines(listed.out).size(), 1u);
  EXPECT_EQ(FromJson<kam::v1::AccountSummary>(Lines(listed.out)[0]).account_id(), "acme");

  Outcome missing = Online(*kamd, {"account", "nobody"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("NOT_FOUND"));
}

TEST_F(KamctlTest, RetriedRequestIdRecordsOnce) {
  std::unique_ptr<Kamd> kamd = StartKamd();
  RecordAcme(*kamd);
  Outcome again = Online(
      *kamd, {"record", "--account", "acme", "--request-id", "order-o-1", "--event", kOrderPlaced});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(FromJson<kam::v1::RecordResponse>(again.out).position(), 2u);
}

TEST_F(KamctlTest, ImportReportsRefusedLinesByNumberAndExitsOne) {
  std::unique_ptr<Kamd> kamd = StartKamd();
  WriteWholeFile(
      Path("batch.ndjson"),
      absl::StrCat(R"({"accountId":"beta","event":)", kAccountOpened, "}\n", "{this is not json\n",
                   "\n", R"({"accountId":"ghost","event":)", kOrderPlaced, "}\n",
                   R"({"accountId":"beta","event":)", kOrderPlaced, "}\n"));
  Outcome run = Online(*kamd, {"import", Path("batch.ndjson"), "--chunk", "2"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  const std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 3u) << run.out;
  EXPECT_THAT(lines[0], HasSubstr("line 2: INVALID_ARGUMENT"));
  EXPECT_THAT(lines[1], HasSubstr("line 4: NOT_FOUND"));
  EXPECT_THAT(lines[1], HasSubstr("ghost"));
  EXPECT_THAT(lines[2], HasSubstr("4 lines, 2 accepted, 2 refused"));
  EXPECT_THAT(run.err, HasSubstr("2 of 4 lines were refused"));

  // Lines without a request_id get "<file>:<line>": running it again is a
  // safe retry.
  Outcome again = Online(*kamd, {"import", Path("batch.ndjson")});
  EXPECT_THAT(again.out, HasSubstr("4 lines, 2 accepted, 2 refused"));
  Outcome head = Online(*kamd, {"head"});
  EXPECT_EQ(FromJson<kam::v1::GetLogHeadResponse>(head.out).position(), 2u);
}

TEST_F(KamctlTest, ReadTailHeadReplayAndVerifyAnswer) {
  std::unique_ptr<Kamd> kamd = StartKamd();
  RecordAcme(*kamd);

  Outcome read = Online(*kamd, {"read", "account-acme"});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  ASSERT_EQ(Lines(read.out).size(), 2u);
  const auto second = FromJson<kam::v1::RecordedEvent>(Lines(read.out)[1]);
  EXPECT_EQ(second.type(), "kam.v1.OrderPlaced");
  EXPECT_EQ(second.version(), 1u);
  EXPECT_EQ(second.hash().size(), 32u);

  Outcome tail = Online(*kamd, {"tail", "--from", "1", "--max-count", "2"});
  ASSERT_EQ(tail.exit_code, 0) << tail.err;
  EXPECT_EQ(Lines(tail.out).size(), 2u);

  Outcome head = Online(*kamd, {"head"});
  ASSERT_EQ(head.exit_code, 0) << head.err;
  const auto log_head = FromJson<kam::v1::GetLogHeadResponse>(head.out);
  EXPECT_EQ(log_head.position(), 2u);
  EXPECT_EQ(log_head.hash(), second.hash());

  Outcome replay = Online(*kamd, {"replay", "acme"});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  ASSERT_EQ(Lines(replay.out).size(), 2u);
  EXPECT_EQ(FromJson<kam::v1::ReplayAccountResponse>(Lines(replay.out)[1]).view_after().stage(),
            kam::v1::RELATIONSHIP_STAGE_INITIAL_COOPERATION);

  Outcome verify = Online(*kamd, {"verify"});
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  const auto verified = FromJson<kam::v1::VerifyLogResponse>(verify.out);
  EXPECT_TRUE(verified.ok());
  EXPECT_EQ(verified.checked(), 2u);

  Outcome portfolio = Online(*kamd, {"portfolio"});
  ASSERT_EQ(portfolio.exit_code, 0) << portfolio.err;
  EXPECT_THAT(portfolio.out, HasSubstr("\"accountCount\":1"));
}

TEST_F(KamctlTest, SendsTheTokenFromTheFlagOrKamToken) {
  // SHA-256 of "admin-token-1" and "reader-token-1".
  WriteWholeFile(Path("tokens"),
                 "01a9119ca65b23539bbc977f36d9318334c72052593c35edb34cf3b162ec7136 admin\n"
                 "8ed7a3cb498a69b97157eb5c685b8831eabdc118fce9a4c75425920ab3ddf6e0 reader\n");
  Kamd kamd(ServeArgs(data(), {"--tokens", Path("tokens")}), Path("kamd-tokens.log"));
  ASSERT_TRUE(kamd.WaitUntilListening()) << ReadWholeFile(Path("kamd-tokens.log"));
  const std::vector<std::string> head = {"head", "--server", kamd.address()};

  Outcome anonymous = Kamctl(head);
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_THAT(anonymous.err, HasSubstr("UNAUTHENTICATED"));
  EXPECT_THAT(anonymous.err, HasSubstr("KAM_TOKEN"));

  std::vector<std::string> with_flag = head;
  with_flag.insert(with_flag.end(), {"--token", "admin-token-1"});
  EXPECT_EQ(Kamctl(with_flag).exit_code, 0);
  EXPECT_EQ(Kamctl(head, "", {"KAM_TOKEN=admin-token-1"}).exit_code, 0);

  Outcome reader = Kamctl(head, "", {"KAM_TOKEN=reader-token-1"});
  EXPECT_EQ(reader.exit_code, 1);
  EXPECT_THAT(reader.err, HasSubstr("PERMISSION_DENIED"));
  EXPECT_EQ(kamd.Stop(), 0);
}

TEST_F(KamctlTest, OfflineCommandsRefuseARunningServersData) {
  std::unique_ptr<Kamd> kamd = StartKamd();
  Outcome run = Kamctl({"verify", "--data", data()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("in use"));
  EXPECT_THAT(run.err, HasSubstr("kamd stopped"));
}

TEST_F(KamctlTest, OfflineVerifyAndStatsDescribeTheStoppedLog) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  Outcome verify = Kamctl({"verify", "--data", data()});
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  auto verified = Fields(verify.out);
  EXPECT_EQ(verified["ok"], "true");
  EXPECT_EQ(verified["checked"], "4");

  Outcome stats = Kamctl({"stats", "--data", data()});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  auto fields = Fields(stats.out);
  EXPECT_EQ(fields["head_position"], "4");
  EXPECT_EQ(fields["head_hash"], verified["hash"]);
  EXPECT_EQ(fields["projections_position"], "4");
  EXPECT_EQ(fields["projections_behind_by"], "0 events");
  EXPECT_EQ(fields["accounts"], "2");
  // "<bytes> (<MiB> MiB)": the log takes room on disk.
  uint64_t disk_log_bytes = 0;
  ASSERT_TRUE(
      absl::SimpleAtoi(fields["disk_log"].substr(0, fields["disk_log"].find(' ')), &disk_log_bytes))
      << fields["disk_log"];
  EXPECT_GT(disk_log_bytes, 0u);
}

TEST_F(KamctlTest, RebuildReachesTheDigestOfTheLiveProjector) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  const std::string live_digest =
      Fields(Kamctl({"stats", "--data", data()}).out)["projections_digest"];
  ASSERT_EQ(live_digest.size(), 64u);
  Outcome rebuild = Kamctl({"rebuild", "--data", data()});
  ASSERT_EQ(rebuild.exit_code, 0) << rebuild.err;
  auto fields = Fields(rebuild.out);
  EXPECT_EQ(fields["position"], "4");
  EXPECT_EQ(fields["digest"], live_digest);
}

TEST_F(KamctlTest, ExportThenImportReproducesTheHeadHash) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  const std::string head_hash = Fields(Kamctl({"verify", "--data", data()}).out)["hash"];

  Outcome exported = Kamctl({"export", "--data", data(), "--out", Path("log.ndjson")});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::vector<std::string> lines = Lines(ReadWholeFile(Path("log.ndjson")));
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto event = FromJson<kam::v1::RecordedEvent>(lines[i]);
    EXPECT_EQ(event.position(), i + 1);
    EXPECT_EQ(event.prev_hash().size(), 32u);
    EXPECT_EQ(event.hash().size(), 32u);
  }

  const std::string copy = Path("copy");
  Outcome imported = Kamctl({"import", "--data", copy, Path("log.ndjson")});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(Fields(imported.out)["hash"], head_hash);
  Outcome verify = Kamctl({"verify", "--data", copy});
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_EQ(Fields(verify.out)["hash"], head_hash);

  // An import never merges into history.
  Outcome again = Kamctl({"import", "--data", copy, Path("log.ndjson")});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("already holds 4 events"));
}

TEST_F(KamctlTest, ImportDetectsAnAlteredExport) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  ASSERT_EQ(Kamctl({"export", "--data", data(), "--out", Path("log.ndjson")}).exit_code, 0);
  std::vector<std::string> lines = Lines(ReadWholeFile(Path("log.ndjson")));
  auto event = FromJson<kam::v1::RecordedEvent>(lines[2]);
  event.set_type("kam.v1.VisitRecorded");
  std::string altered;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(event, &altered).ok());
  lines[2] = altered;
  WriteWholeFile(Path("altered.ndjson"), absl::StrCat(absl::StrJoin(lines, "\n"), "\n"));

  Outcome imported = Kamctl({"import", "--data", Path("copy"), Path("altered.ndjson")});
  EXPECT_EQ(imported.exit_code, 1);
  EXPECT_THAT(imported.err, HasSubstr("line 3 (position 3)"));
  EXPECT_THAT(imported.err, HasSubstr("changed after it was written"));
  EXPECT_FALSE(std::filesystem::exists(Path("copy/log")));  // Ready for a corrected file.
}

TEST_F(KamctlTest, BackupThenRestoreKeepsTheHeadHash) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  const std::string head_hash = Fields(Kamctl({"verify", "--data", data()}).out)["hash"];

  Outcome backup = Kamctl({"backup", "--data", data(), "--to", Path("backup")});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_EQ(Fields(backup.out)["hash"], head_hash);
  Outcome refused = Kamctl({"backup", "--data", data(), "--to", Path("backup")});
  EXPECT_EQ(refused.exit_code, 2);

  const std::string restored = Path("restored");
  Outcome restore = Kamctl({"restore", "--from", Path("backup"), "--data", restored});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(Fields(restore.out)["hash"], head_hash);
  EXPECT_EQ(Fields(restore.out)["verified"], "true");
  Outcome stats = Kamctl({"stats", "--data", restored});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_EQ(Fields(stats.out)["head_hash"], head_hash);
  EXPECT_EQ(Fields(stats.out)["projections_position"], "4");  // Copied, no rebuild needed.

  Outcome over = Kamctl({"restore", "--from", Path("backup"), "--data", data()});
  EXPECT_EQ(over.exit_code, 2);
  EXPECT_THAT(over.err, HasSubstr("not empty"));

  // The restored directory serves again.
  Kamd kamd(ServeArgs(restored), Path("kamd-restored.log"));
  ASSERT_TRUE(kamd.WaitUntilListening());
  Outcome account = Kamctl({"account", "beta", "--server", kamd.address()});
  EXPECT_EQ(account.exit_code, 0) << account.err;
  EXPECT_EQ(kamd.Stop(), 0);
}

}  // namespace
}  // namespace kam::kamctl
