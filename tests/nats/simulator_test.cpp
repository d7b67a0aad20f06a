// The payment simulator against a real nats-server and a real node with its HTTP webhook:
// in the node it pays every reserved order; as `flashsale pay-sim` it survives its own SIGKILL
// (redelivery + the webhook's event_id de-dup: every order paid exactly once); a payment the
// node can never take goes to the dead-letter subject instead of blocking the queue.
#include <signal.h>

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/server.hpp"
#include "node/node.hpp"
#include "payments/payment_simulator.hpp"
#include "tests/nats/nats_support.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"

namespace flashsale {
namespace {

using flashsale::testing::eventually;

constexpr const char* secret = "test-webhook-secret";

TEST(SimulatorDecision, IsStablePerOrderAndFollowsTheRate) {
  EXPECT_EQ(simulator_pays(7, 0.5, "o-1"), simulator_pays(7, 0.5, "o-1"));
  int paid = 0;
  for (int i = 0; i < 2000; ++i)
    paid += simulator_pays(7, 0.9, "o-" + std::to_string(i));
  EXPECT_NEAR(paid, 1800, 80);
  EXPECT_TRUE(simulator_pays(7, 1.0, "any"));
  EXPECT_FALSE(simulator_pays(7, 0.0, "any"));
}

TEST(PaySimCommand, PrintsUsageOnHelpAndRejectsUnknownFlags) {
  auto line_with = [](const std::string& text) {
    return [text](const std::string& l) { return l.find(text) != std::string::npos; };
  };
  flashsale::testing::child_process help({FLASHSALE_BINARY, "pay-sim", "--help"});
  EXPECT_TRUE(help.wait_for_line(line_with("usage: flashsale pay-sim"), std::chrono::seconds(5)));
  EXPECT_EQ(help.wait_exit(std::chrono::seconds(5)), 0);
  flashsale::testing::child_process bad({FLASHSALE_BINARY, "pay-sim", "--bogus", "1"});
  EXPECT_TRUE(bad.wait_for_line(line_with("unknown option '--bogus'"), std::chrono::seconds(5)));
  EXPECT_TRUE(bad.wait_for_line(line_with("usage: flashsale pay-sim"), std::chrono::seconds(5)));
  EXPECT_EQ(bad.wait_exit(std::chrono::seconds(5)), 2);
  flashsale::testing::child_process missing({FLASHSALE_BINARY, "pay-sim", "--workers", "2"});
  EXPECT_EQ(missing.wait_exit(std::chrono::seconds(5)), 2);
}

class PaymentSimulator : public ::testing::Test {
protected:
  void SetUp() override {
    nats_ = std::make_unique<flashsale::testing::nats_server_process>(
        flashsale::testing::free_port(), nats_dir_.path());
    nats_->start();
  }

  void start_node(bool simulator) {
    auto c = std::get<node_config>(load_config({}));
    c.data_dir = data_.path();
    c.nats.url = nats_->url();
    c.store.sync = "normal";
    c.payments.webhook_secret = secret;
    c.payments.simulator.enabled = simulator;
    c.payments.simulator.latency_ms = 20;
    c.payments.simulator.success_rate = 1.0;
    auto started = node::start(c);
    if (auto problem = std::get_if<std::string>(&started))
      FAIL() << *problem;
    node_ = std::move(std::get<0>(started));
    http_options o;
    o.admin_token = "admin";
    o.webhook_secret = secret;
    auto bound = http_server::bind(o, *node_);
    if (auto problem = std::get_if<std::string>(&bound))
      FAIL() << *problem;
    http_ = std::move(std::get<0>(bound));
    http_->start();
    url_ = "http://127.0.0.1:" + std::to_string(http_->port());
    define_product p;
    p.product_id = "p";
    p.name = "p";
    p.stock = 1000;
    p.price_cents = 1999;
    ASSERT_FALSE(node_->define(p).error);
  }

  void TearDown() override {
    if (node_)
      node_->stop_payment_simulator();
    if (http_)
      http_->stop();
    node_.reset();
  }

  std::vector<std::string> place_orders(int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      auto a = node_->place(order_request{"u-" + std::to_string(i), {order_line{"p", 1}}, ""});
      auto* placed = std::get_if<placed_order>(&a.result);
      EXPECT_TRUE(placed) << std::get<rejection>(a.result).message;
      if (placed)
        ids.push_back(placed->order_id);
    }
    return ids;
  }

  /// How many of `ids` are paid with exactly one OrderPaid; -1 when one was paid twice.
  int paid_once(const std::vector<std::string>& ids) {
    int paid = 0;
    for (auto& id : ids) {
      auto o = node_->order(id).state;
      if (!o)
        continue;
      int events = 0;
      for (auto& h : o->history)
        events += h.type == "OrderPaid";
      if (events > 1)
        return -1;
      paid += o->status == order_status::paid && events == 1;
    }
    return paid;
  }

