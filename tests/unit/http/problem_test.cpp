#include "http/problem.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string_view>

namespace chatd::http {
namespace {

struct Case {
  Code code;
  std::string reason;
  int status;
  std::string api_code;
};

TEST(Problem, MapsEveryCanonicalCode) {
  const std::vector<Case> cases = {
      {Code::invalid_argument, "", 422, "validation_failed"},
      {Code::invalid_argument, "invalid_json", 400, "invalid_json"},
      {Code::invalid_argument, "invalid_token", 400, "invalid_token"},
      {Code::invalid_argument, "validation_failed", 422, "validation_failed"},
      {Code::invalid_argument, "malformed_framing", 400, "invalid_json"},  // not a contract code
      {Code::unauthenticated, "", 401, "unauthorized"},
      {Code::unauthenticated, "invalid_credentials", 401, "invalid_credentials"},
      {Code::permission_denied, "", 403, "forbidden"},
      {Code::permission_denied, "email_not_verified", 403, "email_not_verified"},
      {Code::not_found, "", 404, "not_found"},
      {Code::method_not_allowed, "", 405, "not_found"},
      {Code::conflict, "", 409, "conflict"},
      {Code::too_large, "", 413, "payload_too_large"},
      {Code::too_large, "headers_too_large", 431, "payload_too_large"},
      {Code::unsupported, "", 415, "unsupported_media_type"},
      {Code::locked, "", 423, "account_locked"},
      {Code::rate_limited, "", 429, "rate_limited"},
      {Code::internal, "", 500, "internal_error"},
      {Code::internal, "sql_failed", 500, "internal_error"},
      {Code::upstream, "", 502, "upstream_error"},
      {Code::unavailable, "", 503, "unavailable"},
      {Code::timeout, "", 504, "upstream_timeout"},
  };
  for (const auto& c : cases) {
    Error e = fail(c.code, "detail", c.reason);
    EXPECT_EQ(static_cast<int>(status_for(e)), c.status) << c.api_code;
    EXPECT_EQ(code_for(e), c.api_code);
  }
}

// API.md, "Conventions": the problem codes a client may see.
TEST(Problem, TheContractListIsApiMdsList) {
  const std::set<std::string_view> api_md = {"invalid_json",      "unauthorized",       "invalid_credentials",
                                             "otp_required",      "invalid_otp",        "token_reused",
                                             "forbidden",         "email_not_verified", "account_disabled",
                                             "not_found",         "conflict",           "unsupported_media_type",
                                             "payload_too_large", "validation_failed",  "account_locked",
                                             "rate_limited",      "upstream_error",     "unavailable",
                                             "upstream_timeout",  "invalid_token",      "internal_error"};
  std::set<std::string_view> ours(contract_codes().begin(), contract_codes().end());
  EXPECT_EQ(ours, api_md);
}

// Walks the whole code table: every canonical code, with no reason, with a reason outside
// the contract, with field errors and with every contract code as its reason, maps to a
// code of API.md's list, and to a status that agrees with it.
TEST(Problem, EveryCodeSentIsOneOfTheContracts) {
  std::vector<std::string> reasons = {"", "bad_request", "headers_too_large", "method_not_allowed", "whatever"};
  for (auto c : contract_codes()) reasons.emplace_back(c);
  for (int i = 0; i <= static_cast<int>(Code::timeout); ++i) {
    for (const auto& reason : reasons) {
      Error e = fail(static_cast<Code>(i), "detail", reason);
      EXPECT_TRUE(is_contract_code(code_for(e))) << i << " " << reason << " -> " << code_for(e);
      Error with_fields = e;
      with_fields.fields.push_back({"name", "is wrong"});
      EXPECT_TRUE(is_contract_code(code_for(with_fields))) << i << " " << reason;
      Response res = problem_response(e);
      auto body = nlohmann::json::parse(res.body());
      EXPECT_TRUE(is_contract_code(body["code"].get<std::string>())) << body.dump();
      EXPECT_EQ(body["status"], res.result_int());
      if (is_contract_code(reason)) continue;  // a handler's explicit choice
      int status = static_cast<int>(res.result_int());
      if (code_for(e) == "validation_failed") {
        EXPECT_EQ(status, 422) << i << " " << reason;
      }
      if (code_for(e) == "invalid_json") {
        EXPECT_EQ(status, 400) << i << " " << reason;
      }
    }
  }
}

TEST(Problem, FieldErrorsMake422) {
  Error e = Error::validation({{"password", "too short"}, {"email", "not an address"}});
  Response res = problem_response(e);
  EXPECT_EQ(res.result_int(), 422u);
  EXPECT_EQ(res[bhttp::field::content_type], "application/problem+json");
  auto body = nlohmann::json::parse(res.body());
  EXPECT_EQ(body["type"], "about:blank");
  EXPECT_EQ(body["title"], "Unprocessable Entity");
  EXPECT_EQ(body["status"], 422);
  EXPECT_EQ(body["code"], "validation_failed");
  ASSERT_EQ(body["errors"].size(), 2u);
  EXPECT_EQ(body["errors"][0]["field"], "password");
  EXPECT_EQ(body["errors"][0]["message"], "too short");
  EXPECT_EQ(body["errors"][1]["field"], "email");
}

TEST(Problem, InternalErrorsHideTheirCause) {
  Error e = internal_error("SQLITE_CORRUPT at /var/lib/chatd/chatd.db: SELECT secret FROM users");
  e.detail = "leaky detail";
  Response res = problem_response(e);
  EXPECT_EQ(res.result_int(), 500u);
  EXPECT_EQ(res.body().find("SQLITE"), std::string::npos);
  EXPECT_EQ(res.body().find("/var/lib"), std::string::npos);
  EXPECT_EQ(res.body().find("leaky"), std::string::npos);
  auto body = nlohmann::json::parse(res.body());
  EXPECT_EQ(body["code"], "internal_error");
  EXPECT_EQ(body["detail"], "an internal error occurred");
  EXPECT_FALSE(body.contains("errors"));
}

TEST(Problem, ErrorResponseKeepsCauseForTheLog) {
  Request req{bhttp::verb::get, "/", 11};
  Context ctx(req);
  Response res = error_response(ctx, internal_error("disk full"));
  EXPECT_EQ(ctx.error_note, "disk full");
  EXPECT_EQ(res.body().find("disk full"), std::string::npos);
}

}  // namespace
}  // namespace chatd::http
