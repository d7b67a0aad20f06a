#include "actors/node.hpp"

#include <iostream>
#include <thread>

#include <caf/all.hpp>

#include "actors/clock.hpp"
#include "actors/directory_actor.hpp"
#include "actors/ids.hpp"
#include "actors/messages.hpp"
#include "actors/read_models.hpp"
#include "actors/services.hpp"
#include "events/world.hpp"
#include "persistence/data_dir.hpp"
#include "persistence/sqlite_event_store.hpp"

namespace flashsale {

namespace {

/// Outcome of one request to the directory.
template <class T>
struct reply {
  std::optional<T> value;
  std::optional<rejection> error;
  /// The actor it was forwarded to stopped before it could answer (a saga passivating at
  /// that instant): asking again reaches its successor.
  bool receiver_down = false;
};

constexpr int max_attempts = 5;

} // namespace

struct node::runtime {
  std::unique_ptr<data_dir> dir;
  std::unique_ptr<event_store> store;
  system_clock wall_clock;
  product_views views;
  node_services services;
  caf::actor_system_config actor_config;
  std::unique_ptr<caf::actor_system> system;
  caf::actor directory;
  std::chrono::milliseconds request_timeout{15000};

  template <class T, class... Ts>
  reply<T> ask(Ts&&... xs) {
    reply<T> out;
    caf::scoped_actor self{*system};
    self->request(directory, request_timeout, std::forward<Ts>(xs)...)
      .receive([&](T& value) { out.value = std::move(value); },
               [&](caf::error& e) {
                 out.receiver_down = e == caf::sec::request_receiver_down;
                 out.error = to_rejection(e);
               });
    return out;
  }

