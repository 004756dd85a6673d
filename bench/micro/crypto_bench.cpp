// Micro benchmarks of the per-request crypto: Argon2id with the production parameters
// (the cost of one login), Ed25519 signing and JWT verification (one access token).

#include "auth/jwt.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/password_hash.hpp"

#include <benchmark/benchmark.h>

namespace {

void BM_Argon2idHashProduction(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(chatd::crypto::password::hash("correct horse battery staple"));
}
BENCHMARK(BM_Argon2idHashProduction)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Argon2idVerifyProduction(benchmark::State& state) {
  auto encoded = chatd::crypto::password::hash("correct horse battery staple").value();
  for (auto _ : state)
    benchmark::DoNotOptimize(chatd::crypto::password::verify(encoded, "correct horse battery staple"));
}
BENCHMARK(BM_Argon2idVerifyProduction)->Unit(benchmark::kMillisecond)->UseRealTime();
// One verification per core at once: what the hashing pool does under a login flood.
BENCHMARK(BM_Argon2idVerifyProduction)->Unit(benchmark::kMillisecond)->UseRealTime()->ThreadPerCpu();

void BM_JwtVerify(benchmark::State& state) {
  auto key = chatd::crypto::Ed25519PrivateKey::generate();
  nlohmann::json claims = {{"iss", "https://chat.example"},
                           {"sub", "u"},
                           {"aud", "chatd"},
                           {"iat", 1},
                           {"exp", 4102444800},
                           {"jti", "j"},
                           {"sid", "s"},
                           {"roles", {"user"}}};
  std::string token = chatd::auth::sign_jwt(claims, "kid1", key);
  std::vector<std::uint8_t> pub(key.public_key().begin(), key.public_key().end());
  chatd::auth::VerifyOptions opt{"https://chat.example", "chatd", 2000000000, 30, 8192};
  auto lookup = [&](std::string_view) { return std::optional<std::vector<std::uint8_t>>(pub); };
  for (auto _ : state) benchmark::DoNotOptimize(chatd::auth::verify_jwt(token, lookup, opt));
}
BENCHMARK(BM_JwtVerify)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
