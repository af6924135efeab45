// The hash chain: how hashes link, Verify over whole and partial logs, and
// Verify finding a stored event changed behind the log's back.

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "eventstore/canonical_encoding.h"
#include "eventstore/event_log.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "tests/eventstore/test_support.h"

namespace kam::eventstore {
namespace {

using ::kam::eventstore::testing::LogTest;
using ::kam::eventstore::testing::MakeEvent;
using ::kam::eventstore::testing::ReadWholeLog;

constexpr uint64_t kEvents = 10;

class VerifyTest : public LogTest {
 protected:
  // kEvents events over three streams, in batches of 1 to 3, with metadata.
  void AppendSample() {
    const char* streams[] = {"acct-1", "acct-2", "other"};
    uint64_t appended = 0;
    for (int round = 0; appended < kEvents; ++round) {
      std::vector<EventData> batch;
      for (int j = 0; j <= round % 3 && appended < kEvents; ++j, ++appended) {
        batch.push_back(MakeEvent(absl::StrCat("e", appended + 1), "kam.v1.Sample",
                                  absl::StrCat("data of ", appended + 1)));
      }
      clock_.Advance(absl::Milliseconds(7));
      KAM_ASSERT_OK(log().Append(streams[round % 3], ExpectedVersion::Any(), batch));
    }
  }
};

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }

TEST(CanonicalEncodingTest, ChainHashIsSha256OfPrevHashThenCanonicalBytes) {
  // FIPS 180-2 test vector: SHA-256("abc").
  EXPECT_EQ(Hex(ChainHash("", "abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ChainHash("a", "bc"), ChainHash("", "abc"));
  EXPECT_EQ(GenesisHash(), std::string(32, '\0'));
}

TEST(CanonicalEncodingTest, CanonicalBytesFollowTheDocumentedLayout) {
  RecordedEvent e;
  e.position = 0x0102030405060708;
  e.stream = "s";
  e.version = 2;
  e.event_id = "id";
  e.type = "t";
  e.occurred_at = absl::FromUnixNanos(-1);
  e.recorded_at = absl::FromUnixNanos(256);
  e.metadata = {{"b", "2"}, {"a", "1"}};
  e.data = "xyz";
  e.prev_hash = "ignored";
  e.hash = "ignored too";
  const std::string expected = absl::HexStringToBytes(
      "01"                // format
      "0102030405060708"  // position
      "00000001"
      "73"                // stream "s"
      "0000000000000002"  // version
      "00000002"
      "6964"  // event_id "id"
      "00000001"
      "74"                // type "t"
      "ffffffffffffffff"  // occurred_at -1 ns
      "0000000000000100"  // recorded_at 256 ns
      "00000002"          // two metadata entries, sorted
      "00000001"
      "61"
      "00000001"
      "31"  // "a" -> "1"
      "00000001"
      "62"
      "00000001"
      "32"  // "b" -> "2"
      "00000003"
      "78797a");  // data "xyz"
  EXPECT_EQ(Hex(CanonicalBytes(e)), Hex(expected));
}

TEST_F(VerifyTest, HashesChainFromGenesis) {
  ASSERT_NO_FATAL_FAILURE(AppendSample());
  std::vector<RecordedEvent> all = ReadWholeLog(log());
  ASSERT_EQ(all.size(), kEvents);
  for (size_t i = 0; i < all.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("position ", all[i].position));
    EXPECT_EQ(all[i].position, i + 1);
    const std::string& expected_prev = i == 0 ? GenesisHash() : all[i - 1].hash;
    EXPECT_EQ(Hex(all[i].prev_hash), Hex(expected_prev));
    EXPECT_EQ(Hex(all[i].hash), Hex(ChainHash(all[i].prev_hash, CanonicalBytes(all[i]))));
  }
  EXPECT_EQ(log().Head().hash, all.back().hash);
}

TEST_F(VerifyTest, VerifyWholeLogIsOk) {
  ASSERT_NO_FATAL_FAILURE(AppendSample());
  for (uint64_t to : {uint64_t{0}, kEvents, std::numeric_limits<uint64_t>::max()}) {
    SCOPED_TRACE(absl::StrCat("to ", to));
    KAM_ASSERT_OK_AND_ASSIGN(VerifyResult v, log().Verify(1, to));
    EXPECT_TRUE(v.ok) << v.problem;
    EXPECT_EQ(v.checked, kEvents);
    EXPECT_EQ(v.first_bad_position, 0u);
    EXPECT_EQ(Hex(v.head_hash), Hex(log().Head().hash));
  }
}

TEST_F(VerifyTest, VerifyRangeChecksOnlyThatRange) {
  ASSERT_NO_FATAL_FAILURE(AppendSample());
  std::vector<RecordedEvent> all = ReadWholeLog(log());
  ASSERT_EQ(all.size(), kEvents);
  KAM_ASSERT_OK_AND_ASSIGN(VerifyResult v, log().Verify(3, 5));
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.checked, 3u);
  EXPECT_EQ(Hex(v.head_hash), Hex(all[4].hash));
}

TEST_F(VerifyTest, VerifyEmptyLogIsOk) {
  KAM_ASSERT_OK_AND_ASSIGN(VerifyResult v, log().Verify(1, 0));
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.checked, 0u);
  EXPECT_EQ(v.first_bad_position, 0u);
}

// Which stored bytes of an entry to change.
enum class Region { kLastDataByte, kStoredHash, kStoredPrevHash };

// Opens the closed log's RocksDB directly and flips one byte of the entry at
// `position` (family "log", key u64 big-endian position, value prev_hash(32)
// || hash(32) || CanonicalBytes). `original` is that event as read through
// the log, to check the layout is what this test assumes.
void FlipStoredByte(const std::string& dir, const RecordedEvent& original, Region region) {
  rocksdb::DBOptions db_options;
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, dir, &names);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const std::string& name : names) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::Open(db_options, dir, families, &handles, &raw);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* log_family = nullptr;
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    if (h->GetName() == "log") log_family = h;
  }
  // Closes the database however this function ends.
  struct Closer {
    rocksdb::DB* db;
    std::vector<rocksdb::ColumnFamilyHandle*>* handles;
    ~Closer() {
      for (rocksdb::ColumnFamilyHandle* h : *handles) db->DestroyColumnFamilyHandle(h);
      db->Close().PermitUncheckedError();
    }
  } closer{db.get(), &handles};
  ASSERT_NE(log_family, nullptr) << "no column family named 'log'";

  std::string key;
  for (int shift = 56; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>((original.position >> shift) & 0xff));
  }
  std::string value;
  s = db->Get(rocksdb::ReadOptions(), log_family, key, &value);
  ASSERT_TRUE(s.ok()) << "position " << original.position << ": " << s.ToString();
  ASSERT_EQ(Hex(value.substr(0, 32)), Hex(original.prev_hash)) << "layout changed?";
  ASSERT_EQ(Hex(value.substr(32, 32)), Hex(original.hash)) << "layout changed?";
  ASSERT_EQ(Hex(value.substr(64)), Hex(CanonicalBytes(original))) << "layout changed?";
  ASSERT_FALSE(original.data.empty());

  switch (region) {
    case Region::kLastDataByte:
      value.back() ^= 0x01;  // CanonicalBytes ends with the data.
      break;
    case Region::kStoredHash:
      value[40] ^= 0x80;
      break;
    case Region::kStoredPrevHash:
      value[5] ^= 0x80;
      break;
  }
  rocksdb::WriteOptions sync;
  sync.sync = true;
  s = db->Put(sync, log_family, key, value);
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = db->Flush(rocksdb::FlushOptions(), handles);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

