// The projector and the offline rebuild: restart resumes exactly, and a
// rebuild from scratch reaches the digest of the incremental projector.

#include "projections/projector.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "eventstore/rocksdb_log.h"
#include "gtest/gtest.h"
#include "kam/v1/events.pb.h"
#include "projections/rebuild.h"

namespace kam::projections {
namespace {

class ProjectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kam_projector_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
    OpenLog();
  }
  void TearDown() override {
    log_.reset();
    std::filesystem::remove_all(root_);
  }

  void OpenLog() {
    log_.reset();
    auto log = eventstore::OpenRocksDbLog(root_ + "/log", {});
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }

  // Appends `count` visits to each of `accounts` accounts, opened first.
  void AppendVisits(int accounts, int count) {
    for (int a = 0; a < accounts; ++a) {
      std::vector<eventstore::EventData> events;
      for (int i = 0; i < count; ++i) {
        kam::v1::AccountEvent event;
        event.mutable_occurred_at()->set_seconds(1700000000 + i);
        if (!opened_.count(a)) {
          event.mutable_account_opened()->set_name(absl::StrCat("Account ", a));
          opened_.insert(a);
        } else {
          event.mutable_visit_recorded()->set_purpose("review");
        }
        eventstore::EventData data;
        data.type = event.has_account_opened() ? "kam.v1.AccountOpened" : "kam.v1.VisitRecorded";
        data.data = event.SerializeAsString();
        data.occurred_at = absl::FromUnixSeconds(event.occurred_at().seconds());
        events.push_back(std::move(data));
      }
      auto appended = log_->Append(AccountStream(absl::StrCat("a", a)),
                                   eventstore::ExpectedVersion::Any(), events);
      ASSERT_TRUE(appended.ok()) << appended.status();
    }
    // A stream the projections do not follow: it moves the checkpoint only.
    eventstore::EventData other;
    other.type = "ops.Note";
    other.data = "not an account event";
    ASSERT_TRUE(log_->Append("ops", eventstore::ExpectedVersion::Any(), {other}).ok());
  }

  std::string root_;
  std::unique_ptr<eventstore::EventLog> log_;
  std::set<int> opened_;
};

TEST_F(ProjectorTest, CatchUpFilesEveryAccountEventAndMovesTheCheckpoint) {
  AppendVisits(3, 5);
  auto store = OpenCurrentProjections(root_ + "/projections");
  ASSERT_TRUE(store.ok()) << store.status();
  Projector projector(log_.get(), store->get());
  auto checkpoint = projector.CatchUp();
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(*checkpoint, log_->Head().position);
  auto events = (*store)->LoadStream(AccountStream("a1"));
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 5u);
  EXPECT_TRUE((*events)[0].event.has_account_opened());
  EXPECT_EQ((*events)[4].version, 4u);
  auto ids = (*store)->AccountIds();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"a0", "a1", "a2"}));
}

TEST_F(ProjectorTest, RestartInTheMiddleResumesWithoutDoubleApplying) {
  AppendVisits(4, 10);
  std::string digest_before;
  {
    auto store = OpenCurrentProjections(root_ + "/projections");
    ASSERT_TRUE(store.ok());
    // Apply only part of the log, as if the process died mid-stream.
    auto part = log_->ReadAll(1, eventstore::Direction::kForward, 17, {});
    ASSERT_TRUE(part.ok());
    ASSERT_TRUE((*store)->Apply(part->events).ok());
    EXPECT_EQ((*store)->checkpoint().position, 17u);
    // Re-applying what is already in is refused, never double-counted.
    EXPECT_EQ((*store)->Apply(part->events).code(), absl::StatusCode::kFailedPrecondition);
  }
  OpenLog();
  auto store = OpenCurrentProjections(root_ + "/projections");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->checkpoint().position, 17u);
  Projector projector(log_.get(), store->get());
  ASSERT_TRUE(projector.CatchUp().ok());
  EXPECT_EQ((*store)->checkpoint().position, log_->Head().position);
  for (int a = 0; a < 4; ++a) {
    auto events = (*store)->LoadStream(AccountStream(absl::StrCat("a", a)));
    ASSERT_TRUE(events.ok());
    EXPECT_EQ(events->size(), 10u) << "account " << a;
  }
  auto scanned = (*store)->ScanDigest();
  ASSERT_TRUE(scanned.ok());
  EXPECT_EQ(*scanned, (*store)->checkpoint().digest);
}

// A store whose Apply fails once `fail` is set, as a full disk would make it.
class FailingStore final : public ProjectionStore {
 public:
  explicit FailingStore(ProjectionStore* store) : store_(store) {}
  std::atomic<bool> fail{false};

