#include "actors/reply_slot.hpp"

namespace flashsale {

void reply_slot::fill(answer a) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (value_)
      return;
    value_ = std::move(a);
  }
  filled_.notify_all();
}

std::optional<answer> reply_slot::wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mutex_};
  filled_.wait_for(guard, timeout, [this] { return value_.has_value(); });
  return value_;
}

reply_to::reply_to(std::shared_ptr<reply_slot> slot)
  : guard_(std::make_shared<unanswered_guard>(std::move(slot))) {}

void reply_to::operator()(answer a) const {
  guard_->slot->fill(std::move(a));
}

reply_to::unanswered_guard::~unanswered_guard() {
  if (slot)
    slot->fill(answer{status_retry, "", false});
}

} // namespace flashsale
