#include "actors/expiry_scheduler.hpp"

#include <caf/all.hpp>

#include "actors/expiry_book.hpp"
#include "actors/services.hpp"
#include "events/clock.hpp"

namespace flashsale {

namespace {

using scheduler_self = scheduler_actor::pointer;

// A delayed tick is capped so a changed wall clock (NTP step, manual clock in tests) is
// noticed within a second even when the next due time is far away.
constexpr timestamp_ms max_sleep_ms = 1000;

/// Fires what is due (at most expiry_batch), then yields if more are due, else arms a timer.
/// `from_timer`: this tick is the delayed one the book had armed. It disarms whatever the
/// clock says now: a clock stepped back must not leave the book believing a timer is pending.
void on_tick(scheduler_self self, const directory_actor& directory, const node_services* services,
             bool from_timer) {
  auto& book = *services->expiries;
  if (from_timer)
    book.timer_fired();
  auto now = services->now->now();
  for (auto& order_id : book.take_due(now, services->expiry_batch))
    self->send(directory, expire_atom::value, std::move(order_id));
  if (book.due(now)) {
    self->send(self, tick_atom::value, false); // more are due: yield, then continue
    return;
  }
  if (auto wake = book.plan_wake(now, max_sleep_ms))
    self->delayed_send(self, std::chrono::milliseconds(*wake - now), tick_atom::value, true);
}

scheduler_actor::behavior_type expiry_scheduler(scheduler_self self, directory_actor directory,
                                                const node_services* services) {
  return {
      [=](tick_atom, bool from_timer) { on_tick(self, directory, services, from_timer); },
      // Look at the book now: an earlier expiry than the armed one (see expiry_book::add), or
      // a test that advanced its clock.
      [=](tick_atom) { on_tick(self, directory, services, false); },
      [=](count_atom) { return static_cast<std::int64_t>(services->expiries->size()); },
  };
}

} // namespace

scheduler_actor spawn_expiry_scheduler(caf::local_actor& parent, directory_actor directory,
                                       const node_services& services) {
  return parent.spawn(expiry_scheduler, std::move(directory), &services);
}

} // namespace flashsale
