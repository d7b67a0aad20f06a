// Load shedding for the write routes (POST /orders, cancel, the payment webhook). Two gates,
// both answered 503 unavailable with Retry-After: 1 at once instead of waiting:
//  - a bound on writes inside the node at once (`limit`);
//  - the actors being behind: when, over a whole interval, even the fastest write took longer
//    than `target` (a standing queue, not a burst), or writes have been in flight for longer
//    than `target` with none finishing (a stalled store), new writes are shed until writes
//    finish within `target` again. This is CoDel's signal (minimum sojourn time over an
//    interval): a burst that drains quickly sheds nothing, a backlog that does not drain does.
// invariant: at most `limit` requests hold a ticket at once; a ticket is returned exactly once
// (RAII) and reports its time in the node when it is returned.
// Thread-safe; runs on HTTP worker threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>

#include "events/clock.hpp"

namespace flashsale {

class admission {
public:
  struct options {
    std::size_t limit = 0;      ///< writes in flight at once; 0 = unlimited
    std::int64_t target_ms = 0; ///< shed when writes take longer than this; 0 = never
    std::int64_t interval_ms = 100;
  };

  /// Without a clock, only the in-flight bound applies.
  explicit admission(std::size_t limit) : admission(options{limit, 0, 100}, nullptr) {}
  admission(options o, const clock* time) : options_(o), clock_(time) {}

  /// Holds one slot while alive.
  class ticket {
  public:
    ticket(admission* owner, timestamp_ms entered) : owner_(owner), entered_(entered) {}
    ticket(ticket&& other) noexcept : owner_(other.owner_), entered_(other.entered_) {
      other.owner_ = nullptr;
    }
    ticket& operator=(ticket&&) = delete;
    ticket(const ticket&) = delete;
    ~ticket() {
      if (owner_)
        owner_->leave(entered_);
    }

  private:
    admission* owner_;
    timestamp_ms entered_;
  };

  /// A slot, or nullopt when the write must be shed.
  std::optional<ticket> try_enter();

  std::size_t in_flight() const { return in_flight_.load(std::memory_order_acquire); }
  std::size_t limit() const { return options_.limit; }
  /// Requests refused since start (for /metrics).
  std::size_t shed() const { return shed_.load(std::memory_order_relaxed); }
  /// The delay gate is shedding (for /metrics and tests).
  bool behind() const;

private:
  void leave(timestamp_ms entered);
  /// Closes the interval when it is over; decides `behind_` for the next one. Holds mutex_.
  void roll(timestamp_ms now);
  timestamp_ms now() const { return clock_ ? clock_->now() : 0; }

  const options options_;
  const clock* clock_;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::size_t> shed_{0};

  mutable std::mutex mutex_; // the delay gate's state; only touched when target_ms > 0
  timestamp_ms interval_start_ = 0;
  std::optional<std::int64_t> fastest_ms_; ///< the fastest write finished in this interval
  timestamp_ms last_progress_ = 0;         ///< a write finished, or the node went busy
  std::size_t tracked_ = 0;                ///< writes in flight, as the delay gate counts them
  bool behind_ = false;
};

} // namespace flashsale
