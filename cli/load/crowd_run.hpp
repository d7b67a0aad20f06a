// A flash crowd as it really arrives: one TCP connection per buyer, buyers arriving spread
// over a window, each sending one order and then (optionally) staying connected, idle, as a
// browser tab does; beside them, idle sockets that connect and send nothing (slowloris).
// One epoll loop on one thread drives every socket, so the generator itself holds thousands
// of connections without a thread each. A buyer's wait runs from its scheduled arrival (the
// connect) to the last byte of the answer, so a generator running late shows up as wait, not
// as fewer buyers. Fills the same run_result as the closed and open loops (outcomes, verdict
// inputs) plus its crowd figures. Plain HTTP/1.1; never throws.
#pragma once

#include <string>
#include <vector>

#include "cli/load/load_run.hpp"

namespace flashsale::load {

/// Places every buyer's order as a crowd (plan.crowd) and fills `out`; returns the accepted
/// order ids (for the payment phase). A failure to start (bad URL, too few file descriptors)
/// is reported in out.setup_error.
std::vector<std::string> run_crowd(const scenario& plan, run_result& out);

} // namespace flashsale::load
