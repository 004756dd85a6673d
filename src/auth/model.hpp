#pragma once
// Domain records of the account side. Times are Unix epoch milliseconds.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chatd::auth {

struct User {
  std::string id;
  std::string email;  // lowercased
  std::string username;
  std::string password_hash;
  std::optional<std::int64_t> email_verified_at;
  std::optional<std::int64_t> disabled_at;
  std::int64_t failed_logins = 0;
  std::optional<std::int64_t> locked_until;
  std::optional<std::int64_t> last_login_at;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::vector<std::string> roles;
  bool totp_enabled = false;

  bool has_role(std::string_view role) const {
    for (const auto& r : roles)
      if (r == role) return true;
    return false;
  }
};

struct Session {
  std::string id;
  std::string user_id;
  std::int64_t created_at = 0;
  std::int64_t last_used_at = 0;
  std::int64_t expires_at = 0;
  std::string ip;
  std::string user_agent;
  std::string device_fingerprint;
  std::optional<std::int64_t> revoked_at;
  std::string revoke_reason;
};

struct RefreshToken {
  std::string token_hash;
  std::string session_id;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::optional<std::int64_t> rotated_at;
};

struct SigningKey {
  std::string kid;
  std::string algorithm;           // "EdDSA"
  std::string public_key;          // base64url of the raw 32-byte Ed25519 key
  std::string private_key_sealed;  // AEAD-sealed raw seed
  std::int64_t created_at = 0;
  std::optional<std::int64_t> not_after;     // stops signing from here
  std::optional<std::int64_t> retire_after;  // leaves the JWKS from here
};

// Who made a request: kept with sessions and audit rows.
struct RequestMeta {
  std::string ip;
  std::string user_agent;
  std::string request_id;
};

struct AuditEvent {
  AuditEvent(std::string event_name, std::optional<std::string> user = std::nullopt,
             std::optional<std::string> actor = std::nullopt, std::string detail = "{}")
      : event(std::move(event_name)),
        user_id(std::move(user)),
        actor_id(std::move(actor)),
        detail_json(std::move(detail)) {}

  std::string event;
  std::optional<std::string> user_id;   // whom the event is about
  std::optional<std::string> actor_id;  // who caused it
  std::string detail_json;              // a JSON object
};

// An API key as listed; its secret is never stored (auth/api_keys.hpp).
struct ApiKey {
  std::string id;
  std::string user_id;
  std::string name;
  std::string prefix;  // "ck_" + the key's visible id part
  std::int64_t created_at = 0;
  std::optional<std::int64_t> last_used_at;
  std::optional<std::int64_t> expires_at;
};

// An invitation as listed; its code is never stored (auth/invitations.hpp).
struct Invitation {
  std::string id;
  std::string code_prefix;  // the first 8 characters after "inv_", to recognise a code in lists
  std::string inviter_id;
  std::optional<std::string> email;  // lowercased; only this address may accept
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::optional<std::int64_t> accepted_at;
  std::optional<std::string> invitee_id;
};

}  // namespace chatd::auth
