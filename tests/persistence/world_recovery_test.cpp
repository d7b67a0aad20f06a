// recover_world's read/decode pipeline over logs longer than one read batch (8192 events) and
// one decode chunk: whoever decodes a chunk, the fold sees every event once, in seq order, and
// stops exactly at --at's seq, even in the middle of a chunk.
#include <atomic>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "persistence/world_recovery.hpp"
#include "tests/events/event_log.hpp"
#include "tests/events/render.hpp"

namespace flashsale {
namespace {

/// A sale of three products: every third buyer wins a unit, then pays or lets it expire;
/// the rest are rejected. About 2.3 events per order.
test::event_log sale_log(int orders) {
  test::event_log log;
  timestamp_ms now = 1'790'000'000'000;
  for (int p = 0; p < 3; ++p)
    log.append(
        ProductDefined{"p" + std::to_string(p), "product", 1'000'000, 100, 0, std::nullopt, 600},
        now);
  for (int i = 0; i < orders; ++i) {
    ++now;
    const auto pid = "p" + std::to_string(i % 3);
    const auto oid = "o-" + std::to_string(i);
    const auto uid = "u-" + std::to_string(i);
    log.append(OrderPlaced{oid, uid, {{pid, 1}}, "", "h", now}, now);
    if (i % 3 != 0) {
      log.append(OrderRejected{oid, "sold_out", "sold out"}, now);
      continue;
    }
    log.append(StockReserved{pid, oid, uid, 1, 100}, now);
    log.append(OrderReserved{oid, now + 600'000, 100, {{pid, 1, 100}}}, now);
    if (i % 2 == 0) {
      log.append(OrderPaid{oid, "pay-" + oid, "evt-" + oid, 100}, now);
      log.append(StockSold{pid, oid, uid, 1}, now);
    } else {
      log.append(OrderExpired{oid}, now);
      log.append(StockReleased{pid, oid, uid, 1, release_reason::expired}, now);
    }
  }
  return log;
}

log_source source_of(const std::vector<envelope>& entries, std::atomic<int>& reads) {
  return {[&entries, &reads](std::int64_t after, std::size_t limit) {
            ++reads;
            std::vector<envelope> out;
            for (auto i = static_cast<std::size_t>(after); i < entries.size() && out.size() < limit;
                 ++i)
              out.push_back(entries[i]); // entries[i].seq == i + 1
            return out;
          },
          [] { return std::optional<snapshot>{}; },
          {}};
}

world fold_sequentially(const std::vector<envelope>& entries, std::int64_t up_to) {
  world w;
  w.forget_settled_orders = true;
  for (const auto& env : entries)
    if (env.seq <= up_to)
      apply(w, env);
  return w;
}

TEST(WorldRecovery, ALogOfManyBatchesFoldsEveryEventOnceInSeqOrder) {
  const auto log = sale_log(12'000); // ~28k events: four read batches, over a hundred chunks
  ASSERT_GT(log.entries.size(), 3u * 8192);
  std::atomic<int> reads{0};
  std::int64_t expected_seq = 0;
  recovery_options options;
  options.after_each = [&](const envelope& env, const world&) {
    ASSERT_EQ(env.seq, ++expected_seq);
  };
  auto r = recover_world(source_of(log.entries, reads), options);
  EXPECT_EQ(r.events_folded, static_cast<std::int64_t>(log.entries.size()));
  EXPECT_EQ(expected_seq, r.events_folded);
  EXPECT_GE(reads.load(), 4);
  EXPECT_TRUE(r.state.decode_errors.empty());
  EXPECT_EQ(test::render(r.state), test::render(fold_sequentially(log.entries, r.events_folded)));
}

TEST(WorldRecovery, UpToSeqStopsInsideAChunkOfALaterBatch) {
  const auto log = sale_log(6'000);
  const std::int64_t at = 8192 + 300 + 7; // second batch, second chunk, mid-chunk
  ASSERT_GT(static_cast<std::int64_t>(log.entries.size()), at);
  std::atomic<int> reads{0};
  recovery_options options;
  options.up_to_seq = at;
  auto r = recover_world(source_of(log.entries, reads), options);
  EXPECT_EQ(r.events_folded, at);
  EXPECT_EQ(r.state.last_seq, at);
  EXPECT_EQ(test::render(r.state), test::render(fold_sequentially(log.entries, at)));
}

TEST(WorldRecovery, AnEmptyLogFoldsNothing) {
  std::vector<envelope> none;
  std::atomic<int> reads{0};
  auto r = recover_world(source_of(none, reads), {});
  EXPECT_EQ(r.events_folded, 0);
  EXPECT_EQ(r.state.last_seq, 0);
}

} // namespace
} // namespace flashsale
