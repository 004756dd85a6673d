#pragma once
// JSON written straight into a string, for the hot paths where building an nlohmann::json
// first costs more than the request itself (every object member is a map node, every
// initializer list a copy), and for log lines. Commas are placed by the writer. Strings are
// escaped as nlohmann's dump() escapes them, except that DEL is escaped too (it is a control
// character in a terminal reading the log), and invalid UTF-8 is replaced by U+FFFD (its
// error_handler_t::replace), so one broken byte never fails a response or a log line.
//
//   JsonWriter w(out);
//   w.begin_object().key("id").string(id).key("n").number(3).end_object();
//
// The caller nests begin/end correctly; the writer does not check.

#include <cstdint>
#include <string>
#include <string_view>

namespace chatd {

// `s` as the inside of a JSON string (no quotes), appended to `out`.
void append_json_escaped(std::string& out, std::string_view s);
// `s` as a JSON string literal, quotes included, appended to `out`.
void append_json_string(std::string& out, std::string_view s);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }

  JsonWriter& key(std::string_view k) {
    separate();
    append_json_string(out_, k);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  JsonWriter& string(std::string_view v) {
    separate();
    append_json_string(out_, v);
    return *this;
  }
  JsonWriter& number(std::int64_t v);
  JsonWriter& number(double v);  // shortest round-trip form; NaN and infinities as null
  JsonWriter& boolean(bool v) { return literal(v ? "true" : "false"); }
  JsonWriter& null() { return literal("null"); }
  // A value that is JSON text already (the caller vouches for it: one well-formed value).
  JsonWriter& raw(std::string_view json) { return literal(json); }

 private:
  JsonWriter& literal(std::string_view word) {
    separate();
    out_ += word;
    return *this;
  }
  void separate() {
    if (after_key_) {
      after_key_ = false;
    } else if (!first_) {
      out_ += ',';
    }
    first_ = false;
  }
  JsonWriter& open(char c) {
    separate();
    out_ += c;
    first_ = true;
    return *this;
  }
  JsonWriter& close(char c) {
    out_ += c;
    first_ = false;
    return *this;
  }

  std::string& out_;
  bool first_ = true;       // nothing written yet at this level: no comma before the next value
  bool after_key_ = false;  // a key was just written: its value follows without a comma
};

}  // namespace chatd
