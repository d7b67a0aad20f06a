#include "persistence/outbox_relay.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "persistence/event_store.hpp"
#include "persistence/jetstream.hpp"

namespace flashsale {

namespace {

using steady = std::chrono::steady_clock;

/// Events read from the store per publishing round (bounded by the free window too).
constexpr std::size_t read_batch = 256;

/// "<store_id>-<seq>" -> seq; 0 when the id is not one of this store's.
std::int64_t seq_of(const std::string& msg_id, const std::string& store_id) {
  if (msg_id.size() <= store_id.size() + 1 || msg_id.compare(0, store_id.size(), store_id) != 0
      || msg_id[store_id.size()] != '-')
    return 0;
  return std::strtoll(msg_id.c_str() + store_id.size() + 1, nullptr, 10);
}

} // namespace

struct outbox_relay::impl {
  event_store& store;
  outbox_relay_options options;
  std::string store_id;

  mutable std::mutex mutex;
  std::condition_variable wake;
  bool woken = false;
  bool stopping = false;
  bool need_rewind = true;   ///< publish from acked_through + 1 (at start: the durable position)
  bool stream_ready = false; ///< FLASHSALE ensured since the last (re)connect
  bool position_in_flight = false;
  std::int64_t acked_through = 0; ///< every seq <= this has a PubAck
  std::set<std::int64_t> acked_above;
  std::int64_t next_seq = 1; ///< the next seq to publish
  std::int64_t durable = 0;  ///< the outbox position the store holds
  steady::time_point last_progress = steady::now();
  steady::time_point last_persist{};
  static constexpr std::chrono::milliseconds persist_every{100};
  std::chrono::milliseconds error_backoff{0};
  outbox_relay_stats counters;

  std::thread thread;
  std::unique_ptr<jetstream_client> client; // last: destroyed first, before the state it reports to

  impl(event_store& s, outbox_relay_options o) : store(s), options(std::move(o)) {}

  void on_status(bool up) {
    std::lock_guard<std::mutex> lock(mutex);
    if (up) {
      // Publishes in flight across the outage may or may not have landed: send them again (the
      // same msg ids, so the stream keeps one copy), and make sure the stream exists (a fresh
      // external server may not have it).
      need_rewind = true;
      stream_ready = false;
    }
    woken = true;
    wake.notify_one();
  }

  void on_result(const std::string& msg_id, const std::optional<jetstream_error>& error) {
    std::lock_guard<std::mutex> lock(mutex);
    if (error) {
      need_rewind = true;
      wake.notify_one();
      return;
    }
    auto seq = seq_of(msg_id, store_id);
    if (seq <= acked_through || seq >= next_seq)
      return; // an old generation's late ack, or not ours
    acked_above.insert(seq);
    bool advanced = false;
    while (!acked_above.empty() && *acked_above.begin() == acked_through + 1) {
      acked_above.erase(acked_above.begin());
      ++acked_through;
      advanced = true;
    }
    if (advanced) {
      last_progress = steady::now();
      error_backoff = std::chrono::milliseconds(0);
      woken = true;
      wake.notify_one();
    }
  }

  /// Asks the store to remember `acked_through`, one request at a time, and under a steady
  /// flow at most every 100 ms or 1,000 events: each write is a commit of the store's writer
  /// (written continuously it was a third of the writer's work). The position only says
  /// where publishing resumes after a restart; JetStream drops the re-sends by msg id.
  void persist_position() {
    std::int64_t target = 0;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (position_in_flight || acked_through <= durable)
        return;
      if (acked_through - durable < 1000 && steady::now() - last_persist < persist_every)
        return; // the run loop wakes at least every 100 ms and comes back
      position_in_flight = true;
      last_persist = steady::now();
      target = acked_through;
    }
    // Outside the lock: the callback takes it (and may run at once if the store has failed).
    store.set_outbox_position(target, [this, target](std::optional<store_error> error) {
      std::lock_guard<std::mutex> lock(mutex);
      position_in_flight = false;
      if (!error)
        durable = std::max(durable, target);
      woken = true;
      wake.notify_one();
    });
  }

