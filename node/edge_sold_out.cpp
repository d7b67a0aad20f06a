#include "node/edge_sold_out.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "node/edge_answers.hpp"
#include "node/haproxy_cli.hpp"

namespace flashsale {

namespace {

using namespace std::chrono_literals;

constexpr auto poll_interval = 100ms; // how soon a HAProxy restart is noticed
constexpr auto counter_interval = 1s; // counts a crash could lose, at most
constexpr auto command_timeout = 2000ms;
constexpr std::size_t max_line = 8192; // of ';'-joined commands (HAProxy's buffer is 16 KiB)

// JSON as the node accepts it, in the narrowest form: whitespace, ids of 1..128 characters
// from [A-Za-z0-9._:-] (so no escapes), a quantity 1..1000 without sign, fraction or exponent.
const std::string ws = "[ \\t\\n\\r]*";
const std::string id = "\"[A-Za-z0-9._:-]{1,128}\"";
const std::string quantity = "(?:[1-9][0-9]{0,2}|1000)";

std::string field(const char* name, const std::string& value) {
  return std::string("\"") + name + "\"" + ws + ":" + ws + value;
}

} // namespace

std::string shorthand_body_regex() {
  // Exactly three members, each one of the three known fields, and each field present: so
  // each exactly once (a key is the only string followed by ':').
  auto member = "(?:" + field("user_id", id) + "|" + field("product_id", id) + "|"
                + field("quantity", quantity) + ")";
  std::string present;
  for (const char* name : {"user_id", "product_id", "quantity"})
    present += "(?=.*\"" + std::string(name) + "\"" + ws + ":)";
  return "^(?s)" + present + ws + "\\{" + ws + member + ws + "," + ws + member + ws + "," + ws
         + member + ws + "\\}" + ws + "$";
}

std::string one_item_body_regex() {
  auto item = "\\[" + ws + "\\{" + ws + "(?:" + field("product_id", id) + ws + "," + ws
              + field("quantity", quantity) + "|" + field("quantity", quantity) + ws + "," + ws
              + field("product_id", id) + ")" + ws + "\\}" + ws + "\\]";
  return "^" + ws + "\\{" + ws + "(?:" + field("user_id", id) + ws + "," + ws + field("items", item)
         + "|" + field("items", item) + ws + "," + ws + field("user_id", id) + ")" + ws + "\\}" + ws
         + "$";
}

std::string sold_out_frontend_rules(const std::string& map_file) {
  std::ostringstream o;
  o << "  # Turned away at the edge (node/edge_sold_out.hpp): a keyless POST /orders for one\n"
       "  # product in the sold-out map, in a shape these rules prove valid, is answered here.\n"
       "  # Keyed ones go on: the node may hold their first answer to replay.\n"
       "  acl orders_post method POST\n"
       "  acl orders_path path /orders\n"
       "  acl order_keyed req.hdr(Idempotency-Key) -m found\n"
       "  acl one_product_body req.body -m reg '"
    << shorthand_body_regex()
    << "'\n"
       "  acl one_item_body req.body -m reg '"
    << one_item_body_regex()
    << "'\n"
       "  http-request set-var("
    << sold_out_variable
    << ") req.body,json_query('$.product_id') if orders_post orders_path !order_keyed "
       "!body_too_large one_product_body\n"
       "  http-request set-var("
    << sold_out_variable
    << ") req.body,json_query('$.items[0].product_id') if orders_post orders_path "
       "!order_keyed !body_too_large one_item_body\n"
       "  use_backend "
    << sold_out_backend << " if { var(" << sold_out_variable << "),map(" << map_file
    << ") -m found }\n";
  return o.str();
}

std::string sold_out_backend_section(const std::string& body_file) {
  std::ostringstream o;
  o << "backend " << sold_out_backend
    << "\n"
       "  # The node's own 409 sold_out; its counters are the buyers turned away here.\n"
       "  http-request return status 409 content-type application/json lf-file "
    << body_file << "\n";
  return o.str();
}

availability_listener sold_out_feed(const std::shared_ptr<edge_sold_out>& sold_out) {
  return [weak = std::weak_ptr<edge_sold_out>(sold_out)](const std::string& product_id,
                                                         std::optional<std::int64_t> available) {
    if (auto s = weak.lock())
      s->note(product_id, available);
  };
}

std::function<std::map<std::string, std::int64_t>()>
edge_order_counts(const std::shared_ptr<edge_sold_out>& sold_out) {
  return [weak = std::weak_ptr<edge_sold_out>(sold_out)] {
    std::map<std::string, std::int64_t> out;
    if (auto s = weak.lock())
      out["sold_out"] = s->answered();
    return out;
  };
}

namespace {

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/')
    return path;
  char cwd[4096];
  return ::getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + path : path;
}

} // namespace

edge_sold_out::edge_sold_out(const std::string& data_dir)
  : map_file_(absolute(data_dir) + "/haproxy-sold-out.map") {}

edge_sold_out::~edge_sold_out() {
  stop();
}

void edge_sold_out::note(const std::string& product_id, std::optional<std::int64_t> available) {
  bool sold_out = available && *available <= 0;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    bool was = wanted_.count(product_id) > 0;
    if (was == sold_out)
      return; // most calls: a commit that left the product on the same side of zero
    if (sold_out)
      wanted_.insert(product_id);
    else
      wanted_.erase(product_id);
    changed_.insert(product_id);
  }
  wake_.notify_one();
}

