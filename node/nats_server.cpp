#include "node/nats_server.hpp"

#include <sys/stat.h>

#include "node/process_supervisor.hpp"

namespace flashsale {

std::variant<std::unique_ptr<nats_server_supervisor>, std::string>
nats_server_supervisor::start(const nats_server_options& options) {
  auto binary = find_program("nats-server");
  if (binary.empty())
    return std::string(
        "nats-server not found (PATH, /usr/sbin): install it with `apt-get install nats-server`");
  auto store_dir = options.data_dir + "/jetstream";
  ::mkdir(store_dir.c_str(), 0755);
  int port = options.port > 0 ? options.port : free_loopback_port();
  if (port <= 0)
    return std::string("no free loopback port for the embedded nats-server");
  child_spec spec;
  spec.name = "embedded nats-server";
  spec.argv = {binary, "-js", "-a", "127.0.0.1", "-p", std::to_string(port), "-sd", store_dir};
  spec.log_path = options.data_dir + "/nats-server.log";
  spec.ready = [port] { return accepts_connections(port); };
  spec.ready_timeout = options.ready_timeout;
  spec.stop_timeout = options.stop_timeout;
  auto started = process_supervisor::start(std::move(spec));
  if (auto problem = std::get_if<std::string>(&started))
    return *problem;
  return std::unique_ptr<nats_server_supervisor>(
      new nats_server_supervisor(port, std::move(std::get<0>(started))));
}

nats_server_supervisor::nats_server_supervisor(int port, std::unique_ptr<process_supervisor> child)
  : port_(port), child_(std::move(child)) {}

nats_server_supervisor::~nats_server_supervisor() = default;

std::string nats_server_supervisor::url() const {
  return "nats://127.0.0.1:" + std::to_string(port_);
}
int nats_server_supervisor::port() const {
  return port_;
}
pid_t nats_server_supervisor::pid() const {
  return child_->pid();
}
int nats_server_supervisor::restarts() const {
  return child_->restarts();
}

} // namespace flashsale
