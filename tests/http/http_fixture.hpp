// A real node with the HTTP adapter in front, in-process, on a temp data dir and port 0, for
// the HTTP tests: the node as clients see it, with a manual clock when a test needs time.
// With FLASHSALE_TEST_FRONT=embedded (ctest runs every HTTP test that way too, suffix
// "/front") the adapter sits behind a real HAProxy edge, as `flashsale serve` runs it, and
// clients talk to the edge.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "events/clock.hpp"
#include "node/edge_front.hpp"
#include "node/node.hpp"
#include "config/config.hpp"
#include "http/server.hpp"
#include "payments/webhook_signature.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"

namespace flashsale::testing {

inline const std::string admin_token = "test-admin-token-0123456789";
inline const std::string webhook_secret = "test-webhook-secret-abcdef";

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
    options.threads = config_.http.threads > 0 ? config_.http.threads
                                               : default_http_threads(fronted);
    options.max_body_bytes = static_cast<long>(config_.http.max_body_bytes);
    options.admin_token = admin_token;
    options.webhook_secret = webhook_secret;
    options.default_hold_seconds = config_.orders.hold_seconds;
    options.rate_per_user_per_second = config_.rate_limit.per_user_per_second;
    options.rate_burst = config_.rate_limit.burst;
    options.time = setup.time;
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
    return c;
  }

private:
  node_config config_;
  std::unique_ptr<flashsale::node> node_;
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
