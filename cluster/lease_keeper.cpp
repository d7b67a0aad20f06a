#include "cluster/lease_keeper.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "cluster/nats_native.hpp"
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

/// nats.c's kvEntry_Created is in nanoseconds since the epoch.
std::int64_t created_ms(kvEntry* e) {
  return kvEntry_Created(e) / 1'000'000;
}

/// A call that failed without an answer from JetStream (the server may or may not have done
/// it): retry later. Anything else is JetStream's refusal.
bool no_answer(natsStatus s) {
  return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_NOT_YET_CONNECTED
         || s == NATS_CONNECTION_CLOSED || s == NATS_CONNECTION_DISCONNECTED || s == NATS_IO_ERROR
         || s == NATS_STALE_CONNECTION;
}

struct raw_entry {
  std::string key;
  std::string value;
  std::uint64_t revision = 0;
  std::int64_t created_ms = 0;
};

/// Every live key of bucket `bucket` (opened as `kv`) with its latest value. The keys come
/// from the stream's info and the values by direct gets: both are answered by the stream's
/// replicas, so the view can be read while JetStream's meta layer is still electing after a
/// server died (an ordered consumer per read needs it, and timed out for tens of seconds).
std::variant<std::vector<raw_entry>, std::string> read_all(jsCtx* js, kvStore* kv,
                                                           const std::string& bucket,
                                                           std::int64_t timeout_ms) {
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = timeout_ms;
  const std::string prefix = "$KV." + bucket + ".";
  const std::string filter = prefix + ">";
  jo.Stream.Info.SubjectsFilter = filter.c_str();
  jsStreamInfo* si = nullptr;
  natsStatus s = js_GetStreamInfo(&si, js, ("KV_" + bucket).c_str(), &jo, nullptr);
  if (s != NATS_OK)
    return nats_failure("read bucket keys", s);
  std::vector<std::string> keys;
  if (si->State.Subjects)
    for (int i = 0; i < si->State.Subjects->Count; ++i)
      keys.emplace_back(si->State.Subjects->List[i].Subject + prefix.size());
  jsStreamInfo_Destroy(si);
  std::vector<raw_entry> entries;
  for (auto& key : keys) {
    kvEntry* e = nullptr;
    s = kvStore_Get(&e, kv, key.c_str());
    if (s == NATS_NOT_FOUND) // deleted (a released lease) or expired since
      continue;
    if (s != NATS_OK)
      return nats_failure("read bucket", s);
    entries.push_back({key,
                       std::string(static_cast<const char*>(kvEntry_Value(e)),
                                   static_cast<std::size_t>(kvEntry_ValueLen(e))),
                       kvEntry_Revision(e), created_ms(e)});
    kvEntry_Destroy(e);
  }
  return entries;
}

std::variant<kvStore*, std::string> ensure_bucket(jsCtx* js, const std::string& name,
                                                  std::int64_t ttl_ms, int replicas) {
  kvConfig cfg;
  kvConfig_Init(&cfg);
  cfg.Bucket = name.c_str();
  cfg.History = 1;
  cfg.TTL = ttl_ms * 1'000'000; // nanoseconds: nats.c passes it on as the stream's MaxAge
  cfg.Replicas = replicas;
  cfg.StorageType = js_FileStorage;
  kvStore* kv = nullptr;
  natsStatus s = js_CreateKeyValue(&kv, js, &cfg);
  if (s != NATS_OK)
    return nats_failure(("bucket " + name).c_str(), s);
  return kv;
}

/// The cluster-wide constant `key` (created by the first node), checked against ours.
std::optional<std::string> agree_on(kvStore* meta, const char* key, const std::string& ours,
                                    const char* config_key) {
  uint64_t rev = 0;
  natsStatus s = kvStore_CreateString(&rev, meta, key, ours.c_str());
  if (s == NATS_OK)
    return std::nullopt;
  kvEntry* e = nullptr;
  s = kvStore_Get(&e, meta, key);
  if (s != NATS_OK)
    return nats_failure((std::string("read cluster ") + key).c_str(), s);
  std::string theirs = kvEntry_ValueString(e);
  kvEntry_Destroy(e);
  if (theirs != ours)
    return std::string(config_key) + " is " + ours + " but the cluster was created with " + theirs;
  return std::nullopt;
}

} // namespace

struct lease_keeper::impl {
  std::shared_ptr<nats_link> link;
  lease_keeper_options o;
  jsCtx* js = nullptr;       // our own context: its Wait is one tick, so a call never
  kvStore* kv = nullptr;     // blocks past a renewal
  std::chrono::milliseconds tick{};

