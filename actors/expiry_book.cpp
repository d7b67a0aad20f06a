#include "actors/expiry_book.hpp"

#include <algorithm>

namespace flashsale {

bool expiry_book::add(std::string order_id, timestamp_ms at) {
  std::lock_guard<std::mutex> guard{mutex_};
  due_.emplace(at, std::move(order_id));
  return !armed_ || at < *armed_;
}

std::vector<std::string> expiry_book::take_due(timestamp_ms now, std::size_t max) {
  std::lock_guard<std::mutex> guard{mutex_};
  std::vector<std::string> out;
  while (!due_.empty() && due_.begin()->first <= now && out.size() < max) {
    out.push_back(std::move(due_.begin()->second));
    due_.erase(due_.begin());
  }
  return out;
}

bool expiry_book::due(timestamp_ms now) const {
  std::lock_guard<std::mutex> guard{mutex_};
  return !due_.empty() && due_.begin()->first <= now;
}

std::optional<timestamp_ms> expiry_book::plan_wake(timestamp_ms now, timestamp_ms max_sleep) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (due_.empty())
    return std::nullopt;
  auto wake = std::min(due_.begin()->first, now + max_sleep);
  if (armed_ && *armed_ <= wake)
    return std::nullopt;
  armed_ = wake;
  return wake;
}

void expiry_book::timer_fired() {
  std::lock_guard<std::mutex> guard{mutex_};
  armed_.reset();
}

std::size_t expiry_book::size() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return due_.size();
}

} // namespace flashsale
