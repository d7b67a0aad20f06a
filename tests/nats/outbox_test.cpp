// The outbox relay against a real nats-server: every committed event lands in stream FLASHSALE
// exactly once (by Nats-Msg-Id), under normal load, across a NATS outage while the node keeps
// taking orders, and in embedded mode the node starts and stops its own server by PID.
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "node/node.hpp"
#include "persistence/sqlite_event_store.hpp"
#include "tests/nats/nats_support.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"

namespace flashsale {
namespace {

using flashsale::testing::eventually;

class OutboxRelay : public ::testing::Test {
protected:
  void SetUp() override {
    nats_ = std::make_unique<flashsale::testing::nats_server_process>(
        flashsale::testing::free_port(), nats_dir_.path());
    nats_->start();
  }

  node_config config(const std::string& url) {
    auto c = std::get<node_config>(load_config({}));
    c.data_dir = data_.path();
    c.nats.url = url;
    c.store.sync = "normal";
    c.store.snapshot_every = 0;
    return c;
  }

  void start_node(const std::string& url) {
    auto started = node::start(config(url));
    if (auto problem = std::get_if<std::string>(&started))
      FAIL() << *problem;
    node_ = std::move(std::get<0>(started));
  }

  void define(const std::string& id, std::int64_t stock) {
    define_product c;
    c.product_id = id;
    c.name = "product " + id;
    c.stock = stock;
    c.price_cents = 250;
    auto r = node_->define(c);
    ASSERT_FALSE(r.error) << r.error->message;
  }

  /// Places `n` single-unit orders from `threads` threads; returns how many were not 201.
  int place_orders(int n, int threads, const std::string& user_prefix) {
    std::atomic<int> next{0}, not_created{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&] {
        for (int i; (i = next++) < n;) {
          auto a = node_->place(order_request{
              user_prefix + std::to_string(i), {order_line{"p-" + std::to_string(i % 3), 1}}, ""});
          if (!std::holds_alternative<placed_order>(a.result))
            ++not_created;
        }
      });
    for (auto& w : workers)
      w.join();
    return not_created;
  }

  bool drained() {
    return eventually([&] { return node_->health().outbox_lag == 0; }, std::chrono::seconds(30));
  }

  /// Stops the node and audits the stream against its store.
  std::string stop_and_audit() {
    node_.reset();
    store_options o;
    o.path = data_.file("events.db");
    auto opened = open_sqlite_event_store(o);
    if (!std::holds_alternative<std::unique_ptr<event_store>>(opened))
      return "cannot open store";
    auto& store = *std::get<0>(opened);
    last_seq_ = store.last_seq();
    return flashsale::testing::audit_stream(nats_->url(), store.store_id(), store.last_seq());
  }