class TamperTest : public VerifyTest {
 protected:
  // Changes position `bad` of a kEvents-event log and expects Verify to
  // report exactly that position, and the chain before it to be intact.
  void ExpectTamperingFoundAt(uint64_t bad, Region region) {
    ASSERT_NO_FATAL_FAILURE(AppendSample());
    std::vector<RecordedEvent> all = ReadWholeLog(log());
    ASSERT_EQ(all.size(), kEvents);
    Close();
    ASSERT_NO_FATAL_FAILURE(FlipStoredByte(log_dir(), all[bad - 1], region));
    ASSERT_NO_FATAL_FAILURE(Open());

    KAM_ASSERT_OK_AND_ASSIGN(VerifyResult v, log().Verify(1, 0));
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.first_bad_position, bad);
    EXPECT_FALSE(v.problem.empty());

    KAM_ASSERT_OK_AND_ASSIGN(VerifyResult before, log().Verify(1, bad - 1));
    EXPECT_TRUE(before.ok) << before.problem;
    EXPECT_EQ(before.checked, bad - 1);
    EXPECT_EQ(Hex(before.head_hash), Hex(all[bad - 2].hash));
  }
};

TEST_F(TamperTest, ChangedDataByteFailsVerificationAtThatPosition) {
  ExpectTamperingFoundAt(4, Region::kLastDataByte);
}

TEST_F(TamperTest, ChangedStoredHashFailsVerificationAtThatPosition) {
  ExpectTamperingFoundAt(6, Region::kStoredHash);
}

TEST_F(TamperTest, ChangedStoredPrevHashFailsVerificationAtThatPosition) {
  ExpectTamperingFoundAt(7, Region::kStoredPrevHash);
}

}  // namespace
}  // namespace kam::eventstore
