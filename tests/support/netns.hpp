// A network of Linux network namespaces for fault tests: named hosts (one namespace each)
// joined by networks (a bridge in a namespace of its own) through veth pairs, processes
// started inside hosts, and the faults a nemesis injects (cut, isolate, split, flap, heal).
// Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN), `ip` (iproute2) and `iptables-restore`.
//
// What always holds:
// - Nothing of the machine's own network is touched: no interface, address, route or
//   firewall rule is created or changed in the namespace the test started in. Bridges live in
//   their network's namespace, veth ends are created inside namespaces, and every `ip` or
//   `iptables-restore` runs inside one of this run's namespaces or not at all.
// - Addresses are IPv4 from 198.18.0.0/15 only: each network is a /24 of it, host number i
//   (from 1, in the order added) is .i on every network it joins. No IPv6 address but
//   loopback's ::1 (address generation is off on every link).
//   Runs cannot collide: every address lives in a namespace of its run, and the /24s are
//   picked per run anyway (from the PID), so logs of two runs are not confused.
// - Names: namespaces are `fsnet-<pid>-<starttime>-<n>-h-<host>` / `...-n-<network>` under
//   /run/netns (pid and start time of the owning process; n counts topologies in it). Inside
//   a host its link to network N is the interface N; inside network N's namespace the
//   bridge is `switch` and the port of host H is the interface H (names <= 15 characters).
// - Cleanup: ~topology deletes every namespace it made, which takes the bridges, the veths
//   and the iptables rules with it. A run that died without its destructors (SIGKILL, a
//   crash) is swept by the next topology made on the machine: namespaces whose owner
//   (pid + start time in /proc) is gone are deleted, after SIGKILLing, by PID, any process
//   still inside them.
// - Faults return once the kernel has them in effect, are idempotent, and may be called from
//   a nemesis thread while other threads work inside hosts (join that thread before the
//   topology is destroyed).
//
// Faults and what a process sees:
// - cut(h, N): the switch port of h on N goes down (a cable pulled at the switch). h keeps
//   its address and sees NO-CARRIER; packets either way vanish silently: no RST, no ICMP,
//   so connections time out as they would on a real partition. restore(h, N) undoes it,
//   including the ARP entries left unresolved by the cut (else the first connect after a
//   restore could wait up to the kernel's 1 s ARP retry).
// - isolate(h, peers), split(groups): iptables in each host's namespace drops the packets
//   *arriving* from the other side (every address of it, on every network), on both sides:
//   both directions are cut, senders get no error, other pairs and links are untouched.
//   heal(h, peers) / heal() lift them. flap(h, N, times, down, up) cuts and restores.
// - No delay, loss or reordering: the kernel here has no netem.
//
// The test process reaches hosts from a host of its own ("client"): `client.enter()` moves
// the calling thread into it until the guard dies, `client.run(fn)` runs fn on a thread
// inside it. Threads a thread creates inherit its namespace, so a cpp-httplib client or a
// nats.c connection made inside reaches the hosts. nats.c runs reconnects from its library
// timer thread, created by nats_Open: open the library inside the client
// (`client.run([] { nats_Open(-1); })`) and nats_CloseAndWait before the topology goes.
// Child processes: `h.spawn(argv)` starts one inside h with child_process' conventions
// (output captured, stopped by PID, killed when the spawning thread dies); destroy them
// before the topology (declare the topology first).
//
// Example: three nats-servers and three nodes, each node with a buyers link and a NATS link
// (tests/netns/example_test.cpp runs it):
//   netns::topology net;                                    // declared first: goes last
//   net.add_network("buyers");
//   net.add_network("nats");
//   for (auto s : {"s1", "s2", "s3"}) net.add_host(s, {"nats"});
//   for (auto n : {"node1", "node2", "node3"}) net.add_host(n, {"buyers", "nats"});
//   auto& client = net.add_host("client", {"buyers", "nats"});
//   auto& s1 = net.at("s1");
//   auto server = s1.spawn({"/usr/sbin/nats-server", "-a", s1.address("nats"), "-p", "4222",
//                           "--cluster", "nats://" + s1.address("nats") + ":6222", ...});
//   // ... s2, s3, and `flashsale serve` in node1..3 with nats.url on the servers' addresses
//   net.cut("node2", "nats");       // node2 reaches no server; buyers still reach node2
//   auto answer = client.run([&] {
//     return httplib::Client(net.at("node2").address("buyers"), 8080).Get("/health");
//   });
//   net.heal_all();
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/netns_command.hpp"

namespace flashsale::testing::netns {

/// The calling thread inside a namespace until destroyed, then back where it was. Lives and
/// dies on one thread.
class scoped_enter {
public:
  explicit scoped_enter(int netns_fd);
  ~scoped_enter();
  scoped_enter(const scoped_enter&) = delete;
  scoped_enter& operator=(const scoped_enter&) = delete;

private:
  int previous_ = -1;
};

/// One host: a namespace with loopback up and one interface per network it joined.
class host {
public:
  ~host();
  host(const host&) = delete;
  host& operator=(const host&) = delete;

  const std::string& name() const { return name_; }
  /// The namespace's name under /run/netns (for `ip -n`, `ip netns exec`).
  const std::string& netns() const { return netns_; }
  /// Its IPv4 address on `network` ("198.18.x.y"); throws netns::error if not attached.
  std::string address(const std::string& network) const;
  /// The networks it joined, in the order given.
  const std::vector<std::string>& networks() const { return networks_; }

