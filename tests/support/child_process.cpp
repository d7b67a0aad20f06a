#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "tests/support/eventually.hpp"

extern char** environ;

namespace flashsale::testing {

child_process::child_process(std::vector<std::string> argv, std::vector<std::string> env) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe2 failed");
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e)
    environment.emplace_back(*e);
  for (auto& kv : env)
    environment.push_back(std::move(kv));
  std::vector<char*> c_argv, c_env;
  for (auto& a : argv)
    c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  for (auto& e : environment)
    c_env.push_back(e.data());
  c_env.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // A test that crashes runs no destructor: the child must not outlive it (and keep a
    // port, or a node on a deleted data dir). The signal fires when the forking thread
    // ends, so children are started from the test's own thread.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    ::execve(c_argv[0], c_argv.data(), c_env.data());
    const char* msg = "exec failed\n";
    (void)!::write(STDERR_FILENO, msg, std::strlen(msg));
    ::_exit(127);
  }
  ::close(fds[1]);
  reader_ = std::thread([this, fd = fds[0]] { read_output(fd); });
}

child_process::~child_process() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds(10));
  }
  if (reader_.joinable())
    reader_.join();
}

void child_process::read_output(int fd) {
  std::string pending;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    pending.append(buf, static_cast<size_t>(n));
    size_t pos;
    while ((pos = pending.find('\n')) != std::string::npos) {
      std::lock_guard<std::mutex> guard{mutex_};
      lines_.push_back(pending.substr(0, pos));
      pending.erase(0, pos + 1);
      changed_.notify_all();
    }
  }
  ::close(fd);
  std::lock_guard<std::mutex> guard{mutex_};
  if (!pending.empty())
    lines_.push_back(pending);
  output_closed_ = true;
  changed_.notify_all();
}

std::optional<std::string>
child_process::wait_for_line(const std::function<bool(const std::string&)>& match,
                             std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mutex_};
  size_t checked = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; checked < lines_.size(); ++checked)
      if (match(lines_[checked]))
        return lines_[checked];
    if (output_closed_)
      return std::nullopt;
    if (changed_.wait_until(guard, deadline) == std::cv_status::timeout && checked == lines_.size())
      return std::nullopt;
  }
}

void child_process::signal(int sig) {
  if (!exit_code_)
    ::kill(pid_, sig);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_)
    return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  // No portable way to wait on a child with a timeout short of signalfd: poll waitpid.
  if (!eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout))
    return std::nullopt;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // The child is gone, but the reader thread may not have drained the pipe yet: callers
  // read output() right after this, so wait for end of file (bounded: a grandchild that
  // inherited the pipe could hold it open).
  std::unique_lock<std::mutex> guard{mutex_};
  changed_.wait_until(
      guard, std::max(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(5)),
      [this] { return output_closed_; });
  return exit_code_;
}

std::string child_process::output() const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::string all;
  for (auto& l : lines_)
    all += l + "\n";
  return all;
}

} // namespace flashsale::testing
