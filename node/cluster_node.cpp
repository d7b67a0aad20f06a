#include "node/cluster_node.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "actors/remote_stock.hpp"
#include "cluster/availability_board.hpp"
#include "cluster/command_bus.hpp"
#include "cluster/partition_store.hpp"
#include "cluster/partition_stream.hpp"
#include "cluster/partitioning.hpp"
#include "cluster/placement.hpp"
#include "cluster/snapshot_store.hpp"
#include "events/event.hpp"
#include "events/product.hpp"
#include "node/cluster_wire.hpp"
#include "node/nats_access.hpp"
#include "node/node.hpp"
#include "persistence/data_dir.hpp"
#include "persistence/read_queue.hpp"

namespace flashsale {

using nlohmann::json;
using namespace cluster_wire;
using steady = std::chrono::steady_clock;

namespace {

rejection no_owner(int p) {
  return {errc::unavailable, "partition " + std::to_string(p)
                                 + " has no owner right now (a node is taking it over); retry"};
}

rejection not_serving(int p) {
  return {errc::unavailable, "partition " + std::to_string(p)
                                 + " cannot be answered here right now (its log does not "
                                   "acknowledge this node); retry"};
}

timestamp_ms unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void say(const std::string& what) {
  std::cerr << "flashsale: cluster: " << what << std::endl;
}

/// `open()` retried for 30 s: a fresh cluster's JetStream elects its meta leader seconds after
/// it starts. Its last failure when it never succeeds.
template <class Open>
auto opened_within_30s(Open open) -> decltype(open()) {
  auto give_up = steady::now() + std::chrono::seconds(30);
  for (;;) {
    auto opened = open();
    if (!std::holds_alternative<std::string>(opened) || steady::now() >= give_up)
      return opened;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

} // namespace

struct cluster_node::impl {
  node_config config;
  int partitions = 0;
  std::unique_ptr<data_dir> dir;
  std::shared_ptr<cluster::nats_link> link;
  std::unique_ptr<cluster::partition_stream> logs;
  std::unique_ptr<cluster::snapshot_store> snapshots;
  std::unique_ptr<cluster::command_bus> bus;
  /// A saga's stock commands for products served elsewhere (carts across partitions), on
  /// subjects and workers of their own: a placement waiting on `bus` for its items' owners
  /// can never hold up the workers those owners need.
  std::unique_ptr<cluster::command_bus> stock_bus;
  /// Where those commands wait for their answers: each blocks a worker for a round trip.
  std::vector<std::unique_ptr<read_queue>> stock_workers;
  std::atomic<std::size_t> next_stock_worker{0};
  /// Every product's availability, every owner's (issue 23): sold-out buyers of a partition
  /// served elsewhere are answered here; this node's owners publish into it.
  std::unique_ptr<cluster::availability_board> board;
  // Set once start() has it; the keeper's first callbacks may come before (they wait).
  std::unique_ptr<cluster::placement> placement;
  std::mutex placement_mutex;
  std::condition_variable placement_ready;
  bool placement_set = false;
  // A forwarded command unanswered this long gets 503 + Retry-After, and the owner refuses to
  // place it after this long: twice http.shed_after_ms (a live owner sheds before).
  std::chrono::milliseconds forward_timeout{2000};

  /// One partition's way to the stock of the others (actors/remote_stock.hpp): a command runs
  /// on the node's stock workers and answers the partition's inner node while it runs; once
  /// the partition stops (`close`), answers are dropped: its actors are gone or going.
  class partition_remote final : public remote_stock {
  public:
    partition_remote(impl& node, int p) : node_(node), p_(p), gate_(std::make_shared<gate>()) {}

    bool serves_elsewhere(const std::string& product_id) const override {
      return node_.partition_of(product_id) != p_;
    }

    void send(stock_command command, std::function<void(stock_outcome)> done) override {
      auto& worker = *node_.stock_workers[node_.next_stock_worker++ % node_.stock_workers.size()];
      worker.post([&node = node_, g = gate_, c = std::move(command), done = std::move(done)] {
        if (!g->open())
          return;
        auto out = node.stock_call(c);
        std::lock_guard lock(g->mutex); // the inner node lives while the gate is open
        if (g->is_open)
          done(std::move(out));
      });
    }

    void close() {
      std::lock_guard lock(gate_->mutex);
      gate_->is_open = false;
    }

  private:
    struct gate {
      std::mutex mutex;
      bool is_open = true;
      bool open() {
        std::lock_guard lock(mutex);
        return is_open;
      }
    };
    impl& node_;
    int p_;
    std::shared_ptr<gate> gate_;
  };

  /// One partition's store and inner node, while this node is assigned it.
  struct runtime {
    std::shared_ptr<cluster::partition_store> store;
    std::unique_ptr<partition_remote> remote; ///< outlives `inner`, which uses it
    std::unique_ptr<node> inner;
    std::uint64_t epoch = 0;
  };
  /// Everything about one partition on this node. Requests hold `mutex` shared for their
  /// duration; the lifecycle takes it exclusive only to put a runtime in or take it out.
  struct slot {
    int p = 0;
    std::shared_mutex mutex;
    std::unique_ptr<runtime> running;
    std::atomic<std::uint64_t> wanted{0}; ///< the epoch the keeper assigned us; 0 = not ours
    read_queue lifecycle;                 ///< start, stop, reopen: in order, one at a time
  };
  std::vector<std::unique_ptr<slot>> slots;

  struct { // for /metrics (node_stats::cluster_part)
    std::atomic<std::int64_t> partitions_started{0}, partitions_stopped{0}, opens{0}, forwarded{0},
        forwards_unanswered{0};
    std::atomic<double> last_open_seconds{0};
  } counts;
  std::mutex listener_mutex;
  commit_listener listener;
  std::atomic<bool> leaving{false};
  std::mutex overview_mutex; ///< one read of the bucket and the streams a second, however many ask
  std::optional<cluster_overview> overview;
  steady::time_point overview_at;

  int partition_of(const std::string& id) const { return cluster::partition_of(id, partitions); }

  /// What an inner node serving a partition at `epoch` reports: its commits to the HTTP
  /// adapter's listener, its availability to the board (which publishes it to every node;
  /// the adapter's edge hears it from there, with every other owner's). A withdrawal (the
  /// partition stops) publishes nothing: the last word stays, so sold-out answers go on
  /// while the partition moves. Call under listener_mutex.
  commit_listener inner_listener(std::uint64_t epoch) {
    commit_listener l;
    l.committed = listener.committed;
    l.availability = [b = board.get(), epoch](const std::string& id,
                                              std::optional<std::int64_t> available) {
      if (available)
        b->publish(id, *available, epoch);
    };
    return l;
  }

  /// Answered here from the board, as the single node answers from its views: an unkeyed
  /// order with an item whose published availability is 0, checked in the items' order up to
  /// the first item the board has not heard of (the owner decides from there). A keyed order
  /// always crosses: its owner may hold the first answer to replay. Stale availability may turn
  /// a buyer away a moment too long; only the owner reserves, so it never sells twice.
  std::optional<rejection> sold_out_here(const order_request& request) const {
    if (!request.idempotency_key.empty())
      return std::nullopt;
    for (auto& item : request.items) {
      auto available = board->available(item.product_id);
      if (!available)
        return std::nullopt;
      if (*available <= 0)
        return sold_out(item.product_id, *available).rejected;
    }
    return std::nullopt;
  }

  cluster::placement& keeper() {
    std::unique_lock lock(placement_mutex);
    placement_ready.wait(lock, [&] { return placement_set; });
    return *placement;
  }

  // ---- requests ----

  enum class here { served, unavailable, elsewhere };

  /// Runs `f` on p's inner node if this node may answer for p now.
  template <class F>
  here locally(int p, F&& f) {
    auto& s = *slots[static_cast<std::size_t>(p)];
    std::shared_lock lock(s.mutex);
    if (!s.running) // ours but (re)opening: nobody else would answer a forward
      return s.wanted ? here::unavailable : here::elsewhere;
    if (!s.running->store->serving())
      return here::unavailable;
    f(*s.running->inner);
    return here::served;
  }

  /// The owner's answer to `request`, parsed; nullopt when nobody answered.
  std::optional<json> forward(int p, const json& request) { return forward_on(*bus, p, request); }

  /// The same on a given bus (`stock_bus` for a cart's stock commands).
  std::optional<json> forward_on(cluster::command_bus& via, int p, const json& request) {
    ++counts.forwarded;
    auto answer = via.request(p, request.dump(), forward_timeout);
    if (!answer) {
      ++counts.forwards_unanswered;
      return std::nullopt;
    }
    auto j = json::parse(*answer, nullptr, false);
    if (j.is_discarded())
      return std::nullopt;
    return j;
  }

  // ---- the owner's side: a forwarded command, run on the inner node ----

  /// A request from another node for partition p, answered by `run(inner node, request)`
  /// if p is served here now; a refusal otherwise, or for a malformed request.
  template <class Run>
  std::string answer_with(int p, const std::string& text, Run run) {
    json out;
    try {
      auto req = json::parse(text);
      auto where = locally(p, [&](node& n) { out = run(n, req); });
      if (where != here::served)
        out = {{"rejected",
                rejection_json(where == here::unavailable ? not_serving(p) : no_owner(p))}};
    } catch (const json::exception& e) {
      out = {{"rejected", rejection_json({errc::invalid_request, e.what()})}};
    }
    return out.dump();
  }

  std::string answer(int p, const std::string& text) {
    return answer_with(p, text, [&](node& n, const json& req) { return run(p, n, req); });
  }

  json run(int p, node& n, const json& req) {
    const auto op = req.at("op").get<std::string>();
    if (op == "place")
      return place_json(n.place(request_of(req)));
    if (op == "define") {
      auto r = n.define(define_of(req.at("command")));
      if (r.error)
        return {{"rejected", rejection_json(*r.error)}};
      return {{"view", view_json(*r.view)}, {"created", r.created}};
    }
    if (op == "product") {
      auto v = n.view(req.at("id").get<std::string>());
      return v ? json{{"view", view_json(*v)}} : json{{"none", true}};
    }
    if (op == "products") {
      json views = json::array();
      for (auto& v : n.views())
        if (partition_of(v.product_id) == p)
          views.push_back(view_json(v));
      return {{"views", views}};
    }
    if (op == "settle")
      return settle_outcome_json(
          n.settle(req.at("order_id").get<std::string>(), req.at("product_id").get<std::string>()));
    if (op == "order") {
      auto read = n.order_events(req.at("id").get<std::string>());
      if (read.error)
        return {{"rejected", rejection_json({errc::unavailable, read.error->message})}};
      return {{"events", events_json(read.events)}};
    }
    if (op == "command") {
      auto id = req.at("order_id").get<std::string>();
      auto outcome = n.command(id, command_of(req.at("command")));
      if (auto r = std::get_if<rejection>(&outcome))
        return {{"rejected", rejection_json(*r)}};
      if (auto pay = std::get_if<payment_result>(&outcome))
        return {{"payment", *pay == payment_result::applied ? "applied" : "duplicate"}};
      return {{"events", events_json(n.order_events(id).events)}};
    }
    return {{"rejected", rejection_json({errc::invalid_request, "unknown op " + op})}};
  }

  // ---- carts across partitions: stock commands for products elsewhere ----

  /// A saga's stock command, run by the product's owner: here, or over `stock_bus`.
  stock_outcome stock_call(const stock_command& c) {
    int q = partition_of(product_of(c));
    std::optional<stock_outcome> out;
    auto where = locally(q, [&](node& n) { out = run_stock(q, n, c); });
    if (where == here::served)
      return std::move(*out);
    if (where == here::unavailable)
      return not_serving(q);
    auto answer = forward_on(*stock_bus, q, stock_json(c));
    if (!answer)
      return no_owner(q);
    try {
      return stock_outcome_of(*answer);
    } catch (const json::exception&) {
      return no_owner(q);
    }
  }

  /// The owner's side of a stock command: its inventory decides; a hold made for an order
  /// elsewhere is watched until that order's saga settles it.
  stock_outcome run_stock(int q, node& n, const stock_command& c) {
    auto out = n.stock(c);
    const auto& order = order_of(c);
    if (partition_of(order) != q) {
      if (!std::holds_alternative<reserve_stock>(c)) {
        if (std::holds_alternative<bool>(out)) // given back or sold: nothing left to watch
          forget_hold(q, product_of(c), order);
      } else if (std::holds_alternative<reserve_reply>(out)) {
        watch_hold(q, product_of(c), order, steady::now() + settle_grace());
      }
    }
    return out;
  }

  std::string answer_stock(int q, const std::string& text) {
    return answer_with(q, text, [&](node& n, const json& req) {
      return stock_outcome_json(run_stock(q, n, stock_of(req)));
    });
  }

  // ---- carts across partitions: holds kept here for orders elsewhere ----
  //
  // A saga in partition A reserves a unit of product X in partition B; B's log has the hold,
  // A's the order. Should the order never commit (A's node died between the two, or the
  // reserve's answer was lost and the release after it too), B would hold the unit forever.
  // So B's owner watches every hold it keeps for an order elsewhere, and some seconds after
  // the reserve (once the placement must have been decided) asks the order's saga to settle
  // it: the saga gives it back if the order does not exist (and keeps a new placement of that
  // id waiting meanwhile), sells or releases it as the order ended, or says when to ask again
  // (a reserved order's expiry). A release or sale done here ends the watch. Nothing of this
  // is stored: after a take-over, recovery reports every such hold (node_options).

  struct watched_hold {
    int p = 0;
    std::string product, order;
    bool operator<(const watched_hold& o) const {
      return std::tie(p, product, order) < std::tie(o.p, o.product, o.order);
    }
  };
  std::mutex holds_mutex;
  std::condition_variable holds_changed;
  std::map<watched_hold, steady::time_point> holds_due;
  bool holds_stopping = false;
  std::thread reconciler;

  /// How long after a reserve its placement has surely been decided: the forwarded request
  /// and the saga's own remote steps each give up after forward_timeout.
  std::chrono::milliseconds settle_grace() const {
    return 2 * forward_timeout + std::chrono::seconds(1);
  }

  void watch_hold(int p, const std::string& product, const std::string& order,
                  steady::time_point due) {
    {
      std::lock_guard lock(holds_mutex);
      holds_due.emplace(watched_hold{p, product, order}, due);
    }
    holds_changed.notify_one();
  }

  void forget_hold(int p, const std::string& product, const std::string& order) {
    std::lock_guard lock(holds_mutex);
    holds_due.erase(watched_hold{p, product, order});
  }

  void reconcile() {
    std::unique_lock lock(holds_mutex);
    while (!holds_stopping) {
      auto now = steady::now();
      auto next = now + std::chrono::seconds(1);
      std::vector<watched_hold> due;
      for (auto& [hold, at] : holds_due)
        if (at <= now && due.size() < 64)
          due.push_back(hold);
        else
          next = std::min(next, at);
      if (due.empty()) {
        holds_changed.wait_until(lock, next);
        continue;
      }
      lock.unlock();
      for (auto& hold : due) {
        auto again = settle_hold(hold);
        std::lock_guard relock(holds_mutex);
        if (auto it = holds_due.find(hold); it != holds_due.end()) {
          if (again)
            it->second = *again;
          else
            holds_due.erase(it);
        }
      }
      lock.lock();
    }
  }

  /// Asks the saga of `hold.order` to settle it; when to ask again, or nullopt when done (or
  /// the partition is no longer this node's: its next owner's recovery finds the hold).
  std::optional<steady::time_point> settle_hold(const watched_hold& hold) {
    auto soon = steady::now() + std::chrono::seconds(1);
    {
      auto& s = *slots[static_cast<std::size_t>(hold.p)];
      std::shared_lock lock(s.mutex);
      if (!s.wanted)
        return std::nullopt;
      if (!s.running)
        return soon;
    }
    int a = partition_of(hold.order);
    std::optional<settle_outcome> out;
    auto where = locally(a, [&](node& n) { out = n.settle(hold.order, hold.product); });
    if (where == here::unavailable)
      return soon;
    if (where == here::elsewhere) {
      auto j =
          forward(a, {{"op", "settle"}, {"order_id", hold.order}, {"product_id", hold.product}});
      if (!j)
        return soon;
      try {
        out = settle_outcome_of(*j);
      } catch (const json::exception&) {
        return soon;
      }
    }
    auto verdict = std::get_if<hold_verdict>(&*out);
    if (!verdict)
      return soon;
    if (verdict->settled) { // not by its order's own steps: worth a line
      say("partition " + std::to_string(hold.p) + ": the hold of " + hold.product + " for order "
          + hold.order + " settled by its order's saga (in partition " + std::to_string(a) + ")");
      return std::nullopt;
    }
    auto wait = std::max<timestamp_ms>(0, verdict->recheck_at - unix_now_ms());
    return steady::now() + std::chrono::milliseconds(wait) + std::chrono::milliseconds(500);
  }

  // ---- a partition's lifecycle (each runs on its slot's queue) ----

  /// Opens p at `epoch`: claim, snapshot and tail, the inner node's recovery, the previous
  /// owner's window; then serves. Retries while the keeper still wants it (a log electing
  /// its leader does not answer for seconds).
  void start(slot& s, std::uint64_t epoch) {
    if (s.running && s.running->epoch == epoch)
      return;
    stop(s, false);
    auto began = steady::now();
    for (int attempt = 0; s.wanted == epoch && !leaving; ++attempt) {
      if (attempt > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1000, 100 * attempt)));
      if (s.wanted != epoch || leaving)
        return;
      auto opened = open(s, epoch);
      if (auto refused = std::get_if<cluster::open_refused>(&opened)) {
        say("partition " + std::to_string(s.p) + " not opened: " + refused->message);
        if (refused->superseded) {
          forget(s, epoch);
          keeper().give_back(s.p, epoch);
          return;
        }
        continue;
      }
      auto r = std::move(std::get<std::unique_ptr<runtime>>(opened));
      auto report = r->store->report();
      auto serve_after = r->store->serve_after();
      {
        std::unique_lock lock(s.mutex);
        s.running = std::move(r);
      }
      // Until the previous owner's window is over, requests here get 503 (serving() says no).
      while (steady::now() < serve_after && s.wanted == epoch && !leaving)
        std::this_thread::sleep_for(
            std::min<steady::duration>(serve_after - steady::now(), std::chrono::milliseconds(50)));
      bus->serve(s.p, [this, p = s.p](const std::string& request) { return answer(p, request); });
      stock_bus->serve(
          s.p, [this, p = s.p](const std::string& request) { return answer_stock(p, request); });
      auto took = std::chrono::duration<double>(steady::now() - began);
      ++counts.partitions_started;
      ++counts.opens;
      counts.last_open_seconds = took.count();
      say("serving partition " + std::to_string(s.p) + " (epoch " + std::to_string(epoch)
          + "): claim at " + std::to_string(report.claim_seq) + ", snapshot at "
          + std::to_string(report.snapshot_covers) + ", " + std::to_string(report.tail_records)
          + " records after it, read in " + std::to_string(report.took.count()) + " ms, serving "
          + std::to_string(static_cast<long>(took.count() * 1000)) + " ms after assignment"
          + (report.previous && !report.previous_released
                     && report.previous->node != config.cluster.node_id
                 ? " (waited out " + report.previous->node + "'s window)"
                 : ""));
      return;
    }
  }

