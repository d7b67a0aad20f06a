#include "actors/read_models.hpp"

#include <mutex>

namespace flashsale {

product_view make_product_view(const product_state& s) {
  product_view v;
  static_cast<product_definition&>(v) = s;
  v.available = s.available();
  v.reserved = s.reserved;
  v.sold = s.sold;
  return v;
}

void product_views::publish(product_view view) {
  std::unique_lock<std::shared_mutex> guard{mutex_};
  auto id = view.product_id;
  auto available = view.available;
  views_[id] = std::move(view);
  if (watcher_)
    watcher_(id, available);
}

void product_views::watch(availability_listener watcher) {
  std::unique_lock<std::shared_mutex> guard{mutex_};
  watcher_ = std::move(watcher);
  if (watcher_)
    for (auto& [id, v] : views_)
      watcher_(id, v.available);
}

void product_views::withdraw() {
  std::unique_lock<std::shared_mutex> guard{mutex_};
  if (watcher_)
    for (auto& [id, v] : views_)
      watcher_(id, std::nullopt);
  watcher_ = nullptr;
}

std::optional<product_view> product_views::find(const std::string& product_id) const {
  std::shared_lock<std::shared_mutex> guard{mutex_};
  if (auto it = views_.find(product_id); it != views_.end())
    return it->second;
  return std::nullopt;
}

std::optional<std::int64_t> product_views::available(const std::string& product_id) const {
  std::shared_lock<std::shared_mutex> guard{mutex_};
  if (auto it = views_.find(product_id); it != views_.end())
    return it->second.available;
  return std::nullopt;
}

std::uint64_t answered_keys::fingerprint(std::string_view user_id, std::string_view key) {
  // FNV-1a over "<user>\0<key>": ids cannot hold a NUL, so the pair is unambiguous.
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s)
      h = (h ^ c) * 1099511628211ull;
  };
  mix(user_id);
  h = (h ^ 0u) * 1099511628211ull;
  mix(key);
  return h;
}

void answered_keys::add(std::string_view user_id, std::string_view key) {
  auto f = fingerprint(user_id, key);
  std::unique_lock<std::shared_mutex> guard{mutex_};
  seen_.insert(f);
}

bool answered_keys::maybe(std::string_view user_id, std::string_view key) const {
  auto f = fingerprint(user_id, key);
  std::shared_lock<std::shared_mutex> guard{mutex_};
  return seen_.count(f) > 0;
}

std::size_t answered_keys::size() const {
  std::shared_lock<std::shared_mutex> guard{mutex_};
  return seen_.size();
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
