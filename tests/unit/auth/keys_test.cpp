// KeyRing in both dialects (PostgreSQL when CHATD_TEST_DATABASE_URL is set): reloading and
// rotating on one thread (the maintenance thread, an admin's rotation) while network threads
// sign and verify. Under ThreadSanitizer this is the test of the key ring's snapshot.

#include "auth/keys.hpp"

#include "../store/store_fixture.hpp"
#include "auth/jwt.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace chatd::auth {
namespace {

using store::Dialect;
using store::testing::describe;

class KeyRingTest : public store::testing::MigratedStoreTest {
 protected:
  nlohmann::json claims(int n) const {
    const std::int64_t now = clock_.now_ms() / 1000;
    return {{"iss", "https://chat.example.test"},
            {"aud", "chatd"},
            {"sub", "u" + std::to_string(n)},
            {"jti", "j" + std::to_string(n)},
            {"sid", "s1"},
            {"iat", now},
            {"exp", now + 600}};
  }

  SystemClock clock_;
  Logger log_{LogLevel::error, LogFormat::json};
  crypto::DataKey data_key_ = crypto::DataKey::generate();
};

TEST_P(KeyRingTest, SignsAndVerifiesWhileAnotherThreadReloadsAndRotates) {
  KeyRing keys(db(), data_key_, clock_, log_, 600'000);
  auto loaded = keys.load();
  ASSERT_TRUE(loaded) << describe(loaded.error());

  constexpr int kRotations = 5;
  std::atomic<bool> done{false};
  std::atomic<int> rotated{0};
  std::string maintenance_error;
  std::thread maintenance([&] {
    for (int i = 0; i < kRotations && maintenance_error.empty(); ++i) {
      if (auto st = keys.load(); !st) maintenance_error = "load: " + describe(st.error());
      if (auto kid = keys.rotate(); !kid)
        maintenance_error = "rotate: " + describe(kid.error());
      else
        rotated.fetch_add(1);
    }
    done = true;
  });

  // Every token signed meanwhile verifies with the ring's public keys: a rotation keeps the
  // retired key verifiable, and no reader ever sees a half-built set.
  std::atomic<int> signed_tokens{0};
  std::vector<std::string> failures(2);
  std::vector<std::thread> network;
  for (int t = 0; t < 2; ++t) {
    network.emplace_back([&, t] {
      VerifyOptions options;
      options.issuer = "https://chat.example.test";
      options.audience = "chatd";
      for (int n = 0; !done.load() || n < 20; ++n) {
        std::string token = keys.sign(claims(n));
        options.now_seconds = clock_.now_ms() / 1000;
        auto verified = verify_jwt(
            token, [&keys](std::string_view kid) { return keys.public_key(kid); }, options);
        if (!verified) {
          failures[t] = describe(verified.error());
          return;
        }
        if (keys.jwks()["keys"].empty()) {
          failures[t] = "an empty JWKS";
          return;
        }
        signed_tokens.fetch_add(1);
      }
    });
  }
  maintenance.join();
  for (auto& th : network) th.join();

  EXPECT_EQ(maintenance_error, "");
  EXPECT_EQ(rotated.load(), kRotations);
  EXPECT_EQ(failures[0], "");
  EXPECT_EQ(failures[1], "");
  EXPECT_GE(signed_tokens.load(), 40);
  // The first key and every rotated one stay verifiable for the token lifetime.
  EXPECT_EQ(keys.jwks()["keys"].size(), static_cast<std::size_t>(kRotations + 1));
}

INSTANTIATE_TEST_SUITE_P(Dialects, KeyRingTest, ::testing::Values(Dialect::sqlite, Dialect::postgres),
                         store::testing::dialect_name);

}  // namespace
}  // namespace chatd::auth
