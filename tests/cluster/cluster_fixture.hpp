// A fixture for cluster tests: a fresh three-server JetStream cluster per test (TLS and the
// shipped accounts, tests/cluster/nats_cluster.hpp), a NATS link to it, and helpers to read who
// owns what from the placement bucket.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "cluster/nats_link.hpp"
#include "cluster/placement.hpp"
#include "tests/cluster/nats_cluster.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"

namespace flashsale::testing {

class ClusterTest : public ::testing::Test {
protected:
  void SetUp() override {
    cluster = std::make_unique<nats_cluster>(dir.path(), cluster_options);
    ASSERT_NO_FATAL_FAILURE(cluster->start_all());
    link = connect_link("test");
    ASSERT_TRUE(link);
    ASSERT_TRUE(eventually([&] { return link->jetstream_ready(); }, std::chrono::seconds(30)))
        << "JetStream of the cluster never answered";
  }

  std::shared_ptr<cluster::nats_link> connect_link(const std::string& name) {
    auto l = cluster::nats_link::connect(cluster->link_options(name));
    if (auto e = std::get_if<std::string>(&l)) {
      ADD_FAILURE() << *e;
      return nullptr;
    }
    auto shared = std::get<0>(l);
    eventually([&] { return shared->connected(); }, std::chrono::seconds(10));
    return shared;
  }

  /// node -> number of partitions it holds, from the bucket; empty on a read error.
  std::map<std::string, int> shares() {
    auto v = cluster::read_cluster_view(*link);
    std::map<std::string, int> s;
    if (auto view = std::get_if<cluster::cluster_view>(&v))
      for (auto& [p, lease] : view->leases)
        if (!lease.node.empty())
          ++s[lease.node];
    return s;
  }

  /// How the cluster is started: a derived fixture may change it in its constructor (the
  /// durability tests turn sync_always on).
  nats_cluster_options cluster_options;
  temp_dir dir;
  std::unique_ptr<nats_cluster> cluster;
  std::shared_ptr<cluster::nats_link> link;
};

} // namespace flashsale::testing
