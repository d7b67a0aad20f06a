// A real node with the HTTP adapter in front, in-process, on a temp data dir and port 0, for
// the HTTP tests: the node as clients see it, with a manual clock when a test needs time.
// With FLASHSALE_TEST_FRONT=embedded (ctest runs every HTTP test that way too, suffix
// "/front") the adapter sits behind a real HAProxy edge, as `flashsale serve` runs it, and
// clients talk to the edge.
// With FLASHSALE_RECORD_RESPONSES=<dir> (ctest sets it) every response a client() receives is
// appended to <dir>/<pid>.jsonl for tests/http/openapi_check.py, which checks each against
// docs/openapi.yaml.
#pragma once

#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "events/clock.hpp"
#include "http/server.hpp"
#include "node/edge_front.hpp"
#include "node/edge_sold_out.hpp"
#include "node/node.hpp"
#include "payments/webhook_signature.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"

namespace flashsale::testing {

inline const std::string admin_token = "test-admin-token-0123456789";
inline const std::string webhook_secret = "test-webhook-secret-abcdef";

/// Records what clients receive, one JSON line per response:
///   {"test", "method", "path", "status", "headers": {name: value}, "content_type", "body"}
/// Client-side, through httplib::Client::set_logger (called after each response is read), so
/// it also sees the answers HAProxy gives itself in the "/front" runs, which a hook in the
/// server could not. One file per process (ctest runs each test in its own), appended under
/// a mutex because tests share the recorder across threads.
class response_recorder {
public:
  static response_recorder& instance() {
    static response_recorder recorder;
    return recorder;
  }

  bool enabled() const { return out_.is_open(); }

  void record(const httplib::Request& req, const httplib::Response& res) {
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [name, value] : res.headers) {
      auto& h = headers[name]; // repeated headers combine as RFC 9110 says: "a, b"
      h = h.is_null() ? value : h.get<std::string>() + ", " + value;
    }
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    nlohmann::json line{{"test", test ? std::string(test->test_suite_name()) + "." + test->name()
                                            + (front_ ? "/front" : "")
                                      : std::string("?")},
                        {"method", req.method},
                        {"path", req.path},
                        {"status", res.status},
                        {"headers", std::move(headers)},
                        {"content_type", res.get_header_value("Content-Type")},
                        {"body", res.body}};
    // replace: a body need not be UTF-8, the line must be.
    auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::lock_guard<std::mutex> guard(mutex_);
    out_ << text << '\n' << std::flush; // a crashing test keeps what it recorded
  }

private:
  response_recorder() {
    const char* dir = std::getenv("FLASHSALE_RECORD_RESPONSES");
    if (!dir || !*dir)
      return;
    const char* front = std::getenv("FLASHSALE_TEST_FRONT");
    front_ = front && std::string(front) == "embedded";
    std::error_code ignored;
    std::filesystem::create_directories(dir, ignored);
    auto path = std::string(dir) + "/" + std::to_string(::getpid()) + ".jsonl";
    out_.open(path, std::ios::app);
    if (!out_) // silently recording nothing would let the check pass on no evidence
      throw std::runtime_error("FLASHSALE_RECORD_RESPONSES: cannot write " + path);
  }

  std::mutex mutex_;
  std::ofstream out_;
  bool front_ = false;
};

/// Makes `c` record its responses when FLASHSALE_RECORD_RESPONSES is set.
inline void record_responses(httplib::Client& c) {
  if (response_recorder::instance().enabled())
    c.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      response_recorder::instance().record(req, res);
    });
}

struct node_setup {
  const clock* time = nullptr;
  std::string sync = "normal";
  std::function<void(node_config&)> config;
  std::function<void(http_options&)> http;
};

