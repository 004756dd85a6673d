#include "core/json_scan.hpp"
#include "core/json_writer.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <limits>
#include <string>
#include <vector>

namespace chatd {
namespace {

using nlohmann::json;

std::string dumped(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string quoted(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonWriter, EscapesStringsAsNlohmannDumps) {
  for (std::string_view s :
       {std::string_view(""), std::string_view("plain"), std::string_view("quote \" and \\ back"),
        std::string_view("\b\f\n\r\t"), std::string_view("\x01\x1f", 2), std::string_view("nul\0byte", 8),
        std::string_view("a\xC3\xA9\xE4\xBD\xA0\xF0\x9F\x98\x80z"), std::string_view("</script>")}) {
    EXPECT_EQ(quoted(s), dumped(s)) << s.size();
  }
}

TEST(JsonWriter, EscapesDelForTerminalsReadingTheLog) {
  std::string out;
  append_json_escaped(out, std::string("a\x01z\x7f", 4));
  EXPECT_EQ(out, "a\\u0001z\\u007f");
  EXPECT_EQ(json::parse(quoted("\x7f")).get<std::string>(), "\x7f");
}

TEST(JsonWriter, ReplacesInvalidUtf8) {
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(quoted("a\xFFz"), "\"a" + replacement + "z\"");
  EXPECT_EQ(quoted("\xC3"), "\"" + replacement + "\"");                                      // cut short at the end
  EXPECT_EQ(quoted("\xC0\xAF"), "\"" + replacement + replacement + "\"");                    // overlong '/'
  EXPECT_EQ(quoted("\xED\xA0\x80"), "\"" + replacement + replacement + replacement + "\"");  // a surrogate
  EXPECT_EQ(quoted("\xF4\x90\x80\x80").substr(0, 4), "\"" + replacement);                    // above U+10FFFF
  // Whatever goes in, what comes out parses, and valid text survives unchanged around it.
  auto back = json::parse(quoted("ok \xE2\x82 then \xE2\x82\xAC")).get<std::string>();
  EXPECT_EQ(back, "ok " + replacement + replacement + " then \xE2\x82\xAC");
}

TEST(JsonWriter, PlacesCommasAndNests) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("a").number(std::int64_t{1}).key("b").begin_array();
  w.string("x").begin_object().end_object().begin_array().end_array().null().boolean(true).boolean(false);
  w.end_array().key("c").begin_object().key("d").number(-2.5).end_object().key("e").begin_array();
  w.number(std::int64_t{1}).number(std::int64_t{2}).end_array().end_object();
  EXPECT_EQ(out, R"({"a":1,"b":["x",{},[],null,true,false],"c":{"d":-2.5},"e":[1,2]})");
  EXPECT_TRUE(json::accept(out));
}

TEST(JsonWriter, WritesNumbersThatReadBackExactly) {
  for (double d : {0.0, 0.7, 1.0, 1e-7, 123456.789, -3.25, 1e300}) {
    std::string out;
    JsonWriter(out).number(d);
    EXPECT_EQ(json::parse(out).get<double>(), d) << out;
  }
  std::string out;
  JsonWriter(out)
      .begin_array()
      .number(std::numeric_limits<std::int64_t>::min())
      .number(std::numeric_limits<double>::quiet_NaN())
      .number(std::numeric_limits<double>::infinity())
      .end_array();
  EXPECT_EQ(out, "[-9223372036854775808,null,null]");
}

struct Recorder final : JsonVisitor {
  void value(const JsonPath& at, const JsonValue& v) override {
    if (at.is({"choices", 0, "delta", "content"}) && v.kind == JsonKind::string) content.emplace_back(v.text);
    if (at.is({"choices", 1})) second_choice_kind = v.kind;
    if (at.is({"usage", "prompt_tokens"}) && v.kind == JsonKind::integer) prompt = v.integer;
    if (at.is({"n"})) number = v.number;
    if (at.is({"big"})) big_kind = v.kind;
    if (at.is({"flag"}) && v.kind == JsonKind::boolean) flag = v.boolean;
    if (at.depth() == 0) root = v.kind;
    ++values;
  }
  std::vector<std::string> content;
  JsonKind second_choice_kind = JsonKind::null, big_kind = JsonKind::null, root = JsonKind::null;
  std::int64_t prompt = -1;
  double number = 0;
  bool flag = false;
  int values = 0;
};

TEST(JsonScan, ShowsEachValueWithItsPath) {
  Recorder r;
  ASSERT_TRUE(scan_json(R"({"id":"x","choices":[{"index":0,"delta":{"content":"Hi \"there\"\n"}},[]],
                            "usage":{"prompt_tokens":9},"n":2.5,"big":18446744073709551615,"flag":true})",
                        r));
  EXPECT_EQ(r.root, JsonKind::object);
  EXPECT_EQ(r.content, std::vector<std::string>{"Hi \"there\"\n"});
  EXPECT_EQ(r.second_choice_kind, JsonKind::array);
  EXPECT_EQ(r.prompt, 9);
  EXPECT_EQ(r.number, 2.5);
  EXPECT_EQ(r.big_kind, JsonKind::number);  // beyond int64: a number, not a wrapped integer
  EXPECT_TRUE(r.flag);
  EXPECT_EQ(r.values, 13);  // 6 objects and arrays, 7 scalars
}

