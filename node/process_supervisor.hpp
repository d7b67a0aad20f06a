// A child process the node runs and keeps running: the embedded nats-server, the HAProxy edge.
// Forked from a supervisor thread that lives as long as the child, which asks for
// PR_SET_PDEATHSIG: the signal fires when that *thread* ends, so a SIGKILLed node never leaves
// an orphan behind holding a port. Restarted with backoff (100 ms doubling to 5 s) whenever it
// dies; stopped by its own PID (stop signal, then SIGKILL after a timeout), never by name.
// invariant: at most one child at a time; it inherits only stdin (/dev/null), stdout and
// stderr (its log file) and the descriptors it is explicitly given, never the data dir lock.
// A plain thread (it blocks in waitpid), not an actor.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace flashsale {

struct child_spec {
  std::string name;              ///< for messages: "nats-server", "haproxy"
  std::vector<std::string> argv; ///< argv[0] is the program's full path
  std::string log_path;          ///< stdout and stderr are appended here
  /// Descriptors the child gets as 3, 4, ... (in this order); the caller keeps its own copies.
  std::vector<int> inherit_fds;
  std::string pid_file; ///< holds the running child's PID; removed when it stops; empty = none
  /// Readiness probe, polled every 20 ms after each (re)start.
  std::function<bool()> ready;
  std::chrono::milliseconds ready_timeout{15000};
  int stop_signal = SIGTERM; ///< asks the child to finish; SIGKILL after stop_timeout
  std::chrono::milliseconds stop_timeout{5000};
};

class process_supervisor {
public:
  /// Starts the child and waits until it is ready; a message naming the log otherwise.
  static std::variant<std::unique_ptr<process_supervisor>, std::string> start(child_spec spec);
  /// Stops the child (stop signal, then SIGKILL) and the supervisor thread.
  ~process_supervisor();

  /// The running child's PID; -1 between a death and its restart.
  pid_t pid() const;
  /// How many times the child was restarted after dying.
  int restarts() const;
  /// True while a child runs and its last (re)start became ready.
  bool up() const;

  struct impl;

private:
  explicit process_supervisor(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

/// The full path of `program` on $PATH, else in /usr/sbin or /sbin; empty when none is
/// executable.
std::string find_program(const std::string& program);

/// A port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int free_loopback_port();

/// True when something accepts TCP connections on 127.0.0.1:`port` (readiness probe).
bool accepts_connections(int port);

} // namespace flashsale
