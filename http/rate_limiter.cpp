#include "http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace flashsale {

rate_limiter::rate_limiter(double per_second, std::int64_t burst, const clock& time,
                           std::size_t max_buckets)
  : per_ms_(per_second > 0 ? per_second / 1000.0 : 0),
    burst_(static_cast<double>(std::max<std::int64_t>(burst, 1))), clock_(time),
    max_per_shard_(std::max<std::size_t>(max_buckets / shard_count, 1)),
    shards_(new shard[shard_count]) {}

rate_limiter::verdict rate_limiter::take(const std::string& key) {
  if (!enabled())
    return {};
  auto now = clock_.now();
  auto& s = shards_[std::hash<std::string>{}(key) % shard_count];
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.buckets.find(key);
  if (it == s.buckets.end()) {
    if (s.buckets.size() >= max_per_shard_) {
      s.buckets.erase(s.lru.back());
      s.lru.pop_back();
    }
    s.lru.push_front(key);
    it = s.buckets.emplace(key, bucket{burst_, now, s.lru.begin()}).first;
  } else {
    s.lru.splice(s.lru.begin(), s.lru, it->second.lru);
  }
  auto& b = it->second;
  if (now > b.at) // a clock stepping back must not mint or burn tokens
    b.tokens = std::min(burst_, b.tokens + static_cast<double>(now - b.at) * per_ms_);
  b.at = std::max(b.at, now);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return {};
  }
  auto wait_ms = (1 - b.tokens) / per_ms_;
  auto seconds = static_cast<std::int64_t>(std::ceil(wait_ms / 1000.0));
  return {false, std::max<std::int64_t>(seconds, 1)};
}

std::size_t rate_limiter::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < shard_count; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mutex);
    n += shards_[i].buckets.size();
  }
  return n;
}

} // namespace flashsale
