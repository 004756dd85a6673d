#include "crypto/password_hash.hpp"

#include "crypto/random.hpp"
#include "crypto/secret.hpp"
#include "crypto/sodium_init.hpp"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>

namespace chatd::crypto::password {

namespace {

constexpr std::string_view kPrefix = "$argon2id$";

// libsodium wants the encoded hash NUL-terminated and at most STRBYTES long; a longer or
// foreign string is not one of ours.
bool to_c_string(std::string_view encoded, char (&out)[crypto_pwhash_argon2id_STRBYTES]) {
  if (encoded.size() >= sizeof out || encoded.substr(0, kPrefix.size()) != kPrefix) return false;
  if (encoded.find('\0') != std::string_view::npos) return false;
  encoded.copy(out, encoded.size());
  out[encoded.size()] = '\0';
  return true;
}

}  // namespace

Result<std::string> hash(std::string_view password, const Params& params) {
  detail::ensure_sodium_initialized();
  if (params.opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN || params.opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
      params.memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN || params.memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
    return internal_error("argon2id parameters out of range");
  }
  if (password.size() > crypto_pwhash_argon2id_PASSWD_MAX) return internal_error("password too long to hash");
  char out[crypto_pwhash_argon2id_STRBYTES];
  if (crypto_pwhash_argon2id_str(out, password.data(), password.size(), params.opslimit, params.memlimit) != 0) {
    return internal_error("argon2id hashing failed (out of memory?)");
  }
  return std::string(out);
}

bool verify(std::string_view encoded, std::string_view password) {
  detail::ensure_sodium_initialized();
  char stored[crypto_pwhash_argon2id_STRBYTES];
  if (!to_c_string(encoded, stored)) return false;
  return crypto_pwhash_argon2id_str_verify(stored, password.data(), password.size()) == 0;
}

bool needs_rehash(std::string_view encoded, const Params& params) {
  detail::ensure_sodium_initialized();
  char stored[crypto_pwhash_argon2id_STRBYTES];
  if (!to_c_string(encoded, stored)) return true;
  return crypto_pwhash_argon2id_str_needs_rehash(stored, params.opslimit, params.memlimit) != 0;
}

std::string dummy_hash(const Params& params) {
  // One process normally uses one Params value; the map only keeps tests with small
  // parameters from getting the production-cost hash (or the reverse).
  static std::mutex mutex;
  static std::map<std::pair<unsigned long long, std::size_t>, std::string> cache;
  std::lock_guard lock(mutex);
  auto key = std::make_pair(params.opslimit, params.memlimit);
  if (auto it = cache.find(key); it != cache.end()) return it->second;

  SecretBytes secret(32);
  random_bytes(secret.span());
  auto encoded = hash(secret.view(), params);
  if (!encoded) {
    std::fputs("fatal: could not compute the dummy password hash\n", stderr);
    std::abort();
  }
  return cache.emplace(key, std::move(encoded).value()).first->second;
}

}  // namespace chatd::crypto::password
