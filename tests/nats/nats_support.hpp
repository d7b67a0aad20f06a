// Helpers for tests against a real nats-server: start one as a child process on a free
// loopback port with its JetStream store in a temp dir (stopped by its PID only), and audit
// stream FLASHSALE against an event store: every event exactly once, by Nats-Msg-Id.
// The audit renders a short string so a test compares one line (LevelDB's PrintContents).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "node/nats_server.hpp"
#include "node/process_supervisor.hpp"
#include "persistence/jetstream.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"

namespace flashsale::testing {

inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline bool pid_alive(int pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

/// A nats-server child: `-js -a 127.0.0.1 -p <port> -sd <store_dir>`.
class nats_server_process {
public:
  nats_server_process(int port, std::string store_dir)
    : port_(port), store_dir_(std::move(store_dir)) {}
  ~nats_server_process() { stop(); }

  void start() {
    auto binary = find_program("nats-server");
    ASSERT_FALSE(binary.empty()) << "nats-server is not on PATH (apt-get install nats-server)";
    child_ = std::make_unique<child_process>(std::vector<std::string>{
        binary, "-js", "-a", "127.0.0.1", "-p", std::to_string(port_), "-sd", store_dir_});
    ASSERT_TRUE(eventually([&] { return accepts_connections(port_); }, std::chrono::seconds(15)))
        << child_->output();
  }

  /// SIGTERM to its PID, then waits for it to exit.
  void stop() {
    if (!child_)
      return;
    child_->signal(SIGTERM);
    child_->wait_exit(std::chrono::seconds(10));
    child_.reset();
  }

  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

private:
  int port_;
  std::string store_dir_;
  std::unique_ptr<child_process> child_;
};

inline std::unique_ptr<jetstream_client> connect_client(const std::string& url) {
  jetstream_options o;
  o.url = url;
  o.name = "flashsale-test";
  auto c = jetstream_client::connect(o);
  if (!std::holds_alternative<std::unique_ptr<jetstream_client>>(c))
    return nullptr;
  auto client = std::move(std::get<0>(c));
  eventually([&] { return client->connected(); }, std::chrono::seconds(10));
  return client;
}

/// "messages=N ids=N missing=M duplicates=D foreign=F" for stream FLASHSALE against the seqs
/// 1..last_seq of the store `store_id`. Exactly once reads "messages=N ids=N missing=0
/// duplicates=0 foreign=0" with N = last_seq.
inline std::string audit_stream(const std::string& url, const std::string& store_id,
                                std::int64_t last_seq) {
  auto client = connect_client(url);
  if (!client)
    return "cannot connect";
  auto st = client->state(jetstream_stream);
  if (auto e = std::get_if<jetstream_error>(&st))
    return "no stream: " + e->message;
  auto& state = std::get<stream_state>(st);
  std::map<std::string, int> seen;
  int foreign = 0;
  for (auto seq = state.first_seq; seq <= state.last_seq && state.messages > 0; ++seq) {
    auto m = client->get(jetstream_stream, seq);
    if (auto e = std::get_if<jetstream_error>(&m))
      return "get " + std::to_string(seq) + ": " + e->message;
    ++seen[std::get<stored_message>(m).msg_id];
  }
  int missing = 0, duplicates = 0;
  for (std::int64_t seq = 1; seq <= last_seq; ++seq) {
    auto it = seen.find(store_id + "-" + std::to_string(seq));
    if (it == seen.end())
      ++missing;
    else if (it->second > 1)
      ++duplicates;
  }
  for (auto& [id, n] : seen)
    if (id.rfind(store_id + "-", 0) != 0)
      foreign += n;
  return "messages=" + std::to_string(state.messages) + " ids=" + std::to_string(seen.size())
         + " missing=" + std::to_string(missing) + " duplicates=" + std::to_string(duplicates)
         + " foreign=" + std::to_string(foreign);
}

inline std::string exactly_once(std::int64_t n) {
  return "messages=" + std::to_string(n) + " ids=" + std::to_string(n)
         + " missing=0 duplicates=0 foreign=0";
}

} // namespace flashsale::testing
