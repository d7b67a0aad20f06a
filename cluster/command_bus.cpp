#include "cluster/command_bus.hpp"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "cluster/nats_native.hpp"

namespace flashsale::cluster {

namespace {
std::string command_subject(int partition) {
  return "flashsale.cmd." + std::to_string(partition);
}
} // namespace

struct command_bus::impl {
  std::shared_ptr<nats_link> link;

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
    if (s->sub) {
      // Connected: drain (no new requests; those already delivered still queue their jobs).
      // Disconnected, a drain could not complete: nothing more can arrive anyway.
      if (link->connected() && natsSubscription_Drain(s->sub) == NATS_OK)
        natsSubscription_WaitForDrainCompletion(s->sub, 1000);
      else
        natsSubscription_Unsubscribe(s->sub);
      natsSubscription_Destroy(s->sub);
      s->sub = nullptr;
    }
    retired.push_back(std::move(s));
  }
};

std::unique_ptr<command_bus> command_bus::start(std::shared_ptr<nats_link> link, int workers) {
  auto self = std::make_unique<impl>();
  self->link = std::move(link);
  for (int i = 0; i < workers; ++i)
    self->workers.emplace_back([raw = self.get()] { raw->work(); });
  return std::unique_ptr<command_bus>(new command_bus(std::move(self)));
}

command_bus::command_bus(std::unique_ptr<impl> self) : self_(std::move(self)) {}

command_bus::~command_bus() {
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
                                command_subject(partition).c_str(), "owners", impl::on_message,
                                slot.get());
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
  natsMsg* reply = nullptr;
  natsStatus s = natsConnection_Request(&reply, self_->link->native().nc,
                                        command_subject(partition).c_str(), body.data(),
                                        static_cast<int>(body.size()), timeout.count());
  if (s != NATS_OK)
    return std::nullopt; // no responders (nobody serves it now) or no answer in time
  std::string answer(natsMsg_GetData(reply), static_cast<std::size_t>(natsMsg_GetDataLength(reply)));
  natsMsg_Destroy(reply);
  return answer;
}

} // namespace flashsale::cluster
