#include "events/event.hpp"

#include <nlohmann/json.hpp>

#include "events/fast_decode.hpp"
#include "events/fast_encode.hpp"

namespace flashsale {

namespace {

template <class T>
struct event_name;
#define FLASHSALE_EVENT_NAME(T)                                                                    \
  template <>                                                                                      \
  struct event_name<T> {                                                                           \
    static constexpr const char* value = #T;                                                       \
  };
FLASHSALE_EVENT_NAME(ProductDefined)
FLASHSALE_EVENT_NAME(StockReserved)
FLASHSALE_EVENT_NAME(StockReleased)
FLASHSALE_EVENT_NAME(StockSold)
FLASHSALE_EVENT_NAME(OrderPlaced)
FLASHSALE_EVENT_NAME(OrderReserved)
FLASHSALE_EVENT_NAME(OrderRejected)
FLASHSALE_EVENT_NAME(OrderPaid)
FLASHSALE_EVENT_NAME(OrderCancelled)
FLASHSALE_EVENT_NAME(OrderExpired)
FLASHSALE_EVENT_NAME(PaymentRejected)
#undef FLASHSALE_EVENT_NAME

// Tries alternative I, then I+1, ...: one place maps type names to structs, so adding an
// event to the variant is enough to make it decodable.
template <std::size_t I = 0>
bool decode_as(std::string_view type, const nlohmann::json& data, decode_result& out) {
  if constexpr (I == std::variant_size_v<event>) {
    return false;
  } else {
    using T = std::variant_alternative_t<I, event>;
    if (type != event_name<T>::value)
      return decode_as<I + 1>(type, data, out);
    out.value = data.get<T>();
    return true;
  }
}

} // namespace

const char* type_name(const event& e) {
  return std::visit([](const auto& v) { return event_name<std::decay_t<decltype(v)>>::value; }, e);
}

bool is_product_event(const event& e) {
  return std::holds_alternative<ProductDefined>(e) || std::holds_alternative<StockReserved>(e)
         || std::holds_alternative<StockReleased>(e) || std::holds_alternative<StockSold>(e);
}

const std::string& entity_id(const event& e) {
  return std::visit(
      [](const auto& v) -> const std::string& {
        using T = std::decay_t<decltype(v)>;
        if constexpr (
            std::is_same_v<
                T,
                ProductDefined> || std::is_same_v<T, StockReserved> || std::is_same_v<T, StockReleased> || std::is_same_v<T, StockSold>)
          return v.product_id;
        else
          return v.order_id;
      },
      e);
}

namespace {
constexpr std::string_view product_prefix = "product-";
constexpr std::string_view order_prefix = "order-";
} // namespace

std::string product_stream(std::string_view product_id) {
  return std::string(product_prefix).append(product_id);
}

std::string order_stream(std::string_view order_id) {
  return std::string(order_prefix).append(order_id);
}

std::optional<stream_ref> parse_stream(std::string_view stream) {
  if (stream.substr(0, product_prefix.size()) == product_prefix)
    return stream_ref{stream_ref::kind::product, stream.substr(product_prefix.size())};
  if (stream.substr(0, order_prefix.size()) == order_prefix)
    return stream_ref{stream_ref::kind::order, stream.substr(order_prefix.size())};
  return std::nullopt;
}

std::string stream_of(const event& e) {
  return is_product_event(e) ? product_stream(entity_id(e)) : order_stream(entity_id(e));
}

envelope to_envelope(const event& e, std::int64_t version, timestamp_ms recorded_at) {
  envelope env;
  env.stream = stream_of(e);
  env.version = version;
  env.type = type_name(e);
  if (auto fast = fast_encode(e))
    env.data = std::move(*fast);
  else
    env.data = std::visit([](const auto& v) { return nlohmann::json(v).dump(); }, e);
  env.recorded_at = recorded_at;
  return env;
}

decode_result decode(const envelope& env) {
  if (auto fast = fast_decode(env.type, env.data)) {
    decode_result out;
    out.value = std::move(*fast);
    return out;
  }
  return decode_full(env);
}

decode_result decode_full(const envelope& env) {
  decode_result out;
  try {
    auto data = nlohmann::json::parse(env.data);
    if (!data.is_object()) {
      out.error = "seq " + std::to_string(env.seq) + " (" + env.type + "): data is not an object";
      return out;
    }
    if (!decode_as(env.type, data, out))
      out.error = "seq " + std::to_string(env.seq) + ": unknown event type '" + env.type + "'";
  } catch (const std::exception& ex) {
    out.value.reset();
    out.error = "seq " + std::to_string(env.seq) + " (" + env.type + "): " + ex.what();
  }
  return out;
}

} // namespace flashsale
