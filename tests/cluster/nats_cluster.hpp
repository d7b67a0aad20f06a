// A real three-server nats-server cluster with JetStream on free loopback ports, each server
// a child process with its store in a temp dir, stopped (or killed, or paused) by its PID.
#pragma once

#include <signal.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/nats/nats_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace flashsale::testing {

class nats_cluster {
public:
  explicit nats_cluster(const std::string& root, int size = 3) : root_(root) {
    for (int i = 0; i < size; ++i) {
      client_ports_.push_back(free_port());
      route_ports_.push_back(free_port());
    }
    servers_.resize(size);
  }
  ~nats_cluster() {
    for (std::size_t i = 0; i < servers_.size(); ++i)
      stop(static_cast<int>(i));
  }

  void start_all() {
    for (std::size_t i = 0; i < servers_.size(); ++i)
      start(static_cast<int>(i));
  }

  void start(int i) {
    // Cluster mode needs nats-server >= 2.12 (docs/SCALING.md): the build tree's copy.
    const char* pinned = std::getenv("CLUSTER_NATS_SERVER");
    auto binary = pinned ? std::string(pinned) : find_program("nats-server");
    ASSERT_FALSE(binary.empty()) << "nats-server is not installed (apt-get install nats-server)";
    std::string routes;
    for (std::size_t j = 0; j < route_ports_.size(); ++j)
      if (static_cast<int>(j) != i)
        routes += (routes.empty() ? "" : ",") + std::string("nats://127.0.0.1:")
                  + std::to_string(route_ports_[j]);
    servers_[i] = std::make_unique<child_process>(std::vector<std::string>{
      binary, "-js", "-a", "127.0.0.1", "-p", std::to_string(client_ports_[i]), "-sd",
      root_ + "/nats-" + std::to_string(i), "-n", "n" + std::to_string(i), "--cluster_name",
      "flashsale-test", "--cluster", "nats://127.0.0.1:" + std::to_string(route_ports_[i]),
      "--routes", routes});
    ASSERT_TRUE(eventually([&] { return accepts_connections(client_ports_[i]); },
                           std::chrono::seconds(15)))
      << servers_[i]->output();
  }

  void stop(int i) {
    if (!servers_[i])
      return;
    servers_[i]->signal(SIGTERM);
    servers_[i]->wait_exit(std::chrono::seconds(10));
    servers_[i].reset();
  }

  void kill(int i) {
    servers_[i]->signal(SIGKILL);
    servers_[i]->wait_exit(std::chrono::seconds(10));
    servers_[i].reset();
  }

  /// SIGSTOP: the server holds its sockets but answers nothing (a server cut off silently).
  void pause(int i) { servers_[i]->signal(SIGSTOP); }
  void resume(int i) { servers_[i]->signal(SIGCONT); }

  /// The index of the server named `name` ("n<i>", as started here); -1 for another name.
  int index_of(const std::string& name) const {
    for (std::size_t i = 0; i < servers_.size(); ++i)
      if (name == "n" + std::to_string(i))
        return static_cast<int>(i);
    return -1;
  }

  std::string url(int i) const { return "nats://127.0.0.1:" + std::to_string(client_ports_[i]); }
  /// Every server, comma-separated (what a node's nats.url names in cluster mode).
  std::string urls() const {
    std::string all;
    for (std::size_t i = 0; i < client_ports_.size(); ++i)
      all += (i ? "," : "") + url(static_cast<int>(i));
    return all;
  }
  std::vector<std::string> url_list() const {
    std::vector<std::string> all;
    for (std::size_t i = 0; i < client_ports_.size(); ++i)
      all.push_back(url(static_cast<int>(i)));
    return all;
  }

private:
  std::string root_;
  std::vector<int> client_ports_, route_ports_;
  std::vector<std::unique_ptr<child_process>> servers_;
};

} // namespace flashsale::testing
