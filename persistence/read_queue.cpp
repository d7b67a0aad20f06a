#include "persistence/read_queue.hpp"

#include <pthread.h>

namespace flashsale {

read_queue::~read_queue() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void read_queue::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    jobs_.push_back(std::move(job));
    if (!thread_.joinable())
      thread_ = std::thread([this] { run(); });
  }
  wake_.notify_one();
}

void read_queue::run() {
  pthread_setname_np(pthread_self(), "fs-reader");
  std::unique_lock<std::mutex> lock{mutex_};
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty())
      return; // stopping, and nothing left
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

} // namespace flashsale
