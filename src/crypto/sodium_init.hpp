#pragma once
// Internal to crypto/: libsodium must be initialised once before most of its functions are
// used (it picks CPU-specific implementations and seeds its generator). Not part of the
// module's public surface; callers of crypto/ never need to think about it.

namespace chatd::crypto::detail {

// Idempotent and thread-safe. Aborts the process if libsodium cannot initialise, since no
// password or AEAD operation could be trusted afterwards.
void ensure_sodium_initialized();

}  // namespace chatd::crypto::detail
