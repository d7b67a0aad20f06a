#include "node/node.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include <caf/all.hpp>

#include "actors/directory_actor.hpp"
#include "actors/expiry_book.hpp"
#include "actors/ids.hpp"
#include "actors/order_saga_actor.hpp"
#include "actors/protocol.hpp"
#include "actors/read_models.hpp"
#include "actors/remote_stock.hpp"
#include "actors/services.hpp"
#include "events/clock.hpp"
#include "events/world.hpp"
#include "node/nats_access.hpp"
#include "node/nats_server.hpp"
#include "node/snapshotter.hpp"
#include "payments/payment_simulator.hpp"
#include "persistence/data_dir.hpp"
#include "persistence/outbox_relay.hpp"
#include "persistence/sqlite_event_store.hpp"
#include "persistence/world_recovery.hpp"

namespace flashsale {

namespace {

/// Outcome of one request to the directory.
template <class T>
struct reply {
  std::optional<T> value;
  std::optional<rejection> error;
};

/// A buyer who cannot get anything is answered on the HTTP worker, with no actor and no
/// event: an item whose product does not exist, or whose published availability is 0.
/// The views are published at each commit, so they may be a moment stale: a positive one is
/// left to the product's actor, which decides; a zero while an expiry has just returned
/// stock turns one buyer away, who may retry.
std::optional<rejection> rejected_by_availability(const product_views& views,
                                                  const std::vector<order_line>& items,
                                                  const remote_stock* remote) {
  for (const auto& item : items) {
    if (remote && remote->serves_elsewhere(item.product_id))
      continue; // its owner decides (cluster_node answered a sold-out one before it came here)
    auto available = views.available(item.product_id);
    auto d = !available        ? unknown_product(item.product_id)
             : *available <= 0 ? sold_out(item.product_id, *available)
                               : decision{};
    if (d.rejected)
      return d.rejected;
  }
  return std::nullopt;
}

/// CAF 0.17's scoped_actor makes its thread hold the system's logger (a thread_local
/// intrusive_ptr, CAF_SET_LOGGER_SYS) until the thread exits or uses another system, and
/// ~actor_system waits for the logger's destructor. A thread that outlives the node (a
/// cluster command_bus worker, an HTTP worker) and once asked would keep that wait, and the
/// node's destruction, going forever: let go of it when the scoped_actor is done.
struct release_thread_logger {
  ~release_thread_logger() { caf::logger::set_current_actor_system(nullptr); }
};

} // namespace

struct node::runtime {
  std::unique_ptr<data_dir> dir;
  std::shared_ptr<event_store> store;
  std::function<bool(const std::string&, const order_request&)> order_id_accepted;
  system_clock wall_clock;
  product_views views;
  answered_keys keys;
  expiry_book expiries;
  node_services services;
  caf::actor_system_config actor_config;
  std::unique_ptr<caf::actor_system> system;
  directory_actor directory;
  std::chrono::milliseconds request_timeout{15000};
  std::unique_ptr<snapshotter> snapshots;
  /// The store has one commit observer; it fans out to everything that follows commits.
  std::mutex listener_mutex;
  std::function<void(std::size_t, std::size_t, std::chrono::microseconds)> metrics_listener;

  void on_commit(const commit_stats& c) {
    {
      std::lock_guard<std::mutex> guard{listener_mutex};
      if (metrics_listener)
        metrics_listener(c.events, c.batches, c.duration);
    }
    if (snapshots)
      snapshots->wake(c.last_seq);
    std::lock_guard<std::mutex> guard{relay_mutex};
    if (relay)
      relay->wake();
  }

  std::unique_ptr<nats_server_supervisor> nats_server; ///< nats.url = embedded only
  std::string nats_url;                                ///< empty = off
  std::mutex relay_mutex; ///< the commit observer may be waking the relay while it stops
  std::unique_ptr<outbox_relay> relay;
  std::unique_ptr<payment_simulator> simulator;

