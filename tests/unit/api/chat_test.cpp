// The handlers of src/api/chat.hpp called by name, over scripted providers: the shapes of
// conversations, messages and pages, Location on 201, 404 for another user's conversation,
// pagination and field validation, sending in JSON (201, 502, 504) and as server-sent events
// (the event order, an error event, a client that goes away), and GET /usage.

#include "api/chat.hpp"

#include "handler_fixture.hpp"

#include <gtest/gtest.h>

namespace chatd::api {
namespace {

using store::Dialect;

const std::vector<std::string> kConversationKeys = {"created_at",    "id",    "message_count", "model",
                                                    "system_prompt", "title", "updated_at"};
const std::vector<std::string> kMessageKeys = {"content", "created_at", "id", "model", "role", "status", "usage"};

class ChatHandlersTest : public unit::WithTwoUsers<HandlerTest> {
 protected:
  nlohmann::json create(nlohmann::json body = nlohmann::json::object()) {
    auto res = call(create_conversation, Call::post("/conversations").with_body(std::move(body)).by(ann_));
    EXPECT_EQ(res.result_int(), 201u) << res.body();
    return json(res);
  }
  http::Response send(const std::string& id, nlohmann::json body, bool sse = false) {
    Call c = Call::post("/conversations/" + id + "/messages").with_body(std::move(body)).by(ann_).param("id", id);
    if (sse) c.headers.push_back({"Accept", "text/event-stream"});
    return call(send_message, std::move(c));
  }
  http::Response on(Handler handler, const std::string& id, const Principal& who, bhttp::verb method = bhttp::verb::get,
                    nlohmann::json body = nlohmann::json::object()) {
    return call(handler, Call(method, "/conversations/" + id).with_body(std::move(body)).by(who).param("id", id));
  }
  http::Response get_list(Handler handler, const std::string& target, const std::string& id = {}) {
    Call c = Call::get(target).by(ann_);
    if (!id.empty()) c.params = {{"id", id}};
    return call(handler, std::move(c));
  }
};

TEST_P(ChatHandlersTest, ModelsListTheCatalogWithTheDefault) {
  auto res = call(list_models, Call::get("/models").by(ann_));
  ASSERT_EQ(res.result_int(), 200u);
  auto body = json(res);
  EXPECT_EQ(body["default_model"], unit::kModel);
  EXPECT_EQ(body["items"], nlohmann::json::parse(R"([
    {"id": "alpha-1", "provider": "alpha", "context_window": 8192},
    {"id": "tiny", "provider": "alpha", "context_window": 200},
    {"id": "beta-1", "provider": "beta", "context_window": 8192}])"));
}

TEST_P(ChatHandlersTest, CreateAnswers201WithLocationAndTheConversation) {
  auto res = call(create_conversation,
                  Call::post("/conversations").with_body({{"title", "Plans"}, {"system_prompt", nullptr}}).by(ann_));
  ASSERT_EQ(res.result_int(), 201u) << res.body();
  auto body = json(res);
  EXPECT_EQ(keys(body), kConversationKeys);
  EXPECT_EQ(header(res, "Location"), "/conversations/" + body["id"].get<std::string>());
  EXPECT_EQ(body["title"], "Plans");
  EXPECT_EQ(body["model"], unit::kModel);
  EXPECT_TRUE(body["system_prompt"].is_null());
  EXPECT_EQ(body["created_at"], "2026-03-10T12:00:00Z");
  EXPECT_EQ(body["message_count"], 0);

  auto bad = call(
      create_conversation,
      Call::post("/conversations").with_body({{"title", 5}, {"model", "gpt-nope"}, {"system_prompt", false}}).by(ann_));
  ASSERT_TRUE(is_problem(bad, 422, "validation_failed"));
  EXPECT_EQ(error_fields(bad), (std::vector<std::string>{"title", "system_prompt"}));
  auto unknown = call(create_conversation, Call::post("/conversations").with_body({{"model", "gpt-nope"}}).by(ann_));
  ASSERT_TRUE(is_problem(unknown, 422, "validation_failed"));
  EXPECT_EQ(error_fields(unknown), std::vector<std::string>{"model"});
}

// A raised CHATD_MAX_MESSAGE_CHARS raises the system prompt's limit too.
TEST_P(ChatHandlersTest, ASystemPromptMayBeAsLongAsTheConfiguredLimit) {
  s().config.max_message_chars = 200000;
  auto res = call(create_conversation,
                  Call::post("/conversations").with_body({{"system_prompt", std::string(150000, 'p')}}).by(ann_));
  EXPECT_EQ(res.result_int(), 201u) << res.body().substr(0, 300);
}

TEST_P(ChatHandlersTest, GetPatchAndDeleteAreTheOwnersAndOthersGet404) {
  const std::string id = create({{"title", "Mine"}})["id"];
  EXPECT_TRUE(is_problem(on(get_conversation, id, bob_), 404, "not_found"));
  EXPECT_TRUE(is_problem(on(update_conversation, id, bob_, bhttp::verb::patch), 404, "not_found"));
  EXPECT_TRUE(is_problem(on(delete_conversation, id, bob_, bhttp::verb::delete_), 404, "not_found"));
  EXPECT_TRUE(is_problem(get_list(list_messages, "/conversations/x/messages", "x"), 404, "not_found"));

  auto got = on(get_conversation, id, ann_);
  ASSERT_EQ(got.result_int(), 200u);
  EXPECT_EQ(json(got)["title"], "Mine");
  auto patched = on(update_conversation, id, ann_, bhttp::verb::patch, {{"title", "Ours"}, {"system_prompt", "Hi"}});
  ASSERT_EQ(patched.result_int(), 200u) << patched.body();
  EXPECT_EQ(json(patched)["title"], "Ours");
  EXPECT_EQ(json(patched)["system_prompt"], "Hi");
  auto too_long = on(update_conversation, id, ann_, bhttp::verb::patch, {{"title", std::string(201, 't')}});
  ASSERT_TRUE(is_problem(too_long, 422, "validation_failed"));
  EXPECT_EQ(error_fields(too_long), std::vector<std::string>{"title"});

  auto deleted = on(delete_conversation, id, ann_, bhttp::verb::delete_);
  EXPECT_EQ(deleted.result_int(), 204u);
  EXPECT_TRUE(deleted.body().empty());
  EXPECT_TRUE(is_problem(on(get_conversation, id, ann_), 404, "not_found"));
}

TEST_P(ChatHandlersTest, ListsArePagesWithOpaqueCursorsAndCheckedLimits) {
  const std::string first = create({{"title", "first"}})["id"];
  s().clock.advance_ms(1000);
  const std::string second = create({{"title", "second"}})["id"];

  auto page = get_list(list_conversations, "/conversations?limit=1");
  ASSERT_EQ(page.result_int(), 200u) << page.body();
  auto body = json(page);
  EXPECT_EQ(keys(body), (std::vector<std::string>{"items", "next_cursor"}));
  ASSERT_EQ(body["items"].size(), 1u);
  EXPECT_EQ(body["items"][0]["id"], second);
  EXPECT_EQ(keys(body["items"][0]), kConversationKeys);
  ASSERT_TRUE(body["next_cursor"].is_string());
  auto rest =
      json(get_list(list_conversations, "/conversations?limit=1&cursor=" + body["next_cursor"].get<std::string>()));
  ASSERT_EQ(rest["items"].size(), 1u);
  EXPECT_EQ(rest["items"][0]["id"], first);
  EXPECT_TRUE(rest["next_cursor"].is_null());
  auto found = json(get_list(list_conversations, "/conversations?q=FIRST"));
  ASSERT_EQ(found["items"].size(), 1u);
  EXPECT_EQ(found["items"][0]["id"], first);

  for (const char* query : {"limit=0", "limit=101", "limit=ten"}) {
    auto res = get_list(list_conversations, std::string("/conversations?") + query);
    ASSERT_TRUE(is_problem(res, 422, "validation_failed")) << query;
    EXPECT_EQ(error_fields(res), std::vector<std::string>{"limit"}) << query;
  }
  auto forged = get_list(list_conversations, "/conversations?cursor=bm90LWEtY3Vyc29y");
  ASSERT_TRUE(is_problem(forged, 422, "validation_failed"));
  EXPECT_EQ(error_fields(forged), std::vector<std::string>{"cursor"});
}

TEST_P(ChatHandlersTest, SendingWithoutEventStreamAnswers201WithBothMessages) {
  const std::string id = create()["id"];
  provider("alpha").script(unit::answer({"Hel", "lo"}, {12, 3}));
  auto res = send(id, {{"content", "Hi"}});
  ASSERT_EQ(res.result_int(), 201u) << res.body();
  auto body = json(res);
  EXPECT_EQ(keys(body), (std::vector<std::string>{"assistant_message", "user_message"}));
  EXPECT_EQ(keys(body["user_message"]), kMessageKeys);
  EXPECT_EQ(body["user_message"]["role"], "user");
  EXPECT_EQ(body["user_message"]["content"], "Hi");
  EXPECT_TRUE(body["user_message"]["usage"].is_null());
  EXPECT_TRUE(body["user_message"]["model"].is_null());
  const auto& answer = body["assistant_message"];
  EXPECT_EQ(keys(answer), kMessageKeys);
  EXPECT_EQ(answer["role"], "assistant");
  EXPECT_EQ(answer["content"], "Hello");
  EXPECT_EQ(answer["status"], "complete");
  EXPECT_EQ(answer["model"], unit::kModel);
  EXPECT_EQ(answer["usage"], nlohmann::json({{"prompt_tokens", 12}, {"completion_tokens", 3}}));

  auto listed = json(get_list(list_messages, "/conversations/" + id + "/messages?order=desc", id));
  ASSERT_EQ(listed["items"].size(), 2u);
  EXPECT_EQ(listed["items"][0]["id"], answer["id"]);  // newest first
  auto sideways = get_list(list_messages, "/conversations/" + id + "/messages?order=sideways", id);
  ASSERT_TRUE(is_problem(sideways, 422, "validation_failed"));
  EXPECT_EQ(error_fields(sideways), std::vector<std::string>{"order"});
}

TEST_P(ChatHandlersTest, AFailingProviderIs502AndATimeout504WhileTheQuestionIsKept) {
  const std::string id = create()["id"];
  provider("alpha").script(unit::failure(false, 400));
  EXPECT_TRUE(is_problem(send(id, {{"content", "Hi"}}), 502, "upstream_error"));
  // A timeout falls back; when the fallback times out too, the answer is a 504.
  unit::Reply slow = unit::failure(false);
  slow.status = llm::Outcome::Status::timeout;
  provider("alpha").script(slow);
  provider("beta").script(slow);
  EXPECT_TRUE(is_problem(send(id, {{"content", "Again"}}), 504, "upstream_timeout"));

  auto listed = json(get_list(list_messages, "/conversations/" + id + "/messages", id));
  ASSERT_EQ(listed["items"].size(), 4u);
  EXPECT_EQ(listed["items"][0]["content"], "Hi");
  EXPECT_EQ(listed["items"][1]["status"], "error");
  EXPECT_EQ(listed["items"][2]["content"], "Again");
  EXPECT_EQ(listed["items"][3]["status"], "error");
}

TEST_P(ChatHandlersTest, SendingChecksTheBodyAndTheConversation) {
  const std::string id = create()["id"];
  auto empty = send(id, nlohmann::json::object());
  ASSERT_TRUE(is_problem(empty, 422, "validation_failed"));
  EXPECT_EQ(error_fields(empty), std::vector<std::string>{"content"});
  auto typed = send(id, {{"content", "Hi"}, {"model", 3}});
  ASSERT_TRUE(is_problem(typed, 422, "validation_failed"));
  EXPECT_EQ(error_fields(typed), std::vector<std::string>{"model"});
  EXPECT_TRUE(is_problem(send("no-such-id", {{"content", "Hi"}}), 404, "not_found"));
  s().config.user_token_quota = 1;
  provider("alpha").script(unit::answer({"x"}));
  ASSERT_EQ(send(id, {{"content", "Hi"}}).result_int(), 201u);
  auto spent = send(id, {{"content", "Hi"}});
  ASSERT_TRUE(is_problem(spent, 429, "rate_limited"));
  EXPECT_EQ(header(spent, "Retry-After"), "43200");
}

TEST_P(ChatHandlersTest, AnEventStreamSendsTheMessageTheDeltasAndDone) {
  const std::string id = create()["id"];
  provider("alpha").script(unit::answer({"Hel", "lo"}, {12, 3}));
  auto res = send(id, {{"content", "Hi"}}, true);
  ASSERT_EQ(res.result_int(), 200u);
  EXPECT_EQ(header(res, "Content-Type"), "text/event-stream");
  EXPECT_EQ(header(res, "Cache-Control"), "no-cache");
  EXPECT_EQ(res.heartbeat_interval, std::chrono::milliseconds(s().config.sse_heartbeat_ms));
  RecordingStream client;
  stream(res, client);
  EXPECT_EQ(client.events(), (std::vector<std::string>{"message", "delta", "delta", "done"}));
  EXPECT_EQ(client.data("message")["content"], "Hi");
  EXPECT_EQ(client.data("delta", 0), nlohmann::json({{"text", "Hel"}}));
  EXPECT_EQ(client.data("delta", 1), nlohmann::json({{"text", "lo"}}));
  auto done = client.data("done");
  EXPECT_EQ(done["message"]["content"], "Hello");
  EXPECT_EQ(keys(done["message"]), kMessageKeys);
  EXPECT_EQ(done["usage"], nlohmann::json({{"prompt_tokens", 12}, {"completion_tokens", 3}}));
}

TEST_P(ChatHandlersTest, AFailureMidStreamEndsWithAnErrorEventHoldingThePartialAnswer) {
  const std::string id = create()["id"];
  unit::Reply broken = unit::failure(false, 500);
  broken.deltas = {"Part"};
  provider("alpha").script(broken);
  RecordingStream client;
  stream(send(id, {{"content", "Hi"}}, true), client);
  EXPECT_EQ(client.events(), (std::vector<std::string>{"message", "delta", "error"}));
  auto error = client.data("error");
  EXPECT_EQ(error["code"], "upstream_error");
  EXPECT_EQ(error["detail"], "the provider answered 500");
  EXPECT_EQ(error["message"]["status"], "error");
  EXPECT_EQ(error["message"]["content"], "Part");
}

TEST_P(ChatHandlersTest, AClientThatGoesAwayMidStreamCancelsAndTheTextSoFarIsKept) {
  const std::string id = create()["id"];
  provider("alpha").script(unit::answer({"One ", "two ", "three"}));
  RecordingStream client;
  client.accept = [](std::size_t writes) { return writes <= 2; };  // the message and one delta
  stream(send(id, {{"content", "Count"}}, true), client);
  EXPECT_EQ(client.events(), (std::vector<std::string>{"message", "delta"}));
  auto listed = json(get_list(list_messages, "/conversations/" + id + "/messages", id));
  ASSERT_EQ(listed["items"].size(), 2u);
  EXPECT_EQ(listed["items"][1]["status"], "cancelled");
  EXPECT_EQ(listed["items"][1]["content"], "One two ");
  EXPECT_EQ(provider("alpha").calls(), 1u);
}

TEST_P(ChatHandlersTest, UsageReportsTotalsQuotaAndABreakdown) {
  const std::string id = create()["id"];
  provider("alpha").script(unit::answer({"x"}, {100, 20}));
  ASSERT_EQ(send(id, {{"content", "Hi"}}).result_int(), 201u);
  auto res = call(own_usage, Call::get("/usage").by(ann_));
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  auto body = json(res);
  EXPECT_EQ(body["requests"], 1);
  EXPECT_EQ(body["prompt_tokens"], 100);
  EXPECT_EQ(body["completion_tokens"], 20);
  EXPECT_DOUBLE_EQ(body["cost_usd"].get<double>(), 140e-6);
  EXPECT_TRUE(body["quota"].is_null());
  EXPECT_FALSE(body.contains("items"));

  s().config.user_token_quota = 1000;
  auto quota = json(call(own_usage, Call::get("/usage").by(ann_)))["quota"];
  EXPECT_EQ(quota, nlohmann::json({{"limit", 1000}, {"remaining", 880}, {"resets_at", "2026-03-11T00:00:00Z"}}));

  auto by_model = call(own_usage, Call::get("/usage?group_by=model&from=2026-03-01&to=2026-04-01").by(ann_));
  ASSERT_EQ(by_model.result_int(), 200u) << by_model.body();
  auto items = json(by_model)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["key"], unit::kModel);
  EXPECT_EQ(items[0]["prompt_tokens"], 100);
  auto by_user = call(own_usage, Call::get("/usage?group_by=user").by(ann_));
  ASSERT_TRUE(is_problem(by_user, 422, "validation_failed"));
  EXPECT_EQ(error_fields(by_user), std::vector<std::string>{"group_by"});
}

INSTANTIATE_TEST_SUITE_P(Dialects, ChatHandlersTest, ::testing::Values(Dialect::sqlite, Dialect::postgres),
                         store::testing::dialect_name);

}  // namespace
}  // namespace chatd::api
