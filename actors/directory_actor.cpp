#include "actors/directory_actor.hpp"

#include <map>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/expiry_scheduler.hpp"
#include "actors/inventory_actor.hpp"
#include "actors/messages.hpp"
#include "actors/order_saga_actor.hpp"
#include "actors/services.hpp"

namespace flashsale {

namespace {

struct directory_state {
  std::unordered_map<std::string, caf::actor> inventories;
  std::unordered_map<std::string, caf::actor> sagas;
  std::map<caf::actor_addr, std::pair<bool, std::string>> owners; ///< addr → (is saga, id)
  caf::actor scheduler;
  static const char* name;
};

const char* directory_state::name = "directory";

using directory_self = caf::stateful_actor<directory_state>;

caf::actor watch(directory_self* self, caf::actor a, bool is_saga, const std::string& id) {
  self->monitor(a);
  self->state.owners.emplace(a.address(), std::make_pair(is_saga, id));
  (is_saga ? self->state.sagas : self->state.inventories).emplace(id, a);
  return a;
}

caf::actor inventory_of(directory_self* self, const std::string& product_id) {
  auto it = self->state.inventories.find(product_id);
  return it == self->state.inventories.end() ? caf::actor{} : it->second;
}

caf::actor saga_for(directory_self* self, const node_services* services, order_state initial,
                    inventory_handles inventories = {}) {
  auto id = initial.order_id;
  if (auto it = self->state.sagas.find(id); it != self->state.sagas.end())
    return it->second;
  auto handle = caf::actor_cast<caf::actor>(self);
  return watch(self,
               spawn_order_saga(*self, std::move(initial), handle, self->state.scheduler,
                                *services, std::move(inventories)),
               true, id);
}

/// The inventory actors of an order's items, for a new saga to ask directly: the directory
/// then routes only products it does not know (the saga hears unknown_product from it).
inventory_handles inventories_of(directory_self* self, const std::vector<order_line>& items) {
  inventory_handles out;
  for (const auto& item : items)
    if (auto inv = inventory_of(self, item.product_id))
      out.emplace(item.product_id, std::move(inv));
  return out;
}

/// Forwards the current request to `dest`, which answers the original requester.
template <class... Ts>
caf::response_promise forward(directory_self* self, const caf::actor& dest, Ts&&... xs) {
  auto rp = self->make_response_promise();
  rp.delegate(dest, std::forward<Ts>(xs)...);
  return rp;
}

caf::error unknown_product(const std::string& product_id) {
  return to_caf_error(errc::unknown_product, "unknown product '" + product_id + "'");
}

caf::behavior directory(directory_self* self, const node_services* services) {
  self->state.scheduler = spawn_expiry_scheduler(*self, caf::actor_cast<caf::actor>(self),
                                                 *services);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    auto it = st.owners.find(dm.source);
    if (it == st.owners.end())
      return;
    auto& [is_saga, id] = it->second;
    auto& map = is_saga ? st.sagas : st.inventories;
    // Only forget the entry if it still names this actor (a new one may have replaced it).
    if (auto entry = map.find(id); entry != map.end() && entry->second.address() == dm.source)
      map.erase(entry);
    st.owners.erase(it);
  });
  self->set_exit_handler([=](caf::exit_msg& em) {
    // Children are monitored, not linked: stop them explicitly (a saga or the scheduler with
    // a pending delayed_send would otherwise keep the actor system alive forever).
    for (auto& [id, a] : self->state.sagas)
      self->send_exit(a, em.reason);
    for (auto& [id, a] : self->state.inventories)
      self->send_exit(a, em.reason);
    self->send_exit(self->state.scheduler, em.reason);
    self->quit(em.reason);
  });
  return {
    [=](define_atom a, const define_product& c) -> caf::result<define_reply> {
      auto inv = inventory_of(self, c.product_id);
      if (!inv)
        inv = watch(self, spawn_inventory(*self, product_state{}, *services), false,
                    c.product_id);
      return forward(self, inv, a, c);
    },
    [=](reserve_atom a, const reserve_stock& c) -> caf::result<reserve_reply> {
      if (auto inv = inventory_of(self, c.product_id))
        return forward(self, inv, a, c);
      return unknown_product(c.product_id);
    },
    [=](release_atom a, const release_stock& c) -> caf::result<bool> {
      if (auto inv = inventory_of(self, c.product_id))
        return forward(self, inv, a, c);
      return true; // nothing was ever held here: releasing is a no-op
    },
    [=](sell_atom a, const sell_stock& c) -> caf::result<bool> {
      if (auto inv = inventory_of(self, c.product_id))
        return forward(self, inv, a, c);
      return unknown_product(c.product_id);
    },
    // Order commands carry a reply_to: the saga answers the waiting caller directly.
    [=](place_atom a, const place_order& c, const reply_to& reply) {
      order_state fresh;
      fresh.order_id = c.order_id;
      self->send(saga_for(self, services, std::move(fresh), inventories_of(self, c.items)), a, c,
                 reply);
    },
    [=](command_atom a, const std::string& order_id, const order_command& c,
        const reply_to& reply) {
      auto it = self->state.sagas.find(order_id);
      if (it == self->state.sagas.end())
        reply(answer{status_not_live, "", false});
      else
        self->send(it->second, a, c, reply);
    },
    [=](revive_atom, order_state& state, const order_command& c, const reply_to& reply) {
      // A live saga knows better than the state read from the store: prefer it.
      self->send(saga_for(self, services, std::move(state)), command_atom::value, c, reply);
    },
    [=](expire_atom a, const std::string& order_id) {
      if (auto it = self->state.sagas.find(order_id); it != self->state.sagas.end())
        self->send(it->second, a);
    },
    [=](restore_atom, product_state& state) {
      auto id = state.product_id;
      if (!inventory_of(self, id))
        watch(self, spawn_inventory(*self, std::move(state), *services), false, id);
    },
    [=](resume_atom a, order_state& state) {
      self->send(saga_for(self, services, std::move(state)), a);
    },
    [=](tick_atom a) { self->send(self->state.scheduler, a); },
    [=](count_atom) {
      return std::make_tuple(static_cast<std::int64_t>(self->state.inventories.size()),
                             static_cast<std::int64_t>(self->state.sagas.size()));
    },
  };
}

} // namespace

caf::actor spawn_directory(caf::actor_system& system, const node_services& services) {
  return system.spawn(directory, &services);
}

} // namespace flashsale
