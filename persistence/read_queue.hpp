// One thread that runs queued jobs in order: where an event store runs the reads of callers
// that must not block (actors). The thread starts with the first job, so a store nobody
// reads from asynchronously costs nothing. The destructor runs what is still queued, then
// joins. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace flashsale {

class read_queue {
public:
  read_queue() = default;
  ~read_queue();
  read_queue(const read_queue&) = delete;
  read_queue& operator=(const read_queue&) = delete;

  void post(std::function<void()> job);

private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace flashsale
