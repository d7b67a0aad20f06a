#include "tests/chaos/checker.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace flashsale::testing::chaos {

namespace {

class judge {
public:
  judge(const run_record& run, const checker_options& o, verdict& v)
    : run_(run), o_(o), v_(v), f_(fold_logs(run.logs, run.partitions)) {}

  void run() {
    v_.violations = f_.violations;
    v_.records = f_.records;
    v_.events = f_.events;
    v_.claims = f_.claims;
    credit_effects();
    for (auto& op : run_.history) {
      ++v_.answers[std::string(to_string(op.kind)) + " " + std::to_string(op.status)];
      if (op.kind == op_kind::place)
        place(op);
      else if (op.kind == op_kind::cancel)
        cancel(op);
      else
        pay(op);
    }
    for (auto& [eid, orders] : f_.payment_events)
      if (orders.size() > 1)
        add("duplicate",
            "payment event " + eid + " applied to " + std::to_string(orders.size()) + " orders",
            {});
    v_.acknowledged_orders = static_cast<int>(acknowledged_.size());
    reads();
    expiries();
    liveness();
    for (auto& crash : run_.crashes)
      add("crash", crash, {});
    for (auto& [p, text] : run_.replay_failures)
      add("replay", "flashsale replay --partition " + std::to_string(p) + " --verify: " + text, {});
    v_.per_fault =
        unavailable_per_fault(run_.faults, run_.served, o_.serve_within_ms, run_.observed_until);
    for (std::size_t i = 0; i < run_.faults.size(); ++i) {
      auto& longest = v_.longest_unavailable_ms[run_.faults[i].kind];
      longest = std::max(longest, v_.per_fault[i].ms);
    }
  }

private:
  /// Which call made each effect the logs hold (an order placed, a payment, a cancel): the
  /// call answered for it (not a replay) whose window holds its record, else the last call for
  /// it invoked before the record (a call whose answer was lost may take effect late: a paused
  /// node runs it when it wakes). Unknown outcomes are resolved from this.
  void credit_effects() {
    std::map<std::string, std::vector<const operation*>> by_effect;
    for (auto& op : run_.history) {
      if (op.kind == op_kind::place)
        by_effect["place " + op.user_id + "/" + op.key].push_back(&op);
      else if (op.kind == op_kind::pay)
        by_effect["pay " + op.event_id].push_back(&op);
      else
        by_effect["cancel " + op.order_id].push_back(&op);
    }
    for (auto& [effect, ops] : by_effect) {
      std::sort(ops.begin(), ops.end(),
                [](const operation* a, const operation* b) { return a->invoke < b->invoke; });
      std::optional<unix_ms> at;
      auto& first = *ops.front();
      if (first.kind == op_kind::place) {
        auto keyed = f_.keyed.find({first.user_id, first.key});
        if (keyed != f_.keyed.end())
          if (auto* o = order_of(keyed->second.front()))
            at = o->placed_at;
      } else if (auto* o = order_of(first.order_id)) {
        if (first.kind == op_kind::pay) {
          if (auto it = o->payments.find(first.event_id); it != o->payments.end())
            at = it->second.second;
        } else if (o->status == "cancelled" && o->cancel_reason == "user") {
          at = o->ended_at;
        }
      }
      if (!at)
        continue;
      const operation* who = nullptr;
      for (auto* op : ops)
        if (op->acknowledged() && !op->replayed && within(*at, *op))
          who = op;
      if (!who)
        for (auto* op : ops)
          if (op->invoke - o_.slack_ms <= *at)
            who = op;
      if (who)
        credited_.insert(who->index);
    }
  }

  void add(const std::string& property, const std::string& message, std::vector<int> ops,
           std::optional<unix_ms> at = std::nullopt) {
    v_.violations.push_back({property, message, std::move(ops), {}, at});
  }

  const order_fold* order_of(const std::string& id) const {
    auto it = f_.orders.find(id);
    return it == f_.orders.end() ? nullptr : &it->second;
  }

  /// An unknown outcome, resolved: `happened` says whether the logs hold it from this very
  /// call (credit_effects: a retry's success is the retry's, not this call's).
  void resolved(const operation& op, bool happened) {
    if (op.status == 0) {
      ++v_.no_answer;
      v_.no_answer_happened += happened ? 1 : 0;
    } else {
      ++v_.unavailable;
      v_.unavailable_happened += happened ? 1 : 0;
    }
  }

  bool within(unix_ms t, const operation& op) const {
    return t >= op.invoke - o_.slack_ms && t <= op.complete + o_.slack_ms;
  }

  // ---- place ----

