#pragma once
// What one instance tells the others at once (over Redis, see app/cluster.hpp) so that a
// change made on it holds on every instance immediately: sessions revoked, a user's roles or
// state changed, an API key deleted, the signing keys rotated. Without Redis nothing is sent
// and each instance finds out from the database (sessions within a second, API keys within
// their cache time, signing keys at the next reload or the first token with an unknown key).
//
// On the wire a message is one line of ASCII words: the kind, then the ids (UUIDs), e.g.
// "revoked 0190... 0190...", "user 0190...", "api_key 0190...", "keys".

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::auth {

inline constexpr std::string_view kClusterChannel = "chatd:events";

struct ClusterEvent {
  enum class Kind { sessions_revoked, user_changed, api_key_revoked, signing_keys_changed };
  Kind kind = Kind::sessions_revoked;
  std::vector<std::string> ids;  // session ids, one user id, one key id; none for keys
};

// Where an authenticator sends what the other instances must hear; empty: a single instance.
using Announce = std::function<void(const ClusterEvent&)>;

std::string encode_event(const ClusterEvent& event);
// nullopt for anything else than what encode_event writes (an unknown kind from a newer
// instance, a malformed id): such a message is ignored.
std::optional<ClusterEvent> decode_event(std::string_view message);

}  // namespace chatd::auth
