#pragma once
// Handlers called by name, without the server or the pipeline: a request and the context the
// pipeline would have filled in (client IP, request id, path parameters, parsed JSON body,
// principal) go in, the response comes out. The services behind them are the real ones over
// a database (tests/unit/service_fixture.hpp). What the pipeline adds around a handler (access
// levels, rate limits, the JSON body check, security headers) is tests/unit/http's.

#include "../service_fixture.hpp"
#include "api/routes.hpp"
#include "http/message.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatd::api {

namespace bhttp = boost::beast::http;

// A request as the pipeline hands it to a handler, built step by step:
// call(handler, Call::post("/auth/login").with_body({...}).by(principal)).
struct Call {
  using Headers = std::vector<std::pair<std::string, std::string>>;

  Call(bhttp::verb m, std::string t) : method(m), target(std::move(t)) {}
  static Call get(std::string target) { return {bhttp::verb::get, std::move(target)}; }
  static Call post(std::string target) { return {bhttp::verb::post, std::move(target)}; }
  static Call patch(std::string target) { return {bhttp::verb::patch, std::move(target)}; }
  static Call del(std::string target) { return {bhttp::verb::delete_, std::move(target)}; }

  // The parsed JSON body (an empty object unless set).
  Call& with_body(nlohmann::json b) {
    body = std::move(b);
    return *this;
  }
  // The caller the pipeline authenticated.
  Call& by(const Principal& who) {
    principal = who;
    return *this;
  }
  // A path parameter, e.g. param("id", ...) for /conversations/{id}.
  Call& param(const char* name, std::string value) {
    params.emplace_back(name, std::move(value));
    return *this;
  }
  Call& with_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  Call& with_headers(const Headers& more) {
    headers.insert(headers.end(), more.begin(), more.end());
    return *this;
  }

  bhttp::verb method;
  std::string target;
  nlohmann::json body = nlohmann::json::object();
  std::optional<Principal> principal;
  std::vector<std::pair<const char*, std::string>> params;
  Headers headers;
};

// A user signed in through the account service, as the pipeline sees them.
struct SignedIn {
  auth::User user;
  auth::LoginResult login;
  Principal principal;
};

// A streamed response's client: keeps what is written; `accept` decides whether the client is
// still there for each write (false: it went away).
class RecordingStream final : public http::ResponseStream {
 public:
  std::function<bool(std::size_t writes)> accept;
  std::string written;
  std::size_t writes = 0;

  boost::asio::awaitable<bool> write(std::string_view data) override {
    if (closed_) co_return false;
    ++writes;
    if (accept && !accept(writes)) {
      closed_ = true;
      if (on_close_) std::exchange(on_close_, {})();
      co_return false;
    }
    written.append(data);
    co_return true;
  }
  bool closed() const override { return closed_; }
  void on_close(std::function<void()> fn) override { on_close_ = std::move(fn); }
  void respond_instead(bhttp::status, std::string, std::string) override {}

  // The `event:` names written, in order.
  std::vector<std::string> events() const;
  // The data of the n-th event named `name`, parsed.
  nlohmann::json data(const std::string& name, std::size_t n = 0) const;

 private:
  bool closed_ = false;
  std::function<void()> on_close_;
};

class HandlerTest : public unit::ServiceTest {
 protected:
  http::Response call(Handler handler, Call c);
  // Runs a streamed response's body against `stream`.
  void stream(const http::Response& res, RecordingStream& stream);

  SignedIn sign_in(const std::string& username, unit::Account kind = unit::Account::verified);

  static nlohmann::json json(const http::Response& res);
  static std::string header(const http::Response& res, std::string_view name);
  // Whether `res` is an RFC 9457 problem document with this status and contract code.
  static ::testing::AssertionResult is_problem(const http::Response& res, int status, std::string_view code);
  // The `field` of every entry of a 422's `errors`, in order.
  static std::vector<std::string> error_fields(const http::Response& res);
  // The member names of a JSON object, sorted.
  static std::vector<std::string> keys(const nlohmann::json& object);

  // The error note the last call left for the access log.
  std::string error_note_;
};

}  // namespace chatd::api
