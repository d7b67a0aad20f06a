#include "http/server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <thread>

#include "actors/node_api.hpp"
#include "events/clock.hpp"
#include "http/admission.hpp"
#include "http/error_response.hpp"
#include "http/metrics.hpp"
#include "http/rate_limiter.hpp"
#include "http/routes.hpp"

namespace flashsale {

namespace {

// httplib hard-codes listen(fd, 5); a flash crowd overflows that at once and the dropped SYNs
// come back as 1 s retransmit tails. Linux lets a second listen() raise the backlog.
constexpr int listen_backlog = 4096;

} // namespace

int default_http_threads(bool behind_front) {
  // Measured on 2 cores: bare, 64 workers served 64 keep-alive connections at the best
  // throughput and 256 lost ~40% (notes §3.3). Behind the front, the workers only ever see
  // the front's pooled connections; docs/PERFORMANCE.md has the sweep behind this number.
  return behind_front ? 32 : 64;
}

int default_max_in_flight_writes(int threads) {
  return threads > 0 ? threads : default_http_threads(false);
}

std::string client_address(const std::string& remote_addr, const std::string& forwarded_for,
                           bool behind_front) {
  if (behind_front && !forwarded_for.empty()) // the front deletes what a client sent
    return forwarded_for;
  return remote_addr;
}

struct http_server::impl {
  impl(node_api& n, const http_options& o)
    : node(n), time(o.time ? *o.time : wall_clock),
      limiter(o.rate_per_user_per_second, o.rate_burst, time),
      address_limiter(o.rate_per_address_per_second, o.rate_burst, time),
      // The gate measures durations: a monotonic clock, unless a test drives the time.
      writes(admission::options{static_cast<std::size_t>(
                                    o.max_in_flight_writes > 0
                                        ? o.max_in_flight_writes
                                        : default_max_in_flight_writes(
                                            o.threads > 0 ? o.threads
                                                          : default_http_threads(o.behind_front))),
                                o.shed_after_ms, 100},
             o.time ? o.time : &monotonic),
      metrics(std::make_shared<http_metrics>()),
      context{n,        o.admin_token,  o.webhook_secret, o.default_hold_seconds,
              time,     limiter,        address_limiter,  writes,
              *metrics, o.behind_front, o.max_body_bytes, o.edge_orders} {}

  node_api& node;
  system_clock wall_clock;
  monotonic_clock monotonic;
  const clock& time;
  rate_limiter limiter;
  rate_limiter address_limiter;
  admission writes;
  // Shared with the node's commit listener, which may still be running on the store's writer
  // thread while we unhook it.
  std::shared_ptr<http_metrics> metrics;
  route_context context;
  httplib::Server server;
  int listen_fd = -1;
  int port = 0;
  bool stopped = false;
  std::thread thread;
};

http_server::http_server(std::unique_ptr<impl> self) : self_(std::move(self)) {}

http_server::~http_server() {
  stop();
}

std::variant<std::unique_ptr<http_server>, std::string>
http_server::bind(const http_options& options, node_api& node) {
  if (options.admin_token.empty() || options.webhook_secret.empty())
    return std::string("http: the admin token and the webhook secret must not be empty");
  auto self = std::make_unique<impl>(node, options);
  auto& svr = self->server;
  auto threads = options.threads > 0 ? options.threads : default_http_threads(options.behind_front);
  // Trade-offs (measured in shared/notes/dependencies.md §3.3, summarised in
  // docs/ARCHITECTURE.md "HTTP listener tuning"): one worker per keep-alive connection, so the
  // pool bounds the connections served at once (default 64: the 2-core sweet spot); unlimited
  // requests per connection avoid reconnect storms, and the short 2 s idle timeout hands an
  // idle connection's worker back quickly.
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr.set_tcp_nodelay(true);             // else ~40 ms per keep-alive response (Nagle)
  svr.set_keep_alive_max_count(1000000); // default 5 forces constant reconnects
  // Bare, an idle connection gives its worker back after 2 s. Behind the front the peers are
  // its pooled connections, which it closes itself when idle (pool-purge-delay, 5 s): they
  // must outlive that, or a request could be sent on a connection the adapter is closing.
  svr.set_keep_alive_timeout(options.behind_front ? 60 : 2);
  svr.set_read_timeout(5, 0); // a slow-loris client holds a worker 5 s at most
  svr.set_write_timeout(5, 0);
  svr.set_payload_max_length(static_cast<size_t>(options.max_body_bytes)); // larger → 413
  auto* raw = self.get();
  svr.set_socket_options([raw](int sock) {
    httplib::default_socket_options(sock);
    raw->listen_fd = sock;
  });
  // httplib calls this for every status >= 400, also after our handlers: only fill bodies
  // httplib itself left empty (404 no route, 413 too large, 400 unparsable request).
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty())
      return;
    if (res.status == 404)
      send_error(res, {errc::not_found, "no route for " + req.method + " " + req.path});
    else if (res.status == 413)
      send_error(res, body_too_large());
    else if (res.status == 400)
      send_error(res, {errc::invalid_request, "malformed HTTP request"});
    else if (res.status == 503)
      send_error(res, {errc::unavailable, "unavailable"});
    else {
      auto status = res.status;
      send_error(res, {errc::internal, "HTTP status " + std::to_string(status)});
      res.status = status; // keep httplib's own status (e.g. 405, 416)
    }
  });
  svr.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        send_error(res, {errc::internal, "internal error"});
      });
  install_routes(svr, self->context);
  std::weak_ptr<http_metrics> metrics = self->metrics;
  commit_listener listener;
  listener.committed = [metrics](std::size_t events, std::size_t, std::chrono::microseconds d) {
    if (auto m = metrics.lock())
      m->observe_commit(events, d);
  };
  listener.availability = options.availability;
  node.on_commit(std::move(listener));
  if (options.port == 0) {
    self->port = svr.bind_to_any_port(options.host);
    if (self->port <= 0) {
      node.on_commit({});
      return "cannot bind http " + options.host + ":0";
    }
  } else {
    if (!svr.bind_to_port(options.host, options.port)) {
      node.on_commit({});
      return "cannot bind http " + options.host + ":" + std::to_string(options.port)
             + " (in use, or not a local address)";
    }
    self->port = options.port;
  }
  if (self->listen_fd >= 0)
    ::listen(self->listen_fd, listen_backlog);
  return std::unique_ptr<http_server>(new http_server(std::move(self)));
}

int http_server::port() const {
  return self_->port;
}

void http_server::start() {
  self_->thread = std::thread([this] { self_->server.listen_after_bind(); });
}

void http_server::stop() {
  if (!self_ || self_->stopped)
    return;
  self_->stopped = true;
  self_->server.stop();
  if (self_->thread.joinable())
    self_->thread.join();
  self_->node.on_commit({}); // the node may outlive us; it must not call into freed metrics
}

} // namespace flashsale
