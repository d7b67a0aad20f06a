// The HTTP edge as users meet it: `flashsale serve` on its defaults starts a real HAProxy in
// front of its adapter. A crowd of one-shot buyers beside silent sockets is answered; HAProxy
// killed mid-sale comes back and the sale goes on; a SIGKILLed node leaves nothing on its
// port; a client that half-closes after its request still gets the answer; the client
// address the node limits by is the one HAProxy saw, not what the client claims; a body over the
// limit is answered 413 also to a client still sending it (Python's http.client). Plus the
// generated configuration, checked by `haproxy -c`. Every process is stopped by its PID.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "node/edge_answers.hpp"
#include "node/edge_front.hpp"
#include "node/edge_sold_out.hpp"
#include "node/haproxy_cli.hpp"
#include "tests/node/edge_fixture.hpp"

namespace {

using flashsale::testing::child_process;
using flashsale::testing::connect_to;
using flashsale::testing::EdgeFront;
using flashsale::testing::eventually;
using flashsale::testing::read_file;
using flashsale::testing::temp_dir;
using json = nlohmann::json;
using namespace std::chrono_literals;

TEST(EdgeConfig, GeneratedConfigurationPassesHaproxysOwnCheck) {
  temp_dir dir;
  // `haproxy -c` checks that the inherited fd is a socket: give it a listening one, left
  // open across exec at the number the config names.
  int listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listen_fd, 16), 0);
  flashsale::haproxy_settings s;
  s.listen_fd = listen_fd;
  s.backend_address = "127.0.0.1:9";
  s.backend_connections = 24;
  s.max_client_connections = 5000;
  s.stats_socket = dir.file("haproxy.sock");
  s.max_body_bytes = 4096;
  s.error_dir = dir.file("errors");
  ASSERT_EQ(flashsale::write_error_files(s.error_dir), "");
  flashsale::edge_sold_out sold_out(dir.path());
  sold_out.note("gone", 0);
  ASSERT_EQ(sold_out.write_map_file(), "");
  s.sold_out_map = sold_out.map_file();
  auto text = flashsale::render_haproxy_config(s);
  EXPECT_NE(text.find("server node 127.0.0.1:9 maxconn 24 pool-max-conn 24"), std::string::npos)
      << "the backend never gets more connections than the adapter has threads:\n"
      << text;
  EXPECT_NE(text.find("maxconn 5000"), std::string::npos) << text;
  EXPECT_NE(text.find("gt 4096"), std::string::npos) << "bodies over the limit stop at the edge";
  EXPECT_NE(read_file(sold_out.map_file()).find("\ngone 0\n"), std::string::npos);
  // The node's own sold_out body, the product named from the variable the rules set.
  EXPECT_EQ(read_file(dir.file("errors/sold_out.lf")),
            R"({"error":{"code":"sold_out","message":"product '%[var(txn.sold_out)]' has only 0 )"
            R"(units available"}})");
  auto service = read_file(dir.file("errors/flashsale_too_large.lua"));
  EXPECT_NE(service.find(R"(\"code\":\"payload_too_large\")"), std::string::npos) << service;
  { std::ofstream(dir.file("haproxy.cfg")) << text; }
  child_process check({"/usr/sbin/haproxy", "-c", "-f", dir.file("haproxy.cfg")});
  auto code = check.wait_exit(30s);
  ::close(listen_fd);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << check.output() << "\n" << text;

  // What HAProxy answers itself is in API.md's shape; a dead or slow node is a 503 to retry.
  auto dead_node = read_file(dir.file("errors/502.http"));
  EXPECT_EQ(dead_node.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << dead_node;
  EXPECT_NE(dead_node.find("Retry-After: 1\r\n"), std::string::npos) << dead_node;
  EXPECT_NE(dead_node.find(R"({"error":{"code":"unavailable","message":)"), std::string::npos);
  auto slow_client = read_file(dir.file("errors/408.http"));
  EXPECT_NE(slow_client.find(R"("code":"request_timeout")"), std::string::npos) << slow_client;
}

TEST(EdgeConfig, RuntimeApiHelpersReadAStatColumnAndQuoteAnArgument) {
  const std::string csv = "# pxname,svname,qcur,stot,req_tot,\nsold_out,BACKEND,0,41,40,\n\n";
  EXPECT_EQ(flashsale::haproxy_stat_field(csv, "stot"), 41);
  EXPECT_EQ(flashsale::haproxy_stat_field(csv, "req_tot"), 40);
  EXPECT_EQ(flashsale::haproxy_stat_field(csv, "missing"), std::nullopt);
  EXPECT_EQ(flashsale::haproxy_stat_field("Unknown command.\n", "stot"), std::nullopt);
  EXPECT_EQ(flashsale::haproxy_cli_argument("/data dir/a;b"), "/data\\ dir/a\\;b");
}

