#include "tests/chaos/workload.hpp"

#include <algorithm>

#include "payments/webhook_signature.hpp"
#include "tests/chaos/http_call.hpp"
#include "tests/chaos/schedule.hpp"

namespace flashsale::testing::chaos {

using nlohmann::json;

unix_ms now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void served_log::record(int partition, unix_ms at) {
  std::lock_guard lock(mutex_);
  at_[partition].push_back(at);
}

std::map<int, std::vector<unix_ms>> served_log::snapshot() const {
  std::lock_guard lock(mutex_);
  auto copy = at_;
  for (auto& [p, times] : copy)
    std::sort(times.begin(), times.end());
  return copy;
}

bool served_log::all_since(unix_ms since, int partitions) const {
  std::lock_guard lock(mutex_);
  for (int p = 0; p < partitions; ++p) {
    auto it = at_.find(p);
    if (it == at_.end() || std::none_of(it->second.begin(), it->second.end(), [&](unix_ms t) {
          return t >= since;
        }))
      return false;
  }
  return true;
}

struct workload::intention {
  op_kind kind = op_kind::place;
  unix_ms due = 0;
  int attempts = 0;
  std::string user, key;
  std::vector<item> items;
  std::string order_id;
  std::int64_t total = 0;
  std::string event_id;
  bool succeed = true;
};

struct workload::buyer_state {
  int client = 0;
  seeded_random rng;
  int placed = 0;
  std::vector<intention> later;                  ///< follow-ups and retries, by due time
  std::map<std::string, unix_ms> sold_out_until; ///< product -> don't bother before
  explicit buyer_state(int c, std::uint64_t seed) : client(c), rng(seed) {}
};

workload::workload(const netns::host& client, history& h, served_log& served, workload_options o)
  : client_(client), history_(h), served_(served), o_(std::move(o)) {}

workload::~workload() {
  stop();
}

void workload::start() {
  for (int c = 0; c < o_.buyers; ++c)
    threads_.emplace_back([this, c] {
      auto inside = client_.enter();
      buyer(c);
    });
  for (int p = 0; p < o_.partitions; ++p)
    threads_.emplace_back([this, p] {
      auto inside = client_.enter();
      prober(p);
    });
}

void workload::drain() {
  draining_ = true;
}

void workload::stop() {
  stopping_ = true;
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
  threads_.clear();
}

void workload::buyer(int c) {
  buyer_state b(c, o_.seed * 1'000'003 + static_cast<std::uint64_t>(c));
  const auto pace = o_.pace.count();
  while (!stopping_) {
    const auto now = now_ms();
    auto due =
        std::min_element(b.later.begin(), b.later.end(),
                         [](const intention& x, const intention& y) { return x.due < y.due; });
    intention next;
    if (due != b.later.end() && due->due <= now) {
      next = std::move(*due);
      b.later.erase(due);
    } else {
      // A new order: one item (most often) or two of one partition; 1 or 2 units each.
      std::vector<std::string> wanted;
      if (!o_.same_partition.empty() && b.rng.chance(30))
        wanted = b.rng.pick(o_.same_partition);
      else
        wanted = {b.rng.pick(o_.products).id};
      const bool all_sold_out = std::all_of(wanted.begin(), wanted.end(),
                                            [&](auto& id) { return b.sold_out_until[id] > now; });
      if (all_sold_out && (draining_ || b.rng.chance(80))) {
        std::this_thread::sleep_for(std::chrono::milliseconds(pace / 4));
        continue;
      }
      ++b.placed;
      next.user = "u" + std::to_string(c) + "-" + std::to_string(b.placed);
      next.key =
          "k" + std::to_string(o_.seed) + "-" + std::to_string(c) + "-" + std::to_string(b.placed);
      for (auto& id : wanted)
        next.items.push_back({id, b.rng.chance(80) ? 1 : 2});
    }
    act(b, next);
    std::this_thread::sleep_for(std::chrono::milliseconds(b.rng.between(pace / 2, pace * 3 / 2)));
  }
}

void workload::act(buyer_state& b, intention& next) {
  auto& node = b.rng.pick(o_.nodes);
  operation op;
  op.client = b.client;
  op.node = node.name;
  op.kind = next.kind;
  op.user_id = next.user;
  http_request req;
  req.host = node.address;
  req.method = "POST";
  if (next.kind == op_kind::place) {
    op.key = next.key;
    op.items = next.items;
    json items = json::array();
    for (auto& i : next.items)
      items.push_back({{"product_id", i.product_id}, {"quantity", i.quantity}});
    req.path = "/orders";
    req.body = json{{"user_id", next.user}, {"items", items}}.dump();
    req.headers = {{"Idempotency-Key", next.key}};
  } else if (next.kind == op_kind::cancel) {
    op.order_id = next.order_id;
    req.path = "/orders/" + next.order_id + "/cancel";
    req.body = json{{"user_id", next.user}}.dump();
  } else {
    op.order_id = next.order_id;
    op.event_id = next.event_id;
    op.payment_succeeded = next.succeed;
    op.amount_cents = next.total;
    req.path = "/payments/webhook";
    req.body = json{{"event_id", next.event_id},
                    {"order_id", next.order_id},
                    {"payment_id", "pay-" + next.event_id},
                    {"status", next.succeed ? "succeeded" : "failed"},
                    {"amount_cents", next.total}}
                   .dump();
    req.headers = {
        {webhook_signature_header, sign_webhook(o_.webhook_secret, now_ms() / 1000, req.body)}};
  }
  op.invoke = now_ms();
  auto answer = http_call(req);
  op.complete = now_ms();
  op.status = answer.status;
  op.replayed = answer.replayed;
  if (answer.status == 0)
    op.detail = answer.error;
  else if (answer.status >= 300) {
    op.code = answer.code();
    if (answer.body.is_object() && answer.body.contains("error"))
      op.detail = answer.body["error"].value("message", "");
  }
  if (next.kind == op_kind::place)
    after_place(b, next, op, answer);
  else
    after_settle(b, next, op);
  history_.add(op);
}

void workload::after_place(buyer_state& b, intention& next, operation& op, const http_answer& a) {
  const auto now = op.complete;
  if (op.status == 201 || op.status == 409)
    served_.record(partition_of(next.items.front().product_id, o_.partitions), now);
  if (op.status == 201 && a.body.is_object()) {
    op.order_id = a.body.value("order_id", "");
    op.result = a.body.value("status", "");
    // What the buyer does with the hold: pay (sometimes a failed payment), cancel, or
    // nothing (it expires). At the end of the sale everything is paid at once.
    intention then;
    then.user = next.user;
    then.order_id = op.order_id;
    then.total = a.body.value("total_cents", std::int64_t{0});
    const auto choice = b.rng.between(0, 99);
    if (draining_ || choice < 55) {
      then.kind = op_kind::pay;
      then.event_id = "e-" + next.key;
      then.succeed = draining_ || b.rng.chance(90);
      then.due = draining_ ? now : now + b.rng.between(0, 1500);
      b.later.push_back(std::move(then));
    } else if (choice < 70) {
      then.kind = op_kind::cancel;
      then.due = now + b.rng.between(0, 1500);
      b.later.push_back(std::move(then));
    }
    return;
  }
  if (op.status == 409 && op.code == "sold_out") {
    for (auto& i : next.items)
      b.sold_out_until[i.product_id] = now + 300;
    return;
  }
  if (op.unknown() && next.attempts < 3) { // the same key again, on a random node
    ++next.attempts;
    next.due = now + 300;
    b.later.push_back(next);
  }
}

void workload::after_settle(buyer_state& b, intention& next, const operation& op) {
  if (op.status == 200 || op.status == 409)
    served_.record(partition_of(next.order_id, o_.partitions), op.complete);
  // Payments are retried until answered once the sale ends: a hold left unpaid would only
  // expire, but a paid one must be known paid for the sale to finish.
  const int attempts = next.kind == op_kind::pay && draining_ ? 1000 : 3;
  if (op.unknown() && next.attempts < attempts) {
    ++next.attempts;
    next.due = op.complete + 300;
    b.later.push_back(next);
  }
}

void workload::prober(int partition) {
  std::string product;
  for (auto& p : o_.products)
    if (p.partition == partition) {
      product = p.id;
      break;
    }
  if (product.empty())
    return;
  for (std::size_t turn = static_cast<std::size_t>(partition); !stopping_; ++turn) {
    auto& node = o_.nodes[turn % o_.nodes.size()];
    http_request req;
    req.host = node.address;
    req.path = "/products/" + product;
    req.connect_timeout = std::chrono::milliseconds(300);
    req.read_timeout = std::chrono::milliseconds(700);
    auto a = http_call(req);
    if (a.status == 200)
      served_.record(partition, now_ms());
    std::this_thread::sleep_for(std::chrono::milliseconds(a.status == 200 ? 100 : 30));
  }
}

} // namespace flashsale::testing::chaos
