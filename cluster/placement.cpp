#include "cluster/placement.hpp"

#include <algorithm>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "cluster/kv_bucket.hpp"
#include "cluster/partitioning.hpp"

namespace flashsale::cluster {
namespace {

using steady = std::chrono::steady_clock;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string lease_key(int p) {
  return "lease." + std::to_string(p);
}

std::string node_of(const std::string& value) {
  auto v = nlohmann::json::parse(value, nullptr, false);
  return v.is_object() ? v.value("node", std::string{}) : std::string{};
}

} // namespace

struct placement::impl {
  std::shared_ptr<nats_link> link;
  placement_options o;
  jsCtx* js = nullptr;   // our own context: its Wait is one tick, so a call never blocks a
  kvStore* kv = nullptr; // tick's heartbeat
  std::chrono::milliseconds tick{}, lease{};
  std::int64_t started_ms = unix_ms();
  std::string address; // under mutex
  std::uint64_t beats = 0;

  mutable std::mutex mutex; // guards held, given_back, heads (read by other threads)
  std::map<int, std::uint64_t> held;
  std::map<int, std::uint64_t> given_back;
  struct head_seen {
    std::uint64_t seq = 0;
    steady::time_point since;
  };
  std::map<int, head_seen> heads;

  // The keeper thread's own view.
  struct node_seen {
    std::uint64_t revision = 0;
    steady::time_point changed;
  };
  std::map<std::string, node_seen> nodes_seen;
  /// Judged dead: stays so until its heartbeat moves again (a judgment is made only while our
  /// own heartbeats are acknowledged, but it must not be forgotten when ours falter, or the
  /// quotas flap and partitions move back and forth).
  std::set<std::string> dead;
  std::optional<steady::time_point> bucket_ok_since; ///< our heartbeats acknowledged since
  int views_in_a_row = 0;
  bool read_failing = false;

  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread thread;

  ~impl() {
    if (kv)
      kvStore_Destroy(kv);
    if (js)
      jsCtx_Destroy(js);
  }

  /// Operators read a partition's moves in the node's log: each one, and why.
  void say(int p, const std::string& what) const {
    std::cerr << "flashsale: cluster: partition " << p << " " << what << std::endl;
  }

  bool heartbeat() {
    std::string where;
    {
      std::lock_guard lock(mutex);
      where = address;
    }
    auto value = nlohmann::json{
        {"node", o.node_id},
        {"started_ms", started_ms},
        {"address", where},
        {"beat",
         ++beats}}.dump();
    uint64_t rev = 0;
    return kvStore_PutString(&rev, kv, ("node." + o.node_id).c_str(), value.c_str()) == NATS_OK;
  }

  /// Writes lease.<p> = `node` if it is still at `revision` (0: absent); the new revision.
  std::optional<std::uint64_t> assign(int p, const std::string& node, std::uint64_t revision) {
    auto value = nlohmann::json{{"node", node}}.dump();
    uint64_t rev = 0;
    natsStatus s =
        revision == 0
            ? kvStore_CreateString(&rev, kv, lease_key(p).c_str(), value.c_str())
            : kvStore_UpdateString(&rev, kv, lease_key(p).c_str(), value.c_str(), revision);
    if (s != NATS_OK)
      return std::nullopt;
    return rev;
  }

  void lose(int p, const std::string& why) {
    {
      std::lock_guard lock(mutex);
      held.erase(p);
    }
    say(p, "lost: " + why);
    if (o.on_unassigned)
      o.on_unassigned(p);
  }

  void take(int p, std::uint64_t revision, const std::string& from) {
    auto epoch = assign(p, o.node_id, revision);
    if (!epoch)
      return; // another node was faster, or no answer: the next view tells
    {
      std::lock_guard lock(mutex);
      held[p] = *epoch;
    }
    say(p, "taken (epoch " + std::to_string(*epoch) + (from.empty() ? "" : ", from " + from) + ")");
    if (o.on_assigned)
      o.on_assigned(p, *epoch);
  }

