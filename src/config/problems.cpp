// How a problem with a setting is written: one line "NAME: what (got "value")", the value
// quoted and escaped so that the line stays one line, a secret's value never shown. shown()
// also masks the values of the effective listing (`chatd config check`).

#include "config/detail.hpp"
#include "config/url.hpp"
#include "core/utf8.hpp"

namespace chatd::config::detail {

std::string quoted(std::string_view value, std::size_t max) {
  bool cut = value.size() > max;
  value = utf8::prefix_bytes(value, max);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += cut ? "...\"" : "\"";
  return out;
}

std::string item_quoted(std::string_view item) { return quoted(item, 80); }

std::string shown(std::string_view value, Secrecy secrecy) {
  switch (secrecy) {
    case Secrecy::none: return std::string(value);
    case Secrecy::secret: return std::string(kRedacted);
    case Secrecy::url: return value.starts_with("sqlite:") ? std::string(value) : mask_url_password(value);
  }
  return std::string(kRedacted);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

void Field::fail(std::string_view what) {
  failed = true;
  std::string line(name);
  line += ": ";
  line += what;
  if (secrecy == Secrecy::secret) {
    line += " (value not shown)";
  } else {
    line += " (got ";
    line += quoted(shown(value, secrecy));
    line += ')';
  }
  problems->push_back(std::move(line));
}

void Checker::problem(std::string_view name, std::string_view what, std::optional<std::string> got) {
  std::string line(name);
  line += ": ";
  line += what;
  if (got) line += " (got " + quoted(*got) + ")";
  problems_.push_back(std::move(line));
}

}  // namespace chatd::config::detail
