#include "core/json_scan.hpp"

#include <nlohmann/json.hpp>

#include <limits>

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

bool scan_json(std::string_view text, JsonVisitor& visitor) {
  JsonScanner scanner(visitor);
  return nlohmann::json::sax_parse(text.begin(), text.end(), &scanner, nlohmann::json::input_format_t::json,
                                   /*strict=*/true, /*ignore_comments=*/false);
}

}  // namespace chatd