std::set<std::string> edge_sold_out::sold_out() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return {wanted_.begin(), wanted_.end()};
}

std::string edge_sold_out::write_map_file() {
  auto wanted = sold_out();
  auto temporary = map_file_ + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << "# Generated by flashsale (node/edge_sold_out.cpp): the products sold out now.\n";
    for (const auto& product : wanted)
      out << product << " 0\n";
    if (!out)
      return "cannot write " + temporary;
  }
  // Whole or not at all: a HAProxy starting meanwhile reads the old set or the new one.
  if (std::rename(temporary.c_str(), map_file_.c_str()) != 0)
    return "cannot replace " + map_file_;
  return "";
}

void edge_sold_out::start(std::string stats_socket, std::function<int()> generation) {
  stop();
  {
    std::lock_guard<std::mutex> guard{count_mutex_}; // a scrape may be reading the counter
    socket_ = std::move(stats_socket);
    generation_ = std::move(generation);
    counted_generation_ = generation_();
  }
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void edge_sold_out::stop() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable())
    thread_.join();
  // HAProxy is going: later scrapes get the last count instead of asking it.
  std::lock_guard<std::mutex> guard{count_mutex_};
  socket_.clear();
  generation_ = nullptr;
}

void edge_sold_out::run() {
  // HAProxy loaded the file at its start; changes noted since are in changed_. A full round
  // (show map, then repair) follows a restart or a round that could not reach HAProxy.
  int synced = generation_();
  bool full = true;
  auto last_count = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock{mutex_};
  while (!stopping_) {
    wake_.wait_for(lock, poll_interval, [this] { return stopping_ || !changed_.empty(); });
    if (stopping_)
      break;
    int now = generation_();
    full = full || now != synced;
    if (changed_.empty() && !full) {
      if (std::chrono::steady_clock::now() - last_count >= counter_interval) {
        lock.unlock();
        answered(); // a crash loses what HAProxy counted since the last read: keep it short
        last_count = std::chrono::steady_clock::now();
        lock.lock();
      }
      continue;
    }
    auto changed = std::move(changed_);
    changed_.clear();
    std::set<std::string> wanted(wanted_.begin(), wanted_.end());
    lock.unlock();
    bool ok = sync(wanted, changed, full);
    lock.lock();
    if (ok) {
      full = false;
      synced = now;
    } else { // HAProxy is restarting (or wedged): a full round once it answers again
      full = true;
      changed_.insert(changed.begin(), changed.end());
      lock.unlock();
      std::this_thread::sleep_for(poll_interval);
      lock.lock();
    }
  }
}

bool edge_sold_out::sync(const std::set<std::string>& wanted,
                         const std::unordered_set<std::string>& changed, bool full) {
  write_map_file(); // a HAProxy restarting from now on starts from this set
  auto map = haproxy_cli_argument(map_file_);
  std::vector<std::string> commands;
  if (full) {
    auto shown = haproxy_command(socket_, "show map " + map, command_timeout);
    if (!shown)
      return false;
    std::set<std::string> held; // "<ref> <key> <value>" per entry
    std::istringstream lines(*shown);
    for (std::string ref, key, rest; lines >> ref >> key && std::getline(lines, rest);)
      held.insert(key);
    for (const auto& product : held)
      if (!wanted.count(product))
        commands.push_back("del map " + map + " " + product);
    for (const auto& product : wanted)
      if (!held.count(product))
        commands.push_back("add map " + map + " " + product + " 0");
  } else {
    for (const auto& product : changed) {
      // del first: an id that left and came back within one round must not be held twice.
      commands.push_back("del map " + map + " " + product);
      if (wanted.count(product))
        commands.push_back("add map " + map + " " + product + " 0");
    }
  }
  return send(commands);
}

bool edge_sold_out::send(const std::vector<std::string>& commands) {
  std::size_t i = 0;
  while (i < commands.size()) {
    std::string line;
    for (; i < commands.size() && (line.empty() || line.size() + commands[i].size() < max_line);
         ++i)
      line += (line.empty() ? "" : ";") + commands[i];
    auto answer = haproxy_command(socket_, line, command_timeout);
    if (!answer)
      return false;
    // `add map` answers nothing, `del map` of an absent key "Key not found."; anything else
    // (an unknown map, a refused permission) means HAProxy's map is not what we think.
    std::istringstream lines(*answer);
    for (std::string l; std::getline(lines, l);)
      if (!l.empty() && l != "Key not found.")
        return false;
  }
  return true;
}

std::optional<std::int64_t> edge_sold_out::read_counter() {
  auto csv = haproxy_command(socket_, std::string("show stat ") + sold_out_backend + " 2 -1",
                             command_timeout);
  if (!csv)
    return std::nullopt;
  return haproxy_stat_field(*csv, "stot");
}

std::int64_t edge_sold_out::answered() {
  std::lock_guard<std::mutex> guard{count_mutex_};
  if (socket_.empty())
    return counted_before_ + counted_now_;
  int generation = generation_();
  auto now = read_counter();
  if (generation != counted_generation_) { // a new HAProxy counts from 0
    counted_before_ += counted_now_;
    counted_now_ = 0;
    counted_generation_ = generation;
  }
  if (now && *now >= counted_now_)
    counted_now_ = *now;
  return counted_before_ + counted_now_;
}

} // namespace flashsale
