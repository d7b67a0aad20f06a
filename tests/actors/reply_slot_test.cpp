// The caller-side bridge: one answer per slot, the first wins, and a reply_to whose every
// copy dies unanswered answers the value given for that case at once instead of leaving the
// caller to time out.
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "actors/reply_slot.hpp"

using namespace flashsale;
using namespace std::chrono_literals;

TEST(ReplySlot, DeliversTheFirstAnswerOnly) {
  auto slot = std::make_shared<reply_slot<std::string>>();
  reply_to<std::string> reply{slot, "dropped"};
  reply("first");
  reply("second");
  auto a = slot->wait_for(0ms);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, "first");
}

TEST(ReplySlot, WakesACallerWaitingOnAnotherThread) {
  auto slot = std::make_shared<reply_slot<std::string>>();
  std::thread actor([reply = reply_to<std::string>{slot, "dropped"}] { reply("ok"); });
  auto a = slot->wait_for(10s);
  actor.join();
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, "ok");
}

TEST(ReplySlot, DroppedUnansweredAnswersAtOnce) {
  auto slot = std::make_shared<reply_slot<std::string>>();
  {
    reply_to<std::string> reply{slot, "dropped"};
    auto copy = reply; // the message and the actor each hold one
  }
  auto a = slot->wait_for(0ms);
  ASSERT_TRUE(a) << "the caller must not wait for its timeout";
  EXPECT_EQ(*a, "dropped");
}

TEST(ReplySlot, AnsweredThenDroppedKeepsTheAnswer) {
  auto slot = std::make_shared<reply_slot<std::string>>();
  {
    reply_to<std::string> reply{slot, "dropped"};
    reply("real");
  }
  EXPECT_EQ(*slot->wait_for(0ms), "real");
}

TEST(ReplySlot, NoAnswerYetIsATimeout) {
  auto slot = std::make_shared<reply_slot<std::string>>();
  reply_to<std::string> reply{slot, "dropped"};
  EXPECT_FALSE(slot->wait_for(1ms));
}
