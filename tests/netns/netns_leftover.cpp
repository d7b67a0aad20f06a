// A test run that dies without cleaning up, for NetnsCleanup.NextRunSweepsTheLeftoversOfAKilledRun:
// builds a topology, starts one process inside that dies with it (PDEATHSIG) and one that
// outlives it (setsid -f), prints "netns-prefix <prefix>" and waits to be SIGKILLed.
#include <unistd.h>

#include <iostream>

#include "tests/support/netns.hpp"

using namespace flashsale::testing;

int main() {
  netns::topology net;
  net.add_network("nats");
  net.add_host("a", {"nats"});
  net.add_host("b", {"nats"});
  auto sleeper = net.at("a").spawn({netns::system_tool("sleep"), "600"});
  net.at("b").exec(
      {netns::system_tool("sh"), "-c", "setsid -f sleep 601 >/dev/null 2>&1 </dev/null"});
  std::cout << "netns-prefix " << net.prefix() << std::endl;
  for (;;)
    ::pause();
}
