#include "crypto/aead.hpp"

#include "crypto/encoding.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "crypto/sodium_init.hpp"

#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>

namespace chatd::crypto {

namespace {

constexpr std::string_view kVersion = "v1.";
constexpr std::size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t kHexSize = DataKey::kSize * 2;
static_assert(DataKey::kSize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

// Owns a file descriptor, so that every early return closes it.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now and reports the error close() may carry (a delayed write failure).
  bool close() {
    int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

Error file_error(const std::filesystem::path& path, const std::string& what) {
  Error e = fail(Code::internal, path.string() + ": " + what);
  e.internal = e.detail;
  return e;
}

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

bool write_all(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Writes a new key file under a temporary name and links it into place. Returns success when
// `path` exists afterwards, whether this call or a concurrent one created it.
Status create_key_file(const std::filesystem::path& path) {
  std::error_code ec;
  auto dir = path.parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return file_error(path, "cannot create the directory: " + ec.message());

  auto temporary = path;
  temporary += ".tmp-" + random_hex(8);
  Fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return file_error(temporary, "cannot create: " + errno_text(errno));

  SecretBytes key(DataKey::kSize);
  random_bytes(key.span());
  SecretBytes text(kHexSize + 2);  // hex, newline, and the NUL sodium_bin2hex writes
  sodium_bin2hex(reinterpret_cast<char*>(text.data()), kHexSize + 1, key.data(), key.size());
  text.data()[kHexSize] = '\n';
  // fchmod as well as the open mode: a umask can only remove bits, but an odd one (0200)
  // could leave the owner unable to read the key back.
  bool written =
      ::fchmod(fd.get(), 0600) == 0 && write_all(fd.get(), text.data(), kHexSize + 1) && ::fsync(fd.get()) == 0;
  int err = errno;
  written = fd.close() && written;
  if (!written) {
    ::unlink(temporary.c_str());
    return file_error(temporary, "cannot write: " + errno_text(err));
  }
  // link() never replaces an existing file, so if another process got there first its key wins
  // and ours is discarded; rename() would silently swap keys under a running instance.
  int linked = ::link(temporary.c_str(), path.c_str());
  err = errno;
  ::unlink(temporary.c_str());
  if (linked != 0 && err != EEXIST) return file_error(path, "cannot create: " + errno_text(err));
  if (!dir.empty()) {
    Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.valid()) ::fsync(dir_fd.get());  // best effort: makes the new name durable
  }
  return ok();
}

}  // namespace

DataKey::DataKey(std::span<const std::uint8_t, kSize> bytes) : bytes_(std::span<const std::uint8_t>(bytes)) {}

DataKey DataKey::generate() {
  DataKey key;
  random_bytes(key.bytes_.span());
  return key;
}

Result<DataKey> DataKey::load_or_create(const std::filesystem::path& path) {
  // O_NOFOLLOW: a symlink planted in the data directory must not redirect us to another file.
  // O_NONBLOCK: a FIFO in its place must be refused below, not block startup forever.
  auto open_file = [&] { return ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC); };
  int raw = open_file();
  if (raw < 0 && errno == ENOENT) {
    if (auto created = create_key_file(path); !created) return std::move(created).error();
    raw = open_file();
  }
  Fd fd(raw);
  if (!fd.valid()) return file_error(path, "cannot open the master key file: " + errno_text(errno));

  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return file_error(path, "cannot stat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return file_error(path, "the master key must be a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return file_error(path,
                      std::string("mode ") + mode + " lets group or others access the master key; run chmod 600 on it");
  }
  if (st.st_size != static_cast<off_t>(kHexSize) && st.st_size != static_cast<off_t>(kHexSize + 1)) {
    return file_error(path, "the master key file must hold exactly 64 hex digits (and an optional newline)");
  }

  // One byte more than the largest valid file, so that a file grown since fstat is noticed.
  SecretBytes text(kHexSize + 2);
  std::size_t size = 0;
  while (size < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return file_error(path, "cannot read: " + errno_text(errno));
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  bool newline_ok = size == kHexSize || (size == kHexSize + 1 && text.data()[kHexSize] == '\n');
  DataKey key;
  std::size_t decoded = 0;
  if (!newline_ok ||
      sodium_hex2bin(key.bytes_.data(), key.bytes_.size(), reinterpret_cast<const char*>(text.data()), kHexSize,
                     nullptr, &decoded, nullptr) != 0 ||
      decoded != kSize) {
    return file_error(path, "the master key file must hold exactly 64 hex digits (and an optional newline)");
  }
  return key;
}

Result<DataKey> DataKey::resolve(const std::optional<std::array<std::uint8_t, kSize>>& master_key,
                                 const std::filesystem::path& data_dir) {
  if (master_key) return DataKey(std::span<const std::uint8_t, kSize>(*master_key));
  return load_or_create(data_dir / "master.key");
}

std::string seal(const DataKey& key, std::span<const std::uint8_t> plaintext, std::string_view associated_data) {
  detail::ensure_sodium_initialized();
  Bytes box(kNonceSize + plaintext.size() + kTagSize);
  random_bytes(std::span<std::uint8_t>(box.data(), kNonceSize));
  unsigned long long length = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(box.data() + kNonceSize, &length, plaintext.data(), plaintext.size(),
                                             reinterpret_cast<const unsigned char*>(associated_data.data()),
                                             associated_data.size(), nullptr, box.data(), key.bytes_.data());
  return std::string(kVersion) + base64url_encode(box);
}

std::string keyed_tag(const DataKey& key, std::string_view purpose, std::string_view data) {
  std::string message;
  message.reserve(purpose.size() + 1 + data.size());
  message.append(purpose).push_back('\0');
  message.append(data);
  auto tag = hmac_sha256(std::span<const std::uint8_t>(key.bytes_.data(), key.bytes_.size()), as_bytes(message));
  return base64url_encode(tag);
}

std::string seal(const DataKey& key, std::string_view plaintext, std::string_view associated_data) {
  return seal(key, as_bytes(plaintext), associated_data);
}

std::optional<SecretBytes> open(const DataKey& key, std::string_view sealed, std::string_view associated_data) {
  detail::ensure_sodium_initialized();
  if (sealed.substr(0, kVersion.size()) != kVersion) return std::nullopt;
  auto box = base64url_decode(sealed.substr(kVersion.size()));
  if (!box || box->size() < kNonceSize + kTagSize) return std::nullopt;
  SecretBytes plaintext(box->size() - kNonceSize - kTagSize);
  unsigned long long length = 0;
  // With an empty plaintext the buffer has no storage; libsodium then writes nothing, but it
  // still wants a valid pointer.
  std::uint8_t none = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plaintext.empty() ? &none : plaintext.data(), &length, nullptr,
                                                 box->data() + kNonceSize, box->size() - kNonceSize,
                                                 reinterpret_cast<const unsigned char*>(associated_data.data()),
                                                 associated_data.size(), box->data(), key.bytes_.data()) != 0) {
    return std::nullopt;
  }
  return plaintext;
}

}  // namespace chatd::crypto
