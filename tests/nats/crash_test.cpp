// The real `flashsale serve` killed with SIGKILL between commits and PubAcks: once while the
// relay is busy under load, once while NATS is down (lag > 0 for certain). After restarts the
// stream holds every committed event exactly once: re-sends from the durable outbox position
// carry the same Nats-Msg-Id and JetStream drops the duplicates.
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "persistence/sqlite_event_store.hpp"
#include "tests/nats/nats_support.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace flashsale {
namespace {

using flashsale::testing::child_process;
using flashsale::testing::eventually;

class NodeCrash : public ::testing::Test {
protected:
  void SetUp() override {
    nats_ = std::make_unique<flashsale::testing::nats_server_process>(
        flashsale::testing::free_port(), nats_dir_.path());
    nats_->start();
  }

  /// Starts `flashsale serve` on the data dir; returns once it listens.
  void start_node() {
    node_ = std::make_unique<child_process>(
        std::vector<std::string>{FLASHSALE_BINARY, "serve", "--set", "data_dir=" + data_.path(),
                                 "--set", "http.port=0", "--set", "nats.url=" + nats_->url(),
                                 "--set", "store.sync=normal"},
        std::vector<std::string>{"FLASHSALE_ADMIN_TOKEN=admin"});
    port_ = flashsale::testing::listening_port(*node_, std::chrono::seconds(20));
    ASSERT_GT(port_, 0) << node_->output();
  }

  nlohmann::json health() {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Get("/health");
    return r ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
  }

  /// POSTs `n` orders from 4 connections; returns how many were not 201.
  int place_orders(int n, const std::string& prefix) {
    std::atomic<int> next{0}, not_created{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t)
      workers.emplace_back([&] {
        httplib::Client c("127.0.0.1", port_);
        c.set_keep_alive(true);
        for (int i; (i = next++) < n;) {
          nlohmann::json body = {
              {"user_id", prefix + std::to_string(i)}, {"product_id", "p"}, {"quantity", 1}};
          auto r = c.Post("/orders", body.dump(), "application/json");
          if (!r || r->status != 201)
            ++not_created;
        }
      });
    for (auto& w : workers)
      w.join();
    return not_created;
  }

  flashsale::testing::temp_dir data_, nats_dir_;
  std::unique_ptr<flashsale::testing::nats_server_process> nats_;
  std::unique_ptr<child_process> node_;
  int port_ = 0;
};

TEST_F(NodeCrash, SigkillBeforePubAckLeavesEveryEventExactlyOnceInTheStream) {
  start_node();
  {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Put("/products/p", {{"Authorization", "Bearer admin"}},
                   R"({"name": "p", "stock": 100000, "price_cents": 100})", "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }

  // 1. Killed while the relay is busy with a burst.
  EXPECT_EQ(place_orders(200, "a-"), 0);
  node_->signal(SIGKILL);
  node_->wait_exit(std::chrono::seconds(5));
  start_node();

  // 2. Killed while NATS is down: every event of this phase is committed and unpublished.
  nats_->stop();
  EXPECT_EQ(place_orders(100, "b-"), 0) << "the node must keep serving without NATS";
  auto h = health();
  EXPECT_EQ(h.value("nats", ""), "disconnected") << h.dump();
  EXPECT_GT(h.value("outbox_lag", 0), 0) << h.dump();
  node_->signal(SIGKILL);
  node_->wait_exit(std::chrono::seconds(5));

  // 3. NATS back, node back: the relay catches up from its durable position.
  nats_->start();
  start_node();
  ASSERT_TRUE(eventually(
      [&] {
        auto j = health();
        return j.is_object() && j.value("nats", "") == "connected"
               && j.value("outbox_lag", -1) == 0;
      },
      std::chrono::seconds(30)))
      << health().dump();
  node_->signal(SIGTERM);
  ASSERT_EQ(node_->wait_exit(std::chrono::seconds(15)), 0) << node_->output();

  store_options o;
  o.path = data_.file("events.db");
  auto opened = open_sqlite_event_store(o);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<event_store>>(opened));
  auto& store = *std::get<0>(opened);
  EXPECT_GT(store.last_seq(), 900);
  EXPECT_EQ(flashsale::testing::audit_stream(nats_->url(), store.store_id(), store.last_seq()),
            flashsale::testing::exactly_once(store.last_seq()));
}

} // namespace
} // namespace flashsale
