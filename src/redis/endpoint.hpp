#pragma once
// Where a Redis server is, from CHATD_REDIS_URL: redis://[[user]:password@]host:port[/db].
// hiredis 0.14 has no TLS, so rediss:// is refused with a line that says so.

#include "core/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace chatd::redis {

struct Endpoint {
  std::string host;  // a DNS name or an IP literal (without brackets)
  std::uint16_t port = 6379;
  std::string username;  // empty: AUTH with the password only (Redis before 6, or "default")
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECT when not 0
};

// Errors: Code::invalid_argument naming what is wrong (never echoing the password).
Result<Endpoint> parse_endpoint(std::string_view url);

}  // namespace chatd::redis
