#pragma once
// Reading a few values out of a JSON document without building it. An upstream's completion
// or stream chunk carries a dozen members of which chatd needs three or four; parsing it into
// an nlohmann::json allocates a node per member and a string per key. scan_json() parses it
// with simdjson (DESIGN.md's parser for hot paths: an upstream answer or stream chunk is read
// on every request) into the parser's reused tape, then shows each value with its path from
// the root, so a reader keeps what it recognizes and allocates nothing else. A document
// simdjson refuses is read again by nlohmann's parser in SAX mode, which decides: the two
// accept the same documents but for numbers simdjson cannot hold (integers beyond 64 bits,
// doubles beyond their range), which nlohmann reads as doubles.
//
//   struct Reader final : JsonVisitor {
//     void value(const JsonPath& at, const JsonValue& v) override {
//       if (at.is({"usage", "prompt_tokens"}) && v.kind == JsonKind::integer) prompt = v.integer;
//     }
//   };
//
// A member that appears twice is shown twice, in document order (so "last one wins" is the
// reader's choice, as it is nlohmann's).

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace chatd {

// In a path given to JsonPath::is(): any element of an array.
inline constexpr int kAnyIndex = -2;

// One step of a path: an object key, or an array index (or kAnyIndex).
struct JsonStep {
  JsonStep(const char* k) : key(k) {}  // NOLINT(google-explicit-constructor): is({"a", 0, "b"})
  JsonStep(int i) : index(i) {}        // NOLINT(google-explicit-constructor)
  std::string_view key;
  std::int64_t index = -1;
};

class JsonPath {
 public:
  std::size_t depth() const { return steps_.size(); }
  // Whether the path is exactly `steps` (keys and indexes from the root).
  bool is(std::initializer_list<JsonStep> steps) const;
  // The array index of step `at` (0 is the first step from the root); -1 for an object member.
  std::int64_t index(std::size_t at) const { return at < steps_.size() ? steps_[at].index : -1; }

 private:
  friend class JsonScanner;
  friend class JsonTapeWalker;
  struct Step {
    std::string key;          // of a member; empty in an array
    std::int64_t index = -1;  // of an array element; -1 in an object
    bool in_array = false;
  };
  std::vector<Step> steps_;
};

enum class JsonKind { null, boolean, integer, number, string, object, array };

struct JsonValue {
  JsonKind kind = JsonKind::null;
  std::string_view text;  // a string's content (valid only during the call)
  std::int64_t integer = 0;
  double number = 0;  // also set for integers
  bool boolean = false;
};

class JsonVisitor {
 public:
  // Every value of the document, in order; objects and arrays when they start.
  virtual void value(const JsonPath& at, const JsonValue& v) = 0;

  virtual ~JsonVisitor() = default;
  JsonVisitor() = default;
  JsonVisitor(const JsonVisitor&) = default;
  JsonVisitor& operator=(const JsonVisitor&) = default;
  JsonVisitor(JsonVisitor&&) = default;
  JsonVisitor& operator=(JsonVisitor&&) = default;
};

// False when `text` is not one well-formed JSON value (the visitor may have seen part of it).
bool scan_json(std::string_view text, JsonVisitor& visitor);

// The same with nlohmann's parser alone (scan_json's second opinion; the tests compare the two).
bool scan_json_with_nlohmann(std::string_view text, JsonVisitor& visitor);

// `text` as an nlohmann::json, exactly as nlohmann::json::parse(text, nullptr, false) gives it
// (a discarded value when it is not one JSON value; the last of repeated member names wins;
// integers from 0 up are unsigned), but parsed by simdjson: the request bodies of the API
// routes, /v1/chat/completions's above all, are read on every request, and nlohmann's lexer
// was most of that. What simdjson refuses, nlohmann's parser decides.
nlohmann::json parse_json(std::string_view text);

}  // namespace chatd
