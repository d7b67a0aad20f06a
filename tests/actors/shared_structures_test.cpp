// Small shared structures of the actors layer: the expiry book (producers add without waking
// the scheduler unless its armed timer would fire too late; the scheduler takes due orders in
// bounded batches) and the answered-keys read model.
#include <gtest/gtest.h>

#include "actors/expiry_book.hpp"
#include "actors/read_models.hpp"

using namespace flashsale;

TEST(ExpiryBook, OnlyAnExpiryEarlierThanTheArmedWakeUpNeedsTheScheduler) {
  expiry_book book;
  EXPECT_TRUE(book.add("o-1", 5000)) << "nothing is armed yet";
  EXPECT_EQ(book.plan_wake(0, 1000), 1000) << "capped at max_sleep";
  EXPECT_FALSE(book.add("o-2", 6000)) << "the armed timer fires first anyway";
  EXPECT_FALSE(book.plan_wake(0, 1000)) << "a timer that fires as soon is already armed";
  EXPECT_TRUE(book.add("o-3", 500)) << "earlier than the armed wake-up";
  EXPECT_EQ(book.plan_wake(0, 1000), 500);
  book.timer_fired();
  EXPECT_TRUE(book.add("o-4", 9000)) << "no timer is pending after it fired";
}

TEST(ExpiryBook, TakesDueOrdersEarliestFirstAtMostABatch) {
  expiry_book book;
  book.add("late", 300);
  book.add("early", 100);
  book.add("middle", 200);
  book.add("future", 999);
  EXPECT_EQ(book.take_due(300, 2), (std::vector<std::string>{"early", "middle"}));
  EXPECT_TRUE(book.due(300));
  EXPECT_EQ(book.take_due(300, 2), (std::vector<std::string>{"late"}));
  EXPECT_FALSE(book.due(300));
  EXPECT_EQ(book.size(), 1u);
  EXPECT_FALSE(book.plan_wake(5000, 1000) == std::nullopt);
}

TEST(AnsweredKeys, RemembersWhichKeysHaveAStoredAnswerPerUser) {
  answered_keys keys;
  EXPECT_FALSE(keys.maybe("u-1", "k"));
  keys.add("u-1", "k");
  EXPECT_TRUE(keys.maybe("u-1", "k"));
  EXPECT_FALSE(keys.maybe("u-2", "k")) << "keys are scoped to the user";
  EXPECT_FALSE(keys.maybe("u-1k", "")) << "the pair is unambiguous";
  EXPECT_EQ(keys.size(), 1u);
}
