#pragma once
// Turns a bearer token into a Principal. The auth module implements it (access tokens, API
// keys); the HTTP pipeline asks it for routes that need a caller. Here, between the two, so
// that neither includes the other.

#include "core/principal.hpp"
#include "core/result.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string_view>

namespace chatd {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Errors: Code::unauthenticated for a bad, expired or revoked token; Code::unavailable
  // when it cannot be checked right now.
  virtual boost::asio::awaitable<Result<Principal>> authenticate(std::string_view token) = 0;
  // authenticate()'s answer without a coroutine when it is at hand (a credential checked a
  // moment ago); nullopt when authenticate() must run, because it would wait.
  virtual std::optional<Result<Principal>> authenticate_now(std::string_view /*token*/) { return std::nullopt; }
};

}  // namespace chatd
