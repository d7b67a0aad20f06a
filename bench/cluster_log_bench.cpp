// The replicated path's unit of cost: fenced appends to partition logs
// (cluster::partition_stream), W writers each on a partition (stream) of its own, each append
// naming the sequence the previous one returned, as a partition owner commits; M messages per
// append travel as one atomic batch, as a group commit does. Prints appends/s, latency
// percentiles and this process's CPU per append; bench/cluster_log.sh runs it against a
// three-server R3 cluster and a single R1 server in one run and adds the servers' CPU.
//   cluster_log_bench --nats URLS --replicas R --writers W --seconds S [--body-bytes B]
//                     [--messages M]
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cluster/partition_stream.hpp"

using namespace flashsale::cluster;
using clock_type = std::chrono::steady_clock;

namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
         + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

} // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> arg{{"--replicas", "3"},
                                         {"--writers", "4"},
                                         {"--seconds", "5"},
                                         {"--body-bytes", "600"},
                                         {"--messages", "1"}};
  for (int i = 1; i + 1 < argc; i += 2)
    arg[argv[i]] = argv[i + 1];
  const int replicas = std::stoi(arg["--replicas"]), writers = std::stoi(arg["--writers"]);
  const auto seconds = std::chrono::seconds(std::stoi(arg["--seconds"]));
  const std::string body(static_cast<std::size_t>(std::stoi(arg["--body-bytes"])), 'x');
  const auto per_append = static_cast<std::size_t>(std::stoi(arg["--messages"]));

  nats_link_options lo;
  lo.urls = flashsale::split_nats_urls(arg["--nats"]);
  lo.name = "cluster-log-bench";
  lo.api_timeout_ms = 5000;
  auto link_or = nats_link::connect(lo);
  if (auto e = std::get_if<std::string>(&link_or)) {
    std::fprintf(stderr, "%s\n", e->c_str());
    return 1;
  }
  auto link = std::get<0>(link_or);
  partition_stream_options o;
  o.replicas = replicas;
  o.names.stream_prefix = "BENCH_R" + std::to_string(replicas) + "_P";
  o.names.subject_prefix = "bench.r" + std::to_string(replicas);
  partition_stream log(link, o);
  const writer_id bench{"bench", 1};

  std::vector<std::uint64_t> expected(writers);
  std::vector<std::vector<outgoing_message>> batches(writers);
  for (int w = 0; w < writers; ++w) {
    if (auto e = log.ensure(w)) {
      std::fprintf(stderr, "%s\n", e->c_str());
      return 1;
    }
    auto last = log.last_seq(w);
    if (auto e = std::get_if<std::string>(&last)) {
      std::fprintf(stderr, "%s\n", e->c_str());
      return 1;
    }
    expected[w] = std::get<std::uint64_t>(last);
    for (std::size_t m = 0; m < per_append; ++m)
      batches[w].push_back({o.names.idempotency_subject(w), body});
  }
  std::vector<std::vector<double>> latencies(writers);
  std::atomic<int> failures{0};
  const double cpu_before = cpu_seconds();
  const auto start = clock_type::now(), stop = start + seconds;
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      while (clock_type::now() < stop) {
        auto t0 = clock_type::now();
        auto r = log.append(w, expected[w], batches[w], bench, 5000);
        if (auto seq = std::get_if<std::uint64_t>(&r)) {
          expected[w] = *seq;
          latencies[w].push_back(
              std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
        } else {
          ++failures;
          return;
        }
      }
    });
  for (auto& t : threads)
    t.join();
  const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  const double cpu = cpu_seconds() - cpu_before;
  std::vector<double> all;
  for (auto& l : latencies)
    all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) {
    return all.empty() ? 0.0
                       : all[std::min(all.size() - 1, static_cast<std::size_t>(q * all.size()))];
  };
  std::printf("R%d writers=%d messages=%zu appends=%zu appends_per_s=%.0f p50_ms=%.2f p99_ms=%.2f "
              "client_cpu_us_per_append=%.1f failures=%d\n",
              replicas, writers, per_append, all.size(), static_cast<double>(all.size()) / elapsed,
              pct(0.5), pct(0.99), all.empty() ? 0.0 : cpu * 1e6 / static_cast<double>(all.size()),
              failures.load());
  return failures.load() ? 1 : 0;
}