  struct held_lease {
    std::uint64_t epoch = 0;
    std::int64_t taken_ms = 0;
    std::uint64_t revision = 0;     ///< the last one we wrote
    steady::time_point renewed_at;  ///< when we sent the renewal that was acknowledged
  };
  mutable std::mutex mutex;         // guards `held` for owned(); the thread alone writes it
  std::map<int, held_lease> held;
  std::map<int, std::uint64_t> given_back; // guarded by `mutex`: partition -> epoch
  std::string node_value;
  // After the bucket did not answer (a server died, its stream elected a new leader), every
  // node's heartbeat may have expired with the leases: the first view shows a cluster of one.
  // Until the second view in a row, when the others have heartbeat again, a node takes back
  // only what it lost to the silence, so it does not grab every partition and give most back.
  int views_in_a_row = 0;
  std::set<int> lost_to_silence;

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

  std::string lease_value(std::int64_t taken_ms, std::optional<std::uint64_t> epoch) const {
    nlohmann::json v{{"node", o.node_id}, {"taken_ms", taken_ms}};
    if (epoch) // absent in the creating write: its revision is the epoch
      v["epoch"] = *epoch;
    return v.dump();
  }

  /// Operators read a partition's moves in the node's log: each one, and why.
  void say(int p, const std::string& what) const {
    std::cerr << "flashsale: cluster: partition " << p << " " << what << std::endl;
  }

  void lose(int p, const std::string& why) {
    say(p, "lost: " + why);
    {
      std::lock_guard lock(mutex);
      held.erase(p);
    }
    if (o.on_lost)
      o.on_lost(p);
  }

  void acquire(int p, std::uint64_t epoch, std::int64_t taken_ms, std::uint64_t revision,
               steady::time_point sent) {
    {
      std::lock_guard lock(mutex);
      held[p] = {epoch, taken_ms, revision, sent};
    }
    say(p, "taken (epoch " + std::to_string(epoch) + ")");
    if (o.on_acquired && !o.on_acquired(p, epoch))
      release(p, "given back: it cannot be served now");
  }

  bool heartbeat() {
    uint64_t rev = 0;
    return kvStore_PutString(&rev, kv, ("node." + o.node_id).c_str(), node_value.c_str())
           == NATS_OK;
  }

  /// The lease's revision now if it is still ours at `epoch`: a renewal of ours that landed
  /// although its answer came too late (only this node writes values naming it, and a lease
  /// taken again would carry another epoch).
  std::optional<std::uint64_t> still_ours(int p, std::uint64_t epoch) {
    kvEntry* e = nullptr;
    if (kvStore_Get(&e, kv, lease_key(p).c_str()) != NATS_OK)
      return std::nullopt;
    auto value = nlohmann::json::parse(kvEntry_ValueString(e), nullptr, false);
    std::uint64_t revision = kvEntry_Revision(e);
    kvEntry_Destroy(e);
    if (value.is_discarded() || value.value("node", "") != o.node_id
        || value.value("epoch", revision) != epoch)
      return std::nullopt;
    return revision;
  }

  void renew() {
    auto deadline = std::chrono::milliseconds(o.lease_ms) - 2 * tick;
    for (auto [p, lease] : std::map<int, held_lease>(held)) {
      auto value = lease_value(lease.taken_ms, lease.epoch);
      steady::time_point sent;
      uint64_t rev = 0;
      auto update = [&](std::uint64_t revision) {
        sent = steady::now();
        return kvStore_UpdateString(&rev, kv, lease_key(p).c_str(), value.c_str(), revision);
      };
      natsStatus s = update(lease.revision);
      if (s != NATS_OK && !no_answer(s)) {
        // Refused: someone else's revision, or one of ours whose answer we never got (its
        // clock started at some moment we cannot know: renew again at once from it).
        if (auto ours = still_ours(p, lease.epoch))
          s = update(*ours);
      }
      if (s == NATS_OK) {
        std::lock_guard lock(mutex);
        held[p].revision = rev;
        held[p].renewed_at = sent;
      } else if (!no_answer(s) || steady::now() - lease.renewed_at >= deadline) {
        // refused (another revision: someone else's) or too late to be sure
        if (no_answer(s))
          lost_to_silence.insert(p);
        lose(p, no_answer(s) ? "renewals unanswered for too long" : "renewal refused");
      }
    }
  }

