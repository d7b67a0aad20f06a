// `flashsale serve` with its embedded HAProxy edge (the default) on a temp data dir, as the
// edge's end-to-end tests start it, plus what they read from outside: HAProxy's PID file, its
// stats socket, /metrics series. Every process is stopped by its PID.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "node/haproxy_cli.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace flashsale::testing {

inline const std::string edge_admin_token = "edge-test-admin-token";

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline int pid_in(const std::string& path) {
  std::ifstream in(path);
  int pid = -1;
  in >> pid;
  return pid;
}

/// Connects to 127.0.0.1:port; -1 on failure.
inline int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// The sum of the samples of `name` whose labels contain every one of `labels` (each
/// `key="value"`), in Prometheus text; 0 when there is none.
inline double metric(const std::string& text, const std::string& name,
                     const std::vector<std::string>& labels = {}) {
  double sum = 0;
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);) {
    if (l.rfind(name + "{", 0) != 0 && l.rfind(name + " ", 0) != 0)
      continue;
    bool all = true;
    for (const auto& label : labels)
      all = all && l.find(label) != std::string::npos;
    if (all)
      sum += std::stod(l.substr(l.rfind(' ') + 1));
  }
  return sum;
}

/// `flashsale serve` with the embedded front (the default) on a temp data dir.
class EdgeFront : public ::testing::Test {
protected:
  void start(std::vector<std::string> extra = {}, int port = 0) {
    std::vector<std::string> argv{FLASHSALE_BINARY, "serve",
                                  "--set",          "http.port=" + std::to_string(port),
                                  "--set",          "data_dir=" + dir_.file("data"),
                                  "--set",          "nats.url=off",
                                  "--set",          "store.sync=normal"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    node_ = std::make_unique<child_process>(
        argv, std::vector<std::string>{"FLASHSALE_ADMIN_TOKEN=" + edge_admin_token});
    port_ = listening_port(*node_);
    ASSERT_GT(port_, 0) << node_->output();
  }

  std::string data(const std::string& name) const { return dir_.file("data/" + name); }
  int haproxy_pid() const { return pid_in(data("haproxy.pid")); }

  std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_connection_timeout(5, 0);
    c->set_read_timeout(30, 0);
    return c;
  }

  void define(const std::string& product, int stock, nlohmann::json more = {}) {
    auto body = nlohmann::json{{"name", product}, {"stock", stock}};
    if (more.is_object())
      body.update(more);
    auto r =
        client()->Put("/products/" + product, {{"Authorization", "Bearer " + edge_admin_token}},
                      body.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->status == 201 || r->status == 200) << r->body;
  }

  nlohmann::json product(const std::string& id) {
    auto r = client()->Get("/products/" + id);
    return r && r->status == 200 ? nlohmann::json::parse(r->body) : nlohmann::json();
  }

  std::string metrics() {
    auto r = client()->Get("/metrics");
    return r && r->status == 200 ? r->body : std::string();
  }

  /// What HAProxy's runtime API answers to `command` (empty when it could not be asked).
  std::string haproxy(const std::string& command) {
    return haproxy_command(data("haproxy.sock"), command, std::chrono::seconds(2)).value_or("");
  }

  temp_dir dir_;
  std::unique_ptr<child_process> node_;
  int port_ = -1;
};

} // namespace flashsale::testing
