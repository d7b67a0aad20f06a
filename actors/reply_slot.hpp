// How a blocked caller thread (an HTTP worker) gets one answer from an actor without creating
// an actor of its own: it sends an async message carrying a `reply_to<T>` and waits on the
// `reply_slot<T>`. The actor side answers through the reply_to, once; the first answer wins.
// If every copy of the reply_to is destroyed unanswered (the actor system is shutting down, or
// an actor died with the message in its mailbox), the slot is filled at once with the value
// given for that case, so the caller does not wait out its timeout. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

namespace flashsale {

template <class T>
class reply_slot {
public:
  /// The first fill wins; later ones are ignored.
  void fill(T value) {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      if (value_)
        return;
      value_ = std::move(value);
    }
    filled_.notify_all();
  }

  /// The answer, or nullopt when none came within `timeout`.
  std::optional<T> wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mutex_};
    filled_.wait_for(guard, timeout, [this] { return value_.has_value(); });
    return std::move(value_);
  }

private:
  std::mutex mutex_;
  std::condition_variable filled_;
  std::optional<T> value_;
};

template <class T>
class reply_to {
public:
  /// `if_dropped` fills the slot when every copy dies unanswered.
  reply_to(std::shared_ptr<reply_slot<T>> slot, T if_dropped)
    : guard_(std::make_shared<unanswered_guard>(std::move(slot), std::move(if_dropped))) {}

  void operator()(T value) const { guard_->slot->fill(std::move(value)); }

private:
  /// Shared by every copy; its destructor fills `if_dropped`, which the slot ignores when an
  /// answer came first.
  struct unanswered_guard {
    unanswered_guard(std::shared_ptr<reply_slot<T>> s, T d)
      : slot(std::move(s)), if_dropped(std::move(d)) {}
    unanswered_guard(const unanswered_guard&) = delete; // exactly one, or it answers early
    unanswered_guard& operator=(const unanswered_guard&) = delete;
    ~unanswered_guard() { slot->fill(std::move(if_dropped)); }
    std::shared_ptr<reply_slot<T>> slot;
    T if_dropped;
  };
  std::shared_ptr<unanswered_guard> guard_;
};

} // namespace flashsale
