// The HTTP listener: cpp-httplib tuned as shared/notes/dependencies.md measured it
// (TCP_NODELAY, long keep-alive with a short idle timeout, a listen backlog that does not drop
// SYNs, a worker pool sized for the expected keep-alive connections). Owns the listening
// thread; routes are installed by http/routes.cpp. httplib stays out of this header.
#pragma once

#include <memory>
#include <string>
#include <variant>

namespace flashsale {

class node_api;

struct http_options {
  std::string host = "127.0.0.1";
  int port = 0;        ///< 0 = any free port
  int threads = 0;     ///< 0 = default_http_threads()
  long max_body_bytes = 65536;
};

/// Workers in the pool when `http.threads` is 0. httplib serves one keep-alive connection per
/// worker until it closes, so this bounds the connections served at once.
int default_http_threads();

class http_server {
public:
  /// Binds (so the real port is known) and installs the routes; does not serve yet.
  static std::variant<std::unique_ptr<http_server>, std::string> bind(const http_options& options,
                                                                       node_api& node);
  ~http_server();

  int port() const;
  /// Serves on a background thread until stop().
  void start();
  /// Stops accepting, lets in-flight requests finish, joins the thread. Idempotent.
  void stop();

private:
  struct impl;
  explicit http_server(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace flashsale
