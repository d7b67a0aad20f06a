#include "actors/inventory_actor.hpp"

#include <caf/all.hpp>

#include "actors/durable.hpp"
#include "actors/read_models.hpp"
#include "actors/services.hpp"
#include "events/clock.hpp"
#include "events/order_view.hpp"

namespace flashsale {

namespace {

struct inventory_state {
  product_state product;
  commit_queue commits;
  static const char* name;
};

const char* inventory_state::name = "inventory";

using inventory_self = inventory_actor::stateful_pointer<inventory_state>;

struct inventory_context {
  scheduler_actor scheduler;
  const node_services* services;
};

/// Applies the decision's product events at once and commits them, with `with` in the same
/// transaction; `k` runs after they (and everything this actor decided earlier) are durable.
/// The product view is published at the commit itself: a client may read the product as
/// soon as it hears of anything that committed after it.
void commit(inventory_self self, const inventory_context& ctx, const decision& d,
            commit_queue::continuation k, append_batch with = {}) {
  auto& st = self->state;
  auto* services = ctx.services;
  // Reserves are answered before their commit; that is only sound if a failed product append
  // can never be followed by a successful one: a conflict on this stream latches the store.
  auto batch = apply_events(
      st.product, d.events, services->now->now(),
      [](product_state& p, const event& e) { apply(p, e); }, std::move(with), true);
  commit_then(
      self, st.commits, *services->store, std::move(batch), std::move(k),
      [services, view = make_product_view(st.product)] { services->products->publish(view); });
}

/// Answers the request once `d` is durable: the store's failure, the rejection, or `ok()`.
template <class T, class MakeValue>
void answer_when_durable(inventory_self self, const inventory_context& ctx, const decision& d,
                         caf::typed_response_promise<T> rp, MakeValue ok) {
  commit(self, ctx, d, [=](const std::optional<store_error>& err) mutable {
    if (err)
      rp.deliver(to_caf_error(store_unavailable(*err)));
    else if (d.rejected)
      rp.deliver(to_caf_error(*d.rejected));
    else
      rp.deliver(ok());
  });
}

/// Release or sell: answer `true` once the outcome is durable.
template <class Command>
caf::result<bool> settle(inventory_self self, const inventory_context& ctx, const Command& c) {
  auto rp = self->make_response_promise<bool>();
  answer_when_durable(self, ctx, decide(self->state.product, c), rp, [] { return true; });
  return rp;
}

/// A single-item order without a key: the reservation and the order's opening events commit
/// together, so there is nothing to compensate and no saga to run. A random order id cannot
/// meet an earlier order, so the order stream is new.
void place_whole(inventory_self self, const inventory_context& ctx, const place_order& c,
                 const place_reply& reply) {
  auto& p = self->state.product;
  const auto& item = c.items.front();
  auto now = ctx.services->now->now();
  auto reserved = decide(p, reserve_stock{p.product_id, c.order_id, c.user_id, item.quantity}, now);
  if (auto late = past_deadline(c, now)) // nobody would hear of this hold: do not make it
    reserved = decision::reject(late->code, late->message);
  if (!reserved.ok() || reserved.duplicate) {
    // Nothing written; the answer still waits for what this actor decided before (a sold
    // out rests on reservations that must be durable first).
    auto refused = reserved.rejected ? *reserved.rejected
                                     : rejection{errc::invalid_state, "order id already in use"};
    commit(self, ctx, decision{}, [reply, refused](const std::optional<store_error>& err) {
      reply(place_outcome{err ? store_unavailable(*err) : refused});
    });
    return;
  }
  confirm_reservation confirm;
  confirm.expires_at = now + p.hold_seconds * 1000;
  confirm.lines.push_back(priced_line{item.product_id, item.quantity, p.price_cents});
  auto opened = open_order(order_state{}, c, confirm, now);
  if (!opened.ok()) {
    reply(place_outcome{*opened.rejected});
    return;
  }
  order_state order;
  for (const auto& e : opened.events)
    apply(order, e, now);
  append_batch with;
  with.streams.push_back(make_stream_append(order_stream(c.order_id), 0, opened.events, now));
  auto view = order_view_json(order);
  commit(
      self, ctx, reserved,
      [reply, ctx, id = c.order_id, view,
       expires = confirm.expires_at](const std::optional<store_error>& err) {
        if (err) {
          reply(place_outcome{store_unavailable(*err)});
          return;
        }
        reply(place_outcome{placed_order{id, view}});
        schedule_expiry(ctx.scheduler, *ctx.services, id, expires);
      },
      std::move(with));
}

inventory_actor::behavior_type inventory(inventory_self self, product_state initial,
                                         inventory_context ctx) {
  self->state.product = std::move(initial); // its view was published by recovery
  return {
      [=](define_atom, const define_product& c) -> caf::result<define_reply> {
        auto rp = self->make_response_promise<define_reply>();
        bool created = !self->state.product.exists;
        answer_when_durable(self, ctx, decide(self->state.product, c), rp, [self, created] {
          return define_reply{make_product_view(self->state.product), created};
        });
        return rp;
      },
      [=](reserve_atom, const reserve_stock& c) -> caf::result<reserve_reply> {
        // Answered at once, unlike every other command here (see the file comment).
        auto d = decide(self->state.product, c, ctx.services->now->now());
        commit(self, ctx, d, [](const std::optional<store_error>&) {});
        if (d.rejected)
          return to_caf_error(*d.rejected);
        auto& p = self->state.product;
        auto it = p.holds.find(c.order_id);
        auto price = it != p.holds.end() ? it->second.unit_price_cents : p.price_cents;
        return reserve_reply{price, p.hold_seconds, !d.duplicate};
      },
      [=](release_atom, const release_stock& c) { return settle(self, ctx, c); },
      [=](sell_atom, const sell_stock& c) { return settle(self, ctx, c); },
      [=](place_atom, const place_order& c, const place_reply& reply) {
        place_whole(self, ctx, c, reply);
      },
      [=](committed_atom, std::uint64_t ticket, int code, std::string& message) {
        deliver_commit(self->state.commits, ticket, code, std::move(message));
      },
  };
}

} // namespace

inventory_actor spawn_inventory(caf::local_actor& parent, product_state initial,
                                scheduler_actor scheduler, const node_services& services) {
  return parent.spawn(inventory, std::move(initial),
                      inventory_context{std::move(scheduler), &services});
}

} // namespace flashsale
