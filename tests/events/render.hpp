// Short text renderings of domain values for tests (STYLE.md point 10): compare one string
// instead of ten fields, and get a readable diff when it fails.
#pragma once

#include <string>

#include "events/order.hpp"
#include "events/product.hpp"
#include "events/world.hpp"

namespace flashsale::test {

/// "StockReserved,StockSold" / "rejected:sold_out" / "duplicate" / "none"; combined with '+'.
std::string render(const decision& d);

/// "p1 v3 stock=10 avail=7 res=2 sold=1 limit=0 price=100 holds[o1:u1:2:held ...] users[u1:3]".
std::string render(const product_state& p);

/// Every field of an order, including history and payment events.
std::string render(const order_state& o);

/// All products and orders of a world, one per line, plus the order counts.
std::string render(const world& w);

} // namespace flashsale::test
