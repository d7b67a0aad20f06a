// A cluster member for the process-level tests: a real process that joins the lease bucket,
// claims each partition it acquires in the partition log, and appends a record to each
// partition it holds every --append-every-ms, as a node would commit orders. It reports what
// happens as lines on stdout, which the tests wait for:
//   ready
//   acquired <p> epoch <e> claim <seq>
//   lost <p>
//   fenced <p>            (the stream refused an append: someone else appended since)
// It is a test harness, not a product: the node's cluster mode is built on the same parts.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "cluster/lease_keeper.hpp"
#include "cluster/partition_log.hpp"

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
  auto link_or = nats_link::connect({split_urls(arg["--nats"]), "member-" + arg["--node"], 1000});
  if (auto e = std::get_if<std::string>(&link_or)) {
    std::cerr << *e << "\n";
    return 1;
  }
  auto link = std::get<0>(link_or);
  auto log_or = partition_log::open(link);
  if (auto e = std::get_if<std::string>(&log_or)) {
    std::cerr << *e << "\n";
    return 1;
  }
  auto& log = *std::get<0>(log_or);

  std::mutex mutex;
  struct owned_partition {
    std::uint64_t epoch, expected;
  };
  std::map<int, owned_partition> owned;
  const std::string node = arg["--node"];
  lease_keeper_options o;
  o.node_id = node;
  o.partitions = std::stoi(arg["--partitions"]);
  o.lease_ms = std::stoll(arg["--lease-ms"]);
  o.on_acquired = [&](int p, std::uint64_t epoch) {
    auto claimed = log.claim(p, node, epoch);
    if (auto e = std::get_if<std::string>(&claimed)) {
      say("claim-failed " + std::to_string(p) + " " + *e);
      return;
    }
    std::lock_guard lock(mutex);
    owned[p] = {epoch, std::get<std::uint64_t>(claimed)};
    say("acquired " + std::to_string(p) + " epoch " + std::to_string(epoch) + " claim "
        + std::to_string(owned[p].expected));
  };
  o.on_lost = [&](int p) {
    std::lock_guard lock(mutex);
    owned.erase(p);
    say("lost " + std::to_string(p));
  };
  auto keeper_or = lease_keeper::start(link, o);
  if (auto e = std::get_if<std::string>(&keeper_or)) {
    std::cerr << *e << "\n";
    return 1;
  }
  auto keeper = std::move(std::get<0>(keeper_or));
  say("ready");

  const auto every = std::chrono::milliseconds(std::stoll(arg["--append-every-ms"]));
  for (std::uint64_t n = 0; !stop; ++n) {
    std::map<int, owned_partition> now;
    {
      std::lock_guard lock(mutex);
      now = owned;
    }
    for (auto& [p, part] : now) {
      auto r = log.append(p, part.expected, "{\"tick\":" + std::to_string(n) + "}", node,
                          part.epoch);
      std::lock_guard lock(mutex);
      if (auto seq = std::get_if<std::uint64_t>(&r)) {
        if (owned.count(p))
          owned[p].expected = *seq;
      } else if (std::get<append_refused>(r).fenced) {
        say("fenced " + std::to_string(p));
      }
    }
    std::this_thread::sleep_for(every);
  }
  keeper.reset(); // leaves the cluster: releases every lease
  return 0;
}
