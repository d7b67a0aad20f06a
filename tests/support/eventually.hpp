// Waiting for a condition that another thread (an actor, a child process) makes true: polls
// `condition` until it holds or `timeout` passes. The poll interval is short and grows, so a
// test waits only as long as the system needs, never a fixed time.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace flashsale::testing {

template <class Condition>
bool eventually(Condition&& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    if (condition())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
}

} // namespace flashsale::testing
