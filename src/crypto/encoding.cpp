#include "crypto/encoding.hpp"

#include <sodium.h>

namespace chatd::crypto {

namespace {

// libsodium's codecs run in constant time with respect to the data, which matters because
// keys and secrets pass through them; with a null `ignore` set and a null end pointer they
// also refuse any character they do not decode and any trailing input.
std::string b64_encode(std::span<const std::uint8_t> data, int variant) {
  if (data.empty()) return {};
  std::string out(sodium_base64_encoded_len(data.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), data.data(), data.size(), variant);
  out.pop_back();  // the terminating NUL sodium writes
  return out;
}

std::optional<Bytes> b64_decode(std::string_view text, int variant) {
  Bytes out(text.size() / 4 * 3 + 3);
  std::size_t length = 0;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &length, nullptr, variant) != 0) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

}  // namespace

std::string base64url_encode(std::span<const std::uint8_t> data) {
  return b64_encode(data, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
std::string base64url_encode(std::string_view data) { return base64url_encode(as_bytes(data)); }
std::optional<Bytes> base64url_decode(std::string_view text) {
  return b64_decode(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::string base64_encode(std::span<const std::uint8_t> data) {
  return b64_encode(data, sodium_base64_VARIANT_ORIGINAL);
}
std::string base64_encode(std::string_view data) { return base64_encode(as_bytes(data)); }
std::optional<Bytes> base64_decode(std::string_view text) {
  // The padded variant already insists on the exact padding; a length that is not a multiple
  // of 4 can only be unpadded input, which this decoder does not take.
  if (text.size() % 4 != 0) return std::nullopt;
  return b64_decode(text, sodium_base64_VARIANT_ORIGINAL);
}

std::string hex_encode(std::span<const std::uint8_t> data) {
  if (data.empty()) return {};
  std::string out(data.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data.data(), data.size());
  out.pop_back();
  return out;
}
std::string hex_encode(std::string_view data) { return hex_encode(as_bytes(data)); }

std::optional<Bytes> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  if (text.empty()) return Bytes{};  // libsodium's pointers must not be null
  Bytes out(text.size() / 2);
  std::size_t length = 0;
  if (sodium_hex2bin(out.data(), out.size(), text.data(), text.size(), nullptr, &length, nullptr) != 0 ||
      length != out.size()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace chatd::crypto
