#include "observability/metrics.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

using namespace chatd::obs;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

}  // namespace

TEST(Histogram, CountsIntoTheFirstBucketThatHoldsTheValue) {
  Histogram h;
  h.observe_us(1'000);        // exactly the first bound: le="0.001"
  h.observe_us(1'001);        // the next one
  h.observe_us(200'000'000);  // beyond every bound: only +Inf
  h.observe_us(-5);           // a clock step back counts as 0
  auto c = h.cumulative();
  EXPECT_EQ(c[0], 2U);
  EXPECT_EQ(c[1], 3U);
  EXPECT_EQ(c[Histogram::kBoundsUs.size() - 1], 3U);
  EXPECT_EQ(c.back(), 4U);
  EXPECT_EQ(h.sum_us(), 1'000U + 1'001U + 200'000'000U);
}

TEST(TextWriter, WritesFamiliesSamplesAndHistograms) {
  TextWriter w;
  w.family("x_total", "counter", "Things");
  w.sample("x_total", {{"a", "b"}, {"c", "d"}}, std::uint64_t{3});
  w.sample("x_total", {}, 0.25);
  Histogram h;
  h.observe_us(2'000'000);
  w.histogram("lat_seconds", {{"route", "/r"}}, h);
  std::string text = w.take();
  EXPECT_TRUE(has_line(text, "# HELP x_total Things"));
  EXPECT_TRUE(has_line(text, "# TYPE x_total counter"));
  EXPECT_TRUE(has_line(text, "x_total{a=\"b\",c=\"d\"} 3"));
  EXPECT_TRUE(has_line(text, "x_total 0.25"));
  EXPECT_TRUE(has_line(text, "lat_seconds_bucket{route=\"/r\",le=\"1\"} 0"));
  EXPECT_TRUE(has_line(text, "lat_seconds_bucket{route=\"/r\",le=\"2.5\"} 1"));
  EXPECT_TRUE(has_line(text, "lat_seconds_bucket{route=\"/r\",le=\"+Inf\"} 1"));
  EXPECT_TRUE(has_line(text, "lat_seconds_sum{route=\"/r\"} 2"));
  EXPECT_TRUE(has_line(text, "lat_seconds_count{route=\"/r\"} 1"));
}

TEST(TextWriter, EscapesLabelValues) {
  EXPECT_EQ(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  TextWriter w;
  w.sample("m", {{"model", "we\"ird"}}, std::uint64_t{1});
  EXPECT_EQ(w.take(), "m{model=\"we\\\"ird\"} 1\n");
}

TEST(HttpMetrics, CountsByRouteAndStatusAndKeepsUnknownStatusesBounded) {
  HttpMetrics m({{"GET", "/a/{id}"}, {"POST", "/b"}});
  m.request(0, 200, 500);
  m.request(0, 200, 700);
  m.request(1, 422, 10);
  m.request(m.unmatched(), 404, 10);
  m.request(99, 404, 10);  // out of range: unmatched
  m.request(1, 1000, 10);  // not an HTTP status: 599
  TextWriter w;
  m.write(w);
  std::string text = w.take();
  EXPECT_TRUE(has_line(text, R"(chatd_http_requests_total{route="/a/{id}",method="GET",status="200"} 2)"));
  EXPECT_TRUE(has_line(text, R"(chatd_http_requests_total{route="/b",method="POST",status="422"} 1)"));
  EXPECT_TRUE(has_line(text, R"(chatd_http_requests_total{route="unmatched",method="any",status="404"} 2)"));
  EXPECT_TRUE(has_line(text, R"(chatd_http_requests_total{route="/b",method="POST",status="599"} 1)"));
  EXPECT_TRUE(has_line(text, R"(chatd_http_request_duration_seconds_count{route="/a/{id}",method="GET"} 2)"));
  // Statuses never seen have no series.
  EXPECT_EQ(text.find("status=\"500\""), std::string::npos);
}

TEST(Metrics, CountsAuthEventsBucketsAndLlmRequests) {
  Metrics m({"global", "login"}, "1.2.3");
  m.auth_event(AuthEvent::login_failed);
  m.auth_event(AuthEvent::login_failed);
  m.rate_limited("login");
  m.rate_limited("no-such-bucket");  // ignored: labels are the configured buckets only
  m.llm_request("openai", "gpt", "complete", 10, 5, 0.0125, 1'500'000, 200'000);
  m.llm_request("openai", "gpt", "timeout", 0, 0, 0.0, 60'000'000, std::nullopt);
  m.open_streams().add(2);
  m.add_collector([](TextWriter& w) {
    w.family("extra", "gauge", "From a collector");
    w.sample("extra", {}, 7.0);
  });
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, R"(chatd_build_info{version="1.2.3"} 1)"));
  EXPECT_TRUE(has_line(text, R"(chatd_auth_events_total{event="login_failed"} 2)"));
  EXPECT_TRUE(has_line(text, R"(chatd_auth_events_total{event="login_succeeded"} 0)"));
  EXPECT_TRUE(has_line(text, R"(chatd_rate_limited_total{bucket="login"} 1)"));
  EXPECT_TRUE(has_line(text, R"(chatd_rate_limited_total{bucket="global"} 0)"));
  EXPECT_EQ(text.find("no-such-bucket"), std::string::npos);
  EXPECT_TRUE(has_line(text, R"(chatd_llm_requests_total{provider="openai",model="gpt",outcome="complete"} 1)"));
  EXPECT_TRUE(has_line(text, R"(chatd_llm_requests_total{provider="openai",model="gpt",outcome="timeout"} 1)"));
  EXPECT_TRUE(has_line(text, R"(chatd_llm_tokens_total{provider="openai",model="gpt",kind="prompt"} 10)"));
  EXPECT_TRUE(has_line(text, R"(chatd_llm_tokens_total{provider="openai",model="gpt",kind="completion"} 5)"));
  EXPECT_TRUE(has_line(text, R"(chatd_llm_cost_usd_total{provider="openai",model="gpt"} 0.0125)"));
  EXPECT_TRUE(has_line(text, R"(chatd_llm_request_duration_seconds_count{provider="openai",model="gpt"} 2)"));
  EXPECT_TRUE(has_line(text, R"(chatd_llm_time_to_first_token_seconds_count{provider="openai",model="gpt"} 1)"));
  EXPECT_TRUE(has_line(text, "chatd_open_streams 2"));
  EXPECT_TRUE(has_line(text, "extra 7"));
}

TEST(Metrics, ModelSeriesAreCappedSoLabelsStayBounded) {
  Metrics m({}, "t");
  for (std::size_t i = 0; i < Metrics::kMaxModels + 10; ++i)
    m.llm_request("p", "model-" + std::to_string(i), "complete", 1, 1, 0.0, 1, std::nullopt);
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, R"(chatd_llm_requests_total{provider="other",model="other",outcome="complete"} 10)"));
  EXPECT_EQ(text.find("model-" + std::to_string(Metrics::kMaxModels) + "\""), std::string::npos);
}

TEST(Metrics, CountingFromManyThreadsLosesNothing) {
  HttpMetrics http(std::vector<HttpMetrics::RouteLabel>{{"GET", "/x"}});
  Metrics m({"global"}, "t");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        http.request(0, 200, i);
        m.auth_event(AuthEvent::refresh_succeeded);
        m.llm_request("p", "m", "complete", 1, 1, 0.0, 1, 1);
      }
    });
  for (auto& t : threads) t.join();
  TextWriter w;
  http.write(w);
  EXPECT_TRUE(has_line(w.take(), R"(chatd_http_requests_total{route="/x",method="GET",status="200"} 40000)"));
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, R"(chatd_auth_events_total{event="refresh_succeeded"} 40000)"));
  EXPECT_TRUE(has_line(text, R"(chatd_llm_tokens_total{provider="p",model="m",kind="prompt"} 40000)"));
}
