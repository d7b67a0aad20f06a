// `flashsale cluster status`: who owns which partition of a cluster, read from the lease
// bucket in NATS (cluster/lease_keeper), with lease ages and each partition log's length.
// It joins nothing and changes nothing: any operator can run it against a live cluster.
#include <chrono>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cluster/lease_keeper.hpp"
#include "cluster/partition_log.hpp"

namespace flashsale::cli {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string seconds_ago(std::int64_t then_ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(now_ms() - then_ms) / 1000.0);
  return text;
}

struct status_flags {
  std::string urls;
  std::string bucket = "flashsale_cluster";
  bool as_json = false;
};

int status(const status_flags& flags) {
  const auto& [urls, bucket, as_json] = flags;
  auto link_or = cluster::nats_link::connect({split_nats_urls(urls), "flashsale-status", 2000});
  if (auto e = std::get_if<std::string>(&link_or)) {
    std::cerr << "flashsale: " << *e << "\n";
    return 1;
  }
  auto link = std::get<0>(link_or);
  auto view_or = cluster::read_cluster_view(*link, bucket);
  if (auto e = std::get_if<std::string>(&view_or)) {
    std::cerr << "flashsale: " << *e << "\n";
    return 1;
  }
  auto& view = std::get<cluster::cluster_view>(view_or);
  if (view.partitions == 0) {
    std::cout << (as_json ? "{\"partitions\":0}" : "no cluster") << "\n";
    return 0;
  }
  // The logs' lengths, when the stream exists (the first claim creates it).
  std::map<int, std::uint64_t> last_seq;
  cluster::partition_log_options lo;
  lo.create = false;
  auto log_or = cluster::partition_log::open(link, lo);
  if (auto log = std::get_if<std::unique_ptr<cluster::partition_log>>(&log_or))
    for (int p = 0; p < view.partitions; ++p)
      if (auto seq = (*log)->last_seq(p); std::holds_alternative<std::uint64_t>(seq))
        last_seq[p] = std::get<std::uint64_t>(seq);

  // How the cluster's streams are replicated: a lagging or offline replica is the first sign
  // of a server in trouble, before any lease moves.
  std::vector<std::pair<std::string, std::optional<cluster::nats_link::replication>>> streams;
  for (const std::string& name :
       {"KV_" + bucket, std::string(cluster::partition_stream), std::string("FLASHSALE")})
    streams.emplace_back(name, link->stream_replication(name));

  if (as_json) {
    nlohmann::json out{{"partitions", view.partitions}, {"lease_ms", view.lease_ms}};
    out["streams"] = nlohmann::json::object();
    for (auto& [name, r] : streams) {
      if (!r)
        continue; // absent (FLASHSALE before a node relayed) or unreadable now
      nlohmann::json followers = nlohmann::json::array();
      for (auto& f : r->followers)
        followers.push_back({{"server", f.server},
                             {"current", f.current},
                             {"offline", f.offline},
                             {"lag", f.lag},
                             {"seen_ms", f.seen_ms}});
      out["streams"][name] = {{"leader", r->leader}, {"followers", followers}};
    }
    out["nodes"] = nlohmann::json::object();
    for (auto& [id, n] : view.nodes)
      out["nodes"][id] = {{"started_ms", n.started_ms}, {"heartbeat_ms", n.heartbeat_ms}};
    out["leases"] = nlohmann::json::array();
    for (int p = 0; p < view.partitions; ++p) {
      nlohmann::json entry{{"partition", p}, {"log_last_seq", last_seq[p]}};
      if (auto it = view.leases.find(p); it != view.leases.end())
        entry.update({{"owner", it->second.node},
                      {"epoch", it->second.epoch},
                      {"taken_ms", it->second.taken_ms},
                      {"renewed_ms", it->second.renewed_ms}});
      else
        entry["owner"] = nullptr;
      out["leases"].push_back(entry);
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("partitions %d, lease %lld ms, %zu live node(s)\n\n", view.partitions,
              static_cast<long long>(view.lease_ms), view.nodes.size());
  std::printf("%-16s %s\n", "node", "last heartbeat");
  for (auto& [id, n] : view.nodes)
    std::printf("%-16s %s ago\n", id.c_str(), seconds_ago(n.heartbeat_ms).c_str());
  std::printf("\n%-9s %-16s %8s %12s %10s %12s\n", "partition", "owner", "epoch", "renewed",
              "held for", "log last seq");
  for (int p = 0; p < view.partitions; ++p) {
    auto it = view.leases.find(p);
    if (it == view.leases.end()) {
      std::printf("%-9d %-16s %8s %12s %10s %12llu\n", p, "(free)", "-", "-", "-",
                  static_cast<unsigned long long>(last_seq[p]));
      continue;
    }
    auto& l = it->second;
    std::printf("%-9d %-16s %8llu %12s %10s %12llu\n", p, l.node.c_str(),
                static_cast<unsigned long long>(l.epoch),
                (seconds_ago(l.renewed_ms) + " ago").c_str(), seconds_ago(l.taken_ms).c_str(),
                static_cast<unsigned long long>(last_seq[p]));
  }
  std::printf("\n%-24s %-8s %s\n", "stream", "leader", "other replicas");
  for (auto& [name, r] : streams) {
    if (!r)
      continue;
    std::string others;
    for (auto& f : r->followers)
      others += (others.empty() ? "" : ", ") + f.server
                + (f.offline ? " (offline)"
                             : " (" + std::string(f.current ? "current" : "behind") + ", lag "
                                   + std::to_string(f.lag) + ", seen " + std::to_string(f.seen_ms)
                                   + " ms ago)");
    std::printf("%-24s %-8s %s\n", name.c_str(), r->leader.empty() ? "(none)" : r->leader.c_str(),
                others.c_str());
  }
  return 0;
}

} // namespace

command add_cluster(CLI::App& program) {
  auto* app = add_command(program, "cluster",
                          "`cluster status`: partitions, owners and lease ages of a cluster\n\n"
                          "Cluster mode runs nodes on a NATS cluster (docs/SCALING.md).");
  auto* status_app = add_command(
      *app, "status",
      "partitions, owners and lease ages of a cluster\n\n"
      "Reads the cluster's lease bucket: the partition count, the live nodes and their last\n"
      "heartbeat, and per partition its owner, lease epoch, the age of its last renewal, how\n"
      "long the owner has held it, and the last sequence of its log (stream\n"
      "FLASHSALE_PARTITIONS); then, per stream of the cluster (the lease bucket's, the partition\n"
      "logs, the outbox FLASHSALE), its leader and how far each other replica lags. Exits 1 when\n"
      "NATS cannot be read, 0 otherwise; a NATS with no cluster prints \"no cluster\".");
  auto flags = std::make_shared<status_flags>();
  status_app->add_option("--nats", flags->urls, "servers of the NATS cluster, comma-separated")
      ->type_name("URL[,URL...]")
      ->required();
  status_app->add_option("--bucket", flags->bucket, "the lease bucket")->type_name("NAME");
  status_app->add_flag("--json", flags->as_json, "one JSON object instead of the table");
  return {status_app, [status_app, flags] {
            if (flags->urls.empty())
              return usage_error(*status_app, "--nats is required");
            return status(*flags);
          }};
}

} // namespace flashsale::cli
