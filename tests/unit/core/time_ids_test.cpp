#include "core/ids.hpp"
#include "core/time.hpp"

#include <gtest/gtest.h>

#include <set>

namespace chatd {
namespace {

TEST(Time, FormatsRfc3339) {
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(1795334400123), "2026-11-22T08:00:00.123Z");
  EXPECT_EQ(format_rfc3339(1795334400123), "2026-11-22T08:00:00Z");
  EXPECT_EQ(format_rfc3339(951782400000), "2000-02-29T00:00:00Z");
}

TEST(Time, ParsesRfc3339) {
  EXPECT_EQ(parse_rfc3339("2026-11-22T08:00:00Z"), 1795334400000);
  EXPECT_EQ(parse_rfc3339("2026-11-22T08:00:00.123Z"), 1795334400123);
  EXPECT_EQ(parse_rfc3339("2026-11-22T09:30:00+01:30"), 1795334400000);
  EXPECT_EQ(parse_rfc3339("2026-11-22T06:00:00-02:00"), 1795334400000);
  EXPECT_EQ(parse_rfc3339("2000-02-29T00:00:00Z"), 951782400000);
}

TEST(Time, RejectsMalformedTimestamps) {
  for (const char* bad :
       {"", "2026-11-22", "2026-11-22 08:00:00Z", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
        "2025-02-29T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T08:00:00", "2026-11-22T08:00:00.Z",
        "2026-11-22T08:00:00Zjunk", "2026-11-22T08:00:00+1:00", "abcd-11-22T08:00:00Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

TEST(Ids, UuidV7Layout) {
  std::string id = new_uuid_v7(1795334400123);
  ASSERT_EQ(id.size(), 36u);
  EXPECT_TRUE(is_uuid(id));
  EXPECT_EQ(id[14], '7');                                          // version
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);  // variant
  EXPECT_EQ(id.substr(0, 13), "01a20244-e87b");                    // 48-bit millisecond timestamp
}

TEST(Ids, UniqueAndTimeOrdered) {
  std::set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 5000; ++i) {
    std::string id = new_uuid_v7(1795334400000 + i);
    EXPECT_TRUE(seen.insert(id).second);
    EXPECT_LT(previous, id);
    previous = id;
  }
}

TEST(Ids, IsUuid) {
  EXPECT_TRUE(is_uuid("019aa8ba-bc7b-7c3e-9b1d-3f0a2c4d5e6f"));
  EXPECT_TRUE(is_uuid("019AA8BA-BC7B-7C3E-9B1D-3F0A2C4D5E6F"));
  EXPECT_FALSE(is_uuid("019aa8ba-bc7b-7c3e-9b1d-3f0a2c4d5e6"));
  EXPECT_FALSE(is_uuid("019aa8ba_bc7b-7c3e-9b1d-3f0a2c4d5e6f"));
  EXPECT_FALSE(is_uuid("019aa8ba-bc7b-7c3e-9b1d-3f0a2c4d5e6g"));
  EXPECT_FALSE(is_uuid("../../etc/passwd"));
}

}  // namespace
}  // namespace chatd