  /// Partition logs lead from different servers, so one server's death stalls only its share:
  /// before claiming p, if the server leading p's stream leads more than its share of the
  /// partition streams, hand the leadership to the least loaded server holding a replica.
  /// Done only here, while nobody serves p, so moving a leader never costs a sale.
  void spread_leader(int p) {
    std::map<std::string, int> load;
    std::optional<cluster::partition_stream::replicas> mine;
    int streams = 0;
    for (int q = 0; q < partitions; ++q) {
      auto r = logs->placement(q);
      if (!r || r->leader.empty())
        continue;
      ++streams;
      for (auto& server : r->servers)
        load.try_emplace(server, 0);
      ++load[r->leader];
      if (q == p)
        mine = r;
    }
    if (!mine || load.empty())
      return;
    auto share = (streams + static_cast<int>(load.size()) - 1) / static_cast<int>(load.size());
    if (load[mine->leader] <= share)
      return;
    std::string target;
    for (auto& server : mine->servers)
      if (server != mine->leader && (target.empty() || load[server] < load[target]))
        target = server;
    if (!target.empty() && load[target] < share
        && logs->move_leader(p, target, config.cluster.lease_ms))
      say("partition " + std::to_string(p) + "'s log now led by " + target + " (was " + mine->leader
          + ", leading " + std::to_string(load[mine->leader]) + " of " + std::to_string(streams)
          + ")");
  }

