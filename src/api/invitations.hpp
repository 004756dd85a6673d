#pragma once
// Routes of API.md's "Invitations" section: POST /invitations, GET /invitations.

#include "auth/invitations.hpp"
#include "http/router.hpp"

namespace chatd::api {

void add_invitation_routes(http::Router& router, auth::Invitations& invitations);

}  // namespace chatd::api
