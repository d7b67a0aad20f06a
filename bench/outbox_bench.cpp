// outbox_bench: the outbox relay (read store -> js async publish with Nats-Msg-Id -> PubAck ->
// durable position) against a raw js_PublishAsync loop of the same bodies with msg ids, both on
// one local nats-server started here (the node's embedded-server code) in the same run. Then a
// burst: events appended at the store's peak rate for --burst seconds with the relay running;
// prints the lag when the burst ends and how long it takes to drain.
// Usage: outbox_bench [--events N] [--burst SECONDS] [--window W]
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "node/nats_server.hpp"
#include "persistence/jetstream.hpp"
#include "persistence/outbox_relay.hpp"
#include "persistence/sqlite_event_store.hpp"

namespace {

using namespace flashsale;
using clock_type = std::chrono::steady_clock;

double since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

/// Appends `batches` batches of 100 events, each batch a new stream; returns the events added.
long append(event_store& store, long batches, long& stream_counter) {
  std::string data = R"({"order_id":"o-0123456789abcdef","expires_at":"2026-11-21T10:10:00.000Z",)"
                     R"("total_cents":99900,"lines":[{"product_id":"iphone","quantity":1}]})";
  long added = 0;
  for (long b = 0; b < batches; ++b) {
    append_batch batch;
    stream_append s;
    s.stream = "order-bench-" + std::to_string(stream_counter++);
    for (int i = 0; i < 100; ++i)
      s.events.push_back(new_event{"OrderReserved", data, 1790000000000});
    batch.streams.push_back(std::move(s));
    auto r = store.append_sync(std::move(batch));
    if (r.error) {
      std::fprintf(stderr, "append failed: %s\n", r.error->message.c_str());
      std::exit(1);
    }
    added += 100;
  }
  return added;
}

} // namespace

int main(int argc, char** argv) {
  long events = 100000;
  int burst_seconds = 20;
  int window = 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--events")
      events = std::atol(argv[i + 1]);
    else if (flag == "--burst")
      burst_seconds = std::atoi(argv[i + 1]);
    else if (flag == "--window")
      window = std::atoi(argv[i + 1]);
  }
  auto dir =
      std::filesystem::temp_directory_path() / ("outbox_bench_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  nats_server_options so;
  so.data_dir = dir.string();
  auto server_started = nats_server_supervisor::start(so);
  if (auto problem = std::get_if<std::string>(&server_started)) {
    std::fprintf(stderr, "%s\n", problem->c_str());
    return 1;
  }
  auto& server = *std::get<0>(server_started);

  store_options sto;
  sto.path = (dir / "events.db").string();
  sto.sync = sync_mode::normal;
  auto opened = open_sqlite_event_store(sto);
  if (!std::holds_alternative<std::unique_ptr<event_store>>(opened))
    return 1;
  auto& store = *std::get<0>(opened);
  long stream_counter = 0;
  append(store, events / 100, stream_counter);
  auto sample = store.read_from(0, 1).front();
  std::string body = nlohmann::json(sample).dump();

  // 1. Raw: js_PublishAsync of the same body, distinct msg ids, until every PubAck is in.
  std::atomic<long> acked{0};
  jetstream_options jo;
  jo.url = server.url();
  jo.publish_window = window;
  jo.on_publish_result = [&](const std::string&, const std::optional<jetstream_error>&) {
    ++acked;
  };
  auto raw_client = std::move(std::get<0>(jetstream_client::connect(jo)));
  while (!raw_client->connected())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stream_spec raw_stream;
  raw_stream.name = "RAW";
  raw_stream.subjects = {"raw.>"};
  raw_client->ensure_stream(raw_stream);
  auto t0 = clock_type::now();
  for (long i = 0; i < events; ++i)
    while (raw_client->publish_async("raw.OrderReserved", "raw-" + std::to_string(i), body))
      std::this_thread::yield(); // the window is full: the library stalled and refused
  while (acked < events)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  double raw_rate = events / since(t0);
  raw_client.reset();

  // 2. The relay over the same number of already committed events.
  outbox_relay_options ro;
  ro.nats_url = server.url();
  ro.publish_window = window;
  auto t1 = clock_type::now();
  auto relay = std::move(std::get<0>(outbox_relay::start(store, ro)));
  store.set_commit_observer([&](const commit_stats&) { relay->wake(); });
  while (store.outbox_position() < store.last_seq())
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  double relay_rate = events / since(t1);
  std::printf("events %ld, window %d, body %zu bytes\n", events, window, body.size());
  std::printf("raw js_PublishAsync + MsgId: %8.0f msg/s\n", raw_rate);
  std::printf("outbox relay (read+publish+ack+position): %8.0f events/s  ratio %.2f\n", relay_rate,
              relay_rate / raw_rate);

  // 3. Burst at the store's peak append rate (sync=normal, 100-event batches, one producer).
  auto t2 = clock_type::now();
  long appended = 0;
  long max_lag = 0;
  while (since(t2) < burst_seconds) {
    appended += append(store, 10, stream_counter);
    max_lag = std::max<long>(max_lag, store.last_seq() - store.outbox_position());
  }
  double burst_time = since(t2);
  long lag_at_end = store.last_seq() - store.outbox_position();
  auto t3 = clock_type::now();
  while (store.outbox_position() < store.last_seq())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::printf("burst: %ld events in %.1f s (%.0f events/s appended); max lag %ld, lag at end %ld,"
              " drained in %.3f s\n",
              appended, burst_time, appended / burst_time, max_lag, lag_at_end, since(t3));
  store.set_commit_observer(nullptr);
  relay.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
