#include "actors/node.hpp"

#include "persistence/data_dir.hpp"

namespace flashsale {

node::node(node_config config, std::unique_ptr<data_dir> dir)
  : config_(std::move(config)), dir_(std::move(dir)) {}

node::~node() = default;

std::variant<std::unique_ptr<node>, std::string> node::start(const node_config& config) {
  auto dir = data_dir::open(config.data_dir);
  if (auto problem = std::get_if<std::string>(&dir))
    return *problem;
  return std::unique_ptr<node>(new node(config, std::move(std::get<0>(dir))));
}

health_report node::health() {
  health_report report;
  report.nats = config_.nats.url == "off" ? "off" : "disconnected";
  return report;
}

} // namespace flashsale
