// The caller-side bridge: one answer per slot, the first wins, and a reply_to whose every
// copy dies unanswered tells the waiting caller to retry instead of leaving it to time out.
#include "actors/reply_slot.hpp"

#include <thread>

#include <gtest/gtest.h>

using namespace flashsale;
using namespace std::chrono_literals;

TEST(ReplySlot, DeliversTheFirstAnswerOnly) {
  auto slot = std::make_shared<reply_slot>();
  reply_to reply{slot};
  reply(answer{201, "first", false});
  reply(answer{409, "second", false});
  auto a = slot->wait_for(0ms);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 201);
  EXPECT_EQ(a->body, "first");
}

TEST(ReplySlot, WakesACallerWaitingOnAnotherThread) {
  auto slot = std::make_shared<reply_slot>();
  std::thread actor([reply = reply_to{slot}] { reply(answer{200, "ok", false}); });
  auto a = slot->wait_for(10s);
  actor.join();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->body, "ok");
}

TEST(ReplySlot, DroppedUnansweredMeansRetryAtOnce) {
  auto slot = std::make_shared<reply_slot>();
  {
    reply_to reply{slot};
    auto copy = reply; // the message and the saga each hold one
  }
  auto a = slot->wait_for(0ms);
  ASSERT_TRUE(a) << "the caller must not wait for its timeout";
  EXPECT_EQ(a->status, status_retry);
}

TEST(ReplySlot, NoAnswerYetIsATimeout) {
  auto slot = std::make_shared<reply_slot>();
  reply_to reply{slot};
  EXPECT_FALSE(slot->wait_for(1ms));
}