/// One node + HTTP server on `data_dir`; stop() (or the destructor) shuts both down.
class http_node {
public:
  http_node(const std::string& data_dir, node_setup setup = {}) {
    auto loaded = load_config({});
    if (auto problem = std::get_if<std::string>(&loaded))
      throw std::runtime_error(*problem);
    config_ = std::get<node_config>(loaded);
    config_.data_dir = data_dir;
    config_.nats.url = "off";
    config_.store.sync = setup.sync;
    if (setup.config)
      setup.config(config_);
    auto started = node::start(config_, node_options{setup.time});
    if (auto problem = std::get_if<std::string>(&started))
      throw std::runtime_error(*problem);
    node_ = std::move(std::get<0>(started));
    const char* front = std::getenv("FLASHSALE_TEST_FRONT");
    bool fronted = front && std::string(front) == "embedded";
    http_options options;
    options.port = 0;
    options.behind_front = fronted;
    options.threads =
        config_.http.threads > 0 ? config_.http.threads : default_http_threads(fronted);
    options.max_body_bytes = static_cast<long>(config_.http.max_body_bytes);
    options.admin_token = admin_token;
    options.webhook_secret = webhook_secret;
    options.default_hold_seconds = config_.orders.hold_seconds;
    options.rate_per_user_per_second = config_.rate_limit.per_user_per_second;
    options.rate_burst = config_.rate_limit.burst;
    options.time = setup.time;
    if (fronted) { // as `flashsale serve` wires it: the edge turns sold-out buyers away
      sold_out_ = std::make_shared<edge_sold_out>(data_dir);
      options.availability = sold_out_feed(sold_out_);
      options.edge_orders = edge_order_counts(sold_out_);
    }
    if (setup.http)
      setup.http(options);
    auto bound = http_server::bind(options, *node_);
    if (auto problem = std::get_if<std::string>(&bound))
      throw std::runtime_error(*problem);
    server_ = std::move(std::get<0>(bound));
    server_->start();
    if (fronted) {
      edge_options edge;
      edge.backend_port = server_->port();
      edge.backend_connections = options.threads;
      edge.max_body_bytes = options.max_body_bytes;
      edge.data_dir = data_dir;
      edge.sold_out = sold_out_;
      auto started_front = edge_front::start(edge);
      if (auto problem = std::get_if<std::string>(&started_front))
        throw std::runtime_error(*problem);
      front_ = std::move(std::get<0>(started_front));
    }
  }
  ~http_node() { stop(); }

  void stop() {
    front_.reset();
    if (server_)
      server_->stop();
    server_.reset();
    node_.reset();
  }

  int port() const { return front_ ? front_->port() : server_->port(); }
  bool behind_front() const { return front_ != nullptr; }
  flashsale::node& the_node() { return *node_; }
  const node_config& config() const { return config_; }

  std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port());
    c->set_connection_timeout(5, 0);
    c->set_read_timeout(30, 0);
    c->set_keep_alive(true);
    record_responses(*c);
    return c;
  }

private:
  node_config config_;
  std::unique_ptr<flashsale::node> node_;
  std::shared_ptr<edge_sold_out> sold_out_;
  std::unique_ptr<http_server> server_;
  std::unique_ptr<edge_front> front_;
};

inline httplib::Headers admin() {
  return {{"Authorization", "Bearer " + admin_token}};
}

inline nlohmann::json body_of(const httplib::Result& r) {
  return nlohmann::json::parse(r->body, nullptr, false);
}

inline std::string error_code(const httplib::Result& r) {
  auto j = body_of(r);
  if (j.is_object() && j.contains("error") && j["error"].is_object())
    return j["error"].value("code", "");
  return "<no error body: " + r->body + ">";
}

/// The product view as "stock/available/reserved/sold", checking the invariant on the way.
inline std::string counts(httplib::Client& c, const std::string& product_id) {
  auto r = c.Get(("/products/" + product_id).c_str());
  if (!r || r->status != 200)
    return "<no product>";
  auto j = body_of(r);
  auto s = j["stock"].get<long>(), a = j["available"].get<long>(), re = j["reserved"].get<long>(),
       so = j["sold"].get<long>();
  EXPECT_EQ(a + re + so, s) << "invariant available + reserved + sold == stock: " << r->body;
  EXPECT_TRUE(a >= 0 && re >= 0 && so >= 0) << r->body;
  return std::to_string(s) + "/" + std::to_string(a) + "/" + std::to_string(re) + "/"
         + std::to_string(so);
}

inline httplib::Result define(httplib::Client& c, const std::string& id, nlohmann::json body) {
  return c.Put(("/products/" + id).c_str(), admin(), body.dump(), "application/json");
}

inline httplib::Result order(httplib::Client& c, const std::string& user,
                             const std::string& product, int quantity,
                             const std::string& key = "") {
  nlohmann::json b{{"user_id", user}, {"product_id", product}, {"quantity", quantity}};
  httplib::Headers h;
  if (!key.empty())
    h.emplace("Idempotency-Key", key);
  return c.Post("/orders", h, b.dump(), "application/json");
}

inline httplib::Result webhook(httplib::Client& c, const nlohmann::json& body,
                               std::int64_t at_unix_seconds,
                               const std::string& secret = webhook_secret) {
  auto text = body.dump();
  httplib::Headers h{{webhook_signature_header, sign_webhook(secret, at_unix_seconds, text)}};
  return c.Post("/payments/webhook", h, text, "application/json");
}

inline std::int64_t wall_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace flashsale::testing
