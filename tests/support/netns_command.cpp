#include "tests/support/netns_command.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace flashsale::testing::netns {

namespace {

constexpr long nsfs_magic = 0x6e736673; // linux/magic.h NSFS_MAGIC

void write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    auto n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return; // the command closed its stdin early: it will say why in its output
    done += static_cast<size_t>(n);
  }
}

} // namespace

std::string render(const std::vector<std::string>& argv) {
  std::string line;
  for (auto& a : argv)
    line += (line.empty() ? "" : " ") + a;
  return line;
}

std::string system_tool(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    std::string path = dir + name;
    if (::access(path.c_str(), X_OK) == 0)
      return path;
  }
  return {};
}

namespace {

std::string ip_tool() {
  static const std::string path = system_tool("ip");
  if (path.empty())
    throw error("`ip` is not installed (apt-get install iproute2)");
  return path;
}

} // namespace

std::string ip_in(const std::string& netns, const std::string& lines) {
  if (netns.empty())
    throw error("ip_in without a namespace: refused (" + lines + ")");
  auto r = run_command({ip_tool(), "-n", netns, "-batch", "-"}, "", lines);
  if (!r.ok())
    throw error("ip -n " + netns + " -batch: " + lines + "-> " + r.output);
  return r.output;
}

std::string ip_query(const std::string& netns, const std::vector<std::string>& args) {
  if (netns.empty())
    throw error("ip_query without a namespace: refused (" + render(args) + ")");
  std::vector<std::string> argv{ip_tool(), "-n", netns};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(argv);
  if (!r.ok())
    throw error(render(argv) + ": " + r.output);
  return r.output;
}

command_result ip_netns(const std::string& lines) {
  return run_command({ip_tool(), "-force", "-batch", "-"}, "", lines);
}

command_result run_command(const std::vector<std::string>& argv, const std::string& netns,
                           const std::string& input) {
  int ns_fd = -1;
  if (!netns.empty()) {
    ns_fd = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
    struct statfs fs {};
    if (ns_fd < 0 || ::fstatfs(ns_fd, &fs) != 0 || static_cast<long>(fs.f_type) != nsfs_magic) {
      if (ns_fd >= 0)
        ::close(ns_fd);
      return {127, "network namespace " + netns + " does not exist; not run: " + render(argv)};
    }
  }
  int out[2], in[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0)
    return {127, "pipe2 failed"};
  std::vector<std::string> args = argv;
  std::vector<char*> c_argv;
  for (auto& a : args)
    c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    // Between fork and exec only async-signal-safe calls: this process has threads.
    if (ns_fd >= 0 && ::setns(ns_fd, CLONE_NEWNET) != 0)
      ::_exit(127);
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    ::execve(c_argv[0], c_argv.data(), environ);
    const char* msg = "exec failed\n";
    (void)!::write(STDERR_FILENO, msg, std::strlen(msg));
    ::_exit(127);
  }
  if (ns_fd >= 0)
    ::close(ns_fd);
  ::close(out[1]);
  ::close(in[0]);
  if (pid < 0) {
    ::close(out[0]);
    ::close(in[1]);
    return {127, "fork failed"};
  }
  // A writer thread, so a command that prints before it has read all its input cannot
  // deadlock against us.
  std::thread writer([fd = in[1], &input] {
    // A command that exits before reading its input must not SIGPIPE the test: the signal
    // goes to the writing thread, which blocks it and sees EPIPE instead.
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
    write_all(fd, input);
    ::close(fd);
  });
  command_result result;
  char buf[4096];
  for (;;) {
    auto n = ::read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  writer.join();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

} // namespace flashsale::testing::netns
