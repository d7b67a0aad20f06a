// The pure parts of the adapter without HTTP: validation, the rate limiter, the admission
// gate, the secrets files and the constant-time comparisons.
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "events/clock.hpp"
#include "http/admission.hpp"
#include "http/error_response.hpp"
#include "http/rate_limiter.hpp"
#include "http/secrets.hpp"
#include "http/validation.hpp"
#include "tests/support/temp_dir.hpp"

using namespace flashsale;

namespace {

template <class T>
std::string message_of(const parsed<T>& p) {
  auto r = std::get_if<rejection>(&p);
  return r ? r->message : "<accepted>";
}

} // namespace

TEST(Validation, IdsAreOneTo128CharactersOfTheAllowedSet) {
  EXPECT_TRUE(is_valid_id("A-z_0.9:x"));
  EXPECT_TRUE(is_valid_id(std::string(128, 'a')));
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id(std::string(129, 'a')));
  for (std::string bad : {std::string("a b"), std::string("a/b"), std::string("é"),
                          std::string("a\nb"), std::string("a\0b", 3)})
    EXPECT_FALSE(is_valid_id(bad)) << bad;
}

TEST(Validation, OrderShorthandAndItemsGiveTheSameRequest) {
  auto a = parse_order_request(R"({"user_id":"u","product_id":"p","quantity":2})", std::nullopt);
  auto b = parse_order_request(R"({"user_id":"u","items":[{"product_id":"p","quantity":2}]})",
                               std::nullopt);
  ASSERT_EQ(a.index(), 0u) << message_of(a);
  ASSERT_EQ(b.index(), 0u) << message_of(b);
  auto& ra = std::get<order_request>(a);
  auto& rb = std::get<order_request>(b);
  EXPECT_EQ(ra.user_id, rb.user_id);
  ASSERT_EQ(ra.items.size(), 1u);
  EXPECT_EQ(ra.items[0].product_id, rb.items[0].product_id);
  EXPECT_EQ(ra.items[0].quantity, 2);
}

TEST(Validation, IdempotencyKeyFromHeaderOrRequestIdMustAgree) {
  auto header =
      parse_order_request(R"({"user_id":"u","product_id":"p","quantity":1})", std::string("k"));
  ASSERT_EQ(header.index(), 0u);
  EXPECT_EQ(std::get<order_request>(header).idempotency_key, "k");
  auto body = parse_order_request(
      R"({"user_id":"u","product_id":"p","quantity":1,"request_id":"k"})", std::nullopt);
  EXPECT_EQ(std::get<order_request>(body).idempotency_key, "k");
  auto both = parse_order_request(
      R"({"user_id":"u","product_id":"p","quantity":1,"request_id":"k"})", std::string("k"));
  EXPECT_EQ(both.index(), 0u);
  auto differ = parse_order_request(
      R"({"user_id":"u","product_id":"p","quantity":1,"request_id":"j"})", std::string("k"));
  EXPECT_NE(message_of(differ).find("differ"), std::string::npos);
  auto empty =
      parse_order_request(R"({"user_id":"u","product_id":"p","quantity":1})", std::string(""));
  EXPECT_NE(message_of(empty).find("Idempotency-Key"), std::string::npos);
}

TEST(Validation, IntegersAreCheckedWithoutOverflow) {
  for (std::string q : {"18446744073709551615", "9223372036854775808", "-9223372036854775808",
                        "1e3", "1.0", "true", "null", "[]"})
    EXPECT_NE(
        message_of(parse_order_request(R"({"user_id":"u","product_id":"p","quantity":)" + q + "}",
                                       std::nullopt))
            .find("quantity"),
        std::string::npos)
        << q;
}

TEST(Validation, WebhookIgnoresUnknownFieldsAndReadsTheAmount) {
  auto w = parse_webhook(R"({"event_id":"e","order_id":"o","payment_id":"p","status":"succeeded",)"
                         R"("amount_cents":5,"livemode":false})");
  ASSERT_EQ(w.index(), 0u) << message_of(w);
  auto& call = std::get<webhook_call>(w);
  EXPECT_EQ(call.order_id, "o");
  auto* s = std::get_if<payment_succeeded>(&call.command);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->amount_cents, 5);
  auto failed =
      parse_webhook(R"({"event_id":"e","order_id":"o","payment_id":"p","status":"failed"})");
  ASSERT_EQ(failed.index(), 0u);
  EXPECT_NE(std::get_if<payment_failed>(&std::get<webhook_call>(failed).command), nullptr);
}

