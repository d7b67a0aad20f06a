// The node's HTTP edge (node/edge_front: the same generated HAProxy configuration, the same
// supervision) in front of any backend on 127.0.0.1, for bench/crowd_compare.sh to put the
// trivial httplib server behind exactly the front the node uses. Prints "listening on
// <port>" and runs until SIGINT/SIGTERM, then stops HAProxy by its PID.
// Usage: edge_front_runner <backend port> <backend connections> <data dir>
#include <signal.h>

#include <iostream>
#include <string>

#include "node/edge_front.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: edge_front_runner <backend port> <backend connections> <data dir>\n";
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  flashsale::edge_options o;
  o.backend_port = std::stoi(argv[1]);
  o.backend_connections = std::stoi(argv[2]);
  o.data_dir = argv[3];
  auto started = flashsale::edge_front::start(o);
  if (auto problem = std::get_if<std::string>(&started)) {
    std::cerr << *problem << "\n";
    return 1;
  }
  std::cout << "listening on " << std::get<0>(started)->port() << std::endl;
  int received = 0;
  sigwait(&stop, &received);
  return 0;
}
