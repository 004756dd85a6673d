#include "auth/cluster_events.hpp"

#include <array>
#include <utility>

namespace chatd::auth {

namespace {

constexpr std::array<std::pair<ClusterEvent::Kind, std::string_view>, 4> kKinds{{
    {ClusterEvent::Kind::sessions_revoked, "revoked"},
    {ClusterEvent::Kind::user_changed, "user"},
    {ClusterEvent::Kind::api_key_revoked, "api_key"},
    {ClusterEvent::Kind::signing_keys_changed, "keys"},
}};

// Ids are UUIDs (or other tokens of letters, digits and '-'): nothing else is accepted.
bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
      return false;
  return true;
}

}  // namespace

std::string encode_event(const ClusterEvent& event) {
  std::string out;
  for (const auto& [kind, name] : kKinds)
    if (kind == event.kind) out = name;
  for (const auto& id : event.ids) {
    out += ' ';
    out += id;
  }
  return out;
}

std::optional<ClusterEvent> decode_event(std::string_view message) {
  std::vector<std::string_view> words;  // a trailing or doubled space makes an empty word
  for (;;) {
    auto space = message.find(' ');
    words.push_back(message.substr(0, space));
    if (space == std::string_view::npos) break;
    message.remove_prefix(space + 1);
  }
  ClusterEvent event;
  bool known = false;
  for (const auto& [kind, name] : kKinds)
    if (name == words.front()) {
      event.kind = kind;
      known = true;
    }
  if (!known) return std::nullopt;
  for (std::size_t i = 1; i < words.size(); ++i) {
    if (!valid_id(words[i])) return std::nullopt;
    event.ids.emplace_back(words[i]);
  }
  bool keys = event.kind == ClusterEvent::Kind::signing_keys_changed;
  bool one = event.kind == ClusterEvent::Kind::user_changed || event.kind == ClusterEvent::Kind::api_key_revoked;
  if ((keys && !event.ids.empty()) || (one && event.ids.size() != 1) || (!keys && event.ids.empty()))
    return std::nullopt;
  return event;
}

}  // namespace chatd::auth
