#include "core/json_scan.hpp"

#include <nlohmann/json.hpp>

#include <limits>
#include <memory>
#include <simdjson.h>

namespace chatd {

bool JsonPath::is(std::initializer_list<JsonStep> steps) const {
  if (steps.size() != steps_.size()) return false;
  std::size_t i = 0;
  for (const auto& want : steps) {
    const Step& have = steps_[i++];
    if (want.index == kAnyIndex) {
      if (have.index < 0) return false;
    } else if (want.index >= 0 ? have.index != want.index : (have.index >= 0 || have.key != want.key)) {
      return false;
    }
  }
  return true;
}

class JsonScanner final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit JsonScanner(JsonVisitor& visitor) : visitor_(visitor) { path_.steps_.reserve(8); }

  bool null() override { return emit(JsonValue{}); }
  bool boolean(bool b) override {
    JsonValue v;
    v.kind = JsonKind::boolean;
    v.boolean = b;
    return emit(v);
  }
  bool number_integer(number_integer_t n) override { return integer(n); }
  bool number_unsigned(number_unsigned_t n) override {
    if (n <= static_cast<number_unsigned_t>(std::numeric_limits<std::int64_t>::max()))
      return integer(static_cast<std::int64_t>(n));
    return number_float(static_cast<double>(n), {});
  }
  bool number_float(number_float_t d, const string_t&) override {
    JsonValue v;
    v.kind = JsonKind::number;
    v.number = d;
    return emit(v);
  }
  bool string(string_t& s) override {
    JsonValue v;
    v.kind = JsonKind::string;
    v.text = s;
    return emit(v);
  }
  bool binary(binary_t&) override { return false; }  // not produced by the text parser
  bool start_object(std::size_t) override { return open(JsonKind::object); }
  bool key(string_t& k) override {
    path_.steps_.back().key.assign(k);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(JsonKind::array); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  bool integer(std::int64_t n) {
    JsonValue v;
    v.kind = JsonKind::integer;
    v.integer = n;
    v.number = static_cast<double>(n);
    return emit(v);
  }
  // A value inside an array takes the next index before it is shown.
  void advance() {
    if (!path_.steps_.empty() && path_.steps_.back().in_array) ++path_.steps_.back().index;
  }
  bool emit(const JsonValue& v) {
    advance();
    visitor_.value(path_, v);
    return true;
  }
  bool open(JsonKind kind) {
    JsonValue v;
    v.kind = kind;
    emit(v);
    path_.steps_.push_back({std::string(), -1, kind == JsonKind::array});
    return true;
  }
  bool close() {
    path_.steps_.pop_back();
    return true;
  }

  JsonVisitor& visitor_;
  JsonPath path_;
};

bool scan_json_with_nlohmann(std::string_view text, JsonVisitor& visitor) {
  JsonScanner scanner(visitor);
  return nlohmann::json::sax_parse(text.begin(), text.end(), &scanner, nlohmann::json::input_format_t::json,
                                   /*strict=*/true, /*ignore_comments=*/false);
}

// Shows a document simdjson has parsed, value by value, as JsonScanner shows nlohmann's
// events: the same values, kinds and paths in the same order.
class JsonTapeWalker {
 public:
  explicit JsonTapeWalker(JsonVisitor& visitor) : visitor_(visitor) { path_.steps_.reserve(8); }