  /// Gives a lease back: stops serving it first (so no two nodes ever believe they own it),
  /// then deletes it only if it is still at the revision we wrote (a plain delete could
  /// remove the lease of a node that took it after ours expired).
  void release(int p, const std::string& why) {
    if (o.drain)
      o.drain(p);
    auto revision = held[p].revision;
    lose(p, why);
    natsMsg* m = nullptr;
    auto subject = "$KV." + o.bucket + "." + lease_key(p);
    if (natsMsg_Create(&m, subject.c_str(), nullptr, nullptr, 0) != NATS_OK)
      return; // it expires on its own
    natsMsgHeader_Set(m, "KV-Operation", "DEL");
    natsMsgHeader_Set(m, "Nats-Expected-Last-Subject-Sequence", std::to_string(revision).c_str());
    jsPubAck* ack = nullptr;
    if (js_PublishMsg(&ack, js, m, nullptr, nullptr) == NATS_OK)
      jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
  }

  void release_given_back() {
    std::map<int, std::uint64_t> asked;
    {
      std::lock_guard lock(mutex);
      asked.swap(given_back);
    }
    for (auto [p, epoch] : asked)
      if (auto it = held.find(p); it != held.end() && it->second.epoch == epoch)
        release(p, "given back: fenced by its log");
  }

  void rebalance() {
    auto all = read_all(js, kv, o.bucket, tick.count());
    if (std::holds_alternative<std::string>(all)) {
      views_in_a_row = 0;
      return; // no view this tick: keep what we hold (renewals decide), try again
    }
    if (++views_in_a_row >= 2)
      lost_to_silence.clear();
    std::vector<std::string> live{o.node_id};
    std::map<int, std::string> owners;
    std::map<int, raw_entry> ours_untracked;
    for (auto& entry : std::get<std::vector<raw_entry>>(all)) {
      auto value = nlohmann::json::parse(entry.value, nullptr, false);
      if (value.is_discarded() || !value.contains("node"))
        continue;
      auto node = value["node"].get<std::string>();
      if (entry.key.rfind("node.", 0) == 0) {
        if (node != o.node_id)
          live.push_back(node);
      } else if (entry.key.rfind("lease.", 0) == 0) {
        int p = std::atoi(entry.key.c_str() + 6);
        owners[p] = node;
        if (node == o.node_id && !held.count(p))
          ours_untracked[p] = entry;
      }
    }
    // A lease naming us that we stopped tracking (a renewal went unanswered, then landed):
    // nobody else held it since, so take it back at its revision before it expires.
    for (auto& [p, entry] : ours_untracked) {
      auto sent = steady::now();
      auto value = nlohmann::json::parse(entry.value);
      std::uint64_t epoch = value.value("epoch", entry.revision);
      std::int64_t taken_ms = value.value("taken_ms", entry.created_ms);
      uint64_t rev = 0;
      if (kvStore_UpdateString(&rev, kv, entry.key.c_str(), lease_value(taken_ms, epoch).c_str(),
                               entry.revision)
          == NATS_OK)
        acquire(p, epoch, taken_ms, rev, sent);
      else
        owners.erase(p);
    }
    auto plan = plan_leases(o.node_id, live, owners, o.partitions);
    for (int p : plan.release)
      if (held.count(p))
        release(p, "given back: rebalanced (" + std::to_string(live.size()) + " live nodes, "
                     + std::to_string(held.size()) + " held)");
    for (int p : plan.take) {
      if (views_in_a_row < 2 && !lost_to_silence.count(p))
        continue;
      auto sent = steady::now();
      auto taken_ms = unix_ms();
      uint64_t rev = 0;
      if (kvStore_CreateString(&rev, kv, lease_key(p).c_str(),
                               lease_value(taken_ms, std::nullopt).c_str())
          == NATS_OK)
        acquire(p, rev, taken_ms, rev, sent);
    }
  }

  void run() {
    std::unique_lock lock(stop_mutex);
    while (!stopping) {
      lock.unlock();
      if (!heartbeat())
        views_in_a_row = 0;
      release_given_back();
      renew();
      rebalance();
      lock.lock();
      stop_cv.wait_for(lock, tick, [&] { return stopping; });
    }
  }
};

