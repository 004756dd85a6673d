#include "auth/cluster_events.hpp"

#include <gtest/gtest.h>

namespace chatd::auth {
namespace {

using Kind = ClusterEvent::Kind;

TEST(ClusterEvents, RoundTrip) {
  for (const ClusterEvent& e : {ClusterEvent{Kind::sessions_revoked, {"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "s2"}},
                                ClusterEvent{Kind::user_changed, {"u1"}}, ClusterEvent{Kind::api_key_revoked, {"k1"}},
                                ClusterEvent{Kind::signing_keys_changed, {}}}) {
    auto back = decode_event(encode_event(e));
    ASSERT_TRUE(back) << encode_event(e);
    EXPECT_EQ(back->kind, e.kind);
    EXPECT_EQ(back->ids, e.ids);
  }
  EXPECT_EQ(encode_event({Kind::sessions_revoked, {"a", "b"}}), "revoked a b");
  EXPECT_EQ(encode_event({Kind::signing_keys_changed, {}}), "keys");
}

TEST(ClusterEvents, AnythingElseIsIgnored) {
  for (const char* m : {"", "revoked", "user", "user a b", "api_key", "keys k1", "unknown a", "revoked a  b",
                        "revoked a\nb", "user ../x", "revoked a ", " revoked a", "REVOKED a"})
    EXPECT_FALSE(decode_event(m)) << '"' << m << '"';
  EXPECT_FALSE(decode_event("user " + std::string(65, 'a')));
}

}  // namespace
}  // namespace chatd::auth