  ~runtime() {
    if (directory) {
      caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
      directory = nullptr;
    }
    system.reset(); // waits for every actor to finish
    if (store)
      store->flush();
  }
};

node::node(node_config config) : config_(std::move(config)), rt_(std::make_unique<runtime>()) {}

node::~node() = default;

namespace {

/// Rebuilds every product and unfinished order with the same `apply` the actors use.
std::variant<world, std::string> fold_log(event_store& store) {
  world w;
  w.forget_settled_orders = true; // finished orders are read from the log on demand
  std::int64_t after = 0;
  for (;;) {
    auto batch = store.read_from(after, 10000);
    if (batch.empty())
      break;
    for (auto& env : batch)
      apply(w, env);
    after = batch.back().seq;
  }
  if (!w.decode_errors.empty())
    return "event store holds events this build cannot read (first: " + w.decode_errors.front()
           + "); refusing to start rather than act on a partial state";
  return w;
}

void configure_scheduler(caf::actor_system_config& cfg, const node_config& config) {
  auto threads = config.actors.threads > 0
                   ? config.actors.threads
                   : std::max(2u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", static_cast<int>(threads));
  // Measured (notes §1.7): requests from foreign threads through scoped_actor, which is how
  // every HTTP call enters, are ~2-3x faster with the sharing policy on this machine.
  cfg.set("scheduler.policy",
          config.actors.policy == "stealing" ? caf::atom("stealing") : caf::atom("sharing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
}

} // namespace

std::variant<std::unique_ptr<node>, std::string> node::start(const node_config& config,
                                                            node_options options) {
  std::unique_ptr<node> self(new node(config));
  auto& rt = *self->rt_;
  auto dir = data_dir::open(config.data_dir);
  if (auto problem = std::get_if<std::string>(&dir))
    return *problem;
  rt.dir = std::move(std::get<0>(dir));

  store_options store_opts;
  store_opts.path = rt.dir->file("events.db");
  store_opts.sync = config.store.sync == "normal" ? sync_mode::normal : sync_mode::full;
  auto opened = open_sqlite_event_store(store_opts);
  if (auto err = std::get_if<store_error>(&opened))
    return "cannot open event store " + store_opts.path + ": " + err->message;
  rt.store = std::move(std::get<0>(opened));

  rt.services.store = rt.store.get();
  rt.services.now = options.time ? options.time : &rt.wall_clock;
  rt.services.products = &rt.views;

  auto folded = fold_log(*rt.store);
  if (auto problem = std::get_if<std::string>(&folded))
    return *problem;
  auto& w = std::get<world>(folded);

  configure_scheduler(rt.actor_config, config);
  rt.system = std::make_unique<caf::actor_system>(rt.actor_config);
  rt.directory = spawn_directory(*rt.system, rt.services);
  {
    // One sender, so the directory sees the restores before the count that confirms them.
    caf::scoped_actor sender{*rt.system};
    for (auto& [id, product] : w.products)
      sender->send(rt.directory, restore_atom::value, std::move(product));
    // Unfinished sagas resume now: pending ones reserve again (idempotent) or compensate,
    // reserved ones re-arm their expiry (overdue ones expire at once, in bounded batches),
    // terminal ones with units still held sell or release them.
    for (auto& [id, order] : w.orders)
      sender->send(rt.directory, resume_atom::value, std::move(order));
    sender->request(rt.directory, caf::infinite, count_atom::value)
      .receive([](std::int64_t, std::int64_t) {}, [](caf::error&) {});
  }
  return self;
}

health_report node::health() {
  health_report report;
  if (auto failure = rt_->store->failure()) {
    report.event_store_ok = false;
    report.event_store_error = failure->message;
  }
  report.nats = config_.nats.url == "off" ? "off" : "disconnected";
  return report;
}

node_stats node::stats() {
  node_stats s;
  caf::scoped_actor self{*rt_->system};
  self->request(rt_->directory, rt_->request_timeout, count_atom::value)
    .receive(
      [&](std::int64_t inventories, std::int64_t sagas) {
        s.inventory_actors = inventories;
        s.saga_actors = sagas;
      },
      [](caf::error&) {});
  s.last_seq = rt_->store->last_seq();
  s.outbox_lag = health().outbox_lag;
  return s;
}

void node::on_commit(commit_listener listener) {
  rt_->store->set_commit_observer([listener = std::move(listener)](const commit_stats& c) {
    if (listener)
      listener(c.events, c.batches, c.duration);
  });
}

define_result node::define(const define_product& command) {
  auto r = rt_->ask<define_reply>(define_atom::value, command);
  define_result out;
  if (r.value) {
    out.view = std::move(r.value->view);
    out.created = r.value->created;
  } else {
    out.error = r.error;
  }
  return out;
}

std::optional<product_view> node::product(const std::string& product_id) {
  return rt_->views.find(product_id);
}

std::vector<product_view> node::products() {
  return rt_->views.all();
}

answer node::place(const order_request& request) {
  place_order cmd;
  cmd.user_id = request.user_id;
  cmd.items = request.items;
  cmd.idempotency_key = request.idempotency_key;
  cmd.request_hash = request_hash(request);
  cmd.order_id = request.idempotency_key.empty()
                   ? random_order_id()
                   : derive_order_id(request.user_id, request.idempotency_key);
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    if (!cmd.idempotency_key.empty()) {
      if (auto first = rt_->store->find_idempotency(cmd.user_id, cmd.idempotency_key)) {
        if (first->request_hash != cmd.request_hash)
          return error_answer({errc::idempotency_key_reused,
                               "Idempotency-Key '" + cmd.idempotency_key
                                 + "' was already used with a different request"});
        return answer{first->status, first->body, true};
      }
    }
    auto r = rt_->ask<answer>(place_atom::value, cmd);
    if (r.value && r.value->status != status_retry)
      return *r.value;
    if (r.error && !r.receiver_down)
      return error_answer(*r.error);
  }
  return error_answer({errc::unavailable, "the order kept changing concurrently; retry"});
}

std::optional<order_state> node::order(const std::string& order_id) {
  auto envelopes = rt_->store->read_stream(order_stream(order_id));
  if (envelopes.empty())
    return std::nullopt;
  order_state state;
  for (auto& env : envelopes)
    if (auto decoded = decode(env); decoded.value)
      apply(state, *decoded.value, env.recorded_at);
  return state;
}

answer node::command(const std::string& order_id, const order_command& command) {
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    auto r = rt_->ask<answer>(command_atom::value, order_id, command);
    if (r.error && r.error->code == errc::not_found) {
      // Not live (finished, passivated): revive a saga from the log to decide.
      auto state = order(order_id);
      if (!state)
        return error_answer({errc::not_found, "no order '" + order_id + "'"});
      r = rt_->ask<answer>(revive_atom::value, std::move(*state), command);
    }
    if (r.value && r.value->status != status_retry)
      return *r.value;
    if (r.error && !r.receiver_down)
      return error_answer(*r.error);
  }
  return error_answer({errc::unavailable, "the order kept changing concurrently; retry"});
}

void node::check_expiries() {
  caf::anon_send(rt_->directory, tick_atom::value);
}

void node::flush() {
  rt_->store->flush();
}

} // namespace flashsale
