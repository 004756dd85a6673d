#pragma once
// Shape checks shared by registration and invitations.

#include <string>
#include <string_view>

namespace chatd::auth {

// A pragmatic address check: one '@', a non-empty local part of at most 64 bytes without
// spaces, control characters or <>,;"\(), a dotted domain of letters, digits and hyphens,
// at most 254 bytes in all.
bool valid_email(const std::string& email);

// The form an address is stored, looked up and compared in: NFKC with Unicode case
// folding (NFKC_Casefold), so that "ａlice@Example.com" (full-width a) and
// "alice@example.com" are one address. Input that is not valid UTF-8 comes back as it
// was, which valid_email() then refuses.
std::string normalize_email(std::string_view email);

// 3-32 characters of A-Z a-z 0-9 _ . -
bool valid_username(const std::string& username);

}  // namespace chatd::auth
