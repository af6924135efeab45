// kam.v1.EventStore end to end over loopback: every RPC's normal path and
// error codes, reads larger than one message, and Subscribe's catch-up into
// live events, filters, flow control for a stalled reader, cancellation and
// shutdown.

#include "services/event_store_service.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "kam/v1/event_store.grpc.pb.h"
#include "services/engine.h"
#include "tests/services/test_server.h"

namespace kam::services {
namespace {

using ::kam::services::testing::Context;
using ::kam::services::testing::TestServer;
using ::testing::AllOf;
using ::testing::HasSubstr;

v1::EventData Event(const std::string& type, const std::string& data = "payload",
                    const std::string& event_id = "") {
  v1::EventData e;
  e.set_event_id(event_id);
  e.set_type(type);
  e.set_data(data);
  (*e.mutable_metadata())["source"] = "test";
  e.mutable_occurred_at()->set_seconds(1700000000);
  e.mutable_occurred_at()->set_nanos(123456789);
  return e;
}

v1::AppendRequest AppendOf(const std::string& stream, int count, const std::string& data = "d") {
  v1::AppendRequest request;
  request.set_stream(stream);
  for (int i = 0; i < count; ++i) *request.add_events() = Event("test.Happened", data);
  return request;
}

grpc::Status Append(v1::EventStore::Stub& stub, const v1::AppendRequest& request,
                    v1::AppendResponse* response = nullptr) {
  v1::AppendResponse ignored;
  auto context = Context();
  return stub.Append(context.get(), request, response ? response : &ignored);
}

// Appends `count` events in appends of up to `per_append`.
void Fill(v1::EventStore::Stub& stub, const std::string& stream, int count, int per_append,
          const std::string& data = "d") {
  for (int done = 0; done < count; done += per_append) {
    ASSERT_TRUE(Append(stub, AppendOf(stream, std::min(per_append, count - done), data)).ok());
  }
}

template <typename Response>
struct ReadOutcome {
  grpc::Status status;
  std::vector<Response> messages;

