// POST /payments/webhook through a real node: signature checks (missing, wrong, stale),
// succeeded/failed transitions with the stock moving, duplicates, amount mismatch, and a
// late success after expiry that records PaymentRejected. Time is a manual clock.
#include "tests/http/http_fixture.hpp"

using namespace flashsale;
using flashsale::testing::http_node;
using json = nlohmann::json;
namespace t = flashsale::testing;

namespace {

class HttpWebhook : public ::testing::Test {
protected:
  manual_clock time_{1'800'000'000'000};
  t::temp_dir dir_;
  std::unique_ptr<http_node> node_ = make_node();
  std::unique_ptr<httplib::Client> c_ = node_->client();

  std::unique_ptr<http_node> make_node() {
    t::node_setup setup;
    setup.time = &time_;
    return std::make_unique<http_node>(dir_.path(), setup);
  }

  std::int64_t now_s() const { return time_.now() / 1000; }

  /// A reserved order of 2 units of "p" (price 100): its id.
  std::string reserve(int hold_seconds = 600) {
    auto d = t::define(
        *c_, "p",
        {{"name", "p"}, {"stock", 10}, {"price_cents", 100}, {"hold_seconds", hold_seconds}});
    EXPECT_TRUE(d && (d->status == 201 || d->status == 200));
    auto r = t::order(*c_, "u", "p", 2);
    EXPECT_TRUE(r && r->status == 201);
    return t::body_of(r)["order_id"];
  }

  json event(const std::string& order_id, const std::string& status,
             const std::string& event_id = "evt-1") {
    return {{"event_id", event_id},
            {"order_id", order_id},
            {"payment_id", "pay-9"},
            {"status", status}};
  }

  std::string status_of(const std::string& order_id) {
    auto r = c_->Get(("/orders/" + order_id).c_str());
    return r && r->status == 200 ? t::body_of(r)["status"].get<std::string>() : "?";
  }
};

} // namespace

TEST_F(HttpWebhook, SucceededPaysTheOrderAndSellsTheStock) {
  auto id = reserve();
  auto e = event(id, "succeeded");
  e["amount_cents"] = 200;
  auto r = t::webhook(*c_, e, now_s());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(t::body_of(r), json::parse(R"({"result":"applied"})"));
  EXPECT_EQ(status_of(id), "paid");
  EXPECT_TRUE(t::eventually([&] { return t::counts(*c_, "p") == "10/8/0/2"; }));
  auto again = t::webhook(*c_, e, now_s());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(t::body_of(again), json::parse(R"({"result":"duplicate"})"));
  EXPECT_EQ(t::counts(*c_, "p"), "10/8/0/2");
}

TEST_F(HttpWebhook, FailedCancelsTheOrderAndReturnsTheStock) {
  auto id = reserve();
  auto r = t::webhook(*c_, event(id, "failed"), now_s());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(t::body_of(r)["result"], "applied");
  EXPECT_EQ(status_of(id), "cancelled");
  EXPECT_TRUE(t::eventually([&] { return t::counts(*c_, "p") == "10/10/0/0"; }));
}

TEST_F(HttpWebhook, AmountMismatchChangesNothing) {
  auto id = reserve();
  auto e = event(id, "succeeded");
  e["amount_cents"] = 1;
  auto before = node_->the_node().stats().last_seq;
  auto r = t::webhook(*c_, e, now_s());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(t::error_code(r), "amount_mismatch");
  EXPECT_EQ(status_of(id), "reserved");
  EXPECT_EQ(node_->the_node().stats().last_seq, before);
}

