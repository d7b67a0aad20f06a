// When a commit fails: the in-memory event store (persistence/memory_event_store.hpp) fails
// the commit a test names, or holds commits back, so the failure latch and the commit queue
// are driven deterministically. What must hold: nothing is acknowledged that did not commit;
// after a failed commit every later write is refused, /health says so, and no view shows
// what never committed; an answer that wrote nothing but rests on a failed commit is an
// error too, never the domain answer the failed state would have given.
#include <thread>

#include "actors/commit_queue.hpp"
#include "persistence/memory_event_store.hpp"
#include "tests/actors/node_fixture.hpp"

using namespace flashsale;
using flashsale::testing::eventually;

namespace {

class CommitFailure : public flashsale::testing::node_fixture {
protected:
  void SetUp() override {
    auto store = std::make_unique<memory_event_store>();
    store_ = store.get();
    node_options options;
    options.time = &clock_;
    options.store = std::move(store);
    auto started = node::start(config(), std::move(options));
    if (auto problem = std::get_if<std::string>(&started))
      FAIL() << *problem;
    node_ = std::move(std::get<0>(started));
  }

  memory_event_store* store_ = nullptr;
};

} // namespace

TEST_F(CommitFailure, AFailedReservationIsUnavailableAndEveryLaterWriteIsRefused) {
  define("a", 5);
  define("b", 5);
  store_->fail_commit(1);
  auto first = place("u-1", {{"a", 1}});
  EXPECT_EQ(first.status, 503) << first.body;
  EXPECT_FALSE(n().health().event_store_ok);
  EXPECT_EQ(place("u-2", {{"a", 1}}).status, 503) << "the store latched";
  EXPECT_EQ(place("u-3", {{"b", 1}}).status, 503) << "every product, not only the failed one";
  EXPECT_EQ(place("u-4", {{"a", 1}, {"b", 1}}).status, 503);
  EXPECT_EQ(stock_of("a"), "5/0/0 of 5") << "no view shows what never committed";
  EXPECT_EQ(store_->read_from(0, 100).size(), 2u) << "the two definitions, nothing else";
}

TEST_F(CommitFailure, AMultiItemOrderWhoseCommitFailsIsNotAcknowledged) {
  define("a", 5);
  define("b", 5);
  store_->pause();
  std::optional<reply> answer;
  std::thread buyer([&] { answer = place("u-1", {{"a", 1}, {"b", 1}}); });
  // Both holds (answered at once) and then the order's own batch wait for the writer.
  bool queued = eventually([&] { return store_->queued() == 3; });
  store_->fail_commit(1);
  store_->resume();
  buyer.join();
  ASSERT_TRUE(queued) << store_->queued();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 503) << answer->body;
  EXPECT_FALSE(n().health().event_store_ok);
  EXPECT_EQ(place("u-2", {{"a", 1}}).status, 503);
  EXPECT_EQ(stock_of("a") + " " + stock_of("b"), "5/0/0 of 5 5/0/0 of 5");
}

TEST(CommitQueue, AnAnswerThatWroteNothingButRestsOnAFailedCommitGetsTheError) {
  // An inventory decided "sold out" because of a reservation still in flight; that
  // reservation's commit then fails: the "sold out" must be reported as the failure.
  commit_queue q;
  std::vector<std::string> order;
  auto ticket = q.add_append([&](const std::optional<store_error>& e) {
    order.push_back(e ? "reservation failed" : "reservation ok");
  });
  q.add_barrier([&](const std::optional<store_error>& e) {
    order.push_back(e ? "sold out -> unavailable" : "sold out");
  });
  EXPECT_TRUE(order.empty()) << "the barrier waits for the append before it";
  q.committed(ticket, store_error{store_errc::store_failed, "disk full"});
  EXPECT_EQ(order, (std::vector<std::string>{"reservation failed", "sold out -> unavailable"}));
  q.add_barrier([&](const std::optional<store_error>& e) {
    order.push_back(e ? "later -> unavailable" : "later");
  });
  EXPECT_EQ(order.back(), "later -> unavailable") << "sticky: the actor's state is ahead";
}

TEST(CommitQueue, ContinuationsRunInTicketOrderWhateverOrderCommitsAreReported) {
  commit_queue q;
  std::string ran;
  auto a = q.add_append([&](const std::optional<store_error>&) { ran += "a"; });
  auto b = q.add_append([&](const std::optional<store_error>&) { ran += "b"; });
  q.add_barrier([&](const std::optional<store_error>&) { ran += "c"; });
  q.committed(b, std::nullopt);
  EXPECT_EQ(ran, "");
  q.committed(a, std::nullopt);
  EXPECT_EQ(ran, "abc");
  EXPECT_TRUE(q.idle());
}
