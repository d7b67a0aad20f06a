// The live progress line of `flashsale load` on stderr, about every 0.5 s, from its own
// thread: requests, rate over the last interval, accepted, sold out, errors, p99 so far.
// Refreshed in place with '\r' when stderr is a terminal, one plain line each otherwise (so
// logs and CI output stay readable). stop() prints a final line and joins the thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "cli/load/outcomes.hpp"

namespace flashsale::load {

struct progress_sample {
  std::uint64_t requests = 0, accepted = 0, sold_out = 0, shed = 0, errors = 0;
  std::uint64_t p99_us = 0;
};

/// Counters the progress thread reads while the requests run.
struct live_counters {
  std::atomic<std::uint64_t> requests{0}, accepted{0}, sold_out{0}, shed{0}, errors{0};

  /// One more answered (or failed) request with this outcome.
  void count(outcome o);
  /// The counts (p99 left 0 for the caller).
  progress_sample sample() const;
};

class progress_line {
public:
  /// `sample` is called from the progress thread; it must be thread-safe.
  explicit progress_line(std::function<progress_sample()> sample);
  ~progress_line();
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;

  void stop();

private:
  void loop();
  void print(const progress_sample& s, double rate);

  std::function<progress_sample()> sample_;
  bool tty_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  std::chrono::steady_clock::time_point started_;
};

} // namespace flashsale::load
