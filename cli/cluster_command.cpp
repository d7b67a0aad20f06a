// `flashsale cluster status`: who owns which partition of a cluster, read from the placement
// bucket in NATS (cluster/placement), with each partition log's leader and length.
// It joins nothing and changes nothing: any operator can run it against a live cluster.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cluster/partition_stream.hpp"
#include "cluster/placement.hpp"
#include "node/nats_access.hpp"

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
  config_sources sources;
};

int status(const node_config& config, const std::string& bucket, bool as_json) {
  auto link_or = cluster::nats_link::connect(nats_link_options_of(config, "flashsale-status"));
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
  // How the cluster's streams are replicated: a lagging or offline replica is the first sign
  // of a server in trouble, before any partition moves. Each partition's log is its own.
  cluster::partition_stream logs(link, {});
  std::map<int, std::uint64_t> last_seq;
  std::vector<std::pair<std::string, std::optional<cluster::nats_link::replication>>> streams;
  streams.emplace_back("KV_" + bucket, link->stream_replication("KV_" + bucket));
  for (int p = 0; p < view.partitions; ++p) {
    auto name = logs.names().stream(p);
    streams.emplace_back(name, link->stream_replication(name));
    if (auto seq = logs.last_seq(p); std::holds_alternative<std::uint64_t>(seq))
      last_seq[p] = std::get<std::uint64_t>(seq);
  }
  streams.emplace_back("FLASHSALE_SNAPSHOTS", link->stream_replication("FLASHSALE_SNAPSHOTS"));
  auto leader_of = [&](int p) -> std::string {
    auto& r = streams[static_cast<std::size_t>(p) + 1].second;
    return r && !r->leader.empty() ? r->leader : "(none)";
  };

  if (as_json) {
    nlohmann::json out{{"partitions", view.partitions}, {"lease_ms", view.lease_ms}};
    out["streams"] = nlohmann::json::object();
    for (auto& [name, r] : streams) {
      if (!r)
        continue; // absent (a log nobody claimed yet) or unreadable now
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
      out["nodes"][id] = {
          {"started_ms", n.started_ms}, {"heartbeat_ms", n.heartbeat_ms}, {"address", n.address}};
    out["leases"] = nlohmann::json::array();
    for (int p = 0; p < view.partitions; ++p) {
      nlohmann::json entry{
          {"partition", p}, {"log_last_seq", last_seq[p]}, {"log_leader", leader_of(p)}};
      if (auto it = view.leases.find(p); it != view.leases.end() && !it->second.node.empty())
        entry.update({{"owner", it->second.node},
                      {"epoch", it->second.epoch},
                      {"taken_ms", it->second.taken_ms}});
      else
        entry["owner"] = nullptr;
      out["leases"].push_back(entry);
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("partitions %d, lease %lld ms, %zu node(s)\n\n", view.partitions,
              static_cast<long long>(view.lease_ms), view.nodes.size());
  std::printf("%-16s %-16s %s\n", "node", "last heartbeat", "address");
  for (auto& [id, n] : view.nodes)
    std::printf("%-16s %-16s %s\n", id.c_str(), (seconds_ago(n.heartbeat_ms) + " ago").c_str(),
                n.address.c_str());
  std::printf("\n%-9s %-16s %8s %10s %-10s %12s\n", "partition", "owner", "epoch", "held for",
              "log leader", "log last seq");
  for (int p = 0; p < view.partitions; ++p) {
    auto it = view.leases.find(p);
    if (it == view.leases.end() || it->second.node.empty()) {
      std::printf("%-9d %-16s %8s %10s %-10s %12llu\n", p, "(free)", "-", "-", leader_of(p).c_str(),
                  static_cast<unsigned long long>(last_seq[p]));
      continue;
    }
    auto& l = it->second;
    std::printf("%-9d %-16s %8llu %10s %-10s %12llu\n", p, l.node.c_str(),
                static_cast<unsigned long long>(l.epoch), seconds_ago(l.taken_ms).c_str(),
                leader_of(p).c_str(), static_cast<unsigned long long>(last_seq[p]));
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
                          "`cluster status`: partitions, owners and log leaders of a cluster\n\n"
                          "Cluster mode runs nodes on a NATS cluster (docs/SCALING.md).");
  auto* status_app = add_command(
      *app, "status",
      "partitions, owners and log leaders of a cluster\n\n"
      "Reads the cluster's placement bucket: the partition count, the nodes with their address\n"
      "and last heartbeat, and per partition its owner, epoch, how long the owner has held it,\n"
      "its log's leader (stream FLASHSALE_P<p>) and last sequence; then, per stream of the\n"
      "cluster (the placement bucket's, the partition logs, the snapshots), its leader and how\n"
      "far each other replica lags. Exits 1 when NATS cannot be read, 0 otherwise; a NATS with\n"
      "no cluster prints \"no cluster\".");
  auto flags = std::make_shared<status_flags>();
  status_app
      ->add_option("--nats", flags->urls,
                   "servers of the NATS cluster, comma-separated (default: nats.url)")
      ->type_name("URL[,URL...]");
  add_config_options(*status_app, flags->sources); // the nats.* keys (docs/NATS.md)
  status_app->add_option("--bucket", flags->bucket, "the placement bucket")->type_name("NAME");
  status_app->add_flag("--json", flags->as_json, "one JSON object instead of the table");
  return {status_app, [status_app, flags] {
            auto loaded = load_nats_config(flags->sources, flags->urls);
            if (auto problem = std::get_if<std::string>(&loaded)) {
              std::cerr << "flashsale: " << *problem << "\n";
              return 1;
            }
            const auto& config = std::get<node_config>(loaded);
            if (config.nats.url.rfind("nats://", 0) != 0)
              return usage_error(*status_app, "--nats (or nats.url) is required");
            return status(config, flags->bucket, flags->as_json);
          }};
}

} // namespace flashsale::cli