  std::vector<uint64_t> Positions() const {
    std::vector<uint64_t> out;
    for (const Response& m : messages) {
      for (const v1::RecordedEvent& e : m.events()) out.push_back(e.position());
    }
    return out;
  }
  std::vector<uint64_t> Versions() const {
    std::vector<uint64_t> out;
    for (const Response& m : messages) {
      for (const v1::RecordedEvent& e : m.events()) out.push_back(e.version());
    }
    return out;
  }
};

template <typename Response, typename Reader>
ReadOutcome<Response> Drain(Reader& reader) {
  ReadOutcome<Response> outcome;
  Response message;
  while (reader->Read(&message)) outcome.messages.push_back(message);
  outcome.status = reader->Finish();
  return outcome;
}

ReadOutcome<v1::ReadAllResponse> ReadAll(v1::EventStore::Stub& stub,
                                         const v1::ReadAllRequest& request) {
  auto context = Context();
  auto reader = stub.ReadAll(context.get(), request);
  return Drain<v1::ReadAllResponse>(reader);
}

ReadOutcome<v1::ReadStreamResponse> ReadStream(v1::EventStore::Stub& stub,
                                               const v1::ReadStreamRequest& request) {
  auto context = Context();
  auto reader = stub.ReadStream(context.get(), request);
  return Drain<v1::ReadStreamResponse>(reader);
}

std::vector<uint64_t> Range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  for (uint64_t p = first;; first <= last ? ++p : --p) {
    out.push_back(p);
    if (p == last) return out;
  }
}

// Waits until `condition` holds or `timeout` passes; returns whether it held.
template <typename Condition>
bool WaitFor(Condition condition, absl::Duration timeout = absl::Seconds(5)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// An EventStoreService served on its own, so that tests can reach the
// service itself (subscriber_count, BeginShutdown).
class DirectServer {
 public:
  DirectServer() {
    char pattern[] = "/tmp/kam_event_store_XXXXXX";
    if (mkdtemp(pattern) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    dir_ = pattern;
    EngineOptions options;
    options.data_dir = dir_ + "/data";
    auto engine = Engine::Open(options);
    EXPECT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
    service_ = std::make_unique<EventStoreService>(engine_.get(), &authorizer_, ServiceLimits());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
  }
  ~DirectServer() {
    service_->BeginShutdown();
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    server_->Wait();
    server_.reset();
    service_.reset();
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }

  EventStoreService& service() { return *service_; }
  std::unique_ptr<v1::EventStore::Stub> Stub() const { return v1::EventStore::NewStub(channel_); }

 private:
  std::string dir_;
  Authorizer authorizer_ = Authorizer::AllowAll();
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<EventStoreService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// A Subscribe read message by message; cancels on destruction.
class Subscriber {
 public:
  Subscriber(v1::EventStore::Stub& stub, uint64_t from_position,
             const v1::EventFilter& filter = v1::EventFilter()) {
    context_ = Context();
    v1::SubscribeRequest request;
    request.set_from_position(from_position);
    *request.mutable_filter() = filter;
    reader_ = stub.Subscribe(context_.get(), request);
  }
  ~Subscriber() {
    if (!finished_) {
      context_->TryCancel();
      v1::SubscribeResponse ignored;
      while (reader_->Read(&ignored)) {
      }
      reader_->Finish().ok();
    }
  }

  bool Read(v1::SubscribeResponse* message) { return reader_->Read(message); }
  // Reads until position `last` was delivered; false if the stream ended.
  bool ReadThrough(uint64_t last, std::vector<v1::SubscribeResponse>* messages) {
    v1::SubscribeResponse message;
    while (reader_->Read(&message)) {
      messages->push_back(message);
      if (message.events_size() > 0 &&
          message.events(message.events_size() - 1).position() >= last) {
        return true;
      }
    }
    return false;
  }
  grpc::Status Finish() {
    finished_ = true;
    return reader_->Finish();
  }
  void Cancel() { context_->TryCancel(); }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader_;
  bool finished_ = false;
};

std::vector<uint64_t> PositionsOf(const std::vector<v1::SubscribeResponse>& messages) {
  std::vector<uint64_t> out;
  for (const v1::SubscribeResponse& m : messages) {
    for (const v1::RecordedEvent& e : m.events()) out.push_back(e.position());
  }
  return out;
}

// ---------------------------------------------------------------------------
// Append

TEST(EventStoreServiceTest, AppendRecordsEventsReadBackWithTheirHashChain) {
  TestServer server;
  auto stub = server.EventStore();
  v1::AppendRequest request;
  request.set_stream("account-acme");
  *request.add_events() = Event("kam.v1.VisitRecorded", "visit", "id-1");
  *request.add_events() = Event("kam.v1.OrderPlaced", "order", "id-2");
  v1::AppendResponse response;
  ASSERT_TRUE(Append(*stub, request, &response).ok());
  EXPECT_EQ(response.first_version(), 0u);
  EXPECT_EQ(response.last_version(), 1u);
  EXPECT_EQ(response.first_position(), 1u);
  EXPECT_EQ(response.last_position(), 2u);

  v1::ReadStreamRequest read;
  read.set_stream("account-acme");
  auto outcome = ReadStream(*stub, read);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error_message();
  ASSERT_EQ(outcome.messages.size(), 1u);
  const auto& events = outcome.messages[0].events();
  ASSERT_EQ(events.size(), 2);
  EXPECT_EQ(events[0].event_id(), "id-1");
  EXPECT_EQ(events[0].stream(), "account-acme");
  EXPECT_EQ(events[0].type(), "kam.v1.VisitRecorded");
  EXPECT_EQ(events[0].data(), "visit");
  EXPECT_EQ(events[0].metadata().at("source"), "test");
  EXPECT_EQ(events[0].occurred_at().seconds(), 1700000000);
  EXPECT_EQ(events[0].occurred_at().nanos(), 123456789);
  EXPECT_GT(events[0].recorded_at().seconds(), 1700000000);
  EXPECT_EQ(events[0].prev_hash(), std::string(32, '\0'));
  EXPECT_EQ(events[0].hash().size(), 32u);
  EXPECT_EQ(events[1].prev_hash(), events[0].hash());
  EXPECT_EQ(events[1].version(), 1u);
  EXPECT_EQ(events[1].position(), 2u);
}

TEST(EventStoreServiceTest, AppendWithoutEventIdGetsOne) {
  TestServer server;
  auto stub = server.EventStore();
  ASSERT_TRUE(Append(*stub, AppendOf("s", 1)).ok());
  v1::ReadStreamRequest read;
  read.set_stream("s");
  auto outcome = ReadStream(*stub, read);
  ASSERT_EQ(outcome.Positions().size(), 1u);
  EXPECT_FALSE(outcome.messages[0].events(0).event_id().empty());
}

TEST(EventStoreServiceTest, AppendRejectsBadInputNamingTheField) {
  TestServer server;
  auto stub = server.EventStore();
  struct Case {
    v1::AppendRequest request;
    std::string field;
  };
  std::vector<Case> cases;
  cases.push_back({AppendOf("", 1), "stream"});
  cases.push_back({AppendOf("s", 0), "events"});
  v1::AppendRequest no_type = AppendOf("s", 2);
  no_type.mutable_events(1)->clear_type();
  cases.push_back({no_type, "events[1].type"});
  v1::AppendRequest bad_time = AppendOf("s", 1);
  bad_time.mutable_events(0)->mutable_occurred_at()->set_nanos(-1);
  cases.push_back({bad_time, "events[0].occurred_at"});
  v1::AppendRequest out_of_range = AppendOf("s", 1);
  out_of_range.mutable_events(0)->mutable_occurred_at()->set_seconds(253402300000);  // 9999.
  cases.push_back({out_of_range, "events[0].occurred_at"});
  v1::AppendRequest twice = AppendOf("s", 2);
  twice.mutable_events(0)->set_event_id("same");
  twice.mutable_events(1)->set_event_id("same");
  cases.push_back({twice, "events[1].event_id"});
  for (const Case& c : cases) {
    grpc::Status status = Append(*stub, c.request);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(status.error_message(), HasSubstr(c.field + ":"));
  }
  // Nothing was recorded.
  v1::GetStreamInfoRequest info;
  info.set_stream("s");
  v1::GetStreamInfoResponse response;
  auto context = Context();
  EXPECT_EQ(stub->GetStreamInfo(context.get(), info, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST(EventStoreServiceTest, AppendChecksTheExpectedVersion) {
  TestServer server;
  auto stub = server.EventStore();
  v1::AppendRequest request = AppendOf("s", 1);
  request.mutable_expected_version()->set_kind(v1::ExpectedVersion::KIND_STREAM_EXISTS);
  EXPECT_EQ(Append(*stub, request).error_code(), grpc::StatusCode::ABORTED);

  request.mutable_expected_version()->set_kind(v1::ExpectedVersion::KIND_NO_STREAM);
  ASSERT_TRUE(Append(*stub, request).ok());
  EXPECT_EQ(Append(*stub, request).error_code(), grpc::StatusCode::ABORTED);

  request.mutable_expected_version()->set_exact(0);
  ASSERT_TRUE(Append(*stub, request).ok());  // Now at version 1.

  request.mutable_expected_version()->set_exact(7);
  grpc::Status conflict = Append(*stub, request);
  EXPECT_EQ(conflict.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(conflict.error_message(),
              AllOf(HasSubstr("expected version 7"), HasSubstr("actual version 1")));

  request.mutable_expected_version()->set_kind(v1::ExpectedVersion::KIND_STREAM_EXISTS);
  v1::AppendResponse response;
  ASSERT_TRUE(Append(*stub, request, &response).ok());
  EXPECT_EQ(response.first_version(), 2u);
  request.clear_expected_version();  // Unset: any.
  ASSERT_TRUE(Append(*stub, request, &response).ok());
  EXPECT_EQ(response.first_version(), 3u);
}

TEST(EventStoreServiceTest, RetriedAppendReturnsTheFirstResult) {
  TestServer server;
  auto stub = server.EventStore();
  ASSERT_TRUE(Append(*stub, AppendOf("other", 3)).ok());
  v1::AppendRequest request;
  request.set_stream("s");
  request.mutable_expected_version()->set_kind(v1::ExpectedVersion::KIND_NO_STREAM);
  *request.add_events() = Event("t", "a", "retry-1");
  *request.add_events() = Event("t", "b", "retry-2");
  v1::AppendResponse first, again;
  ASSERT_TRUE(Append(*stub, request, &first).ok());
  ASSERT_TRUE(Append(*stub, AppendOf("other", 1)).ok());
  // Even though NO_STREAM no longer holds, the retry is recognised.
  ASSERT_TRUE(Append(*stub, request, &again).ok());
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(first.first_position(), 4u);

  v1::AppendRequest changed = request;
  changed.mutable_events(1)->set_data("other content");
  grpc::Status status = Append(*stub, changed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr("retry-2"));
}

TEST(EventStoreServiceTest, ConcurrentAppendsAllSucceedWithDistinctPositions) {
  TestServer server;
  constexpr int kClients = 32;
  constexpr int kAppendsEach = 20;
  std::vector<std::vector<uint64_t>> positions(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto stub = server.EventStore();
      for (int i = 0; i < kAppendsEach; ++i) {
        v1::AppendResponse response;
        grpc::Status status = Append(*stub, AppendOf(absl::StrCat("client-", c), 1), &response);
        EXPECT_TRUE(status.ok()) << status.error_message();
        positions[c].push_back(response.first_position());
      }
    });
  }
  for (std::thread& t : clients) t.join();
  std::vector<uint64_t> all;
  for (const auto& p : positions) all.insert(all.end(), p.begin(), p.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, Range(1, kClients * kAppendsEach));
}

// ---------------------------------------------------------------------------
// ReadStream

TEST(EventStoreServiceTest, ReadStreamHonoursFromVersionDirectionAndMaxCount) {
  TestServer server;
  auto stub = server.EventStore();
  Fill(*stub, "s", 10, 10);
  ASSERT_TRUE(Append(*stub, AppendOf("other", 2)).ok());

  v1::ReadStreamRequest request;
  request.set_stream("s");
  EXPECT_EQ(ReadStream(*stub, request).Versions(), Range(0, 9));

  request.set_from_version(3);
  request.set_max_count(4);
  EXPECT_EQ(ReadStream(*stub, request).Versions(), Range(3, 6));

  request.set_direction(v1::DIRECTION_BACKWARD);
  EXPECT_EQ(ReadStream(*stub, request).Versions(), Range(3, 0));

  request.clear_from_version();  // Backward from the last event.
  request.set_max_count(0);
  EXPECT_EQ(ReadStream(*stub, request).Versions(), Range(9, 0));

  request.set_from_version(1000);  // Beyond the end: from the last event.
  request.set_max_count(2);
  EXPECT_EQ(ReadStream(*stub, request).Versions(), Range(9, 8));

  request.set_direction(v1::DIRECTION_FORWARD);  // Beyond the end: nothing.
  auto beyond = ReadStream(*stub, request);
  EXPECT_TRUE(beyond.status.ok());
  EXPECT_TRUE(beyond.Versions().empty());
}

TEST(EventStoreServiceTest, ReadStreamErrors) {
  TestServer server;
  auto stub = server.EventStore();
  ASSERT_TRUE(Append(*stub, AppendOf("s", 1)).ok());
  v1::ReadStreamRequest request;
  request.set_stream("unknown");
  auto unknown = ReadStream(*stub, request);
  EXPECT_EQ(unknown.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.status.error_message(), HasSubstr("unknown"));
  EXPECT_TRUE(unknown.messages.empty());

  request.set_stream("");
  auto empty = ReadStream(*stub, request);
  EXPECT_EQ(empty.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(empty.status.error_message(), HasSubstr("stream:"));

  request.set_stream("s");
  request.set_direction(static_cast<v1::Direction>(7));
  auto bad_direction = ReadStream(*stub, request);
  EXPECT_EQ(bad_direction.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad_direction.status.error_message(), HasSubstr("direction:"));
}

TEST(EventStoreServiceTest, ReadStreamOfManyMegabytesArrivesCompleteInBatches) {
  TestServer server;
  auto stub = server.EventStore();
  Fill(*stub, "big", 3000, 500, std::string(2000, 'x'));
  v1::ReadStreamRequest request;
  request.set_stream("big");
  auto outcome = ReadStream(*stub, request);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error_message();
  EXPECT_EQ(outcome.Versions(), Range(0, 2999));
  EXPECT_GE(outcome.messages.size(), 5u);
  EXPECT_LE(outcome.messages.size(), 3000u / 100);  // Many events per message.
}

// ---------------------------------------------------------------------------
// ReadAll

TEST(EventStoreServiceTest, ReadAllForwardBackwardAndMaxCount) {
  TestServer server;
  auto stub = server.EventStore();
  Fill(*stub, "s", 10, 5);

  v1::ReadAllRequest request;
  auto all = ReadAll(*stub, request);
  ASSERT_TRUE(all.status.ok());
  EXPECT_EQ(all.Positions(), Range(1, 10));
  EXPECT_EQ(all.messages.back().next_position(), 11u);

  request.set_from_position(4);
  request.set_max_count(3);
  auto some = ReadAll(*stub, request);
  EXPECT_EQ(some.Positions(), Range(4, 6));
  EXPECT_EQ(some.messages.back().next_position(), 7u);

  request.set_direction(v1::DIRECTION_BACKWARD);
  auto back = ReadAll(*stub, request);
  EXPECT_EQ(back.Positions(), Range(4, 2));
  EXPECT_EQ(back.messages.back().next_position(), 1u);

  request.set_from_position(0);  // Backward from the head, to the start.
  request.set_max_count(0);
  auto whole = ReadAll(*stub, request);
  EXPECT_EQ(whole.Positions(), Range(10, 1));
  EXPECT_EQ(whole.messages.back().next_position(), 0u);

  request.set_from_position(100);  // Beyond the head: from the head.
  request.set_max_count(2);
  EXPECT_EQ(ReadAll(*stub, request).Positions(), Range(10, 9));

  request.set_direction(v1::DIRECTION_FORWARD);  // Beyond the head: nothing yet.
  auto beyond = ReadAll(*stub, request);
  EXPECT_TRUE(beyond.status.ok());
  EXPECT_TRUE(beyond.Positions().empty());
  ASSERT_EQ(beyond.messages.size(), 1u);
  EXPECT_EQ(beyond.messages[0].next_position(), 100u);

  request.set_direction(static_cast<v1::Direction>(9));
  EXPECT_EQ(ReadAll(*stub, request).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(EventStoreServiceTest, ReadAllOfAnEmptyLogSaysWhereToStart) {
  TestServer server;
  auto stub = server.EventStore();
  auto outcome = ReadAll(*stub, v1::ReadAllRequest());
  ASSERT_TRUE(outcome.status.ok());
  ASSERT_EQ(outcome.messages.size(), 1u);
  EXPECT_EQ(outcome.messages[0].events_size(), 0);
  EXPECT_EQ(outcome.messages[0].next_position(), 1u);
}

TEST(EventStoreServiceTest, ReadAllFiltersByStreamPrefixAndType) {
  TestServer server;
  auto stub = server.EventStore();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Append(*stub, AppendOf("account-a", 1)).ok());  // Odd positions.
    v1::AppendRequest catalog;
    catalog.set_stream("catalog");
    *catalog.add_events() = Event("kam.v1.ProductLaunched");
    ASSERT_TRUE(Append(*stub, catalog).ok());  // Even positions.
  }
  ASSERT_TRUE(Append(*stub, AppendOf("catalog", 1)).ok());  // 11: neither.

  v1::ReadAllRequest request;
  request.mutable_filter()->set_stream_prefix("account-");
  auto accounts = ReadAll(*stub, request);
  EXPECT_EQ(accounts.Positions(), (std::vector<uint64_t>{1, 3, 5, 7, 9}));
  // The skipped tail counts as read.
  EXPECT_EQ(accounts.messages.back().next_position(), 12u);

  request.clear_filter();
  request.mutable_filter()->add_types("kam.v1.ProductLaunched");
  request.mutable_filter()->add_types("kam.v1.Unknown");
  request.set_max_count(2);
  auto launches = ReadAll(*stub, request);
  EXPECT_EQ(launches.Positions(), (std::vector<uint64_t>{2, 4}));
  EXPECT_EQ(launches.messages.back().next_position(), 5u);
}

TEST(EventStoreServiceTest, ReadAllLargerThanOneMessageArrivesCompleteAndInOrder) {
  TestServer server;
  auto stub = server.EventStore();
  Fill(*stub, "a", 1500, 500, std::string(2000, 'x'));
  Fill(*stub, "b", 1500, 500, std::string(2000, 'y'));
  auto outcome = ReadAll(*stub, v1::ReadAllRequest());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error_message();
  EXPECT_EQ(outcome.Positions(), Range(1, 3000));
  EXPECT_GE(outcome.messages.size(), 5u);  // About 6 MB in about 1 MiB messages.
  for (const auto& m : outcome.messages) {
    EXPECT_LE(m.ByteSizeLong(), (1u << 20) + 4096);
    ASSERT_GT(m.events_size(), 0);
    EXPECT_EQ(m.next_position(), m.events(m.events_size() - 1).position() + 1);
  }
}

// ---------------------------------------------------------------------------
// GetStreamInfo

TEST(EventStoreServiceTest, GetStreamInfoDescribesTheStream) {
  TestServer server;
  auto stub = server.EventStore();
  ASSERT_TRUE(Append(*stub, AppendOf("s", 2)).ok());
  ASSERT_TRUE(Append(*stub, AppendOf("other", 1)).ok());
  ASSERT_TRUE(Append(*stub, AppendOf("s", 1)).ok());
  v1::GetStreamInfoRequest request;
  request.set_stream("s");
  v1::GetStreamInfoResponse info;
  auto context = Context();
  ASSERT_TRUE(stub->GetStreamInfo(context.get(), request, &info).ok());
  EXPECT_EQ(info.last_version(), 2u);
  EXPECT_EQ(info.last_position(), 4u);
  EXPECT_EQ(info.event_count(), 3u);
  EXPECT_GT(info.first_recorded_at().seconds(), 0);
  EXPECT_GE(absl::FromUnixSeconds(info.last_recorded_at().seconds()) +
                absl::Nanoseconds(info.last_recorded_at().nanos()),
            absl::FromUnixSeconds(info.first_recorded_at().seconds()) +
                absl::Nanoseconds(info.first_recorded_at().nanos()));

  request.set_stream("unknown");
  context = Context();
  grpc::Status unknown = stub->GetStreamInfo(context.get(), request, &info);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), HasSubstr("unknown"));

  request.set_stream("");
  context = Context();
  grpc::Status empty = stub->GetStreamInfo(context.get(), request, &info);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(empty.error_message(), HasSubstr("stream:"));
}

// ---------------------------------------------------------------------------
// Subscribe

TEST(EventStoreServiceTest, SubscribeCatchesUpThenFollowsLiveSeeingEachPositionOnce) {
  TestServer server;
  auto stub = server.EventStore();
  Fill(*stub, "past", 500, 50);

  Subscriber subscriber(*stub, 0);
  std::atomic<bool> appends_ok{true};
  std::thread appender([&] {
    auto writer = server.EventStore();
    for (int i = 0; i < 100; ++i) {
      // Both single events and small batches, from two streams.
      if (!Append(*writer, AppendOf(i % 2 ? "live-a" : "live-b", 1 + (i % 2) * 8)).ok()) {
        appends_ok = false;
      }
    }
  });
  std::vector<v1::SubscribeResponse> messages;
  const bool complete = subscriber.ReadThrough(1000, &messages);
  appender.join();
  ASSERT_TRUE(appends_ok);
  ASSERT_TRUE(complete);
  EXPECT_EQ(PositionsOf(messages), Range(1, 1000));

  int caught_up = 0;
  uint64_t previous_next = 0;
  for (const v1::SubscribeResponse& m : messages) {
    caught_up += m.caught_up();
    if (m.events_size() > 0) {
      EXPECT_EQ(m.next_position(), m.events(m.events_size() - 1).position() + 1);
    }
    EXPECT_GE(m.next_position(), previous_next);
    previous_next = m.next_position();
  }
  EXPECT_EQ(caught_up, 1);
}

TEST(EventStoreServiceTest, SubscribeAtTheHeadSaysCaughtUpThenDeliversNewEvents) {
  TestServer server;
  auto stub = server.EventStore();
  Subscriber subscriber(*stub, 0);
  v1::SubscribeResponse message;
  ASSERT_TRUE(subscriber.Read(&message));
  EXPECT_TRUE(message.caught_up());
  EXPECT_EQ(message.events_size(), 0);
  EXPECT_EQ(message.next_position(), 1u);

  ASSERT_TRUE(Append(*stub, AppendOf("s", 3)).ok());
  std::vector<v1::SubscribeResponse> messages;
  ASSERT_TRUE(subscriber.ReadThrough(3, &messages));
  EXPECT_EQ(PositionsOf(messages), Range(1, 3));
  EXPECT_FALSE(messages.back().caught_up());
  EXPECT_EQ(messages.back().next_position(), 4u);
}

TEST(EventStoreServiceTest, SubscribeResumesFromTheLastNextPosition) {
  TestServer server;
  auto stub = server.EventStore();
  Fill(*stub, "s", 20, 10);
  uint64_t resume_at = 0;
  {
    Subscriber first(*stub, 0);
    std::vector<v1::SubscribeResponse> messages;
    ASSERT_TRUE(first.ReadThrough(20, &messages));
    resume_at = messages.back().next_position();
  }
  ASSERT_TRUE(Append(*stub, AppendOf("s", 5)).ok());
  Subscriber second(*stub, resume_at);
  std::vector<v1::SubscribeResponse> messages;
  ASSERT_TRUE(second.ReadThrough(25, &messages));
  EXPECT_EQ(PositionsOf(messages), Range(21, 25));
}

TEST(EventStoreServiceTest, SubscriberResumesAfterAServerRestartWithoutGapOrRepeat) {
  TestServer server;
  uint64_t resume_at = 0;
  {
    auto stub = server.EventStore();
    Fill(*stub, "s", 30, 10);
    Subscriber first(*stub, 0);
    std::vector<v1::SubscribeResponse> messages;
    ASSERT_TRUE(first.ReadThrough(30, &messages));
    resume_at = messages.back().next_position();
  }
  server.Stop();
  server.Start();
  auto stub = server.EventStore();
  ASSERT_TRUE(Append(*stub, AppendOf("s", 7)).ok());
  Subscriber second(*stub, resume_at);
  std::vector<v1::SubscribeResponse> messages;
  ASSERT_TRUE(second.ReadThrough(37, &messages));
  EXPECT_EQ(PositionsOf(messages), Range(31, 37));
}

TEST(EventStoreServiceTest, FilteredSubscribeGetsOnlyMatchingEventsAndProgress) {
  TestServer server;
  auto stub = server.EventStore();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(Append(*stub, AppendOf(i % 2 ? "account-1" : "noise", 1)).ok());
  }
  v1::EventFilter filter;
  filter.set_stream_prefix("account-");
  Subscriber subscriber(*stub, 0, filter);
  std::vector<v1::SubscribeResponse> messages;
  v1::SubscribeResponse message;
  while (subscriber.Read(&message)) {
    messages.push_back(message);
    if (message.caught_up()) break;
  }
  ASSERT_TRUE(messages.back().caught_up());
  EXPECT_EQ(PositionsOf(messages), (std::vector<uint64_t>{2, 4, 6, 8, 10}));
  EXPECT_EQ(messages.back().next_position(), 11u);

  ASSERT_TRUE(Append(*stub, AppendOf("noise", 3)).ok());      // 11-13
  ASSERT_TRUE(Append(*stub, AppendOf("account-2", 1)).ok());  // 14
  ASSERT_TRUE(subscriber.Read(&message));
  ASSERT_EQ(message.events_size(), 1);
  EXPECT_EQ(message.events(0).position(), 14u);
  EXPECT_EQ(message.events(0).stream(), "account-2");
  EXPECT_EQ(message.next_position(), 15u);
  EXPECT_FALSE(message.caught_up());
}

TEST(EventStoreServiceTest, SubscribeFromBeyondTheHeadWaitsForThatPosition) {
  TestServer server;
  auto stub = server.EventStore();
  ASSERT_TRUE(Append(*stub, AppendOf("s", 2)).ok());
  Subscriber subscriber(*stub, 4);
  v1::SubscribeResponse message;
  ASSERT_TRUE(subscriber.Read(&message));
  EXPECT_TRUE(message.caught_up());
  EXPECT_EQ(message.next_position(), 4u);
  ASSERT_TRUE(Append(*stub, AppendOf("s", 3)).ok());
  std::vector<v1::SubscribeResponse> messages;
  ASSERT_TRUE(subscriber.ReadThrough(5, &messages));
  EXPECT_EQ(PositionsOf(messages), Range(4, 5));
}

TEST(EventStoreServiceTest, ManyLiveSubscribersEachSeeEveryEventOnce) {
  TestServer server;
  auto stub = server.EventStore();
  constexpr int kSubscribers = 20;
  constexpr uint64_t kEvents = 200;
  std::vector<std::unique_ptr<Subscriber>> subscribers;
  for (int i = 0; i < kSubscribers; ++i) {
    subscribers.push_back(std::make_unique<Subscriber>(*stub, 0));
    v1::SubscribeResponse caught_up;
    ASSERT_TRUE(subscribers.back()->Read(&caught_up));
    ASSERT_TRUE(caught_up.caught_up());
  }
  std::vector<std::vector<v1::SubscribeResponse>> received(kSubscribers);
  std::vector<std::thread> readers;
  for (int i = 0; i < kSubscribers; ++i) {
    readers.emplace_back([&, i] { subscribers[i]->ReadThrough(kEvents, &received[i]); });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto writer = server.EventStore();
      for (int i = 0; i < 10; ++i) {
        EXPECT_TRUE(Append(*writer, AppendOf(absl::StrCat("w", w), 5)).ok());
      }
    });
  }
  for (std::thread& t : writers) t.join();
  for (std::thread& t : readers) t.join();
  for (int i = 0; i < kSubscribers; ++i) {
    EXPECT_EQ(PositionsOf(received[i]), Range(1, kEvents)) << "subscriber " << i;
  }
}

TEST(EventStoreServiceTest, StalledSubscriberIsHeldBackWithoutBlockingAppends) {
  DirectServer server;
  auto stub = server.Stub();
  const std::string big(32 << 10, 'x');
  constexpr int kEvents = 1000;  // About 32 MB: more than gRPC and TCP buffer.
  Fill(*stub, "s", kEvents / 2, 50, big);

  Subscriber stalled(*stub, 0);  // Reads nothing for now.
  // Appends go on and complete while the subscriber does not read.
  std::vector<std::thread> writers;
  std::atomic<int> appended{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto writer = server.Stub();
      for (int i = 0; i < kEvents / 2 / 4 / 25; ++i) {
        if (Append(*writer, AppendOf(absl::StrCat("w", w), 25, big)).ok()) appended += 25;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(appended, kEvents / 2);

  // The server stops writing to it once the transport is full: it holds at
  // most one message for it, never the log.
  uint64_t written = server.service().subscribe_messages_written();
  EXPECT_TRUE(WaitFor([&] {
    absl::SleepFor(absl::Milliseconds(200));
    const uint64_t now = server.service().subscribe_messages_written();
    const bool settled = now == written;
    written = now;
    return settled;
  }));
  const uint64_t whole_log_messages = uint64_t{kEvents} * big.size() / (1 << 20);
  EXPECT_LT(written, whole_log_messages / 2) << "of " << whole_log_messages;

  // Nothing was dropped: once it reads, it gets everything in order.
  std::vector<v1::SubscribeResponse> messages;
  ASSERT_TRUE(stalled.ReadThrough(kEvents, &messages));
  EXPECT_EQ(PositionsOf(messages), Range(1, kEvents));
}

TEST(EventStoreServiceTest, CancelledSubscribesAreCleanedUp) {
  DirectServer server;
  auto stub = server.Stub();
  Fill(*stub, "s", 300, 100, std::string(32 << 10, 'x'));  // About 10 MB.
  {
    Subscriber live(*stub, 0);
    std::vector<v1::SubscribeResponse> messages;
    ASSERT_TRUE(live.ReadThrough(300, &messages));  // At the head, waiting.
    Subscriber stalled(*stub, 0);                   // A write under way.
    v1::SubscribeResponse message;
    ASSERT_TRUE(stalled.Read(&message));
    EXPECT_EQ(server.service().subscriber_count(), 2u);
    live.Cancel();
    stalled.Cancel();
    EXPECT_EQ(live.Finish().error_code(), grpc::StatusCode::CANCELLED);
    EXPECT_EQ(stalled.Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_TRUE(WaitFor([&] { return server.service().subscriber_count() == 0; }));
  // Commits after the cancel reach no one and break nothing.
  EXPECT_TRUE(Append(*stub, AppendOf("s", 1)).ok());
  Subscriber again(*stub, 301);
  std::vector<v1::SubscribeResponse> messages;
  ASSERT_TRUE(again.ReadThrough(301, &messages));
}

TEST(EventStoreServiceTest, BeginShutdownEndsLiveSubscribesAndRefusesNewOnes) {
  DirectServer server;
  auto stub = server.Stub();
  ASSERT_TRUE(Append(*stub, AppendOf("s", 2)).ok());
  Subscriber first(*stub, 0);
  Subscriber second(*stub, 0);
  std::vector<v1::SubscribeResponse> messages;
  ASSERT_TRUE(first.ReadThrough(2, &messages));
  ASSERT_TRUE(second.ReadThrough(2, &messages));
  ASSERT_EQ(server.service().subscriber_count(), 2u);

  server.service().BeginShutdown();
  for (Subscriber* s : {&first, &second}) {
    v1::SubscribeResponse message;
    while (s->Read(&message)) {
    }
    grpc::Status status = s->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(status.error_message(), "server shutting down");
  }
  EXPECT_TRUE(WaitFor([&] { return server.service().subscriber_count() == 0; }));

  Subscriber late(*stub, 0);
  v1::SubscribeResponse message;
  EXPECT_FALSE(late.Read(&message));
  EXPECT_EQ(late.Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(Append(*stub, AppendOf("s", 1)).ok());  // Other calls still work.
}

TEST(EventStoreServiceTest, ServerShutdownDoesNotWaitForLiveSubscribes) {
  TestServer server;
  auto stub = server.EventStore();
  Subscriber subscriber(*stub, 0);
  v1::SubscribeResponse message;
  ASSERT_TRUE(subscriber.Read(&message));
  ASSERT_TRUE(message.caught_up());
  const absl::Time start = absl::Now();
  server.server().Shutdown(absl::Now() + absl::Seconds(30));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  while (subscriber.Read(&message)) {
  }
  EXPECT_EQ(subscriber.Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace kam::services