  /// The calling thread inside this host until the guard dies: `auto in = h.enter();`.
  scoped_enter enter() const { return scoped_enter(fd_); }

  /// Runs `fn` on a new thread inside this host and returns its result (or rethrows).
  /// Threads `fn` starts stay inside too.
  template <class Fn>
  auto run(Fn&& fn) const {
    return std::async(std::launch::async,
                      [this, &fn]() {
                        [[maybe_unused]] auto inside = enter();
                        return fn();
                      })
        .get();
  }

  /// Starts `argv` (argv[0] a path) inside this host, as child_process does: output
  /// captured, stopped by its PID, SIGKILLed when the calling thread ends.
  std::unique_ptr<child_process> spawn(std::vector<std::string> argv,
                                       std::vector<std::string> env = {}) const;

  /// Runs a short command inside this host to completion (curl, ip, cat).
  command_result exec(const std::vector<std::string>& argv) const {
    return run_command(argv, netns_);
  }

private:
  friend class topology;
  host(std::string name, std::string netns);

  std::string name_, netns_;
  int fd_ = -1; // the namespace, held open for setns
  std::vector<std::string> networks_;
  std::map<std::string, std::string> addresses_;
};

/// Hosts, networks and the faults between them. Everything it created is gone when it is.
class topology {
public:
  /// Sweeps the leftovers of dead runs, then picks this run's prefix and subnets.
  topology();
  ~topology();
  topology(const topology&) = delete;
  topology& operator=(const topology&) = delete;

  /// A network: a bridge in a namespace of its own, and a /24 of 198.18.0.0/15.
  /// `name` (<= 15 characters of [a-z0-9-]) is also the interface name inside each host.
  void add_network(const std::string& name);
  /// A host joined to `networks` (added before). `name`: <= 15 characters of [a-z0-9-].
  host& add_host(const std::string& name, const std::vector<std::string>& networks);
  /// The host named `name`; throws netns::error for an unknown name.
  host& at(const std::string& name) const;

  /// "fsnet-<pid>-<starttime>-<n>-": every namespace of this topology starts with it.
  const std::string& prefix() const { return prefix_; }
  /// "198.18.x.0/24".
  std::string subnet(const std::string& network) const;

  // --- Faults. Each returns once in effect; each is idempotent. ---

  /// Pulls h's cable on `network` at the switch: its packets there vanish, both ways.
  void cut(const std::string& h, const std::string& network);
  /// Plugs it back; returns once the port forwards, h's link has carrier again and the ARP
  /// entries the cut left unresolved (on h and on its peers) are gone, so the next packet
  /// goes through at once rather than after the kernel's 1 s ARP retry.
  void restore(const std::string& h, const std::string& network);
  /// `times` x (cut, wait `down`, restore, wait `up` except after the last). Ends restored;
  /// stops early (restored) when heal_all() is called meanwhile. Blocks: run it on a
  /// nemesis thread to overlap it with a workload.
  void flap(const std::string& h, const std::string& network, int times,
            std::chrono::milliseconds down, std::chrono::milliseconds up);
  /// No packet between h and any of `peers`, either way, on any network.
  void isolate(const std::string& h, const std::vector<std::string>& peers);
  /// Lifts isolate(h, peers) (only those pairs).
  void heal(const std::string& h, const std::vector<std::string>& peers);
  /// No packet between hosts of different groups; hosts in no group are untouched.
  void split(const std::vector<std::vector<std::string>>& groups);
  /// Lifts every isolate and split; cut links stay cut.
  void heal();
  /// Lifts every fault: heal(), restore() of every cut link, stops running flaps.
  void heal_all();

  /// The faults in effect, "" when none: "cut node2/nats; blocked client|s1 s1|s2".
  std::string faults() const;
  /// Whether h's link on `network` carries packets, as the kernel reports it.
  bool link_up(const std::string& h, const std::string& network) const;

  /// Deletes the namespaces of runs whose owner is dead (see above); returns their names.
  /// Runs at every construction; callable alone (a CI step before the tests).
  static std::vector<std::string> sweep_leftovers();

private:
  struct network_info {
    std::string netns;
    int subnet; // index of the /24 within 198.18.0.0/15
  };

  const network_info& network_locked(const std::string& name) const;
  host& host_locked(const std::string& name) const;
  /// The switch port of `h` on `network` up or down, then waits until the kernel agrees.
  void set_link_locked(const host& h, const std::string& network, bool up);
  /// set_link_locked(up), then forget_unresolved_locked: what restore() does.
  void restore_locked(const host& h, const std::string& network);
  /// Drops the ARP entries a cut left unresolved on h's link and on its peers' (for h).
  void forget_unresolved_locked(const host& h, const std::string& network);
  bool link_carries_locked(const host& h, const std::string& network) const;
  bool link_cut_locked(const host& h, const std::string& network) const;
  /// Rewrites the iptables table of every host whose blocked peers changed.
  void write_rules_locked();
  void delete_all() noexcept;

  std::string prefix_;
  int first_subnet_ = 0;
  mutable std::mutex mutex_;
  std::map<std::string, network_info> networks_;
  std::vector<std::unique_ptr<host>> hosts_;
  std::set<std::pair<std::string, std::string>> cut_;     // (host, network)
  std::set<std::pair<std::string, std::string>> blocked_; // (a, b), a < b
  std::map<std::string, std::string> rules_;              // host -> the iptables table it has now
  std::uint64_t generation_ = 0; // bumped by heal_all(): running flaps stop
};

} // namespace flashsale::testing::netns
