#include "redis/endpoint.hpp"

#include "config/url.hpp"
#include "core/percent.hpp"

#include <charconv>

namespace chatd::redis {

namespace {

Error bad(std::string detail) { return fail(Code::invalid_argument, "CHATD_REDIS_URL " + std::move(detail)); }

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view text) {
  if (text.starts_with("rediss://"))
    return bad(
        "uses rediss:// (TLS), which this build's Redis client (hiredis 0.14) cannot speak: "
        "use redis:// on a trusted network, or a TLS tunnel to Redis");
  std::string error;
  auto url = config::parse_url(text, error);
  if (!url) return bad(error);
  if (url->scheme != "redis") return bad("must be redis://host:port[/db]");
  if (url->host.host.empty() || !url->host.port) return bad("must name a host and a port (redis://host:port[/db])");
  if (url->query || url->fragment) return bad("must not have a query or fragment");
  Endpoint e;
  e.host = url->host.host;
  e.port = static_cast<std::uint16_t>(*url->host.port);
  if (url->has_userinfo) {
    // Percent-decoded: a password may hold ':' or '@' written as %3A and %40.
    // Everything between "://" and the last '@' is the userinfo (the path, a number, has none),
    // as the settings' own reading of the URL takes it.
    std::string_view rest = text.substr(text.find("://") + 3);
    std::string_view userinfo = rest.substr(0, rest.rfind('@'));
    if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      e.username = percent_decode(userinfo.substr(0, colon));
      e.password = percent_decode(userinfo.substr(colon + 1));
    } else {
      e.password = percent_decode(userinfo);  // redis://secret@host: Redis reads it as a password
    }
  }
  if (url->path.size() > 1) {
    std::string_view db = std::string_view(url->path).substr(1);
    auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), e.db);
    if (ec != std::errc() || end != db.data() + db.size() || e.db < 0)
      return bad("has a database after '/' that is not a non-negative integer");
  }
  return e;
}

}  // namespace chatd::redis
