// Building and removing the namespaces of a topology, the sweep of dead runs, and entering a
// host. The faults are in netns_faults.cpp.
#include "tests/support/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace flashsale::testing::netns {

namespace {

constexpr const char* run_tag = "fsnet-";
constexpr int subnets_in_range = 512; // the /24s of 198.18.0.0/15

struct process_stat {
  bool alive = false;
  unsigned long long start_time = 0; // clock ticks after boot: a PID reused later differs
};

process_stat stat_of(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string line;
  std::getline(in, line);
  auto paren = line.rfind(')');
  if (paren == std::string::npos)
    return {};
  std::istringstream fields(line.substr(paren + 1));
  std::string state, field;
  fields >> state; // field 3; fields 4..22 follow, 22 is the start time
  for (int i = 4; i <= 22; ++i)
    fields >> field;
  if (!fields || state == "Z" || state == "X")
    return {};
  return {true, std::stoull(field)};
}

/// Address `number` of /24 number `subnet` of 198.18.0.0/15: 198.18.0.0 + subnet * 256.
std::string dotted(int subnet, int number) {
  return "198." + std::to_string(18 + subnet / 256) + "." + std::to_string(subnet % 256) + "."
         + std::to_string(number);
}

void check_name(const std::string& what, const std::string& name) {
  bool ok = !name.empty() && name.size() <= 15 && name != "lo" && name != "switch";
  for (char c : name)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (!ok)
    throw error(what + " name '" + name + "': want 1-15 characters of [a-z0-9-], not lo/switch");
}

} // namespace

// --- scoped_enter ---

scoped_enter::scoped_enter(int netns_fd) {
  previous_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (previous_ < 0)
    throw error("cannot open this thread's network namespace");
  if (::setns(netns_fd, CLONE_NEWNET) != 0) {
    ::close(previous_);
    throw error("setns into a test namespace failed (root needed)");
  }
}

scoped_enter::~scoped_enter() {
  // A thread left inside a test namespace would send the test's later traffic there: stop.
  if (::setns(previous_, CLONE_NEWNET) != 0) {
    std::fputs("netns: cannot return a thread to its namespace\n", stderr);
    std::abort();
  }
  ::close(previous_);
}

// --- host ---

host::host(std::string name, std::string netns)
  : name_(std::move(name)), netns_(std::move(netns)) {}

host::~host() {
  if (fd_ >= 0)
    ::close(fd_);
}

std::string host::address(const std::string& network) const {
  auto it = addresses_.find(network);
  if (it == addresses_.end())
    throw error("host " + name_ + " is not on network " + network);
  return it->second;
}

std::unique_ptr<child_process> host::spawn(std::vector<std::string> argv,
                                           std::vector<std::string> env) const {
  // The fork happens on this thread while it is inside: the child is born in the host.
  [[maybe_unused]] auto inside = enter();
  return std::make_unique<child_process>(std::move(argv), std::move(env));
}

// --- topology ---

topology::topology() {
  sweep_leftovers();
  static std::atomic<int> made{0};
  int n = made++;
  auto self = stat_of("self");
  prefix_ = std::string(run_tag) + std::to_string(::getpid()) + "-"
            + std::to_string(self.start_time) + "-" + std::to_string(n) + "-";
  first_subnet_ = static_cast<int>((static_cast<unsigned long long>(::getpid()) * 37
                                    + self.start_time + static_cast<unsigned>(n) * 7)
                                   % subnets_in_range);
}

topology::~topology() {
  delete_all();
}

void topology::delete_all() noexcept {
  std::string lines;
  for (auto& h : hosts_)
    lines += "netns delete " + h->netns() + "\n";
  for (auto& [name, info] : networks_)
    lines += "netns delete " + info.netns + "\n";
  hosts_.clear(); // closes the namespace fds, which would keep them alive
  networks_.clear();
  if (lines.empty())
    return;
  try {
    auto r = ip_netns(lines);
    if (!r.ok())
      std::fprintf(stderr, "netns: removing %s* failed: %s\n", prefix_.c_str(), r.output.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "netns: removing %s*: %s\n", prefix_.c_str(), e.what());
  }
}

