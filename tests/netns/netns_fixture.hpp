// The topology the netns tests share, and how they observe it. Networks "buyers" and "nats";
// hosts s1 (nats: where a nats-server runs), node (buyers + nats: a flashsale node's two
// links) and client (buyers + nats: the test process's own seat). Every host listens on TCP
// 7000 on all its addresses, so reach() can render who gets through to whom as one string.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/netns.hpp"

namespace flashsale::testing {

constexpr int probe_port = 7000;
/// A connect that has not completed by then counts as unreachable. Generous: on a veth a
/// handshake takes microseconds, and this 2-core machine is shared.
constexpr auto probe_timeout = std::chrono::milliseconds(500);

inline int listen_everywhere(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  // Nobody accepts: the kernel completes handshakes into the backlog, which is all a probe
  // needs. 4096 leaves room for every probe of a test.
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 4096) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Whether a TCP handshake with address:port completes within `timeout`, from the calling
/// thread's namespace.
inline bool connects(const std::string& address, int port,
                     std::chrono::milliseconds timeout = probe_timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (!ok && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    ok = ::poll(&p, 1, static_cast<int>(timeout.count())) == 1
         && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
  }
  ::close(fd);
  return ok;
}

class NetnsTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "network namespaces need root; exclude with ctest -LE netns";
    net_ = std::make_unique<netns::topology>();
    net_->add_network("buyers");
    net_->add_network("nats");
    net_->add_host("s1", {"nats"});
    net_->add_host("node", {"buyers", "nats"});
    net_->add_host("client", {"buyers", "nats"});
    for (auto name : {"s1", "node", "client"}) {
      int fd = net_->at(name).run([] { return listen_everywhere(probe_port); });
      ASSERT_GE(fd, 0) << name;
      listeners_.push_back(fd);
    }
  }

  void TearDown() override {
    for (int fd : listeners_)
      ::close(fd);
    net_.reset();
  }

  netns::host& host(const std::string& name) { return net_->at(name); }

  /// Who reaches whom on `network`, every pair probed at once: "client>node,s1 node>client
  /// s1>-" (hosts and targets in name order; "-" for none).
  std::string reach(const std::string& network) {
    std::vector<std::string> names;
    for (auto name : {"client", "node", "s1"})
      for (auto& n : host(name).networks())
        if (n == network)
          names.push_back(name);
    std::vector<std::vector<std::future<bool>>> probes(names.size());
    for (std::size_t i = 0; i < names.size(); ++i)
      for (std::size_t j = 0; j < names.size(); ++j)
        if (i != j)
          probes[i].push_back(std::async(std::launch::async, [&, i, j] {
            [[maybe_unused]] auto inside = host(names[i]).enter();
            return connects(host(names[j]).address(network), probe_port);
          }));
    std::string all;
    for (std::size_t i = 0; i < names.size(); ++i) {
      std::string targets;
      for (std::size_t j = 0, k = 0; j < names.size(); ++j)
        if (i != j && probes[i][k++].get())
          targets += (targets.empty() ? "" : ",") + names[j];
      all += (all.empty() ? "" : " ") + names[i] + ">" + (targets.empty() ? "-" : targets);
    }
    return all;
  }

  std::unique_ptr<netns::topology> net_;
  std::vector<int> listeners_;
};

constexpr const char* everyone_on_nats = "client>node,s1 node>client,s1 s1>client,node";
constexpr const char* everyone_on_buyers = "client>node node>client";

} // namespace flashsale::testing