  std::variant<std::unique_ptr<runtime>, cluster::open_refused> open(slot& s, std::uint64_t epoch) {
    spread_leader(s.p);
    cluster::partition_store_options o;
    o.partition = s.p;
    o.writer = {config.cluster.node_id, epoch};
    o.lease_ms = config.cluster.lease_ms;
    // An append unresolved for a serving window latches the store and the partition is
    // reopened from the log: its waiting buyers hear 503 then, not after a leader election.
    o.resolve_patience = std::chrono::milliseconds(config.cluster.lease_ms / 2);
    o.seen_since = [this, p = s.p](std::uint64_t seq) { return keeper().seen_since(p, seq); };
    o.on_failure = [this, p = s.p, epoch](const std::string& why, bool another) {
      auto& sl = *slots[static_cast<std::size_t>(p)];
      sl.lifecycle.post([this, &sl, epoch, why, another] { failed(sl, epoch, why, another); });
    };
    auto opened = cluster::partition_store::open(*logs, *snapshots, std::move(o));
    if (auto refused = std::get_if<cluster::open_refused>(&opened))
      return *refused;
    auto r = std::make_unique<runtime>();
    r->epoch = epoch;
    r->store = std::move(std::get<std::unique_ptr<cluster::partition_store>>(opened));
    node_config inner_config = config;
    inner_config.data_dir = dir->file("partitions/" + std::to_string(s.p));
    inner_config.nats.url = "off"; // the partition's stream is its feed: nothing to relay
    inner_config.actors.threads = 1;
    node_options options;
    options.store = r->store;
    options.bounded_snapshot_tail = true; // a take-over reads at most snapshot_every events
    options.order_id_accepted = [this](const std::string& id, const order_request& req) {
      return req.items.empty() || partition_of(id) == partition_of(req.items.front().product_id);
    };
    r->remote = std::make_unique<partition_remote>(*this, s.p);
    options.remote = r->remote.get();
    options.order_here = [this, p = s.p](const std::string& order_id) {
      return partition_of(order_id) == p;
    };
    options.holds_elsewhere = [this,
                               p = s.p](std::vector<std::pair<std::string, std::string>> held) {
      auto due = steady::now() + settle_grace();
      for (auto& [product, order] : held)
        watch_hold(p, product, order, due);
    };
    auto started = node::start(inner_config, std::move(options));
    if (auto problem = std::get_if<std::string>(&started))
      return cluster::open_refused{false, *problem};
    r->inner = std::move(std::get<0>(started));
    {
      std::lock_guard lock(listener_mutex);
      r->inner->on_commit(inner_listener(epoch));
    }
    return r;
  }

