#include "crypto/aead.hpp"

#include "config/config.hpp"
#include "crypto/encoding.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

namespace chatd::crypto {
namespace {

namespace fs = std::filesystem;

std::string opened(const std::optional<SecretBytes>& plain) {
  return plain ? std::string(plain->view()) : std::string("<nullopt>");
}

// Flips one bit of the decoded box at `index` and re-encodes it.
std::string tamper(const std::string& sealed, std::size_t index) {
  auto box = base64url_decode(std::string_view(sealed).substr(3));
  EXPECT_TRUE(box);
  if (!box) return sealed;
  (*box)[index] ^= 0x01;
  return "v1." + base64url_encode(*box);
}

TEST(KeyedTag, DependsOnKeyPurposeAndDataOnly) {
  auto key = DataKey::generate();
  auto other = DataKey::generate();
  std::string tag = keyed_tag(key, "chatd csrf token v1", "session-1");
  EXPECT_EQ(tag.size(), 43u);  // 32 bytes, base64url without padding
  EXPECT_EQ(tag, keyed_tag(key, "chatd csrf token v1", "session-1"));
  EXPECT_NE(tag, keyed_tag(other, "chatd csrf token v1", "session-1"));
  EXPECT_NE(tag, keyed_tag(key, "chatd csrf token v2", "session-1"));
  EXPECT_NE(tag, keyed_tag(key, "chatd csrf token v1", "session-2"));
  // Purpose and data are separated: ("ab", "c") is not ("a", "bc").
  EXPECT_NE(keyed_tag(key, "ab", "c"), keyed_tag(key, "a", "bc"));
}

TEST(KeyedTag, IsHmacSha256OfPurposeNulData) {
  std::array<std::uint8_t, DataKey::kSize> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i);
  DataKey key(bytes);
  std::string message("p");
  message.push_back('\0');
  message += "d";
  auto expected = hmac_sha256(std::span<const std::uint8_t>(bytes.data(), bytes.size()), as_bytes(message));
  EXPECT_EQ(keyed_tag(key, "p", "d"), base64url_encode(expected));
}

TEST(Aead, RoundTripsWithVersionPrefix) {
  auto key = DataKey::generate();
  std::string sealed = seal(key, "JBSWY3DPEHPK3PXP", "totp:user-1");
  EXPECT_EQ(sealed.rfind("v1.", 0), 0u);
  // 24-byte nonce + 16-byte plaintext + 16-byte tag = 56 bytes = 75 base64url characters.
  EXPECT_EQ(sealed.size(), 3u + 75u);
  EXPECT_EQ(opened(open(key, sealed, "totp:user-1")), "JBSWY3DPEHPK3PXP");
}

TEST(Aead, UsesAFreshNonceEachTime) {
  auto key = DataKey::generate();
  std::string a = seal(key, "same", "ad");
  std::string b = seal(key, "same", "ad");
  EXPECT_NE(a, b);
  EXPECT_EQ(opened(open(key, a, "ad")), "same");
  EXPECT_EQ(opened(open(key, b, "ad")), "same");
}

TEST(Aead, RoundTripsEmptyAndBinaryPlaintext) {
  auto key = DataKey::generate();
  EXPECT_EQ(opened(open(key, seal(key, "", "ad"), "ad")), "");
  std::string binary("\0\x01\xff\0seed", 8);
  EXPECT_EQ(opened(open(key, seal(key, binary, ""), "")), binary);
}

TEST(Aead, RejectsAnyTampering) {
  auto key = DataKey::generate();
  std::string sealed = seal(key, "signing key seed", "signing_key:k1");
  ASSERT_EQ(opened(open(key, sealed, "signing_key:k1")), "signing key seed");
  EXPECT_FALSE(open(key, tamper(sealed, 0), "signing_key:k1")) << "nonce";
  EXPECT_FALSE(open(key, tamper(sealed, 23), "signing_key:k1")) << "nonce, last byte";
  EXPECT_FALSE(open(key, tamper(sealed, 24), "signing_key:k1")) << "ciphertext";
  EXPECT_FALSE(open(key, tamper(sealed, 24 + 16 + 15), "signing_key:k1")) << "tag";
  EXPECT_FALSE(open(key, sealed, "signing_key:k2")) << "associated data";
  EXPECT_FALSE(open(key, sealed, "")) << "associated data missing";
  EXPECT_FALSE(open(DataKey::generate(), sealed, "signing_key:k1")) << "wrong key";
}

TEST(Aead, RejectsMalformedInput) {
  auto key = DataKey::generate();
  std::string sealed = seal(key, "x", "ad");
  EXPECT_FALSE(open(key, "v2." + sealed.substr(3), "ad"));
  EXPECT_FALSE(open(key, sealed.substr(3), "ad"));  // no prefix
  EXPECT_FALSE(open(key, "", "ad"));
  EXPECT_FALSE(open(key, "v1.", "ad"));
  EXPECT_FALSE(open(key, "v1." + base64url_encode(std::string(39, 'a')), "ad"));  // shorter than nonce + tag
  EXPECT_FALSE(open(key, sealed + "=", "ad"));
  EXPECT_FALSE(open(key, sealed.substr(0, sealed.size() - 1), "ad"));
}

TEST(Aead, KeyFromBytesIsDeterministic) {
  std::array<std::uint8_t, 32> bytes{};
  random_bytes(bytes);
  DataKey a{std::span<const std::uint8_t, 32>(bytes)};
  DataKey b{std::span<const std::uint8_t, 32>(bytes)};
  EXPECT_EQ(opened(open(b, seal(a, "hello", "ad"), "ad")), "hello");
}

class DataKeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("chatd-datakey-" + random_hex(8));
    fs::create_directories(dir_);
    path_ = dir_ / "master.key";
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_file(const std::string& content, mode_t mode) {
    std::ofstream(path_, std::ios::binary) << content;
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
  }
  unsigned mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0);
    return static_cast<unsigned>(st.st_mode & 07777);
  }
  std::string read_file() {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
  fs::path path_;
};

