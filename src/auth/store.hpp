#pragma once
// Every part of auth's persistence at once, for code that uses many of them. Each topic
// has its own header and file under auth/store/ (users, roles, lockout, sessions, refresh
// tokens, one-time tokens, two-factor, signing keys, invitations, API keys, audit); the
// SQL is there and nowhere else. It is written once for both dialects ($N parameters,
// BIGINT epoch-millisecond times, no dialect-only syntax). Every function runs inside a
// store::read / store::transact the caller opens, so a service step that touches several
// tables commits or rolls back as one.

#include "auth/store/api_keys.hpp"
#include "auth/store/audit.hpp"
#include "auth/store/invitations.hpp"
#include "auth/store/lockout.hpp"
#include "auth/store/one_time_tokens.hpp"
#include "auth/store/refresh_tokens.hpp"
#include "auth/store/roles.hpp"
#include "auth/store/sessions.hpp"
#include "auth/store/signing_keys.hpp"
#include "auth/store/two_factor.hpp"
#include "auth/store/users.hpp"
