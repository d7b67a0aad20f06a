#include "tests/chaos/chaos_run.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <set>
#include <thread>

#include <nats/nats.h>

#include "tests/chaos/chaos_cluster.hpp"
#include "tests/chaos/http_call.hpp"
#include "tests/chaos/log_reader.hpp"
#include "tests/chaos/nemesis.hpp"
#include "tests/chaos/workload.hpp"
#include "tests/support/temp_dir.hpp"

namespace flashsale::testing::chaos {

using nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

/// Polls `condition` every `every` until it holds or `timeout` passes. For conditions that
/// cost requests to the cluster (eventually() polls every 20 ms: too often for those).
bool poll_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = std::chrono::milliseconds(200)) {
  const auto deadline = steady::now() + timeout;
  for (;;) {
    if (condition())
      return true;
    if (steady::now() >= deadline)
      return false;
    std::this_thread::sleep_for(every);
  }
}

class run {
public:
  explicit run(const run_options& o) : o_(o), sched_(make_schedule(o.seed, o.schedule)) {}

  run_result go() {
    began_ = steady::now();
    say("chaos " + sched_.render());
    result_.faults = sched_.fault_count();
    cluster_options co;
    co.flashsale = o_.flashsale;
    co.nats_server = o_.nats_server;
    co.data_root = dir_.path();
    co.partitions = o_.partitions;
    co.lease_ms = o_.lease_ms;
    chaos_cluster cluster(co);
    if (!start(cluster))
      return finish(cluster, false);
    auto& client = cluster.client();
    for (auto& n : cluster.nodes())
      nodes_.push_back({n, cluster.address(n)});
    choose_products();
    if (!settle(cluster) || !define(cluster))
      return finish(cluster, false);

    history h;
    served_log served;
    workload_options wo;
    wo.seed = o_.seed;
    wo.nodes = nodes_;
    wo.products = products_;
    wo.same_partition = same_partition_;
    wo.partitions = o_.partitions;
    wo.buyers = o_.buyers;
    wo.webhook_secret = co.webhook_secret;
    workload buyers(client, h, served, wo);
    buyers.start();
    say("workload started: " + std::to_string(products_.size()) + " products, "
        + std::to_string(o_.buyers) + " buyers");
    auto& rec = result_.record;
    rec.faults = play(cluster, sched_, steady::now(), [&](const std::string& l) { say(l); });
    for (auto& c : cluster.take_crashes()) {
      say("CRASH " + c);
      rec.crashes.push_back(c);
    }
    heal_everything(cluster);
    rec.last_heal = now_ms();
    say("healed everything");
    const bool answered = poll_until([&] { return served.all_since(rec.last_heal, o_.partitions); },
                                     std::chrono::seconds(45));
    say(answered ? "every partition answered again" : "NOT every partition answers");
    for (auto& n : cluster.nodes())
      if (!cluster.wait_started(n, std::chrono::seconds(answered ? 30 : 1)))
        say("node " + n + " has not printed its banner");
    buyers.drain();
    // A partition that never answers again cannot finish its sale: then a short look only.
    const auto sale_time =
        answered ? std::chrono::seconds(o_.hold_seconds * 2 + 60) : std::chrono::seconds(5);
    if (poll_until([&] { return sold_out(client); }, sale_time, std::chrono::milliseconds(250)))
      rec.sale_finished = now_ms();
    say(rec.sale_finished ? "the sale finished" : "THE SALE DID NOT FINISH");
    buyers.stop();
    rec.observed_until = now_ms();
    for (auto& c : cluster.take_crashes()) {
      say("CRASH " + c);
      rec.crashes.push_back(c);
    }
    rec.history = h.snapshot();
    rec.served = served.snapshot();
    collect(cluster);
    return finish(cluster, true);
  }

private:
  void say(const std::string& what) {
    if (!o_.progress)
      return;
    auto t = std::chrono::duration<double>(steady::now() - began_).count();
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "[%6.1fs] ", t);
    *o_.progress << stamp << what << std::endl;
  }

  bool start(chaos_cluster& cluster) {
    try {
      for (auto& s : cluster.servers())
        cluster.start(s);
      for (auto& n : cluster.nodes()) // together: their start-ups overlap
        cluster.start(n, false);
      for (auto& n : cluster.nodes())
        if (!cluster.wait_started(n, std::chrono::seconds(60)))
          throw netns::error("node " + n + " did not start:\n" + cluster.output(n));
    } catch (const std::exception& e) {
      result_.setup_failure = e.what();
      return false;
    }
    for (auto& c : cluster.take_crashes())
      result_.record.crashes.push_back(c);
    say("cluster started");
    return true;
  }

  /// One product per partition (so every partition is probed and sold), and a second one in
  /// two partitions the seed picks, for two-item orders.
  void choose_products() {
    seeded_random rng(o_.seed ^ 0x5eedULL);
    std::vector<int> doubled;
    for (int p = 0; p < o_.partitions; ++p)
      doubled.push_back(p);
    rng.shuffle(doubled);
    doubled.resize(std::min<std::size_t>(2, doubled.size()));
    int next_id = 0;
    for (int p = 0; p < o_.partitions; ++p) {
      const int count = std::count(doubled.begin(), doubled.end(), p) ? 2 : 1;
      std::vector<std::string> here;
      for (int k = 0; k < count; ++k) {
        std::string id;
        do
          id = "s" + std::to_string(o_.seed) + "-" + std::to_string(next_id++);
        while (partition_of(id, o_.partitions) != p);
        products_.push_back({id, p, rng.between(6, 14), rng.between(100, 5000)});
        here.push_back(id);
      }
      if (here.size() > 1)
        same_partition_.push_back(here);
    }
  }

  http_answer call(chaos_cluster& cluster, const node_address& node, const std::string& method,
                   const std::string& path, const std::string& body = "") {
    return cluster.client().run([&] {
      http_request r;
      r.host = node.address;
      r.method = method;
      r.path = path;
      r.body = body;
      r.headers = {{"Authorization", "Bearer " + cluster.options().admin_token}};
      return http_call(r);
    });
  }

  /// Every partition served by exactly one node, as their /health pages say.
  bool settle(chaos_cluster& cluster) {
    auto settled = [&] {
      std::map<int, int> owners;
      for (auto& n : nodes_) {
        auto h = call(cluster, n, "GET", "/health");
        if (h.status != 200 || !h.body.contains("cluster"))
          return false;
        for (auto& p : h.body["cluster"]["partitions"])
          ++owners[p.get<int>()];
      }
      return owners.size() == static_cast<std::size_t>(o_.partitions)
             && std::all_of(owners.begin(), owners.end(), [](auto& x) { return x.second == 1; });
    };
    if (!poll_until(settled, std::chrono::seconds(60))) {
      result_.setup_failure = "the cluster did not settle in 60 s";
      return false;
    }
    say("cluster settled");
    return true;
  }

  bool define(chaos_cluster& cluster) {
    for (auto& p : products_) {
      json body{{"name", p.id},
                {"stock", p.stock},
                {"price_cents", p.price_cents},
                {"hold_seconds", o_.hold_seconds}};
      std::size_t turn = 0;
      if (!poll_until(
              [&] {
                auto a = call(cluster, nodes_[turn++ % nodes_.size()], "PUT", "/products/" + p.id,
                              body.dump());
                return a.status == 201 || a.status == 200;
              },
              std::chrono::seconds(30))) {
        result_.setup_failure = "product " + p.id + " could not be defined";
        return false;
      }
    }
    return true;
  }

  /// Every unit of every product sold, as some node shows it.
  bool sold_out(netns::host& client) {
    return client.run([&] {
      for (auto& p : products_) {
        bool shown = false;
        for (auto& n : nodes_) {
          http_request r;
          r.host = n.address;
          r.path = "/products/" + p.id;
          auto a = http_call(r);
          if (a.status != 200)
            continue;
          if (a.body.value("sold", -1) != p.stock)
            return false;
          shown = true;
          break;
        }
        if (!shown)
          return false;
      }
      return true;
    });
  }

  /// The logs, then every order and product from every node, then replay --verify.
  void collect(chaos_cluster& cluster) {
    auto& rec = result_.record;
    auto& client = cluster.client();
    const auto urls = cluster.nats_urls();
    rec.logs = client.run([&] {
      nats_Open(-1);
      auto logs = read_partition_logs(urls, o_.partitions);
      nats_CloseAndWait(10000);
      return logs;
    });
    rec.logs_read_at = now_ms();
    std::size_t records = 0;
    for (auto& l : rec.logs) {
      records += l.records.size();
      if (!l.error.empty())
        say("log " + std::to_string(l.partition) + ": " + l.error);
    }
    say("read " + std::to_string(records) + " log records");
    std::set<std::string> orders;
    for (auto& op : rec.history)
      if (!op.order_id.empty())
        orders.insert(op.order_id);
    for (auto& l : rec.logs)
      for (auto& r : l.records)
        if (r.kind == record_kind::event && r.stream.rfind("order-", 0) == 0)
          orders.insert(r.stream.substr(6));
    std::vector<std::thread> readers;
    std::mutex mutex;
    for (auto& n : nodes_)
      readers.emplace_back([&, n] {
        auto inside = client.enter();
        std::set<int> given_up;
        for (auto& id : orders) {
          auto a = read_settled(n, "/orders/" + id, partition_of(id, o_.partitions), given_up);
          std::lock_guard lock(mutex);
          rec.order_reads[n.name][id] = {a.status,
                                         a.body.is_object() ? a.body.value("status", "") : ""};
        }
        for (auto& p : products_) {
          auto a = read_settled(n, "/products/" + p.id, p.partition, given_up);
          counts c;
          if (a.status == 200)
            c = {a.body.value("stock", -1), a.body.value("available", -1),
                 a.body.value("reserved", -1), a.body.value("sold", -1)};
          std::lock_guard lock(mutex);
          rec.product_reads[n.name][p.id] = {a.status, c};
        }
      });
    for (auto& t : readers)
      t.join();
    say("read " + std::to_string(orders.size()) + " orders and " + std::to_string(products_.size())
        + " products from every node");
    // A replay that could not read (a stream leader elected late on a loaded machine:
    // "JetStream system temporarily unavailable", a Timeout) is tried again; a verdict
    // against the log fails every time, so the last answer stands.
    for (int p = 0; p < o_.partitions; ++p)
      for (int attempt = 0; attempt < 3; ++attempt) {
        if (attempt > 0)
          std::this_thread::sleep_for(std::chrono::seconds(2));
        auto r = client.exec(
            {o_.flashsale, "replay", "--partition", std::to_string(p), "--nats", urls, "--json",
             "--verify", "--set",
             "data_dir="
                 + dir_.file("replay-" + std::to_string(p) + "-" + std::to_string(attempt))});
        rec.replay_failures.erase(p);
        if (r.ok())
          break;
        rec.replay_failures[p] =
            "exit " + std::to_string(r.status) + ": " + r.output.substr(0, 2000);
      }
  }

  /// A read, retried for a while on 503 or no answer: the cluster has healed, but a moment
  /// ago a partition may have moved. A partition that did not answer a node for that long
  /// is asked once per read after (`given_up`), so a dead partition costs seconds, not hours.
  http_answer read_settled(const node_address& n, const std::string& path, int partition,
                           std::set<int>& given_up) {
    http_answer a;
    const auto deadline = steady::now() + std::chrono::seconds(10);
    do {
      http_request r;
      r.host = n.address;
      r.path = path;
      a = http_call(r);
      if ((a.status != 0 && a.status != 503) || given_up.count(partition))
        return a;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (steady::now() < deadline);
    given_up.insert(partition);
    return a;
  }

  run_result finish(chaos_cluster& cluster, bool judged) {
    auto& rec = result_.record;
    rec.seed = o_.seed;
    rec.schedule = sched_.render();
    rec.partitions = o_.partitions;
    rec.products = products_;
    for (auto& n : nodes_)
      rec.nodes.push_back(n.name);
    if (judged) {
      checker_options co;
      co.known = o_.known;
      result_.judged = check(rec, co);
      say(result_.judged.report(rec));
    } else {
      say("SETUP FAILED: " + result_.setup_failure);
    }
    keep_artifacts(cluster);
    if (!result_.judged.ok() || !judged || std::getenv("CHAOS_SHOW_LOGS"))
      for (auto* group : {&cluster.servers(), &cluster.nodes()})
        for (auto& name : *group)
          if (o_.progress)
            *o_.progress << "---- " << name << " ----\n" << cluster.output(name);
    cluster.stop_all();
    result_.seconds = std::chrono::duration<double>(steady::now() - began_).count();
    say("done");
    return result_;
  }

  /// With $CHAOS_ARTIFACTS set: <it>/seed-<n>/ gets the report, the history, every log
  /// record and every process's output, for a post-mortem.
  void keep_artifacts(chaos_cluster& cluster) {
    const char* root = std::getenv("CHAOS_ARTIFACTS");
    if (!root || !*root)
      return;
    namespace fs = std::filesystem;
    const auto dir = fs::path(root) / ("seed-" + std::to_string(o_.seed));
    std::error_code ignored;
    fs::create_directories(dir, ignored);
    auto& rec = result_.record;
    std::ofstream(dir / "report.txt")
        << (result_.setup_failure.empty() ? result_.judged.report(rec)
                                          : "SETUP FAILED: " + result_.setup_failure)
        << "\n";
    {
      std::ofstream out(dir / "history.txt");
      for (auto& op : rec.history)
        out << op.render() << "\n";
    }
    {
      std::ofstream out(dir / "logs.txt");
      for (auto& l : rec.logs) {
        if (!l.error.empty())
          out << "p" << l.partition << " ERROR " << l.error << "\n";
        for (auto& r : l.records)
          out << r.render() << "\n";
      }
    }
    for (auto* group : {&cluster.servers(), &cluster.nodes()})
      for (auto& name : *group)
        std::ofstream(dir / (name + ".log")) << cluster.output(name);
  }

  const run_options& o_;
  schedule sched_;
  temp_dir dir_;
  steady::time_point began_;
  run_result result_;
  std::vector<node_address> nodes_;
  std::vector<product_spec> products_;
  std::vector<std::vector<std::string>> same_partition_;
};

} // namespace

