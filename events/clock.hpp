// The node's one source of "now". Actors never read a global clock: production uses the
// system clock, tests a manual one they advance, so expiry is tested without sleeping.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>

#include "events/envelope.hpp"

namespace flashsale {

class clock {
public:
  virtual ~clock() = default;
  virtual timestamp_ms now() const = 0;
};

/// Milliseconds since the epoch of a std::chrono clock.
template <class Std>
class chrono_clock final : public clock {
public:
  timestamp_ms now() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Std::now().time_since_epoch())
        .count();
  }
};

/// Wall time: what events record and expiries compare against.
using system_clock = chrono_clock<std::chrono::system_clock>;
/// For durations, immune to wall-clock steps.
using monotonic_clock = chrono_clock<std::chrono::steady_clock>;

class manual_clock final : public clock {
public:
  explicit manual_clock(timestamp_ms start) : now_(start) {}
  timestamp_ms now() const override { return now_.load(); }
  void advance(std::chrono::milliseconds by) { now_ += by.count(); }
  void set(timestamp_ms t) { now_ = t; }

private:
  std::atomic<timestamp_ms> now_;
};

} // namespace flashsale
