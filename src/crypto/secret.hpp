#pragma once
// Bytes that must not outlive their use: key material, decrypted TOTP secrets, seeds.
// The buffer is allocated once at its final size (so no reallocation leaves stray copies),
// is move-only (so no accidental copies), and is overwritten with zeros when freed.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

namespace chatd::crypto {

// Overwrites `size` bytes at `data` with zeros in a way the optimiser cannot remove.
void secure_zero(void* data, std::size_t size);

class SecretBytes {
 public:
  SecretBytes() = default;
  // `size` zero bytes, to be filled in place through data().
  explicit SecretBytes(std::size_t size)
      : data_(size ? std::make_unique<std::uint8_t[]>(size) : nullptr), size_(size) {}
  explicit SecretBytes(std::span<const std::uint8_t> bytes) : SecretBytes(bytes.size()) {
    if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
  }
  explicit SecretBytes(std::string_view text)
      : SecretBytes(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())) {}

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept : data_(std::move(other.data_)), size_(other.size_) { other.size_ = 0; }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      wipe();
      data_ = std::move(other.data_);
      size_ = other.size_;
      other.size_ = 0;
    }
    return *this;
  }
  ~SecretBytes() { wipe(); }

  std::uint8_t* data() { return data_.get(); }
  const std::uint8_t* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<std::uint8_t> span() { return {data_.get(), size_}; }
  std::span<const std::uint8_t> span() const { return {data_.get(), size_}; }
  // A non-owning view, so a secret can be passed straight to functions taking bytes
  // (Ed25519PrivateKey::from_seed, seal); the view must not outlive this object.
  operator std::span<const std::uint8_t>() const { return span(); }  // NOLINT(google-explicit-constructor)
  // The same bytes as characters (for text secrets such as a base32 TOTP key).
  std::string_view view() const { return {reinterpret_cast<const char*>(data_.get()), size_}; }

 private:
  void wipe() {
    if (data_) secure_zero(data_.get(), size_);
    data_.reset();
    size_ = 0;
  }

  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t size_ = 0;
};

// Text secrets use the same wiped storage; the alias only says what the bytes mean.
using SecretString = SecretBytes;

}  // namespace chatd::crypto
