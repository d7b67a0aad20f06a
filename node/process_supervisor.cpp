#include "node/process_supervisor.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>

namespace flashsale {

std::string find_program(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  // Debian installs daemons (haproxy, nats-server) in /usr/sbin, which is on root's PATH and
  // systemd's but not an ordinary user's: `flashsale serve` by hand must find them too.
  dirs += ":/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty())
      dir = ".";
    std::string candidate = dir + "/" + program;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)
        && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return "";
}

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0
      && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

bool accepts_connections(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

struct process_supervisor::impl {
  child_spec spec;
  std::atomic<pid_t> child{-1};
  std::atomic<int> restarts{0};
  std::atomic<bool> ready{false};
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread thread;

  /// fork/exec; only async-signal-safe calls between fork and exec (we are multi-threaded).
  pid_t spawn() {
    std::vector<char*> argv;
    for (auto& a : spec.argv)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    int log_fd = ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    auto inherited = spec.inherit_fds;
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) // the parent died before prctl took effect
        ::_exit(127);
      // The node blocks SIGINT/SIGTERM and ignores SIGPIPE; exec keeps both, so undo them.
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::signal(SIGPIPE, SIG_DFL);
      int null_fd = ::open("/dev/null", O_RDONLY);
      if (null_fd >= 0)
        ::dup2(null_fd, 0);
      if (log_fd >= 0) {
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
      }
      // Out of the way first (a given fd may itself be 3 or 4), then into place; dup2 clears
      // close-on-exec on the copy.
      int high = 1000;
      for (auto& fd : inherited)
        fd = ::fcntl(fd, F_DUPFD, high++);
      int next = 3;
      for (int fd : inherited)
        ::dup2(fd, next++);
      // Nothing else: never the data dir lock or the store's files.
      ::close_range(static_cast<unsigned>(next), ~0U, 0);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (log_fd >= 0)
      ::close(log_fd);
    if (pid > 0 && !spec.pid_file.empty())
      std::ofstream(spec.pid_file, std::ios::trunc) << pid << "\n";
    return pid;
  }

  /// Sends the stop signal, then SIGKILL after the stop timeout; reaps the child.
  void stop_child(pid_t pid) {
    ::kill(pid, spec.stop_signal);
    auto deadline = std::chrono::steady_clock::now() + spec.stop_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid)
        return forget(pid);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    forget(pid);
  }

  void forget(pid_t) { // the child is reaped
    child = -1;
    ready = false;
    if (!spec.pid_file.empty())
      ::unlink(spec.pid_file.c_str());
  }

  bool wait_ready(pid_t pid) {
    auto deadline = std::chrono::steady_clock::now() + spec.ready_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!spec.ready || spec.ready())
        return true;
      if (::waitpid(pid, nullptr, WNOHANG) == pid) {
        forget(pid);
        return false; // it died (a bad config, the port was taken)
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  /// Waits for the stop request or `d`; true when stopping.
  bool stop_requested_within(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(mutex);
    return wake.wait_for(lock, d, [&] { return stopping; });
  }

  /// The supervisor thread: start, report the first start, then restart whenever it dies.
  void run(std::promise<std::string> started) {
    pid_t pid = spawn();
    if (pid > 0)
      child = pid;
    if (pid < 0 || !wait_ready(pid)) {
      if (child > 0) // alive but never ready
        stop_child(pid);
      started.set_value(spec.name + " did not become ready (see " + spec.log_path + ")");
      return;
    }
    child = pid;
    ready = true;
    started.set_value("");
    auto backoff = std::chrono::milliseconds(100);
    for (;;) {
      // Poll so a stop request is seen promptly; waitpid itself cannot be interrupted cleanly.
      while (::waitpid(pid, nullptr, WNOHANG) == 0) {
        if (stop_requested_within(std::chrono::milliseconds(50))) {
          stop_child(pid);
          return;
        }
      }
      forget(pid);
      std::cerr << "flashsale: " << spec.name << " (pid " << pid << ") exited; restarting in "
                << backoff.count() << " ms" << std::endl;
      if (stop_requested_within(backoff))
        return;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      pid = spawn();
      if (pid < 0)
        continue;
      child = pid;
      ++restarts;
      if (wait_ready(pid)) {
        ready = true;
        backoff = std::chrono::milliseconds(100);
      } else if (child > 0) {
        stop_child(pid); // alive but not ready in time: start afresh after the backoff
      }
    }
  }
};

std::variant<std::unique_ptr<process_supervisor>, std::string>
process_supervisor::start(child_spec spec) {
  auto self = std::make_unique<impl>();
  self->spec = std::move(spec);
  std::promise<std::string> started;
  auto result = started.get_future();
  auto* raw = self.get();
  self->thread = std::thread([raw, p = std::move(started)]() mutable { raw->run(std::move(p)); });
  auto problem = result.get();
  if (!problem.empty()) {
    self->thread.join();
    return problem;
  }
  return std::unique_ptr<process_supervisor>(new process_supervisor(std::move(self)));
}

process_supervisor::process_supervisor(std::unique_ptr<impl> self) : self_(std::move(self)) {}

process_supervisor::~process_supervisor() {
  {
    std::lock_guard<std::mutex> lock(self_->mutex);
    self_->stopping = true;
  }
  self_->wake.notify_all();
  if (self_->thread.joinable())
    self_->thread.join();
}

pid_t process_supervisor::pid() const {
  return self_->child;
}
int process_supervisor::restarts() const {
  return self_->restarts;
}
bool process_supervisor::up() const {
  return self_->ready && self_->child > 0;
}

} // namespace flashsale
