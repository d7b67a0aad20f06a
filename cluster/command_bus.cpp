#include "cluster/command_bus.hpp"

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "cluster/nats_native.hpp"

namespace flashsale::cluster {

struct command_bus::impl {
  std::shared_ptr<nats_link> link;
  std::string subject_prefix; ///< requests for partition p go to <prefix>.<p>

  std::string command_subject(int partition) const {
    return subject_prefix + "." + std::to_string(partition);
  }

  // ---- the asking side: requests whose answers arrive on one wildcard inbox ----
  /// One request in flight: filled by the reply callback, waited on by the asking thread.
  struct waiter {
    std::mutex mutex;
    std::condition_variable answered;
    bool done = false;
    std::optional<std::string> answer; ///< empty when done: no responders
  };
  std::string inbox; ///< replies arrive on <inbox>.<token>
  natsSubscription* replies = nullptr;
  std::mutex waiters_mutex;
  std::map<std::uint64_t, std::shared_ptr<waiter>> waiters;
  std::uint64_t next_token = 0;

  static void on_reply(natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
    auto* self = static_cast<impl*>(closure);
    const char* subject = natsMsg_GetSubject(m);
    const char* dot = subject ? std::strrchr(subject, '.') : nullptr;
    std::shared_ptr<waiter> w;
    if (dot) {
      std::lock_guard lock(self->waiters_mutex);
      if (auto it = self->waiters.find(std::strtoull(dot + 1, nullptr, 10));
          it != self->waiters.end())
        w = it->second;
    }
    if (w) {
      std::lock_guard lock(w->mutex);
      w->done = true;
      if (!natsMsg_IsNoResponders(m))
        w->answer.emplace(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
      w->answered.notify_all();
    }
    natsMsg_Destroy(m);
  }

  /// The connection as it is now: connected, and how often it reconnected so far. A request
  /// sent before a change of either will never be answered on this connection.
  std::pair<bool, std::uint64_t> connection_state() {
    auto* nc = link->native().nc;
    bool up = natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;
    std::uint64_t reconnects = 0;
    natsStatistics* stats = nullptr;
    if (natsStatistics_Create(&stats) == NATS_OK) {
      if (natsConnection_GetStats(nc, stats) == NATS_OK)
        natsStatistics_GetCounts(stats, nullptr, nullptr, nullptr, nullptr, &reconnects);
      natsStatistics_Destroy(stats);
    }
    return {up, reconnects};
  }

  /// One subscription per served partition, with the closure its callback receives.
  struct served {
    impl* bus = nullptr;
    int partition = 0;
    handler h;
    natsSubscription* sub = nullptr;
  };
  std::mutex mutex;
  std::map<int, std::unique_ptr<served>> subscriptions;

  struct job {
    std::string reply_to, request;
    handler h;
  };
  std::mutex jobs_mutex;
  std::condition_variable jobs_changed;
  std::deque<job> jobs;
  bool stopping = false;
  std::vector<std::thread> workers;

  static void on_message(natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
    auto* s = static_cast<served*>(closure);
    job j;
    if (const char* reply = natsMsg_GetReply(m))
      j.reply_to = reply;
    j.request.assign(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
    natsMsg_Destroy(m);
    if (j.reply_to.empty())
      return;
    j.h = s->h;
    {
      std::lock_guard lock(s->bus->jobs_mutex);
      s->bus->jobs.push_back(std::move(j));
    }
    s->bus->jobs_changed.notify_one();
  }

  void work() {
    std::unique_lock lock(jobs_mutex);
    for (;;) {
      jobs_changed.wait(lock, [&] { return stopping || !jobs.empty(); });
      if (jobs.empty())
        return;
      auto j = std::move(jobs.front());
      jobs.pop_front();
      lock.unlock();
      auto answer = j.h(j.request);
      natsConnection_Publish(link->native().nc, j.reply_to.c_str(), answer.data(),
                             static_cast<int>(answer.size()));
      lock.lock();
    }
  }

  /// Subscriptions given up; their closures stay until the bus goes, so a callback that
  /// nats.c still runs after the unsubscribe never touches freed memory.
  std::vector<std::unique_ptr<served>> retired;

  void unsubscribe(std::unique_ptr<served> s) {
    if (s->sub) { // the requests already delivered still queue their jobs
      retire_subscription(*link, s->sub);
      s->sub = nullptr;
    }
    retired.push_back(std::move(s));
  }
};

std::unique_ptr<command_bus> command_bus::start(std::shared_ptr<nats_link> link, int workers,
                                                std::string subject_prefix) {
  auto self = std::make_unique<impl>();
  self->link = std::move(link);
  self->subject_prefix = std::move(subject_prefix);
  char inbox[64];
  std::snprintf(inbox, sizeof inbox, "_INBOX.fs%016llx",
                static_cast<unsigned long long>(std::random_device{}()) << 32
                    | std::random_device{}());
  self->inbox = inbox;
  natsConnection_Subscribe(&self->replies, self->link->native().nc, (self->inbox + ".*").c_str(),
                           impl::on_reply, self.get());
  for (int i = 0; i < workers; ++i)
    self->workers.emplace_back([raw = self.get()] { raw->work(); });
  return std::unique_ptr<command_bus>(new command_bus(std::move(self)));
}

command_bus::command_bus(std::unique_ptr<impl> self) : self_(std::move(self)) {}

command_bus::~command_bus() {
  if (self_->replies) // no reply callback may run once the bus is gone
    retire_subscription(*self_->link, self_->replies);
  {
    std::lock_guard lock(self_->mutex);
    for (auto& [p, s] : self_->subscriptions)
      self_->unsubscribe(std::move(s));
    self_->subscriptions.clear();
  }
  {
    std::lock_guard lock(self_->jobs_mutex);
    self_->stopping = true;
  }
  self_->jobs_changed.notify_all();
  for (auto& t : self_->workers)
    t.join();
}

void command_bus::serve(int partition, handler h) {
  std::lock_guard lock(self_->mutex);
  auto& slot = self_->subscriptions[partition];
  if (slot)
    self_->unsubscribe(std::move(slot));
  slot = std::make_unique<impl::served>();
  slot->bus = self_.get();
  slot->partition = partition;
  slot->h = std::move(h);
  natsConnection_QueueSubscribe(&slot->sub, self_->link->native().nc,
                                self_->command_subject(partition).c_str(), "owners",
                                impl::on_message, slot.get());
  natsConnection_FlushTimeout(self_->link->native().nc, 1000); // known before we say we serve
}

void command_bus::stop_serving(int partition) {
  std::lock_guard lock(self_->mutex);
  auto it = self_->subscriptions.find(partition);
  if (it == self_->subscriptions.end())
    return;
  self_->unsubscribe(std::move(it->second));
  self_->subscriptions.erase(it);
}

std::optional<std::string> command_bus::request(int partition, const std::string& body,
                                                std::chrono::milliseconds timeout) {
  auto w = std::make_shared<impl::waiter>();
  std::uint64_t token = 0;
  {
    std::lock_guard lock(self_->waiters_mutex);
    token = ++self_->next_token;
    self_->waiters.emplace(token, w);
  }
  auto forget = [&] {
    std::lock_guard lock(self_->waiters_mutex);
    self_->waiters.erase(token);
  };
  auto before = self_->connection_state();
  auto reply_to = self_->inbox + "." + std::to_string(token);
  if (!before.first
      || natsConnection_PublishRequest(self_->link->native().nc,
                                       self_->command_subject(partition).c_str(), reply_to.c_str(),
                                       body.data(), static_cast<int>(body.size()))
             != NATS_OK) {
    forget();
    return std::nullopt;
  }
  // Waits for the answer, the timeout, or the connection dropping under it: an answer can no
  // longer arrive then, and the buyer hears 503 now rather than after the whole timeout.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(w->mutex);
  while (!w->done && std::chrono::steady_clock::now() < deadline) {
    w->answered.wait_for(lock, std::chrono::milliseconds(20));
    if (!w->done && self_->connection_state() != before)
      break;
  }
  auto answer = w->done ? w->answer : std::nullopt;
  lock.unlock();
  forget();
  return answer; // nullopt: no responders (nobody serves it now), no answer in time, or cut
}

} // namespace flashsale::cluster