TEST_F(EdgeFront, CrowdOfOneShotBuyersBesideSilentSocketsIsEveryoneAnswered) {
  start();
  // Bare httplib (64 workers, 5 s read timeout) gives each silent socket a worker for 5 s,
  // so 300 of them keep buyers waiting far past the 10 s below; the edge holds them as sockets.
  child_process load({FLASHSALE_BINARY,
                      "load",
                      "--url",
                      "http://127.0.0.1:" + std::to_string(port_),
                      "--crowd",
                      "--buyers",
                      "400",
                      "--arrival-window",
                      "0.5",
                      "--hold",
                      "2",
                      "--idle-sockets",
                      "300",
                      "--buyer-timeout",
                      "10",
                      "--stock",
                      "50",
                      "--product",
                      "crowd",
                      "--json"},
                     {"FLASHSALE_ADMIN_TOKEN=" + flashsale::testing::edge_admin_token});
  auto code = load.wait_exit(60s);
  ASSERT_TRUE(code) << load.output();
  json report;
  std::istringstream lines(load.output());
  for (std::string l; std::getline(lines, l);)
    if (l.rfind("{\"", 0) == 0)
      report = json::parse(l);
  ASSERT_TRUE(report.is_object()) << load.output();
  EXPECT_EQ(*code, 0) << report["verdict"].dump(2);
  EXPECT_EQ(report["crowd"]["unanswered"], 0) << report["crowd"].dump(2);
  EXPECT_EQ(report["crowd"]["idle_sockets"], 300) << report["crowd"].dump(2);
  EXPECT_EQ(report["outcomes"]["accepted"], 50);
  EXPECT_EQ(report["outcomes"]["sold_out"], 350);
  EXPECT_EQ(report["product_after"]["reserved"], 50);
}

TEST_F(EdgeFront, HaproxyKilledMidSaleIsRestartedAndTheSaleGoesOn) {
  start();
  define("p", 1000);
  int first = haproxy_pid();
  ASSERT_TRUE(flashsale::testing::process_alive(first));
  std::atomic<bool> stop{false};
  std::atomic<int> created{0};
  struct joined_thread : std::thread { // a failed ASSERT must not leave it joinable
    using std::thread::thread;
    std::atomic<bool>* stop = nullptr;
    ~joined_thread() {
      *stop = true;
      if (joinable())
        join();
    }
  } buyers([&] {
    for (int i = 0; !stop; ++i) {
      auto c = client(); // one connection per buyer, as a crowd does
      auto r = c->Post(
          "/orders",
          json{{"user_id", "u-" + std::to_string(i)}, {"product_id", "p"}, {"quantity", 1}}.dump(),
          "application/json");
      if (r && r->status == 201)
        ++created;
    }
  });
  buyers.stop = &stop;
  ASSERT_TRUE(eventually([&] { return created > 20; }));
  ::kill(first, SIGKILL);
  EXPECT_TRUE(eventually([&] {
    int now = haproxy_pid();
    return now > 0 && now != first && flashsale::testing::process_alive(now);
  })) << node_->output();
  int at_restart = created;
  EXPECT_TRUE(eventually([&] { return created > at_restart + 20; }))
      << "orders go through the restarted edge";
  stop = true;
  buyers.join();
  // Every 201 a buyer saw is in the product's counts; nothing beyond them either.
  auto view = product("p");
  EXPECT_EQ(view["reserved"], created.load()) << view.dump();
  EXPECT_NE(node_->output().find("restarting"), std::string::npos) << node_->output();
}

