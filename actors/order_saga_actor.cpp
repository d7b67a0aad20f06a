#include "actors/order_saga_actor.hpp"

#include <map>

#include <caf/all.hpp>

#include "actors/append.hpp"
#include "events/clock.hpp"
#include "actors/messages.hpp"
#include "actors/services.hpp"
#include "events/order_view.hpp"

namespace flashsale {

namespace {

struct saga_state {
  order_state order;
  commit_queue commits;
  /// Clients waiting for the placement outcome: the first request and any idempotent
  /// duplicates that arrived before the outcome was durable.
  std::vector<reply_to> waiting;
  std::optional<answer> first_answer;
  /// Inventory requests in flight (reservations, compensations, sells, releases).
  std::size_t outstanding = 0;
  std::map<std::string, reserve_reply> reserved; ///< by product id
  std::optional<rejection> failure;              ///< the first item that could not be reserved
  /// Known at spawn, used while the placement runs; later steps (a sale, an expiry, minutes
  /// on) go through the directory, which knows a restarted inventory actor.
  inventory_handles inventories;
  static const char* name;
};

const char* saga_state::name = "order_saga";

using saga_self = caf::stateful_actor<saga_state>;

struct saga_context {
  caf::actor directory;
  caf::actor scheduler;
  const node_services* services;
};

/// Where inventory requests for `product_id` go: its actor, or the directory, which routes
/// (and answers unknown_product for a product without one).
const caf::actor& inventory_route(saga_self* self, const saga_context& ctx,
                                  const std::string& product_id) {
  auto& known = self->state.inventories;
  auto it = known.find(product_id);
  return it == known.end() ? ctx.directory : it->second;
}

answer applied_answer(const char* result) {
  return answer{200, std::string(R"({"result":")") + result + "\"}", false};
}

answer unavailable_answer(const store_error& err) {
  return error_answer({errc::unavailable, "event store cannot write: " + err.message});
}

/// Stops the saga once its order is terminal (or was never placed: a rejected request) and
/// nothing is in flight.
void maybe_passivate(saga_self* self) {
  auto& st = self->state;
  bool finished = is_terminal(st.order.status) || st.order.status == order_status::none;
  if (finished && st.commits.idle() && st.outstanding == 0 && st.waiting.empty())
    self->quit();
}

/// Applies `d`'s events now and appends them (plus `idempotency`, atomically); runs `k` in
/// this actor after they are durable.
void commit_decision(saga_self* self, const saga_context& ctx, const decision& d,
                     std::vector<idempotency_record> idempotency, commit_queue::continuation k) {
  auto& st = self->state;
  if (d.events.empty()) {
    st.commits.add_barrier(std::move(k));
    return;
  }
  auto now = ctx.services->now->now();
  auto expected = st.order.version;
  for (auto& e : d.events)
    apply(st.order, e, now);
  append_batch batch;
  batch.streams.push_back(make_stream_append(order_stream(st.order.order_id), expected,
                                             d.events, now));
  batch.idempotency = std::move(idempotency);
  append_then(self, st.commits, *ctx.services->store, std::move(batch), std::move(k));
}

/// Answers every waiting placement client: the first gets `a`, later duplicates a replay.
void answer_waiting(saga_self* self, const answer& a, bool durable) {
  auto& st = self->state;
  if (durable)
    st.first_answer = a;
  bool first = true;
  for (auto& reply : st.waiting) {
    auto copy = a;
    copy.replayed = !first && durable;
    reply(std::move(copy));
    first = false;
  }
  st.waiting.clear();
}

std::vector<idempotency_record> idempotency_for(const order_state& o, const answer& a,
                                                timestamp_ms now) {
  if (o.idempotency_key.empty())
    return {};
  return {idempotency_record{o.user_id, o.idempotency_key, o.request_hash, o.order_id, a.status,
                             a.body, now}};
}

/// Sends one inventory command per item; `done` runs when every reply (or error) is in.
/// No timeout: inventory actors are local and never block, and one that dies fails the
/// request at once (request_receiver_down); a timer per request would cost the CAF clock
/// thread more than everything else the request does.
template <class Atom, class MakeCommand>
void for_each_item(saga_self* self, const saga_context& ctx, Atom atom, MakeCommand make,
                   std::function<void()> done) {
  auto& st = self->state;
  auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
  auto remaining = std::make_shared<std::size_t>(st.order.items.size());
  st.outstanding += st.order.items.size();
  for (auto& item : st.order.items) {
    auto finish = [self, shared_done, remaining] {
      --self->state.outstanding;
      if (--*remaining == 0)
        (*shared_done)();
    };
    self->request(inventory_route(self, ctx, item.product_id), caf::infinite, atom, make(item))
      .then([finish](bool) { finish(); },
            [self, finish, pid = item.product_id](caf::error& err) {
              // A failed sell/release leaves a held unit on a terminal order; recovery's
              // pending_work finishes it at the next start.
              auto r = to_rejection(err);
              caf::aout(self) << "order " << self->state.order.order_id << ": inventory step for "
                              << pid << " failed: " << r.message << "\n";
              finish();
            });
  }
}

void release_all(saga_self* self, const saga_context& ctx, release_reason reason,
                 std::function<void()> done) {
  auto order_id = self->state.order.order_id;
  for_each_item(
    self, ctx, release_atom::value,
    [order_id, reason](const order_line& item) {
      return release_stock{item.product_id, order_id, reason};
    },
    std::move(done));
}

void sell_all(saga_self* self, const saga_context& ctx, std::function<void()> done) {
  auto order_id = self->state.order.order_id;
  for_each_item(
    self, ctx, sell_atom::value,
    [order_id](const order_line& item) { return sell_stock{item.product_id, order_id}; },
    std::move(done));
}

void record_rejection(saga_self* self, const saga_context& ctx) {
  auto& st = self->state;
  st.inventories.clear(); // the placement's inventory steps are over
  auto failure = *st.failure;
  auto d = decide(st.order, reject_order{failure.code, failure.message},
                  ctx.services->now->now());
  auto a = error_answer(failure);
  commit_decision(self, ctx, d, idempotency_for(st.order, a, ctx.services->now->now()),
                  [self, a](const std::optional<store_error>& err) {
                    answer_waiting(self, err ? unavailable_answer(*err) : a, !err);
                    maybe_passivate(self);
                  });
}

/// Every item answered: confirm the reservation, or compensate and reject.
void finish_placement(saga_self* self, const saga_context& ctx) {
  auto& st = self->state;
  if (st.failure) {
    release_all(self, ctx, release_reason::compensation,
                [self, ctx] { record_rejection(self, ctx); });
    return;
  }
  st.inventories.clear(); // the placement's inventory steps are over
  auto now = ctx.services->now->now();
  confirm_reservation confirm;
  std::int64_t hold_seconds = 0;
  for (auto& item : st.order.items) {
    auto& r = st.reserved[item.product_id];
    confirm.lines.push_back(priced_line{item.product_id, item.quantity, r.unit_price_cents});
    if (hold_seconds == 0 || r.hold_seconds < hold_seconds)
      hold_seconds = r.hold_seconds;
  }
  confirm.expires_at = now + hold_seconds * 1000;
  auto d = decide(st.order, confirm, now);
  if (d.rejected) { // cannot happen for a pending order with matching lines; stay safe
    st.failure = d.rejected;
    release_all(self, ctx, release_reason::compensation,
                [self, ctx] { record_rejection(self, ctx); });
    return;
  }
  // Render the answer from the state the events produce, before they are committed, so the
  // idempotency record holds exactly what the first client receives.
  auto preview = st.order;
  for (auto& e : d.events)
    apply(preview, e, now);
  answer created{201, order_view_json(preview), false};
  commit_decision(self, ctx, d, idempotency_for(st.order, created, now),
                  [self, ctx, created](const std::optional<store_error>& err) {
                    if (err) {
                      // Not durable: this saga's in-memory "reserved" is a fiction, and the
                      // store refuses every write now. Stop; a restart recovers the truth.
                      answer_waiting(self, unavailable_answer(*err), false);
                      self->quit();
                      return;
                    }
                    answer_waiting(self, created, true);
                    auto& o = self->state.order;
                    caf::anon_send(ctx.scheduler, schedule_atom::value, o.order_id,
                                   *o.expires_at);
                  });
}

void reserve_all(saga_self* self, const saga_context& ctx) {
  auto& st = self->state;
  st.outstanding += st.order.items.size();
  auto remaining = std::make_shared<std::size_t>(st.order.items.size());
  for (auto& item : st.order.items) {
    reserve_stock cmd{item.product_id, st.order.order_id, st.order.user_id, item.quantity};
    auto finish = [self, ctx, remaining] {
      --self->state.outstanding;
      if (--*remaining == 0)
        finish_placement(self, ctx);
    };
    self->request(inventory_route(self, ctx, item.product_id), caf::infinite,
                  reserve_atom::value, cmd)
      .then(
        [self, finish, pid = item.product_id](const reserve_reply& r) {
          self->state.reserved[pid] = r;
          finish();
        },
        [self, finish](caf::error& err) {
          if (!self->state.failure)
            self->state.failure = to_rejection(err);
          finish();
        });
  }
}

void place(saga_self* self, const saga_context& ctx, const place_order& c, const reply_to& rp) {
  auto& st = self->state;
  auto d = decide(st.order, c, ctx.services->now->now());
  if (d.rejected) {
    st.commits.add_barrier([self, rp, r = *d.rejected](const std::optional<store_error>&) {
      rp(error_answer(r));
      maybe_passivate(self);
    });
    return;
  }
  if (d.duplicate) {
    if (st.first_answer) {
      auto replay = *st.first_answer;
      replay.replayed = true;
      st.commits.add_barrier(
        [rp, replay](const std::optional<store_error>&) { rp(replay); });
    } else if (st.order.status == order_status::pending) {
      st.waiting.push_back(rp); // the outcome is still to come: answer it with the first
    } else {
      // The outcome is durable but this saga did not produce it (revived from the log for
      // a late payment): the idempotency index holds the first answer, so look there again.
      rp(answer{status_retry, "", false});
      maybe_passivate(self);
    }
    return;
  }
  st.waiting.push_back(rp);
  if (c.idempotency_key.empty()) {
    // A random order id cannot collide, so reserve at once. Nothing is acknowledged before
    // the outcome event commits, and the store commits in append order: by then OrderPlaced
    // is durable too (or the store has failed and every later append fails with it).
    commit_decision(self, ctx, d, {}, [](const std::optional<store_error>&) {});
    reserve_all(self, ctx);
    return;
  }
  // A keyed order's id is derived from (user, key): another saga may have placed it already
  // (a retry racing a passivated saga). OrderPlaced must then fail on the stream's expected
  // version before any unit is reserved, so nothing needs undoing and the caller re-reads
  // the idempotency index.
  commit_decision(self, ctx, d, {}, [self, ctx](const std::optional<store_error>& err) {
    if (err) {
      auto a = err->code == store_errc::version_conflict ? answer{status_retry, "", false}
                                                         : unavailable_answer(*err);
      answer_waiting(self, a, false);
      self->quit();
      return;
    }
    reserve_all(self, ctx);
  });
}

void handle_command(saga_self* self, const saga_context& ctx, const order_command& cmd,
                    const reply_to& rp) {
  auto& st = self->state;
  auto now = ctx.services->now->now();
  decision d;
  std::function<void(std::function<void()>)> effects; // inventory follow-up after commit
  std::function<answer()> success;
  if (auto pay = std::get_if<payment_succeeded>(&cmd)) {
    d = decide(st.order, *pay, now);
    effects = [self, ctx](std::function<void()> done) { sell_all(self, ctx, std::move(done)); };
    success = [] { return applied_answer("applied"); };
  } else if (auto fail = std::get_if<payment_failed>(&cmd)) {
    d = decide(st.order, *fail, now);
    effects = [self, ctx](std::function<void()> done) {
      release_all(self, ctx, release_reason::payment_failed, std::move(done));
    };
    success = [] { return applied_answer("applied"); };
  } else {
    d = decide(st.order, std::get<cancel_order>(cmd), now);
    effects = [self, ctx](std::function<void()> done) {
      release_all(self, ctx, release_reason::cancelled, std::move(done));
    };
    success = [self] { return answer{200, order_view_json(self->state.order), false}; };
  }
  bool is_payment = !std::holds_alternative<cancel_order>(cmd);
  commit_decision(self, ctx, d, {}, [=](const std::optional<store_error>& err) mutable {
    if (err) {
      rp(err->code == store_errc::version_conflict ? answer{status_retry, "", false}
                                                   : unavailable_answer(*err));
      self->quit();
      return;
    }
    if (d.duplicate && is_payment) {
      rp(applied_answer("duplicate"));
    } else if (d.rejected) {
      rp(error_answer(*d.rejected)); // PaymentRejected, if any, is durable now
    } else {
      // The order's new status is durable; the client hears back once the stock moved too,
      // so a GET of the product right after the answer already shows it.
      effects([=]() mutable {
        rp(success());
        maybe_passivate(self);
      });
      return;
    }
    maybe_passivate(self);
  });
}

void expire(saga_self* self, const saga_context& ctx) {
  auto& st = self->state;
  auto d = decide(st.order, expire_order{}, ctx.services->now->now());
  if (d.events.empty()) {
    if (st.order.status == order_status::reserved && st.order.expires_at) // fired early
      caf::anon_send(ctx.scheduler, schedule_atom::value, st.order.order_id, *st.order.expires_at);
    maybe_passivate(self);
    return;
  }
  commit_decision(self, ctx, d, {}, [self, ctx](const std::optional<store_error>& err) {
    if (err) { // the store has failed: stop, a restart resumes from the log
      self->quit();
      return;
    }
    release_all(self, ctx, release_reason::expired, [self] { maybe_passivate(self); });
  });
}

/// Continues a saga that a crash (or a stop) cut off, from its recovered state.
void resume(saga_self* self, const saga_context& ctx) {
  auto& o = self->state.order;
  auto done = [self] { maybe_passivate(self); };
  switch (o.status) {
    case order_status::pending:
      reserve_all(self, ctx); // idempotent by order id: finishes or compensates
      break;
    case order_status::reserved:
      caf::anon_send(ctx.scheduler, schedule_atom::value, o.order_id, *o.expires_at);
      break;
    case order_status::paid:
      sell_all(self, ctx, done);
      break;
    case order_status::expired:
      release_all(self, ctx, release_reason::expired, done);
      break;
    case order_status::cancelled:
      release_all(self, ctx,
                  o.payment_id ? release_reason::payment_failed : release_reason::cancelled,
                  done);
      break;
    case order_status::rejected:
      release_all(self, ctx, release_reason::compensation, done);
      break;
    case order_status::none:
      self->quit();
      break;
  }
}

caf::behavior order_saga(saga_self* self, order_state initial, saga_context ctx,
                         inventory_handles inventories) {
  self->state.order = std::move(initial);
  self->state.inventories = std::move(inventories);
  return {
    [=](place_atom, const place_order& c, const reply_to& reply) { place(self, ctx, c, reply); },
    [=](command_atom, const order_command& c, const reply_to& reply) {
      handle_command(self, ctx, c, reply);
    },
    [=](expire_atom) { expire(self, ctx); },
    [=](resume_atom) { resume(self, ctx); },
    [=](committed_atom, std::uint64_t ticket, int code, std::string& message) {
      deliver_commit(self->state.commits, ticket, code, std::move(message));
    },
  };
}

} // namespace

caf::actor spawn_order_saga(caf::local_actor& parent, order_state initial, caf::actor directory,
                            caf::actor scheduler, const node_services& services,
                            inventory_handles inventories) {
  return parent.spawn(order_saga, std::move(initial),
                      saga_context{std::move(directory), std::move(scheduler), &services},
                      std::move(inventories));
}

} // namespace flashsale
