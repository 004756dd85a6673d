#pragma once
// GET /healthz (the process serves) and GET /readyz (the readiness checks that app.cpp
// passes in Services::readiness answer).

#include "api/routes.hpp"

namespace chatd::api {

HandlerResult healthz(const Services& s, http::Context& ctx);
HandlerResult readyz(const Services& s, http::Context& ctx);

}  // namespace chatd::api