  /// Stops answering for p: its inner node stops (what it acknowledged is in the log), then,
  /// when handing over, a release record lets the next owner serve at once.
  void stop(slot& s, bool hand_over) {
    {
      std::shared_lock lock(s.mutex);
      if (!s.running)
        return;
    }
    bus->stop_serving(s.p); // no new forwarded request; then the ones in flight finish
    stock_bus->stop_serving(s.p);
    std::unique_ptr<runtime> r;
    {
      std::unique_lock lock(s.mutex); // requests on it finish first
      r = std::move(s.running);
    }
    if (!r)
      return;
    r->remote->close(); // a saga's remote step answering now would find its actors going
    r->inner.reset();
    if (hand_over) {
      // Our availability out before the release, so the next owner's puts land after ours in
      // the bucket too (watchers already order by epoch). Not on a reopen: it would delay it.
      board->flush(std::chrono::milliseconds(500));
      r->store->release();
    }
    r->store.reset();
    ++counts.partitions_stopped;
  }

  /// The store latched: another owner's record in the log (stop, give the lease back), or an
  /// append whose fate is unknown (reopen from the log, which knows).
  void failed(slot& s, std::uint64_t epoch, const std::string& why, bool another) {
    if (!s.running || s.running->epoch != epoch)
      return;
    say("partition " + std::to_string(s.p) + (another ? " fenced: " : " reopening: ") + why);
    stop(s, false);
    if (another) {
      forget(s, epoch);
      keeper().give_back(s.p, epoch);
      return;
    }
    start(s, epoch);
  }

