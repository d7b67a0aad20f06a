// Installs every route of shared/API.md on an httplib server, in front of a node_api:
//   GET /health, GET /metrics, GET /dashboard (+ /dashboard/chart.js), PUT|GET /products/{id},
//   GET /products, POST /orders,
//   GET /orders/{id}, POST /orders/{id}/cancel, POST /payments/webhook.
// invariant: handlers never throw out (a wrapper turns any exception into 500 internal) and
// every status they send comes from the error catalogue or from the node's answer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace httplib {
class Server;
}

namespace flashsale {

class node_api;
class clock;
class rate_limiter;
class admission;
class http_metrics;

/// What the handlers share; owned by http_server, which outlives the routes.
struct route_context {
  node_api& node;
  std::string admin_token;
  std::string webhook_secret;
  std::int64_t default_hold_seconds = 600;
  const clock& time;             ///< webhook signature tolerance
  rate_limiter& limiter;         ///< per user_id
  rate_limiter& address_limiter; ///< per client address
  admission& writes;
  http_metrics& metrics;
  bool behind_front = false;           ///< trust the front's X-Forwarded-For for the client address
  std::int64_t max_body_bytes = 65536; ///< http.max_body_bytes: larger bodies get 413
  /// The orders the edge answered itself, by outcome (http_options::edge_orders); may be empty.
  std::function<std::map<std::string, std::int64_t>()> edge_orders;
};

void install_routes(httplib::Server& server, route_context& context);

} // namespace flashsale