TEST(ErrorResponse, BodyIsTheDocumentedShape) {
  EXPECT_EQ(error_body(errc::sold_out, "gone"),
            R"({"error":{"code":"sold_out","message":"gone"}})");
  // Invalid UTF-8 echoed from a client never throws.
  EXPECT_NO_THROW(error_body(errc::invalid_request, std::string("\xff\xfe")));
}

TEST(RateLimiter, BurstThenRefillAtTheRate) {
  manual_clock time(0);
  rate_limiter limiter(2, 3, time);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(limiter.take("u").allowed) << i;
  auto refused = limiter.take("u");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 1);
  time.advance(std::chrono::milliseconds(500)); // one token at 2/s
  EXPECT_TRUE(limiter.take("u").allowed);
  EXPECT_FALSE(limiter.take("u").allowed);
  time.advance(std::chrono::hours(1)); // refills to the burst, never beyond
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(limiter.take("u").allowed);
  EXPECT_FALSE(limiter.take("u").allowed);
}

TEST(RateLimiter, OffWhenRateIsZeroAndMemoryIsBounded) {
  manual_clock time(0);
  rate_limiter off(0, 1, time);
  for (int i = 0; i < 100; ++i)
    EXPECT_TRUE(off.take("u").allowed);
  EXPECT_EQ(off.size(), 0u);
  rate_limiter bounded(1, 1, time, 64);
  for (int i = 0; i < 10000; ++i)
    bounded.take("user-" + std::to_string(i));
  EXPECT_LE(bounded.size(), 64u);
}

TEST(Admission, AdmitsUpToTheLimitAndReturnsSlots) {
  admission gate(2);
  auto a = gate.try_enter();
  auto b = gate.try_enter();
  EXPECT_TRUE(a && b);
  EXPECT_FALSE(gate.try_enter());
  EXPECT_EQ(gate.shed(), 1u);
  a.reset();
  EXPECT_TRUE(gate.try_enter());
  EXPECT_EQ(gate.in_flight(), 1u);
}

