#pragma once
// The authenticator of the OpenAI-compatible /v1 routes: an API key when the bearer value
// has a key's shape, otherwise an access token (so the web UI's session works there too).

#include "auth/api_keys.hpp"
#include "core/authenticator.hpp"

namespace chatd::auth {

class ApiAuthenticator final : public Authenticator {
 public:
  ApiAuthenticator(Authenticator& tokens, ApiKeyAuthenticator& keys) : tokens_(tokens), keys_(keys) {}

  boost::asio::awaitable<Result<Principal>> authenticate(std::string_view credential) override {
    if (looks_like_api_key(credential)) return keys_.authenticate(credential);
    return tokens_.authenticate(credential);
  }
  std::optional<Result<Principal>> authenticate_now(std::string_view credential) override {
    if (looks_like_api_key(credential)) return keys_.authenticate_now(credential);
    return tokens_.authenticate_now(credential);
  }

 private:
  Authenticator& tokens_;
  ApiKeyAuthenticator& keys_;
};

}  // namespace chatd::auth
