// `flashsale replay`: rebuild the state from the event store in data_dir without serving, with
// the same fold the node uses, and print it; --verify turns broken invariants into a non-zero
// exit naming the first offending event. Reads through read-only WAL connections and takes no
// lock, so it can inspect the store of a running node (it sees the last commit) or a copy
// taken from a crashed one.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cluster/partition_stream.hpp"
#include "events/event.hpp"
#include "events/time.hpp"
#include "node/nats_access.hpp"
#include "persistence/snapshot_file.hpp"
#include "persistence/sqlite_event_store.hpp"
#include "persistence/sqlite_reader_pool.hpp"
#include "persistence/world_recovery.hpp"

namespace flashsale::cli {

namespace {

struct replay_flags {
  config_sources sources;
  bool json = false;
  bool verify = false;
  bool from_scratch = false;
  std::optional<std::int64_t> at;
  std::string stream;
  std::optional<int> partition;
  std::string nats;
};

/// Breaks of the ownership rule in a partition's log: epochs never decrease, and between
/// two claims only the first claimant, at its epoch, appends.
std::vector<std::string> ownership_violations(const std::vector<cluster::stored_record>& log) {
  std::vector<std::string> out;
  std::optional<cluster::writer_id> claimant;
  std::uint64_t epoch = 0;
  for (auto& r : log) {
    auto at = "log seq " + std::to_string(r.seq) + ": ";
    if (!r.writer) {
      out.push_back(at + "a record without a writer");
      continue;
    }
    if (r.writer->epoch < epoch)
      out.push_back(at + "epoch " + std::to_string(r.writer->epoch) + " after epoch "
                    + std::to_string(epoch));
    epoch = std::max(epoch, r.writer->epoch);
    if (r.kind == cluster::record_kind::claim)
      claimant = r.writer;
    else if (!claimant || *r.writer != *claimant)
      out.push_back(at + "written by " + r.writer->node + " at epoch "
                    + std::to_string(r.writer->epoch) + " while "
                    + (claimant ? claimant->node : std::string("nobody")) + " held the claim");
  }
  return out;
}

/// A temporary directory, removed with everything in it when this goes out of scope.
struct scratch_dir {
  std::string path;
  scratch_dir() {
    char name[] = "/tmp/flashsale-replay-XXXXXX";
    if (mkdtemp(name))
      path = name;
  }
  ~scratch_dir() {
    std::error_code ignored;
    if (!path.empty())
      std::filesystem::remove_all(path, ignored);
  }
};

/// Partition `p`'s log, read from NATS and imported into a scratch store at `into`/events.db,
/// every event at the version the log holds (a gap or conflict is an error: the log is the
/// truth); its ownership violations are added to `violations`.
std::optional<std::string> import_partition(const node_config& config, int p,
                                            const std::string& into,
                                            std::vector<std::string>& violations) {
  auto link = cluster::nats_link::connect(nats_link_options_of(config, "flashsale-replay", 5000));
  if (auto e = std::get_if<std::string>(&link))
    return *e;
  cluster::partition_stream logs(std::get<0>(link), {});
  auto last = logs.last_seq(p);
  if (auto e = std::get_if<std::string>(&last))
    return *e;
  std::vector<cluster::stored_record> history;
  if (auto e = logs.read(p, 0, std::get<std::uint64_t>(last),
                         [&](cluster::stored_record&& r) { history.push_back(std::move(r)); }))
    return *e;
  for (auto& v : ownership_violations(history))
    violations.push_back(v);
  store_options so;
  so.path = into + "/events.db";
  so.sync = sync_mode::normal; // scratch: nothing to lose
  auto opened = open_sqlite_event_store(so);
  if (auto e = std::get_if<store_error>(&opened))
    return "cannot open " + so.path + ": " + e->message;
  auto& store = *std::get<0>(opened);
  append_batch batch;
  std::map<std::string, std::size_t> index; // stream -> its stream_append in the batch
  auto flush = [&]() -> std::optional<std::string> {
    if (batch.streams.empty() && batch.idempotency.empty())
      return std::nullopt;
    auto r = store.append_sync(std::move(batch));
    batch = {};
    index.clear();
    if (r.error)
      return "the log does not import: " + r.error->message;
    return std::nullopt;
  };
  for (auto& r : history) {
    if (r.kind == cluster::record_kind::idempotency) {
      if (auto k = cluster::idempotency_of_body(r.body))
        batch.idempotency.push_back(*k);
      continue;
    }
    if (r.kind != cluster::record_kind::event)
      continue;
    auto e = cluster::envelope_of_body(r.body);
    if (!e)
      return "log seq " + std::to_string(r.seq) + " is not an event";
    auto [it, fresh] = index.try_emplace(e->stream, batch.streams.size());
    if (fresh) {
      stream_append sa;
      sa.stream = e->stream;
      sa.expected_version = e->version - 1;
      batch.streams.push_back(std::move(sa));
    }
    batch.streams[it->second].events.push_back({e->type, e->data, e->recorded_at});
    if (batch.streams.size() >= 500)
      if (auto problem = flush())
        return problem;
  }
  return flush();
}

/// Cheap per-event checks of the product an event touched (the full, cross-entity check runs
/// once at the end): enough to name the first seq where a count went wrong.
void check_event(const envelope& env, const world& w, std::vector<std::string>& violations) {
  auto ref = parse_stream(env.stream);
  if (!ref || ref->what != stream_ref::kind::product)
    return;
  auto it = w.products.find(std::string(ref->id));
  if (it == w.products.end())
    return;
  const auto& p = it->second;
  auto at =
      "seq " + std::to_string(env.seq) + " (" + env.type + "): product '" + p.product_id + "' ";
  if (p.available() + p.reserved + p.sold != p.stock)
    violations.push_back(at + "available + reserved + sold != stock");
  if (p.available() < 0)
    violations.push_back(at + "oversold: available " + std::to_string(p.available()));
  if (p.reserved < 0 || p.sold < 0 || p.stock < 0)
    violations.push_back(at + "negative count");
}

nlohmann::json product_counts(const product_state& p) {
  return {
      {"stock", p.stock}, {"available", p.available()}, {"reserved", p.reserved}, {"sold", p.sold}};
}

int print_stream(sqlite_reader_pool& log, const replay_flags& flags) {
  auto stream = flags.stream;
  auto read = log.read_stream(stream, 0);
  // A bare id names a product's stream, else an order's.
  if (!parse_stream(stream))
    for (auto id_to_stream : {product_stream, order_stream})
      if (!read.error && read.events.empty()) {
        read = log.read_stream(id_to_stream(flags.stream), 0);
        if (!read.events.empty())
          stream = id_to_stream(flags.stream);
      }
  if (read.error) {
    std::cerr << "flashsale replay: cannot read stream '" << flags.stream
              << "': " << read.error->message << "\n";
    return 1;
  }
  auto& events = read.events;
  if (events.empty()) {
    std::cerr << "flashsale replay: no stream '" << flags.stream << "'\n";
    return 1;
  }
  world w;
  auto out = nlohmann::json::array();
  for (auto& env : events) {
    if (flags.at && env.seq > *flags.at)
      break;
    apply(w, env);
    nlohmann::json row = env;
    if (auto ref = parse_stream(env.stream); ref && ref->what == stream_ref::kind::product) {
      if (auto p = w.products.find(std::string(ref->id)); p != w.products.end())
        row["state"] = product_counts(p->second);
    } else if (ref) {
      if (auto o = w.orders.find(std::string(ref->id)); o != w.orders.end())
        row["state"] = {{"status", to_string(o->second.status)}};
    }
    if (flags.json) {
      out.push_back(std::move(row));
      continue;
    }
    std::cout << std::setw(8) << env.seq << "  v" << std::left << std::setw(4) << env.version
              << std::setw(16) << env.type << format_rfc3339(env.recorded_at) << "  " << env.data
              << "  -> " << row["state"].dump() << std::right << "\n";
  }
  if (flags.json)
    std::cout << nlohmann::json{{"stream", stream}, {"events", out}}.dump(2) << "\n";
  return 0;
}

int replay(const CLI::App& app, replay_flags flags) {
  if (!flags.nats.empty())
    flags.sources.sets.push_back("nats.url=" + flags.nats); // beats --set, as the flag is meant to
  auto loaded = load_node_config(flags.sources);
  if (auto problem = std::get_if<std::string>(&loaded)) {
    std::cerr << "flashsale: " << *problem << "\n";
    return 1;
  }
  auto& config = std::get<node_config>(loaded);
  std::vector<std::string> violations;
  scratch_dir scratch;
  std::string path;
  if (flags.partition) {
    if (config.nats.url.rfind("nats://", 0) != 0)
      return usage_error(app, "--partition needs the NATS cluster: --nats nats://HOST:PORT[,...]");
    if (scratch.path.empty()) {
      std::cerr << "flashsale replay: cannot create a scratch directory in /tmp\n";
      return 1;
    }
    if (auto problem = import_partition(config, *flags.partition, scratch.path, violations)) {
      std::cerr << "flashsale replay: partition " << *flags.partition << ": " << *problem << "\n";
      return 1;
    }
    path = scratch.path + "/events.db";
  } else {
    path = config.data_dir + "/events.db";
  }
  if (!std::filesystem::exists(path)) {
    std::cerr << "flashsale replay: no event store at " << path << "\n";
    return 1;
  }
  sqlite_reader_pool log(path, 1);
  if (!flags.stream.empty())
    return print_stream(log, flags);

  recovery_options options;
  options.use_snapshot = !flags.from_scratch;
  options.up_to_seq = flags.at;
  options.after_each = [&](const envelope& env, const world& w) {
    check_event(env, w, violations);
  };
  auto snapshots = snapshot_file::open(snapshot_file_path(path), /*read_only=*/true);
  log_source source{
      [&log](std::int64_t after, std::size_t limit) { return log.read_from(after, limit); },
      [&snapshots]() -> std::optional<snapshot> {
        if (auto file = std::get_if<std::unique_ptr<snapshot_file>>(&snapshots))
          return (*file)->latest();
        return std::nullopt; // an unreadable snapshot file only means folding from scratch
      },
      {}}; // the reader pool does not know the log's end; the fold finds it
  auto recovered = recover_world(source, options);
  auto& w = recovered.state;
  for (auto& v : check_invariants(w))
    violations.push_back("at the end: " + v);
  for (auto& e : w.decode_errors)
    violations.push_back("undecodable event: " + e);

  if (flags.json) {
    nlohmann::json products = nlohmann::json::object();
    for (auto& [id, p] : w.products)
      products[id] = product_counts(p);
    nlohmann::json orders = nlohmann::json::object();
    for (auto s : {order_status::reserved, order_status::paid, order_status::expired,
                   order_status::cancelled, order_status::rejected, order_status::pending}) {
      auto it = w.order_counts.find(s);
      orders[to_string(s)] = it == w.order_counts.end() ? 0 : it->second;
    }
    std::cout << nlohmann::json{{"events", w.events},
                                {"last_seq", w.last_seq},
                                {"products", products},
                                {"orders", orders},
                                {"violations", violations}}
                     .dump()
              << "\n";
  } else {
    std::cout << "events: " << w.events << " (last seq " << w.last_seq << "; "
              << (recovered.snapshot_seq
                      ? "from the snapshot at seq " + std::to_string(*recovered.snapshot_seq)
                            + " + " + std::to_string(recovered.events_folded) + " events"
                      : std::string("folded from scratch"))
              << ")\n\n";
    std::cout << std::left << std::setw(24) << "product" << std::right << std::setw(12) << "stock"
              << std::setw(12) << "available" << std::setw(12) << "reserved" << std::setw(12)
              << "sold"
              << "\n";
    for (auto& [id, p] : w.products)
      std::cout << std::left << std::setw(24) << id << std::right << std::setw(12) << p.stock
                << std::setw(12) << p.available() << std::setw(12) << p.reserved << std::setw(12)
                << p.sold << "\n";
    std::cout << "\norders:";
    for (auto& [status, n] : w.order_counts)
      std::cout << " " << to_string(status) << " " << n;
    std::cout << "\n\nviolations: " << (violations.empty() ? "none" : "") << "\n";
    for (auto& v : violations)
      std::cout << "  " << v << "\n";
  }
  if (flags.verify && !violations.empty()) {
    std::cerr << "flashsale replay: verify failed, first violation: " << violations.front() << "\n";
    return 1;
  }
  return 0;
}

} // namespace

command add_replay(CLI::App& program) {
  auto* app = add_command(
      program, "replay",
      "rebuild state from the event store offline, print it, verify invariants\n\n"
      "Rebuilds every product and order from the event store in data_dir without serving, with\n"
      "the same fold the node uses, and prints the state. In cluster mode the truth is each\n"
      "partition's log in NATS: --partition reads one. Safe on the store of a running node\n"
      "(read-only, no lock).");
  auto flags = std::make_shared<replay_flags>();
  add_config_options(*app, flags->sources);
  app->add_flag("--json", flags->json,
                "print one JSON object: events, products, orders by status, violations");
  app->add_flag("--verify", flags->verify,
                "exit 1 when any invariant is violated (oversell, negative counts, an order and "
                "its product disagreeing), naming the first offending seq");
  app->add_option_function<std::int64_t>(
         "--at", [flags](std::int64_t seq) { flags->at = seq; },
         "the state as of global sequence SEQ")
      ->type_name("SEQ")
      ->check(integer_in(0, INT64_MAX));
  app->add_option("--stream", flags->stream,
                  "one product's or order's history, event by event (ID or stream name)")
      ->type_name("ID");
  app->add_flag("--from-scratch", flags->from_scratch, "ignore snapshots and fold the whole log");
  app->add_option_function<int>(
         "--partition", [flags](int p) { flags->partition = p; },
         "cluster mode: replay partition P's log from the NATS cluster (stream "
         "FLASHSALE_PARTITIONS) instead of a store, and verify its ownership too: epochs never go "
         "back, after a claim only the claimant writes")
      ->type_name("P")
      ->check(integer_in(0, INT32_MAX));
  app->add_option("--nats", flags->nats, "the NATS cluster for --partition (default: nats.url)")
      ->type_name("URL[,URL...]");
  return {app, [app, flags] { return replay(*app, *flags); }};
}

} // namespace flashsale::cli
