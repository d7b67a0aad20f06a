#include "cluster/partition_owner.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace flashsale::cluster {

struct partition_owner::impl {
  partition_owner_options o;
  std::unique_ptr<partition_log> log;
  std::unique_ptr<lease_keeper> keeper;

  struct served {
    std::uint64_t epoch = 0;
    std::uint64_t last_seq = 0; ///< what the next append expects
    std::shared_ptr<std::mutex> appending = std::make_shared<std::mutex>();
  };
  mutable std::mutex mutex; // guards `partitions`, `claiming`, `stopping`, the setting of
                            // `keeper` (not the appends)
  std::map<int, served> partitions;
  // Leases taken but not yet claimed in their logs: partition -> epoch. The claimer works
  // them off its own thread, so a log that answers slowly (a stream electing its leader)
  // never holds up the keeper's renewals of the other leases.
  std::map<int, std::uint64_t> claiming;
  bool stopping = false;
  std::condition_variable claim_wanted;
  std::thread claimer;
  // on_serving and on_stopped run one at a time, in the order the state changed.
  std::mutex callbacks;

  void want_claim(int p, std::uint64_t epoch) {
    {
      std::lock_guard lock(mutex);
      claiming[p] = epoch;
    }
    claim_wanted.notify_all();
  }

  void claim_loop() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      // Not before `keeper` is set: a stale claim gives its lease back through it.
      claim_wanted.wait(lock, [&] { return stopping || (keeper && !claiming.empty()); });
      auto pending = claiming;
      lock.unlock();
      bool unfinished = false;
      for (auto [p, epoch] : pending)
        unfinished |= !claim(p, epoch);
      lock.lock();
      if (unfinished) // the log does not answer now: try again soon, while the lease lasts
        claim_wanted.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping; });
    }
  }

  /// Claims and rebuilds `p` if its lease is still ours at `epoch`; false when the log
  /// cannot be written or read now (to be tried again).
  bool claim(int p, std::uint64_t epoch) {
    auto claimed = log->claim(p, o.lease.node_id, epoch);
    if (auto refused = std::get_if<partition_log::claim_refused>(&claimed);
        refused && refused->superseded) {
      // A later owner exists: this lease is stale, whatever the bucket said.
      std::lock_guard lock(mutex);
      if (auto it = claiming.find(p); it != claiming.end() && it->second == epoch)
        claiming.erase(it);
      keeper->give_back(p, epoch);
      return true;
    }
    if (!std::holds_alternative<std::uint64_t>(claimed))
      return false;
    std::variant<std::vector<partition_record>, std::string> history;
    if (o.read_history)
      history = log->read(p);
    if (!std::holds_alternative<std::vector<partition_record>>(history))
      return false;
    std::lock_guard order(callbacks);
    {
      std::lock_guard lock(mutex);
      auto it = claiming.find(p);
      if (it == claiming.end() || it->second != epoch)
        return true; // lost meanwhile: our claim only fences a stale epoch, which is fine
      claiming.erase(it);
      partitions[p] = {epoch, std::get<std::uint64_t>(claimed)};
    }
    if (o.on_serving)
      o.on_serving(p, std::get<std::vector<partition_record>>(history));
    return true;
  }

  void stop_claimer() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    claim_wanted.notify_all();
    claimer.join();
  }

  /// Ends serving (or claiming) `p` if we still hold it at `epoch` (0 = whatever the epoch).
  void stop_serving(int p, std::uint64_t epoch = 0) {
    std::lock_guard order(callbacks);
    {
      std::lock_guard lock(mutex);
      if (auto c = claiming.find(p); c != claiming.end() && (!epoch || c->second == epoch))
        claiming.erase(c);
      auto it = partitions.find(p);
      if (it == partitions.end() || (epoch && it->second.epoch != epoch))
        return;
      partitions.erase(it);
    }
    if (o.on_stopped)
      o.on_stopped(p);
  }
};

