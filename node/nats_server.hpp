// The embedded NATS server (`nats.url = embedded`): a `nats-server -js -a 127.0.0.1 -p <port>
// -sd <data_dir>/jetstream` child process under a process_supervisor (restarted when it dies,
// stopped by its PID, never orphaned). Always on the same port and store dir, so clients
// reconnect to the same URL and JetStream keeps its stream across restarts. Its log goes to
// <data_dir>/nats-server.log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <variant>

namespace flashsale {

class process_supervisor;

struct nats_server_options {
  std::string data_dir;
  int port = 0; ///< 0 = a free port chosen now
  std::chrono::milliseconds ready_timeout{15000};
  std::chrono::milliseconds stop_timeout{5000}; ///< SIGTERM, then SIGKILL after this
};

class nats_server_supervisor {
public:
  /// Starts the server and waits until it accepts connections; a message otherwise (e.g.
  /// "nats-server not found (PATH, /usr/sbin): install it with `apt-get install
  /// nats-server`").
  static std::variant<std::unique_ptr<nats_server_supervisor>, std::string>
  start(const nats_server_options& options);
  ~nats_server_supervisor();

  /// nats://127.0.0.1:<port>
  std::string url() const;
  int port() const;
  /// The running child's PID; -1 between a crash and its restart.
  pid_t pid() const;
  /// How many times the server was restarted after dying.
  int restarts() const;

private:
  nats_server_supervisor(int port, std::unique_ptr<process_supervisor> child);
  int port_;
  std::unique_ptr<process_supervisor> child_;
};

} // namespace flashsale
