// Per-actor ordering of replies behind commits. An actor applies its events at once (so the
// next command already sees them) but may only answer after they are durable; and an answer
// that needs no new event still depends on everything the actor decided before it (a
// "sold out" relies on an earlier, maybe uncommitted, reservation). So every continuation
// waits for all earlier tickets of the same actor. The store commits one actor's appends in
// order, so tickets complete in order too. Runs only inside its actor.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>

#include "persistence/event_store.hpp"

namespace flashsale {

class commit_queue {
public:
  /// Runs with the commit's error (none = durable).
  using continuation = std::function<void(const std::optional<store_error>&)>;

  /// A new ticket for an append about to be submitted; its continuation runs after it commits.
  std::uint64_t add_append(continuation k);
  /// A continuation with no append of its own: runs once all earlier tickets committed.
  void add_barrier(continuation k);
  /// The store answered `ticket`; runs every continuation that is now ready, in order.
  void committed(std::uint64_t ticket, std::optional<store_error> error);
  /// No append in flight and nothing waiting.
  bool idle() const { return entries_.empty(); }
  /// Set once any append of this actor failed.
  const std::optional<store_error>& failed() const { return last_error_; }

private:
  void run_ready();

  struct entry {
    std::uint64_t ticket = 0; ///< 0 = barrier
    bool done = false;
    std::optional<store_error> error;
    continuation k;
  };
  std::deque<entry> entries_;
  std::uint64_t next_ticket_ = 1;
  bool running_ = false;
  /// Sticky: once an append of this actor failed, its in-memory state is ahead of the store,
  /// so nothing decided afterwards may be reported as done.
  std::optional<store_error> last_error_;
};

} // namespace flashsale
