#include "tests/chaos/chaos_cluster.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include "tests/support/serve_process.hpp"

namespace flashsale::testing::chaos {

namespace {

/// The last `n` lines of `text` (they say why a process exited).
std::string last_lines(const std::string& text, int n) {
  std::size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n')
    --end; // the last line's own newline
  std::size_t from = end;
  while (n-- > 0) {
    auto nl = from == 0 ? std::string::npos : text.rfind('\n', from - 1);
    if (nl == std::string::npos)
      return text;
    from = nl;
  }
  return text.substr(from + 1);
}

} // namespace

std::string find_nats_server() {
  for (const char* env : {"CHAOS_NATS_SERVER", "CLUSTER_NATS_SERVER"})
    if (const char* v = std::getenv(env); v && *v)
      return v;
#ifdef FLASHSALE_BUILD_DIR
  std::string built = std::string(FLASHSALE_BUILD_DIR) + "/deps/nats/root/usr/sbin/nats-server";
  if (::access(built.c_str(), X_OK) == 0)
    return built;
#endif
  return "";
}

chaos_cluster::chaos_cluster(cluster_options o) : o_(std::move(o)) {
  net_.add_network("buyers");
  net_.add_network("nats");
  for (auto& s : servers_)
    net_.add_host(s, {"nats"});
  for (auto& n : nodes_)
    net_.add_host(n, {"buyers", "nats"});
  net_.add_host("client", {"buyers", "nats"});
}

chaos_cluster::~chaos_cluster() {
  stop_all();
}

std::string chaos_cluster::address(const std::string& node) const {
  return net_.at(node).address("buyers");
}

std::string chaos_cluster::nats_urls() const {
  std::string urls;
  for (auto& s : servers_)
    urls += (urls.empty() ? "" : ",") + std::string("nats://") + net_.at(s).address("nats") + ":"
            + std::to_string(nats_port);
  return urls;
}

std::vector<std::string> chaos_cluster::command(const std::string& name) const {
  auto& h = net_.at(name);
  if (name.rfind("s", 0) == 0) {
    std::string routes;
    for (auto& peer : servers_)
      if (peer != name)
        routes += (routes.empty() ? "" : ",") + std::string("nats://")
                  + net_.at(peer).address("nats") + ":6222";
    std::vector<std::string> argv{o_.nats_server,
                                  "-js",
                                  "-a",
                                  h.address("nats"),
                                  "-p",
                                  std::to_string(nats_port),
                                  "-sd",
                                  o_.data_root + "/" + name,
                                  "-n",
                                  name,
                                  "--cluster_name",
                                  "chaos",
                                  "--cluster",
                                  "nats://" + h.address("nats") + ":6222",
                                  "--routes",
                                  routes};
    argv.insert(argv.end(), o_.server_flags.begin(), o_.server_flags.end());
    return argv;
  }
  std::vector<std::string> sets{"http.host=" + h.address("buyers"),
                                "http.port=" + std::to_string(http_port),
                                "http.front=none",
                                "data_dir=" + o_.data_root + "/" + name,
                                "nats.url=" + nats_urls(),
                                "cluster.enabled=true",
                                "cluster.node_id=" + name,
                                "cluster.partitions=" + std::to_string(o_.partitions),
                                "cluster.lease_ms=" + std::to_string(o_.lease_ms),
                                "cluster.replicas=3",
                                "store.sync=normal",
                                "payments.webhook_secret=" + o_.webhook_secret};
  sets.insert(sets.end(), o_.node_settings.begin(), o_.node_settings.end());
  std::vector<std::string> argv{o_.flashsale, "serve"};
  for (auto& s : sets) {
    argv.push_back("--set");
    argv.push_back(s);
  }
  return argv;
}

void chaos_cluster::start(const std::string& name, bool wait) {
  if (auto it = processes_.find(name); it != processes_.end() && it->second) {
    earlier_output_[name] += it->second->output();
    it->second.reset();
  }
  paused_[name] = false;
  auto& p = processes_[name] =
      net_.at(name).spawn(command(name), {"FLASHSALE_ADMIN_TOKEN=" + o_.admin_token});
  if (!wait)
    return;
  if (name.rfind("s", 0) == 0) {
    if (!p->wait_for_line(
            [](const std::string& l) { return l.find("Server is ready") != std::string::npos; },
            std::chrono::seconds(15)))
      throw netns::error("nats-server " + name + " did not start:\n" + p->output());
    return;
  }
  if (!wait_started(name, std::chrono::seconds(60)))
    throw netns::error("node " + name + " did not start:\n" + p->output());
}

bool chaos_cluster::wait_started(const std::string& name, std::chrono::milliseconds timeout) {
  auto it = processes_.find(name);
  return it != processes_.end() && it->second && listening_port(*it->second, timeout) > 0;
}

void chaos_cluster::kill(const std::string& name) {
  auto it = processes_.find(name);
  if (it == processes_.end() || !it->second)
    return;
  it->second->signal(SIGKILL);
  it->second->wait_exit(std::chrono::seconds(10));
  earlier_output_[name] += it->second->output() + "---- SIGKILL ----\n";
  it->second.reset();
  paused_[name] = false;
}

void chaos_cluster::pause(const std::string& name) {
  if (running(name)) {
    processes_[name]->signal(SIGSTOP);
    paused_[name] = true;
  }
}

void chaos_cluster::resume(const std::string& name) {
  if (running(name)) {
    processes_[name]->signal(SIGCONT);
    paused_[name] = false;
  }
}

bool chaos_cluster::running(const std::string& name) const {
  auto it = processes_.find(name);
  return it != processes_.end() && it->second && process_alive(it->second->pid());
}

bool chaos_cluster::paused(const std::string& name) const {
  auto it = paused_.find(name);
  return it != paused_.end() && it->second;
}

std::vector<std::string> chaos_cluster::take_crashes() {
  std::vector<std::string> out;
  for (auto& [name, p] : processes_) {
    if (!p || process_alive(p->pid()))
      continue;
    auto code = p->wait_exit(std::chrono::seconds(5));
    auto text = p->output();
    out.push_back(name + " exited " + (code ? std::to_string(*code) : std::string("?")) + ": "
                  + last_lines(text, 6));
    earlier_output_[name] += text + "---- exited ----\n";
    p.reset();
  }
  return out;
}

std::string chaos_cluster::output(const std::string& name) const {
  std::string out;
  if (auto e = earlier_output_.find(name); e != earlier_output_.end())
    out = e->second;
  if (auto it = processes_.find(name); it != processes_.end() && it->second)
    out += it->second->output();
  return out;
}

void chaos_cluster::stop_all() {
  // All nodes at once (each hands its partitions over as it goes), then the servers.
  for (auto* group : {&nodes_, &servers_}) {
    for (auto& name : *group)
      if (auto it = processes_.find(name); it != processes_.end() && it->second) {
        if (paused(name))
          it->second->signal(SIGCONT);
        it->second->signal(SIGTERM);
      }
    for (auto& name : *group) {
      auto it = processes_.find(name);
      if (it == processes_.end() || !it->second)
        continue;
      if (!it->second->wait_exit(std::chrono::seconds(20)))
        it->second->signal(SIGKILL); // the destructor reaps it
      earlier_output_[name] += it->second->output();
      it->second.reset();
    }
  }
}

} // namespace flashsale::testing::chaos