std::vector<std::string> topology::sweep_leftovers() {
  std::vector<std::string> dead;
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    auto name = entry.path().filename().string();
    unsigned long long pid = 0, start = 0;
    int n = 0, used = 0;
    if (name.rfind(run_tag, 0) != 0
        || std::sscanf(name.c_str(), "fsnet-%llu-%llu-%d-%n", &pid, &start, &n, &used) != 3
        || used == 0)
      continue;
    auto owner = stat_of(std::to_string(pid));
    if (owner.alive && owner.start_time == start)
      continue;
    dead.push_back(name);
  }
  if (dead.empty())
    return dead;
  std::string lines;
  for (auto& name : dead) {
    // Processes its dead owner started and that outlived it: they are ours to stop.
    auto pids = ip_netns("netns pids " + name + "\n");
    std::istringstream in(pids.output);
    for (long pid; in >> pid;)
      if (pid > 1)
        ::kill(static_cast<pid_t>(pid), SIGKILL);
    lines += "netns delete " + name + "\n";
  }
  ip_netns(lines); // a concurrent sweep may have deleted some already: not an error
  return dead;
}

const topology::network_info& topology::network_locked(const std::string& name) const {
  auto it = networks_.find(name);
  if (it == networks_.end())
    throw error("no network " + name);
  return it->second;
}

void topology::add_network(const std::string& name) {
  check_name("network", name);
  std::lock_guard<std::mutex> guard{mutex_};
  if (networks_.count(name))
    throw error("network " + name + " exists");
  int index = static_cast<int>(networks_.size());
  network_info info{prefix_ + "n-" + name, (first_subnet_ + index) % subnets_in_range};
  auto r = ip_netns("netns add " + info.netns + "\n");
  networks_.emplace(name, info); // before checking: the destructor removes what exists
  if (!r.ok())
    throw error("ip netns add " + info.netns + ": " + r.output);
  ip_in(info.netns, "link set dev lo up\n"
                    "link add name switch type bridge forward_delay 0 stp_state 0\n"
                    "link set dev switch addrgenmode none\n"
                    "link set dev switch up\n");
}

std::string topology::subnet(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mutex_};
  return dotted(network_locked(name).subnet, 0) + "/24";
}

host& topology::add_host(const std::string& name, const std::vector<std::string>& networks) {
  check_name("host", name);
  std::lock_guard<std::mutex> guard{mutex_};
  for (auto& h : hosts_)
    if (h->name() == name)
      throw error("host " + name + " exists");
  for (auto& net : networks)
    network_locked(net); // throws for an unknown network before anything is made
  int number = static_cast<int>(hosts_.size()) + 1;
  if (number > 254)
    throw error("at most 254 hosts");
  hosts_.push_back(std::unique_ptr<host>(new host(name, prefix_ + "h-" + name)));
  host& h = *hosts_.back();
  auto r = ip_netns("netns add " + h.netns_ + "\n");
  if (!r.ok())
    throw error("ip netns add " + h.netns_ + ": " + r.output);
  h.fd_ = ::open(("/run/netns/" + h.netns_).c_str(), O_RDONLY | O_CLOEXEC);
  if (h.fd_ < 0)
    throw error("cannot open /run/netns/" + h.netns_);

  std::string inside = "link set dev lo up\n";
  std::map<std::string, std::string> ports; // network namespace -> its batch
  for (auto& net : networks) {
    auto& info = network_locked(net);
    auto address = dotted(info.subnet, number);
    inside += "link add name " + net + " type veth peer name " + name + " netns " + info.netns
              + "\n" + "link set dev " + net + " addrgenmode none\n" + "addr add " + address
              + "/24 dev " + net + "\n" + "link set dev " + net + " up\n";
    ports[info.netns] += "link set dev " + name + " addrgenmode none\nlink set dev " + name
                         + " master switch\nlink set dev " + name + " up\n";
    h.networks_.push_back(net);
    h.addresses_[net] = address;
  }
  ip_in(h.netns_, inside);
  for (auto& [netns, lines] : ports)
    ip_in(netns, lines);
  for (auto& net : networks)
    set_link_locked(h, net, true);
  return h;
}

host& topology::at(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mutex_};
  return host_locked(name);
}

host& topology::host_locked(const std::string& name) const {
  for (auto& h : hosts_)
    if (h->name() == name)
      return *h;
  throw error("no host " + name);
}

} // namespace flashsale::testing::netns
