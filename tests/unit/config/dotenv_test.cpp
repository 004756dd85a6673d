#include "config/dotenv.hpp"

#include <gtest/gtest.h>

#include <string>

using chatd::config::DotenvFile;
using chatd::config::parse_dotenv;

namespace {

struct ValueCase {
  std::string line;
  std::string key;
  std::string value;
};

class ConfigDotenvValue : public testing::TestWithParam<ValueCase> {};

struct MalformedCase {
  std::string line;
  std::string expected;  // substring of the problem
};

class ConfigDotenvMalformed : public testing::TestWithParam<MalformedCase> {};

}  // namespace

TEST_P(ConfigDotenvValue, Parses) {
  const auto& c = GetParam();
  DotenvFile file = parse_dotenv(c.line, ".env");
  ASSERT_TRUE(file.problems.empty()) << file.problems.front();
  ASSERT_EQ(file.entries.size(), 1u);
  EXPECT_EQ(file.entries[0].key, c.key);
  EXPECT_EQ(file.entries[0].value, c.value);
  EXPECT_EQ(file.entries[0].line, 1);
}

INSTANTIATE_TEST_SUITE_P(
    Syntax, ConfigDotenvValue,
    testing::Values(ValueCase{"A=b", "A", "b"}, ValueCase{"  A = b  ", "A", "b"}, ValueCase{"export A=b", "A", "b"},
                    ValueCase{"export \tA=b", "A", "b"}, ValueCase{"A=", "A", ""}, ValueCase{"A=   ", "A", ""},
                    ValueCase{"A=b # comment", "A", "b"}, ValueCase{"A=b\t# comment", "A", "b"},
                    ValueCase{"A=b#c", "A", "b#c"}, ValueCase{"A=#b", "A", "#b"}, ValueCase{"A= #b", "A", ""},
                    ValueCase{"A=  spaced value  ", "A", "spaced value"}, ValueCase{"A=a=b", "A", "a=b"},
                    ValueCase{"A='x y # z'", "A", "x y # z"}, ValueCase{"A='a\\nb'", "A", "a\\nb"},
                    ValueCase{"A='$HOME \"q\"'", "A", "$HOME \"q\""}, ValueCase{"A=\"a\\nb\"", "A", "a\nb"},
                    ValueCase{"A=\"q\\\"q\"", "A", "q\"q"}, ValueCase{"A=\"back\\\\slash\"", "A", "back\\slash"},
                    ValueCase{"A=\"tab\\there\"", "A", "tab\there"}, ValueCase{"A=\"keep\\$x\"", "A", "keep\\$x"},
                    ValueCase{"A=\"x # not a comment\"", "A", "x # not a comment"},
                    ValueCase{"A=\"x\" # comment", "A", "x"}, ValueCase{"A='x'   ", "A", "x"},
                    ValueCase{"A=\"  padded  \"", "A", "  padded  "}, ValueCase{"A=\"\"", "A", ""},
                    ValueCase{"A=''", "A", ""}, ValueCase{"A=b\r", "A", "b"}, ValueCase{"_a1=x", "_a1", "x"},
                    ValueCase{"\xEF\xBB\xBF"
                              "A=b",
                              "A", "b"},
                    ValueCase{"A=it's", "A", "it's"}, ValueCase{"export=1", "export", "1"}));

TEST_P(ConfigDotenvMalformed, IsAProblemLine) {
  const auto& c = GetParam();
  DotenvFile file = parse_dotenv("# header\n\n" + c.line + "\nGOOD=1\n", "conf/.env");
  ASSERT_EQ(file.problems.size(), 1u);
  EXPECT_EQ(file.problems[0].rfind("conf/.env:3: ", 0), 0u) << file.problems[0];
  EXPECT_NE(file.problems[0].find(c.expected), std::string::npos) << file.problems[0];
  // The rest of the file is still read.
  ASSERT_EQ(file.entries.size(), 1u);
  EXPECT_EQ(file.entries[0].key, "GOOD");
  EXPECT_EQ(file.entries[0].line, 4);
}

INSTANTIATE_TEST_SUITE_P(
    Syntax, ConfigDotenvMalformed,
    testing::Values(MalformedCase{"JUSTTEXT", "malformed line, expected KEY=VALUE"},
                    MalformedCase{"export", "expected KEY=VALUE"}, MalformedCase{"=value", "the name before '='"},
                    MalformedCase{"1A=x", "the name before '='"}, MalformedCase{"A B=x", "the name before '='"},
                    MalformedCase{"A-B=x", "the name before '='"},
                    MalformedCase{"A=\"unterminated", "malformed value of A: unterminated double quote"},
                    MalformedCase{"A='unterminated", "malformed value of A: unterminated single quote"},
                    MalformedCase{"A=\"x\"y", "unexpected text after the closing quote"},
                    MalformedCase{"A='it''s'", "unexpected text after the closing quote"},
                    MalformedCase{"A=\"ends with backslash\\", "unterminated double quote"}));

TEST(ConfigDotenv, CommentsBlankLinesAndLineNumbers) {
  DotenvFile file = parse_dotenv(
      "# comment\n"
      "   # indented comment\n"
      "\n"
      "   \t \n"
      "A=1\r\n"
      "B='two'\r\n"
      "A=3",
      ".env");
  EXPECT_TRUE(file.problems.empty());
  ASSERT_EQ(file.entries.size(), 3u);
  EXPECT_EQ(file.entries[0].key, "A");
  EXPECT_EQ(file.entries[0].value, "1");
  EXPECT_EQ(file.entries[0].line, 5);
  EXPECT_EQ(file.entries[1].value, "two");
  EXPECT_EQ(file.entries[1].line, 6);
  EXPECT_EQ(file.entries[2].value, "3");  // repeats are kept; the loader reports them
  EXPECT_EQ(file.entries[2].line, 7);
}

TEST(ConfigDotenv, EmptyFile) {
  EXPECT_TRUE(parse_dotenv("", ".env").entries.empty());
  EXPECT_TRUE(parse_dotenv("\n\n", ".env").problems.empty());
}

TEST(ConfigDotenv, ProblemsNeverQuoteTheLine) {
  DotenvFile file = parse_dotenv("sk-live-TOPSECRET\nKEY=\"TOPSECRET\nKEY2='TOPSECRET'x\n", ".env");
  ASSERT_EQ(file.problems.size(), 3u);
  for (const auto& p : file.problems) EXPECT_EQ(p.find("TOPSECRET"), std::string::npos) << p;
}
