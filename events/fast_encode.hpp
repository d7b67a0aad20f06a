// The write fast path, the twin of fast_decode: every event is encoded on the order path (three
// per order), and building an nlohmann DOM for each was a fifth of the actor threads' CPU.
// invariant: when it returns a value, the bytes equal nlohmann::json(event).dump() (keys in
// sorted order, the same escapes); when a string holds a byte >= 0x80 it returns nullopt and
// the caller takes the nlohmann path, which validates the UTF-8. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "events/event.hpp"

namespace flashsale {

std::optional<std::string> fast_encode(const event& e);

/// Appends `s` as a JSON string the way nlohmann's dump does (quotes, \" \\ \b \f \n \r \t,
/// other control bytes as \u00xx). False, with `out` partly written, when `s` holds a byte
/// >= 0x80: only nlohmann's path checks that UTF-8 is valid.
bool append_json_string(std::string& out, std::string_view s);

/// Appends a signed integer in decimal, as nlohmann writes it.
void append_json_int(std::string& out, std::int64_t n);

} // namespace flashsale