TEST(JsonScan, PathsDoNotMatchAcrossKinds) {
  Recorder r;
  // "choices" as an object keyed "0", and content one level too deep or too shallow: none match.
  ASSERT_TRUE(scan_json(R"({"choices":{"0":{"delta":{"content":"no"}}},"usage":[{"prompt_tokens":1}],
                            "x":{"choices":[{"delta":{"content":"no"}}]}})",
                        r));
  EXPECT_TRUE(r.content.empty());
  EXPECT_EQ(r.prompt, -1);
}

// kAnyIndex matches any element of an array (never an object member), and index() tells which.
TEST(JsonScan, AnyIndexMatchesEveryArrayElementAndTellsWhich) {
  struct Calls final : JsonVisitor {
    void value(const JsonPath& at, const JsonValue& v) override {
      if (at.is({"tool_calls", kAnyIndex, "id"}) && v.kind == JsonKind::string)
        seen.push_back(std::to_string(at.index(1)) + "=" + std::string(v.text));
    }
    std::vector<std::string> seen;
  } calls;
  ASSERT_TRUE(
      scan_json(R"({"tool_calls":[{"id":"a"},{"x":1},{"id":"c"}],"other":{"tool_calls":{"0":{"id":"no"}}}})", calls));
  EXPECT_EQ(calls.seen, (std::vector<std::string>{"0=a", "2=c"}));
  struct Members final : JsonVisitor {
    void value(const JsonPath& at, const JsonValue&) override { matched = matched || at.is({"a", kAnyIndex}); }
    bool matched = false;
  } members;
  ASSERT_TRUE(scan_json(R"({"a":{"0":1}})", members));
  EXPECT_FALSE(members.matched);
}

// Every event as one line: the path, the kind and the value.
struct Transcript final : JsonVisitor {
  void value(const JsonPath& at, const JsonValue& v) override {
    std::string line;
    for (std::size_t i = 0; i < at.depth(); ++i)
      line += at.index(i) >= 0 ? "[" + std::to_string(at.index(i)) + "]" : ".";
    line += " " + std::to_string(static_cast<int>(v.kind)) + " ";
    switch (v.kind) {
      case JsonKind::string: line += v.text; break;
      case JsonKind::integer: line += std::to_string(v.integer) + "=" + std::to_string(v.number); break;
      case JsonKind::number: line += std::to_string(v.number); break;
      case JsonKind::boolean: line += v.boolean ? "true" : "false"; break;
      default: break;
    }
    lines.push_back(line);
    if (at.depth() > 0 && at.index(at.depth() - 1) < 0) keys.push_back(last_key(at));
  }
  // The innermost member name, by asking is() (the only way a reader sees keys).
  static std::string last_key(const JsonPath& at) {
    for (const char* k : {"a", "b", "", "\u00e9", "choices", "usage", "x"})
      if (at.depth() == 1 && at.is({k})) return k;
    return "?";
  }
  std::vector<std::string> lines;
  std::vector<std::string> keys;
};

// scan_json reads with simdjson and falls back to nlohmann's parser for what simdjson refuses:
// either way a reader must see exactly what nlohmann's SAX events show.
TEST(JsonScan, ShowsTheSameEventsAsNlohmannsParser) {
  const std::string deep = std::string(3000, '[') + std::string(3000, ']');  // beyond simdjson's depth limit
  for (std::string_view doc :
       {std::string_view(R"({"a":1,"b":[true,false,null,"x",-0,0.5,1e2,-9223372036854775808,9223372036854775807]})"),
        std::string_view(R"({"a":18446744073709551615,"b":18446744073709551616,"x":123456789012345678901234567890})"),
        std::string_view(R"({"a":"\u00e9\ud83d\ude00\n\"","":{"":[]}})"),
        std::string_view(R"({"a":1,"a":2,"choices":[{"x":[[],[{}]]}],"usage":{}})"),
        std::string_view(R"("just a string")"), std::string_view("12"), std::string_view(" [ ] "),
        std::string_view(R"({"a":"nul\u0000inside"})"), std::string_view(deep)}) {
    Transcript fast, reference;
    const bool fast_ok = scan_json(doc, fast);
    const bool reference_ok = scan_json_with_nlohmann(doc, reference);
    EXPECT_TRUE(reference_ok) << doc.substr(0, 80);
    EXPECT_EQ(fast_ok, reference_ok) << doc.substr(0, 80);
    EXPECT_EQ(fast.lines, reference.lines) << doc.substr(0, 80);
    EXPECT_EQ(fast.keys, reference.keys) << doc.substr(0, 80);
  }
  for (std::string_view bad :
       {std::string_view(R"({"a":1e400})"), std::string_view(R"({"a":"\ud800"})"),
        std::string_view(R"({"a":"\udc00x"})"), std::string_view("[1,]"), std::string_view("{\"a\":1}x"),
        std::string_view("01"), std::string_view("[\"\t\"]"), std::string_view("{\"a\":\"\xC0\x80\"}")}) {
    Transcript fast, reference;
    EXPECT_FALSE(scan_json_with_nlohmann(bad, reference)) << bad;
    EXPECT_FALSE(scan_json(bad, fast)) << bad;
  }
}

