// The node's promise under the worst crash: a real `flashsale serve` is SIGKILLed while 16
// clients stream orders at it, then started again on the same data dir, three times over.
// Every order it acknowledged (201) must be there, reserved; no product may show more units
// out than it has; sagas cut off mid-flight are finished or compensated; and the log must
// pass `flashsale replay --verify` at the end.
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/temp_dir.hpp"

using flashsale::testing::child_process;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* admin_token = "crash-test-token";
constexpr int products = 3;
constexpr int stock = 150;

struct acknowledged_order {
  std::string order_id;
  std::map<std::string, int> units; // product → quantity
};

class CrashedNode : public ::testing::Test {
protected:
  std::unique_ptr<child_process> start_node() {
    auto node = std::make_unique<child_process>(
        std::vector<std::string>{FLASHSALE_BINARY, "serve", "--set", "http.port=0", "--set",
                                 "data_dir=" + dir_.path(), "--set", "nats.url=off"},
        std::vector<std::string>{std::string("FLASHSALE_ADMIN_TOKEN=") + admin_token});
    port_ = flashsale::testing::listening_port(*node, 60s);
    EXPECT_GT(port_, 0) << node->output();
    return node;
  }

  /// Streams orders from 16 clients until `stop`; records every 201.
  void stream_orders(std::atomic<bool>& stop, int round) {
    std::vector<std::thread> clients;
    for (int c = 0; c < 16; ++c)
      clients.emplace_back([this, &stop, round, c] {
        httplib::Client client("127.0.0.1", port_);
        client.set_keep_alive(true);
        client.set_read_timeout(10, 0);
        for (int i = 0; !stop; ++i) {
          acknowledged_order order;
          json items = json::array();
          auto first = "p" + std::to_string((c + i) % products);
          order.units[first] = 1 + i % 2;
          if (i % 3 == 0) { // some multi-item orders, so compensation is in play too
            auto second = "p" + std::to_string((c + i + 1) % products);
            order.units[second] = 1;
          }
          for (auto& [p, q] : order.units)
            items.push_back({{"product_id", p}, {"quantity", q}});
          json body{{"user_id", "u-" + std::to_string(round) + "-" + std::to_string(c) + "-"
                                    + std::to_string(i)},
                    {"items", items}};
          auto r = client.Post("/orders", body.dump(), "application/json");
          if (!r)
            return; // the node is gone
          if (r->status == 201) {
            order.order_id = json::parse(r->body)["order_id"];
            std::lock_guard<std::mutex> guard{mutex_};
            acknowledged_.push_back(std::move(order));
          }
        }
      });
    for (auto& t : clients)
      t.join();
  }

  std::size_t acknowledged_count() {
    std::lock_guard<std::mutex> guard{mutex_};
    return acknowledged_.size();
  }

  flashsale::testing::temp_dir dir_;
  int port_ = 0;
  std::mutex mutex_;
  std::vector<acknowledged_order> acknowledged_;
};

} // namespace

TEST_F(CrashedNode, SigkillUnderLoadLosesNoAcknowledgedOrderAndSellsNothingTwice) {
  auto node = start_node();
  {
    httplib::Client admin("127.0.0.1", port_);
    for (int p = 0; p < products; ++p) {
      auto r = admin.Put("/products/p" + std::to_string(p),
                         httplib::Headers{{"Authorization", std::string("Bearer ") + admin_token}},
                         json{{"name", "crash test"}, {"stock", stock}}.dump(), "application/json");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 201) << r->body;
    }
  }
  for (int round = 0; round < 3; ++round) {
    std::atomic<bool> stop{false};
    auto before = acknowledged_count();
    std::thread load([&] { stream_orders(stop, round); });
    // Kill mid-stream, with 16 requests in flight, once this round had orders acknowledged.
    ASSERT_TRUE(
        flashsale::testing::eventually([&] { return acknowledged_count() >= before + 40; }, 30s))
        << "round " << round << ": the node acknowledged too few orders before the kill";
    node->signal(SIGKILL);
    ASSERT_TRUE(node->wait_exit(10s));
    stop = true;
    load.join();
    node = start_node();
    ASSERT_GT(port_, 0);

    httplib::Client client("127.0.0.1", port_);
    std::map<std::string, int> acknowledged_units;
    for (auto& order : acknowledged_) {
      auto r = client.Get("/orders/" + order.order_id);
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << "acknowledged order " << order.order_id << " was lost";
      EXPECT_EQ(json::parse(r->body)["status"], "reserved") << order.order_id;
      for (auto& [p, q] : order.units)
        acknowledged_units[p] += q;
    }
    // Orders in flight at the kill may have reserved more (their sagas resume on start and
    // finish or compensate), but never fewer units than were acknowledged, and never more
    // than the stock.
    for (int p = 0; p < products; ++p) {
      auto id = "p" + std::to_string(p);
      auto r = client.Get("/products/" + id);
      ASSERT_TRUE(r);
      auto v = json::parse(r->body);
      int available = v["available"], reserved = v["reserved"], sold = v["sold"];
      EXPECT_EQ(available + reserved + sold, stock) << v.dump();
      EXPECT_GE(available, 0) << "oversold: " << v.dump();
      EXPECT_GE(reserved, acknowledged_units[id])
          << "an acknowledged reservation is missing: " << v.dump();
    }
  }
  node->signal(SIGTERM);
  ASSERT_EQ(node->wait_exit(30s), 0) << node->output();

  child_process replay(
      {FLASHSALE_BINARY, "replay", "--set", "data_dir=" + dir_.path(), "--json", "--verify"});
  ASSERT_EQ(replay.wait_exit(60s), 0) << replay.output();
  auto report = json::parse(replay.output());
  EXPECT_EQ(report["orders"]["pending"], 0) << "every saga cut off by a kill was resumed";
  EXPECT_GE(report["orders"]["reserved"].get<std::size_t>(), acknowledged_.size());
}
