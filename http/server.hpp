// The HTTP listener: cpp-httplib tuned as shared/notes/dependencies.md measured it
// (TCP_NODELAY, long keep-alive with a short idle timeout, a listen backlog that does not drop
// SYNs, a worker pool sized for the expected keep-alive connections). Owns the listening
// thread, the rate limiter, the write admission gate and the metrics; routes are installed by
// http/routes.cpp. httplib stays out of this header.
// invariant: stop() runs before the node is destroyed (it unhooks the commit listener).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>

#include "actors/read_models.hpp"

namespace flashsale {

class node_api;
class clock;

struct http_options {
  std::string host = "127.0.0.1";
  int port = 0;    ///< 0 = any free port
  int threads = 0; ///< 0 = default_http_threads(behind_front)
  /// Behind the node's embedded edge (node/edge_front.hpp): the only peers are its pooled
  /// connections, at most `threads` of them, so they may stay idle long; and the
  /// X-Forwarded-For it sets names the client.
  bool behind_front = false;
  long max_body_bytes = 65536;
  std::string admin_token;    ///< required (see http/secrets.hpp for where it comes from)
  std::string webhook_secret; ///< required
  std::int64_t default_hold_seconds = 600; ///< orders.hold_seconds
  double rate_per_user_per_second = 0;     ///< 0 = no rate limit
  double rate_per_address_per_second = 0;  ///< 0 = no rate limit
  std::int64_t rate_burst = 10;
  /// Order/cancel/webhook requests inside the node at once; beyond it 503 + Retry-After: 1.
  /// 0 = default_max_in_flight_writes(threads).
  int max_in_flight_writes = 0;
  /// The delay gate (http/admission.hpp): writes are shed while the node takes longer than
  /// this to answer them, over a whole 100 ms interval, or none finishes for this long.
  /// 0 = never.
  std::int64_t shed_after_ms = 0;
  /// Time for the rate limiter and the webhook tolerance; nullptr = the system clock.
  const clock* time = nullptr;
  /// Behind the embedded edge, which turns sold-out buyers away itself (node/edge_sold_out.hpp):
  /// told every product's availability as the node publishes it (node_api::on_commit)...
  availability_listener availability;
  /// ...and read at each scrape: the POST /orders the edge answered, by outcome ("sold_out"),
  /// since the node started. /metrics counts them in flashsale_orders_total and shows them as
  /// flashsale_edge_orders_total. Must answer quickly. Empty = none.
  std::function<std::map<std::string, std::int64_t>()> edge_orders;
};

/// Workers in the pool when `http.threads` is 0. httplib serves one keep-alive connection per
/// worker until it closes, so bare this bounds the connections served at once; behind the
/// front it is also the front's backend connection limit (requests beyond it queue there).
int default_http_threads(bool behind_front);

/// The write admission limit for `threads` workers when http_options leaves it 0: `threads`.
/// httplib 0.11 serves a request on the worker that owns its connection, so in-flight
/// requests can never exceed the pool: with this default the gate bounds, it does not shed;
/// the pool size is the real bound, and connections beyond it wait in httplib's accept queue
/// (which httplib does not let us bound: its TaskQueue receives an opaque closure). A lower
/// explicit limit sheds writes early and keeps the remaining workers for reads and /health.
int default_max_in_flight_writes(int threads);

/// The client's address: the front's X-Forwarded-For behind it, else the peer's address.
std::string client_address(const std::string& remote_addr, const std::string& forwarded_for,
                           bool behind_front);

class http_server {
public:
  /// Binds (so the real port is known) and installs the routes; does not serve yet.
  static std::variant<std::unique_ptr<http_server>, std::string> bind(const http_options& options,
                                                                      node_api& node);
  ~http_server();

  int port() const;
  /// Serves on a background thread until stop().
  void start();
  /// Stops accepting, lets in-flight requests finish, joins the thread, unhooks the node's
  /// commit listener. Idempotent.
  void stop();

private:
  struct impl;
  explicit http_server(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace flashsale
