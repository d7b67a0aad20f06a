#include "http/admission.hpp"

namespace flashsale {

std::optional<admission::ticket> admission::try_enter() {
  // Increment first, undo when over: the count can exceed the limit only for the instant
  // between the two, and then no request is admitted on it.
  auto before = in_flight_.fetch_add(1, std::memory_order_acq_rel);
  if (limit_ != 0 && before >= limit_) {
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    shed_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  return std::optional<ticket>(std::in_place, this);
}

} // namespace flashsale
