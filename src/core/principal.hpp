#pragma once
// Who is calling: set by the authentication step of the pipeline for routes that need it.

#include <string>
#include <string_view>
#include <vector>

namespace chatd {

struct Principal {
  std::string user_id;
  std::string session_id;  // empty for API keys
  std::string token_id;    // the access token's jti
  std::vector<std::string> roles;
  std::string api_key_id;  // set when an API key authenticated the call

  bool has_role(std::string_view role) const {
    for (const auto& r : roles)
      if (r == role) return true;
    return false;
  }
};

}  // namespace chatd
