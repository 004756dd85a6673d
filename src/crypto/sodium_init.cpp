#include "crypto/sodium_init.hpp"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

namespace chatd::crypto::detail {

void ensure_sodium_initialized() {
  // A function-local static is initialised exactly once even under concurrent first calls.
  static const bool initialised = [] {
    if (sodium_init() < 0) {
      std::fputs("fatal: libsodium could not be initialised\n", stderr);
      std::abort();
    }
    return true;
  }();
  (void)initialised;
}

}  // namespace chatd::crypto::detail
