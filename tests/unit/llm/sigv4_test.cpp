#include "llm/sigv4.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

namespace chatd::llm {
namespace {

namespace fs = std::filesystem;

// The suite's published example credentials and scope.
constexpr std::string_view suite_region = "us-east-1";
constexpr std::string_view suite_service = "service";
constexpr std::string_view suite_date = "20150830T123600Z";

SigV4Credentials suite_credentials() { return {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""}; }

fs::path suite_dir() { return fs::path(CHATD_TEST_DATA_DIR) / "aws-sigv4/aws-sig-v4-test-suite"; }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// The suite's request carries the token as a header; the API's way is the credentials, so the
// test moves it there and lets the signer add (and sign) x-amz-security-token itself.
void move_token_to_credentials(SigV4Request& request, SigV4Credentials& credentials) {
  auto& headers = request.headers;
  for (auto it = headers.begin(); it != headers.end();) {
    if (lower(it->first) == "x-amz-security-token") {
      credentials.session_token = it->second;
      it = headers.erase(it);
    } else {
      ++it;
    }
  }
}

// These two cases are internally inconsistent in the published suite: the .sts is not the hash
// of the case's own .creq (checked independently with Python's hashlib). Their .creq is matched
// exactly; .sts/.authz cannot be matched at the same time, see SigV4Suite.FormUrlencoded* below
// for which request each .sts was really computed on.
const std::set<std::string> inconsistent_cases = {"post-x-www-form-urlencoded",
                                                  "post-x-www-form-urlencoded-parameters"};

TEST(SigV4Suite, EveryCaseMatches) {
  ASSERT_TRUE(fs::is_directory(suite_dir())) << suite_dir();
  int cases = 0;
  int full_matches = 0;
  for (const auto& entry : fs::recursive_directory_iterator(suite_dir())) {
    if (!entry.is_regular_file() || entry.path().extension() != ".req") continue;
    const fs::path base = entry.path().parent_path() / entry.path().stem();
    const std::string name = entry.path().stem().string();
    SCOPED_TRACE(name);
    ++cases;

    auto request = parse_sigv4_test_request(read_file(entry.path()));
    ASSERT_TRUE(request.has_value());
    SigV4Credentials credentials = suite_credentials();
    move_token_to_credentials(*request, credentials);
    const SigV4Result result = sigv4_sign(*request, credentials, suite_region, suite_service, suite_date);

    EXPECT_EQ(result.canonical_request, read_file(base.string() + ".creq"));
    if (inconsistent_cases.contains(name)) {
      // Guards the claim above: if a future copy of the suite fixes the case, this fails and the
      // case should leave the set.
      EXPECT_NE(result.string_to_sign, read_file(base.string() + ".sts"));
      continue;
    }
    EXPECT_EQ(result.string_to_sign, read_file(base.string() + ".sts"));
    EXPECT_EQ(result.authorization, read_file(base.string() + ".authz"));
    ++full_matches;
  }
  // 31 cases: 29 matched on all three outputs, 2 (inconsistent_cases) on the canonical request.
  EXPECT_EQ(cases, 31);
  EXPECT_EQ(full_matches, 29);
}

// The .sts/.authz of post-x-www-form-urlencoded were computed on the request as its .sreq shows
// it, without Content-Length; signing that request reproduces them exactly.
TEST(SigV4Suite, FormUrlencodedSignedWithoutContentLength) {
  const fs::path base = suite_dir() / "post-x-www-form-urlencoded/post-x-www-form-urlencoded";
  auto request = parse_sigv4_test_request(read_file(base.string() + ".req"));
  ASSERT_TRUE(request.has_value());
  std::erase_if(request->headers, [](const auto& header) { return lower(header.first) == "content-length"; });
  const SigV4Result result = sigv4_sign(*request, suite_credentials(), suite_region, suite_service, suite_date);
  EXPECT_EQ(result.string_to_sign, read_file(base.string() + ".sts"));
  EXPECT_EQ(result.authorization, read_file(base.string() + ".authz"));
}

// The .sts of post-x-www-form-urlencoded-parameters hashes a request with Content-Type
// "...; charset=utf8" (no hyphen) and no Content-Length (found by trying variants); its .authz
// carries that signature but lists content-length in SignedHeaders, so no request reproduces the
// .authz as a whole. The string to sign and the signature do reproduce.
TEST(SigV4Suite, FormUrlencodedParametersSignedVariant) {
  const fs::path base = suite_dir() / "post-x-www-form-urlencoded-parameters/post-x-www-form-urlencoded-parameters";
  auto request = parse_sigv4_test_request(read_file(base.string() + ".req"));
  ASSERT_TRUE(request.has_value());
  std::erase_if(request->headers, [](const auto& header) { return lower(header.first) == "content-length"; });
  for (auto& [name, value] : request->headers) {
    if (lower(name) == "content-type") value = "application/x-www-form-urlencoded; charset=utf8";
  }
  const SigV4Result result = sigv4_sign(*request, suite_credentials(), suite_region, suite_service, suite_date);
  EXPECT_EQ(result.string_to_sign, read_file(base.string() + ".sts"));
  const std::string authz = read_file(base.string() + ".authz");
  const auto signature_of = [](const std::string& text) { return text.substr(text.rfind("Signature=")); };
  EXPECT_EQ(signature_of(result.authorization), signature_of(authz));
  EXPECT_NE(result.authorization, authz);
}

TEST(SigV4, ParsesTestRequest) {
  auto request =
      parse_sigv4_test_request("POST /a%20b?x=1&y=%41&z HTTP/1.1\r\nHost:h\r\nMy:a\r\n  b\r\n\r\nbody\nmore");
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->method, "POST");
  EXPECT_EQ(request->path, "/a%20b");
  ASSERT_EQ(request->query.size(), 3U);
  EXPECT_EQ(request->query[1], (std::pair<std::string, std::string>{"y", "A"}));
  EXPECT_EQ(request->query[2], (std::pair<std::string, std::string>{"z", ""}));
  ASSERT_EQ(request->headers.size(), 2U);
  EXPECT_EQ(request->headers[1].second, "a\n  b");
  EXPECT_EQ(request->body, "body\nmore");
  EXPECT_FALSE(parse_sigv4_test_request("GARBAGE").has_value());
  EXPECT_FALSE(parse_sigv4_test_request("GET / HTTP/1.1\nno colon\n").has_value());
}

TEST(SigV4, UriEncodeUsesUppercasePercentTwenty) {
  EXPECT_EQ(sigv4_uri_encode("a b+c/d~"), "a%20b%2Bc%2Fd~");
  EXPECT_EQ(sigv4_uri_encode("a b/c", /*keep_slash=*/true), "a%20b/c");
}

SigV4Request bedrock_request() {
  SigV4Request request;
  request.method = "POST";
  // Bedrock model ids contain ':', which is sent as %3A and must be signed as %253A.
  request.path = "/model/anthropic.claude-v2%3A1/invoke";
  request.headers = {{"Host", "bedrock-runtime.us-east-1.amazonaws.com"}, {"Content-Type", "application/json"}};
  request.body = "{}";
  return request;
}

TEST(SigV4, EncodesWirePathOnceMore) {
  const auto result = sigv4_sign(bedrock_request(), suite_credentials(), "us-east-1", "bedrock", suite_date);
  EXPECT_NE(result.canonical_request.find("\n/model/anthropic.claude-v2%253A1/invoke\n"), std::string::npos);
}

TEST(SigV4, AddsDateAndSessionTokenWhenMissing) {
  SigV4Credentials credentials = suite_credentials();
  credentials.session_token = "TOKEN";
  const auto result = sigv4_sign(bedrock_request(), credentials, "us-east-1", "bedrock", suite_date);
  EXPECT_NE(result.canonical_request.find("x-amz-date:20150830T123600Z\nx-amz-security-token:TOKEN\n"),
            std::string::npos);
  EXPECT_NE(result.authorization.find("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"),
            std::string::npos);
}

TEST(SigV4, RejectsConflictingOrMissingHeaders) {
  SigV4Request request = bedrock_request();
  request.headers.emplace_back("X-Amz-Date", "20990101T000000Z");
  EXPECT_THROW(sigv4_sign(request, suite_credentials(), "us-east-1", "bedrock", suite_date), std::invalid_argument);

  request = bedrock_request();
  request.headers.erase(request.headers.begin());
  EXPECT_THROW(sigv4_sign(request, suite_credentials(), "us-east-1", "bedrock", suite_date), std::invalid_argument);

  EXPECT_THROW(sigv4_sign(bedrock_request(), suite_credentials(), "us-east-1", "bedrock", "20150830"),
               std::invalid_argument);
}

TEST(SigV4, WithoutNormalizationKeepsSlashesAndDots) {
  SigV4Request request = bedrock_request();
  request.path = "/a//./b";
  const auto normalized = sigv4_sign(request, suite_credentials(), "us-east-1", "s3", suite_date);
  const auto raw = sigv4_sign(request, suite_credentials(), "us-east-1", "s3", suite_date, false);
  EXPECT_NE(normalized.canonical_request.find("\n/a/b\n"), std::string::npos);
  EXPECT_NE(raw.canonical_request.find("\n/a//./b\n"), std::string::npos);
}

}  // namespace
}  // namespace chatd::llm
