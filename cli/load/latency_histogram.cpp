// Index layout: [0, 256) are the values themselves; for v >= 256 with top bit e (8..35), the
// shift is e - 7, v >> shift lies in [128, 256), and the index is
// 256 + (shift - 1) * 128 + (v >> shift) - 128, which keeps the indices contiguous.
#include "cli/load/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace flashsale::load {

namespace {

int top_bit(std::uint64_t v) {
  return 63 - __builtin_clzll(v);
}

} // namespace

std::size_t latency_histogram::index_of(std::uint64_t v) {
  if (v < linear_limit_)
    return static_cast<std::size_t>(v);
  int shift = top_bit(v) - sub_bits_;
  return linear_limit_ + static_cast<std::size_t>(shift - 1) * 128 + (v >> shift) - 128;
}

std::uint64_t latency_histogram::lowest_of(std::size_t index) {
  if (index < linear_limit_)
    return index;
  std::size_t rest = index - linear_limit_;
  int shift = static_cast<int>(rest / 128) + 1;
  return (128 + rest % 128) << shift;
}

std::uint64_t latency_histogram::highest_of(std::size_t index) {
  if (index < linear_limit_)
    return index;
  int shift = static_cast<int>((index - linear_limit_) / 128) + 1;
  return lowest_of(index) + (std::uint64_t{1} << shift) - 1;
}

void latency_histogram::record(std::uint64_t micros) {
  micros = std::min(micros, max_trackable_us);
  ++counts_[index_of(micros)];
  ++count_;
  sum_ += micros;
  min_ = std::min(min_, micros);
  max_ = std::max(max_, micros);
}

void latency_histogram::merge(const latency_histogram& other) {
  for (std::size_t i = 0; i < bucket_count_; ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void latency_histogram::reset() {
  *this = latency_histogram{};
}

std::uint64_t latency_histogram::percentile(double q) const {
  if (count_ == 0)
    return 0;
  q = std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count_; ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return std::min(highest_of(i), max_);
  }
  return max_;
}

std::vector<latency_histogram::bucket> latency_histogram::buckets() const {
  std::vector<bucket> out;
  for (std::size_t i = 0; i < bucket_count_; ++i)
    if (counts_[i] != 0)
      out.push_back({lowest_of(i), highest_of(i), counts_[i]});
  return out;
}

} // namespace flashsale::load
