#include "llm/upstream_parser.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstring>

namespace chatd::llm {

namespace {

void append_sized(std::string& out, std::string_view text) {
  const auto size = static_cast<std::uint32_t>(text.size());
  char bytes[sizeof size];
  std::memcpy(bytes, &size, sizeof size);
  out.append(bytes, sizeof size);
  out.append(text);
}

// The next sized piece of `packed` at `at` (moved past it).
std::string_view next_sized(std::string_view packed, std::size_t& at) {
  std::uint32_t size = 0;
  std::memcpy(&size, packed.data() + at, sizeof size);
  at += sizeof size;
  const std::string_view piece = packed.substr(at, size);
  at += size;
  return piece;
}

}  // namespace

void UpstreamParser::on_field_impl(boost::beast::http::field, string_view name, string_view value, error_code&) {
  append_sized(fields_, std::string_view(name.data(), name.size()));
  append_sized(fields_, std::string_view(value.data(), value.size()));
}

std::optional<std::string> UpstreamParser::header(std::string_view name) const {
  for (std::size_t at = 0; at < fields_.size();) {
    const std::string_view field = next_sized(fields_, at);
    const std::string_view value = next_sized(fields_, at);
    if (boost::beast::iequals(string_view(field.data(), field.size()), string_view(name.data(), name.size())))
      return std::string(value);
  }
  return std::nullopt;
}

std::size_t UpstreamParser::take(string_view data, error_code& ec) {
  if (body.data == nullptr) {
    ec = boost::beast::http::error::need_buffer;
    return 0;
  }
  const std::size_t n = std::min(data.size(), body.size);
  std::memcpy(body.data, data.data(), n);
  body.data += n;
  body.size -= n;
  if (n == data.size())
    ec = {};
  else
    ec = boost::beast::http::error::need_buffer;
  return n;
}

}  // namespace chatd::llm