  /// One round: publish what the window allows. Returns true when more is ready right away.
  bool publish_round() {
    std::int64_t from = 0;
    std::size_t room = 0;
    bool rewound = false;
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto stalled = next_seq - 1 > acked_through
                     && steady::now() - last_progress
                            > std::chrono::milliseconds(options.publish_timeout_ms + 1000);
      if (need_rewind || stalled) {
        // Forget what is in flight (no result will be reported for it) and start again from
        // the last acknowledged seq with the same msg ids. Late acks of the old round fall at or
        // above next_seq and are ignored.
        rewound = true;
        acked_above.clear();
        if (next_seq - 1 > acked_through)
          ++counters.resends;
        next_seq = acked_through + 1;
        need_rewind = false;
        last_progress = steady::now();
      }
      auto in_flight = next_seq - 1 - acked_through;
      if (in_flight >= options.publish_window)
        return false;
      room = std::min<std::size_t>(read_batch, options.publish_window - in_flight);
      from = next_seq - 1;
    }
    if (rewound) // outside the lock: nats.c may be inside our ack handler, waiting for it
      client->abandon_pending_publishes();
    auto events = store.read_from(from, room);
    for (auto& env : events) {
      {
        // Counted as sent before the call: the PubAck can arrive before publish_async returns,
        // and an ack at or above next_seq is taken for a stale one and dropped.
        std::lock_guard<std::mutex> lock(mutex);
        if (next_seq != env.seq)
          return true; // rewound meanwhile (an error ack): start over from the new position
        ++next_seq;
        ++counters.published;
      }
      auto failed =
          client->publish_async(jetstream_subject_prefix + env.type,
                                store_id + "-" + std::to_string(env.seq), envelope_json(env));
      if (failed) {
        std::lock_guard<std::mutex> lock(mutex);
        need_rewind = true;
        error_backoff = std::clamp(error_backoff * 2, std::chrono::milliseconds(100),
                                   std::chrono::milliseconds(2000));
        return false;
      }
    }
    return events.size() == room;
  }

  void run() {
    for (;;) {
      std::chrono::milliseconds pause{0};
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait_for(lock, std::chrono::milliseconds(100), [&] { return woken || stopping; });
        if (stopping)
          return;
        woken = false;
        pause = error_backoff;
      }
      persist_position();
      if (!client->connected())
        continue;
      if (pause.count() > 0) {
        std::unique_lock<std::mutex> lock(mutex);
        if (wake.wait_for(lock, pause, [&] { return stopping; }))
          return;
      }
      if (!ensure_stream())
        continue;
      if (publish_round()) {
        std::lock_guard<std::mutex> lock(mutex);
        woken = true;
      }
    }
  }

  bool ensure_stream() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stream_ready)
        return true;
    }
    stream_spec spec;
    spec.max_age_hours = options.stream_max_age_hours;
    spec.duplicate_window_seconds = options.duplicate_window_seconds;
    spec.replicas = options.stream_replicas;
    auto problem = client->ensure_stream(spec);
    std::lock_guard<std::mutex> lock(mutex);
    if (problem) {
      std::cerr << "flashsale: outbox: cannot create stream " << jetstream_stream << ": "
                << problem->message << std::endl;
      error_backoff = std::clamp(error_backoff * 2, std::chrono::milliseconds(100),
                                 std::chrono::milliseconds(2000));
      return false;
    }
    stream_ready = true;
    need_rewind = true;
    return true;
  }
};

std::variant<std::unique_ptr<outbox_relay>, std::string>
outbox_relay::start(event_store& store, outbox_relay_options options) {
  auto self = std::make_unique<impl>(store, std::move(options));
  self->store_id = store.store_id();
  self->durable = store.outbox_position();
  self->acked_through = self->durable;
  self->next_seq = self->durable + 1;
  auto* raw = self.get();
  jetstream_options jo;
  jo.url = self->options.nats_url;
  jo.name = "flashsale-outbox-" + self->store_id;
  jo.security = self->options.security;
  jo.publish_window = self->options.publish_window;
  jo.publish_timeout_ms = self->options.publish_timeout_ms;
  jo.on_status = [raw](bool up) { raw->on_status(up); };
  jo.on_publish_result = [raw](const std::string& id, const std::optional<jetstream_error>& e) {
    raw->on_result(id, e);
  };
  auto connected = jetstream_client::connect(std::move(jo));
  if (auto problem = std::get_if<jetstream_error>(&connected))
    return "cannot connect to NATS: " + problem->message;
  self->client = std::move(std::get<0>(connected));
  self->thread = std::thread([raw] {
    pthread_setname_np(pthread_self(), "fs-outbox");
    raw->run();
  });
  return std::unique_ptr<outbox_relay>(new outbox_relay(std::move(self)));
}

outbox_relay::outbox_relay(std::unique_ptr<impl> self) : self_(std::move(self)) {}

outbox_relay::~outbox_relay() {
  bool position_pending = false;
  {
    std::lock_guard<std::mutex> lock(self_->mutex);
    self_->stopping = true;
    self_->wake.notify_one();
  }
  self_->thread.join();
  self_->client.reset(); // no publish result is reported after this
  {
    std::lock_guard<std::mutex> lock(self_->mutex);
    position_pending = self_->position_in_flight;
  }
  if (position_pending)
    self_->store.flush(); // its callback refers to us
}

void outbox_relay::wake() {
  std::lock_guard<std::mutex> lock(self_->mutex);
  self_->woken = true;
  self_->wake.notify_one();
}

bool outbox_relay::connected() const {
  return self_->client->connected();
}

outbox_relay_stats outbox_relay::stats() const {
  std::lock_guard<std::mutex> lock(self_->mutex);
  auto s = self_->counters;
  s.acked = self_->acked_through;
  return s;
}

} // namespace flashsale