TEST_F(DataKeyFile, CreatesA0600HexFileOnFirstUseAndReusesIt) {
  // Even with a permissive umask the key must not be readable by others.
  mode_t old_umask = ::umask(0);
  auto first = DataKey::load_or_create(path_);
  ::umask(old_umask);
  ASSERT_TRUE(first) << first.error().detail;
  EXPECT_EQ(mode_of(path_), 0600u);
  std::string content = read_file();
  ASSERT_EQ(content.size(), 65u);
  EXPECT_EQ(content.back(), '\n');
  EXPECT_TRUE(hex_decode(content.substr(0, 64)));
  EXPECT_EQ(content.find_first_not_of("0123456789abcdef\n"), std::string::npos);
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);

  auto second = DataKey::load_or_create(path_);
  ASSERT_TRUE(second) << second.error().detail;
  EXPECT_EQ(read_file(), content);
  EXPECT_EQ(opened(open(second.value(), seal(first.value(), "persisted", "ad"), "ad")), "persisted");

  // The file's text is also a valid CHATD_MASTER_KEY for the same key.
  auto from_env = config::decode_master_key(content.substr(0, 64));
  ASSERT_TRUE(from_env);
  DataKey env_key{std::span<const std::uint8_t, 32>(*from_env)};
  EXPECT_EQ(opened(open(env_key, seal(first.value(), "same key", "ad"), "ad")), "same key");
}

TEST_F(DataKeyFile, CreatesTheDirectoryWhenMissing) {
  auto nested = dir_ / "a" / "b" / "master.key";
  auto key = DataKey::load_or_create(nested);
  ASSERT_TRUE(key) << key.error().detail;
  EXPECT_EQ(mode_of(nested), 0600u);
}

TEST_F(DataKeyFile, AcceptsAKeyWrittenByHandWithoutNewline) {
  write_file(std::string(64, 'A'), 0600);
  auto key = DataKey::load_or_create(path_);
  ASSERT_TRUE(key) << key.error().detail;
  std::array<std::uint8_t, 32> expected;
  expected.fill(0xaa);
  DataKey same{std::span<const std::uint8_t, 32>(expected)};
  EXPECT_EQ(opened(open(same, seal(key.value(), "x", ""), "")), "x");
}

