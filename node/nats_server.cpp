// The embedded nats-server supervisor. All forks happen on the supervisor thread, which lives as
// long as the child: the child asks for PR_SET_PDEATHSIG, which fires when the *thread* that
// forked it ends, so a SIGKILLed node never leaves an orphan server (or a held port) behind.
#include "node/nats_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

namespace flashsale {

std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty())
      dir = ".";
    std::string candidate = dir + "/" + program;
    struct stat st{};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)
        && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return "";
}

namespace {

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


} // namespace

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

struct nats_server_supervisor::impl {
  nats_server_options options;
  std::string binary, store_dir, log_path;
  int port = 0;
  std::atomic<pid_t> child{-1};
  std::atomic<int> restarts{0};
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread thread;

  /// fork/exec; only async-signal-safe calls between fork and exec (we are multi-threaded).
  pid_t spawn() {
    std::string port_text = std::to_string(port);
    std::vector<std::string> args = {binary, "-js", "-a", "127.0.0.1", "-p", port_text,
                                     "-sd", store_dir};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
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
      // Never let the server inherit the data dir lock or the store's files.
      ::close_range(3, ~0U, 0);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (log_fd >= 0)
      ::close(log_fd);
    return pid;
  }

  /// Sends SIGTERM, then SIGKILL after the stop timeout; reaps the child.
  void stop_child(pid_t pid) {
    ::kill(pid, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + options.stop_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }

  bool wait_ready(pid_t pid) {
    auto deadline = std::chrono::steady_clock::now() + options.ready_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (accepts_connections(port))
        return true;
      if (::waitpid(pid, nullptr, WNOHANG) == pid)
        return false; // it died (e.g. the port was taken)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  /// The supervisor thread: start, report the first start, then restart whenever it dies.
  void run(std::promise<std::string> started) {
    pid_t pid = spawn();
    if (pid < 0 || !wait_ready(pid)) {
      if (pid > 0)
        stop_child(pid);
      started.set_value("nats-server did not accept connections on port " + std::to_string(port)
                        + " (see " + log_path + ")");
      return;
    }
    child = pid;
    started.set_value("");
    auto backoff = std::chrono::milliseconds(100);
    for (;;) {
      int status = 0;
      // Poll so a stop request is seen promptly; waitpid itself cannot be interrupted cleanly.
      pid_t done = 0;
      while ((done = ::waitpid(pid, &status, WNOHANG)) == 0) {
        std::unique_lock<std::mutex> lock(mutex);
        if (wake.wait_for(lock, std::chrono::milliseconds(50), [&] { return stopping; })) {
          lock.unlock();
          stop_child(pid);
          child = -1;
          return;
        }
      }
      child = -1;
      std::cerr << "flashsale: embedded nats-server (pid " << pid << ") exited; restarting in "
                << backoff.count() << " ms" << std::endl;
      {
        std::unique_lock<std::mutex> lock(mutex);
        if (wake.wait_for(lock, backoff, [&] { return stopping; }))
          return;
      }
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      pid = spawn();
      if (pid < 0)
        continue;
      child = pid;
      ++restarts;
      if (wait_ready(pid))
        backoff = std::chrono::milliseconds(100);
    }
  }
};

std::variant<std::unique_ptr<nats_server_supervisor>, std::string>
nats_server_supervisor::start(const nats_server_options& options) {
  auto self = std::make_unique<impl>();
  self->options = options;
  self->binary = find_on_path("nats-server");
  if (self->binary.empty())
    return std::string(
      "nats-server not found on PATH: install it with `apt-get install nats-server`");
  self->store_dir = options.data_dir + "/jetstream";
  self->log_path = options.data_dir + "/nats-server.log";
  ::mkdir(self->store_dir.c_str(), 0755);
  self->port = options.port > 0 ? options.port : free_loopback_port();
  if (self->port <= 0)
    return std::string("no free loopback port for the embedded nats-server");
  std::promise<std::string> started;
  auto result = started.get_future();
  auto* raw = self.get();
  self->thread = std::thread([raw, p = std::move(started)]() mutable { raw->run(std::move(p)); });
  auto problem = result.get();
  if (!problem.empty()) {
    self->thread.join();
    return problem;
  }
  return std::unique_ptr<nats_server_supervisor>(new nats_server_supervisor(std::move(self)));
}

nats_server_supervisor::nats_server_supervisor(std::unique_ptr<impl> self)
    : self_(std::move(self)) {}

nats_server_supervisor::~nats_server_supervisor() {
  {
    std::lock_guard<std::mutex> lock(self_->mutex);
    self_->stopping = true;
  }
  self_->wake.notify_all();
  if (self_->thread.joinable())
    self_->thread.join();
}

std::string nats_server_supervisor::url() const {
  return "nats://127.0.0.1:" + std::to_string(self_->port);
}
int nats_server_supervisor::port() const { return self_->port; }
pid_t nats_server_supervisor::pid() const { return self_->child; }
int nats_server_supervisor::restarts() const { return self_->restarts; }

} // namespace flashsale
