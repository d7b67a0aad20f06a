// A cluster member for the process-level tests: a real process that owns partitions through
// cluster::partition_owner (lease, claim, rebuild) and appends a record to each partition it
// serves every --append-every-ms, as a node would commit orders. It reports what
// happens as lines on stdout, which the tests wait for:
//   ready
//   acquired <p> epoch <e> claim <seq>
//   lost <p>
//   fenced <p>            (the stream refused an append: someone else appended since)
// It is a test harness, not a product: the node's cluster mode is built on the same parts.
// Arguments: --nats URLS [--user U --password P --ca FILE] --node ID --partitions N
// --lease-ms MS --append-every-ms MS (nats_cluster::member_args() gives the first ones).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <vector>
#include <string>
#include <thread>

#include "cluster/partition_owner.hpp"

using namespace flashsale::cluster;

namespace {
std::atomic<bool> stop{false};
std::mutex out_mutex;

void say(const std::string& line) {
  std::lock_guard lock(out_mutex);
  std::cout << line << std::endl;
}
} // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> arg;
  for (int i = 1; i + 1 < argc; i += 2)
    arg[argv[i]] = argv[i + 1];
  ::signal(SIGTERM, [](int) { stop = true; });
  nats_link_options lo;
  lo.urls = flashsale::split_nats_urls(arg["--nats"]);
  lo.name = "member-" + arg["--node"];
  lo.api_timeout_ms = 1000;
  lo.security.user = arg["--user"];
  lo.security.password = arg["--password"];
  lo.security.ca_file = arg["--ca"];
  auto link_or = nats_link::connect(lo);
  if (auto e = std::get_if<std::string>(&link_or)) {
    std::cerr << *e << "\n";
    return 1;
  }
  auto link = std::get<0>(link_or);
  const std::string node = arg["--node"];
  partition_owner_options o;
  o.lease.node_id = node;
  o.lease.partitions = std::stoi(arg["--partitions"]);
  o.lease.lease_ms = std::stoll(arg["--lease-ms"]);
  o.on_serving = [&](int p, const std::vector<partition_record>& history) {
    say("acquired " + std::to_string(p) + " epoch " + std::to_string(history.back().epoch)
        + " claim " + std::to_string(history.back().seq));
  };
  o.on_stopped = [&](int p) { say("lost " + std::to_string(p)); };
  auto owner_or = partition_owner::start(link, o);
  if (auto e = std::get_if<std::string>(&owner_or)) {
    std::cerr << *e << "\n";
    return 1;
  }
  auto owner = std::move(std::get<0>(owner_or));
  say("ready");

  const auto every = std::chrono::milliseconds(std::stoll(arg["--append-every-ms"]));
  for (std::uint64_t n = 0; !stop; ++n) {
    for (auto& [p, epoch] : owner->serving()) {
      auto r = owner->append(p, "{\"tick\":" + std::to_string(n) + "}");
      if (auto refused = std::get_if<append_refused>(&r); refused && refused->fenced)
        say("fenced " + std::to_string(p));
    }
    std::this_thread::sleep_for(every);
  }
  owner.reset(); // leaves the cluster: releases every lease
  return 0;
}