  absl::Status Apply(absl::Span<const eventstore::RecordedEvent> events) override {
    if (fail.load()) return absl::ResourceExhaustedError("projections: No space left on device");
    return store_->Apply(events);
  }
  absl::StatusOr<std::string> FileEvents(
      absl::Span<const eventstore::RecordedEvent> events) override {
    return store_->FileEvents(events);
  }
  absl::Status Seal(const Checkpoint& checkpoint) override { return store_->Seal(checkpoint); }
  Checkpoint checkpoint() const override { return store_->checkpoint(); }
  absl::StatusOr<std::vector<StoredEvent>> LoadStream(absl::string_view stream) const override {
    return store_->LoadStream(stream);
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::vector<StoredEvent>>>> LoadRevenueEvents()
      const override {
    return store_->LoadRevenueEvents();
  }
  absl::StatusOr<std::vector<std::string>> AccountIds() const override {
    return store_->AccountIds();
  }
  absl::StatusOr<std::string> ScanDigest() const override { return store_->ScanDigest(); }

 private:
  ProjectionStore* const store_;
};

TEST_F(ProjectorTest, AFailedApplyStopsTheProjectorAndIsReportedOnce) {
  auto store = OpenCurrentProjections(root_ + "/projections");
  ASSERT_TRUE(store.ok());
  FailingStore failing(store->get());
  absl::Mutex mu;
  std::vector<absl::Status> reported;
  absl::Notification stopped;
  Projector projector(log_.get(), &failing, nullptr, [&](const absl::Status& cause) {
    {
      absl::MutexLock lock(&mu);
      reported.push_back(cause);
    }
    if (!stopped.HasBeenNotified()) stopped.Notify();
  });
  ASSERT_TRUE(projector.Start().ok());
  AppendVisits(3, 2);
  const uint64_t applied = log_->Head().position;
  ASSERT_EQ(projector.WaitFor(applied, absl::Now() + absl::Seconds(30)), applied);
  EXPECT_TRUE(projector.status().ok());

  failing.fail = true;
  AppendVisits(3, 2);
  AppendVisits(3, 2);  // More events after the failure report nothing more.
  ASSERT_TRUE(stopped.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // A stopped projector answers waits at once with where it stopped.
  EXPECT_EQ(projector.WaitFor(log_->Head().position, absl::InfiniteFuture()), applied);
  projector.Stop();
  EXPECT_EQ(projector.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(projector.status().message(), "No space"));
  absl::MutexLock lock(&mu);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0], projector.status());
  EXPECT_EQ((*store)->checkpoint().position, applied);
}

TEST_F(ProjectorTest, BackgroundProjectorReachesAppendedPositions) {
  auto store = OpenCurrentProjections(root_ + "/projections");
  ASSERT_TRUE(store.ok());
  Projector projector(log_.get(), store->get());
  ASSERT_TRUE(projector.Start().ok());
  AppendVisits(5, 3);
  const uint64_t head = log_->Head().position;
  // Bounded by a generous deadline; the wait returns as soon as it is reached.
  EXPECT_EQ(projector.WaitFor(head, absl::Now() + absl::Seconds(30)), head);
  projector.Stop();
  EXPECT_TRUE(projector.status().ok());
  EXPECT_EQ((*store)->checkpoint().position, head);
}

TEST_F(ProjectorTest, RebuildGivesTheIncrementalDigestAndIsSwappedIn) {
  AppendVisits(20, 7);
  Checkpoint live;
  {
    auto store = OpenCurrentProjections(root_ + "/projections");
    ASSERT_TRUE(store.ok());
    Projector projector(log_.get(), store->get());
    // Apply in small uneven batches, unlike the rebuild's partitioned chunks.
    ASSERT_TRUE(projector.CatchUp().ok());
    live = (*store)->checkpoint();
  }
  std::vector<uint64_t> progress;
  RebuildOptions options;
  options.threads = 2;
  options.progress = [&](uint64_t position, uint64_t) { progress.push_back(position); };
  auto rebuilt = RebuildProjections(*log_, root_ + "/projections", options);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ(rebuilt->position, live.position);
  EXPECT_EQ(rebuilt->digest, live.digest);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), live.position);
  // The rebuilt state is the current one, and the old one is gone.
  auto store = OpenCurrentProjections(root_ + "/projections");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->checkpoint().digest, live.digest);
  EXPECT_FALSE(std::filesystem::exists(root_ + "/projections/state-1"));
  EXPECT_TRUE(std::filesystem::exists(root_ + "/projections/state-2"));
}

TEST_F(ProjectorTest, DigestDiffersWhenTheStateDiffers) {
  AppendVisits(2, 3);
  auto store = OpenCurrentProjections(root_ + "/projections");
  ASSERT_TRUE(store.ok());
  Projector projector(log_.get(), store->get());
  ASSERT_TRUE(projector.CatchUp().ok());
  const std::string before = (*store)->checkpoint().digest;
  AppendVisits(1, 1);
  ASSERT_TRUE(projector.CatchUp().ok());
  EXPECT_NE((*store)->checkpoint().digest, before);
}

}  // namespace
}  // namespace kam::projections
