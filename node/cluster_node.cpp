#include "node/cluster_node.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "cluster/command_bus.hpp"
#include "node/cluster_wire.hpp"
#include "node/nats_access.hpp"
#include "cluster/partition_owner.hpp"
#include "cluster/partitioning.hpp"
#include "cluster/replicated_store.hpp"
#include "events/event.hpp"
#include "node/node.hpp"
#include "persistence/data_dir.hpp"
#include "persistence/sqlite_event_store.hpp"

namespace flashsale {

using nlohmann::json;
using namespace cluster_wire;

namespace {

rejection no_owner(int p) {
  return {errc::unavailable, "partition " + std::to_string(p)
                               + " has no owner right now (a node is taking it over); retry"};
}

} // namespace

struct cluster_node::impl {
  node_config config;
  int partitions = 0;
  std::unique_ptr<data_dir> dir;
  std::shared_ptr<cluster::nats_link> link;
  std::unique_ptr<cluster::partition_log> log; // for reading logs back at a rebuild
  std::unique_ptr<cluster::partition_owner> owner;
  std::unique_ptr<cluster::command_bus> bus;
  // A forwarded command unanswered this long gets 503 + Retry-After (the owner may have died
  // with it; a keyed retry is safe). Twice http.shed_after_ms: a live owner sheds before.
  std::chrono::milliseconds forward_timeout{2000};

  // The inner node and the partitions it was rebuilt with. Calls hold the lock shared for
  // their duration; a rebuild holds it exclusive, so no call runs on a half-built node.
  std::shared_mutex inner_mutex;
  std::unique_ptr<node> inner;
  std::set<int> inner_partitions;
  int generation = 0;
  struct { // for /metrics (node_stats::cluster_part)
    std::atomic<std::int64_t> partitions_started{0}, partitions_stopped{0}, rebuilds{0},
      forwarded{0}, forwards_unanswered{0};
    std::atomic<double> last_rebuild_seconds{0};
  } counts;
  std::mutex listener_mutex;
  commit_listener listener;

  std::mutex rebuild_mutex;
  std::condition_variable rebuild_wanted;
  bool dirty = false, stopping = false;
  // Set (under rebuild_mutex) once `owner` is: its first callbacks can come before start()
  // has stored it, and a rebuild reads it.
  bool owner_ready = false;
  std::thread rebuilder;

  int partition_of(const std::string& id) const { return cluster::partition_of(id, partitions); }

  void want_rebuild() {
    {
      std::lock_guard lock(rebuild_mutex);
      dirty = true;
    }
    rebuild_wanted.notify_all();
  }

  /// Runs `f` on the inner node if this node serves `p` now; false otherwise.
  template <class F>
  bool locally(int p, F&& f) {
    std::shared_lock lock(inner_mutex);
    if (!inner || !inner_partitions.count(p))
      return false;
    f(*inner);
    return true;
  }

  /// The owner's answer to `request`, parsed; nullopt when nobody answered.
  std::optional<json> forward(int p, const json& request) {
    ++counts.forwarded;
    auto answer = bus->request(p, request.dump(), forward_timeout);
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

  std::string answer(int p, const std::string& text) {
    auto req = json::parse(text, nullptr, false);
    json out;
    try {
      bool served = locally(p, [&](node& n) { out = run(n, req); });
      if (!served)
        out = {{"rejected", rejection_json(no_owner(p))}};
    } catch (const json::exception& e) {
      out = {{"rejected", rejection_json({errc::invalid_request, e.what()})}};
    }
    return out.dump();
  }

  json run(node& n, const json& req) {
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
      auto v = n.product(req.at("id").get<std::string>());
      return v ? json{{"view", view_json(*v)}} : json{{"none", true}};
    }
    if (op == "products") {
      json views = json::array();
      for (auto& v : n.products())
        if (partition_of(v.product_id) == req.at("partition").get<int>())
          views.push_back(view_json(v));
      return {{"views", views}};
    }
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
      if (auto p = std::get_if<payment_result>(&outcome))
        return {{"payment", *p == payment_result::applied ? "applied" : "duplicate"}};
      return {{"events", events_json(n.order_events(id).events)}};
    }
    return {{"rejected", rejection_json({errc::invalid_request, "unknown op " + op})}};
  }

  // ---- take-over: rebuild the inner node from the logs of what we serve ----

