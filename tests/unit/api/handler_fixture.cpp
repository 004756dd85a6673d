#include "handler_fixture.hpp"

#include <algorithm>
#include <sstream>

namespace chatd::api {

std::vector<std::string> RecordingStream::events() const {
  std::vector<std::string> out;
  std::istringstream in(written);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("event: ", 0) == 0) out.push_back(line.substr(7));
  return out;
}

nlohmann::json RecordingStream::data(const std::string& name, std::size_t n) const {
  std::istringstream in(written);
  bool wanted = false;
  const std::size_t wanted_n = n;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("event: ", 0) == 0) {
      wanted = line.substr(7) == name;
    } else if (wanted && line.rfind("data: ", 0) == 0) {
      if (n-- == 0) return nlohmann::json::parse(line.substr(6));
      wanted = false;
    }
  }
  ADD_FAILURE() << "no event " << name << " #" << wanted_n << " in:\n" << written;
  return nullptr;
}

http::Response HandlerTest::call(Handler handler, Call c) {
  http::Request req{c.method, c.target, 11};
  req.set(bhttp::field::user_agent, "unit-test");
  for (const auto& [name, value] : c.headers) req.set(name, value);
  http::Context ctx(req);
  ctx.request_id = "req-1";
  ctx.client_ip = "127.0.0.1";
  const std::string_view target = req.target();
  const auto q = target.find('?');
  ctx.path = target.substr(0, q);
  if (q != std::string_view::npos) ctx.query = target.substr(q + 1);
  ctx.body = std::move(c.body);
  ctx.principal = std::move(c.principal);
  for (auto& [name, value] : c.params) ctx.params.add(name, std::move(value));
  http::Response res = run(handler(s().services, ctx));
  error_note_ = ctx.error_note;
  return res;
}

void HandlerTest::stream(const http::Response& res, RecordingStream& stream) {
  ASSERT_TRUE(res.stream) << "not a streamed response";
  run(res.stream(stream));
}

SignedIn HandlerTest::sign_in(const std::string& username, unit::Account kind) {
  SignedIn out;
  out.user = add_user(username, kind);
  out.login = login(username);
  auto who = authenticate(out.login.access_token);
  EXPECT_TRUE(who) << unit::describe(who.error());
  if (who) out.principal = who.value();
  return out;
}

nlohmann::json HandlerTest::json(const http::Response& res) {
  auto j = nlohmann::json::parse(res.body(), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << res.body();
  return j;
}

std::string HandlerTest::header(const http::Response& res, std::string_view name) {
  auto it = res.find(name);
  return it == res.end() ? std::string() : std::string(it->value());
}

::testing::AssertionResult HandlerTest::is_problem(const http::Response& res, int status, std::string_view code) {
  if (res.result_int() != static_cast<unsigned>(status))
    return ::testing::AssertionFailure() << "status " << res.result_int() << ": " << res.body();
  if (header(res, "Content-Type") != "application/problem+json")
    return ::testing::AssertionFailure() << "Content-Type " << header(res, "Content-Type");
  auto j = nlohmann::json::parse(res.body(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return ::testing::AssertionFailure() << "not JSON: " << res.body();
  if (j.value("type", "") != "about:blank" || j.value("status", 0) != status || j.value("code", "") != code ||
      !j.contains("title") || !j.contains("detail"))
    return ::testing::AssertionFailure() << "problem " << j.dump();
  return ::testing::AssertionSuccess();
}

std::vector<std::string> HandlerTest::error_fields(const http::Response& res) {
  std::vector<std::string> out;
  auto j = nlohmann::json::parse(res.body(), nullptr, false);
  if (j.is_discarded() || !j.contains("errors")) return out;
  for (const auto& e : j["errors"]) out.push_back(e.value("field", ""));
  return out;
}

std::vector<std::string> HandlerTest::keys(const nlohmann::json& object) {
  std::vector<std::string> out;
  for (const auto& [key, value] : object.items()) out.push_back(key);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace chatd::api
