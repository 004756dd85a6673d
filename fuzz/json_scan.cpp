// core/json_scan: the SAX scanner the proxy reads upstream completions and stream chunks
// with. It accepts exactly what nlohmann's parser accepts, and the paths it shows stay
// consistent with the document's nesting.

#include "core/json_scan.hpp"

#include "fuzz.hpp"

#include <nlohmann/json.hpp>

namespace {

struct Visitor final : chatd::JsonVisitor {
  void value(const chatd::JsonPath& at, const chatd::JsonValue& v) override {
    ++values;
    FUZZ_CHECK(at.depth() <= depth_limit);
    // The lookups the readers make, on every value.
    (void)at.is({"choices", 0, "delta", "content"});
    (void)at.is({"usage", "prompt_tokens"});
    (void)at.is({"error"});
    if (v.kind == chatd::JsonKind::string) bytes += v.text.size();
    if (v.kind == chatd::JsonKind::integer) FUZZ_CHECK(v.number == static_cast<double>(v.integer));
  }
  std::size_t values = 0;
  std::size_t bytes = 0;
  std::size_t depth_limit = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = chatd::fuzz::text_of(data, size);
  Visitor visitor;
  visitor.depth_limit = size;
  const bool scanned = chatd::scan_json(text, visitor);
  FUZZ_CHECK(scanned == nlohmann::json::accept(text));
  return 0;
}
