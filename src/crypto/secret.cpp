#include "crypto/secret.hpp"

#include <sodium.h>

namespace chatd::crypto {

void secure_zero(void* data, std::size_t size) {
  // sodium_memzero needs no sodium_init() and is written so the compiler cannot drop it as a
  // dead store, which a plain memset before free() would allow.
  if (data != nullptr && size != 0) sodium_memzero(data, size);
}

}  // namespace chatd::crypto
