#include "actors/commit_queue.hpp"

namespace flashsale {

std::uint64_t commit_queue::add_append(continuation k) {
  auto ticket = next_ticket_++;
  entries_.push_back(entry{ticket, false, std::nullopt, std::move(k)});
  return ticket;
}

void commit_queue::add_barrier(continuation k) {
  entries_.push_back(entry{0, true, std::nullopt, std::move(k)});
  run_ready();
}

void commit_queue::committed(std::uint64_t ticket, std::optional<store_error> error) {
  for (auto& e : entries_)
    if (e.ticket == ticket) {
      e.done = true;
      e.error = std::move(error);
      break;
    }
  run_ready();
}

void commit_queue::run_ready() {
  // A continuation may add entries (and so call run_ready again): only the outermost call
  // drains, so continuations always run in order and never re-entrantly.
  if (running_)
    return;
  running_ = true;
  while (!entries_.empty() && entries_.front().done) {
    auto e = std::move(entries_.front());
    entries_.pop_front();
    // After a failed commit the store refuses every later append, so a barrier behind a
    // failed ticket must not claim success either.
    if (e.ticket == 0 && !e.error && last_error_)
      e.error = last_error_;
    if (e.error)
      last_error_ = e.error;
    if (e.k)
      e.k(e.error);
  }
  running_ = false;
}

} // namespace flashsale
