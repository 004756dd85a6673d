// config/dotenv: the .env file chatd reads at startup. Every entry's key is a valid name,
// lines are numbered in order, and a problem never quotes the line it is about.

#include "config/dotenv.hpp"

#include "fuzz.hpp"

namespace {

bool valid_key(const std::string& key) {
  if (key.empty() || (key[0] >= '0' && key[0] <= '9')) return false;
  for (char c : key) {
    if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = chatd::config::parse_dotenv(chatd::fuzz::text_of(data, size), ".env");
  int line = 0;
  for (const auto& e : file.entries) {
    FUZZ_CHECK(valid_key(e.key));
    FUZZ_CHECK(e.line > line);
    line = e.line;
  }
  for (const auto& p : file.problems) FUZZ_CHECK(p.rfind(".env:", 0) == 0 && p.find('\n') == std::string::npos);
  return 0;
}
