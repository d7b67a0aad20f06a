#include "actors/read_models.hpp"

#include <mutex>

namespace flashsale {

product_view make_product_view(const product_state& s) {
  return product_view{s.product_id, s.name,           s.stock,          s.available(),
                      s.reserved,   s.sold,           s.per_user_limit, s.price_cents,
                      s.sale_starts_at, s.hold_seconds};
}

void product_views::publish(product_view view) {
  std::unique_lock<std::shared_mutex> guard{mutex_};
  auto id = view.product_id;
  views_[id] = std::move(view);
}

std::optional<product_view> product_views::find(const std::string& product_id) const {
  std::shared_lock<std::shared_mutex> guard{mutex_};
  if (auto it = views_.find(product_id); it != views_.end())
    return it->second;
  return std::nullopt;
}

std::vector<product_view> product_views::all() const {
  std::shared_lock<std::shared_mutex> guard{mutex_};
  std::vector<product_view> out;
  out.reserve(views_.size());
  for (auto& [id, v] : views_)
    out.push_back(v);
  return out;
}

} // namespace flashsale
