#include "cluster/availability_board.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "cluster/kv_bucket.hpp"
#include "cluster/nats_native.hpp"

namespace flashsale::cluster {

using nlohmann::json;

std::string availability_key(const std::string& product_id) {
  std::string key;
  key.reserve(product_id.size());
  for (char c : product_id)
    switch (c) {
    case '.':
      key += "=2E";
      break;
    case ':':
      key += "=3A";
      break;
    case '=':
      key += "=3D";
      break;
    default:
      key += c;
    }
  return key;
}

std::string availability_json(const availability_entry& e) {
  return json{{"product_id", e.product_id},
              {"available", e.available},
              {"epoch", e.epoch},
              {"version", e.version}}
      .dump();
}

std::optional<availability_entry> availability_of(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object())
    return std::nullopt;
  try {
    availability_entry e;
    e.product_id = j.at("product_id").get<std::string>();
    e.available = j.at("available").get<std::int64_t>();
    e.epoch = j.at("epoch").get<std::uint64_t>();
    e.version = j.at("version").get<std::uint64_t>();
    if (e.product_id.empty())
      return std::nullopt;
    return e;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

bool supersedes(const availability_entry& incoming, const availability_entry& held) {
  return std::make_pair(incoming.epoch, incoming.version)
         > std::make_pair(held.epoch, held.version);
}

struct availability_board::impl {
  std::shared_ptr<nats_link> link;
  kvStore* kv = nullptr;
  natsSubscription* sub = nullptr;

  // ---- what the cluster says: every node ----
  mutable std::shared_mutex table_mutex;
  std::unordered_map<std::string, availability_entry> table;
  availability_listener watcher;

  /// An entry heard (live or read back): kept when it supersedes the one held.
  void apply(const availability_entry& e) {
    std::unique_lock lock(table_mutex);
    auto [it, fresh] = table.try_emplace(e.product_id, e);
    if (!fresh) {
      if (!supersedes(e, it->second))
        return;
      it->second = e;
    }
    if (watcher)
      watcher(e.product_id, e.available);
  }

  static void on_put(natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
    auto* self = static_cast<impl*>(closure);
    std::string text(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
    natsMsg_Destroy(m);
    if (auto e = availability_of(text))
      self->apply(*e);
  }

  bool load() {
    auto read = read_bucket(link->native().js, kv, availability_bucket, link->api_timeout_ms());
    if (!std::holds_alternative<std::vector<kv_entry>>(read))
      return false;
    for (auto& entry : std::get<std::vector<kv_entry>>(read))
      if (auto e = availability_of(entry.value))
        apply(*e);
    return true;
  }

  std::uint64_t reconnects() {
    std::uint64_t n = 0;
    natsStatistics* stats = nullptr;
    if (natsStatistics_Create(&stats) == NATS_OK) {
      if (natsConnection_GetStats(link->native().nc, stats) == NATS_OK)
        natsStatistics_GetCounts(stats, nullptr, nullptr, nullptr, nullptr, &n);
      natsStatistics_Destroy(stats);
    }
    return n;
  }

  // ---- what this node publishes, as an owner ----
  std::mutex mutex;
  std::condition_variable changed;
  /// The side of zero and epoch last queued per product: a change of neither sends nothing.
  std::unordered_map<std::string, std::pair<bool, std::uint64_t>> queued_side;
  std::map<std::string, availability_entry> pending; ///< latest unsent entry per product
  std::uint64_t next_version = 0;
  bool in_flight = false;
  bool stopping = false;
  std::thread thread;

  bool put(const availability_entry& e) {
    auto value = availability_json(e);
    std::uint64_t revision = 0;
    return kvStore_Put(&revision, kv, availability_key(e.product_id).c_str(), value.data(),
                       static_cast<int>(value.size()))
           == NATS_OK;
  }

  /// Sends what is pending (retrying what failed) and, after a reconnect or a failed read,
  /// reads the bucket whole again: puts sent while this node was cut off were missed live.
  void run(std::uint64_t seen_reconnects, bool loaded) {
    std::unique_lock lock(mutex);
    while (!stopping) {
      changed.wait_for(lock, std::chrono::milliseconds(500),
                       [&] { return stopping || !pending.empty(); });
      if (stopping)
        return;
      lock.unlock();
      if (auto now = reconnects(); now != seen_reconnects || !loaded) {
        seen_reconnects = now;
        loaded = link->connected() && load();
      }
      lock.lock();
      if (pending.empty())
        continue;
      auto batch = std::move(pending);
      pending.clear();
      in_flight = true;
      lock.unlock();
      std::map<std::string, availability_entry> failed;
      for (auto& [id, e] : batch)
        if (!put(e))
          failed.emplace(id, e);
      lock.lock();
      in_flight = false;
      for (auto& [id, e] : failed)
        pending.try_emplace(id, e); // a newer entry queued meanwhile wins
      changed.notify_all();
      if (!failed.empty()) // NATS is away or electing: retry shortly, not in a spin
        changed.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping; });
    }
  }

  ~impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    changed.notify_all();
    if (thread.joinable())
      thread.join();
    if (sub) // no callback may run once the board is gone
      retire_subscription(*link, sub);
    if (kv)
      kvStore_Destroy(kv);
  }
};

