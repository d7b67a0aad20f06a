// The flash crowd over HTTP: 2,000 distinct buyers race for 100 units over 64 concurrent
// keep-alive connections. Exactly 100 win, 1,900 are told sold_out, nothing is oversold.
#include <atomic>
#include <thread>
#include <vector>

#include "tests/http/http_fixture.hpp"

using namespace flashsale;
using flashsale::testing::http_node;
namespace t = flashsale::testing;

TEST(HttpFlashCrowd, TwoThousandBuyersSixtyFourConnectionsExactlyOneHundredWin) {
  t::temp_dir dir;
  http_node n(dir.path());
  auto admin = n.client();
  ASSERT_EQ(t::define(*admin, "drop", {{"name", "drop"}, {"stock", 100}})->status, 201);
  constexpr int buyers = 2000, connections = 64;
  std::atomic<int> next{0}, created{0}, sold_out{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i)
    threads.emplace_back([&] {
      auto c = n.client();
      for (int b = next++; b < buyers; b = next++) {
        auto r = t::order(*c, "buyer-" + std::to_string(b), "drop", 1);
        if (r && r->status == 201)
          ++created;
        else if (r && r->status == 409 && t::error_code(r) == "sold_out")
          ++sold_out;
        else
          ++other;
      }
    });
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(created.load(), 100);
  EXPECT_EQ(sold_out.load(), 1900);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(t::counts(*admin, "drop"), "100/0/100/0");
}
