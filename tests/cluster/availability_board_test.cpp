// The availability board's pure parts (cluster/availability_board): the bucket key of a product
// id, the value's JSON, and which of two entries a node keeps.
#include <tuple>

#include <gtest/gtest.h>

#include "cluster/availability_board.hpp"

namespace {

using flashsale::cluster::availability_entry;

TEST(AvailabilityBoard, KeysAreValidKvKeysAndEntriesOrderByEpochThenVersion) {
  EXPECT_EQ(flashsale::cluster::availability_key("sku-1_A"), "sku-1_A");
  EXPECT_EQ(flashsale::cluster::availability_key(".a:b..c="), "=2Ea=3Ab=2E=2Ec=3D");
  availability_entry held{"p", 0, 7, 100};
  EXPECT_TRUE(flashsale::cluster::supersedes({"p", 3, 7, 101}, held));
  EXPECT_FALSE(flashsale::cluster::supersedes({"p", 3, 7, 100}, held));
  EXPECT_FALSE(flashsale::cluster::supersedes({"p", 3, 6, 999}, held))
      << "a former owner's late put";
  EXPECT_TRUE(flashsale::cluster::supersedes({"p", 3, 8, 1}, held))
      << "a new owner, its own counter";
  auto back = flashsale::cluster::availability_of(flashsale::cluster::availability_json(held));
  ASSERT_TRUE(back);
  EXPECT_EQ(
      std::make_tuple(back->product_id, back->available, back->epoch, back->version),
      std::make_tuple(std::string("p"), std::int64_t{0}, std::uint64_t{7}, std::uint64_t{100}));
  EXPECT_FALSE(flashsale::cluster::availability_of(R"({"product_id":"p","available":"0"})"));
  EXPECT_FALSE(flashsale::cluster::availability_of("not json"));
}

} // namespace
