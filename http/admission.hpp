// Load shedding for the write routes (POST /orders, cancel, the payment webhook): at most
// `limit` of them are inside the node at once; one more is answered 503 unavailable with
// Retry-After: 1 at once instead of waiting for a slot.
// invariant: at most `limit` requests hold a ticket at once; a ticket is returned exactly once
// (RAII).
// Thread-safe, lock-free; runs on HTTP worker threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <optional>

namespace flashsale {

class admission {
public:
  /// limit 0 = unlimited.
  explicit admission(std::size_t limit) : limit_(limit) {}

  /// Holds one slot while alive.
  class ticket {
  public:
    explicit ticket(admission* owner) : owner_(owner) {}
    ticket(ticket&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    ticket& operator=(ticket&&) = delete;
    ticket(const ticket&) = delete;
    ~ticket() {
      if (owner_)
        owner_->in_flight_.fetch_sub(1, std::memory_order_release);
    }

  private:
    admission* owner_;
  };

  /// A slot, or nullopt when `limit` requests are in flight already.
  std::optional<ticket> try_enter();

  std::size_t in_flight() const { return in_flight_.load(std::memory_order_acquire); }
  std::size_t limit() const { return limit_; }
  /// Requests refused since start (for /metrics).
  std::size_t shed() const { return shed_.load(std::memory_order_relaxed); }

private:
  std::size_t limit_;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::size_t> shed_{0};
};

} // namespace flashsale