  void place(const operation& op) {
    auto keyed = f_.keyed.find({op.user_id, op.key});
    const std::string logged = keyed == f_.keyed.end() ? "" : keyed->second.front();
    if (op.acknowledged()) {
      acknowledged_.insert(op.order_id);
      auto& first = answered_[{op.user_id, op.key}];
      if (first.empty())
        first = op.order_id;
      else if (first != op.order_id)
        add("duplicate", "key " + op.key + " answered " + first + " and " + op.order_id,
            {op.index});
      auto* o = order_of(op.order_id);
      if (!o || o->placed == 0 || o->reserved_at == 0) {
        add("lost", "acknowledged order " + op.order_id + " is not reserved in the logs",
            {op.index});
        return;
      }
      if (logged != op.order_id)
        add("duplicate",
            "acknowledged " + op.order_id + " but the key's order in the log is "
                + (logged.empty() ? "none" : logged),
            {op.index});
      if (!same_items(o->items, op.items))
        add("lost", "acknowledged " + op.order_id + " with other items than its log's", {op.index});
      const bool in_call =
          op.replayed ? o->reserved_at <= op.complete + o_.slack_ms : within(o->reserved_at, op);
      if (!in_call)
        add("stale_answer",
            "201 for " + op.order_id + " whose reservation was recorded at "
                + std::to_string(o->reserved_at) + ", outside the call",
            {op.index}, o->reserved_at);
      return;
    }
    if (op.unknown()) {
      resolved(op, credited_.count(op.index) > 0);
      return;
    }
    if (op.code != "sold_out") { // the workload sends nothing else a node may refuse
      add("refusal",
          "place refused " + std::to_string(op.status) + " " + op.code
              + ": not an answer the API gives a valid order for products that exist (a keyed "
                "request refused before is decided afresh)",
          {op.index});
      return;
    }
    if (auto* o = logged.empty() ? nullptr : order_of(logged);
        o && o->placed_at && o->placed_at < op.invoke - o_.slack_ms)
      add("stale_answer",
          "sold_out for key " + op.key + " whose order " + logged
              + " was placed before the call (a retry must replay it)",
          {op.index}, o->placed_at);
    sold_out(op);
  }

