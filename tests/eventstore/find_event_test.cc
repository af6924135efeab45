// FindEvent: the event-id index as readers see it.

#include "gtest/gtest.h"
#include "tests/eventstore/test_support.h"

namespace kam::eventstore::testing {
namespace {

class FindEventTest : public LogTest {};

TEST_F(FindEventTest, FindsARecordedEventByIdWithItsCoordinates) {
  ASSERT_TRUE(log().Append("a", ExpectedVersion::Any(), {MakeEvent("x1"), MakeEvent("x2")}).ok());
  auto found = log().FindEvent("x2");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->stream, "a");
  EXPECT_EQ((*found)->version, 1u);
  EXPECT_EQ((*found)->position, 2u);
  EXPECT_EQ((*found)->hash.size(), 32u);
}

TEST_F(FindEventTest, UnknownIdIsNotAnError) {
  auto found = log().FindEvent("nope");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST_F(FindEventTest, SurvivesReopen) {
  ASSERT_TRUE(log().Append("a", ExpectedVersion::Any(), {MakeEvent("kept")}).ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  auto found = log().FindEvent("kept");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->position, 1u);
}

}  // namespace
}  // namespace kam::eventstore::testing