  /// This node no longer wants p at `epoch`, unless the keeper assigned it again meanwhile:
  /// that assignment's start is queued behind us, and clearing `wanted` would cancel it,
  /// leaving p leased to this node and served by nobody (tests/chaos seed 1015).
  static void forget(slot& s, std::uint64_t epoch) { s.wanted.compare_exchange_strong(epoch, 0); }

  // ---- the keeper's callbacks (its thread: post, do not block, except drain) ----

  void assigned(int p, std::uint64_t epoch) {
    auto& s = *slots[static_cast<std::size_t>(p)];
    s.wanted = epoch;
    s.lifecycle.post([this, &s, epoch] { start(s, epoch); });
  }

  void unassigned(int p) {
    auto& s = *slots[static_cast<std::size_t>(p)];
    s.wanted = 0;
    s.lifecycle.post([this, &s] { stop(s, false); });
  }

  void drain(int p) {
    auto& s = *slots[static_cast<std::size_t>(p)];
    s.wanted = 0;
    std::promise<void> done;
    s.lifecycle.post([this, &s, &done] {
      stop(s, true);
      done.set_value();
    });
    done.get_future().wait();
  }

  std::vector<int> served() {
    std::vector<int> out;
    for (auto& s : slots) {
      std::shared_lock lock(s->mutex);
      if (s->running && s->running->store->serving())
        out.push_back(s->p);
    }
    return out;
  }
};

std::variant<std::unique_ptr<cluster_node>, std::string>
cluster_node::start(const node_config& config, const std::string& address) {
  auto self = std::make_unique<impl>();
  self->config = config;
  self->partitions = config.cluster.partitions;
  auto dir = data_dir::open(config.data_dir);
  if (auto problem = std::get_if<std::string>(&dir))
    return *problem;
  self->dir = std::move(std::get<0>(dir));
  { // Files of an earlier run (partition dirs, the former design's generations) are not state:
    // the logs are. Start from none.
    namespace fs = std::filesystem;
    std::error_code ignored;
    for (auto& entry : fs::directory_iterator(config.data_dir, ignored)) {
      auto name = entry.path().filename().string();
      if (name == "partitions" || name.rfind("generation-", 0) == 0)
        fs::remove_all(entry.path(), ignored);
    }
  }
  auto link = cluster::nats_link::connect(
      nats_link_options_of(config, "flashsale-" + config.cluster.node_id, 2000));
  if (auto problem = std::get_if<std::string>(&link))
    return "nats.url: " + *problem;
  self->link = std::get<0>(link);
  cluster::partition_stream_options so;
  so.replicas = config.cluster.replicas;
  self->logs = std::make_unique<cluster::partition_stream>(self->link, so);
  cluster::snapshot_store_options snap;
  snap.replicas = config.cluster.replicas;
  auto snapshots =
      opened_within_30s([&] { return cluster::snapshot_store::open(self->link, snap); });
  if (auto problem = std::get_if<std::string>(&snapshots))
    return "nats.url: " + *problem;
  self->snapshots = std::move(std::get<0>(snapshots));
  auto board = opened_within_30s(
      [&] { return cluster::availability_board::start(self->link, config.cluster.replicas); });
  if (auto problem = std::get_if<std::string>(&board))
    return "nats.url: " + *problem;
  self->board = std::move(std::get<0>(board));
  self->bus = cluster::command_bus::start(self->link, 8);
  self->stock_bus = cluster::command_bus::start(self->link, 8, "flashsale.stock");
  for (int i = 0; i < 8; ++i)
    self->stock_workers.push_back(std::make_unique<read_queue>());
  self->reconciler = std::thread([raw = self.get()] { raw->reconcile(); });
  for (int p = 0; p < self->partitions; ++p) {
    self->slots.push_back(std::make_unique<impl::slot>());
    self->slots.back()->p = p;
  }

  auto* raw = self.get();
  cluster::placement_options o;
  o.node_id = config.cluster.node_id;
  o.partitions = config.cluster.partitions;
  o.lease_ms = config.cluster.lease_ms;
  o.replicas = config.cluster.replicas;
  o.on_assigned = [raw](int p, std::uint64_t epoch) { raw->assigned(p, epoch); };
  o.on_unassigned = [raw](int p) { raw->unassigned(p); };
  o.drain = [raw](int p) { raw->drain(p); };
  o.log_head = [raw](int p) -> std::optional<std::uint64_t> {
    auto last = raw->logs->last_seq(p);
    if (auto seq = std::get_if<std::uint64_t>(&last))
      return *seq;
    return std::nullopt;
  };
  auto keeper = cluster::placement::start(self->link, o);
  if (auto problem = std::get_if<std::string>(&keeper))
    return *problem;
  {
    std::lock_guard lock(self->placement_mutex);
    self->placement = std::move(std::get<0>(keeper));
    self->placement_set = true;
  }
  self->placement_ready.notify_all();
  if (!address.empty())
    self->placement->set_address(address);
  return std::unique_ptr<cluster_node>(new cluster_node(std::move(self)));
}

cluster_node::cluster_node(std::unique_ptr<impl> self) : self_(std::move(self)) {}

cluster_node::~cluster_node() {
  // Hand every partition over first (stop, then a release record so the next owner serves at
  // once), with no new start racing it; then nothing can call back into the slots, the bus or
  // the keeper, and the keeper frees the leases as it leaves.
  self_->leaving = true;
  std::vector<std::future<void>> stopped;
  for (auto& s : self_->slots) {
    s->wanted = 0;
    auto done = std::make_shared<std::promise<void>>();
    stopped.push_back(done->get_future());
    s->lifecycle.post([raw = self_.get(), sp = s.get(), done] {
      raw->stop(*sp, true);
      done->set_value();
    });
  }
  for (auto& f : stopped)
    f.wait();
  {
    std::lock_guard lock(self_->holds_mutex);
    self_->holds_stopping = true;
  }
  self_->holds_changed.notify_all();
  self_->reconciler.join();
  self_->stock_workers.clear(); // the steps in progress finish; their partitions are closed
  self_->bus.reset();           // waits for the answers in progress
  self_->stock_bus.reset();
  self_->placement.reset(); // frees the leases (its drains find nothing left to stop)
  self_->slots.clear();
}

void cluster_node::announce(const std::string& address) {
  self_->placement->set_address(address);
}

health_report cluster_node::health() {
  health_report h;
  h.nats = self_->link->connected() ? "connected" : "disconnected";
  for (auto& s : self_->slots) {
    std::shared_lock lock(s->mutex);
    if (s->running)
      if (auto failure = s->running->store->failure()) {
        h.event_store_ok = false;
        h.event_store_error = failure->message;
      }
  }
  h.cluster = health_report::cluster_part{self_->config.cluster.node_id, self_->served()};
  return h;
}

node_stats cluster_node::stats() {
  node_stats s;
  for (auto& sl : self_->slots) {
    std::shared_lock lock(sl->mutex);
    if (!sl->running)
      continue;
    auto inner = sl->running->inner->stats();
    s.inventory_actors += inner.inventory_actors;
    s.saga_actors += inner.saga_actors;
    s.last_seq += inner.last_seq;
    s.snapshots_written += inner.snapshots_written;
  }
  auto& c = self_->counts;
  s.cluster = node_stats::cluster_part{
      self_->partitions, self_->served(),     c.partitions_started, c.partitions_stopped,
      c.opens,           c.last_open_seconds, c.forwarded,          c.forwards_unanswered};
  return s;
}

void cluster_node::on_commit(commit_listener listener) {
  std::lock_guard l(self_->listener_mutex);
  self_->listener = listener;
  for (auto& s : self_->slots) {
    std::shared_lock lock(s->mutex);
    if (s->running)
      s->running->inner->on_commit(self_->inner_listener(s->running->epoch));
  }
  self_->board->watch(std::move(listener.availability)); // the edge: every owner's products
}

define_result cluster_node::define(const define_product& command) {
  int p = self_->partition_of(command.product_id);
  define_result out;
  auto where = self_->locally(p, [&](node& n) { out = n.define(command); });
  if (where == impl::here::served)
    return out;
  if (where == impl::here::unavailable) {
    out.error = not_serving(p);
    return out;
  }
  auto j = self_->forward(p, {{"op", "define"}, {"command", define_json(command)}});
  if (!j)
    out.error = no_owner(p);
  else if (j->contains("rejected"))
    out.error = rejection_of((*j)["rejected"]);
  else
    out = {view_of((*j)["view"]), (*j)["created"].get<bool>(), std::nullopt};
  return out;
}

read_outcome<std::optional<product_view>> cluster_node::product(const std::string& product_id) {
  int p = self_->partition_of(product_id);
  std::optional<product_view> out;
  auto where = self_->locally(p, [&](node& n) { out = n.view(product_id); });
  if (where == impl::here::served)
    return out;
  if (where == impl::here::unavailable)
    return not_serving(p);
  auto j = self_->forward(p, {{"op", "product"}, {"id", product_id}});
  if (!j || j->contains("rejected"))
    return no_owner(p); // not a 404: the product may well exist
  if (j->contains("view"))
    out = view_of((*j)["view"]);
  return out;
}

read_outcome<std::vector<product_view>> cluster_node::products() {
  std::vector<product_view> all;
  for (int p = 0; p < self_->partitions; ++p) {
    auto where = self_->locally(p, [&](node& n) {
      for (auto& v : n.views())
        if (self_->partition_of(v.product_id) == p)
          all.push_back(v);
    });
    if (where == impl::here::served)
      continue;
    if (where == impl::here::unavailable)
      return not_serving(p); // a list missing a partition would lie
    auto j = self_->forward(p, {{"op", "products"}, {"partition", p}});
    if (!j || !j->contains("views"))
      return no_owner(p);
    for (auto& v : (*j)["views"])
      all.push_back(view_of(v));
  }
  std::sort(all.begin(), all.end(), [](const product_view& a, const product_view& b) {
    return a.product_id < b.product_id;
  });
  return all;
}

place_outcome cluster_node::place(const order_request& request) {
  if (request.items.empty()) // the HTTP validation refuses it first; a caller of node_api may not
    return place_outcome{rejection{errc::invalid_request, "an order needs at least one item"}};
  // The order's stream is in its first item's partition; its saga there reserves the items
  // other partitions serve from their owners (a cart across partitions).
  int p = self_->partition_of(request.items.front().product_id);
  place_outcome out;
  auto where = self_->locally(p, [&](node& n) { out = n.place(request); });
  if (where == impl::here::served)
    return out;
  // Served elsewhere, or here but opening: a buyer who cannot get anything hears so at once.
  if (auto early = self_->sold_out_here(request))
    return place_outcome{*early};
  if (where == impl::here::unavailable)
    return place_outcome{not_serving(p)};
  // The owner must not place it once we stopped waiting: our client hears 503 and may retry.
  auto forwarded = request;
  if (forwarded.deadline == 0)
    forwarded.deadline = unix_now_ms() + self_->forward_timeout.count();
  auto j = self_->forward(p, request_json(forwarded));
  if (!j)
    return place_outcome{no_owner(p)};
  try {
    return place_of(*j);
  } catch (const json::exception&) {
    return place_outcome{no_owner(p)};
  }
}

order_lookup cluster_node::order(const std::string& order_id) {
  int p = self_->partition_of(order_id);
  order_lookup out;
  auto where = self_->locally(p, [&](node& n) { out = n.order(order_id); });
  if (where == impl::here::served)
    return out;
  if (where == impl::here::unavailable)
    return {std::nullopt, not_serving(p)};
  auto j = self_->forward(p, {{"op", "order"}, {"id", order_id}});
  if (!j)
    return {std::nullopt, no_owner(p)};
  if (j->contains("rejected"))
    return {std::nullopt, rejection_of((*j)["rejected"])};
  return node::lookup_of(events_of((*j)["events"]));
}

command_outcome cluster_node::command(const std::string& order_id, const order_command& command) {
  int p = self_->partition_of(order_id);
  std::optional<command_outcome> out;
  auto where = self_->locally(p, [&](node& n) { out = n.command(order_id, command); });
  if (where == impl::here::served)
    return *out;
  if (where == impl::here::unavailable)
    return not_serving(p);
  auto j = self_->forward(
      p, {{"op", "command"}, {"order_id", order_id}, {"command", command_json(command)}});
  if (!j)
    return no_owner(p);
  if (j->contains("rejected"))
    return rejection_of((*j)["rejected"]);
  if (j->contains("payment"))
    return (*j)["payment"] == "applied" ? payment_result::applied : payment_result::duplicate;
  auto found = node::lookup_of(events_of((*j)["events"]));
  if (found.error)
    return *found.error;
  if (!found.state)
    return rejection{errc::not_found, "order '" + order_id + "' has no events"};
  return std::move(*found.state);
}

read_outcome<std::optional<cluster_overview>> cluster_node::cluster() {
  std::lock_guard lock(self_->overview_mutex);
  if (self_->overview && steady::now() - self_->overview_at < std::chrono::seconds(1))
    return self_->overview;
  auto read = cluster::read_cluster_view(*self_->link);
  if (auto problem = std::get_if<std::string>(&read))
    return rejection{errc::unavailable, "the placement bucket cannot be read now: " + *problem};
  auto& view = std::get<cluster::cluster_view>(read);
  cluster_overview out;
  out.node = self_->config.cluster.node_id;
  out.lease_ms = view.lease_ms;
  auto here = self_->served();
  for (int p = 0; p < self_->partitions; ++p) {
    cluster_overview::partition part;
    part.id = p;
    if (auto it = view.leases.find(p); it != view.leases.end()) {
      part.owner = it->second.node;
      part.epoch = it->second.epoch;
    }
    if (auto r = self_->logs->placement(p))
      part.log_leader = r->leader;
    if (auto seq = self_->logs->last_seq(p); std::holds_alternative<std::uint64_t>(seq))
      part.log_last_seq = std::get<std::uint64_t>(seq);
    part.served_here = std::find(here.begin(), here.end(), p) != here.end();
    out.partitions.push_back(std::move(part));
  }
  for (auto& [id, n] : view.nodes)
    out.nodes.push_back({id, n.address, n.heartbeat_ms});
  self_->overview = out;
  self_->overview_at = steady::now();
  return out;
}

} // namespace flashsale
