// The faults of a topology (the nemesis primitives). Invariant: cut_ and blocked_ say what
// the kernel has in effect; each operation changes the kernel, waits until it agrees, then
// returns. Links are cut at the switch port; partitions are iptables INPUT drops in the
// namespaces of both hosts, the whole filter table rewritten at once by iptables-restore.
#include <thread>

#include "tests/support/eventually.hpp"
#include "tests/support/netns.hpp"

namespace flashsale::testing::netns {

namespace {

/// One interface as `ip -d -o link show` reports it.
struct link_view {
  std::string flags;        // "BROADCAST,MULTICAST,UP,LOWER_UP"
  std::string state;        // operstate: "UP", "DOWN", "LOWERLAYERDOWN"
  std::string bridge_state; // a bridge port's: "forwarding", "disabled"; "" otherwise

  bool has(const std::string& flag) const {
    return ("," + flags + ",").find("," + flag + ",") != std::string::npos;
  }
};

std::string word_after(const std::string& text, const std::string& key) {
  auto at = text.find(key);
  if (at == std::string::npos)
    return {};
  at += key.size();
  return text.substr(at, text.find_first_of(" \\\n", at) - at);
}

link_view read_link(const std::string& netns, const std::string& dev) {
  auto out = ip_query(netns, {"-d", "-o", "link", "show", "dev", dev});
  link_view v;
  auto open = out.find('<'), close = out.find('>');
  if (open != std::string::npos && close != std::string::npos)
    v.flags = out.substr(open + 1, close - open - 1);
  v.state = word_after(out, " state ");
  v.bridge_state = word_after(out, "bridge_slave state ");
  return v;
}

constexpr auto settle_timeout = std::chrono::seconds(5);

} // namespace

bool topology::link_carries_locked(const host& h, const std::string& net) const {
  auto port = read_link(network_locked(net).netns, h.name());
  auto end = read_link(h.netns(), net);
  return port.has("UP") && port.has("LOWER_UP") && port.bridge_state == "forwarding"
         && end.has("LOWER_UP") && end.state == "UP";
}

bool topology::link_cut_locked(const host& h, const std::string& net) const {
  auto port = read_link(network_locked(net).netns, h.name());
  auto end = read_link(h.netns(), net);
  return !port.has("UP") && !end.has("LOWER_UP");
}

void topology::set_link_locked(const host& h, const std::string& net, bool up) {
  h.address(net); // throws when h is not on net
  ip_in(network_locked(net).netns, "link set dev " + h.name() + (up ? " up\n" : " down\n"));
  bool settled = eventually(
      [&] { return up ? link_carries_locked(h, net) : link_cut_locked(h, net); }, settle_timeout);
  if (!settled)
    throw error("link " + h.name() + "/" + net + " did not go " + (up ? "up" : "down"));
}

void topology::restore_locked(const host& h, const std::string& net) {
  set_link_locked(h, net, true);
  forget_unresolved_locked(h, net);
  cut_.erase({h.name(), net});
}

void topology::forget_unresolved_locked(const host& h, const std::string& net) {
  // Packets sent while the link was cut left ARP entries unresolved, on h for its peers and
  // on its peers for h; the kernel retries those only every second, so a connect right
  // after the restore would wait up to 1 s. Without them the first packet resolves at once.
  ip_in(h.netns(),
        "neigh flush dev " + net + " nud incomplete\nneigh flush dev " + net + " nud failed\n");
  auto address = h.address(net);
  for (auto& peer : hosts_)
    if (peer.get() != &h && peer->addresses_.count(net))
      ip_in(peer->netns(), "neigh flush to " + address + " dev " + net
                               + " nud incomplete\nneigh flush to " + address + " dev " + net
                               + " nud failed\n");
}

bool topology::link_up(const std::string& h, const std::string& net) const {
  std::lock_guard<std::mutex> guard{mutex_};
  return link_carries_locked(host_locked(h), net);
}

void topology::cut(const std::string& h, const std::string& net) {
  std::lock_guard<std::mutex> guard{mutex_};
  set_link_locked(host_locked(h), net, false);
  cut_.insert({h, net});
}

void topology::restore(const std::string& h, const std::string& net) {
  std::lock_guard<std::mutex> guard{mutex_};
  restore_locked(host_locked(h), net);
}

void topology::flap(const std::string& h, const std::string& net, int times,
                    std::chrono::milliseconds down, std::chrono::milliseconds up) {
  std::uint64_t started;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    started = generation_;
  }
  for (int i = 0; i < times; ++i) {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      if (generation_ != started)
        return; // heal_all() ran: it restored the link
      set_link_locked(host_locked(h), net, false);
      cut_.insert({h, net});
    }
    // The periods are the fault itself, not a wait for a condition.
    std::this_thread::sleep_for(down);
    {
      std::lock_guard<std::mutex> guard{mutex_};
      restore_locked(host_locked(h), net);
    }
    if (i + 1 < times)
      std::this_thread::sleep_for(up);
  }
}