  static bool same_items(std::vector<item> a, std::vector<item> b) {
    auto by_id = [](const item& x, const item& y) { return x.product_id < y.product_id; };
    std::sort(a.begin(), a.end(), by_id);
    std::sort(b.begin(), b.end(), by_id);
    if (a.size() != b.size())
      return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i].product_id != b[i].product_id || a[i].quantity != b[i].quantity)
        return false;
    return true;
  }

  /// A sold_out is wrong when, for every item, the log shows at least its quantity available
  /// at every moment of the call: no linearization point had it short.
  void sold_out(const operation& op) {
    std::string shown;
    for (auto& i : op.items) {
      auto p = f_.products.find(i.product_id);
      if (p == f_.products.end())
        return;
      auto least = p->second.min_available(op.invoke - o_.slack_ms, op.complete + o_.slack_ms);
      if (!least || *least < i.quantity)
        return;
      shown += " " + i.product_id + ">=" + std::to_string(*least);
    }
    // What it may have rested on: a racing order for one of its products, invoked before it
    // answered, that failed (5xx or no answer) and left nothing in the log: a hold decided
    // and answered on before its commit, which then failed.
    std::vector<int> ops{op.index};
    for (auto& other : run_.history) {
      if (other.kind != op_kind::place || other.index == op.index || !other.unknown()
          || credited_.count(other.index) || other.invoke > op.complete
          || other.complete < op.invoke)
        continue;
      for (auto& i : other.items)
        for (auto& mine : op.items)
          if (i.product_id == mine.product_id && ops.back() != other.index)
            ops.push_back(other.index);
    }
    add("stale_answer",
        "409 sold_out while the log shows available throughout the call:" + shown
            + (ops.size() > 1 ? " (resting on a racing hold that never committed?)" : ""),
        ops, op.complete);
  }

  // ---- cancel and pay ----

  void cancel(const operation& op) {
    auto* o = order_of(op.order_id);
    const bool cancelled = o && o->status == "cancelled" && o->cancel_reason == "user";
    if (op.unknown()) {
      resolved(op, credited_.count(op.index) > 0);
      return;
    }
    if (op.acknowledged()) {
      if (!cancelled || !within(o->ended_at, op))
        add("stale_answer",
            "cancel of " + op.order_id + " answered 200 but the log "
                + (cancelled ? "cancelled it at " + std::to_string(o->ended_at)
                             : "has it " + (o ? o->status : std::string("none"))),
            {op.index});
      return;
    }
    if (op.code == "invalid_state" && o && o->terminal()
        && o->ended_at <= op.complete + o_.slack_ms)
      return;
    add("stale_answer",
        "cancel of " + op.order_id + " refused " + std::to_string(op.status) + " " + op.code
            + " while the log has it " + (o ? o->status : std::string("none")),
        {op.index});
  }

  void pay(const operation& op) {
    auto* o = order_of(op.order_id);
    const std::pair<std::string, unix_ms>* logged = nullptr;
    if (o)
      if (auto it = o->payments.find(op.event_id); it != o->payments.end())
        logged = &it->second;
    if (op.unknown()) {
      resolved(op, credited_.count(op.index) > 0);
      return;
    }
    if (op.acknowledged()) {
      const std::string expected = op.payment_succeeded ? "OrderPaid" : "OrderCancelled";
      bool ok = logged && logged->second <= op.complete + o_.slack_ms;
      if (op.result == "applied")
        ok = ok && logged->first == expected && within(logged->second, op);
      if (!ok)
        add("stale_answer",
            "payment " + op.event_id + " answered " + op.result + " but the log "
                + (logged ? "has " + logged->first + " at " + std::to_string(logged->second)
                          : std::string("does not have it")),
            {op.index});
      return;
    }
    // A payment for an order that can no longer take it: the order ended before, by another
    // event than this one.
    if (op.code == "invalid_state" && o && o->terminal() && o->ended_at <= op.complete + o_.slack_ms
        && (!logged || logged->first == "PaymentRejected"))
      return;
    add("stale_answer",
        "payment " + op.event_id + " refused " + std::to_string(op.status) + " " + op.code
            + " while the log has the order " + (o ? o->status : std::string("none")),
        {op.index});
  }

  // ---- after the run ----

  void reads() {
    std::set<std::string> orders = acknowledged_;
    for (auto& [key, ids] : f_.keyed)
      orders.insert(ids.begin(), ids.end());
    for (auto& node : run_.nodes) {
      auto by_node = run_.order_reads.find(node);
      for (auto& id : orders) {
        auto* o = order_of(id);
        const std::string expected = o ? o->status : "none";
        const order_read* r = nullptr;
        if (by_node != run_.order_reads.end())
          if (auto it = by_node->second.find(id); it != by_node->second.end())
            r = &it->second;
        if (!r || r->status != 200 || r->order_status != expected)
          add("unreadable",
              "order " + id + " on " + node + ": "
                  + (r ? std::to_string(r->status) + " " + r->order_status
                       : std::string("not read"))
                  + ", its log says " + expected,
              ops_of(id));
      }
      auto products = run_.product_reads.find(node);
      for (auto& spec : run_.products) {
        auto fp = f_.products.find(spec.id);
        const counts logged = fp == f_.products.end() ? counts{} : fp->second.now;
        const product_read* r = nullptr;
        if (products != run_.product_reads.end())
          if (auto it = products->second.find(spec.id); it != products->second.end())
            r = &it->second;
        if (!r || r->status != 200 || !(r->view == logged))
          add("unreadable",
              "product " + spec.id + " on " + node + ": "
                  + (r ? std::to_string(r->status) + " " + r->view.render()
                       : std::string("not read"))
                  + ", its log says " + logged.render(),
              {});
      }
    }
  }

  std::vector<int> ops_of(const std::string& order_id) const {
    std::vector<int> out;
    for (auto& op : run_.history)
      if (op.order_id == order_id)
        out.push_back(op.index);
    return out;
  }

  void expiries() {
    for (auto& [id, o] : f_.orders)
      if (o.status == "reserved" && o.expires_at + o_.expiry_grace_ms < run_.logs_read_at)
        add("expiry",
            "order " + id + " still holds its units "
                + std::to_string(run_.logs_read_at - o.expires_at) + " ms after it expired",
            ops_of(id), o.expires_at);
  }

  void liveness() {
    std::int64_t slowest = 0;
    bool all = true;
    for (int p = 0; p < run_.partitions; ++p) {
      std::optional<unix_ms> first;
      if (auto it = run_.served.find(p); it != run_.served.end())
        for (auto t : it->second)
          if (t >= run_.last_heal) {
            first = t;
            break;
          }
      if (!first || *first - run_.last_heal > o_.serve_within_ms) {
        all = false;
        add("liveness",
            "partition " + std::to_string(p) + " not answered within "
                + std::to_string(o_.serve_within_ms) + " ms of the last heal"
                + (first ? " (after " + std::to_string(*first - run_.last_heal) + " ms)"
                         : std::string(" (never)")),
            {}, run_.last_heal);
      }
      if (first)
        slowest = std::max(slowest, *first - run_.last_heal);
    }
    if (all)
      v_.recovery_ms = slowest;
    if (!run_.sale_finished)
      add("liveness", "the sale did not finish (some unit never sold) after the last heal", {},
          run_.last_heal);
  }

  const run_record& run_;
  const checker_options& o_;
  verdict& v_;
  fold f_;
  std::set<std::string> acknowledged_;
  std::set<int> credited_; ///< calls that made an effect the logs hold
  std::map<std::pair<std::string, std::string>, std::string> answered_;
};

} // namespace

verdict check(const run_record& run, const checker_options& o) {
  verdict v;
  judge(run, o, v).run();
  std::vector<violation> fresh;
  for (auto& x : v.violations) {
    auto k = std::find_if(o.known.begin(), o.known.end(), [&](const known_defect& d) {
      return d.property == x.property && x.message.find(d.contains) != std::string::npos;
    });
    if (k == o.known.end()) {
      fresh.push_back(std::move(x));
    } else {
      x.message += " [known defect: " + k->reason + "]";
      v.known.push_back(std::move(x));
    }
  }
  v.violations = std::move(fresh);
  return v;
}

} // namespace flashsale::testing::chaos