  /// A request/response round trip for the rare admin calls (product definitions).
  template <class T, class... Ts>
  reply<T> ask(Ts&&... xs) {
    reply<T> out;
    release_thread_logger release; // destroyed after `self`
    caf::scoped_actor self{*system};
    self->request(directory, request_timeout, std::forward<Ts>(xs)...)
        .receive([&](T& value) { out.value = std::move(value); },
                 [&](caf::error& e) { out.error = to_rejection(e); });
    return out;
  }

  /// Sends a message carrying a reply_to<T> and waits for its answer: cheaper than a
  /// scoped_actor per request (no actor is created for the caller). Should the message be
  /// dropped (the node stopping), the reply_to answers `unavailable` at once.
  template <class T, class... Ts>
  T ask_with_reply(Ts&&... xs) {
    const rejection stopped{errc::unavailable, "the node stopped before answering"};
    auto slot = std::make_shared<reply_slot<T>>();
    caf::anon_send(directory, std::forward<Ts>(xs)..., reply_to<T>{slot, T{stopped}});
    if (auto a = slot->wait_for(request_timeout))
      return std::move(*a);
    return T{rejection{errc::unavailable, "the node is overloaded: no answer in time"}};
  }

  ~runtime() {
    simulator.reset(); // first: it calls the webhook, which needs the actors
    std::unique_ptr<outbox_relay> stopping;
    {
      std::lock_guard<std::mutex> guard{relay_mutex};
      stopping = std::move(relay);
    }
    stopping.reset(); // outside the lock: it may wait for the writer, whose observer takes it
    if (directory) {
      caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
      directory = nullptr;
    }
    system.reset(); // waits for every actor to finish
    if (store) {
      // Appends the stopped actors left behind are still being committed, and each commit
      // calls the observer, which touches the snapshotter: detach it and drain first.
      store->set_commit_observer(nullptr);
      store->flush();
    }
    // Nothing publishes any more: whoever follows availability (the edge's sold-out map)
    // forgets this node's products, which in cluster mode may now be answered elsewhere.
    views.withdraw();
    snapshots.reset();
    nats_server.reset(); // last: SIGTERM (then SIGKILL) to its PID
  }
};

node::node(node_config config) : config_(std::move(config)), rt_(std::make_unique<runtime>()) {}

node::~node() = default;

namespace {

void configure_scheduler(caf::actor_system_config& cfg, const node_config& config) {
  auto threads = config.actors.threads > 0 ? config.actors.threads
                                           : std::max(2u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", static_cast<int>(threads));
  // Measured (notes §1.7): requests from foreign threads through scoped_actor, which is how
  // every HTTP call enters, are ~2-3x faster with the sharing policy on this machine.
  cfg.set("scheduler.policy",
          config.actors.policy == "stealing" ? caf::atom("stealing") : caf::atom("sharing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
}

} // namespace

/// Starts the embedded server (nats.url = embedded) and the outbox relay; with "off", neither.
/// NATS being down is not an error: the relay connects when it can.
std::optional<std::string> node::start_nats(runtime& rt, const node_config& config) {
  if (config.nats.url == "off")
    return std::nullopt;
  rt.nats_url = config.nats.url;
  if (config.nats.url == "embedded") {
    nats_server_options server;
    server.data_dir = config.data_dir;
    auto started = nats_server_supervisor::start(server);
    if (auto problem = std::get_if<std::string>(&started))
      return *problem;
    rt.nats_server = std::move(std::get<0>(started));
    rt.nats_url = rt.nats_server->url();
  }
  outbox_relay_options relay;
  relay.nats_url = rt.nats_url;
  relay.security = nats_security_of(config);
  relay.stream_max_age_hours = config.nats.stream_max_age_hours;
  relay.duplicate_window_seconds = config.nats.duplicate_window_seconds;
  relay.stream_replicas = config.cluster.enabled ? config.cluster.replicas : 1;
  relay.publish_window = config.nats.publish_window;
  auto started = outbox_relay::start(*rt.store, relay);
  if (auto problem = std::get_if<std::string>(&started))
    return *problem;
  std::lock_guard<std::mutex> guard{rt.relay_mutex};
  rt.relay = std::move(std::get<0>(started));
  return std::nullopt;
}

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
  if (options.store) {
    rt.store = std::move(options.store);
  } else {
    auto opened = open_sqlite_event_store(store_opts);
    if (auto err = std::get_if<store_error>(&opened))
      return "cannot open event store " + store_opts.path + ": " + err->message;
    rt.store = std::move(std::get<0>(opened));
  }

  rt.order_id_accepted = std::move(options.order_id_accepted);
  rt.services.store = rt.store.get();
  rt.services.now = options.time ? options.time : &rt.wall_clock;
  rt.services.products = &rt.views;
  rt.services.expiries = &rt.expiries;
  rt.services.keys = &rt.keys;
  rt.services.remote = options.remote;
  if (!rt.store->visit_idempotency_keys(
          [&rt](std::string_view user, std::string_view key) { rt.keys.add(user, key); }))
    return std::string("cannot read the idempotency index of ") + store_opts.path;

  // The same apply the actors use, from the latest snapshot on; finished orders whose units
  // are settled are dropped as the fold goes, so memory follows live orders only.
  auto recovered = recover_world(log_source_of(*rt.store), recovery_options{});
  auto& w = recovered.state;
  if (!w.decode_errors.empty())
    return "event store holds events this build cannot read (first: " + w.decode_errors.front()
           + "); refusing to start rather than act on a partial state";
  if (w.last_seq != rt.store->last_seq())
    return "recovery read the log only up to seq " + std::to_string(w.last_seq) + " of "
           + std::to_string(rt.store->last_seq())
           + " (a read error?); refusing to start on a partial state";
  if (!recovered.snapshot_problem.empty())
    std::cerr << "flashsale: snapshot not used (" << recovered.snapshot_problem
              << "), recovered from the full log\n";
  if (config.store.snapshot_every > 0)
    rt.snapshots = std::make_unique<snapshotter>(*rt.store, w, config.store.snapshot_every,
                                                 options.bounded_snapshot_tail);
  rt.store->set_commit_observer([&rt](const commit_stats& c) { rt.on_commit(c); });
  if (auto problem = start_nats(rt, config))
    return *problem;

  configure_scheduler(rt.actor_config, config);
  rt.system = std::make_unique<caf::actor_system>(rt.actor_config);
  rt.directory = spawn_directory(*rt.system, rt.services);
  {
    auto orphans = orphan_holds(w); // before the products move into their actors
    if (options.order_here) {       // cluster mode: a hold for an order elsewhere is not an orphan
      std::vector<std::pair<std::string, std::string>> elsewhere;
      auto here_end = std::stable_partition(orphans.begin(), orphans.end(), [&](const auto& h) {
        return options.order_here(h.second);
      });
      elsewhere.assign(std::make_move_iterator(here_end), std::make_move_iterator(orphans.end()));
      orphans.erase(here_end, orphans.end());
      if (options.holds_elsewhere && !elsewhere.empty())
        options.holds_elsewhere(std::move(elsewhere));
    }
    release_thread_logger release; // destroyed after `sender`
    // One sender, so the directory sees the restores before the count that confirms them.
    caf::scoped_actor sender{*rt.system};
    // Views first, from the recovered state: the node is handed out (and HTTP opens) before
    // the restored inventory actors have run, and a GET must not miss a product.
    for (auto& [id, product] : w.products) {
      if (product.exists)
        rt.views.publish(make_product_view(product));
      sender->send(rt.directory, restore_atom::value, std::move(product));
    }
    // A reserved order needs no actor while it waits for payment: its expiry is armed
    // (overdue ones expire at once, in bounded batches) and a saga reads it from the log
    // when something happens to it. Unfinished work resumes now: an order placed by an older
    // node without an outcome is placed again (idempotent) or compensated; a terminal order
    // whose units are still held sells or releases them; a hold whose order never committed
    // (a multi-item placement cut off before its answer) is given back.
    for (auto& [id, order] : w.orders) {
      if (order.status == order_status::reserved && order.expires_at)
        rt.expiries.add(id, *order.expires_at);
      else
        sender->send(rt.directory, resume_atom::value, std::move(order));
    }
    for (auto& [product_id, order_id] : orphans)
      sender->send(rt.directory, release_atom::value,
                   release_stock{product_id, order_id, release_reason::compensation});
    sender->send(rt.directory, tick_atom::value); // the book holds every recovered expiry
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
  if (config_.nats.url == "off")
    return report; // nothing is ever published, so there is no lag to report
  {
    std::lock_guard<std::mutex> guard{rt_->relay_mutex};
    report.nats = rt_->relay && rt_->relay->connected() ? "connected" : "disconnected";
  }
  report.outbox_lag =
      std::max<std::int64_t>(0, rt_->store->last_seq() - rt_->store->outbox_position());
  return report;
}

node_stats node::stats() {
  node_stats s;
  release_thread_logger release; // destroyed after `self`
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
  s.snapshots_written = rt_->snapshots ? rt_->snapshots->written() : 0;
  return s;
}

void node::on_commit(commit_listener listener) {
  {
    std::lock_guard<std::mutex> guard{rt_->listener_mutex};
    rt_->metrics_listener = std::move(listener.committed);
  }
  rt_->views.watch(std::move(listener.availability));
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

read_outcome<std::optional<product_view>> node::product(const std::string& product_id) {
  return view(product_id);
}

read_outcome<std::vector<product_view>> node::products() {
  return views();
}

std::optional<product_view> node::view(const std::string& product_id) const {
  return rt_->views.find(product_id);
}

std::vector<product_view> node::views() const {
  return rt_->views.all();
}

place_outcome node::place(const order_request& request) {
  place_order cmd;
  cmd.user_id = request.user_id;
  cmd.items = request.items;
  cmd.idempotency_key = request.idempotency_key;
  cmd.deadline = request.deadline != 0 ? request.deadline
                                       : rt_->services.now->now() + rt_->request_timeout.count();
  bool keyed = !request.idempotency_key.empty();
  // Most retries come after the first answer is durable: answer them here, on the HTTP
  // worker (the index is read only when the key may have an answer). One racing its first
  // request is caught by the saga of its order id, unless the first took the last unit: it
  // may then hear sold_out; retried once the first was answered, it gets the replay.
  if (keyed && rt_->keys.maybe(cmd.user_id, cmd.idempotency_key)) {
    cmd.request_hash = request_hash(request);
    if (auto first = rt_->store->find_idempotency(cmd.user_id, cmd.idempotency_key))
      return replay_stored(*first, cmd);
  }
  if (auto early = rejected_by_availability(rt_->views, cmd.items, rt_->services.remote))
    return place_outcome{*early};
  if (keyed && cmd.request_hash.empty())
    cmd.request_hash = request_hash(request);
  // A random id never meets an earlier request; a keyed one is the same for every retry of
  // the request, so racing retries meet in one saga and one stream.
  cmd.order_id = order_id_for(request, 0);
  auto outcome = rt_->ask_with_reply<place_outcome>(place_atom::value, place_order{cmd});
  // A spent id (an earlier attempt's hold was given back, no order committed under it: a 503
  // after the hold was durable, or a multi-item rejection) would refuse every retry; the
  // request is decided afresh, as docs/API.md promises, under the key's next id. Every retry
  // walks the same ids, so racing ones still meet; a placed order's key stores its answer,
  // so a later retry replays it and never walks.
  for (int spent = 1; keyed && outcome.id_spent && spent <= max_spent_order_ids; ++spent) {
    cmd.order_id = order_id_for(request, spent);
    outcome = rt_->ask_with_reply<place_outcome>(place_atom::value, place_order{cmd});
  }
  outcome.id_spent = false;
  return outcome;
}

std::string node::order_id_for(const order_request& request, int skip) const {
  bool keyed = !request.idempotency_key.empty();
  // Every retry of a keyed request draws the same sequence, so it meets the same id; `skip`
  // passes over that many accepted ids (spent ones).
  for (int n = 0;; ++n) {
    auto id = !keyed   ? random_order_id()
              : n == 0 ? derive_order_id(request.user_id, request.idempotency_key)
                       : derive_order_id(request.user_id,
                                         request.idempotency_key + "\x1f" + std::to_string(n));
    if (rt_->order_id_accepted && !rt_->order_id_accepted(id, request))
      continue;
    if (!keyed || skip-- == 0)
      return id;
  }
}

stock_outcome node::stock(const stock_command& command) {
  auto as_outcome = [](auto r) -> stock_outcome {
    if (r.value)
      return std::move(*r.value);
    return r.error.value_or(rejection{errc::unavailable, "no answer"});
  };
  if (auto reserve = std::get_if<reserve_stock>(&command))
    return as_outcome(rt_->ask<reserve_reply>(reserve_atom::value, *reserve));
  if (auto release = std::get_if<release_stock>(&command))
    return as_outcome(rt_->ask<bool>(release_atom::value, *release));
  return as_outcome(rt_->ask<bool>(sell_atom::value, std::get<sell_stock>(command)));
}

settle_outcome node::settle(const std::string& order_id, const std::string& product_id) {
  return rt_->ask_with_reply<settle_outcome>(settle_atom::value, order_id, product_id);
}

stream_read node::order_events(const std::string& order_id) {
  return rt_->store->read_stream(order_stream(order_id));
}

order_lookup node::lookup_of(const std::vector<envelope>& events) {
  if (events.empty())
    return {};
  auto folded = fold_order_stream(events);
  if (folded.undecodable)
    return {std::nullopt,
            rejection{errc::unavailable, "event store holds an event of stream '"
                                             + events.front().stream + "' this build cannot read ("
                                             + *folded.undecodable + ")"}};
  return {std::move(folded.order), std::nullopt};
}

order_lookup node::order(const std::string& order_id) {
  auto read = order_events(order_id);
  if (read.error)
    return {std::nullopt,
            rejection{errc::unavailable, "event store cannot be read: " + read.error->message}};
  return lookup_of(read.events);
}

command_outcome node::command(const std::string& order_id, const order_command& command) {
  return rt_->ask_with_reply<command_outcome>(command_atom::value, order_id, command);
}

void node::check_expiries() {
  caf::anon_send(rt_->directory, tick_atom::value);
}

void node::flush() {
  rt_->store->flush();
}

std::optional<std::string> node::start_payment_simulator(const std::string& node_url) {
  if (rt_->simulator)
    return std::nullopt;
  if (rt_->nats_url.empty())
    return std::string("payments.simulator.enabled needs NATS, but nats.url is \"off\"");
  payment_simulator_options o;
  o.node_url = node_url;
  // It calls its own node through the node's own edge on loopback: no third party can sit on
  // that path, and the certificate (issued for the public name) need not match 127.0.0.1.
  o.verify_certificate = false;
  o.nats_url = rt_->nats_url;
  o.nats = nats_security_of(config_);
  o.webhook_secret = config_.payments.webhook_secret;
  if (o.webhook_secret.empty()) {
    // Generated by the HTTP adapter on first start (http/secrets.hpp).
    std::ifstream in(rt_->dir->file("webhook_secret"));
    std::getline(in, o.webhook_secret);
    while (!o.webhook_secret.empty()
           && std::isspace(static_cast<unsigned char>(o.webhook_secret.back())))
      o.webhook_secret.pop_back();
  }
  if (o.webhook_secret.empty())
    return "payment simulator: no webhook secret (payments.webhook_secret is empty and "
           + rt_->dir->file("webhook_secret") + " does not exist)";
  o.workers = config_.payments.simulator.workers;
  o.latency_ms = config_.payments.simulator.latency_ms;
  o.success_rate = config_.payments.simulator.success_rate;
  o.max_deliver = config_.payments.simulator.max_deliver;
  o.dlq_max_age_hours = config_.nats.stream_max_age_hours;
  auto started = payment_simulator::start(std::move(o));
  if (auto problem = std::get_if<std::string>(&started))
    return *problem;
  rt_->simulator = std::move(std::get<0>(started));
  return std::nullopt;
}

void node::stop_payment_simulator() {
  rt_->simulator.reset();
}

std::string node::nats_url() const {
  return rt_->nats_url;
}

int node::embedded_nats_pid() const {
  return rt_->nats_server ? static_cast<int>(rt_->nats_server->pid()) : -1;
}

} // namespace flashsale
