#include "tests/chaos/history.hpp"

#include <sstream>

namespace flashsale::testing::chaos {

const char* to_string(op_kind k) {
  switch (k) {
  case op_kind::place:
    return "place";
  case op_kind::cancel:
    return "cancel";
  case op_kind::pay:
    return "pay";
  }
  return "?";
}

std::string operation::render() const {
  std::ostringstream out;
  out << "#" << index << " c" << client << " " << node << " " << to_string(kind) << " " << user_id;
  if (kind == op_kind::place) {
    out << " key " << key << " [";
    for (std::size_t i = 0; i < items.size(); ++i)
      out << (i ? "," : "") << items[i].product_id << "x" << items[i].quantity;
    out << "]";
  } else {
    out << " " << order_id;
  }
  if (kind == op_kind::pay)
    out << " " << event_id << " " << (payment_succeeded ? "succeeded" : "failed") << " "
        << amount_cents;
  out << " " << invoke << ".." << complete << " -> ";
  if (status == 0)
    out << "no answer";
  else
    out << status;
  if (!code.empty())
    out << " " << code;
  if (kind == op_kind::place && !order_id.empty())
    out << " " << order_id;
  if (!result.empty())
    out << " (" << result << ")";
  if (replayed)
    out << " replayed";
  if (!detail.empty() && !acknowledged())
    out << ": " << detail;
  return out.str();
}

int history::add(operation op) {
  std::lock_guard lock(mutex_);
  op.index = static_cast<int>(ops_.size());
  ops_.push_back(std::move(op));
  return ops_.back().index;
}

std::vector<operation> history::snapshot() const {
  std::lock_guard lock(mutex_);
  return ops_;
}

} // namespace flashsale::testing::chaos
