// Read models the HTTP adapter queries without asking (or blocking) an actor: the product
// views, published at the commit of each inventory actor's events (on the store's writer
// thread, before any later commit is reported). So a view never shows a reservation that is
// not durable yet, and a client that got its 201 sees its units in the next GET.
// Thread-safe (readers share, writers exclude).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "events/product.hpp"

namespace flashsale {

/// What GET /products/{id} shows: the definition and the counts, not the holds.
struct product_view {
  std::string product_id;
  std::string name;
  std::int64_t stock = 0;
  std::int64_t available = 0;
  std::int64_t reserved = 0;
  std::int64_t sold = 0;
  std::int64_t per_user_limit = 0;
  std::int64_t price_cents = 0;
  std::optional<timestamp_ms> sale_starts_at;
  std::int64_t hold_seconds = 0;
};

product_view make_product_view(const product_state& s);

class product_views {
public:
  void publish(product_view view);
  std::optional<product_view> find(const std::string& product_id) const;
  std::vector<product_view> all() const;

private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, product_view> views_;
};

} // namespace flashsale
