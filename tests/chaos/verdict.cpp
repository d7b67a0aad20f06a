// The verdict's figures and report, and the unavailability measure (checker.hpp declares
// them): what a run prints.
#include <algorithm>
#include <sstream>

#include "tests/chaos/checker.hpp"

namespace flashsale::testing::chaos {

std::vector<unavailability> unavailable_per_fault(const std::vector<fault_window>& faults,
                                                  const std::map<int, std::vector<unix_ms>>& served,
                                                  std::int64_t after_ms, unix_ms until) {
  std::vector<unavailability> out;
  for (std::size_t i = 0; i < faults.size(); ++i) {
    const auto& f = faults[i];
    const unix_ms from = f.start;
    unix_ms to = std::min(f.end + after_ms, until);
    if (i + 1 < faults.size())
      to = std::min(to, faults[i + 1].start);
    unavailability worst;
    auto consider = [&](int p, std::int64_t ms) {
      if (ms > worst.ms)
        worst = {ms, p};
    };
    for (auto& [p, times] : served) {
      std::optional<unix_ms> previous;
      for (auto t : times) {
        if (previous && t > from && *previous < to) // a gap begun before it is not its own
          consider(p, t - std::max(*previous, from));
        previous = t;
      }
      if (previous && *previous < to) // not answered again before the window closed
        consider(p, to - std::max(*previous, from));
    }
    out.push_back(worst);
  }
  return out;
}

std::string verdict::figures() const {
  std::ostringstream out;
  out << "acknowledged orders " << acknowledged_orders << ", no answer " << no_answer << " ("
      << no_answer_happened << " happened), 5xx " << unavailable << " (" << unavailable_happened
      << " happened), records " << records << " (" << events << " events, " << claims
      << " claims), violations " << violations.size() << " (+" << known.size()
      << " known), recovery "
      << (recovery_ms ? std::to_string(*recovery_ms) + " ms" : std::string("none"))
      << ", longest unavailable:";
  for (auto& [kind, ms] : longest_unavailable_ms)
    out << " " << kind << "=" << ms << "ms";
  out << "; answers:";
  for (auto& [what, n] : answers)
    out << " " << what << "x" << n;
  return out.str();
}

std::string verdict::report(const run_record& run) const {
  std::ostringstream out;
  out << "chaos run, " << run.schedule << "\n" << figures() << "\n";
  for (std::size_t i = 0; i < run.faults.size() && i < per_fault.size(); ++i)
    out << "  " << run.faults[i].text << ": longest unanswered partition " << per_fault[i].partition
        << " for " << per_fault[i].ms << " ms\n";
  if (violations.empty() && known.empty())
    return out.str();
  auto list = [&](const std::vector<violation>& which) {
    std::map<std::string, int> shown;
    for (auto& v : which) {
      if (++shown[v.property] > 25) // the first ones tell; the count says the rest
        continue;
      out << "- [" << v.property << "] " << v.message;
      if (v.at)
        out << " (at " << *v.at << ")";
      out << "\n";
      for (int i : v.ops)
        if (i >= 0 && static_cast<std::size_t>(i) < run.history.size())
          out << "    history " << run.history[static_cast<std::size_t>(i)].render() << "\n";
      for (auto& r : v.records)
        out << "    log " << r << "\n";
    }
    for (auto& [property, n] : shown)
      if (n > 25)
        out << "  (" << n - 25 << " more " << property << ")\n";
  };
  if (!violations.empty()) {
    out << violations.size() << " VIOLATIONS (replay: CHAOS_SEED=" << run.seed
        << " build/tests/chaos/chaos_test --gtest_filter='ChaosSeed.FromEnvironment'):\n";
    list(violations);
  }
  if (!known.empty()) {
    out << known.size() << " violations of known defects (not failing this run):\n";
    list(known);
  }
  if (!run.faults.empty()) {
    out << "faults as injected (Unix ms):\n";
    for (auto& f : run.faults)
      out << "  " << f.start << ".." << f.end << " " << f.text << "\n";
  }
  return out.str();
}

} // namespace flashsale::testing::chaos
