#include "cli/load/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace flashsale::load {

void live_counters::count(outcome o) {
  requests.fetch_add(1, std::memory_order_relaxed);
  switch (o) {
  case outcome::accepted:
    accepted.fetch_add(1, std::memory_order_relaxed);
    break;
  case outcome::sold_out:
    sold_out.fetch_add(1, std::memory_order_relaxed);
    break;
  case outcome::shed:
    shed.fetch_add(1, std::memory_order_relaxed);
    break;
  case outcome::error:
    errors.fetch_add(1, std::memory_order_relaxed);
    break;
  case outcome::other_4xx:
    break;
  }
}

progress_sample live_counters::sample() const {
  progress_sample s;
  s.requests = requests.load();
  s.accepted = accepted.load();
  s.sold_out = sold_out.load();
  s.shed = shed.load();
  s.errors = errors.load();
  return s;
}

progress_line::progress_line(std::function<progress_sample()> sample)
  : sample_(std::move(sample)), tty_(::isatty(STDERR_FILENO) == 1),
    started_(std::chrono::steady_clock::now()) {
  thread_ = std::thread([this] { loop(); });
}

progress_line::~progress_line() {
  stop();
}

void progress_line::stop() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void progress_line::loop() {
  auto last_time = started_;
  std::uint64_t last_requests = 0;
  std::unique_lock<std::mutex> lock{mutex_};
  for (;;) {
    bool stopping = wake_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping_; });
    auto s = sample_();
    auto now = std::chrono::steady_clock::now();
    double dt = std::chrono::duration<double>(now - last_time).count();
    double rate = dt > 0 ? (s.requests - last_requests) / dt : 0;
    if (stopping) // the last line reports the whole run's average rate
      rate = s.requests / std::max(1e-9, std::chrono::duration<double>(now - started_).count());
    print(s, rate);
    last_time = now;
    last_requests = s.requests;
    if (stopping) {
      if (tty_)
        std::fputc('\n', stderr);
      return;
    }
  }
}

void progress_line::print(const progress_sample& s, double rate) {
  double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  std::fprintf(stderr,
               "%s[%6.1fs] requests %llu  rate %.0f/s  accepted %llu  sold out %llu  shed %llu  "
               "errors %llu  p99 %.2f ms%s",
               tty_ ? "\r" : "", t, static_cast<unsigned long long>(s.requests), rate,
               static_cast<unsigned long long>(s.accepted),
               static_cast<unsigned long long>(s.sold_out), static_cast<unsigned long long>(s.shed),
               static_cast<unsigned long long>(s.errors), s.p99_us / 1000.0,
               tty_ ? "\x1b[K" : "\n");
  std::fflush(stderr);
}

} // namespace flashsale::load