std::variant<std::unique_ptr<partition_owner>, std::string>
partition_owner::start(std::shared_ptr<nats_link> link, partition_owner_options o) {
  auto self = std::make_unique<impl>();
  self->o = std::move(o);
  auto log = partition_log::open(link, self->o.log);
  if (auto e = std::get_if<std::string>(&log))
    return *e;
  self->log = std::move(std::get<0>(log));
  auto* raw = self.get();
  auto lease = raw->o.lease;
  lease.on_acquired = [raw](int p, std::uint64_t epoch) {
    raw->want_claim(p, epoch);
    return true;
  };
  lease.on_lost = [raw](int p) { raw->stop_serving(p); };
  raw->claimer = std::thread([raw] { raw->claim_loop(); });
  auto keeper = lease_keeper::start(std::move(link), std::move(lease));
  if (auto e = std::get_if<std::string>(&keeper)) {
    raw->stop_claimer();
    return *e;
  }
  {
    std::lock_guard lock(raw->mutex);
    self->keeper = std::move(std::get<0>(keeper));
  }
  raw->claim_wanted.notify_all(); // the claims of leases taken meanwhile can start
  return std::unique_ptr<partition_owner>(new partition_owner(std::move(self)));
}

partition_owner::partition_owner(std::unique_ptr<impl> self) : self_(std::move(self)) {}

partition_owner::~partition_owner() {
  self_->stop_claimer(); // first: it reads `keeper`
  self_->keeper.reset(); // its releases call stop_serving while `self_` is whole
}

std::variant<std::uint64_t, append_refused> partition_owner::append(int partition,
                                                                    std::string_view body) {
  std::shared_ptr<std::mutex> appending;
  {
    std::lock_guard lock(self_->mutex);
    auto it = self_->partitions.find(partition);
    if (it == self_->partitions.end())
      return append_refused{false, "partition " + std::to_string(partition) + " is not ours"};
    appending = it->second.appending;
  }
  // One append at a time per partition: each names the sequence the previous one returned.
  std::lock_guard serial(*appending);
  std::uint64_t expected, epoch;
  {
    std::lock_guard lock(self_->mutex);
    auto it = self_->partitions.find(partition);
    if (it == self_->partitions.end() || it->second.appending != appending)
      return append_refused{false, "partition " + std::to_string(partition) + " is not ours"};
    expected = it->second.last_seq;
    epoch = it->second.epoch;
  }
  auto r = self_->log->append(partition, expected, body, self_->o.lease.node_id, epoch);
  if (auto seq = std::get_if<std::uint64_t>(&r)) {
    std::lock_guard lock(self_->mutex);
    if (auto it = self_->partitions.find(partition); it != self_->partitions.end()
                                                     && it->second.epoch == epoch)
      it->second.last_seq = *seq;
  } else if (std::get<append_refused>(r).fenced) {
    // The log moved past what we expected. Either an earlier append of ours landed although
    // its answer was lost (then the head is ours: follow it), or another owner claimed the
    // partition (then never write it again at this epoch).
    auto head = self_->log->last_record(partition);
    auto* h = std::get_if<partition_record>(&head);
    if (h && h->owner == self_->o.lease.node_id && h->epoch == epoch) {
      std::lock_guard lock(self_->mutex);
      if (auto it = self_->partitions.find(partition); it != self_->partitions.end()
                                                       && it->second.epoch == epoch)
        it->second.last_seq = h->seq;
    } else {
      self_->stop_serving(partition, epoch);
      self_->keeper->give_back(partition, epoch); // a lease we cannot serve is no use to hold
    }
  }
  return r;
}

bool partition_owner::claims_pending() const {
  std::lock_guard lock(self_->mutex);
  return !self_->claiming.empty();
}

std::map<int, std::uint64_t> partition_owner::serving() const {
  std::lock_guard lock(self_->mutex);
  std::map<int, std::uint64_t> out;
  for (auto& [p, s] : self_->partitions)
    out[p] = s.epoch;
  return out;
}

} // namespace flashsale::cluster
