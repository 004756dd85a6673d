#pragma once
// The request readers' harness: the body as the pipeline hands it to a handler (an empty
// body is {}, anything but a JSON object is refused before the handler runs).

#include "fuzz.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>

namespace chatd::fuzz {

inline std::optional<nlohmann::json> request_body(std::string_view text) {
  nlohmann::json body = text.empty() ? nlohmann::json::object() : nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return std::nullopt;
  return body;
}

}  // namespace chatd::fuzz
