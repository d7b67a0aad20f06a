// The baseline for bench/http_bench.sh: cpp-httplib with the same tuning as http/server.cpp
// (TCP_NODELAY, unlimited keep-alive, 2 s idle, backlog 4096, 64 workers), answering
// POST /orders by parsing the JSON and returning a small 201 body, with no node behind it.
// Prints "listening on <port>" and serves until killed.
#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <iostream>

#include <nlohmann/json.hpp>

int main() {
  httplib::Server svr;
  svr.new_task_queue = [] { return new httplib::ThreadPool(64); };
  svr.set_tcp_nodelay(true);
  svr.set_keep_alive_max_count(1000000);
  svr.set_keep_alive_timeout(2);
  svr.set_payload_max_length(65536);
  int listen_fd = -1;
  svr.set_socket_options([&](int sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });
  std::atomic<long> next{0};
  svr.Post("/orders", [&](const httplib::Request& req, httplib::Response& res) {
    auto in = nlohmann::json::parse(req.body, nullptr, false);
    if (in.is_discarded() || !in.contains("user_id")) {
      res.status = 400;
      return;
    }
    res.status = 201;
    auto id = "o-" + std::to_string(next++);
    res.set_header("Location", "/orders/" + id);
    res.set_content(
        nlohmann::json{{"order_id", id}, {"user_id", in["user_id"]}, {"status", "reserved"}}.dump(),
        "application/json");
  });
  int port = svr.bind_to_any_port("127.0.0.1");
  if (port <= 0)
    return 1;
  if (listen_fd >= 0)
    ::listen(listen_fd, 4096);
  std::cout << "listening on " << port << std::endl;
  svr.listen_after_bind();
}
