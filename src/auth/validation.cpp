#include "auth/validation.hpp"

#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>
#include <string_view>

namespace chatd::auth {

bool valid_username(const std::string& u) {
  if (u.size() < 3 || u.size() > 32) return false;
  return std::all_of(u.begin(), u.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

std::string normalize_email(std::string_view email) {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(email.data());
  if (email.empty() || u8_check(bytes, email.size()) != nullptr) return std::string(email);
  std::size_t length = 0;
  std::unique_ptr<std::uint8_t, decltype(&std::free)> folded(
      u8_casefold(bytes, email.size(), nullptr, UNINORM_NFKC, nullptr, &length), &std::free);
  // The input is valid, so the only possible failure is running out of memory.
  if (!folded) throw std::bad_alloc();
  return std::string(reinterpret_cast<const char*>(folded.get()), length);
}

bool valid_email(const std::string& e) {
  if (e.size() > 254) return false;
  if (u8_check(reinterpret_cast<const std::uint8_t*>(e.data()), e.size()) != nullptr) return false;
  auto at = e.find('@');
  if (at == std::string::npos || at == 0 || e.find('@', at + 1) != std::string::npos) return false;
  std::string_view local(e.data(), at);
  std::string_view domain(e.data() + at + 1, e.size() - at - 1);
  if (local.size() > 64 || domain.size() < 3 || domain.find('.') == std::string_view::npos) return false;
  if (domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string_view::npos) return false;
  for (char c : local)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' ||
        c == '"' || c == '\\' || c == '(' || c == ')')
      return false;
  for (char c : domain)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
      return false;
  return true;
}

}  // namespace chatd::auth
