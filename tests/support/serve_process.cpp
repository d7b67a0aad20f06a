#include "tests/support/serve_process.hpp"

#include <signal.h>

#include <fstream>
#include <regex>
#include <string>

namespace flashsale::testing {

int listening_port(child_process& node, std::chrono::milliseconds timeout) {
  static const std::regex line(R"(flashsale listening on https?://[^:]+:(\d+))");
  auto found =
      node.wait_for_line([](const std::string& l) { return std::regex_search(l, line); }, timeout);
  std::smatch m;
  if (!found || !std::regex_search(*found, m, line))
    return -1;
  return std::stoi(m[1]);
}

bool process_alive(int pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0)
    return false;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string l; std::getline(status, l);)
    if (l.rfind("State:", 0) == 0)
      return l.find('Z') == std::string::npos;
  return false;
}

} // namespace flashsale::testing
