// The SQLite event store on real files: round trip, concurrent appenders, version conflicts
// inside a group, the group bound, idempotency, snapshots and the outbox position. Opening and
// schema checks: store_open_test.cpp; SIGKILL and a failing disk: store_failure_test.cpp.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "events/world_snapshot.hpp"
#include "persistence/snapshot_file.hpp"
#include "persistence/world_recovery.hpp"
#include "tests/persistence/store_test_util.hpp"
#include "tests/support/temp_dir.hpp"

namespace flashsale {
namespace {

using testing::batch_of;
using testing::error_text;
using testing::events_for;
using testing::exec_outside;
using testing::open_store;
using testing::query_outside;
using testing::render;

/// Blocks the writer thread inside a `done` callback so the next appends form one group.
class writer_gate {
public:
  void close(event_store& store) {
    store.append(batch_of(events_for("gate", 0)), [this](append_result) {
      entered_.set_value();
      opened_.get_future().wait();
    });
    entered_.get_future().wait();
  }
  void open() { opened_.set_value(); }

private:
  std::promise<void> entered_, opened_;
};

TEST(EventStore, AppendThenReadRoundTrip) {
  testing::temp_dir dir;
  auto store = open_store(dir.file("events.db"));
  ASSERT_TRUE(store);
  EXPECT_EQ(store->last_seq(), 0);
  append_batch b;
  b.streams.push_back(events_for("order-a", 0, 2));
  b.streams.push_back(events_for("product-b", 0, 1, 7));
  auto r = store->append_sync(std::move(b));
  ASSERT_FALSE(r.error) << error_text(r);
  const std::string all =
      "1:order-a@1:E:{\"n\":1} 2:order-a@2:E:{\"n\":2} 3:product-b@1:E:{\"n\":7}";
  EXPECT_EQ(render(r.committed), all);
  EXPECT_EQ(r.committed[2].recorded_at, 1000);
  EXPECT_EQ(render(store->read_from(0, 100)), all);
  EXPECT_EQ(render(store->read_from(1, 1)), "2:order-a@2:E:{\"n\":2}");
  EXPECT_EQ(render(store->read_from(3, 100)), "");
  EXPECT_EQ(render(store->read_stream("order-a", 1).events), "2:order-a@2:E:{\"n\":2}");
  EXPECT_EQ(store->stream_version("order-a"), 2);
  EXPECT_EQ(store->stream_version("order-none"), 0);
  EXPECT_EQ(store->last_seq(), 3);

  store.reset(); // checkpoints: the WAL is gone or empty, everything is in the main file
  std::error_code ec;
  EXPECT_EQ(std::filesystem::exists(dir.file("events.db-wal"))
                ? std::filesystem::file_size(dir.file("events.db-wal"), ec)
                : 0u,
            0u);
  store = open_store(dir.file("events.db"));
  ASSERT_TRUE(store);
  EXPECT_EQ(render(store->read_from(0, 100)), all);
  EXPECT_EQ(store->last_seq(), 3);
  auto next = store->append_sync(batch_of(events_for("order-a", 2, 1, 3)));
  EXPECT_EQ(render(next.committed), "4:order-a@3:E:{\"n\":3}");
}

TEST(EventStore, ConcurrentAppendersNeverLoseOrReorderCommittedEvents) {
  testing::temp_dir dir;
  auto store = open_store(dir.file("events.db"));
  ASSERT_TRUE(store);
  constexpr int owners = 16, sharers = 8, owner_appends = 60, sharer_appends = 25;
  std::mutex acked_mutex;
  std::vector<envelope> acked;
  std::atomic<int> conflicts{0};
  std::atomic<bool> writing{true};
  auto keep = [&](const append_result& r) {
    std::lock_guard<std::mutex> lock(acked_mutex);
    acked.insert(acked.end(), r.committed.begin(), r.committed.end());
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < owners; ++t)
    threads.emplace_back([&, t] {
      std::int64_t version = 0;
      for (int i = 0; i < owner_appends; ++i) {
        int count = 1 + (i + t) % 3;
        auto r = store->append_sync(
            batch_of(events_for("order-" + std::to_string(t), version, count, t * 1000 + i)));
        ASSERT_FALSE(r.error) << error_text(r);
        version += count;
        keep(r);
      }
    });
  for (int t = 0; t < sharers; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < sharer_appends; ++i) {
        for (;;) { // optimistic concurrency: re-read the head and retry on a conflict
          auto head = store->stream_version("product-shared");
          auto r =
              store->append_sync(batch_of(events_for("product-shared", head, 1, t * 1000 + i)));
          if (!r.error) {
            keep(r);
            break;
          }
          ASSERT_EQ(r.error->code, store_errc::version_conflict) << error_text(r);
          ++conflicts;
        }
      }
    });
  // A reader alongside: every page it sees is in strictly increasing seq order.
  std::thread reader([&] {
    std::int64_t seen = 0;
    while (writing.load()) {
      for (const auto& e : store->read_from(seen, 200)) {
        ASSERT_GT(e.seq, seen);
        seen = e.seq;
      }
    }
  });
  for (auto& t : threads)
    t.join();
  writing = false;
  reader.join();