void topology::isolate(const std::string& h, const std::vector<std::string>& peers) {
  std::lock_guard<std::mutex> guard{mutex_};
  host_locked(h);
  for (auto& p : peers)
    host_locked(p); // all known before any is blocked
  for (auto& p : peers)
    if (p != h)
      blocked_.insert(std::minmax(h, p));
  write_rules_locked();
}

void topology::heal(const std::string& h, const std::vector<std::string>& peers) {
  std::lock_guard<std::mutex> guard{mutex_};
  for (auto& p : peers)
    blocked_.erase(std::minmax(h, p));
  write_rules_locked();
}

void topology::split(const std::vector<std::vector<std::string>>& groups) {
  std::lock_guard<std::mutex> guard{mutex_};
  for (auto& group : groups)
    for (auto& h : group)
      host_locked(h); // all known before any is blocked
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (auto& a : groups[g])
      for (std::size_t other = g + 1; other < groups.size(); ++other)
        for (auto& b : groups[other])
          if (b != a)
            blocked_.insert(std::minmax(a, b));
  write_rules_locked();
}

void topology::heal() {
  std::lock_guard<std::mutex> guard{mutex_};
  blocked_.clear();
  write_rules_locked();
}

void topology::heal_all() {
  std::lock_guard<std::mutex> guard{mutex_};
  ++generation_;
  blocked_.clear();
  write_rules_locked();
  auto cut = cut_;
  for (auto& [h, net] : cut)
    restore_locked(host_locked(h), net);
}

void topology::write_rules_locked() {
  for (auto& h : hosts_) {
    std::string drops;
    for (auto& [a, b] : blocked_) {
      const std::string* peer = a == h->name() ? &b : b == h->name() ? &a : nullptr;
      if (peer == nullptr)
        continue;
      for (auto& net : host_locked(*peer).networks())
        drops += "-A INPUT -s " + host_locked(*peer).address(net) + "/32 -j DROP\n";
    }
    if (rules_[h->name()] == drops)
      continue;
    // The whole filter table of a namespace that is ours alone: applied atomically.
    auto table = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                 + drops + "COMMIT\n";
    auto tool = system_tool("iptables-restore");
    if (tool.empty())
      throw error("iptables-restore is not installed (apt-get install iptables)");
    auto r = run_command({tool, "-w", "5"}, h->netns(), table);
    if (!r.ok())
      throw error("iptables-restore in " + h->netns() + ": " + r.output);
    rules_[h->name()] = drops;
  }
}

std::string topology::faults() const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::string cut, blocked;
  for (auto& [h, net] : cut_)
    cut += " " + h + "/" + net;
  for (auto& [a, b] : blocked_)
    blocked += " " + a + "|" + b;
  std::string all;
  if (!cut.empty())
    all = "cut" + cut;
  if (!blocked.empty())
    all += (all.empty() ? "" : "; ") + std::string("blocked") + blocked;
  return all;
}

} // namespace flashsale::testing::netns
