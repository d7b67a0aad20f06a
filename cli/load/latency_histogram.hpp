// An HDR-style log-linear latency histogram in microseconds: values below 256 us are counted
// exactly, above that every power of two is split into 128 equal sub-buckets, so any reported
// percentile is within 1/128 (< 0.8%) of a recorded value. Fixed memory (~30 KiB), O(1)
// record, mergeable, so each worker keeps its own and they are merged at the end.
// Not thread-safe: one writer; the caller locks when another thread reads.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace flashsale::load {

class latency_histogram {
public:
  /// Values above this (2^36 us, about 19 hours) are clamped into the last bucket.
  static constexpr std::uint64_t max_trackable_us = (std::uint64_t{1} << 36) - 1;

  void record(std::uint64_t micros);
  void merge(const latency_histogram& other);
  void reset();

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }

  /// The value at quantile q (0..1): the highest value equivalent to the bucket holding the
  /// ceil(q * count)-th smallest sample, never above the exact max. 0 when empty.
  std::uint64_t percentile(double q) const;

  /// Non-empty buckets as (lowest equivalent value, highest equivalent value, count), in
  /// ascending order; the HTML report bins these for its chart.
  struct bucket {
    std::uint64_t low, high, count;
  };
  std::vector<bucket> buckets() const;

private:
  static constexpr int sub_bits_ = 7;                             // 128 sub-buckets
  static constexpr std::uint64_t linear_limit_ = 2u << sub_bits_; // 256: exact below
  static constexpr std::size_t bucket_count_ = linear_limit_ + (36 - sub_bits_ - 1) * 128;

  static std::size_t index_of(std::uint64_t v);
  static std::uint64_t lowest_of(std::size_t index);
  static std::uint64_t highest_of(std::size_t index);

  std::array<std::uint64_t, bucket_count_> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

} // namespace flashsale::load
