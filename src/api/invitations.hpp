#pragma once
// Handlers of API.md's "Invitations" section: POST /invitations, GET /invitations.

#include "api/routes.hpp"
#include "auth/invitations.hpp"
#include "core/result.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace chatd::api {

struct NewInvitationRequest {
  std::optional<std::string> email;
  std::optional<std::int64_t> expires_in_hours;
};

// The body of POST /invitations: {email?, expires_in_hours?}; every field problem is one
// entry of a single Code::invalid_argument. The range of expires_in_hours is the service's
// rule; here only its type (an integer; anything above 1,000,000 reads as 1,000,000).
Result<NewInvitationRequest> read_new_invitation(const nlohmann::json& body);

HandlerResult create_invitation(const Services& s, http::Context& ctx);
HandlerResult list_invitations(const Services& s, http::Context& ctx);
HandlerResult delete_invitation(const Services& s, http::Context& ctx);

}  // namespace chatd::api
