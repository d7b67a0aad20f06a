// The composition root of a running node: owns, in start-up order, the data dir lock, the
// event store, the read models, the actor system with its directory, and recovers every
// product and unfinished order from the log before the node is handed out; tears them down in
// reverse. The HTTP adapter sees it only as a node_api.
#pragma once

#include <memory>
#include <string>
#include <variant>

#include "actors/node_api.hpp"
#include "config/config.hpp"

namespace flashsale {

class clock;

struct node_options {
  /// The node's time source; nullptr = the system clock. Tests pass a manual clock.
  const clock* time = nullptr;
};

class node final : public node_api {
public:
  /// Opens and locks the data dir, opens the store, recovers state and resumes every saga a
  /// crash cut off; a message naming the problem otherwise.
  static std::variant<std::unique_ptr<node>, std::string> start(const node_config& config,
                                                               node_options options = {});
  ~node() override;

  health_report health() override;
  node_stats stats() override;
  void on_commit(commit_listener listener) override;
  define_result define(const define_product& command) override;
  std::optional<product_view> product(const std::string& product_id) override;
  std::vector<product_view> products() override;
  answer place(const order_request& request) override;
  std::optional<order_state> order(const std::string& order_id) override;
  answer command(const std::string& order_id, const order_command& command) override;

  const node_config& config() const { return config_; }

  /// Makes the expiry scheduler look at the clock now (tests, after advancing a manual clock).
  void check_expiries();
  /// Blocks until everything appended so far is committed.
  void flush();

private:
  struct runtime;
  explicit node(node_config config);

  node_config config_;
  std::unique_ptr<runtime> rt_;
};

} // namespace flashsale