std::variant<std::unique_ptr<availability_board>, std::string>
availability_board::start(std::shared_ptr<nats_link> link, int replicas) {
  auto self = std::make_unique<impl>();
  self->link = std::move(link);
  auto bucket = ensure_bucket(self->link->native().js, availability_bucket, replicas);
  if (auto problem = std::get_if<std::string>(&bucket))
    return *problem;
  self->kv = std::get<kvStore*>(bucket);
  // Live first, then the bucket whole: a put between the two is heard either way, and the
  // (epoch, version) order makes the order they arrive in irrelevant.
  natsStatus s = natsConnection_Subscribe(
      &self->sub, self->link->native().nc,
      (std::string("$KV.") + availability_bucket + ".>").c_str(), impl::on_put, self.get());
  if (s != NATS_OK)
    return nats_failure("subscribe to availability", s);
  natsConnection_FlushTimeout(self->link->native().nc, 1000);
  auto seen = self->reconnects();
  bool loaded = self->load();
  self->next_version =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  self->thread = std::thread([raw = self.get(), seen, loaded] { raw->run(seen, loaded); });
  return std::unique_ptr<availability_board>(new availability_board(std::move(self)));
}

availability_board::availability_board(std::unique_ptr<impl> self) : self_(std::move(self)) {}

availability_board::~availability_board() = default;

void availability_board::publish(const std::string& product_id, std::int64_t available,
                                 std::uint64_t epoch) {
  std::lock_guard lock(self_->mutex);
  std::pair<bool, std::uint64_t> side{available <= 0, epoch};
  auto [it, fresh] = self_->queued_side.try_emplace(product_id, side);
  if (!fresh && it->second == side)
    return;
  it->second = side;
  self_->pending[product_id] = {product_id, available, epoch, ++self_->next_version};
  self_->changed.notify_all();
}

bool availability_board::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(self_->mutex);
  return self_->changed.wait_for(lock, timeout,
                                 [&] { return self_->pending.empty() && !self_->in_flight; });
}

std::optional<std::int64_t> availability_board::available(const std::string& product_id) const {
  std::shared_lock lock(self_->table_mutex);
  if (auto it = self_->table.find(product_id); it != self_->table.end())
    return it->second.available;
  return std::nullopt;
}

void availability_board::watch(availability_listener watcher) {
  std::unique_lock lock(self_->table_mutex);
  self_->watcher = std::move(watcher);
  if (self_->watcher)
    for (auto& [id, e] : self_->table)
      self_->watcher(id, e.available);
}

} // namespace flashsale::cluster
