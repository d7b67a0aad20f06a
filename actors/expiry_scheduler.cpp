#include "actors/expiry_scheduler.hpp"

#include <map>

#include <caf/all.hpp>

#include "actors/services.hpp"
#include "events/clock.hpp"

namespace flashsale {

namespace {

struct scheduler_state {
  std::multimap<timestamp_ms, std::string> due; ///< expires_at → order id
  /// The earliest time a delayed tick is already on its way for; avoids piling up timers.
  std::optional<timestamp_ms> armed_for;
  static const char* name;
};

const char* scheduler_state::name = "expiry_scheduler";

using scheduler_self = scheduler_actor::stateful_pointer<scheduler_state>;

// A delayed tick is capped so a changed wall clock (NTP step, manual clock in tests) is
// noticed within a second even when the next due time is far away.
constexpr timestamp_ms max_sleep_ms = 1000;

void arm(scheduler_self self, const node_services* services) {
  auto& st = self->state;
  if (st.due.empty())
    return;
  auto now = services->now->now();
  auto next = st.due.begin()->first;
  if (next <= now) {
    self->send(self, tick_atom::value, false); // more are due: yield, then continue
    return;
  }
  auto wake = std::min(next, now + max_sleep_ms);
  if (st.armed_for && *st.armed_for <= wake)
    return; // a timer already fires at least as soon
  st.armed_for = wake;
  self->delayed_send(self, std::chrono::milliseconds(wake - now), tick_atom::value, true);
}

/// Fires what is due (at most expiry_batch) and re-arms. `from_timer`: this tick is the
/// delayed one `armed_for` stood for. It clears `armed_for` whatever the clock says now: a
/// clock stepped back must not leave the scheduler believing a timer is still pending.
void on_tick(scheduler_self self, const directory_actor& directory, const node_services* services,
             bool from_timer) {
  auto& st = self->state;
  if (from_timer)
    st.armed_for.reset();
  auto now = services->now->now();
  std::size_t fired = 0;
  while (!st.due.empty() && st.due.begin()->first <= now && fired < services->expiry_batch) {
    self->send(directory, expire_atom::value, st.due.begin()->second);
    st.due.erase(st.due.begin());
    ++fired;
  }
  arm(self, services);
}

scheduler_actor::behavior_type expiry_scheduler(scheduler_self self, directory_actor directory,
                                                const node_services* services) {
  return {
      [=](schedule_atom, const std::string& order_id, timestamp_ms expires_at) {
        self->state.due.emplace(expires_at, order_id);
        arm(self, services);
      },
      [=](tick_atom, bool from_timer) { on_tick(self, directory, services, from_timer); },
      [=](tick_atom) { on_tick(self, directory, services, false); }, // check_expiries
      [=](count_atom) { return static_cast<std::int64_t>(self->state.due.size()); },
  };
}

} // namespace

scheduler_actor spawn_expiry_scheduler(caf::local_actor& parent, directory_actor directory,
                                       const node_services& services) {
  return parent.spawn(expiry_scheduler, std::move(directory), &services);
}

} // namespace flashsale
