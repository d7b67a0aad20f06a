// Token buckets for POST /orders, one per key (a user id, or a client address): each key earns
// `per_second` tokens a second up to `burst`; a request takes one or is refused with the seconds
// until the next token. invariant: memory is bounded — at most `max_buckets` buckets, the least
// recently used evicted first. A bucket idle long enough to refill is identical to a fresh one, so
// evicting it loses nothing; only a crowd larger than max_buckets makes eviction lossy (a user then
// gets a fresh burst). Thread-safe (sharded locks); time comes from an injected clock.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "events/clock.hpp"

namespace flashsale {

class rate_limiter {
public:
  /// per_second <= 0 turns the limiter off (every take() is allowed). burst < 1 counts as 1.
  rate_limiter(double per_second, std::int64_t burst, const clock& time,
               std::size_t max_buckets = 1'000'000);

  struct verdict {
    bool allowed = true;
    std::int64_t retry_after_seconds = 0; ///< >= 1 when refused
  };

  /// Takes one token from `key`'s bucket.
  verdict take(const std::string& key);

  bool enabled() const { return per_ms_ > 0; }
  /// Buckets held now (tests check the bound).
  std::size_t size() const;

private:
  struct bucket {
    double tokens = 0;
    timestamp_ms at = 0;
    std::list<std::string>::iterator lru;
  };
  struct shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, bucket> buckets;
    std::list<std::string> lru; ///< front = most recently used
  };
  static constexpr std::size_t shard_count = 16;

  double per_ms_;
  double burst_;
  const clock& clock_;
  std::size_t max_per_shard_;
  std::unique_ptr<shard[]> shards_;
};

} // namespace flashsale