  /// Gives p back: drains it (it stops serving and hands over), then frees the lease if the
  /// bucket still names us at our epoch.
  void release(int p, const std::string& why) {
    std::uint64_t epoch = 0;
    {
      std::lock_guard lock(mutex);
      auto it = held.find(p);
      if (it == held.end())
        return;
      epoch = it->second;
    }
    if (o.drain)
      o.drain(p);
    {
      std::lock_guard lock(mutex);
      held.erase(p);
    }
    say(p, why);
    assign(p, "", epoch);
  }

  void release_given_back() {
    std::map<int, std::uint64_t> asked;
    {
      std::lock_guard lock(mutex);
      asked.swap(given_back);
    }
    for (auto [p, epoch] : asked) {
      bool ours = false;
      {
        std::lock_guard lock(mutex);
        auto it = held.find(p);
        ours = it != held.end() && it->second == epoch;
        if (ours)
          held.erase(it);
      }
      if (ours) {
        say(p, "given back: its log has a later owner");
        assign(p, "", epoch);
      }
    }
  }

  void watch_head(int p, steady::time_point now) {
    if (!o.log_head)
      return;
    auto head = o.log_head(p);
    if (!head)
      return;
    std::lock_guard lock(mutex);
    auto& seen = heads[p];
    if (seen.seq != *head || seen.since == steady::time_point{})
      seen = {*head, now};
  }

  void view() {
    auto all = read_bucket(js, kv, o.bucket, lease.count() / 2);
    if (auto e = std::get_if<std::string>(&all)) {
      if (views_in_a_row > 0 || !read_failing) // once per outage, not once per tick
        std::cerr << "flashsale: cluster: placement bucket unreadable (" << *e
                  << "); serving what the logs allow" << std::endl;
      read_failing = true;
      views_in_a_row = 0;
      return; // no view this tick: keep serving what the logs let us serve
    }
    read_failing = false;
    ++views_in_a_row;
    auto now = steady::now();
    // Nodes: a heartbeat's revision changes every tick while its node lives.
    std::set<std::string> present;
    std::map<int, kv_entry> leases;
    for (auto& e : std::get<std::vector<kv_entry>>(all)) {
      if (e.key.rfind("node.", 0) == 0) {
        auto id = e.key.substr(5);
        present.insert(id);
        auto& seen = nodes_seen[id];
        if (seen.revision != e.revision) {
          if (seen.revision != 0 && dead.erase(id))
            std::cerr << "flashsale: cluster: node " << id << " is back" << std::endl;
          seen = {e.revision, now};
        }
      } else if (e.key.rfind("lease.", 0) == 0) {
        leases[std::atoi(e.key.c_str() + 6)] = e;
      }
    }
    // Judged only on heartbeats it could have seen: our own were acknowledged all along.
    bool settled = bucket_ok_since && now - *bucket_ok_since >= lease;
    std::vector<std::string> live{o.node_id};
    std::set<std::string> late;
    for (auto& id : present) {
      if (id == o.node_id)
        continue;
      auto quiet = now - nodes_seen[id].changed;
      if (quiet >= lease / 2)
        late.insert(id);
      if (settled && quiet >= lease && dead.insert(id).second)
        std::cerr << "flashsale: cluster: node " << id << " judged dead (no heartbeat for "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(quiet).count() << " ms)"
                  << std::endl;
      if (!dead.count(id))
        live.push_back(id);
    }
    std::map<int, std::string> owners;
    std::map<int, std::uint64_t> revisions;
    for (auto& [p, e] : leases) {
      auto node = node_of(e.value);
      revisions[p] = e.revision;
      if (node.empty())
        continue;
      if (node != o.node_id && (late.count(node) || !present.count(node)))
        watch_head(p, now);
      if (node == o.node_id || std::find(live.begin(), live.end(), node) != live.end())
        owners[p] = node;
    }
    // What the bucket says of ours: lost, or ours from an earlier run of this node.
    std::map<int, std::uint64_t> mine;
    {
      std::lock_guard lock(mutex);
      mine = held;
    }
    for (auto [p, epoch] : mine) {
      auto it = leases.find(p);
      auto node = it == leases.end() ? std::string{} : node_of(it->second.value);
      if (node != o.node_id || it->second.revision != epoch)
        lose(p, node.empty() ? "the bucket shows it free" : "the bucket names " + node);
    }
    for (auto& [p, e] : leases)
      if (node_of(e.value) == o.node_id && !mine.count(p)) {
        {
          std::lock_guard lock(mutex);
          held[p] = e.revision;
        }
        say(p, "held from an earlier run (epoch " + std::to_string(e.revision) + ")");
        if (o.on_assigned)
          o.on_assigned(p, e.revision);
      }
    auto plan = plan_leases(o.node_id, live, owners, o.partitions);
    for (int p : plan.release)
      release(p, "given back: rebalanced (" + std::to_string(live.size()) + " live nodes)");
    if (views_in_a_row < 2)
      return;
    for (int p : plan.take) {
      auto it = leases.find(p);
      auto from = it == leases.end() ? std::string{} : node_of(it->second.value);
      take(p, it == leases.end() ? 0 : it->second.revision, from);
    }
  }

