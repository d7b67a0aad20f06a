#include "actors/directory_actor.hpp"

#include <map>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/expiry_scheduler.hpp"
#include "actors/inventory_actor.hpp"
#include "actors/order_saga_actor.hpp"
#include "actors/remote_stock.hpp"
#include "actors/services.hpp"

namespace flashsale {

namespace {

struct live_saga {
  saga_actor handle;
  std::uint64_t sent = 0; ///< messages this directory sent it (see passivation)
};

struct directory_state {
  std::unordered_map<std::string, inventory_actor> inventories;
  std::unordered_map<std::string, live_saga> sagas;
  std::map<caf::actor_addr, std::pair<bool, std::string>> owners; ///< addr → (is saga, id)
  scheduler_actor scheduler;
  /// Stock commands sent to another partition's owner, by ticket: each answers its saga.
  std::unordered_map<std::uint64_t, std::function<void(stock_outcome&)>> remote_waits;
  std::uint64_t next_ticket = 0;
  static const char* name;
};

const char* directory_state::name = "directory";

using directory_self = directory_actor::stateful_pointer<directory_state>;

void watch(directory_self self, const caf::actor_addr& addr, bool is_saga, const std::string& id) {
  self->monitor(addr);
  self->state.owners.emplace(addr, std::make_pair(is_saga, id));
}

inventory_actor inventory_of(directory_self self, const std::string& product_id) {
  auto it = self->state.inventories.find(product_id);
  return it == self->state.inventories.end() ? inventory_actor{} : it->second;
}

void add_inventory(directory_self self, const node_services* services, product_state state,
                   const std::string& id) {
  auto inv = spawn_inventory(*self, std::move(state), self->state.scheduler, *services);
  watch(self, inv.address(), false, id);
  self->state.inventories.emplace(id, std::move(inv));
}

/// The inventory actors of an order's items, for a new saga to ask directly while it places
/// the order: one hop less per item than through the directory.
inventory_handles inventories_of(directory_self self, const std::vector<order_line>& items) {
  inventory_handles out;
  for (const auto& item : items)
    if (auto inv = inventory_of(self, item.product_id))
      out.emplace(item.product_id, inv);
  return out;
}

/// The live saga of `initial.order_id`, spawned with `start` if there is none.
live_saga& saga_for(directory_self self, const node_services* services, order_state initial,
                    saga_start start, inventory_handles inventories = {}) {
  auto id = initial.order_id;
  if (auto it = self->state.sagas.find(id); it != self->state.sagas.end())
    return it->second;
  auto saga =
      spawn_order_saga(*self, std::move(initial), start, caf::actor_cast<directory_actor>(self),
                       self->state.scheduler, *services, std::move(inventories));
  watch(self, saga.address(), true, id);
  return self->state.sagas.emplace(id, live_saga{std::move(saga), 0}).first->second;
}

live_saga& saga_of_order(directory_self self, const node_services* services,
                         const std::string& order_id, saga_start start) {
  order_state initial;
  initial.order_id = order_id;
  return saga_for(self, services, std::move(initial), start);
}

/// Every message to a saga goes through here: the count is what passivation compares.
template <class... Ts>
void send_to(directory_self self, live_saga& saga, Ts&&... xs) {
  ++saga.sent;
  self->send(saga.handle, std::forward<Ts>(xs)...);
}

caf::error unknown_product_error(const std::string& product_id) {
  return to_caf_error(*unknown_product(product_id).rejected);
}

bool served_elsewhere(const node_services* services, const std::string& product_id) {
  return services->remote && services->remote->serves_elsewhere(product_id);
}

/// Sends a stock command to the partition that serves its product; the saga that asked hears
/// the owner's answer (T: reserve_reply or bool) or its rejection. The answer comes back as a
/// message, on this actor, whichever thread the remote call finished on.
template <class T>
caf::typed_response_promise<T> ask_elsewhere(directory_self self, const node_services* services,
                                             stock_command command) {
  auto promise = self->make_response_promise<T>();
  auto ticket = ++self->state.next_ticket;
  self->state.remote_waits.emplace(ticket, [promise](stock_outcome& out) mutable {
    if (auto value = std::get_if<T>(&out))
      promise.deliver(std::move(*value));
    else if (auto no = std::get_if<rejection>(&out))
      promise.deliver(to_caf_error(*no));
    else
      promise.deliver(to_caf_error({errc::internal, "a stock command got the wrong answer"}));
  });
  // A weak address: the command may outlive this node's actors (a partition stopping).
  services->remote->send(std::move(command), [addr = self->address(), ticket](stock_outcome out) {
    if (auto handle = caf::actor_cast<directory_actor>(addr))
      caf::anon_send(handle, remote_atom::value, ticket, std::move(out));
  });
  return promise;
}

directory_actor::behavior_type directory(directory_self self, const node_services* services) {
  self->state.scheduler =
      spawn_expiry_scheduler(*self, caf::actor_cast<directory_actor>(self), *services);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    auto it = st.owners.find(dm.source);
    if (it == st.owners.end())
      return;
    auto& [is_saga, id] = it->second;
    // Only forget the entry if it still names this actor (a new one may have replaced it).
    if (is_saga) {
      if (auto e = st.sagas.find(id);
          e != st.sagas.end() && e->second.handle.address() == dm.source)
        st.sagas.erase(e);
    } else if (auto e = st.inventories.find(id);
               e != st.inventories.end() && e->second.address() == dm.source) {
      st.inventories.erase(e);
    }
    st.owners.erase(it);
  });
  self->set_exit_handler([=](caf::exit_msg& em) {
    // Children are monitored, not linked: stop them explicitly (a saga or the scheduler with
    // a pending delayed_send would otherwise keep the actor system alive forever).
    for (auto& [id, s] : self->state.sagas)
      self->send_exit(s.handle, em.reason);
    for (auto& [id, a] : self->state.inventories)
      self->send_exit(a, em.reason);
    self->send_exit(self->state.scheduler, em.reason);
    self->quit(em.reason);
  });
  return {
      [=](reserve_atom a, const reserve_stock& c) -> caf::result<reserve_reply> {
        if (auto inv = inventory_of(self, c.product_id))
          return self->delegate(inv, a, c);
        if (served_elsewhere(services, c.product_id))
          return ask_elsewhere<reserve_reply>(self, services, c);
        return unknown_product_error(c.product_id);
      },
      [=](release_atom a, const release_stock& c) -> caf::result<bool> {
        if (auto inv = inventory_of(self, c.product_id))
          return self->delegate(inv, a, c);
        if (served_elsewhere(services, c.product_id))
          return ask_elsewhere<bool>(self, services, c);
        return true; // nothing was ever held here: releasing is a no-op
      },
      [=](sell_atom a, const sell_stock& c) -> caf::result<bool> {
        if (auto inv = inventory_of(self, c.product_id))
          return self->delegate(inv, a, c);
        if (served_elsewhere(services, c.product_id))
          return ask_elsewhere<bool>(self, services, c);
        return unknown_product_error(c.product_id);
      },
      [=](remote_atom, std::uint64_t ticket, stock_outcome& out) {
        auto& waits = self->state.remote_waits;
        if (auto it = waits.find(ticket); it != waits.end()) {
          it->second(out);
          waits.erase(it);
        }
      },
      [=](settle_atom a, const std::string& order_id, const std::string& product_id,
          const settle_reply& reply) {
        send_to(self, saga_of_order(self, services, order_id, saga_start::load), a, product_id,
                reply);
      },
      [=](define_atom a, const define_product& c) -> caf::result<define_reply> {
        if (!inventory_of(self, c.product_id))
          add_inventory(self, services, product_state{}, c.product_id);
        return self->delegate(inventory_of(self, c.product_id), a, c);
      },
      [=](place_atom a, const place_order& c, const place_reply& reply) {
        if (c.items.size() == 1 && c.idempotency_key.empty()) {
          // A random order id meets no other request: its product's actor places it whole.
          if (auto inv = inventory_of(self, c.items.front().product_id))
            self->send(inv, a, c, reply);
          else
            reply(place_outcome{*unknown_product(c.items.front().product_id).rejected});
          return;
        }
        order_state fresh;
        fresh.order_id = c.order_id;
        send_to(self,
                saga_for(self, services, std::move(fresh), saga_start::fresh,
                         inventories_of(self, c.items)),
                a, c, reply);
      },
      [=](command_atom a, const std::string& order_id, const order_command& c,
          const command_reply& reply) {
        send_to(self, saga_of_order(self, services, order_id, saga_start::load), a, c, reply);
      },
      [=](expire_atom a, const std::string& order_id) {
        send_to(self, saga_of_order(self, services, order_id, saga_start::load), a);
      },
      [=](passivate_atom, const std::string& order_id, std::uint64_t received) {
        auto& sagas = self->state.sagas;
        auto it = sagas.find(order_id);
        if (it == sagas.end()
            || it->second.handle.address()
                   != caf::actor_cast<caf::actor_addr>(self->current_sender()))
          return true; // not (or no longer) the live saga of that order: nothing routes to it
        if (it->second.sent != received)
          return false; // a message is on its way to it
        sagas.erase(it);
        return true;
      },
      [=](restore_atom, product_state& state) {
        auto id = state.product_id;
        if (!inventory_of(self, id))
          add_inventory(self, services, std::move(state), id);
      },
      [=](resume_atom a, order_state& state) {
        send_to(self, saga_for(self, services, std::move(state), saga_start::resume), a);
      },
      [=](tick_atom a) { self->send(self->state.scheduler, a); },
      [=](count_atom) {
        return std::make_tuple(static_cast<std::int64_t>(self->state.inventories.size()),
                               static_cast<std::int64_t>(self->state.sagas.size()));
      },
  };
}

} // namespace

directory_actor spawn_directory(caf::actor_system& system, const node_services& services) {
  return system.spawn(directory, &services);
}

} // namespace flashsale