  auto stored = store->read_from(0, 1'000'000);
  ASSERT_EQ(stored.size(), acked.size());
  std::map<std::string, std::int64_t> heads;
  std::int64_t last = 0;
  for (const auto& e : stored) {
    ASSERT_GT(e.seq, last);
    last = e.seq;
    ASSERT_EQ(e.version, ++heads[e.stream]) << "gap in " << e.stream;
  }
  EXPECT_EQ(heads["product-shared"], sharers * sharer_appends);
  EXPECT_EQ(store->last_seq(), last);
  std::sort(acked.begin(), acked.end(), [](auto& a, auto& b) { return a.seq < b.seq; });
  EXPECT_EQ(render(acked), render(stored));
  std::cout << "[          ] shared-stream conflicts retried: " << conflicts.load() << "\n";
}

TEST(EventStore, VersionConflictRollsBackOnlyItsOwnBatchOfTheGroup) {
  testing::temp_dir dir;
  auto store = open_store(dir.file("events.db"));
  ASSERT_TRUE(store);
  ASSERT_FALSE(store->append_sync(batch_of(events_for("x", 0))).error);
  std::mutex stats_mutex;
  std::vector<commit_stats> stats;
  store->set_commit_observer([&](const commit_stats& s) {
    std::lock_guard<std::mutex> lock(stats_mutex);
    stats.push_back(s);
  });

  writer_gate gate;
  gate.close(*store);
  std::vector<std::promise<append_result>> answers(4);
  auto submit = [&](int i, append_batch b) {
    store->append(std::move(b), [&answers, i](append_result r) { answers[i].set_value(r); });
  };
  submit(0, batch_of(events_for("p", 0, 1, 10)));
  append_batch mixed; // q would be fine, x is stale: nothing of this batch may be written
  mixed.streams.push_back(events_for("q", 0, 2, 20));
  mixed.streams.push_back(events_for("x", 0, 1, 30));
  mixed.idempotency.push_back(idempotency_record{"u1", "k1", "h", "o-1", 201, "{}", 5});
  submit(1, std::move(mixed));
  submit(2, batch_of(events_for("r", 0, 1, 40)));
  submit(3, batch_of(events_for("p", 1, 1, 11))); // builds on batch 0 of the same group
  gate.open();
  store->flush();

  std::vector<append_result> r;
  for (auto& a : answers)
    r.push_back(a.get_future().get());
  EXPECT_EQ(error_text(r[1]),
            "version_conflict: version conflict on stream 'x': expected version 0, actual 1");
  EXPECT_TRUE(r[1].committed.empty());
  EXPECT_EQ(render(r[0].committed) + " " + render(r[2].committed) + " " + render(r[3].committed),
            "3:p@1:E:{\"n\":10} 4:r@1:E:{\"n\":40} 5:p@2:E:{\"n\":11}");
  EXPECT_EQ(store->stream_version("q"), 0);
  EXPECT_EQ(store->stream_version("x"), 1);
  EXPECT_FALSE(store->find_idempotency("u1", "k1"));
  std::lock_guard<std::mutex> lock(stats_mutex);
  ASSERT_FALSE(stats.empty());
  EXPECT_EQ(stats.back().batches, 3u);
  EXPECT_EQ(stats.back().events, 3u);
  EXPECT_EQ(stats.back().last_seq, 5);
}

