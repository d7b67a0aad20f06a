#include "persistence/world_recovery.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "events/world_snapshot.hpp"

namespace flashsale {

namespace {

constexpr std::size_t read_batch = 8192;
constexpr std::size_t decode_chunk = 256;
constexpr std::size_t max_queued_batches = 4;

/// One read of the log, decoded in chunks by whichever thread gets to a chunk first.
struct batch {
  explicit batch(std::vector<envelope> read)
    : envelopes(std::move(read)), decoded(envelopes.size()),
      chunks((envelopes.size() + decode_chunk - 1) / decode_chunk), done(chunks) {}

  /// Decodes the next unclaimed chunk; false when every chunk is claimed.
  bool decode_one() {
    const std::size_t c = next_chunk.fetch_add(1, std::memory_order_relaxed);
    if (c >= chunks)
      return false;
    const std::size_t end = std::min(envelopes.size(), (c + 1) * decode_chunk);
    for (std::size_t i = c * decode_chunk; i < end; ++i)
      decoded[i] = decode(envelopes[i]);
    done[c].store(true, std::memory_order_release);
    return true;
  }

  bool fully_claimed() const { return next_chunk.load(std::memory_order_relaxed) >= chunks; }

  std::vector<envelope> envelopes;
  std::vector<decode_result> decoded;
  const std::size_t chunks;
  std::vector<std::atomic<bool>> done;
  std::atomic<std::size_t> next_chunk{0};
};

/// Reading runs on a helper thread; decoding (JSON parsing is most of a replay's cost) is
/// shared between that thread and the caller, chunk by chunk, so neither core idles while the
/// other works: the reader decodes when it is ahead, the folder when it waits. The fold itself
/// stays sequential, in seq order, on the calling thread.
class decode_pipeline {
public:
  decode_pipeline(const log_source& log, std::int64_t after) : log_(log), after_(after) {
    thread_ = std::thread([this] { run(); });
  }

  ~decode_pipeline() {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  /// The next batch, read but perhaps not yet decoded; null at the end of the log.
  std::shared_ptr<batch> next() {
    std::unique_lock<std::mutex> guard{mutex_};
    changed_.wait(guard, [this] { return !queue_.empty() || done_; });
    if (queue_.empty())
      return nullptr;
    auto b = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return b;
  }

  /// Folds `b` in order through `fold(i)`, decoding the chunks nobody has claimed yet.
  template <class Fold>
  static bool fold_in_order(batch& b, Fold&& fold) {
    for (std::size_t c = 0; c < b.chunks; ++c) {
      while (!b.done[c].load(std::memory_order_acquire))
        if (!b.decode_one())
          std::this_thread::yield(); // the reader is finishing chunk c; a chunk takes ~0.1 ms
      const std::size_t end = std::min(b.envelopes.size(), (c + 1) * decode_chunk);
      for (std::size_t i = c * decode_chunk; i < end; ++i)
        if (!fold(i))
          return false;
    }
    return true;
  }

private:
  void run() {
    bool at_end = false;
    for (;;) {
      std::shared_ptr<batch> to_decode;
      {
        std::unique_lock<std::mutex> guard{mutex_};
        changed_.wait(guard, [&] {
          return stop_ || (!at_end && queue_.size() < max_queued_batches) || unclaimed() != nullptr
                 || at_end;
        });
        if (stop_)
          return;
        if (!at_end && queue_.size() < max_queued_batches) {
          guard.unlock();
          auto read = log_.read_from(after_, read_batch);
          guard.lock();
          if (read.empty()) {
            at_end = true;
            done_ = true;
            changed_.notify_all();
          } else {
            after_ = read.back().seq;
            queue_.push_back(std::make_shared<batch>(std::move(read)));
            changed_.notify_all();
          }
          continue;
        }
        to_decode = unclaimed();
        if (!to_decode)
          return; // at the end with everything claimed: the folder finishes the rest
      }
      to_decode->decode_one(); // one chunk, then look again: reading ahead comes first
    }
  }

  /// The oldest queued batch with chunks nobody has claimed.
  std::shared_ptr<batch> unclaimed() const {
    for (const auto& b : queue_)
      if (!b->fully_claimed())
        return b;
    return nullptr;
  }

  const log_source& log_;
  std::int64_t after_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::shared_ptr<batch>> queue_;
  bool done_ = false;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace

recovered_world recover_world(const log_source& log, const recovery_options& options) {
  recovered_world out;
  out.state.forget_settled_orders = options.forget_settled_orders;
  if (options.use_snapshot) {
    if (auto snap = log.latest_snapshot()) {
      std::string error;
      auto decoded = decode_world(snap->data, error);
      if (!decoded)
        out.snapshot_problem = error;
      else if (decoded->forget_settled_orders != options.forget_settled_orders)
        out.snapshot_problem = "snapshot kept a different set of orders";
      else if (options.up_to_seq && snap->seq > *options.up_to_seq)
        out.snapshot_problem = "snapshot is newer than the requested seq";
      else if (decoded->last_seq != snap->seq)
        out.snapshot_problem = "snapshot seq does not match its content";
      else if (log.last_seq && snap->seq > log.last_seq())
        out.snapshot_problem = "snapshot is ahead of the log (the log lost its tail)";
      else {
        out.state = std::move(*decoded);
        out.snapshot_seq = snap->seq;
      }
    }
  }
  decode_pipeline pipeline(log, out.state.last_seq);
  while (auto b = pipeline.next()) {
    const bool more = decode_pipeline::fold_in_order(*b, [&](std::size_t i) {
      const auto& env = b->envelopes[i];
      if (options.up_to_seq && env.seq > *options.up_to_seq)
        return false;
      apply(out.state, env, std::move(b->decoded[i]));
      ++out.events_folded;
      if (options.after_each)
        options.after_each(env, out.state);
      return true;
    });
    if (!more)
      return out;
  }
  return out;
}

} // namespace flashsale
