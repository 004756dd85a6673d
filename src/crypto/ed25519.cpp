#include "crypto/ed25519.hpp"

#include "crypto/random.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace chatd::crypto {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// Signing with a well-formed key only fails when OpenSSL cannot allocate; there is no useful
// way to carry on without signatures, so that "cannot happen" case stops the process.
[[noreturn]] void fatal(const char* what) {
  std::fprintf(stderr, "fatal: ed25519 %s failed\n", what);
  std::abort();
}

}  // namespace

struct Ed25519PrivateKey::Handle {
  PkeyPtr pkey;  // OpenSSL wipes the private key material when the last reference is freed
};

Ed25519PrivateKey::Ed25519PrivateKey(std::unique_ptr<Handle> handle) : handle_(std::move(handle)) {
  std::size_t size = public_key_.size();
  if (EVP_PKEY_get_raw_public_key(handle_->pkey.get(), public_key_.data(), &size) != 1 || size != public_key_.size()) {
    fatal("public key export");
  }
}

Ed25519PrivateKey::Ed25519PrivateKey(Ed25519PrivateKey&&) noexcept = default;
Ed25519PrivateKey& Ed25519PrivateKey::operator=(Ed25519PrivateKey&&) noexcept = default;
Ed25519PrivateKey::~Ed25519PrivateKey() = default;

Ed25519PrivateKey Ed25519PrivateKey::generate() {
  SecretBytes seed(kSeedSize);
  random_bytes(seed.span());
  auto key = from_seed(seed.span());
  if (!key) fatal("key generation");
  return std::move(key).value();
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::from_seed(std::span<const std::uint8_t> seed) {
  if (seed.size() != kSeedSize) return internal_error("ed25519 seed must be 32 bytes");
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!pkey) return internal_error("EVP_PKEY_new_raw_private_key failed");
  auto handle = std::make_unique<Handle>();
  handle->pkey = std::move(pkey);
  return Ed25519PrivateKey(std::move(handle));
}

SecretBytes Ed25519PrivateKey::seed() const {
  SecretBytes out(kSeedSize);
  std::size_t size = out.size();
  if (EVP_PKEY_get_raw_private_key(handle_->pkey.get(), out.data(), &size) != 1 || size != kSeedSize) {
    fatal("seed export");
  }
  return out;
}

Ed25519Signature Ed25519PrivateKey::sign(std::string_view message) const {
  // A context per call: the EVP_PKEY is shared read-only, the context is not shareable.
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) fatal("context allocation");
  // Ed25519 is "pure" EdDSA: no separate digest, hence the null EVP_MD and the one-shot call.
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, handle_->pkey.get()) != 1) fatal("sign init");
  Ed25519Signature signature{};
  std::size_t size = signature.size();
  if (EVP_DigestSign(ctx.get(), signature.data(), &size, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      size != signature.size()) {
    fatal("sign");
  }
  return signature;
}

bool ed25519_verify(std::span<const std::uint8_t> public_key, std::string_view message,
                    std::span<const std::uint8_t> signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  auto verified = [&] {
    PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
    if (!pkey) return false;
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx) return false;
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) return false;
    return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                            reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  }();
  // A rejected signature leaves entries on this thread's OpenSSL error queue; TLS code that
  // later runs on the same thread reads that queue, so it must not inherit our failures.
  if (!verified) ERR_clear_error();
  return verified;
}

}  // namespace chatd::crypto
