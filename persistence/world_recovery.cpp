#include "persistence/world_recovery.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "events/world_snapshot.hpp"

namespace flashsale {

namespace {

constexpr std::size_t read_batch = 8192;
constexpr std::size_t max_queued_batches = 4;

struct decoded_batch {
  std::vector<envelope> envelopes;
  std::vector<decode_result> decoded;
};

/// Reading and decoding (JSON parsing is most of a replay's cost) run on one thread while the
/// caller folds on another: on two cores that nearly halves recovery time. The fold itself
/// stays sequential, in seq order.
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

  /// The next batch; empty at the end of the log.
  decoded_batch next() {
    std::unique_lock<std::mutex> guard{mutex_};
    changed_.wait(guard, [this] { return !queue_.empty() || done_; });
    if (queue_.empty())
      return {};
    auto batch = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return batch;
  }

private:
  void run() {
    for (;;) {
      decoded_batch batch;
      batch.envelopes = log_.read_from(after_, read_batch);
      if (batch.envelopes.empty())
        break;
      after_ = batch.envelopes.back().seq;
      batch.decoded.reserve(batch.envelopes.size());
      for (auto& env : batch.envelopes)
        batch.decoded.push_back(decode(env));
      std::unique_lock<std::mutex> guard{mutex_};
      changed_.wait(guard, [this] { return queue_.size() < max_queued_batches || stop_; });
      if (stop_)
        return;
      queue_.push_back(std::move(batch));
      changed_.notify_all();
    }
    std::lock_guard<std::mutex> guard{mutex_};
    done_ = true;
    changed_.notify_all();
  }

  const log_source& log_;
  std::int64_t after_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<decoded_batch> queue_;
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
  for (;;) {
    auto batch = pipeline.next();
    if (batch.envelopes.empty())
      return out;
    for (std::size_t i = 0; i < batch.envelopes.size(); ++i) {
      const auto& env = batch.envelopes[i];
      if (options.up_to_seq && env.seq > *options.up_to_seq)
        return out;
      apply(out.state, env, std::move(batch.decoded[i]));
      ++out.events_folded;
      if (options.after_each)
        options.after_each(env, out.state);
    }
  }
}

} // namespace flashsale
