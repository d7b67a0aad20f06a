#include "cluster/replicated_store.hpp"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "cluster/partitioning.hpp"

namespace flashsale::cluster {

int partition_of_stream(const std::string& stream, int partitions) {
  for (const char* prefix : {"product-", "order-"}) {
    std::string_view p(prefix);
    if (stream.compare(0, p.size(), p) == 0)
      return partition_of(std::string_view(stream).substr(p.size()), partitions);
  }
  return partition_of(stream, partitions);
}

namespace {

nlohmann::json idempotency_json(const idempotency_record& r) {
  return {{"user_id", r.user_id}, {"key", r.key},   {"request_hash", r.request_hash},
          {"order_id", r.order_id}, {"status", r.status}, {"body", r.body},
          {"recorded_at", r.recorded_at}};
}

idempotency_record idempotency_of(const nlohmann::json& j) {
  idempotency_record r;
  r.user_id = j.at("user_id").get<std::string>();
  r.key = j.at("key").get<std::string>();
  r.request_hash = j.at("request_hash").get<std::string>();
  r.order_id = j.at("order_id").get<std::string>();
  r.status = j.at("status").get<int>();
  r.body = j.at("body").get<std::string>();
  r.recorded_at = j.at("recorded_at").get<timestamp_ms>();
  return r;
}

} // namespace

struct replicated_event_store::impl {
  std::unique_ptr<event_store> local;
  partition_owner& owner;
  int partitions;
  std::function<void()> on_latched;

  /// A batch the local store committed, waiting for its partitions' acknowledgements.
  struct pending {
    append_result result;
    std::vector<idempotency_record> idempotency;
    std::function<void(append_result)> done;
  };
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::deque<pending> queue;
  bool replicating = false; // the thread holds a taken group
  bool stopping = false;
  std::optional<store_error> latched;
  std::thread thread;

  impl(std::unique_ptr<event_store> l, partition_owner& o, int p, std::function<void()> latched)
      : local(std::move(l)), owner(o), partitions(p), on_latched(std::move(latched)) {
    thread = std::thread([this] { run(); });
  }

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      changed.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty())
        return;
      std::deque<pending> group;
      group.swap(queue);
      replicating = true;
      lock.unlock();
      replicate(group);
      lock.lock();
      replicating = false;
      changed.notify_all();
    }
  }

  /// One record per partition for the whole group, then every done in order.
  void replicate(std::deque<pending>& group) {
    std::optional<store_error> failure;
    {
      std::lock_guard lock(mutex);
      failure = latched;
    }
    if (!failure) {
      std::map<int, nlohmann::json> records;
      auto record = [&](int p) -> nlohmann::json& {
        auto [it, fresh] = records.try_emplace(p);
        if (fresh)
          it->second = {{"events", nlohmann::json::array()},
                        {"idempotency", nlohmann::json::array()}};
        return it->second;
      };
      for (auto& b : group) {
        for (auto& e : b.result.committed)
          record(partition_of_stream(e.stream, partitions))["events"].push_back(e);
        for (auto& r : b.idempotency)
          record(partition_of(r.order_id, partitions))["idempotency"].push_back(idempotency_json(r));
      }
      for (auto& [p, body] : records) {
        auto appended = owner.append(p, body.dump());
        if (auto refused = std::get_if<append_refused>(&appended)) {
          failure = store_error{store_errc::store_failed,
                                "partition " + std::to_string(p) + " not replicated: "
                                  + refused->message};
          break;
        }
      }
      if (failure) {
        {
          std::lock_guard lock(mutex);
          latched = failure;
        }
        if (on_latched)
          on_latched();
      }
    }
    for (auto& b : group) {
      if (failure) {
        b.result.error = failure;
        b.result.committed.clear();
      }
      b.done(std::move(b.result));
    }
  }
};

replicated_event_store::replicated_event_store(std::unique_ptr<event_store> local,
                                               partition_owner& owner, int partitions,
                                               std::function<void()> on_latched)
    : self_(std::make_unique<impl>(std::move(local), owner, partitions, std::move(on_latched))) {}

replicated_event_store::~replicated_event_store() {
  flush();
  {
    std::lock_guard lock(self_->mutex);
    self_->stopping = true;
  }
  self_->changed.notify_all();
  self_->thread.join();
}

