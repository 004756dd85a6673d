// core/json_scan: the scanner the proxy reads upstream completions and stream chunks with
// (simdjson, nlohmann's parser for what simdjson refuses). It accepts exactly what nlohmann's
// parser accepts, shows exactly the events nlohmann's SAX parse shows, and the paths it shows
// stay consistent with the document's nesting.

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
    // The event, to compare with the other parser's: its depth and its index in the innermost
    // array (a path grows and shrinks a step at a time, so in sequence these pin every path
    // down; the whole path per event would make deep nesting quadratic).
    std::string& e = events.emplace_back(std::to_string(static_cast<int>(v.kind)));
    e += '/' + std::to_string(at.depth());
    if (at.depth() > 0) e += '/' + std::to_string(at.index(at.depth() - 1));
    e += ' ';
    e += v.text;
    e += std::to_string(v.integer) + ' ' + std::to_string(v.number) + (v.boolean ? " t" : " f");
    if (at.depth() > 0)
      e += at.is({"choices", 0, "delta", "content"}) ? " c" : at.is({"usage", "prompt_tokens"}) ? " u" : "";
  }
  std::vector<std::string> events;
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
  Visitor reference;
  reference.depth_limit = size;
  FUZZ_CHECK(chatd::scan_json_with_nlohmann(text, reference) == scanned);
  if (scanned) FUZZ_CHECK(visitor.events == reference.events);
  return 0;
}
