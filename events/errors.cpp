#include "events/errors.hpp"

#include <nlohmann/json.hpp>

namespace flashsale {

namespace {

struct catalogue_row {
  errc code;
  const char* name;
  int status;
};

// Row i describes errc(i); the static_asserts below keep the table and the enum in step.
constexpr catalogue_row catalogue[] = {
    {errc::invalid_request, "invalid_request", 400},
    {errc::unauthorized, "unauthorized", 401},
    {errc::forbidden, "forbidden", 403},
    {errc::not_found, "not_found", 404},
    {errc::unknown_product, "unknown_product", 404},
    {errc::sold_out, "sold_out", 409},
    {errc::limit_exceeded, "limit_exceeded", 409},
    {errc::sale_not_started, "sale_not_started", 409},
    {errc::invalid_state, "invalid_state", 409},
    {errc::stock_below_committed, "stock_below_committed", 409},
    {errc::amount_mismatch, "amount_mismatch", 409},
    {errc::idempotency_key_reused, "idempotency_key_reused", 422},
    {errc::payload_too_large, "payload_too_large", 413},
    {errc::rate_limited, "rate_limited", 429},
    {errc::invalid_signature, "invalid_signature", 401},
    {errc::unavailable, "unavailable", 503},
    {errc::request_timeout, "request_timeout", 408},
    {errc::internal, "internal", 500},
};

constexpr bool rows_in_enum_order() {
  for (std::size_t i = 0; i < errc_count; ++i)
    if (static_cast<std::size_t>(catalogue[i].code) != i)
      return false;
  return true;
}

static_assert(sizeof(catalogue) / sizeof(catalogue[0]) == errc_count,
              "every errc needs exactly one catalogue row");
static_assert(rows_in_enum_order(), "catalogue rows must follow the enum order");

const catalogue_row& row(errc e) {
  auto i = static_cast<std::size_t>(e);
  return catalogue[i < errc_count ? i : errc_count - 1];
}

} // namespace

const char* code_string(errc e) {
  return row(e).name;
}

int http_status(errc e) {
  return row(e).status;
}

std::optional<errc> parse_errc(std::string_view code) {
  for (const auto& r : catalogue)
    if (code == r.name)
      return r.code;
  return std::nullopt;
}

std::string error_body(errc code, const std::string& message) {
  // ordered: "code" before "message", as API.md shows it.
  nlohmann::ordered_json body{{"error", {{"code", code_string(code)}, {"message", message}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace flashsale
