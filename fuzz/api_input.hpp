#pragma once
// The request readers' harness: the body as the pipeline hands it to a handler (parsed by
// parse_json, as the pipeline parses it; an empty body is {}, anything but a JSON object is
// refused before the handler runs).

#include "core/json_scan.hpp"
#include "fuzz.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>

namespace chatd::fuzz {

inline std::optional<nlohmann::json> request_body(std::string_view text) {
  nlohmann::json body = text.empty() ? nlohmann::json::object() : parse_json(text);
  if (body.is_discarded() || !body.is_object()) return std::nullopt;
  return body;
}

}  // namespace chatd::fuzz
