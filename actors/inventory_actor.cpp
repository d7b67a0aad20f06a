#include "actors/inventory_actor.hpp"

#include <caf/all.hpp>

#include "actors/append.hpp"
#include "events/clock.hpp"
#include "actors/messages.hpp"
#include "actors/read_models.hpp"
#include "actors/services.hpp"

namespace flashsale {

namespace {

struct inventory_state {
  product_state product;
  commit_queue commits;
  static const char* name;
};

const char* inventory_state::name = "inventory";

using inventory_self = caf::stateful_actor<inventory_state>;

/// Applies the decision's events at once, then runs `k` after they (and everything this
/// actor decided earlier) are durable; the product view is published at the commit.
void commit_decision(inventory_self* self, const node_services* services, const decision& d,
                     commit_queue::continuation k) {
  auto& st = self->state;
  if (d.events.empty()) {
    st.commits.add_barrier(std::move(k));
    return;
  }
  auto expected = st.product.version;
  for (auto& e : d.events)
    apply(st.product, e);
  append_batch batch;
  batch.streams.push_back(make_stream_append(product_stream(st.product.product_id), expected,
                                             d.events, services->now->now()));
  // Reserves are answered before their commit; that is only sound if a failed product
  // append can never be followed by a successful one: make a conflict latch the store.
  batch.streams.back().single_writer = true;
  // Published from the writer thread at the commit itself: a saga may answer its client as
  // soon as its own later event commits, and the client may read the product right away.
  append_then(self, st.commits, *services->store, std::move(batch), std::move(k),
              [services, view = make_product_view(st.product)] {
                services->products->publish(view);
              });
}

caf::error store_unavailable(const store_error& err) {
  return to_caf_error(errc::unavailable, "event store cannot write: " + err.message);
}

/// Answers the request once `d` is durable: the store's failure, the rejection, or `ok()`.
template <class T, class MakeValue>
void answer_when_durable(inventory_self* self, const node_services* services, const decision& d,
                         caf::typed_response_promise<T> rp, MakeValue ok) {
  commit_decision(self, services, d, [=](const std::optional<store_error>& err) mutable {
    if (err)
      rp.deliver(store_unavailable(*err));
    else if (d.rejected)
      rp.deliver(to_caf_error(*d.rejected));
    else
      rp.deliver(ok());
  });
}

/// Release or sell: answer `true` once the outcome is durable.
template <class Command>
caf::result<bool> settle(inventory_self* self, const node_services* services, const Command& c) {
  auto rp = self->make_response_promise<bool>();
  answer_when_durable(self, services, decide(self->state.product, c), rp, [] { return true; });
  return rp;
}

caf::behavior inventory_actor(inventory_self* self, product_state initial,
                              const node_services* services) {
  self->state.product = std::move(initial); // its view was published by recovery
  return {
    [=](define_atom, const define_product& c) -> caf::result<define_reply> {
      auto rp = self->make_response_promise<define_reply>();
      bool created = !self->state.product.exists;
      answer_when_durable(self, services, decide(self->state.product, c), rp, [self, created] {
        return define_reply{make_product_view(self->state.product), created};
      });
      return rp;
    },
    [=](reserve_atom, const reserve_stock& c) -> caf::result<reserve_reply> {
      // Answered at once, unlike every other command here: the only requester is a saga,
      // which tells a client nothing until its own outcome event has committed, and the store
      // commits in append order, so that commit implies this one (see the file comment).
      auto d = decide(self->state.product, c, services->now->now());
      commit_decision(self, services, d, [](const std::optional<store_error>&) {});
      if (d.rejected)
        return to_caf_error(*d.rejected);
      auto& p = self->state.product;
      auto it = p.holds.find(c.order_id);
      auto price = it != p.holds.end() ? it->second.unit_price_cents : p.price_cents;
      return reserve_reply{price, p.hold_seconds};
    },
    [=](release_atom, const release_stock& c) { return settle(self, services, c); },
    [=](sell_atom, const sell_stock& c) { return settle(self, services, c); },
    [=](committed_atom, std::uint64_t ticket, int code, std::string& message) {
      deliver_commit(self->state.commits, ticket, code, std::move(message));
    },
  };
}

} // namespace

caf::actor spawn_inventory(caf::local_actor& parent, product_state initial,
                           const node_services& services) {
  return parent.spawn(inventory_actor, std::move(initial), &services);
}

} // namespace flashsale
