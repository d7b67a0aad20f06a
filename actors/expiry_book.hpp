// The due times of reserved orders, shared by whoever makes a hold (an inventory actor or a
// saga, on a CAF worker) and the expiry scheduler that fires them. Adding one is a map insert
// under a mutex, not a message: a hold waits minutes, and waking the scheduler's thread for
// every order cost more than the rest of placing it (perf: ~9% of the CAF workers). Only an
// expiry earlier than the scheduler's next wake-up needs the scheduler to look again; add()
// says so. The book also remembers that wake-up, so the check and the arming cannot race.
// Thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "events/envelope.hpp"

namespace flashsale {

class expiry_book {
public:
  /// Records that `order_id` falls due at `at`; true when the scheduler must be told (its
  /// timer, if any, would fire too late for this one).
  bool add(std::string order_id, timestamp_ms at);
  /// Removes and returns at most `max` orders due at `now`, earliest first.
  std::vector<std::string> take_due(timestamp_ms now, std::size_t max);
  /// True when an order is due at `now`.
  bool due(timestamp_ms now) const;
  /// The scheduler is about to arm its timer: the time to wake at, min(earliest, now +
  /// max_sleep), recorded as armed; nullopt when nothing needs a timer (the book is empty, or
  /// a timer already armed fires at least as soon).
  std::optional<timestamp_ms> plan_wake(timestamp_ms now, timestamp_ms max_sleep);
  /// The scheduler's timer fired: no wake-up is armed any more, whatever the clock says.
  void timer_fired();
  std::size_t size() const;

private:
  mutable std::mutex mutex_;
  std::multimap<timestamp_ms, std::string> due_;
  std::optional<timestamp_ms> armed_;
};

} // namespace flashsale
