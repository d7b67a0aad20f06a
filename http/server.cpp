#include "http/server.hpp"

#include <sys/socket.h>

#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "http/routes.hpp"

namespace flashsale {

namespace {

// httplib hard-codes listen(fd, 5); a flash crowd overflows that at once and the dropped SYNs
// come back as 1 s retransmit tails. Linux lets a second listen() raise the backlog.
constexpr int listen_backlog = 4096;

void send_error(httplib::Response& res, const char* code, const std::string& message) {
  res.set_content(nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump(),
                  "application/json");
}

} // namespace

int default_http_threads() {
  // Measured on 2 cores (notes §3.3): 64 workers served 64 keep-alive connections at the best
  // throughput; 256 workers served more connections but lost ~40% throughput.
  return 64;
}

struct http_server::impl {
  httplib::Server server;
  int listen_fd = -1;
  int port = 0;
  std::thread thread;
};

http_server::http_server(std::unique_ptr<impl> self) : self_(std::move(self)) {}

http_server::~http_server() {
  stop();
}

std::variant<std::unique_ptr<http_server>, std::string>
http_server::bind(const http_options& options, node_api& node) {
  auto self = std::make_unique<impl>();
  auto& svr = self->server;
  auto threads = options.threads > 0 ? options.threads : default_http_threads();
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr.set_tcp_nodelay(true);               // else ~40 ms per keep-alive response (Nagle)
  svr.set_keep_alive_max_count(1000000);   // default 5 forces constant reconnects
  svr.set_keep_alive_timeout(2);           // idle connections give their worker back quickly
  svr.set_read_timeout(5, 0);
  svr.set_write_timeout(5, 0);
  svr.set_payload_max_length(static_cast<size_t>(options.max_body_bytes));
  auto* raw = self.get();
  svr.set_socket_options([raw](int sock) {
    httplib::default_socket_options(sock);
    raw->listen_fd = sock;
  });
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) // handlers set their own error bodies; keep them
      return;
    if (res.status == 404)
      send_error(res, "not_found", "no route for " + req.method + " " + req.path);
    else if (res.status == 413)
      send_error(res, "payload_too_large", "the request body exceeds http.max_body_bytes");
    else if (res.status == 400)
      send_error(res, "invalid_request", "malformed HTTP request");
    else
      send_error(res, "internal", "HTTP status " + std::to_string(res.status));
  });
  svr.set_exception_handler(
    [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      res.status = 500;
      send_error(res, "internal", "internal error");
    });
  install_routes(svr, node);
  if (options.port == 0) {
    self->port = svr.bind_to_any_port(options.host);
    if (self->port <= 0)
      return "cannot bind http " + options.host + ":0";
  } else {
    if (!svr.bind_to_port(options.host, options.port))
      return "cannot bind http " + options.host + ":" + std::to_string(options.port)
             + " (in use, or not a local address)";
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
  if (!self_)
    return;
  self_->server.stop();
  if (self_->thread.joinable())
    self_->thread.join();
}

} // namespace flashsale
