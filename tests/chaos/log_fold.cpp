#include "tests/chaos/log_fold.hpp"

#include <algorithm>
#include <sstream>

namespace flashsale::testing::chaos {

std::string counts::render() const {
  std::ostringstream out;
  out << "stock " << stock << " available " << available << " reserved " << reserved << " sold "
      << sold;
  return out.str();
}

std::optional<std::int64_t> product_fold::min_available(unix_ms from, unix_ms to) const {
  auto effective = [](const change& c) { return c.delta < 0 ? c.decided : c.stored; };
  auto at = [&](unix_ms t) {
    std::int64_t available = 0;
    for (auto& c : changes)
      if (effective(c) <= t)
        available += c.delta;
    return available;
  };
  if (std::none_of(changes.begin(), changes.end(),
                   [&](const change& c) { return effective(c) <= to; }))
    return std::nullopt;
  // The bound only drops when a reservation takes effect: the least is at `from` or there.
  auto least = at(from);
  for (auto& c : changes)
    if (c.delta < 0 && c.decided > from && c.decided <= to)
      least = std::min(least, at(c.decided));
  return least;
}

namespace {

/// Folds one partition's log into `f`.
class partition_folder {
public:
  partition_folder(fold& f, int partitions, const partition_log& log)
    : f_(f), partitions_(partitions), log_(log) {}

  void run() {
    if (!log_.error.empty())
      report("unreadable_log", "partition " + std::to_string(log_.partition)
                                   + " could not be read whole: " + log_.error);
    for (auto& r : log_.records) {
      ++f_.records;
      if (!r.problem.empty())
        report("malformed", "a record the checker cannot read", r);
      ownership(r);
      if (r.kind == record_kind::claim)
        ++f_.claims;
      if (r.kind == record_kind::event && r.problem.empty()) {
        ++f_.events;
        versions(r);
        event(r);
      }
    }
  }

private:
  void report(const std::string& property, const std::string& message, const log_record& r) {
    violation v{property, message, {}, {r.render()}, {}};
    if (r.recorded_at)
      v.at = r.recorded_at;
    f_.violations.push_back(std::move(v));
  }
  void report(const std::string& property, const std::string& message) {
    f_.violations.push_back({property, message, {}, {}, {}});
  }

  // ---- ownership: after each claim only the claimant writes ----

  void ownership(const log_record& r) {
    if (!r.writer_node) {
      report("ownership", "a record without a writer", r);
      return;
    }
    const std::string writer = r.writer;
    if (r.kind == record_kind::claim) {
      if (r.control_node != *r.writer_node || r.control_epoch != r.writer_epoch)
        report("ownership", "a claim whose body names another writer than its header", r);
      if (!claimant_.empty()
          && (r.writer_epoch < epoch_
              || (r.writer_epoch == epoch_ && *r.writer_node != claimant_node_)))
        report("ownership", "a claim at an epoch not above the last claim's (" + claimant_ + ")",
               r);
      claimant_ = writer;
      claimant_node_ = *r.writer_node;
      epoch_ = std::max(epoch_, r.writer_epoch);
      released_ = false;
      return;
    }
    if (claimant_.empty())
      report("ownership", "a record before any claim", r);
    else if (writer != claimant_)
      report("ownership", "written by " + writer + " after " + claimant_ + " claimed", r);
    else if (released_)
      report("ownership", "written by " + writer + " after its own release", r);
    if (r.kind == record_kind::release)
      released_ = true;
  }

  // ---- forks: each event stream's versions 1, 2, 3...; seq = the message's sequence ----

  void versions(const log_record& r) {
    if (r.envelope_seq != static_cast<std::int64_t>(r.seq))
      report("integrity",
             "envelope seq " + std::to_string(r.envelope_seq) + " in message "
                 + std::to_string(r.seq),
             r);
    auto& v = version_[r.stream];
    if (r.version != v + 1)
      report("integrity",
             r.stream + " version " + std::to_string(r.version) + " after " + std::to_string(v), r);
    v = std::max(v, r.version);
    const auto dash = r.stream.find('-');
    const auto id = dash == std::string::npos ? r.stream : r.stream.substr(dash + 1);
    if (partition_of(id, partitions_) != log_.partition)
      report("integrity",
             r.stream + " belongs to partition " + std::to_string(partition_of(id, partitions_)),
             r);
  }

  // ---- the fold ----

  /// After a stock event: the change of availability it made, and the invariants.
  void point(product_fold& p, const log_record& r, std::int64_t available_before) {
    p.changes.push_back({r.recorded_at, r.stored_at ? r.stored_at : r.recorded_at,
                         p.now.available - available_before});
    auto& c = p.now;
    if (c.available < 0 || c.reserved < 0 || c.sold < 0
        || c.available + c.reserved + c.sold != c.stock) {
      std::string holders;
      for (auto& [o, q] : p.held)
        holders += " " + o + "x" + std::to_string(q);
      report("oversold", "after it: " + c.render() + "; held by" + holders, r);
    }
  }

  void event(const log_record& r) {
    const auto& d = r.data;
    const auto& t = r.type;
    try {
      if (t == "ProductDefined") {
        auto& p = f_.products[d.at("product_id").get<std::string>()];
        const auto before = p.now.available;
        p.defined = true;
        p.now.stock = d.at("stock").get<std::int64_t>();
        p.now.available = p.now.stock - p.now.reserved - p.now.sold;
        point(p, r, before);
      } else if (t == "StockReserved" || t == "StockReleased" || t == "StockSold") {
        stock(r, f_.products[d.at("product_id").get<std::string>()],
              d.at("order_id").get<std::string>(), d.at("quantity").get<std::int64_t>());
      } else {
        order(r, d.at("order_id").get<std::string>());
      }
    } catch (const nlohmann::json::exception& e) {
      report("malformed", std::string("event data: ") + e.what(), r);
    }
  }

