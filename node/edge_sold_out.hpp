// Turned away at the edge: while a product's published availability is 0, HAProxy (node/
// edge_front) answers a POST /orders for that product alone with `409 sold_out` itself, byte
// for byte the node's own answer (node/edge_answers: sold_out.lf), and the node never sees it.
//
// HAProxy holds the set in a map, loaded at every (re)start from
// <data_dir>/haproxy-sold-out.map ("<product_id> 0" per line) and changed at run time through
// its stats socket (`add map` / `del map`, `level admin`). note() is the node's availability
// listener (node_api's commit_listener::availability, called at every commit): it records a
// change of a product's sold-out state and wakes the thread of this class, nothing more, so it
// never blocks a commit or an actor, and a burst of changes becomes one round of commands.
// Each round first rewrites the file, so a HAProxy restarting meanwhile loads the newest set;
// after a restart (or a failed round) the thread compares HAProxy's map with the set (`show
// map`) and repairs it.
// invariant: the map only turns buyers away and the node alone sells, so an entry that leaves
// late costs a buyer a 409, never a unit sold twice. Keyed orders (Idempotency-Key,
// request_id) and every body the rules cannot prove valid go on to the node.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "actors/read_models.hpp"

namespace flashsale {

/// The backend that answers (its counters count the buyers turned away).
inline constexpr const char* sold_out_backend = "sold_out";

/// The frontend lines that send a keyless single-product POST /orders whose product is in
/// `map_file` to the sold_out backend. Needs the ACL `body_too_large` and a whole body
/// (`wait-for-body`) before them.
std::string sold_out_frontend_rules(const std::string& map_file);
/// The sold_out backend, answering with the log-format body in `body_file`.
std::string sold_out_backend_section(const std::string& body_file);
/// The regexes of the rules: a body HAProxy may answer for, in its two shapes (pure, for tests).
std::string shorthand_body_regex();
std::string one_item_body_regex();

class edge_sold_out;

/// The node's availability listener that feeds `sold_out` (the HTTP adapter hands it to
/// node_api::on_commit). Holds it weakly: the node may outlive the edge.
availability_listener sold_out_feed(const std::shared_ptr<edge_sold_out>& sold_out);
/// The orders the edge answered by outcome, for /metrics (http_options::edge_orders).
std::function<std::map<std::string, std::int64_t>()>
edge_order_counts(const std::shared_ptr<edge_sold_out>& sold_out);

class edge_sold_out {
public:
  /// The map file is <data_dir>/haproxy-sold-out.map, named by its absolute path (HAProxy's
  /// config and the runtime API name a map by the path it was loaded from).
  explicit edge_sold_out(const std::string& data_dir);
  ~edge_sold_out(); ///< stop()
  edge_sold_out(const edge_sold_out&) = delete;
  edge_sold_out& operator=(const edge_sold_out&) = delete;

  /// The availability listener: `available` <= 0 puts the product in the set, anything else
  /// (nullopt: the node no longer answers for it) takes it out. Thread-safe, never blocks.
  void note(const std::string& product_id, std::optional<std::int64_t> available);

  const std::string& map_file() const { return map_file_; }
  /// Writes the set to the map file (HAProxy's contents at its next start); "" or a message.
  std::string write_map_file();

  /// Starts keeping the map of the HAProxy behind `stats_socket` equal to the set;
  /// `generation` changes whenever HAProxy was restarted (its restart count).
  void start(std::string stats_socket, std::function<int()> generation);
  /// Stops the thread. Idempotent.
  void stop();

  /// POST /orders the edge answered since this object was made: HAProxy's counter, read now,
  /// plus what earlier HAProxy processes had counted when last read.
  std::int64_t answered();
  /// The set now (tests).
  std::set<std::string> sold_out() const;

private:
  void run();
  /// One round: the file, then HAProxy's map; false when HAProxy could not be told.
  bool sync(const std::set<std::string>& wanted, const std::unordered_set<std::string>& changed,
            bool full);
  bool send(const std::vector<std::string>& commands);
  std::optional<std::int64_t> read_counter();

  const std::string map_file_;
  // Set by start() and cleared by stop() under count_mutex_, while the thread does not run.
  std::string socket_;
  std::function<int()> generation_;

  mutable std::mutex mutex_; ///< never held across I/O: note() waits for nothing
  std::condition_variable wake_;
  std::unordered_set<std::string> wanted_;  ///< the sold-out set
  std::unordered_set<std::string> changed_; ///< ids whose state changed since the last round
  bool stopping_ = false;
  std::thread thread_;

  std::mutex count_mutex_;          ///< the counter's bookkeeping across HAProxy restarts
  std::int64_t counted_before_ = 0; ///< totals of HAProxy processes gone
  std::int64_t counted_now_ = 0;    ///< the running process's total when last read
  int counted_generation_ = 0;
};

} // namespace flashsale