std::variant<std::unique_ptr<lease_keeper>, std::string>
lease_keeper::start(std::shared_ptr<nats_link> link, lease_keeper_options o) {
  if (o.partitions < 1)
    return std::string("cluster.partitions must be at least 1");
  if (o.lease_ms < 200)
    return std::string("cluster.lease_ms must be at least 200");
  auto self = std::make_unique<impl>();
  self->tick = std::chrono::milliseconds(o.lease_ms / 4);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = self->tick.count();
  natsStatus s = natsConnection_JetStream(&self->js, link->native().nc, &jo);
  if (s != NATS_OK)
    return nats_failure("jetstream context", s);

  // Bucket set-up waits for the cluster: JetStream elects its meta leader a few seconds
  // after the servers start.
  jsCtx* setup = link->native().js;
  kvStore* meta = nullptr;
  std::string failure;
  auto give_up = steady::now() + std::chrono::seconds(30);
  do {
    auto m = ensure_bucket(setup, o.bucket + "_meta", 0, o.replicas);
    if (auto e = std::get_if<std::string>(&m)) {
      failure = *e;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    meta = std::get<kvStore*>(m);
    break;
  } while (steady::now() < give_up);
  if (!meta)
    return failure;
  auto disagreement = agree_on(meta, "partitions", std::to_string(o.partitions),
                               "cluster.partitions");
  if (!disagreement)
    disagreement = agree_on(meta, "lease_ms", std::to_string(o.lease_ms), "cluster.lease_ms");
  kvStore_Destroy(meta);
  if (disagreement)
    return *disagreement;
  auto leases = ensure_bucket(setup, o.bucket, o.lease_ms, o.replicas);
  if (auto e = std::get_if<std::string>(&leases))
    return *e;
  kvStore_Destroy(std::get<kvStore*>(leases));
  // The handle the keeper uses is bound to its own context (a kvStore keeps the one it was
  // opened with): no renewal ever waits longer than a tick.
  s = js_KeyValue(&self->kv, self->js, o.bucket.c_str());
  if (s != NATS_OK)
    return nats_failure(("bucket " + o.bucket).c_str(), s);
  self->node_value = nlohmann::json{{"node", o.node_id}, {"started_ms", unix_ms()}}.dump();
  self->link = std::move(link);
  self->o = std::move(o);
  auto* raw = self.get();
  raw->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<lease_keeper>(new lease_keeper(std::move(self)));
}

lease_keeper::lease_keeper(std::unique_ptr<impl> self) : self_(std::move(self)) {}

lease_keeper::~lease_keeper() {
  {
    std::lock_guard lock(self_->stop_mutex);
    self_->stopping = true;
  }
  self_->stop_cv.notify_all();
  self_->thread.join();
  for (auto& [p, lease] : std::map<int, impl::held_lease>(self_->held))
    self_->release(p, "given back: the node leaves");
  kvStore_Delete(self_->kv, ("node." + self_->o.node_id).c_str());
}

void lease_keeper::give_back(int partition, std::uint64_t epoch) {
  std::lock_guard lock(self_->mutex);
  self_->given_back[partition] = epoch;
}

std::map<int, std::uint64_t> lease_keeper::owned() const {
  std::lock_guard lock(self_->mutex);
  std::map<int, std::uint64_t> out;
  for (auto& [p, lease] : self_->held)
    out[p] = lease.epoch;
  return out;
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
  auto constants = read_all(js, meta, bucket + "_meta", link.api_timeout_ms());
  kvStore_Destroy(meta);
  if (auto e = std::get_if<std::string>(&constants))
    return *e;
  for (auto& c : std::get<std::vector<raw_entry>>(constants)) {
    if (c.key == "partitions")
      view.partitions = std::atoi(c.value.c_str());
    else if (c.key == "lease_ms")
      view.lease_ms = std::atoll(c.value.c_str());
  }
  kvStore* kv = nullptr;
  s = js_KeyValue(&kv, js, bucket.c_str());
  if (s != NATS_OK)
    return nats_failure("lease bucket", s);
  auto all = read_all(js, kv, bucket, link.api_timeout_ms());
  kvStore_Destroy(kv);
  if (auto e = std::get_if<std::string>(&all))
    return *e;
  for (auto& entry : std::get<std::vector<raw_entry>>(all)) {
    auto value = nlohmann::json::parse(entry.value, nullptr, false);
    if (value.is_discarded() || !value.contains("node"))
      continue;
    if (entry.key.rfind("node.", 0) == 0) {
      view.nodes[value["node"].get<std::string>()] = {value.value("started_ms", std::int64_t{0}),
                                                      entry.created_ms};
    } else if (entry.key.rfind("lease.", 0) == 0) {
      auto& lease = view.leases[std::atoi(entry.key.c_str() + 6)];
      lease.node = value["node"].get<std::string>();
      lease.epoch = value.value("epoch", entry.revision);
      lease.taken_ms = value.value("taken_ms", entry.created_ms);
      lease.renewed_ms = entry.created_ms;
    }
  }
  return view;
}

} // namespace flashsale::cluster
