// Read models the HTTP workers query without asking (or blocking) an actor, each published on
// the store's writer thread at the commit that changes it, before any later commit is
// reported: so they never show what is not durable yet, and a client that got its answer sees
// it in the next read.
// - product_views: what GET /products shows, and the availability the early sold-out uses
//   (and the edge's sold-out map, told through a watcher);
// - answered_keys: which (user, Idempotency-Key) pairs have a stored first answer, so a
//   request whose key has none skips the index lookup (most of a crowd).
// Thread-safe (readers share, writers exclude).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "events/product.hpp"

namespace flashsale {

/// The view (events/product_fields.hpp) of a product as its inventory holds it.
product_view make_product_view(const product_state& s);

/// A product's availability as a node publishes it, at the commit that changed it (on the
/// store's writer thread: keep it short, never block); nullopt = the node no longer answers
/// for the product (it stopped, or gave the product's partition away).
using availability_listener =
    std::function<void(const std::string& product_id, std::optional<std::int64_t> available)>;

class product_views {
public:
  /// Tells the watcher (one at a time) the view's availability, in publish order.
  void publish(product_view view);
  /// Replaces the watcher and tells the new one every product's availability now, under the
  /// same lock as publish: it misses no change and never hears an older value after a newer.
  /// The watcher runs under the views' lock: it must not call back into them.
  void watch(availability_listener watcher);
  /// Tells the watcher every product is gone (nullopt), then forgets it: the node stops.
  void withdraw();
  std::optional<product_view> find(const std::string& product_id) const;
  /// The view's available count alone (no copy of the view); nullopt for no such product.
  std::optional<std::int64_t> available(const std::string& product_id) const;
  std::vector<product_view> all() const;

private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, product_view> views_;
  availability_listener watcher_;
};

class answered_keys {
public:
  void add(std::string_view user_id, std::string_view key);
  /// False: no first answer is stored for this key. True: there may be one (a 64-bit
  /// fingerprint can collide; the index then says no).
  bool maybe(std::string_view user_id, std::string_view key) const;
  std::size_t size() const;

private:
  static std::uint64_t fingerprint(std::string_view user_id, std::string_view key);
  mutable std::shared_mutex mutex_;
  std::unordered_set<std::uint64_t> seen_;
};

} // namespace flashsale
