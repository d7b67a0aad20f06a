#include "actors/order_saga_actor.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/durable.hpp"
#include "actors/remote_stock.hpp"
#include "actors/services.hpp"
#include "events/clock.hpp"
#include "events/order_view.hpp"

namespace flashsale {

namespace {

struct saga_state {
  order_state order;
  commit_queue commits;
  /// Messages the directory sent this saga (place, command, expire, resume): passivation is
  /// agreed only when the directory has sent no more than that.
  std::uint64_t received = 0;
  bool passivating = false; ///< a passivate request is on its way
  bool loading = false;
  std::optional<store_error> load_failed;
  /// What arrived while the order was still being read from the log, in arrival order.
  std::vector<std::function<void()>> pending;

  // The placement under way, if any.
  std::optional<place_order> placing;
  std::vector<place_reply> waiting;         ///< its first request and duplicates, answered together
  std::optional<placed_order> first_answer; ///< once the placement is durable
  std::map<std::string, reserve_reply> reserved; ///< by product id
  /// Placing an order recovered as pending: the holds already there for its id are its own.
  bool resumed = false;
  std::optional<rejection> failure; ///< the first item that could not be held
  std::size_t outstanding = 0;      ///< inventory requests in flight
  /// An item refused because it already released a hold for this order id: the id is spent.
  bool id_spent = false;
  /// Items elsewhere whose reserve got no answer (cluster mode): the hold may exist, so a
  /// compensation gives them back too (releasing nothing is a no-op).
  std::vector<std::string> maybe_held;
  /// A hold kept elsewhere is being given back for an order that does not exist (settle):
  /// a placement of this id waits until it is, so it never meets a hold being released.
  bool settling = false;
  std::vector<std::function<void()>> after_settling;
  /// Known at spawn, used while placing; later steps (a sale, an expiry, minutes on) go
  /// through the directory, which knows a restarted inventory actor.
  inventory_handles inventories;
  static const char* name;
};

const char* saga_state::name = "order_saga";

using saga_self = saga_actor::stateful_pointer<saga_state>;

struct saga_context {
  directory_actor directory;
  scheduler_actor scheduler;
  const node_services* services;
};

timestamp_ms now_of(const saga_context& ctx) {
  return ctx.services->now->now();
}

stock_actor route(saga_self self, const saga_context& ctx, const std::string& product_id) {
  auto& known = self->state.inventories;
  auto it = known.find(product_id);
  return it == known.end() ? stock_actor{ctx.directory} : it->second;
}

/// Stops the saga once nothing is left to do and the directory agrees that it sent nothing
/// the saga has not seen; its order lives on in the log.
void maybe_passivate(saga_self self, const saga_context& ctx) {
  auto& st = self->state;
  if (st.passivating || st.loading || st.placing || st.settling || st.outstanding > 0
      || !st.commits.idle() || !st.waiting.empty() || !st.pending.empty())
    return;
  st.passivating = true;
  self->request(ctx.directory, caf::infinite, passivate_atom::value, st.order.order_id, st.received)
      .then([self, ctx](bool agreed) {
        self->state.passivating = false;
        if (agreed)
          self->quit();
        else // the directory sent more; it is handled by now (one sender: FIFO), so ask again
          maybe_passivate(self, ctx);
      });
}

/// Applies `d`'s order events now and commits them (with `idempotency`, atomically); `k` runs
/// in this actor once they are durable.
void commit(saga_self self, const saga_context& ctx, const decision& d,
            commit_queue::continuation k, std::vector<idempotency_record> idempotency = {}) {
  auto& st = self->state;
  std::function<void()> published;
  if (!idempotency.empty()) // the key's answer is visible from its commit on (read_models.hpp)
    published = [keys = ctx.services->keys, user = idempotency.front().user_id,
                 key = idempotency.front().key] { keys->add(user, key); };
  append_batch with;
  with.idempotency = std::move(idempotency);
  auto now = now_of(ctx);
  auto batch = apply_events(
      st.order, d.events, now, [now](order_state& o, const event& e) { apply(o, e, now); },
      std::move(with));
  commit_then(self, st.commits, *ctx.services->store, std::move(batch), std::move(k),
              std::move(published));
}

/// Sends one stock command per listed product; `done` runs when every reply (or error) is in.
/// No timeout: inventory actors are local and never block, and one that dies fails the
/// request at once (request_receiver_down); a timer per request would cost the CAF clock
/// thread more than everything else the request does.
template <class Atom, class MakeCommand>
void for_each_product(saga_self self, const saga_context& ctx,
                      const std::vector<std::string>& products, Atom atom, MakeCommand make,
                      std::function<void()> done) {
  auto& st = self->state;
  if (products.empty()) {
    done();
    return;
  }
  auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
  auto remaining = std::make_shared<std::size_t>(products.size());
  st.outstanding += products.size();
  for (const auto& pid : products) {
    auto finish = [self, shared_done, remaining] {
      --self->state.outstanding;
      if (--*remaining == 0)
        (*shared_done)();
    };
    self->request(route(self, ctx, pid), caf::infinite, atom, make(pid))
        .then([finish](bool) { finish(); },
              [self, finish, pid](caf::error& err) {
                // A failed sell/release leaves a held unit on a terminal order; recovery's
                // pending work finishes it at the next start.
                caf::aout(self) << "order " << self->state.order.order_id << ": stock step for "
                                << pid << " failed: " << to_rejection(err).message << "\n";
                finish();
              });
  }
}

std::vector<std::string> products_of(const std::vector<order_line>& items) {
  std::vector<std::string> out;
  for (const auto& item : items)
    out.push_back(item.product_id);
  return out;
}

void release(saga_self self, const saga_context& ctx, const std::vector<std::string>& products,
             release_reason reason, std::function<void()> done) {
  auto order_id = self->state.order.order_id;
  for_each_product(
      self, ctx, products, release_atom::value,
      [order_id, reason](const std::string& pid) {
        return release_stock{pid, order_id, reason};
      },
      std::move(done));
}

void sell_all(saga_self self, const saga_context& ctx, std::function<void()> done) {
  auto order_id = self->state.order.order_id;
  for_each_product(
      self, ctx, products_of(self->state.order.items), sell_atom::value,
      [order_id](const std::string& pid) {
        return sell_stock{pid, order_id};
      },
      std::move(done));
}

void end_placement(saga_self self, const saga_context& ctx) {
  auto& st = self->state;
  st.waiting.clear();
  st.placing.reset();
  st.reserved.clear();
  st.failure.reset();
  st.id_spent = false;
  st.maybe_held.clear();
  st.inventories.clear(); // the placement's inventory steps are over
  maybe_passivate(self, ctx);
}

/// Answers every client waiting for the placement, the first one plainly, later duplicates
/// as replays, and ends the placement.
void answer_placement(saga_self self, const saga_context& ctx, const place_outcome& outcome) {
  bool first = true;
  for (auto& reply : self->state.waiting) {
    auto copy = outcome;
    copy.replayed = !first && std::holds_alternative<placed_order>(outcome.result);
    reply(std::move(copy));
    first = false;
  }
  end_placement(self, ctx);
}

/// Gives back only the holds this placement made: a hold that already existed for this
/// order id belongs to an earlier request with the same key.
void compensate(saga_self self, const saga_context& ctx, std::function<void()> done) {
  std::vector<std::string> made = self->state.maybe_held;
  for (const auto& [pid, r] : self->state.reserved)
    if (r.fresh || self->state.resumed)
      made.push_back(pid);
  release(self, ctx, made, release_reason::compensation, std::move(done));
}

/// The key's first answer is in the index (this placement lost a race with an earlier one,
/// or the stream was written by an older node): every waiting client gets what it holds.
void answer_from_index(saga_self self, const saga_context& ctx) {
  auto c = *self->state.placing;
  auto* store = ctx.services->store;
  auto waiting = std::move(self->state.waiting);
  store->run_read([store, c, waiting] {
    auto first = store->find_idempotency(c.user_id, c.idempotency_key);
    auto outcome = first ? replay_stored(*first, c)
                         : place_outcome{rejection{errc::idempotency_key_reused,
                                                   "Idempotency-Key '" + c.idempotency_key
                                                       + "' belongs to an order placed by an "
                                                         "earlier version; use a new key"}};
    for (auto& reply : waiting)
      reply(outcome);
  });
  end_placement(self, ctx);
}

/// Nothing could be held (or only some): the holds made are given back, then the clients
/// hear why. A new order writes nothing of its own; one an older node placed (recovered as
/// pending) is closed with OrderRejected. A new order whose id is spent (an item released a
/// hold for it before: an earlier attempt with this key was answered 503 after its hold was
/// durable, and recovery gave the orphan hold back) says so, and the node decides it afresh
/// under the key's next id.
void reject_placement(saga_self self, const saga_context& ctx) {
  compensate(self, ctx, [self, ctx] {
    auto& st = self->state;
    auto why = *st.failure;
    if (st.order.status != order_status::pending) {
      answer_placement(self, ctx, place_outcome{why, false, st.id_spent});
      return;
    }
    auto d = decide(st.order, reject_order{why.code, why.message}, now_of(ctx));
    commit(self, ctx, d, [self, ctx, why](const std::optional<store_error>& err) {
      answer_placement(self, ctx, place_outcome{err ? store_unavailable(*err) : why});
    });
  });
}

/// Every item answered: commit the order whole, or compensate and reject.
void finish_placement(saga_self self, const saga_context& ctx) {
  auto& st = self->state;
  if (st.failure) {
    reject_placement(self, ctx);
    return;
  }
  auto now = now_of(ctx);
  const auto& c = *st.placing;
  confirm_reservation confirm;
  std::int64_t hold_seconds = 0;
  for (const auto& item : c.items) {
    const auto& r = st.reserved[item.product_id];
    confirm.lines.push_back(priced_line{item.product_id, item.quantity, r.unit_price_cents});
    if (hold_seconds == 0 || r.hold_seconds < hold_seconds)
      hold_seconds = r.hold_seconds;
  }
  confirm.expires_at = now + hold_seconds * 1000;
  auto d = open_order(st.order, c, confirm, now);
  if (!d.ok()) { // cannot happen for matching lines; stay safe
    st.failure = d.rejected;
    reject_placement(self, ctx);
    return;
  }
  // The answer is rendered from the state the events produce, before they commit, so the
  // key's stored first answer holds exactly what the first client receives.
  auto preview = st.order;
  for (const auto& e : d.events)
    apply(preview, e, now);
  placed_order placed{st.order.order_id, order_view_json(preview)};
  std::vector<idempotency_record> first;
  if (!c.idempotency_key.empty())
    first.push_back(idempotency_record{c.user_id, c.idempotency_key, c.request_hash, c.order_id,
                                       201, placed.view, now});
  commit(
      self, ctx, d,
      [self, ctx, placed](const std::optional<store_error>& err) {
        auto& st = self->state;
        if (err && err->code == store_errc::version_conflict) {
          // The order's stream exists: this key was used before. Its in-memory state is a
          // fiction now; give back what this request held and answer from the index.
          st.order = order_state{};
          st.order.order_id = placed.order_id;
          compensate(self, ctx, [self, ctx] { answer_from_index(self, ctx); });
          return;
        }
        if (err) {
          // Not durable, and the store refuses every write now: stop; a restart recovers.
          answer_placement(self, ctx, place_outcome{store_unavailable(*err)});
          return;
        }
        st.first_answer = placed;
        schedule_expiry(ctx.scheduler, *ctx.services, st.order.order_id, *st.order.expires_at);
        answer_placement(self, ctx, place_outcome{placed});
      },
      std::move(first));
}

void reserve_all(saga_self self, const saga_context& ctx) {
  auto& st = self->state;
  const auto& c = *st.placing;
  st.outstanding += c.items.size();
  auto remaining = std::make_shared<std::size_t>(c.items.size());
  for (const auto& item : c.items) {
    reserve_stock cmd{item.product_id, c.order_id, c.user_id, item.quantity};
    auto finish = [self, ctx, remaining] {
      --self->state.outstanding;
      if (--*remaining == 0)
        finish_placement(self, ctx);
    };
    self->request(route(self, ctx, item.product_id), caf::infinite, reserve_atom::value, cmd)
        .then(
            [self, finish, pid = item.product_id](const reserve_reply& r) {
              self->state.reserved[pid] = r;
              finish();
            },
            [self, ctx, finish, pid = item.product_id](caf::error& err) {
              auto why = to_rejection(err);
              // A product refuses to hold for an order id (invalid_state) only when it
              // released that id's hold before.
              self->state.id_spent = self->state.id_spent || why.code == errc::invalid_state;
              auto* remote = ctx.services->remote;
              if (why.code == errc::unavailable && remote && remote->serves_elsewhere(pid))
                self->state.maybe_held.push_back(pid);
              if (!self->state.failure)
                self->state.failure = std::move(why);
              finish();
            });
  }
}

void place(saga_self self, const saga_context& ctx, const place_order& c,
           const place_reply& reply) {
  auto& st = self->state;
  if (st.load_failed) {
    reply(place_outcome{
        rejection{errc::unavailable, "event store cannot be read: " + st.load_failed->message}});
    return;
  }
  if (st.settling) { // a hold of this id is being given back: decide after it is
    st.after_settling.push_back([=] { place(self, ctx, c, reply); });
    return;
  }
  if (st.placing) { // the same order id is being placed right now
    auto d = judge_retry(st.placing->request_hash, c);
    if (d.rejected)
      reply(place_outcome{*d.rejected});
    else
      st.waiting.push_back(reply); // answered with the first
    return;
  }
  auto d = decide(st.order, c, now_of(ctx));
  if (d.rejected) {
    reply(place_outcome{*d.rejected});
    maybe_passivate(self, ctx);
    return;
  }
  if (d.duplicate) { // placed before; the first answer is durable
    if (st.first_answer) {
      reply(place_outcome{*st.first_answer, true});
      maybe_passivate(self, ctx);
    } else {
      st.placing = c;
      st.waiting.push_back(reply);
      answer_from_index(self, ctx);
    }
    return;
  }
  st.placing = c;
  st.waiting.push_back(reply);
  reserve_all(self, ctx);
}

void handle_command(saga_self self, const saga_context& ctx, const order_command& cmd,
                    const command_reply& reply) {
  auto& st = self->state;
  if (st.load_failed) {
    reply(command_outcome{
        rejection{errc::unavailable, "event store cannot be read: " + st.load_failed->message}});
    return;
  }
  auto now = now_of(ctx);
  decision d;
  std::function<void(std::function<void()>)> effects; // the stock's follow-up after commit
  std::function<command_outcome()> success;
  auto items = products_of(st.order.items);
  if (auto pay = std::get_if<payment_succeeded>(&cmd)) {
    d = decide(st.order, *pay, now);
    effects = [self, ctx](std::function<void()> done) { sell_all(self, ctx, std::move(done)); };
    success = [] { return command_outcome{payment_result::applied}; };
  } else if (auto fail = std::get_if<payment_failed>(&cmd)) {
    d = decide(st.order, *fail, now);
    effects = [self, ctx, items](std::function<void()> done) {
      release(self, ctx, items, release_reason::payment_failed, std::move(done));
    };
    success = [] { return command_outcome{payment_result::applied}; };
  } else {
    d = decide(st.order, std::get<cancel_order>(cmd), now);
    effects = [self, ctx, items](std::function<void()> done) {
      release(self, ctx, items, release_reason::cancelled, std::move(done));
    };
    success = [self] { return command_outcome{self->state.order}; };
  }
  bool is_payment = !std::holds_alternative<cancel_order>(cmd);
  commit(self, ctx, d, [=](const std::optional<store_error>& err) mutable {
    if (err) {
      reply(command_outcome{store_unavailable(*err)});
      self->quit(); // the store has failed: a restart resumes from the log
      return;
    }
    if (d.duplicate && is_payment) {
      reply(command_outcome{payment_result::duplicate});
    } else if (d.rejected) {
      reply(command_outcome{*d.rejected}); // PaymentRejected, if any, is durable now
    } else {
      // The order's new status is durable; the client hears back once the stock moved too,
      // so a GET of the product right after the answer already shows it.
      effects([=]() mutable {
        reply(success());
        maybe_passivate(self, ctx);
      });
      return;
    }
    maybe_passivate(self, ctx);
  });
}

/// Why a terminal order's units go back: it expired, was cancelled (by its user, or by a
/// failed payment), or was never reserved whole.
release_reason release_reason_of(const order_state& o) {
  if (o.status == order_status::expired)
    return release_reason::expired;
  if (o.status == order_status::cancelled)
    return o.payment_id ? release_reason::payment_failed : release_reason::cancelled;
  return release_reason::compensation;
}

/// How soon the owner of a hold elsewhere asks again when the order cannot say yet.
constexpr timestamp_ms settle_retry_ms = 1000;

/// A product in another partition still holds units for this order (cluster mode; its owner
/// asks, node/cluster_node): the hold follows the order. A reserved order keeps it until its
/// expiry (asked again then); a paid one sells it; a terminal one gives it back; an order that
/// does not exist gives it back: its placement never committed (its node died, or its answer
/// was lost), and no placement of this id runs meanwhile (it waits), so none can commit on it.
void settle(saga_self self, const saga_context& ctx, const std::string& product_id,
            const settle_reply& reply) {
  auto& st = self->state;
  auto now = now_of(ctx);
  auto ask_again = [&](timestamp_ms at) {
    reply(settle_outcome{hold_verdict{false, at}});
    maybe_passivate(self, ctx);
  };
  if (st.load_failed) {
    reply(settle_outcome{
        rejection{errc::unavailable, "event store cannot be read: " + st.load_failed->message}});
    return maybe_passivate(self, ctx);
  }
  if (st.placing || st.settling || st.order.status == order_status::pending)
    return ask_again(now + settle_retry_ms); // its placement decides the hold first
  if (st.order.status == order_status::reserved)
    return ask_again(std::max(st.order.expires_at.value_or(0), now + settle_retry_ms));
  auto answer = [self, ctx, reply](bool ok, const rejection& why) {
    auto& st = self->state;
    --st.outstanding;
    if (ok)
      reply(settle_outcome{hold_verdict{true, 0}});
    else
      reply(settle_outcome{why});
    if (st.settling) {
      st.settling = false;
      auto waiting = std::move(st.after_settling);
      st.after_settling.clear();
      for (auto& run : waiting)
        run();
    }
    maybe_passivate(self, ctx);
  };
  auto on_error = [answer](caf::error& err) { answer(false, to_rejection(err)); };
  auto on_done = [answer](bool) { answer(true, {}); };
  ++st.outstanding;
  const auto& id = st.order.order_id;
  auto target = route(self, ctx, product_id);
  switch (st.order.status) {
  case order_status::paid:
    self->request(target, caf::infinite, sell_atom::value, sell_stock{product_id, id})
        .then(on_done, on_error);
    return;
  case order_status::none:
    st.settling = true;
    self->request(target, caf::infinite, release_atom::value,
                  release_stock{product_id, id, release_reason::compensation})
        .then(on_done, on_error);
    return;
  default: // expired, cancelled, rejected
    self->request(target, caf::infinite, release_atom::value,
                  release_stock{product_id, id, release_reason_of(st.order)})
        .then(on_done, on_error);
  }
}

/// How long an expiry whose order could not be read waits before it is tried again.
constexpr timestamp_ms expiry_retry_ms = 1000;

void expire(saga_self self, const saga_context& ctx) {
  auto& st = self->state;
  if (st.load_failed) {
    // The scheduler forgot it. A failed store stops the node and the next start finds it
    // overdue; but a partition's log can fail a read and still take writes (a network fault
    // timed it out), and nothing would start again: the hold would outlive its expiry
    // forever (tests/chaos seeds 1015 and 1042). So it is armed again; the saga passivates
    // meanwhile, and the next one reads the order afresh.
    schedule_expiry(ctx.scheduler, *ctx.services, st.order.order_id, now_of(ctx) + expiry_retry_ms);
    return maybe_passivate(self, ctx);
  }
  auto d = decide(st.order, expire_order{}, now_of(ctx));
  if (d.events.empty()) {
    if (st.order.status == order_status::reserved && st.order.expires_at) // fired early
      schedule_expiry(ctx.scheduler, *ctx.services, st.order.order_id, *st.order.expires_at);
    maybe_passivate(self, ctx);
    return;
  }
  commit(self, ctx, d, [self, ctx](const std::optional<store_error>& err) {
    if (err) { // the store has failed: stop, a restart resumes from the log
      self->quit();
      return;
    }
    release(self, ctx, products_of(self->state.order.items), release_reason::expired,
            [self, ctx] { maybe_passivate(self, ctx); });
  });
}

/// Continues what a crash (or a stop) cut off, from the recovered state.
void resume(saga_self self, const saga_context& ctx) {
  auto& o = self->state.order;
  auto done = [self, ctx] { maybe_passivate(self, ctx); };
  auto items = products_of(o.items);
  switch (o.status) {
  case order_status::pending: // placed by an older node, no outcome yet: place it again
    self->state.placing =
        place_order{o.order_id, o.user_id, o.items, o.idempotency_key, o.request_hash};
    self->state.resumed = true;
    reserve_all(self, ctx); // idempotent by order id: finishes or compensates
    break;
  case order_status::reserved:
    schedule_expiry(ctx.scheduler, *ctx.services, o.order_id, *o.expires_at);
    done();
    break;
  case order_status::paid:
    sell_all(self, ctx, done);
    break;
  case order_status::expired:
  case order_status::cancelled:
  case order_status::rejected:
    release(self, ctx, items, release_reason_of(o), done);
    break;
  case order_status::none:
    done();
    break;
  }
}

/// The order's stream is in: fold it, then run what waited for it.
void loaded(saga_self self, const saga_context& ctx, const stream_read& read) {
  auto& st = self->state;
  st.loading = false;
  if (read.error)
    st.load_failed = read.error;
  // Nothing else touched the order while it loaded (messages wait in `pending`): the stream
  // is all of it, unless an event cannot be read, which fails the load (one rule everywhere).
  auto folded = fold_order_stream(read.events);
  if (folded.undecodable && !st.load_failed)
    st.load_failed =
        store_error{store_errc::io_error, "order stream holds an event this build cannot read ("
                                              + *folded.undecodable + ")"};
  else if (!folded.undecodable && !read.events.empty())
    st.order = std::move(folded.order);
  auto pending = std::move(st.pending);
  st.pending.clear();
  for (auto& run : pending)
    run();
  maybe_passivate(self, ctx);
}

void start_loading(saga_self self, const saga_context& ctx) {
  self->state.loading = true;
  auto* store = ctx.services->store;
  auto stream = order_stream(self->state.order.order_id);
  auto handle = caf::actor_cast<saga_actor>(self);
  store->run_read([store, stream, handle] {
    caf::anon_send(handle, loaded_atom::value, store->read_stream(stream));
  });
}

saga_actor::behavior_type order_saga(saga_self self, order_state initial, saga_start start,
                                     saga_context ctx, inventory_handles inventories) {
  self->state.order = std::move(initial);
  self->state.inventories = std::move(inventories);
  if (start == saga_start::load)
    start_loading(self, ctx);
  // Counts what the directory sent, and holds it back while the order is being read.
  auto from_directory = [self](std::function<void()> run) {
    ++self->state.received;
    if (self->state.loading)
      self->state.pending.push_back(std::move(run));
    else
      run();
  };
  return {
      [=](place_atom, const place_order& c, const place_reply& reply) {
        from_directory([=] { place(self, ctx, c, reply); });
      },
      [=](command_atom, const order_command& c, const command_reply& reply) {
        from_directory([=] { handle_command(self, ctx, c, reply); });
      },
      [=](expire_atom) { from_directory([=] { expire(self, ctx); }); },
      [=](settle_atom, const std::string& product_id, const settle_reply& reply) {
        from_directory([=] { settle(self, ctx, product_id, reply); });
      },
      [=](resume_atom) {
        ++self->state.received;
        resume(self, ctx);
      },
      [=](loaded_atom, const stream_read& read) { loaded(self, ctx, read); },
      [=](committed_atom, std::uint64_t ticket, int code, std::string& message) {
        deliver_commit(self->state.commits, ticket, code, std::move(message));
      },
  };
}

} // namespace

place_outcome replay_stored(const idempotency_record& first, const place_order& c) {
  auto d = judge_retry(first.request_hash, c);
  if (d.rejected)
    return place_outcome{*d.rejected};
  if (first.status == 201)
    return place_outcome{placed_order{first.order_id, first.body}, true};
  // A rejection stored by an older node (today's rejections store nothing): replay it.
  auto body = nlohmann::json::parse(first.body, nullptr, false);
  rejection r{errc::internal, "stored answer"};
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    auto code = parse_errc(body["error"].value("code", ""));
    r = rejection{code.value_or(errc::internal), body["error"].value("message", "")};
  }
  return place_outcome{r, true};
}

saga_actor spawn_order_saga(caf::local_actor& parent, order_state initial, saga_start start,
                            directory_actor directory, scheduler_actor scheduler,
                            const node_services& services, inventory_handles inventories) {
  return parent.spawn(order_saga, std::move(initial), start,
                      saga_context{std::move(directory), std::move(scheduler), &services},
                      std::move(inventories));
}

} // namespace flashsale
