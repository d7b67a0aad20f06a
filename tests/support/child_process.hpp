// A real child process for end-to-end tests (a flashsale node, a nats-server): started with
// fork/exec, its stdout and stderr collected line by line, stopped by its own PID only.
// The destructor SIGKILLs and reaps a child that is still running, so no test leaks a server.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace flashsale::testing {

class child_process {
public:
  /// Starts `argv[0]` (a path) with `argv`; `env` entries ("K=V") are added to ours.
  child_process(std::vector<std::string> argv, std::vector<std::string> env = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }

  /// Waits until an output line satisfies `match`; returns that line, or nullopt on timeout
  /// or when the child closed its output first.
  std::optional<std::string> wait_for_line(const std::function<bool(const std::string&)>& match,
                                           std::chrono::milliseconds timeout);

  /// Sends `sig` to the child (only to its PID).
  void signal(int sig);

  /// Waits for the child to exit and for its output to be read to the end; returns its exit
  /// code, 128+signal when killed, or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  /// Everything the child printed so far (stdout and stderr interleaved).
  std::string output() const;

private:
  void read_output(int fd);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  bool output_closed_ = false;
};

} // namespace flashsale::testing