TEST(EventStore, UniqueConstraintCatchesAStaleHeadCache) {
  testing::temp_dir dir;
  auto path = dir.file("events.db");
  auto store = open_store(path);
  ASSERT_TRUE(store);
  ASSERT_FALSE(store->append_sync(batch_of(events_for("s", 0))).error); // caches head 1
  exec_outside(path, "INSERT INTO events(stream, version, type, data, recorded_at)"
                     " VALUES('s', 2, 'E', '{}', 0)");
  append_batch b = batch_of(events_for("fresh", 0));
  b.streams.push_back(events_for("s", 1));
  auto r = store->append_sync(std::move(b));
  EXPECT_EQ(error_text(r),
            "version_conflict: version conflict on stream 's': expected version 1, actual 2");
  EXPECT_EQ(store->stream_version("fresh"), 0); // rolled back with its batch
  // A batch of one row (written without a savepoint) is caught the same way.
  exec_outside(path, "INSERT INTO events(stream, version, type, data, recorded_at)"
                     " VALUES('s', 3, 'E', '{}', 0)");
  EXPECT_EQ(error_text(store->append_sync(batch_of(events_for("s", 2)))),
            "version_conflict: version conflict on stream 's': expected version 2, actual 3");
  auto retried = store->append_sync(batch_of(events_for("s", 3)));
  ASSERT_FALSE(retried.error) << error_text(retried);
  EXPECT_EQ(retried.committed.at(0).version, 4);
  EXPECT_EQ(store->stream_version("s"), 4);
}

TEST(EventStore, ExpectingANewStreamThatExistsConflictsWithoutALookup) {
  // Appends expecting version 0 skip the head lookup (one per order); an existing stream the
  // cache does not know (written before a restart) must still conflict and write nothing.
  testing::temp_dir dir;
  auto path = dir.file("events.db");
  {
    auto store = open_store(path);
    ASSERT_TRUE(store);
    ASSERT_FALSE(store->append_sync(batch_of(events_for("order-1", 0, 2))).error);
    ASSERT_FALSE(store->append_sync(batch_of(events_for("order-4", 0))).error);
    ASSERT_FALSE(store->append_sync(batch_of(events_for("order-5", 0))).error);
  }
  auto store = open_store(path); // an empty head cache
  ASSERT_TRUE(store);
  EXPECT_EQ(error_text(store->append_sync(batch_of(events_for("order-1", 0)))),
            "version_conflict: version conflict on stream 'order-1': expected version 0,"
            " actual 2");
  append_batch two = batch_of(events_for("order-2", 0)); // new, then an unknown existing one
  two.streams.push_back(events_for("order-4", 0, 3));
  EXPECT_EQ(error_text(store->append_sync(std::move(two))),
            "version_conflict: version conflict on stream 'order-4': expected version 0,"
            " actual 1");
  EXPECT_EQ(store->stream_version("order-2"), 0) << "rolled back with its batch";
  EXPECT_EQ(store->stream_version("order-1"), 2);
  // A batch that fails on another stream before any insert must not leave order-5 (existing,
  // uncached) cached at the unchecked 0 it was expected at.
  append_batch mixed = batch_of(events_for("order-5", 0));
  mixed.streams.push_back(events_for("order-1", 7)); // cached at 2: conflicts in the check
  EXPECT_EQ(error_text(store->append_sync(std::move(mixed))),
            "version_conflict: version conflict on stream 'order-1': expected version 7,"
            " actual 2");
  auto on_five = store->append_sync(batch_of(events_for("order-5", 1)));
  ASSERT_FALSE(on_five.error) << error_text(on_five);
  EXPECT_EQ(on_five.committed.at(0).version, 2);
  auto next = store->append_sync(batch_of(events_for("order-1", 2)));
  ASSERT_FALSE(next.error) << error_text(next);
  EXPECT_EQ(next.committed.at(0).version, 3);
  auto fresh = store->append_sync(batch_of(events_for("order-3", 0)));
  ASSERT_FALSE(fresh.error) << error_text(fresh);
  EXPECT_EQ(store->last_seq(), 7);
}

TEST(EventStore, IdempotencyRecordFirstAnswerWins) {
  testing::temp_dir dir;
  auto store = open_store(dir.file("events.db"));
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->find_idempotency("u1", "k"));
  append_batch first = batch_of(events_for("order-1", 0));
  first.idempotency.push_back({"u1", "k", "hash-1", "order-1", 201, "{\"id\":1}", 100});
  ASSERT_FALSE(store->append_sync(std::move(first)).error);
  append_batch second = batch_of(events_for("order-2", 0));
  second.idempotency.push_back({"u1", "k", "hash-2", "order-2", 409, "{\"id\":2}", 200});
  second.idempotency.push_back({"u2", "k", "hash-3", "order-2", 201, "{\"id\":2}", 200});
  ASSERT_FALSE(store->append_sync(std::move(second)).error);

  auto found = store->find_idempotency("u1", "k");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->request_hash + " " + found->order_id + " " + std::to_string(found->status) + " "
                + found->body + " " + std::to_string(found->recorded_at),
            "hash-1 order-1 201 {\"id\":1} 100");
  ASSERT_TRUE(store->find_idempotency("u2", "k"));
  EXPECT_EQ(store->find_idempotency("u2", "k")->order_id, "order-2");
}