TEST_F(DataKeyFile, RefusesGroupOrOtherPermissions) {
  for (mode_t mode : {0640, 0604, 0660, 0644, 0602, 0610}) {
    write_file(std::string(64, 'a') + "\n", mode);
    auto key = DataKey::load_or_create(path_);
    ASSERT_FALSE(key) << std::oct << mode;
    EXPECT_EQ(key.error().code, Code::internal);
    EXPECT_NE(key.error().detail.find("chmod 600"), std::string::npos) << key.error().detail;
    EXPECT_NE(key.error().detail.find(path_.string()), std::string::npos) << key.error().detail;
  }
  write_file(std::string(64, 'a') + "\n", 0400);  // read-only for the owner is fine
  EXPECT_TRUE(DataKey::load_or_create(path_));
}

TEST_F(DataKeyFile, RefusesWrongSizeOrContent) {
  for (const std::string& content :
       {std::string(32, 'k'), std::string(63, 'a'), std::string(66, 'a'), std::string(64, 'a') + "\n\n",
        std::string(64, 'a') + " ", std::string(63, 'a') + "g", std::string(64, 'g'), std::string(),
        std::string(64, 'a') + "\r"}) {
    write_file(content, 0600);
    auto key = DataKey::load_or_create(path_);
    ASSERT_FALSE(key) << content;
    EXPECT_EQ(key.error().code, Code::internal);
    EXPECT_NE(key.error().detail.find("64 hex digits"), std::string::npos) << key.error().detail;
  }
  // The refused file is left alone for the operator to inspect, not replaced by a new key.
  EXPECT_EQ(read_file(), std::string(64, 'a') + "\r");
}

TEST_F(DataKeyFile, ConcurrentFirstUseAgreesOnOneKey) {
  // Several instances starting at once on a fresh data directory must end up with one key,
  // or data sealed by one could not be opened by the others.
  for (int round = 0; round < 20; ++round) {
    auto path = dir_ / ("race-" + std::to_string(round) + ".key");
    std::vector<std::optional<DataKey>> keys(6);
    std::vector<std::thread> threads;
    for (auto& slot : keys) {
      threads.emplace_back([&slot, &path] {
        auto key = DataKey::load_or_create(path);
        if (key) slot.emplace(std::move(key).value());
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_TRUE(keys[0]) << round;
    std::string sealed = seal(*keys[0], "shared", "");
    for (const auto& key : keys) {
      ASSERT_TRUE(key) << round;
      EXPECT_EQ(opened(open(*key, sealed, "")), "shared") << round;
    }
  }
}

TEST_F(DataKeyFile, RefusesSymlinksAndDirectories) {
  auto target = dir_ / "elsewhere.key";
  std::ofstream(target) << std::string(64, 'a');
  ::chmod(target.c_str(), 0600);
  fs::create_symlink(target, path_);
  EXPECT_FALSE(DataKey::load_or_create(path_));
  fs::remove(path_);
  fs::create_directory(path_);
  ::chmod(path_.c_str(), 0700);
  EXPECT_FALSE(DataKey::load_or_create(path_));
  fs::remove(path_);
  ASSERT_EQ(::mkfifo(path_.c_str(), 0600), 0);
  EXPECT_FALSE(DataKey::load_or_create(path_));  // refused, rather than blocking on the open
}

TEST_F(DataKeyFile, ResolvePrefersTheMasterKeySetting) {
  std::array<std::uint8_t, 32> bytes{};
  bytes.fill(7);
  auto from_setting = DataKey::resolve(bytes, dir_);
  ASSERT_TRUE(from_setting);
  EXPECT_FALSE(fs::exists(path_));  // no key file when the environment provides the key
  DataKey same{std::span<const std::uint8_t, 32>(bytes)};
  EXPECT_EQ(opened(open(same, seal(from_setting.value(), "x", ""), "")), "x");

  auto from_file = DataKey::resolve(std::nullopt, dir_);
  ASSERT_TRUE(from_file) << from_file.error().detail;
  EXPECT_TRUE(fs::exists(path_));
  EXPECT_FALSE(open(from_file.value(), seal(same, "x", ""), ""));
}

}  // namespace
}  // namespace chatd::crypto
