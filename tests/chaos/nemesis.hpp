// Plays a fault schedule (tests/chaos/schedule.hpp) on a chaos_cluster, on the calling thread
// (the test's own: restarting a process forks it, and a child dies with the thread that forked
// it). Each fault begins and heals at its scheduled offset from `start`; a flap runs on a
// thread of its own for its length. What was actually done and when (Unix ms) is returned,
// one window per step, for the checker and the report. heal_everything() undoes whatever is
// still in effect: network faults healed, paused processes continued, dead ones restarted.
#pragma once

#include <vector>

#include "tests/chaos/chaos_cluster.hpp"
#include "tests/chaos/checker.hpp"
#include "tests/chaos/schedule.hpp"

namespace flashsale::testing::chaos {

/// Runs `s` from `start` (a steady-clock instant: the fault phase's zero); returns when its
/// last fault has healed. `log` gets a line per action.
std::vector<fault_window> play(chaos_cluster& cluster, const schedule& s,
                               std::chrono::steady_clock::time_point start,
                               const std::function<void(const std::string&)>& log);

/// Every fault undone and every process running (nodes restarted without waiting for their
/// banner: the caller waits on the cluster answering).
void heal_everything(chaos_cluster& cluster);

} // namespace flashsale::testing::chaos