// A document larger than what a thread's kept parser takes is read all the same.
TEST(JsonScan, ReadsALargeDocument) {
  std::string doc = "[";
  for (int i = 0; i < 20000; ++i) doc += std::string(i == 0 ? "" : ",") + "{\"x\":\"" + std::to_string(i) + "\"}";
  doc += "]";
  ASSERT_GT(doc.size(), 64U * 1024);
  Transcript fast, reference;
  ASSERT_TRUE(scan_json(doc, fast));
  ASSERT_TRUE(scan_json_with_nlohmann(doc, reference));
  EXPECT_EQ(fast.lines.size(), 40001U);
  EXPECT_EQ(fast.lines, reference.lines);
}

// The kinds of every value, depth first: equal dumps could still hide an integer read as a
// double or a signed integer where nlohmann's parser makes an unsigned one.
std::string kinds(const json& j) {
  std::string out = std::to_string(static_cast<int>(j.type()));
  if (j.is_structured())
    for (const auto& child : j) out += "(" + kinds(child) + ")";
  return out;
}

TEST(ParseJson, GivesWhatNlohmannsParserGives) {
  const std::string deep = std::string(3000, '[') + std::string(3000, ']');
  for (std::string_view doc :
       {std::string_view(R"({"model":"m","messages":[{"role":"user","content":"Hi"}],"n":1,"t":0.7,"neg":-3})"),
        std::string_view(R"({"a":18446744073709551615,"b":18446744073709551616,"c":-9223372036854775808})"),
        std::string_view(R"({"z":1,"a":2,"z":3,"e":1e2,"g":-0.0,"h":0,"s":"\u00e9\ud83d\ude00"})"),
        std::string_view(R"([null,true,false,{},[],""])"), std::string_view(R"("x")"), std::string_view("7"),
        std::string_view(R"({"big":123456789012345678901234567890,"small":1.5e-300})"), std::string_view(deep),
        std::string_view(""), std::string_view("{"), std::string_view(R"({"a":1e400})"),
        std::string_view(R"({"a":"\ud800"})"), std::string_view("[1,]"), std::string_view("{} x"),
        std::string_view("{\"a\":\"\xFF\"}"), std::string_view(R"({"a":"nul\u0000"})")}) {
    const json fast = parse_json(doc);
    const json reference = json::parse(doc, nullptr, false);
    EXPECT_EQ(fast.is_discarded(), reference.is_discarded()) << doc.substr(0, 80);
    if (fast.is_discarded() || reference.is_discarded()) continue;
    EXPECT_EQ(fast.dump(), reference.dump()) << doc.substr(0, 80);
    EXPECT_EQ(kinds(fast), kinds(reference)) << doc.substr(0, 80);
  }
  // The one difference: simdjson does not tell "-0" from "0", so it reads as unsigned (nlohmann:
  // a signed) integer zero; the same number to every reader and in every dump.
  EXPECT_TRUE(parse_json("-0").is_number_integer());
  EXPECT_EQ(parse_json("-0"), 0);
  EXPECT_EQ(parse_json("-0").dump(), json::parse("-0").dump());
}

TEST(JsonScan, RefusesWhatIsNotOneJsonValue) {
  for (std::string_view bad :
       {"", "{", R"({"a":1,})", "[1 2]", "{} {}", R"({"a":"\x01"})", "nul", "{\"a\":\"\xFF\"}"}) {
    Recorder r;
    EXPECT_FALSE(scan_json(bad, r)) << bad;
  }
  Recorder r;
  EXPECT_TRUE(scan_json(" [1, \"two\", null] ", r));
  EXPECT_EQ(r.root, JsonKind::array);
  EXPECT_EQ(r.values, 4);
}

}  // namespace
}  // namespace chatd