  void stock(const log_record& r, product_fold& p, const std::string& order, std::int64_t q) {
    const auto before = p.now.available;
    if (!p.defined)
      report("oversold", "stock moved on a product never defined", r);
    if (r.type == "StockReserved") {
      if (p.held.count(order) || p.sold.count(order))
        report("oversold", "order " + order + " reserved this product twice", r);
      p.held[order] += q;
      p.now.available -= q;
      p.now.reserved += q;
    } else {
      auto it = p.held.find(order);
      if (it == p.held.end() || it->second != q) {
        report("oversold", r.type + " of units order " + order + " does not hold", r);
      } else {
        p.held.erase(it);
      }
      p.now.reserved -= q;
      if (r.type == "StockSold") {
        p.sold[order] += q;
        p.now.sold += q;
      } else {
        p.now.available += q;
      }
    }
    point(p, r, before);
  }

  void order(const log_record& r, const std::string& id) {
    auto& o = f_.orders[id];
    o.partition = log_.partition;
    const auto& d = r.data;
    const auto& t = r.type;
    auto step = [&](const char* from, const char* to) {
      if (o.status != from)
        report("terminal", "order " + id + " " + t + " while " + o.status, r);
      o.status = to;
    };
    if (t == "OrderPlaced") {
      if (++o.placed > 1)
        report("duplicate", "order " + id + " placed again", r);
      o.user_id = d.value("user_id", "");
      o.key = d.value("idempotency_key", "");
      o.items.clear();
      for (auto& i : d.value("items", nlohmann::json::array()))
        o.items.push_back({i.value("product_id", ""), i.value("quantity", 0)});
      o.placed_at = r.recorded_at;
      if (o.status == "none")
        o.status = "placed";
      if (!o.key.empty()) {
        auto& same = f_.keyed[{o.user_id, o.key}];
        same.push_back(id);
        if (same.size() > 1)
          report("duplicate",
                 "key " + o.user_id + "/" + o.key + " placed " + same.front() + " and " + id, r);
      }
    } else if (t == "OrderReserved") {
      step("placed", "reserved");
      o.reserved_at = r.recorded_at;
      o.total_cents = d.value("total_cents", std::int64_t{0});
      if (auto at = parse_time(d.value("expires_at", "")))
        o.expires_at = *at;
    } else if (t == "OrderRejected") {
      step("placed", "rejected");
      o.ended_at = r.recorded_at;
    } else if (t == "OrderPaid" || t == "OrderCancelled" || t == "OrderExpired") {
      step("reserved", t == "OrderPaid" ? "paid" : t == "OrderCancelled" ? "cancelled" : "expired");
      o.ended_at = r.recorded_at;
      if (t == "OrderCancelled")
        o.cancel_reason = d.value("reason", "");
    } else if (t != "PaymentRejected") {
      report("malformed", "unknown event type " + t, r);
      return;
    }
    if (auto e = d.find("event_id");
        e != d.end() && e->is_string() && !e->get<std::string>().empty()) {
      auto eid = e->get<std::string>();
      if (o.payments.count(eid))
        report("duplicate", "payment event " + eid + " applied twice to " + id, r);
      o.payments[eid] = {t, r.recorded_at};
      f_.payment_events[eid].insert(id);
    }
  }

  fold& f_;
  int partitions_;
  const partition_log& log_;
  std::string claimant_, claimant_node_; ///< "<node>/<epoch>" of the last claim, its node
  std::uint64_t epoch_ = 0;
  bool released_ = false;
  std::map<std::string, std::int64_t> version_;
};

/// At the end: holds and sales agree with the orders that own them.
void agreement(fold& f) {
  for (auto& [pid, p] : f.products) {
    for (auto& [oid, q] : p.held) {
      auto it = f.orders.find(oid);
      // A hold made by a placement that has not committed its order (yet, or ever).
      if (it == f.orders.end() || it->second.status != "reserved")
        f.violations.push_back({"stock_leak",
                                pid + ": " + std::to_string(q) + " units still held for order "
                                    + oid + " whose log status is "
                                    + (it == f.orders.end() ? "none" : it->second.status),
                                {},
                                {},
                                {}});
    }
  }
  for (auto& [oid, o] : f.orders) {
    if (o.status != "reserved" && o.status != "paid")
      continue;
    for (auto& i : o.items) {
      auto& p = f.products[i.product_id];
      auto& where = o.status == "reserved" ? p.held : p.sold;
      auto it = where.find(oid);
      if (it == where.end() || it->second != i.quantity)
        f.violations.push_back({"lost",
                                "order " + oid + " is " + o.status + " but " + i.product_id
                                    + "'s log does not "
                                    + (o.status == "reserved" ? "hold" : "count as sold") + " its "
                                    + std::to_string(i.quantity) + " units",
                                {},
                                {},
                                {}});
    }
  }
}

} // namespace

fold fold_logs(const std::vector<partition_log>& logs, int partitions) {
  fold f;
  for (auto& log : logs)
    partition_folder(f, partitions, log).run();
  agreement(f);
  return f;
}

} // namespace flashsale::testing::chaos