void replicated_event_store::append(append_batch batch, std::function<void(append_result)> done) {
  if (auto failed = failure()) {
    done(append_result{failed, {}});
    return;
  }
  auto idempotency = batch.idempotency;
  self_->local->append(std::move(batch), [this, idempotency = std::move(idempotency),
                                          done = std::move(done)](append_result r) mutable {
    if (r.error) { // nothing committed: nothing to replicate
      done(std::move(r));
      return;
    }
    {
      std::lock_guard lock(self_->mutex);
      self_->queue.push_back({std::move(r), std::move(idempotency), std::move(done)});
    }
    self_->changed.notify_all();
  });
}

std::vector<envelope> replicated_event_store::read_from(std::int64_t after_seq,
                                                        std::size_t limit) {
  return self_->local->read_from(after_seq, limit);
}
stream_read replicated_event_store::read_stream(const std::string& stream,
                                                std::int64_t after_version) {
  return self_->local->read_stream(stream, after_version);
}
std::int64_t replicated_event_store::stream_version(const std::string& stream) {
  return self_->local->stream_version(stream);
}
std::int64_t replicated_event_store::last_seq() {
  return self_->local->last_seq();
}
std::optional<idempotency_record> replicated_event_store::find_idempotency(
  const std::string& user_id, const std::string& key) {
  return self_->local->find_idempotency(user_id, key);
}
bool replicated_event_store::visit_idempotency_keys(
  const std::function<void(std::string_view, std::string_view)>& visit) {
  return self_->local->visit_idempotency_keys(visit);
}
void replicated_event_store::run_read(std::function<void()> job) {
  self_->local->run_read(std::move(job));
}
void replicated_event_store::save_snapshot(snapshot s,
                                           std::function<void(std::optional<store_error>)> done) {
  self_->local->save_snapshot(std::move(s), std::move(done));
}
std::optional<snapshot> replicated_event_store::latest_snapshot() {
  return self_->local->latest_snapshot();
}
std::int64_t replicated_event_store::outbox_position() {
  return self_->local->outbox_position();
}
void replicated_event_store::set_outbox_position(
  std::int64_t seq, std::function<void(std::optional<store_error>)> done) {
  self_->local->set_outbox_position(seq, std::move(done));
}
const std::string& replicated_event_store::store_id() const {
  return self_->local->store_id();
}
std::optional<store_error> replicated_event_store::failure() const {
  {
    std::lock_guard lock(self_->mutex);
    if (self_->latched)
      return self_->latched;
  }
  return self_->local->failure();
}
void replicated_event_store::set_commit_observer(std::function<void(const commit_stats&)> o) {
  self_->local->set_commit_observer(std::move(o));
}
void replicated_event_store::flush() {
  if (std::this_thread::get_id() == self_->thread.get_id())
    return; // a done callback: it would wait for itself
  self_->local->flush();
  std::unique_lock lock(self_->mutex);
  self_->changed.wait(lock, [&] { return self_->queue.empty() && !self_->replicating; });
}

std::optional<std::string> import_partition_log(const std::vector<partition_record>& log,
                                                event_store& into) {
  for (auto& record : log) {
    if (record.type != partition_record::kind::events)
      continue;
    auto body = nlohmann::json::parse(record.body, nullptr, false);
    if (body.is_discarded() || !body.contains("events"))
      return "record " + std::to_string(record.seq) + " is not a flashsale record";
    append_batch batch;
    std::map<std::string, std::size_t> index; // stream -> its stream_append in the batch
    try {
      for (auto& j : body["events"]) {
        envelope e = j.get<envelope>();
        auto [it, fresh] = index.try_emplace(e.stream, batch.streams.size());
        if (fresh) {
          stream_append s;
          s.stream = e.stream;
          s.expected_version = e.version - 1;
          batch.streams.push_back(std::move(s));
        }
        batch.streams[it->second].events.push_back({e.type, e.data, e.recorded_at});
      }
      for (auto& j : body["idempotency"])
        batch.idempotency.push_back(idempotency_of(j));
    } catch (const nlohmann::json::exception& e) {
      return "record " + std::to_string(record.seq) + ": " + e.what();
    }
    auto r = into.append_sync(std::move(batch));
    if (r.error)
      return "record " + std::to_string(record.seq) + " does not follow the store: "
             + r.error->message;
  }
  return std::nullopt;
}

} // namespace flashsale::cluster
