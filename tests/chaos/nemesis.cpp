#include "tests/chaos/nemesis.hpp"

#include <algorithm>
#include <thread>

#include "tests/chaos/workload.hpp"

namespace flashsale::testing::chaos {

namespace {

/// Everyone `h` could exchange a packet with: isolating a server cuts it from all of them.
std::vector<std::string> everyone_but(chaos_cluster& c, const std::string& h) {
  std::vector<std::string> out;
  for (auto* group : {&c.servers(), &c.nodes()})
    for (auto& x : *group)
      if (x != h)
        out.push_back(x);
  out.push_back("client");
  return out;
}

bool is_node(chaos_cluster& c, const std::string& h) {
  return std::find(c.nodes().begin(), c.nodes().end(), h) != c.nodes().end();
}

struct action {
  std::int64_t at_ms = 0;
  std::size_t step = 0;
  const fault* f = nullptr;
  bool begin = true;
};

} // namespace

std::vector<fault_window> play(chaos_cluster& cluster, const schedule& s,
                               std::chrono::steady_clock::time_point start,
                               const std::function<void(const std::string&)>& log) {
  std::vector<action> actions;
  for (std::size_t i = 0; i < s.steps.size(); ++i)
    for (auto& f : s.steps[i].faults) {
      actions.push_back({f.at_ms, i, &f, true});
      actions.push_back({f.end_ms(), i, &f, false});
    }
  std::stable_sort(actions.begin(), actions.end(),
                   [](const action& a, const action& b) { return a.at_ms < b.at_ms; });
  std::vector<fault_window> windows(s.steps.size());
  for (std::size_t i = 0; i < s.steps.size(); ++i)
    windows[i] = {s.steps[i].kind(), s.steps[i].render(), 0, 0};
  std::map<const fault*, std::thread> flaps;
  auto& net = cluster.net();
  for (auto& a : actions) {
    // The schedule is time itself: nothing to wait on but the clock.
    std::this_thread::sleep_until(start + std::chrono::milliseconds(a.at_ms));
    const auto& f = *a.f;
    const auto at = now_ms();
    log(std::string(a.begin ? "begin " : "heal  ") + f.render());
    switch (f.kind) {
    case fault_kind::cut_node_nats:
      a.begin ? net.cut(f.target, "nats") : net.restore(f.target, "nats");
      break;
    case fault_kind::isolate_server:
      a.begin ? net.isolate(f.target, everyone_but(cluster, f.target))
              : net.heal(f.target, everyone_but(cluster, f.target));
      break;
    case fault_kind::split:
      a.begin ? net.split(f.groups) : net.heal();
      break;
    case fault_kind::flap:
      if (a.begin)
        flaps[&f] = std::thread([&net, &f] {
          net.flap(f.target, "nats", f.flaps, std::chrono::milliseconds(f.down_ms),
                   std::chrono::milliseconds(f.up_ms));
        });
      else if (auto it = flaps.find(&f); it != flaps.end()) {
        it->second.join(); // ends restored, a few ms after its schedule
        flaps.erase(it);
      }
      break;
    case fault_kind::pause_node:
      a.begin ? cluster.pause(f.target) : cluster.resume(f.target);
      break;
    case fault_kind::kill_node:
    case fault_kind::kill_server:
      if (a.begin)
        cluster.kill(f.target);
      else // a node is not waited for: the schedule goes on while it starts
        cluster.start(f.target, !is_node(cluster, f.target));
      break;
    }
    auto& w = windows[a.step];
    if (a.begin && (w.start == 0 || at < w.start))
      w.start = at;
    if (!a.begin)
      w.end = std::max(w.end, now_ms());
  }
  for (auto& [f, t] : flaps)
    t.join();
  return windows;
}

void heal_everything(chaos_cluster& cluster) {
  cluster.net().heal_all();
  for (auto* group : {&cluster.servers(), &cluster.nodes()})
    for (auto& name : *group) {
      if (cluster.paused(name))
        cluster.resume(name);
      if (!cluster.running(name))
        cluster.start(name, !is_node(cluster, name));
    }
}

} // namespace flashsale::testing::chaos
