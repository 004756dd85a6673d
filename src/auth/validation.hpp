#pragma once
// Shape checks shared by registration and invitations.

#include <string>

namespace chatd::auth {

// A pragmatic address check: one '@', a non-empty local part of at most 64 bytes without
// spaces, control characters or <>,;"\(), a dotted domain of letters, digits and hyphens,
// at most 254 bytes in all.
bool valid_email(const std::string& email);

// 3-32 characters of A-Z a-z 0-9 _ . -
bool valid_username(const std::string& username);

}  // namespace chatd::auth
