#include "http/admission.hpp"

#include <algorithm>

namespace flashsale {

std::optional<admission::ticket> admission::try_enter() {
  const auto at = now();
  if (options_.target_ms > 0) {
    std::lock_guard<std::mutex> guard{mutex_};
    roll(at);
    if (behind_) {
      shed_.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    if (tracked_++ == 0)
      last_progress_ = at; // idle until now: the stall clock starts here
  }
  // Increment first, undo when over: the count can exceed the limit only for the instant
  // between the two, and then no request is admitted on it.
  auto before = in_flight_.fetch_add(1, std::memory_order_acq_rel);
  if (options_.limit != 0 && before >= options_.limit) {
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    shed_.fetch_add(1, std::memory_order_relaxed);
    if (options_.target_ms > 0) {
      std::lock_guard<std::mutex> guard{mutex_};
      --tracked_;
    }
    return std::nullopt;
  }
  return std::optional<ticket>(std::in_place, this, at);
}

void admission::leave(timestamp_ms entered) {
  in_flight_.fetch_sub(1, std::memory_order_release);
  if (options_.target_ms <= 0)
    return;
  const auto at = now();
  std::lock_guard<std::mutex> guard{mutex_};
  // This write's own completion is progress: count it before judging the interval.
  --tracked_;
  const auto took = std::max<std::int64_t>(0, at - entered); // a clock step back is no time
  fastest_ms_ = fastest_ms_ ? std::min(*fastest_ms_, took) : took;
  last_progress_ = at;
  roll(at);
}

void admission::roll(timestamp_ms at) {
  const bool stalled = tracked_ > 0 && at - last_progress_ > options_.target_ms;
  if (stalled) {
    // No need to wait for the interval: nothing is getting through. Restart it, so that
    // writes that finished fast before the stall do not count as recovery.
    behind_ = true;
    fastest_ms_.reset();
    interval_start_ = at;
    return;
  }
  if (at - interval_start_ < options_.interval_ms)
    return;
  behind_ = fastest_ms_ && *fastest_ms_ > options_.target_ms;
  fastest_ms_.reset();
  interval_start_ = at;
}

bool admission::behind() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return behind_;
}

} // namespace flashsale
