// The partition log on a real three-server JetStream cluster: the stream refuses a writer
// whose expected sequence is stale, and R3 appends go on, none lost, when a server dies.
#include <signal.h>

#include "cluster/partition_log.hpp"
#include "tests/cluster/cluster_fixture.hpp"

using namespace flashsale;
using namespace flashsale::testing;
using std::chrono::seconds;

namespace {

std::unique_ptr<cluster::partition_log> open_log(std::shared_ptr<cluster::nats_link> link) {
  auto l = cluster::partition_log::open(std::move(link));
  if (auto e = std::get_if<std::string>(&l)) {
    ADD_FAILURE() << *e;
    return nullptr;
  }
  return std::move(std::get<0>(l));
}

std::uint64_t seq_of(const std::variant<std::uint64_t, cluster::append_refused>& r) {
  if (auto e = std::get_if<cluster::append_refused>(&r)) {
    ADD_FAILURE() << e->message;
    return 0;
  }
  return std::get<std::uint64_t>(r);
}

} // namespace

TEST_F(ClusterTest, AWriterThatMissedAClaimIsRefusedByTheStream) {
  auto old_owner = open_log(link);
  auto new_owner = open_log(connect_link("new-owner"));
  ASSERT_TRUE(old_owner && new_owner);
  auto claimed = old_owner->claim(3, "old", 10);
  ASSERT_TRUE(std::holds_alternative<std::uint64_t>(claimed)) << std::get<std::string>(claimed);
  auto expected = seq_of(old_owner->append(3, std::get<std::uint64_t>(claimed), "{\"n\":1}",
                                           "old", 10));
  ASSERT_GT(expected, 0u);

  auto taken = new_owner->claim(3, "new", 20); // the old owner's lease expired meanwhile
  ASSERT_TRUE(std::holds_alternative<std::uint64_t>(taken));
  auto late = old_owner->append(3, expected, "{\"n\":2}", "old", 10);
  ASSERT_TRUE(std::holds_alternative<cluster::append_refused>(late));
  EXPECT_TRUE(std::get<cluster::append_refused>(late).fenced)
    << std::get<cluster::append_refused>(late).message;
  EXPECT_GT(seq_of(new_owner->append(3, std::get<std::uint64_t>(taken), "{\"n\":3}", "new", 20)),
            0u);

  auto records = new_owner->read(3);
  ASSERT_TRUE(std::holds_alternative<std::vector<cluster::partition_record>>(records));
  std::string seen;
  for (auto& r : std::get<std::vector<cluster::partition_record>>(records))
    seen += r.owner + (r.type == cluster::partition_record::kind::claim ? ":claim " : ":" + r.body + " ");
  EXPECT_EQ(seen, "old:claim old:{\"n\":1} new:claim new:{\"n\":3} ");
  // Other partitions are other subjects: their sequences do not fence this one.
  EXPECT_EQ(std::get<std::uint64_t>(new_owner->last_seq(4)), 0u);
}

TEST_F(ClusterTest, AppendsGoOnAndNoneIsLostWhenAServerIsKilled) {
  auto log = open_log(link);
  ASSERT_TRUE(log);
  auto claimed = log->claim(0, "a", 1);
  ASSERT_TRUE(std::holds_alternative<std::uint64_t>(claimed));
  std::uint64_t expected = std::get<std::uint64_t>(claimed);
  std::vector<std::string> acknowledged;
  int unanswered = 0;
  auto append = [&](int n) {
    auto body = "{\"n\":" + std::to_string(n) + "}";
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto r = log->append(0, expected, body, "a", 1);
      if (auto seq = std::get_if<std::uint64_t>(&r)) {
        expected = *seq;
        acknowledged.push_back(body);
        return;
      }
      ++unanswered;
      // No answer: it may have landed. Our own record at the head means it did.
      auto records = log->read(0);
      if (auto all = std::get_if<std::vector<cluster::partition_record>>(&records);
          all && !all->empty() && all->back().body == body) {
        expected = all->back().seq;
        acknowledged.push_back(body);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "append " << n << " never acknowledged";
  };
  for (int n = 0; n < 50; ++n)
    append(n);
  cluster->kill(0); // SIGKILL: maybe the server we are connected to, maybe a stream leader
  for (int n = 50; n < 100; ++n)
    append(n);
  ASSERT_EQ(acknowledged.size(), 100u);

  auto records = log->read(0);
  ASSERT_TRUE(std::holds_alternative<std::vector<cluster::partition_record>>(records))
    << std::get<std::string>(records);
  std::vector<std::string> stored;
  for (auto& r : std::get<std::vector<cluster::partition_record>>(records))
    if (r.type == cluster::partition_record::kind::events)
      stored.push_back(r.body);
  EXPECT_EQ(stored, acknowledged) << "every acknowledged append, once, in order";
  std::cout << "appends without an answer while a server died: " << unanswered << "\n";
}
