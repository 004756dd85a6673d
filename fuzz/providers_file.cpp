// llm/catalog: the providers file (CHATD_PROVIDERS_FILE), read at startup. A catalog that
// is accepted names its providers and models consistently.

#include "config/config.hpp"
#include "fuzz.hpp"
#include "llm/catalog.hpp"

#include <set>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chatd;
  static const config::Config kConfig = [] {
    config::Config c;
    c.providers_file = "providers.json";  // the file's text is the input
    return c;
  }();
  auto catalog = llm::build_catalog(kConfig, std::string(fuzz::text_of(data, size)));
  if (!catalog) {
    FUZZ_CHECK(catalog.error().code == Code::invalid_argument && !catalog.error().detail.empty());
    return 0;
  }
  std::set<std::string> names;
  for (const auto& p : catalog.value().providers) FUZZ_CHECK(names.insert(p.name).second);
  return 0;
}