std::optional<store_error> save(event_store& store, snapshot s) {
  std::promise<std::optional<store_error>> done;
  store.save_snapshot(std::move(s), [&](std::optional<store_error> e) { done.set_value(e); });
  return done.get_future().get();
}

std::optional<store_error> set_outbox(event_store& store, std::int64_t seq) {
  std::promise<std::optional<store_error>> done;
  store.set_outbox_position(seq, [&](std::optional<store_error> e) { done.set_value(e); });
  return done.get_future().get();
}

TEST(EventStore, SnapshotLatestWinsAndOnlyTheNewestTwoAreKept) {
  testing::temp_dir dir;
  auto path = dir.file("events.db");
  auto store = open_store(path);
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->latest_snapshot());
  for (std::int64_t seq : {10, 30, 20})
    ASSERT_FALSE(save(*store, snapshot{seq, seq * 100, "state-" + std::to_string(seq)}));
  auto latest = store->latest_snapshot();
  ASSERT_TRUE(latest);
  EXPECT_EQ(std::to_string(latest->seq) + " " + std::to_string(latest->taken_at) + " "
                + latest->data,
            "30 3000 state-30");
  store.reset();
  EXPECT_EQ(query_outside(snapshot_file_path(path),
                          "SELECT group_concat(seq) FROM (SELECT seq FROM snapshots ORDER BY seq)"),
            "20,30")
      << "snapshots live in their own file, never in the events file";
}

TEST(EventStore, RecoveryFromSnapshotFoldsEveryEventExactlyOnce) {
  testing::temp_dir dir;
  auto path = dir.file("events.db");
  auto fold = [](std::int64_t state, const std::vector<envelope>& events) {
    for (const auto& e : events) // data is {"n":k}: the counter adds k
      state += std::stoll(e.data.substr(5, e.data.size() - 6));
    return state;
  };
  std::int64_t full = 0;
  {
    auto store = open_store(path);
    ASSERT_TRUE(store);
    for (int i = 1; i <= 6; ++i)
      ASSERT_FALSE(store->append_sync(batch_of(events_for("counter", i - 1, 1, i))).error);
    auto state = fold(0, store->read_from(0, 100));
    ASSERT_FALSE(save(*store, snapshot{store->last_seq(), 0, std::to_string(state)}));
    for (int i = 7; i <= 10; ++i)
      ASSERT_FALSE(store->append_sync(batch_of(events_for("counter", i - 1, 1, i))).error);
    full = fold(0, store->read_from(0, 100));
  }
  auto store = open_store(path);
  ASSERT_TRUE(store);
  auto snap = store->latest_snapshot();
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->seq, 6);
  EXPECT_EQ(fold(std::stoll(snap->data), store->read_from(snap->seq, 100)), full);
  EXPECT_EQ(full, 55);
}

TEST(EventStore, OutboxPositionIsMonotonicAndSurvivesReopen) {
  testing::temp_dir dir;
  auto path = dir.file("events.db");
  {
    auto store = open_store(path);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->outbox_position(), 0);
    ASSERT_FALSE(set_outbox(*store, 5));
    EXPECT_EQ(store->outbox_position(), 5);
    ASSERT_FALSE(set_outbox(*store, 3)); // lower: ignored, not an error
    EXPECT_EQ(store->outbox_position(), 5);
    ASSERT_FALSE(set_outbox(*store, 9));
  }
  auto store = open_store(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->outbox_position(), 9);
  ASSERT_FALSE(set_outbox(*store, 7));
  EXPECT_EQ(store->outbox_position(), 9);
}