  flashsale::testing::temp_dir data_, nats_dir_;
  std::unique_ptr<flashsale::testing::nats_server_process> nats_;
  std::unique_ptr<node> node_;
  std::unique_ptr<http_server> http_;
  std::string url_;
};

TEST_F(PaymentSimulator, InNodePaysEveryReservedOrder) {
  start_node(true);
  ASSERT_FALSE(node_->start_payment_simulator(url_));
  auto ids = place_orders(60);
  ASSERT_EQ(ids.size(), 60u);
  EXPECT_TRUE(eventually([&] { return paid_once(ids) == 60; }, std::chrono::seconds(30)))
      << paid_once(ids) << " of 60 paid";
  // OrderPaid commits first, then the inventory sells the units (StockSold).
  EXPECT_TRUE(eventually([&] { return node_->view("p")->sold == 60; })) << node_->view("p")->sold;
}

TEST_F(PaymentSimulator, PaySimProcessSurvivesItsOwnSigkill) {
  start_node(false);
  std::vector<std::string> argv = {FLASHSALE_BINARY, "pay-sim",    "--node-url",     url_,
                                   "--nats-url",     nats_->url(), "--secret",       secret,
                                   "--latency-ms",   "1500",       "--success-rate", "1.0",
                                   "--workers",      "2"};
  auto started = [](const std::string& l) { return l.rfind("pay-sim: consuming", 0) == 0; };
  auto ids = place_orders(40);
  {
    flashsale::testing::child_process sim(argv);
    ASSERT_TRUE(sim.wait_for_line(started, std::chrono::seconds(10))) << sim.output();
    ASSERT_TRUE(eventually([&] { return paid_once(ids) == 40; }, std::chrono::seconds(20)))
        << sim.output();
    // A second wave: published, fetched, and still inside its 1.5 s latency when it dies.
    auto more = place_orders(40);
    ids.insert(ids.end(), more.begin(), more.end());
    ASSERT_TRUE(eventually([&] { return node_->health().outbox_lag == 0; }));
    sim.signal(SIGKILL);
    sim.wait_exit(std::chrono::seconds(5));
  }
  EXPECT_EQ(paid_once(ids), 40) << "the second wave must still be unpaid when the process dies";
  flashsale::testing::child_process again(argv);
  ASSERT_TRUE(again.wait_for_line(started, std::chrono::seconds(10))) << again.output();
  EXPECT_TRUE(eventually([&] { return paid_once(ids) == 80; }, std::chrono::seconds(30)))
      << paid_once(ids) << " of 80 paid\n"
      << again.output();
  // OrderPaid commits first, then the inventory sells the units (StockSold).
  EXPECT_TRUE(eventually([&] { return node_->view("p")->sold == 80; })) << node_->view("p")->sold;
  again.signal(SIGTERM);
  EXPECT_EQ(again.wait_exit(std::chrono::seconds(10)), 0) << again.output();
}

TEST_F(PaymentSimulator, ParksAPaymentTheNodeNeverTakesInTheDeadLetterStream) {
  start_node(false);
  place_orders(1);
  payment_simulator_options o;
  o.node_url = "http://127.0.0.1:" + std::to_string(flashsale::testing::free_port()); // nobody
  o.nats_url = nats_->url();
  o.webhook_secret = secret;
  o.latency_ms = 0;
  o.max_deliver = 2;
  o.workers = 1;
  auto started = payment_simulator::start(o);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<payment_simulator>>(started));
  auto& sim = *std::get<0>(started);
  ASSERT_TRUE(eventually([&] { return sim.stats().dead_lettered == 1; }));
  EXPECT_EQ(sim.stats().retried, 1);
  auto client = flashsale::testing::connect_client(nats_->url());
  auto st = client->state(dlq_stream);
  ASSERT_TRUE(std::holds_alternative<stream_state>(st));
  EXPECT_EQ(std::get<stream_state>(st).messages, 1u);
  auto letter = client->get(dlq_stream, std::get<stream_state>(st).last_seq);
  ASSERT_TRUE(std::holds_alternative<stored_message>(letter));
  auto j = nlohmann::json::parse(std::get<stored_message>(letter).data);
  EXPECT_EQ(std::get<stored_message>(letter).subject, payments_dlq_subject);
  EXPECT_EQ(j.at("num_delivered"), 2);
  EXPECT_EQ(j.at("data").at("type"), "OrderReserved");
  EXPECT_NE(j.at("reason").get<std::string>().find("webhook call failed"), std::string::npos);
}

} // namespace
} // namespace flashsale
