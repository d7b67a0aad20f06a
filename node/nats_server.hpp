// The embedded NATS server (`nats.url = embedded`): a `nats-server -js -a 127.0.0.1 -p <port>
// -sd <data_dir>/jetstream` child process, restarted with backoff when it dies, stopped on
// shutdown by its own PID (SIGTERM, then SIGKILL after a timeout). Never by name.
// invariant: at most one child at a time, always on the same port and store dir, so clients
// reconnect to the same URL and JetStream keeps its stream across restarts. A plain thread
// (it blocks in waitpid), not an actor. Its log goes to <data_dir>/nats-server.log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <variant>

namespace flashsale {

struct nats_server_options {
  std::string data_dir;
  int port = 0; ///< 0 = a free port chosen now
  std::chrono::milliseconds ready_timeout{15000};
  std::chrono::milliseconds stop_timeout{5000}; ///< SIGTERM, then SIGKILL after this
};

class nats_server_supervisor {
public:
  /// Starts the server and waits until it accepts connections; a message otherwise (e.g.
  /// "nats-server not found on PATH: install it with `apt-get install nats-server`").
  static std::variant<std::unique_ptr<nats_server_supervisor>, std::string>
  start(const nats_server_options& options);
  /// Stops the supervisor thread and the server, by PID.
  ~nats_server_supervisor();

  /// nats://127.0.0.1:<port>
  std::string url() const;
  int port() const;
  /// The running child's PID; -1 between a crash and its restart.
  pid_t pid() const;
  /// How many times the server was restarted after dying.
  int restarts() const;

  struct impl;

private:
  explicit nats_server_supervisor(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

/// The full path of `program` on $PATH; empty when none is executable.
std::string find_on_path(const std::string& program);

/// True when something accepts TCP connections on 127.0.0.1:`port` (readiness probe).
bool accepts_connections(int port);

} // namespace flashsale