  void walk(simdjson::dom::element e) {
    using Type = simdjson::dom::element_type;
    JsonValue v;
    switch (e.type()) {
      case Type::OBJECT: {
        v.kind = JsonKind::object;
        emit(v);
        path_.steps_.push_back({std::string(), -1, false});
        const simdjson::dom::object object = e.get_object().value_unsafe();
        for (auto field : object) {
          path_.steps_.back().key.assign(field.key);
          walk(field.value);
        }
        path_.steps_.pop_back();
        return;
      }
      case Type::ARRAY: {
        v.kind = JsonKind::array;
        emit(v);
        path_.steps_.push_back({std::string(), -1, true});
        const simdjson::dom::array array = e.get_array().value_unsafe();
        for (auto item : array) walk(item);
        path_.steps_.pop_back();
        return;
      }
      case Type::STRING:
        v.kind = JsonKind::string;
        v.text = e.get_string().value_unsafe();
        break;
      case Type::INT64:
        v.kind = JsonKind::integer;
        v.integer = e.get_int64().value_unsafe();
        v.number = static_cast<double>(v.integer);
        break;
      case Type::UINT64: {
        // Only beyond int64 (simdjson types smaller ones INT64): a number, as JsonScanner shows it.
        v.kind = JsonKind::number;
        v.number = static_cast<double>(e.get_uint64().value_unsafe());
        break;
      }
      case Type::DOUBLE:
        v.kind = JsonKind::number;
        v.number = e.get_double().value_unsafe();
        break;
      case Type::BOOL:
        v.kind = JsonKind::boolean;
        v.boolean = e.get_bool().value_unsafe();
        break;
      case Type::NULL_VALUE: break;
    }
    emit(v);
  }

 private:
  void emit(const JsonValue& v) {
    if (!path_.steps_.empty() && path_.steps_.back().in_array) ++path_.steps_.back().index;
    visitor_.value(path_, v);
  }

  JsonVisitor& visitor_;
  JsonPath path_;
};

namespace {

// Each thread keeps one parser (its buffers grow to the largest document it has read) for
// documents up to this size; a larger one gets a parser of its own, freed after it, so that
// one big answer does not pin its buffers (about ten times its size) to a thread.
constexpr std::size_t kKeptParserBytes = std::size_t{64} * 1024;

// Parses `text` with this thread's parser (or, for a large document, one of its own kept in
// `own`); false when simdjson refuses it.
bool simd_parse(std::string_view text, std::unique_ptr<simdjson::dom::parser>& own, simdjson::dom::element& root) {
  thread_local simdjson::dom::parser kept;
  simdjson::dom::parser* parser = &kept;
  if (text.size() > kKeptParserBytes) {
    own = std::make_unique<simdjson::dom::parser>();
    parser = own.get();
  }
  // Copied into the parser's padded buffer (simdjson reads up to 64 bytes past the end).
  return parser->parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(root) == simdjson::SUCCESS;
}

nlohmann::json to_nlohmann(simdjson::dom::element e) {
  using Type = simdjson::dom::element_type;
  switch (e.type()) {
    case Type::OBJECT: {
      nlohmann::json out = nlohmann::json::object();
      const simdjson::dom::object object = e.get_object().value_unsafe();
      for (auto field : object) out[std::string(field.key)] = to_nlohmann(field.value);
      return out;
    }
    case Type::ARRAY: {
      nlohmann::json out = nlohmann::json::array();
      const simdjson::dom::array array = e.get_array().value_unsafe();
      for (auto item : array) out.push_back(to_nlohmann(item));
      return out;
    }
    case Type::STRING: return std::string(e.get_string().value_unsafe());
    case Type::INT64: {
      // nlohmann's parser makes every integer without a sign unsigned.
      const std::int64_t n = e.get_int64().value_unsafe();
      if (n >= 0) return static_cast<std::uint64_t>(n);
      return n;
    }
    case Type::UINT64: return e.get_uint64().value_unsafe();
    case Type::DOUBLE: return e.get_double().value_unsafe();
    case Type::BOOL: return e.get_bool().value_unsafe();
    case Type::NULL_VALUE: break;
  }
  return nullptr;
}

}  // namespace

bool scan_json(std::string_view text, JsonVisitor& visitor) {
  std::unique_ptr<simdjson::dom::parser> own;
  simdjson::dom::element root;
  if (!simd_parse(text, own, root)) return scan_json_with_nlohmann(text, visitor);
  JsonTapeWalker(visitor).walk(root);
  return true;
}

nlohmann::json parse_json(std::string_view text) {
  std::unique_ptr<simdjson::dom::parser> own;
  simdjson::dom::element root;
  if (!simd_parse(text, own, root)) return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return to_nlohmann(root);
}

}  // namespace chatd
