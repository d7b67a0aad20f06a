#include "tests/chaos/schedule.hpp"

#include <algorithm>
#include <sstream>

namespace flashsale::testing::chaos {

std::uint64_t seeded_random::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::int64_t seeded_random::between(std::int64_t lo, std::int64_t hi) {
  auto span = static_cast<std::uint64_t>(hi - lo) + 1;
  return lo + static_cast<std::int64_t>(next() % span);
}

const char* to_string(fault_kind k) {
  switch (k) {
  case fault_kind::cut_node_nats:
    return "cut_node_nats";
  case fault_kind::isolate_server:
    return "isolate_server";
  case fault_kind::split:
    return "split";
  case fault_kind::flap:
    return "flap";
  case fault_kind::pause_node:
    return "pause_node";
  case fault_kind::kill_node:
    return "kill_node";
  case fault_kind::kill_server:
    return "kill_server";
  }
  return "?";
}

std::string fault::render() const {
  std::ostringstream out;
  out << "+" << at_ms << "ms ";
  switch (kind) {
  case fault_kind::cut_node_nats:
    out << "cut " << target << "/nats for " << duration_ms << "ms";
    break;
  case fault_kind::isolate_server:
    out << "isolate " << target << " for " << duration_ms << "ms";
    break;
  case fault_kind::split: {
    out << "split";
    for (std::size_t g = 0; g < groups.size(); ++g) {
      out << (g ? " |" : "");
      for (auto& h : groups[g])
        out << " " << h;
    }
    out << " for " << duration_ms << "ms";
    break;
  }
  case fault_kind::flap:
    out << "flap " << target << "/nats " << flaps << "x (down " << down_ms << "ms, up " << up_ms
        << "ms)";
    break;
  case fault_kind::pause_node:
    out << "SIGSTOP " << target << " for " << duration_ms << "ms";
    break;
  case fault_kind::kill_node:
  case fault_kind::kill_server:
    out << "SIGKILL " << target << ", restart after " << duration_ms << "ms";
    break;
  }
  return out.str();
}

std::string step::kind() const {
  return faults.size() == 1 ? to_string(faults.front().kind) : "combination";
}

std::int64_t step::at_ms() const {
  std::int64_t at = faults.front().at_ms;
  for (auto& f : faults)
    at = std::min(at, f.at_ms);
  return at;
}

std::int64_t step::end_ms() const {
  std::int64_t end = 0;
  for (auto& f : faults)
    end = std::max(end, f.end_ms());
  return end;
}

std::string step::render() const {
  std::string out = faults.size() > 1 ? "combination: " : "";
  for (std::size_t i = 0; i < faults.size(); ++i)
    out += (i ? " | " : "") + faults[i].render();
  return out;
}

std::int64_t schedule::end_ms() const {
  return steps.empty() ? 0 : steps.back().end_ms();
}

int schedule::fault_count() const {
  int n = 0;
  for (auto& s : steps)
    n += static_cast<int>(s.faults.size());
  return n;
}

std::string schedule::render() const {
  std::ostringstream out;
  out << "seed " << seed << ", " << fault_count() << " faults:";
  for (auto& s : steps)
    out << "\n  " << s.render();
  return out.str();
}

namespace {

bool on_node(fault_kind k) {
  return k == fault_kind::cut_node_nats || k == fault_kind::pause_node
         || k == fault_kind::kill_node;
}

/// One fault of `kind` on `target` (a node or a server; ignored for split), starting `at`.
fault draw(seeded_random& rng, fault_kind kind, const std::string& target, std::int64_t at,
           const schedule_options& o) {
  const auto lease = o.lease_ms;
  fault f;
  f.kind = kind;
  f.at_ms = at;
  f.target = target;
  switch (kind) {
  case fault_kind::cut_node_nats: // below lease/2 (no take-over) up to three leases
    f.duration_ms = rng.between(lease / 3, 3 * lease);
    break;
  case fault_kind::isolate_server:
    f.duration_ms = rng.between(1000, 5000);
    break;
  case fault_kind::split: {
    auto servers = o.servers;
    auto nodes = o.nodes;
    rng.shuffle(servers);
    rng.shuffle(nodes);
    // Two servers (a quorum) on one side; the nodes 2|1 either way round.
    const auto nodes_with_majority = static_cast<std::size_t>(rng.between(1, 2));
    std::vector<std::string> a(servers.begin(), servers.begin() + 2);
    std::vector<std::string> b(servers.begin() + 2, servers.end());
    a.insert(a.end(), nodes.begin(), nodes.begin() + static_cast<long>(nodes_with_majority));
    b.insert(b.end(), nodes.begin() + static_cast<long>(nodes_with_majority), nodes.end());
    f.groups = {a, b};
    f.target.clear();
    f.duration_ms = rng.between(1500, 5000);
    break;
  }
  case fault_kind::flap:
    f.flaps = static_cast<int>(rng.between(2, 5));
    f.down_ms = rng.between(200, 1500);
    f.up_ms = rng.between(200, 1000);
    f.duration_ms = f.flaps * f.down_ms + (f.flaps - 1) * f.up_ms;
    break;
  case fault_kind::pause_node: // always past the lease: its partitions move meanwhile
    f.duration_ms = rng.between(lease * 3 / 2, 3 * lease);
    break;
  case fault_kind::kill_node:
    f.duration_ms = rng.between(300, 3000);
    break;
  case fault_kind::kill_server:
    f.duration_ms = rng.between(500, 4000);
    break;
  }
  return f;
}

const std::vector<fault_kind> node_kinds{fault_kind::cut_node_nats, fault_kind::pause_node,
                                         fault_kind::kill_node, fault_kind::flap};
const std::vector<fault_kind> server_kinds{fault_kind::isolate_server, fault_kind::kill_server,
                                           fault_kind::flap};

} // namespace

schedule make_schedule(std::uint64_t seed, const schedule_options& o) {
  seeded_random rng(seed);
  schedule s;
  s.seed = seed;
  const int steps = static_cast<int>(rng.between(o.min_steps, o.max_steps));
  std::int64_t at = o.first_at_ms;
  for (int i = 0; i < steps; ++i) {
    step st;
    if (rng.chance(o.combination_percent)) {
      // A node fault and, on another target, a node or a server fault; never two server
      // faults (that would take the streams' quorum), never a split (it is global already).
      auto first = rng.pick(node_kinds);
      auto node_a = rng.pick(o.nodes);
      st.faults.push_back(draw(rng, first, node_a, at, o));
      const auto second_at = at + rng.between(0, 1000);
      if (rng.chance(50)) {
        st.faults.push_back(draw(rng, rng.pick(server_kinds), rng.pick(o.servers), second_at, o));
      } else {
        std::vector<std::string> others;
        for (auto& n : o.nodes)
          if (n != node_a)
            others.push_back(n);
        st.faults.push_back(draw(rng, rng.pick(node_kinds), rng.pick(others), second_at, o));
      }
    } else {
      static const std::vector<fault_kind> all{
          fault_kind::cut_node_nats, fault_kind::isolate_server, fault_kind::split,
          fault_kind::flap,          fault_kind::pause_node,     fault_kind::kill_node,
          fault_kind::kill_server};
      auto kind = rng.pick(all);
      std::string target;
      if (kind == fault_kind::flap)
        target = rng.chance(60) ? rng.pick(o.nodes) : rng.pick(o.servers);
      else if (on_node(kind))
        target = rng.pick(o.nodes);
      else if (kind != fault_kind::split)
        target = rng.pick(o.servers);
      st.faults.push_back(draw(rng, kind, target, at, o));
    }
    at = st.end_ms() + rng.between(1000, 2500); // the cluster settles a little between steps
    s.steps.push_back(std::move(st));
  }
  return s;
}

} // namespace flashsale::testing::chaos