  flashsale::testing::temp_dir data_, nats_dir_;
  std::unique_ptr<flashsale::testing::nats_server_process> nats_;
  std::unique_ptr<node> node_;
  std::int64_t last_seq_ = 0;
};

TEST_F(OutboxRelay, PublishesEveryEventExactlyOnceUnderLoad) {
  start_node(nats_->url());
  for (auto p : {"p-0", "p-1", "p-2"})
    define(p, 1000);
  EXPECT_EQ(place_orders(300, 4, "u-"), 0);
  ASSERT_TRUE(drained()) << "lag " << node_->health().outbox_lag;
  EXPECT_EQ(node_->health().nats, "connected");
  EXPECT_EQ(node_->stats().outbox_lag, 0);
  auto audit = stop_and_audit();
  EXPECT_GT(last_seq_, 900); // OrderPlaced, StockReserved, OrderReserved per order
  EXPECT_EQ(audit, flashsale::testing::exactly_once(last_seq_));
}

// nats.url may name several servers of one cluster; the relay connects to one that is up
// (given to nats.c as one comma-separated string, such a list never connected).
TEST_F(OutboxRelay, ConnectsThroughAUrlListWhoseFirstServerIsDown) {
  auto dead = "nats://127.0.0.1:" + std::to_string(flashsale::testing::free_port());
  start_node(dead + "," + nats_->url());
  define("p-0", 10);
  ASSERT_TRUE(drained()) << "lag " << node_->health().outbox_lag;
  EXPECT_EQ(node_->health().nats, "connected");
  auto audit = stop_and_audit();
  EXPECT_EQ(audit, flashsale::testing::exactly_once(last_seq_));
}

TEST_F(OutboxRelay, KeepsServingThroughNatsOutageAndCatchesUpExactlyOnce) {
  start_node(nats_->url());
  for (auto p : {"p-0", "p-1", "p-2"})
    define(p, 1000);
  EXPECT_EQ(place_orders(100, 2, "before-"), 0);

  // The outage starts while orders are still coming in.
  std::atomic<int> during_not_created{-1};
  std::thread load([&] { during_not_created = place_orders(200, 2, "during-"); });
  nats_->stop(); // SIGTERM to its PID
  load.join();
  EXPECT_EQ(during_not_created, 0) << "the node must keep answering 201 without NATS";
  EXPECT_TRUE(eventually([&] { return node_->health().nats == "disconnected"; }));
  EXPECT_EQ(place_orders(50, 2, "after-"), 0);
  EXPECT_GT(node_->health().outbox_lag, 0);

  nats_->start(); // same port, same store dir
  ASSERT_TRUE(drained()) << "lag " << node_->health().outbox_lag;
  EXPECT_EQ(node_->health().nats, "connected");
  auto audit = stop_and_audit();
  EXPECT_EQ(audit, flashsale::testing::exactly_once(last_seq_));
}

TEST_F(OutboxRelay, OffPublishesNothing) {
  start_node("off");
  define("p-0", 10);
  auto h = node_->health();
  EXPECT_EQ(h.nats, "off");
  EXPECT_EQ(h.outbox_lag, 0);
  auto client = flashsale::testing::connect_client(nats_->url());
  ASSERT_TRUE(client);
  EXPECT_FALSE(std::holds_alternative<stream_state>(client->state(jetstream_stream)));
}

TEST(EmbeddedNats, NodeStartsAndStopsItsOwnServer) {
  flashsale::testing::temp_dir data;
  auto c = std::get<node_config>(load_config({}));
  c.data_dir = data.path();
  c.nats.url = "embedded";
  c.store.sync = "normal";
  auto started = node::start(c);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<node>>(started))
      << std::get<std::string>(started);
  auto n = std::move(std::get<0>(started));
  int pid = n->embedded_nats_pid();
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(flashsale::testing::pid_alive(pid));
  EXPECT_EQ(n->nats_url().rfind("nats://127.0.0.1:", 0), 0u) << n->nats_url();
  define_product p;
  p.product_id = "p";
  p.name = "p";
  p.stock = 5;
  ASSERT_FALSE(n->define(p).error);
  EXPECT_TRUE(eventually([&] {
    auto h = n->health();
    return h.nats == "connected" && h.outbox_lag == 0;
  }));
  n.reset();
  EXPECT_FALSE(flashsale::testing::pid_alive(pid)) << "the embedded server outlived its node";
}

TEST(EmbeddedNats, RestartsItsServerWhenItDies) {
  flashsale::testing::temp_dir data;
  nats_server_options o;
  o.data_dir = data.path();
  auto started = nats_server_supervisor::start(o);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<nats_server_supervisor>>(started))
      << std::get<std::string>(started);
  auto& server = *std::get<0>(started);
  int first = server.pid();
  ::kill(first, SIGKILL);
  EXPECT_TRUE(eventually([&] {
    return server.restarts() == 1 && server.pid() > 0 && server.pid() != first
           && accepts_connections(server.port());
  }));
}

TEST(EmbeddedNats, TheServerIsFoundInSbinWhenPathLacksIt) {
  // An ordinary user's PATH has no /usr/sbin, where Debian installs nats-server and haproxy.
  flashsale::testing::temp_dir empty;
  const char* saved = std::getenv("PATH");
  std::string path = saved ? saved : "";
  ::setenv("PATH", empty.path().c_str(), 1);
  auto nats = find_program("nats-server");
  auto haproxy = find_program("haproxy");
  auto missing = find_program("flashsale-no-such-program");
  ::setenv("PATH", path.c_str(), 1);
  EXPECT_EQ(nats, "/usr/sbin/nats-server");
  EXPECT_EQ(haproxy, "/usr/sbin/haproxy");
  EXPECT_EQ(missing, "");
}

} // namespace
} // namespace flashsale