TEST(EventStore, MaxBatchEventsBoundsAGroupButNeverSplitsABatch) {
  testing::temp_dir dir;
  auto store = open_store(dir.file("events.db"), sync_mode::normal, 5);
  ASSERT_TRUE(store);
  std::mutex stats_mutex;
  std::vector<std::size_t> groups;
  store->set_commit_observer([&](const commit_stats& s) {
    std::lock_guard<std::mutex> lock(stats_mutex);
    groups.push_back(s.events);
  });
  writer_gate gate;
  gate.close(*store);
  for (int i = 0; i < 7; ++i)
    store->append(batch_of(events_for("single-" + std::to_string(i), 0)), nullptr);
  store->append(batch_of(events_for("big", 0, 8)), nullptr);
  store->append(batch_of(events_for("tail", 0)), nullptr);
  gate.open();
  store->flush();
  std::lock_guard<std::mutex> lock(stats_mutex);
  std::string sizes;
  for (auto n : groups)
    sizes += std::to_string(n) + " ";
  EXPECT_EQ(sizes, "1 5 2 8 1 "); // the gate, then the queue cut at 5 events per group
  EXPECT_EQ(store->last_seq(), 17);
}

TEST(EventStore, DestructionAnswersEveryQueuedAppend) {
  testing::temp_dir dir;
  auto path = dir.file("events.db");
  std::atomic<int> ok{0};
  {
    auto store = open_store(path);
    ASSERT_TRUE(store);
    for (int i = 0; i < 300; ++i)
      store->append(batch_of(events_for("s", i)), [&](append_result r) { ok += !r.error; });
  }
  EXPECT_EQ(ok.load(), 300);
  auto store = open_store(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->stream_version("s"), 300);
}

} // namespace
TEST(EventStore, ConflictOnASingleWriterStreamLatchesTheStore) {
  // An inventory actor answers reserves before their commit; that is only safe if a failed
  // product append can never be followed by a successful one.
  testing::temp_dir dir;
  auto store = open_store(dir.file("events.db"));
  ASSERT_TRUE(store);
  ASSERT_FALSE(store->append_sync(batch_of(events_for("product-a", 0))).error);
  auto stale = events_for("product-a", 0); // the writer believes the stream is still empty
  stale.single_writer = true;
  auto r = store->append_sync(batch_of(std::move(stale)));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, store_errc::store_failed) << r.error->message;
  EXPECT_TRUE(store->failure());
  auto later = store->append_sync(batch_of(events_for("order-o", 0)));
  ASSERT_TRUE(later.error) << "nothing may commit after it";
  EXPECT_EQ(later.error->code, store_errc::store_failed);
}

TEST(EventStore, ABatchWithASingleWriterStreamThatConflictsElsewhereLatchesToo) {
  // A single-item order commits its product's reservation and its order's first events in
  // one batch; the inventory applied the reservation already, so if the order's stream
  // conflicts the whole batch is undone and the store must refuse everything after it.
  testing::temp_dir dir;
  auto store = open_store(dir.file("events.db"));
  ASSERT_TRUE(store);
  ASSERT_FALSE(store->append_sync(batch_of(events_for("product-a", 0))).error);
  ASSERT_FALSE(store->append_sync(batch_of(events_for("order-o", 0))).error);
  auto reserve = events_for("product-a", 1);
  reserve.single_writer = true;
  append_batch both = batch_of(std::move(reserve));
  both.streams.push_back(events_for("order-o", 0, 2)); // expected new, but it exists
  auto r = store->append_sync(std::move(both));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, store_errc::store_failed) << r.error->message;
  EXPECT_EQ(store->stream_version("product-a"), 1) << "undone with its batch";
  auto later = store->append_sync(batch_of(events_for("order-p", 0)));
  ASSERT_TRUE(later.error) << "nothing may commit after it";
  EXPECT_EQ(later.error->code, store_errc::store_failed);
}

TEST(EventStore, SnapshotAheadOfTheLogIsNotUsed) {
  // store.sync=normal and a power cut: the log may lose its tail while the snapshot file
  // (written separately) keeps a snapshot of it. Recovery must not start from there.
  testing::temp_dir dir;
  auto store = open_store(dir.file("events.db"));
  ASSERT_TRUE(store);
  ASSERT_FALSE(store->append_sync(batch_of(events_for("order-o", 0))).error);
  world ahead;
  ahead.forget_settled_orders = true;
  ahead.last_seq = 99;
  ASSERT_FALSE(save(*store, snapshot{99, 0, encode_world(ahead)}));
  auto recovered = recover_world(log_source_of(*store), recovery_options{});
  EXPECT_FALSE(recovered.snapshot_seq);
  EXPECT_NE(recovered.snapshot_problem.find("ahead of the log"), std::string::npos)
      << recovered.snapshot_problem;
  EXPECT_EQ(recovered.state.last_seq, 1);
}

} // namespace flashsale
