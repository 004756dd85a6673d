#include "config/url.hpp"

#include "config/config.hpp"

#include <algorithm>
#include <cctype>

namespace chatd::config {

namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool is_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    auto dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (!std::all_of(label.begin(), label.end(), is_label_char)) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::optional<HostPort> parse_host_port(std::string_view text, bool allow_empty_host, std::string& error) {
  HostPort out;
  std::string_view port_text;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) {
      error = "unclosed '[' in the host";
      return std::nullopt;
    }
    std::string_view inner = text.substr(1, close - 1);
    auto ip = parse_ip(inner);
    if (!ip || inner.find(':') == std::string_view::npos) {
      error = "the host in brackets must be an IPv6 address";
      return std::nullopt;
    }
    out.host.assign(inner);
    out.ipv6 = true;
    std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "unexpected text after ']'";
        return std::nullopt;
      }
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    auto colon = text.find(':');
    std::string_view host = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      if (text.find(':', colon + 1) != std::string_view::npos) {
        error = "IPv6 addresses must be in brackets, e.g. [::1]:8080";
        return std::nullopt;
      }
      has_port = true;
      port_text = text.substr(colon + 1);
    }
    if (host.empty()) {
      if (!allow_empty_host) {
        error = "the host is missing";
        return std::nullopt;
      }
    } else if (!is_hostname(host)) {
      error = "the host is not a valid name or address";
      return std::nullopt;
    }
    out.host.assign(host);
  }
  if (has_port) {
    if (!all_digits(port_text) || port_text.size() > 5) {
      error = "the port must be a number";
      return std::nullopt;
    }
    out.port = std::stol(std::string(port_text));
  }
  return out;
}

std::optional<Url> parse_url(std::string_view text, std::string& error, bool allow_host_list) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      error = "must not contain spaces or control characters";
      return std::nullopt;
    }
  }
  auto sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    error = "must be a URL (scheme://host...)";
    return std::nullopt;
  }
  Url url;
  for (std::size_t i = 0; i < sep; ++i) {
    char c = text[i];
    bool ok = std::isalpha(static_cast<unsigned char>(c)) ||
              (i > 0 && (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'));
    if (!ok) {
      error = "must be a URL (scheme://host...)";
      return std::nullopt;
    }
    url.scheme += lower(c);
  }
  std::string_view rest = text.substr(sep + 3);
  auto auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  rest.remove_prefix(auth_end == std::string_view::npos ? rest.size() : auth_end);

  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    url.has_userinfo = true;
    auto colon = userinfo.find(':');
    url.has_password = colon != std::string_view::npos;
    url.user.assign(userinfo.substr(0, colon));
    authority.remove_prefix(at + 1);
  }
  url.authority.assign(authority);

  bool first = true;
  std::string_view hosts = authority;
  while (true) {
    auto comma = allow_host_list ? hosts.find(',') : std::string_view::npos;
    auto hp =
        parse_host_port(hosts.substr(0, comma), /*allow_empty_host=*/comma == std::string_view::npos && first, error);
    if (!hp) return std::nullopt;
    if (hp->port && (*hp->port < 1 || *hp->port > 65535)) {
      error = "the port must be from 1 to 65535";
      return std::nullopt;
    }
    if (first) url.host = *hp;
    first = false;
    if (comma == std::string_view::npos) break;
    hosts.remove_prefix(comma + 1);
  }

  auto hash = rest.find('#');
  if (hash != std::string_view::npos) {
    url.fragment.emplace(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
  }
  auto q = rest.find('?');
  if (q != std::string_view::npos) {
    url.query.emplace(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  url.path.assign(rest);
  return url;
}

std::string mask_url_password(std::string_view text) {
  std::string out;
  auto sep = text.find("://");
  std::size_t start = sep == std::string_view::npos ? 0 : sep + 3;
  auto at = text.rfind('@');
  if (at != std::string_view::npos && at >= start) {
    std::string_view userinfo = text.substr(start, at - start);
    auto colon = userinfo.find(':');
    out.assign(text.substr(0, start));
    if (colon != std::string_view::npos) {
      out.append(userinfo.substr(0, colon));
      out += ":***";
    } else {
      out += "***";
    }
    out.append(text.substr(at));
  } else {
    out.assign(text);
  }
  // libpq also takes the password as a query parameter.
  auto q = out.find('?');
  while (q != std::string::npos) {
    std::size_t name = q + 1;
    auto eq = out.find('=', name);
    auto amp = out.find('&', name);
    if (eq != std::string::npos && (amp == std::string::npos || eq < amp)) {
      std::string key = out.substr(name, eq - name);
      std::transform(key.begin(), key.end(), key.begin(), lower);
      if (key == "password" || key == "pass" || key == "passwd") {
        auto end = out.find_first_of("&#", eq + 1);
        out.replace(eq + 1, (end == std::string::npos ? out.size() : end) - eq - 1, "***");
        amp = out.find('&', name);
      }
    }
    q = amp;
  }
  return out;
}

}  // namespace chatd::config
