// What every actor of a node may use, owned by the node and outliving its actor system:
// the event store, the clock, the read models and the tunables. Plain pointers on purpose:
// the node guarantees the lifetime, and actors must not own (or keep alive) any of these.
#pragma once

#include <cstdint>

namespace flashsale {

class event_store;
class clock;
class product_views;
class expiry_book;
class answered_keys;
class remote_stock;

struct node_services {
  event_store* store = nullptr;
  const clock* now = nullptr;
  product_views* products = nullptr;
  expiry_book* expiries = nullptr; ///< every reserved order's due time
  answered_keys* keys = nullptr;   ///< keys with a stored first answer
  /// Cluster mode: the stock of products other partitions serve (a cart's items elsewhere);
  /// nullptr on a single node, where every product is here.
  remote_stock* remote = nullptr;
  /// Most overdue holds the expiry scheduler fires per turn, so a restart after a long
  /// outage cannot flood the mailboxes (a "timer storm").
  std::size_t expiry_batch = 256;
};

} // namespace flashsale
