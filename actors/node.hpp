// The composition root of a running node: owns the data dir lock and (as the node grows) the
// event store, the actor system and the NATS side, in start-up order; tears them down in
// reverse. The HTTP adapter sees it only as a node_api.
#pragma once

#include <memory>
#include <string>
#include <variant>

#include "actors/node_api.hpp"
#include "config/config.hpp"

namespace flashsale {

class data_dir;

class node final : public node_api {
public:
  /// Opens and locks the data dir and recovers state; a message naming the problem otherwise.
  static std::variant<std::unique_ptr<node>, std::string> start(const node_config& config);
  ~node() override;

  health_report health() override;
  const node_config& config() const { return config_; }

private:
  node(node_config config, std::unique_ptr<data_dir> dir);

  node_config config_;
  std::unique_ptr<data_dir> dir_;
};

} // namespace flashsale