  void rebuild_loop() {
    std::unique_lock lock(rebuild_mutex);
    while (!stopping) {
      rebuild_wanted.wait(lock, [&] { return stopping || (dirty && owner_ready); });
      if (stopping)
        return;
      lock.unlock();
      // Lease changes come in bursts (a dead node's partitions, a rebalance): let a burst,
      // claims included, settle into one rebuild.
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
      for (int i = 0; i < 40 && owner->claims_pending(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      lock.lock();
      dirty = false; // what changed until now, this rebuild sees
      lock.unlock();
      auto began = std::chrono::steady_clock::now();
      if (auto problem = rebuild()) {
        std::cerr << "flashsale: cluster: rebuild failed (" << *problem << "); retrying\n";
        std::this_thread::sleep_for(std::chrono::seconds(1));
        lock.lock();
        dirty = true;
        continue;
      }
      auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - began);
      ++counts.rebuilds;
      counts.last_rebuild_seconds = took.count();
      std::cout << "flashsale: cluster: serving " << served_count() << " partition(s), generation "
                << generation << ", rebuilt in "
                << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms"
                << std::endl;
      lock.lock();
    }
  }

  std::size_t served_count() {
    std::shared_lock lock(inner_mutex);
    return inner_partitions.size();
  }

  /// Retires the inner node. The lock is held only to take it out of service (calls on it
  /// finish first; later ones find no node and get 503 at once), not while it flushes.
  void retire_inner() {
    std::unique_ptr<node> retired;
    {
      std::unique_lock lock(inner_mutex);
      for (int p : inner_partitions)
        bus->stop_serving(p);
      retired = std::move(inner);
      inner_partitions.clear();
    }
    retired.reset(); // its store flushes: what it committed is replicated or failed
  }

  /// Builds the inner node anew for what we serve now. Slow (it reads whole logs, which can
  /// take seconds while a stream elects a leader), so it runs without the lock: requests
  /// meanwhile get 503 at once instead of waiting for it.
  std::optional<std::string> rebuild() {
    auto want = owner->serving();
    retire_inner();
    namespace fs = std::filesystem;
    std::error_code ignored;
    fs::remove_all(dir->file("generation-" + std::to_string(generation)), ignored);
    if (want.empty())
      return std::nullopt;
    ++generation;
    auto gen_dir = dir->file("generation-" + std::to_string(generation));
    fs::remove_all(gen_dir, ignored);
    fs::create_directories(gen_dir);
    store_options so;
    so.path = gen_dir + "/events.db";
    so.sync = config.store.sync == "normal" ? sync_mode::normal : sync_mode::full;
    auto opened = open_sqlite_event_store(so);
    if (auto e = std::get_if<store_error>(&opened))
      return "cannot open " + so.path + ": " + e->message;
    auto local = std::move(std::get<0>(opened));
    for (auto& [p, epoch] : want) {
      auto records = log->read(p);
      if (auto e = std::get_if<std::string>(&records))
        return *e;
      if (auto problem = cluster::import_partition_log(
            std::get<std::vector<cluster::partition_record>>(records), *local))
        return "partition " + std::to_string(p) + ": " + *problem;
    }
    // What the logs held was published by its first owner's outbox already.
    std::promise<void> positioned;
    local->set_outbox_position(local->last_seq(), [&](auto) { positioned.set_value(); });
    positioned.get_future().wait();

    node_config inner_config = config;
    inner_config.data_dir = gen_dir;
    node_options options;
    options.store = std::make_unique<cluster::replicated_event_store>(
      std::move(local), *owner, partitions, [this] { want_rebuild(); });
    options.order_id_accepted = [this](const std::string& id, const order_request& r) {
      return r.items.empty() || partition_of(id) == partition_of(r.items.front().product_id);
    };
    auto started = node::start(inner_config, std::move(options));
    if (auto problem = std::get_if<std::string>(&started))
      return *problem;
    std::unique_lock lock(inner_mutex);
    inner = std::move(std::get<0>(started));
    {
      std::lock_guard l(listener_mutex);
      if (listener)
        inner->on_commit(listener);
    }
    for (auto& [p, epoch] : want) {
      inner_partitions.insert(p);
      bus->serve(p, [this, p](const std::string& request) { return answer(p, request); });
    }
    return std::nullopt;
  }
};

std::variant<std::unique_ptr<cluster_node>, std::string>
cluster_node::start(const node_config& config) {
  auto self = std::make_unique<impl>();
  self->config = config;
  self->partitions = config.cluster.partitions;
  auto dir = data_dir::open(config.data_dir);
  if (auto problem = std::get_if<std::string>(&dir))
    return *problem;
  self->dir = std::move(std::get<0>(dir));
  { // A former run's generations are stale copies of the logs: start from none, so the newest
    // generation in data_dir is always the running node's (what `flashsale replay` reads).
    namespace fs = std::filesystem;
    std::error_code ignored;
    for (auto& entry : fs::directory_iterator(config.data_dir, ignored))
      if (entry.path().filename().string().rfind("generation-", 0) == 0)
        fs::remove_all(entry.path(), ignored);
  }
  auto link = cluster::nats_link::connect(
    nats_link_options_of(config, "flashsale-" + config.cluster.node_id, 2000));
  if (auto problem = std::get_if<std::string>(&link))
    return "nats.url: " + *problem;
  self->link = std::get<0>(link);
  cluster::partition_log_options lo;
  lo.replicas = config.cluster.replicas;
  auto log = cluster::partition_log::open(self->link, lo);
  if (auto problem = std::get_if<std::string>(&log))
    return "nats.url: " + *problem;
  self->log = std::move(std::get<0>(log));
  self->bus = cluster::command_bus::start(self->link, 8);
  auto* raw = self.get();
  self->rebuilder = std::thread([raw] { raw->rebuild_loop(); });

  cluster::partition_owner_options o;
  o.lease.node_id = config.cluster.node_id;
  o.lease.partitions = config.cluster.partitions;
  o.lease.lease_ms = config.cluster.lease_ms;
  o.lease.replicas = config.cluster.replicas;
  o.log = lo;
  o.read_history = false; // a rebuild reads every served log itself
  o.on_serving = [raw](int, const std::vector<cluster::partition_record>&) {
    ++raw->counts.partitions_started;
    raw->want_rebuild();
  };
  o.on_stopped = [raw](int) {
    ++raw->counts.partitions_stopped;
    raw->want_rebuild();
  };
  auto owner = cluster::partition_owner::start(self->link, o);
  if (auto problem = std::get_if<std::string>(&owner)) {
    {
      std::lock_guard lock(self->rebuild_mutex);
      self->stopping = true;
    }
    self->rebuild_wanted.notify_all();
    self->rebuilder.join();
    return *problem;
  }
  self->owner = std::move(std::get<0>(owner));
  {
    std::lock_guard lock(self->rebuild_mutex);
    self->owner_ready = true;
  }
  self->rebuild_wanted.notify_all();
  return std::unique_ptr<cluster_node>(new cluster_node(std::move(self)));
}

cluster_node::cluster_node(std::unique_ptr<impl> self) : self_(std::move(self)) {}

cluster_node::~cluster_node() {
  {
    std::lock_guard lock(self_->rebuild_mutex);
    self_->stopping = true;
  }
  self_->rebuild_wanted.notify_all();
  self_->rebuilder.join();
  self_->retire_inner(); // flushed: everything it acknowledged is in the logs
  self_->owner.reset(); // releases the leases by revision: the others take over at once
  self_->bus.reset();
}

health_report cluster_node::health() {
  health_report h;
  std::shared_lock lock(self_->inner_mutex);
  if (self_->inner)
    h = self_->inner->health();
  else
    h.nats = self_->link->connected() ? "connected" : "disconnected";
  h.cluster = health_report::cluster_part{self_->config.cluster.node_id,
                                          {self_->inner_partitions.begin(),
                                           self_->inner_partitions.end()}};
  return h;
}

node_stats cluster_node::stats() {
  std::shared_lock lock(self_->inner_mutex);
  auto s = self_->inner ? self_->inner->stats() : node_stats{};
  auto& c = self_->counts;
  s.cluster = node_stats::cluster_part{self_->partitions,
                                       {self_->inner_partitions.begin(),
                                        self_->inner_partitions.end()},
                                       c.partitions_started,
                                       c.partitions_stopped,
                                       c.rebuilds,
                                       c.last_rebuild_seconds,
                                       c.forwarded,
                                       c.forwards_unanswered};
  return s;
}

void cluster_node::on_commit(commit_listener listener) {
  std::lock_guard l(self_->listener_mutex);
  self_->listener = listener;
  std::shared_lock lock(self_->inner_mutex);
  if (self_->inner)
    self_->inner->on_commit(std::move(listener));
}

define_result cluster_node::define(const define_product& command) {
  int p = self_->partition_of(command.product_id);
  define_result out;
  if (self_->locally(p, [&](node& n) { out = n.define(command); }))
    return out;
  auto j = self_->forward(p, {{"op", "define"}, {"command", define_json(command)}});
  if (!j)
    out.error = no_owner(p);
  else if (j->contains("rejected"))
    out.error = rejection_of((*j)["rejected"]);
  else
    out = {view_of((*j)["view"]), (*j)["created"].get<bool>(), std::nullopt};
  return out;
}

std::optional<product_view> cluster_node::product(const std::string& product_id) {
  int p = self_->partition_of(product_id);
  std::optional<product_view> out;
  if (self_->locally(p, [&](node& n) { out = n.product(product_id); }))
    return out;
  auto j = self_->forward(p, {{"op", "product"}, {"id", product_id}});
  if (!j || j->contains("rejected"))
    throw node_unavailable(no_owner(p).message); // not a 404: the product may well exist
  if (j->contains("view"))
    out = view_of((*j)["view"]);
  return out;
}

std::vector<product_view> cluster_node::products() {
  std::vector<product_view> all;
  std::set<int> served;
  { // what this node serves, read once (not once per partition), then released: the
    // forwards below must not hold up a rebuild
    std::shared_lock lock(self_->inner_mutex);
    if (self_->inner) {
      served = self_->inner_partitions;
      for (auto& v : self_->inner->products())
        if (served.count(self_->partition_of(v.product_id)))
          all.push_back(v);
    }
  }
  for (int p = 0; p < self_->partitions; ++p) {
    if (served.count(p))
      continue;
    auto j = self_->forward(p, {{"op", "products"}, {"partition", p}});
    if (!j || !j->contains("views"))
      throw node_unavailable(no_owner(p).message); // a list missing a partition would lie
    for (auto& v : (*j)["views"])
      all.push_back(view_of(v));
  }
  std::sort(all.begin(), all.end(),
            [](const product_view& a, const product_view& b) { return a.product_id < b.product_id; });
  return all;
}

place_outcome cluster_node::place(const order_request& request) {
  if (request.items.empty()) // the HTTP validation refuses it first; a caller of node_api may not
    return place_outcome{rejection{errc::invalid_request, "an order needs at least one item"}};
  int p = self_->partition_of(request.items.front().product_id);
  for (auto& item : request.items)
    if (self_->partition_of(item.product_id) != p)
      return place_outcome{rejection{errc::invalid_request,
                                     "in cluster mode an order's items must be in one partition; "
                                     "product " + item.product_id + " is in another than "
                                       + request.items.front().product_id + "'s"}};
  place_outcome out;
  if (self_->locally(p, [&](node& n) { out = n.place(request); }))
    return out;
  auto j = self_->forward(p, request_json(request));
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
  if (self_->locally(p, [&](node& n) { out = n.order(order_id); }))
    return out;
  auto j = self_->forward(p, {{"op", "order"}, {"id", order_id}});
  if (!j)
    return {std::nullopt, no_owner(p)};
  if (j->contains("rejected"))
    return {std::nullopt, rejection_of((*j)["rejected"])};
  auto events = events_of((*j)["events"]);
  if (events.empty())
    return {};
  return {node::fold_order(events), std::nullopt};
}

command_outcome cluster_node::command(const std::string& order_id, const order_command& command) {
  int p = self_->partition_of(order_id);
  std::optional<command_outcome> out;
  if (self_->locally(p, [&](node& n) { out = n.command(order_id, command); }))
    return *out;
  auto j = self_->forward(p, {{"op", "command"}, {"order_id", order_id},
                              {"command", command_json(command)}});
  if (!j)
    return no_owner(p);
  if (j->contains("rejected"))
    return rejection_of((*j)["rejected"]);
  if (j->contains("payment"))
    return (*j)["payment"] == "applied" ? payment_result::applied : payment_result::duplicate;
  return node::fold_order(events_of((*j)["events"]));
}

} // namespace flashsale
