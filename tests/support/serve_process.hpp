// `flashsale serve` as a child process, the way the end-to-end tests start a node: its banner
// ("flashsale listening on http://HOST:PORT") is the only way to learn the real port when
// http.port is 0, so every test reads it the same way.
#pragma once

#include <chrono>

#include "tests/support/child_process.hpp"

namespace flashsale::testing {

/// Waits for the banner and returns its port; -1 when it did not come within `timeout`.
int listening_port(child_process& node,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// True while `pid` is a live process: not gone, and not a zombie waiting to be reaped.
bool process_alive(int pid);

} // namespace flashsale::testing