TEST_F(HttpWebhook, BadMissingOrStaleSignaturesAre401AndWriteNothing) {
  auto id = reserve();
  auto body = event(id, "succeeded").dump();
  auto before = node_->the_node().stats().last_seq;
  std::vector<httplib::Headers> bad{
      {},
      {{"Flashsale-Signature", "garbage"}},
      {{"Flashsale-Signature", "t=abc,v1=00"}},
      {{"Flashsale-Signature", sign_webhook("wrong secret", now_s(), body)}},
      {{"Flashsale-Signature", sign_webhook(t::webhook_secret, now_s() - 301, body)}},
      {{"Flashsale-Signature", sign_webhook(t::webhook_secret, now_s() + 301, body)}},
      {{"Flashsale-Signature", sign_webhook(t::webhook_secret, now_s(), body + " ")}},
  };
  for (auto& h : bad) {
    auto r = c_->Post("/payments/webhook", h, body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << (h.empty() ? "" : h.begin()->second);
    EXPECT_EQ(t::error_code(r), "invalid_signature");
  }
  EXPECT_EQ(node_->the_node().stats().last_seq, before);
  EXPECT_EQ(status_of(id), "reserved");
  // Inside the tolerance is fine.
  auto ok = t::webhook(*c_, event(id, "succeeded"), now_s() - 299);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

TEST_F(HttpWebhook, InvalidBodiesAndUnknownOrders) {
  auto r = t::webhook(
      *c_, {{"event_id", "e"}, {"order_id", "o-1"}, {"payment_id", "p"}, {"status", "maybe"}},
      now_s());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("status"), std::string::npos);
  auto missing = t::webhook(*c_, event("o-unknown", "succeeded"), now_s());
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404) << missing->body;
  EXPECT_EQ(t::error_code(missing), "not_found");
}

TEST_F(HttpWebhook, LateSuccessAfterExpiryIsInvalidStateAndRecordsPaymentRejected) {
  auto id = reserve(1);
  time_.advance(std::chrono::seconds(2));
  node_->the_node().check_expiries();
  ASSERT_TRUE(t::eventually([&] {
    node_->the_node().check_expiries(); // harmless when already expired
    return status_of(id) == "expired";
  }));
  EXPECT_TRUE(t::eventually([&] { return t::counts(*c_, "p") == "10/10/0/0"; }));
  auto r = t::webhook(*c_, event(id, "succeeded", "evt-late"), now_s());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409) << r->body;
  EXPECT_EQ(t::error_code(r), "invalid_state");
  auto view = t::body_of(c_->Get(("/orders/" + id).c_str()));
  EXPECT_EQ(view["status"], "expired");
  bool rejected = false;
  for (auto& h : view["history"])
    rejected = rejected || h["type"] == "PaymentRejected";
  EXPECT_TRUE(rejected) << view.dump();
  EXPECT_EQ(t::counts(*c_, "p"), "10/10/0/0");
}

TEST(WebhookSignature, SignsAndVerifiesWithinTolerance) {
  auto h = sign_webhook("s3cret", 1000, R"({"a":1})");
  EXPECT_EQ(h.rfind("t=1000,v1=", 0), 0u);
  EXPECT_EQ(h.size(), std::string("t=1000,v1=").size() + 64);
  EXPECT_EQ(verify_webhook("s3cret", h, R"({"a":1})", 1000), signature_check::valid);
  EXPECT_EQ(verify_webhook("s3cret", h, R"({"a":1})", 1300), signature_check::valid);
  EXPECT_EQ(verify_webhook("s3cret", h, R"({"a":1})", 1301), signature_check::outside_tolerance);
  EXPECT_EQ(verify_webhook("s3cret", h, R"({"a":1})", 699), signature_check::outside_tolerance);
  EXPECT_EQ(verify_webhook("other", h, R"({"a":1})", 1000), signature_check::mismatch);
  EXPECT_EQ(verify_webhook("s3cret", "", "x", 1000), signature_check::missing);
  EXPECT_EQ(verify_webhook("s3cret", "t=1000", "x", 1000), signature_check::malformed);
  EXPECT_EQ(verify_webhook("s3cret", "t=-9223372036854775808,v1=00", "x", 1000),
            signature_check::outside_tolerance);
  // Rotation: any matching v1 entry is enough; unknown schemes are ignored.
  auto v1 = h.substr(h.find("v1="));
  EXPECT_EQ(verify_webhook("s3cret", "t=1000,v0=zz,v1=" + std::string(64, '0') + "," + v1,
                           R"({"a":1})", 1000),
            signature_check::valid);
  // RFC 4231 test case 2 keeps the HMAC honest.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
