// How a blocked caller thread (an HTTP worker) gets one answer from an actor without
// creating an actor of its own: it sends an async message carrying a `reply_to` and waits on
// the `reply_slot`. The actor side answers through the reply_to, once. If every copy of the
// reply_to is destroyed unanswered (the message was dropped because its receiver had just
// stopped), the slot is filled with `status_retry` at once, so the caller asks again instead
// of waiting out its timeout. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

#include "actors/node_api.hpp"

namespace flashsale {

/// Status of an internal answer that means "the order changed underneath (another saga placed
/// it first, or its saga just stopped): look it up again". Never sent to a client.
inline constexpr int status_retry = 0;
/// Status of an internal answer that means "no live saga for this order".
inline constexpr int status_not_live = -1;

class reply_slot {
public:
  /// The first fill wins; later ones are ignored.
  void fill(answer a);
  /// The answer, or nullopt when none came within `timeout`.
  std::optional<answer> wait_for(std::chrono::milliseconds timeout);

private:
  std::mutex mutex_;
  std::condition_variable filled_;
  std::optional<answer> value_;
};

class reply_to {
public:
  explicit reply_to(std::shared_ptr<reply_slot> slot);
  void operator()(answer a) const;

private:
  /// Shared by every copy; its destructor answers `status_retry` if nobody answered.
  struct unanswered_guard {
    explicit unanswered_guard(std::shared_ptr<reply_slot> s) : slot(std::move(s)) {}
    unanswered_guard(const unanswered_guard&) = delete; // exactly one, or it answers early
    unanswered_guard& operator=(const unanswered_guard&) = delete;
    ~unanswered_guard();
    std::shared_ptr<reply_slot> slot;
  };
  std::shared_ptr<unanswered_guard> guard_;
};

} // namespace flashsale