std::string run_result::figures_json() const {
  json kinds = json::object();
  for (auto& [k, ms] : judged.longest_unavailable_ms)
    kinds[k] = ms;
  json faults_by_kind = json::object();
  for (auto& f : record.faults)
    faults_by_kind[f.kind] = faults_by_kind.value(f.kind, 0) + 1;
  json violations = json::array(), known = json::array();
  for (auto& v : judged.violations)
    violations.push_back(v.property + ": " + v.message);
  for (auto& v : judged.known)
    known.push_back(v.property + ": " + v.message);
  return json{{"seed", record.seed},
              {"setup_failure", setup_failure},
              {"faults", faults},
              {"steps_by_kind", faults_by_kind},
              {"acknowledged_orders", judged.acknowledged_orders},
              {"no_answer", judged.no_answer},
              {"no_answer_happened", judged.no_answer_happened},
              {"unavailable", judged.unavailable},
              {"unavailable_happened", judged.unavailable_happened},
              {"violations", violations},
              {"known_violations", known},
              {"longest_unavailable_ms", kinds},
              {"recovery_ms", judged.recovery_ms ? json(*judged.recovery_ms) : json(nullptr)},
              {"seconds", seconds}}
      .dump();
}

run_result run_chaos(const run_options& o) {
  return run(o).go();
}

} // namespace flashsale::testing::chaos