TEST(Admission, ABurstThatDrainsWithinTheTargetShedsNothing) {
  manual_clock time(1'000);
  admission gate({0, 50, 100}, &time);
  for (int round = 0; round < 20; ++round) {
    std::vector<admission::ticket> burst;
    for (int i = 0; i < 64; ++i) {
      auto t = gate.try_enter();
      ASSERT_TRUE(t) << "round " << round;
      burst.push_back(std::move(*t));
    }
    time.advance(std::chrono::milliseconds(5 + round)); // a slower request or two is fine
    burst.pop_back();
    time.advance(std::chrono::milliseconds(40));
    burst.clear();
  }
  EXPECT_EQ(gate.shed(), 0u);
  EXPECT_FALSE(gate.behind());
}

TEST(Admission, AStandingQueueShedsUntilWritesAreFastAgain) {
  manual_clock time(1'000);
  admission gate({0, 50, 100}, &time);
  for (int i = 0; i < 12 && !gate.behind(); ++i) { // one write after another, 80 ms each
    auto t = gate.try_enter();
    ASSERT_TRUE(t) << "write " << i;
    time.advance(std::chrono::milliseconds(80));
  }
  ASSERT_TRUE(gate.behind()) << "a whole interval whose fastest write took 80 ms";
  EXPECT_FALSE(gate.try_enter());
  EXPECT_EQ(gate.shed(), 1u);
  // Shed writes never enter, so the backlog drains; one interval later nothing slow finished.
  time.advance(std::chrono::milliseconds(100));
  gate.try_enter(); // closes the interval in which the last slow write finished
  time.advance(std::chrono::milliseconds(100));
  auto t = gate.try_enter();
  EXPECT_TRUE(t) << "the backlog is gone: admit again";
  time.advance(std::chrono::milliseconds(2));
  t.reset();
  time.advance(std::chrono::milliseconds(100));
  EXPECT_TRUE(gate.try_enter());
  EXPECT_FALSE(gate.behind());
}

TEST(Admission, AStalledNodeShedsNewWritesOnceNothingFinishesForTheTarget) {
  manual_clock time(1'000);
  admission gate({0, 50, 100}, &time);
  auto first = gate.try_enter();
  ASSERT_TRUE(first);
  time.advance(std::chrono::milliseconds(30));
  auto second = gate.try_enter();
  EXPECT_TRUE(second) << "30 ms without progress is within the target";
  time.advance(std::chrono::milliseconds(30));
  EXPECT_FALSE(gate.try_enter()) << "60 ms with writes in flight and none finished";
  EXPECT_TRUE(gate.behind());
  first.reset(); // the store recovers: both finish; the second took 30 ms
  second.reset();
  time.advance(std::chrono::milliseconds(100));
  EXPECT_TRUE(gate.try_enter()) << "the interval's fastest write was within the target";
}

TEST(Admission, OneStuckWriteFinishingDoesNotEndAStallWhileOthersAreStuck) {
  manual_clock time(1'000);
  admission gate({0, 50, 100}, &time);
  for (int i = 0; i < 5; ++i) { // fast writes just before the stall
    auto t = gate.try_enter();
    ASSERT_TRUE(t);
    time.advance(std::chrono::milliseconds(2));
  }
  auto first = gate.try_enter();
  auto second = gate.try_enter();
  ASSERT_TRUE(first && second);
  time.advance(std::chrono::milliseconds(60));
  EXPECT_FALSE(gate.try_enter()) << "stalled";
  time.advance(std::chrono::milliseconds(10));
  first.reset(); // 70 ms: slow; `second` is still stuck
  EXPECT_FALSE(gate.try_enter()) << "the fast writes from before the stall do not count";
  time.advance(std::chrono::milliseconds(100));
  EXPECT_FALSE(gate.try_enter()) << "the interval's only finished write took 70 ms";
  second.reset();
  time.advance(std::chrono::milliseconds(100));
  gate.try_enter(); // closes the interval in which `second` finished (slowly)
  time.advance(std::chrono::milliseconds(100));
  EXPECT_TRUE(gate.try_enter());
}

TEST(Admission, WithoutATargetOnlyTheInFlightBoundApplies) {
  manual_clock time(1'000);
  admission gate({1, 0, 100}, &time);
  auto a = gate.try_enter();
  ASSERT_TRUE(a);
  time.advance(std::chrono::hours(1));
  EXPECT_FALSE(gate.try_enter()) << "the bound";
  a.reset();
  EXPECT_TRUE(gate.try_enter()) << "a slow write does not make the gate shed";
}

TEST(Secrets, GeneratedOnceWithMode0600AndReused) {
  flashsale::testing::temp_dir dir;
  auto first = load_or_create_secret("", dir.path(), "admin_token");
  ASSERT_EQ(first.index(), 0u) << std::get<1>(first);
  auto& s = std::get<secret>(first);
  EXPECT_TRUE(s.generated);
  EXPECT_EQ(s.path, dir.file("admin_token"));
  EXPECT_EQ(s.value.size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat(s.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = load_or_create_secret("", dir.path(), "admin_token");
  ASSERT_EQ(second.index(), 0u);
  EXPECT_EQ(std::get<secret>(second).value, s.value);
  EXPECT_FALSE(std::get<secret>(second).generated);
  auto configured = load_or_create_secret("from-config", dir.path(), "admin_token");
  EXPECT_EQ(std::get<secret>(configured).value, "from-config");
  EXPECT_TRUE(std::get<secret>(configured).path.empty());
  ::chmod(s.path.c_str(), 0644);
  auto exposed = load_or_create_secret("", dir.path(), "admin_token");
  ASSERT_EQ(exposed.index(), 1u);
  EXPECT_NE(std::get<std::string>(exposed).find("chmod 600"), std::string::npos);
}

TEST(Secrets, ComparisonsAreExact) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "abcd"));
  EXPECT_TRUE(bearer_matches("Bearer tok", "tok"));
  EXPECT_TRUE(bearer_matches("BEARER tok", "tok"));
  EXPECT_FALSE(bearer_matches("Bearer tok2", "tok"));
  EXPECT_FALSE(bearer_matches("tok", "tok"));
  EXPECT_FALSE(bearer_matches("Bearer ", ""));
}
