#include "http/message.hpp"

#include "core/ascii.hpp"
#include "core/header_line.hpp"
#include "core/percent.hpp"

#include <boost/beast/core/string.hpp>

namespace chatd::http {

std::string_view Response::header(std::string_view name) const {
  if (auto it = find(name); it != end()) return it->value();
  for (std::size_t at = 0; at < extra_head.size();) {
    std::size_t eol = extra_head.find("\r\n", at);
    if (eol == std::string::npos) eol = extra_head.size();
    const std::string_view line(extra_head.data() + at, eol - at);
    at = eol + 2;
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos && boost::beast::iequals(line.substr(0, colon), name))
      return trim_blanks(line.substr(colon + 1));
  }
  return {};
}

void Response::add_line(std::string_view name, std::string_view value) { append_header_line(extra_head, name, value); }

const std::string& PathParams::get(std::string_view name) const {
  static const std::string empty;
  for (const auto& [key, value] : items_)
    if (key == name) return value;
  return empty;
}

std::optional<std::string> Context::query_param(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (percent_decode(key, true) == name)
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
  }
  return std::nullopt;
}

std::optional<std::string> query_param_holding_nul(std::string_view query) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    auto eq = pair.find('=');
    std::string key = percent_decode(pair.substr(0, eq), true);
    std::string value = eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
    if (key.find('\0') != std::string::npos) return std::string("query");
    if (value.find('\0') != std::string::npos) return key;
  }
  return std::nullopt;
}

std::optional<std::string> Context::cookie(std::string_view name) const {
  auto [first, last] = req.equal_range(bhttp::field::cookie);
  for (auto it = first; it != last; ++it) {
    std::string_view rest = it->value();
    while (!rest.empty()) {
      auto semi = rest.find(';');
      std::string_view pair = trim_blanks(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      auto eq = pair.find('=');
      if (eq == std::string_view::npos || trim_blanks(pair.substr(0, eq)) != name) continue;
      std::string_view value = trim_blanks(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      return std::string(value);
    }
  }
  return std::nullopt;
}

std::string Context::user_agent() const {
  auto it = req.find(bhttp::field::user_agent);
  if (it == req.end()) return {};
  return std::string(it->value().substr(0, 512));
}

Response json_response(bhttp::status status, const nlohmann::json& body) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return res;
}

Response empty_response(bhttp::status status) {
  Response res{status, 11};
  return res;
}

}  // namespace chatd::http