  void run() {
    std::unique_lock lock(stop_mutex);
    while (!stopping) {
      lock.unlock();
      auto sent = steady::now();
      if (heartbeat()) {
        if (!bucket_ok_since)
          bucket_ok_since = sent;
      } else {
        if (bucket_ok_since)
          std::cerr << "flashsale: cluster: heartbeat not acknowledged by the placement bucket"
                    << std::endl;
        bucket_ok_since.reset();
        views_in_a_row = 0;
      }
      release_given_back();
      view();
      lock.lock();
      stop_cv.wait_for(lock, tick, [&] { return stopping; });
    }
  }
};

std::variant<std::unique_ptr<placement>, std::string>
placement::start(std::shared_ptr<nats_link> link, placement_options o) {
  if (o.partitions < 1)
    return std::string("cluster.partitions must be at least 1");
  if (o.lease_ms < 200)
    return std::string("cluster.lease_ms must be at least 200");
  auto self = std::make_unique<impl>();
  self->tick = std::chrono::milliseconds(o.lease_ms / 4);
  self->lease = std::chrono::milliseconds(o.lease_ms);
  jsOptions jo;
  jsOptions_Init(&jo);
  // A bucket call may take up to half a lease (an fsync'd write on a busy server): nothing
  // here races the lease any more (serving rests on the logs), and a heartbeat that times out
  // only delays judging others.
  jo.Wait = o.lease_ms / 2;
  natsStatus s = natsConnection_JetStream(&self->js, link->native().nc, &jo);
  if (s != NATS_OK)
    return nats_failure("jetstream context", s);

  // Set-up waits for the cluster (JetStream elects its meta leader seconds after the servers
  // start) and for other nodes creating the same buckets at the same moment.
  jsCtx* setup = link->native().js;
  std::string failure;
  auto give_up = steady::now() + std::chrono::seconds(30);
  for (bool ready = false; !ready;) {
    if (steady::now() > give_up)
      return failure;
    if (!failure.empty())
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto meta = ensure_bucket(setup, o.bucket + "_meta", o.replicas);
    if (auto e = std::get_if<std::string>(&meta)) {
      failure = *e;
      continue;
    }
    auto* m = std::get<kvStore*>(meta);
    bool transient = false;
    auto disagreement =
        agree_on(m, "partitions", std::to_string(o.partitions), "cluster.partitions", transient);
    if (!disagreement)
      disagreement =
          agree_on(m, "lease_ms", std::to_string(o.lease_ms), "cluster.lease_ms", transient);
    kvStore_Destroy(m);
    if (disagreement && !transient)
      return *disagreement;
    if (disagreement) {
      failure = *disagreement;
      continue;
    }
    auto leases = ensure_bucket(setup, o.bucket, o.replicas);
    if (auto e = std::get_if<std::string>(&leases)) {
      failure = *e;
      continue;
    }
    kvStore_Destroy(std::get<kvStore*>(leases));
    // The handle the keeper uses is bound to its own context (a kvStore keeps the one it was
    // opened with): no call of the keeper waits longer than a tick.
    s = js_KeyValue(&self->kv, self->js, o.bucket.c_str());
    if (s != NATS_OK) {
      failure = nats_failure(("bucket " + o.bucket).c_str(), s);
      continue;
    }
    ready = true;
  }
  self->link = std::move(link);
  self->o = std::move(o);
  auto* raw = self.get();
  raw->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<placement>(new placement(std::move(self)));
}

placement::placement(std::unique_ptr<impl> self) : self_(std::move(self)) {}

placement::~placement() {
  {
    std::lock_guard lock(self_->stop_mutex);
    self_->stopping = true;
  }
  self_->stop_cv.notify_all();
  self_->thread.join();
  for (auto& [p, epoch] : assigned())
    self_->release(p, "given back: the node leaves");
  kvStore_Delete(self_->kv, ("node." + self_->o.node_id).c_str());
}

std::map<int, std::uint64_t> placement::assigned() const {
  std::lock_guard lock(self_->mutex);
  return self_->held;
}

void placement::set_address(const std::string& address) {
  std::lock_guard lock(self_->mutex);
  self_->address = address;
}

void placement::give_back(int partition, std::uint64_t epoch) {
  std::lock_guard lock(self_->mutex);
  self_->given_back[partition] = epoch;
}

std::optional<std::chrono::steady_clock::time_point>
placement::seen_since(int partition, std::uint64_t seq) const {
  std::lock_guard lock(self_->mutex);
  auto it = self_->heads.find(partition);
  if (it == self_->heads.end() || it->second.seq != seq)
    return std::nullopt;
  return it->second.since;
}

std::variant<cluster_view, std::string> read_cluster_view(nats_link& link,
                                                          const std::string& bucket) {
  cluster_view view;
  jsCtx* js = link.native().js;
  kvStore* meta = nullptr;
  natsStatus s = js_KeyValue(&meta, js, (bucket + "_meta").c_str());
  if (s == NATS_NOT_FOUND)
    return view; // no cluster created in this NATS yet
  if (s != NATS_OK)
    return nats_failure("cluster bucket", s);
  auto constants = read_bucket(js, meta, bucket + "_meta", link.api_timeout_ms());
  kvStore_Destroy(meta);
  if (auto e = std::get_if<std::string>(&constants))
    return *e;
  for (auto& c : std::get<std::vector<kv_entry>>(constants)) {
    if (c.key == "partitions")
      view.partitions = std::atoi(c.value.c_str());
    else if (c.key == "lease_ms")
      view.lease_ms = std::atoll(c.value.c_str());
  }
  kvStore* kv = nullptr;
  s = js_KeyValue(&kv, js, bucket.c_str());
  if (s != NATS_OK)
    return nats_failure("placement bucket", s);
  auto all = read_bucket(js, kv, bucket, link.api_timeout_ms());
  kvStore_Destroy(kv);
  if (auto e = std::get_if<std::string>(&all))
    return *e;
  for (auto& entry : std::get<std::vector<kv_entry>>(all)) {
    auto value = nlohmann::json::parse(entry.value, nullptr, false);
    if (!value.is_object())
      continue;
    if (entry.key.rfind("node.", 0) == 0) {
      view.nodes[entry.key.substr(5)] = {value.value("started_ms", std::int64_t{0}),
                                         entry.created_ms, value.value("address", std::string{})};
    } else if (entry.key.rfind("lease.", 0) == 0) {
      auto& lease = view.leases[std::atoi(entry.key.c_str() + 6)];
      lease.node = value.value("node", std::string{});
      lease.epoch = entry.revision;
      lease.taken_ms = entry.created_ms;
    }
  }
  return view;
}

} // namespace flashsale::cluster
