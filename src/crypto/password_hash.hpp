#pragma once
// Password hashing with Argon2id (libsodium), stored in the PHC string format
// "$argon2id$v=19$m=<KiB>,t=<passes>,p=1$<salt>$<hash>" so every hash carries its own
// parameters and can be upgraded on the next successful login.

#include "core/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace chatd::crypto::password {

// OWASP's Argon2id recommendation: m=19456 KiB (19 MiB), t=2, p=1 (libsodium always uses p=1).
struct Params {
  unsigned long long opslimit = 2;                       // t: passes over memory; at least 1
  std::size_t memlimit = std::size_t{19} * 1024 * 1024;  // bytes; at least 8 KiB
};

// The encoded hash of `password` with a fresh random salt. Fails with Code::internal when the
// parameters are below libsodium's minimum or memory cannot be allocated. Slow by design: call
// it from a worker thread, never from a network thread.
Result<std::string> hash(std::string_view password, const Params& params = {});

// Whether `password` matches `encoded`. False for a wrong password and for anything that is
// not a well-formed Argon2id hash (never throws, never fails loudly on bad stored data).
bool verify(std::string_view encoded, std::string_view password);

// Whether `encoded` was made with parameters other than `params` (or is not a valid Argon2id
// hash at all), i.e. should be replaced by hash(password, params) after a successful verify().
bool needs_rehash(std::string_view encoded, const Params& params);

// An encoded hash of a random password nobody knows, computed on first use for each distinct
// `params` and cached. The login path verifies against it when the account does not exist, so
// an unknown user costs the same time as a wrong password. Aborts if hashing fails, which only
// happens when the process cannot allocate the memory every login would need anyway.
std::string dummy_hash(const Params& params = {});

}  // namespace chatd::crypto::password
