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

class system_clock final : public clock {
public:
  timestamp_ms now() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
  }
};

/// Milliseconds of std::chrono::steady_clock: for durations, immune to wall-clock steps.
class monotonic_clock final : public clock {
public:
  timestamp_ms now() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
  }
};

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