TEST_F(EdgeFront, SigkilledNodeLeavesNoHaproxyHoldingItsPort) {
  start();
  int front = haproxy_pid();
  ASSERT_TRUE(flashsale::testing::process_alive(front));
  node_->signal(SIGKILL);
  ASSERT_TRUE(node_->wait_exit(10s));
  EXPECT_TRUE(eventually([&] { return !flashsale::testing::process_alive(front); }))
      << "haproxy " << front << " outlived its node";
  // The port is free again: a new node takes exactly that port.
  int port = port_;
  start({}, port);
  EXPECT_EQ(port_, port);
  auto r = client()->Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(EdgeFront, ClientThatHalfClosesAfterItsRequestGetsItsAnswer) {
  start();
  define("half", 5);
  int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  std::string body = R"({"user_id":"u-half","product_id":"half","quantity":1})";
  std::string request = "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Content-Length: "
                        + std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  ::shutdown(fd, SHUT_WR); // as `nc -N` and socat do
  std::string answer;
  char buf[4096];
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 201 Created", 0), 0u) << answer;
  EXPECT_EQ(product("half")["reserved"], 1);
}

TEST_F(EdgeFront, AddressLimitCountsTheAddressTheEdgeSawNotTheOneClaimed) {
  start({"--set", "rate_limit.per_address_per_second=0.001", "--set", "rate_limit.burst=2"});
  define("limited", 100);
  std::vector<int> statuses;
  for (int i = 0; i < 3; ++i) {
    auto r = client()->Post(
        "/orders", {{"X-Forwarded-For", "203.0.113." + std::to_string(i)}},
        json{{"user_id", "u-" + std::to_string(i)}, {"product_id", "limited"}, {"quantity", 1}}
            .dump(),
        "application/json");
    ASSERT_TRUE(r);
    statuses.push_back(r->status);
    if (i == 2) {
      EXPECT_NE(r->body.find("127.0.0.1"), std::string::npos) << r->body;
    }
  }
  EXPECT_EQ(statuses, (std::vector<int>{201, 201, 429}));
}

TEST_F(EdgeFront, BodyOverTheLimitGets413EveryTimeAlsoWhileTheClientStillSendsIt) {
  start();
  define("after", 5);
  // Python's http.client sends the whole body before it reads: an edge that answered and
  // closed at once left it a reset (BrokenPipeError) in most tries, not the 413.
  constexpr int tries = 10;
  child_process sender({FLASHSALE_PYTHON3, FLASHSALE_SOURCE_DIR "/tests/node/big_body_client.py",
                        std::to_string(port_), std::to_string(tries),
                        std::to_string(2 * 1024 * 1024)});
  auto code = sender.wait_exit(120s);
  ASSERT_TRUE(code) << sender.output();
  ASSERT_EQ(*code, 0) << sender.output();
  // "<framing>: <status> <error.code>", or "<framing>: <exception>" when the client raised.
  std::map<std::string, int> seen;
  std::istringstream lines(sender.output());
  for (std::string l; std::getline(lines, l);) {
    auto r = json::parse(l, nullptr, false);
    if (!r.is_object() || !r.contains("framing")) {
      ADD_FAILURE() << "not a report line: " << l;
      continue;
    }
    auto outcome = r["framing"].get<std::string>() + ": ";
    if (r.contains("error")) {
      outcome += r["error"].get<std::string>();
    } else {
      auto body = json::parse(r.value("body", ""), nullptr, false);
      auto& e = body.is_object() && body.size() == 1 ? body["error"] : body;
      bool shaped = r.value("content_type", "") == "application/json" && e.is_object()
                    && e.size() == 2 && e["code"].is_string() && e["message"].is_string()
                    && !e["message"].get<std::string>().empty();
      outcome += std::to_string(r.value("status", 0)) + " "
                 + (shaped ? e["code"].get<std::string>() : "not the contract's shape: " + l);
    }
    ++seen[outcome];
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{{"bytes: 413 payload_too_large", tries},
                                              {"chunked: 413 payload_too_large", tries},
                                              {"file: 413 payload_too_large", tries}}));
  // The node kept serving, and nothing of the refused bodies reached it.
  auto health = client()->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto order = client()->Post(
      "/orders", json{{"user_id", "u-after"}, {"product_id", "after"}, {"quantity", 1}}.dump(),
      "application/json");
  ASSERT_TRUE(order);
  EXPECT_EQ(order->status, 201) << order->body;
  EXPECT_EQ(product("after")["reserved"], 1);
}

TEST_F(EdgeFront, SigtermStopsTheEdgeWithTheNode) {
  start();
  int front = haproxy_pid();
  ASSERT_TRUE(flashsale::testing::process_alive(front));
  node_->signal(SIGTERM);
  auto code = node_->wait_exit(30s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << node_->output();
  EXPECT_FALSE(flashsale::testing::process_alive(front));
  int fd = connect_to(port_);
  EXPECT_EQ(fd, -1) << "the port is closed";
  if (fd >= 0)
    ::close(fd);
}

} // namespace
