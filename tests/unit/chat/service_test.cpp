// chat::Service without the server, in both dialects (PostgreSQL when
// CHATD_TEST_DATABASE_URL is set): conversations and their owner, sending a message through
// the gateway to scripted providers (answers, failures, fallbacks, cancellation), the history
// the model sees, usage and the daily quota with the clock moved by hand.

#include "chat/service.hpp"

#include "../service_fixture.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chatd::chat {
namespace {

using store::Dialect;
using unit::fails;

constexpr std::int64_t kDayMs = 86'400'000;

// What a model was asked: "role:content" per message.
std::vector<std::string> seen(const llm::ChatRequest& request) {
  std::vector<std::string> out;
  for (const auto& m : request.messages) out.push_back(m.role + ":" + m.content);
  return out;
}

// ConversationChanges field by field.
struct Changes {
  ConversationChanges value;
  Changes& title(std::string v) {
    value.title = std::move(v);
    return *this;
  }
  Changes& model(std::string v) {
    value.model = std::move(v);
    return *this;
  }
  // nullopt clears the prompt.
  Changes& system_prompt(std::optional<std::string> v) {
    value.system_prompt = std::move(v);
    return *this;
  }
  operator ConversationChanges() const { return value; }  // NOLINT: a builder's conversion
};

class ChatServiceTest : public unit::WithTwoUsers<unit::ServiceTest> {
 protected:
  Service& chat() { return s().chat; }

  Conversation create(ConversationChanges input = {}) {
    auto c = run(chat().create(ann_, std::move(input)));
    EXPECT_TRUE(c) << unit::describe(c.error());
    return c ? std::move(c).value() : Conversation{};
  }

  struct Sent {
    PendingSend pending;
    std::vector<std::string> deltas;  // as the caller received them
    Result<SendOutcome> outcome = fail(Code::internal, "not sent");
  };
  // Both halves of a send; `keep_going` answers each delta (false: the client went away).
  Sent send(const std::string& conversation_id, const std::string& content,
            std::optional<std::string> model = std::nullopt, std::function<bool(int)> keep_going = {}) {
    Sent out;
    auto pending = run(chat().begin_send(ann_, conversation_id, content, std::move(model)));
    EXPECT_TRUE(pending) << unit::describe(pending.error());
    if (!pending) return out;
    out.pending = std::move(pending).value();
    llm::DeltaFn on_delta = [&out, &keep_going](const llm::Delta& delta) -> boost::asio::awaitable<bool> {
      const std::string_view text = delta.text;
      if (text.empty()) co_return true;  // a flush
      out.deltas.emplace_back(text);
      co_return !keep_going || keep_going(static_cast<int>(out.deltas.size()));
    };
    llm::Cancellation cancel;
    SendOutcome done;
    const Status stored = run(chat().finish_send(out.pending, on_delta, cancel, done));
    if (stored) {
      out.outcome = std::move(done);
    } else {
      out.outcome = stored.error();
    }
    EXPECT_TRUE(out.outcome) << unit::describe(out.outcome.error());
    return out;
  }

  std::vector<Message> messages(const std::string& conversation_id) {
    auto page = run(chat().messages(ann_, conversation_id, std::nullopt, 100));
    EXPECT_TRUE(page) << unit::describe(page.error());
    return page ? page.value().items : std::vector<Message>{};
  }
};

// --- conversations ---

TEST_P(ChatServiceTest, AConversationIsCreatedWithTheDefaultModelUnlessOneIsNamed) {
  auto c = create(Changes().title("Plans").system_prompt("Be brief."));
  EXPECT_EQ(c.title, "Plans");
  EXPECT_EQ(c.model, unit::kModel);
  EXPECT_EQ(c.system_prompt, "Be brief.");
  EXPECT_EQ(c.user_id, ann_.user_id);
  EXPECT_EQ(c.created_at, unit::kStartMs);
  EXPECT_EQ(c.message_count, 0);
  EXPECT_EQ(create(Changes().model(unit::kTinyModel)).model, unit::kTinyModel);

  auto bad = run(chat().create(ann_, Changes().title(std::string(201, 't')).model("gpt-nope")));
  ASSERT_TRUE(fails(bad, Code::invalid_argument, "validation_failed"));
  ASSERT_EQ(bad.error().fields.size(), 2u);
  EXPECT_EQ(bad.error().fields[0].field, "title");
  EXPECT_EQ(bad.error().fields[1].field, "model");
  EXPECT_EQ(count("conversations"), 2);
}

TEST_P(ChatServiceTest, AnotherUsersConversationIsNotFoundWhateverIsAsked) {
  auto c = create(Changes().title("Mine"));
  EXPECT_TRUE(fails(run(chat().get(bob_, c.id)), Code::not_found));
  EXPECT_TRUE(fails(run(chat().update(bob_, c.id, Changes().title("Stolen"))), Code::not_found));
  EXPECT_TRUE(fails(run(chat().messages(bob_, c.id, std::nullopt, 20)), Code::not_found));
  EXPECT_TRUE(fails(run(chat().begin_send(bob_, c.id, "hi", std::nullopt)), Code::not_found));
  EXPECT_TRUE(fails(run(chat().remove(bob_, c.id)), Code::not_found));
  auto theirs = run(chat().list(bob_, "", std::nullopt, 20));
  ASSERT_TRUE(theirs);
  EXPECT_TRUE(theirs.value().items.empty());

  auto mine = run(chat().get(ann_, c.id));
  ASSERT_TRUE(mine) << unit::describe(mine.error());
  EXPECT_EQ(mine.value().title, "Mine");
  EXPECT_EQ(count("messages"), 0);
}

TEST_P(ChatServiceTest, UpdateChangesOnlyTheFieldsGivenAndDeleteHidesTheConversation) {
  auto c = create(Changes().title("Old").system_prompt("Be brief."));
  s().clock.advance_ms(5000);
  auto renamed = run(chat().update(ann_, c.id, Changes().title("New")));
  ASSERT_TRUE(renamed) << unit::describe(renamed.error());
  EXPECT_EQ(renamed.value().title, "New");
  EXPECT_EQ(renamed.value().system_prompt, "Be brief.");
  EXPECT_EQ(renamed.value().updated_at, unit::kStartMs + 5000);

  auto cleared = run(chat().update(ann_, c.id, Changes().model(unit::kFallbackModel).system_prompt(std::nullopt)));
  ASSERT_TRUE(cleared) << unit::describe(cleared.error());
  EXPECT_EQ(cleared.value().model, unit::kFallbackModel);
  EXPECT_FALSE(cleared.value().system_prompt);
  EXPECT_EQ(cleared.value().title, "New");
  auto unknown = run(chat().update(ann_, c.id, Changes().model("gpt-nope")));
  ASSERT_TRUE(fails(unknown, Code::invalid_argument));
  EXPECT_EQ(unknown.error().fields.at(0).field, "model");

  ASSERT_TRUE(run(chat().remove(ann_, c.id)));
  EXPECT_TRUE(fails(run(chat().get(ann_, c.id)), Code::not_found));
  EXPECT_TRUE(fails(run(chat().remove(ann_, c.id)), Code::not_found));
  EXPECT_TRUE(fails(run(chat().update(ann_, c.id, Changes().title("Back"))), Code::not_found));
  auto list = run(chat().list(ann_, "", std::nullopt, 20));
  ASSERT_TRUE(list);
  EXPECT_TRUE(list.value().items.empty());
}

TEST_P(ChatServiceTest, TheListIsMostRecentlyUpdatedFirstInPagesAndSearchesTitles) {
  auto garden = create(Changes().title("Garden planning"));
  s().clock.advance_ms(1000);
  auto taxes = create(Changes().title("Tax return"));
  s().clock.advance_ms(1000);
  auto trip = create(Changes().title("Trip to Lisbon"));

  auto first = run(chat().list(ann_, "", std::nullopt, 2));
  ASSERT_TRUE(first) << unit::describe(first.error());
  ASSERT_EQ(first.value().items.size(), 2u);
  EXPECT_EQ(first.value().items[0].id, trip.id);
  EXPECT_EQ(first.value().items[1].id, taxes.id);
  ASSERT_TRUE(first.value().next);
  auto second = run(chat().list(ann_, "", first.value().next, 2));
  ASSERT_TRUE(second);
  ASSERT_EQ(second.value().items.size(), 1u);
  EXPECT_EQ(second.value().items[0].id, garden.id);
  EXPECT_FALSE(second.value().next);

  s().clock.advance_ms(1000);
  ASSERT_TRUE(run(chat().update(ann_, garden.id, Changes().title("Garden planning 2027"))));
  auto moved = run(chat().list(ann_, "", std::nullopt, 20));
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved.value().items.at(0).id, garden.id);

  auto found = run(chat().list(ann_, "GARDEN", std::nullopt, 20));
  ASSERT_TRUE(found);
  ASSERT_EQ(found.value().items.size(), 1u);
  EXPECT_EQ(found.value().items[0].id, garden.id);
  EXPECT_TRUE(fails(run(chat().list(ann_, std::string(201, 'q'), std::nullopt, 20)), Code::invalid_argument));
}

// --- sending ---

TEST_P(ChatServiceTest, SendingStoresTheQuestionThenTheAnswerWithItsUsage) {
  auto c = create(Changes().system_prompt("Be brief."));
  provider("alpha").script(unit::answer({"Hel", "lo!"}, {12, 3}));
  s().clock.advance_ms(1000);
  auto sent = send(c.id, "Hello there\nsecond line");
  ASSERT_TRUE(sent.outcome);

  const Message& question = sent.pending.user_message;
  EXPECT_EQ(question.role, "user");
  EXPECT_EQ(question.status, "complete");
  EXPECT_EQ(question.content, "Hello there\nsecond line");
  // An untitled conversation is named after the first line of its first message.
  EXPECT_EQ(sent.pending.conversation.title, "Hello there");

  ASSERT_EQ(provider("alpha").calls(), 1u);
  const llm::ChatRequest& request = provider("alpha").requests()[0];
  EXPECT_EQ(request.model, "alpha-upstream-1");
  EXPECT_EQ(seen(request), (std::vector<std::string>{"system:Be brief.", "user:Hello there\nsecond line"}));

  EXPECT_EQ(sent.deltas, (std::vector<std::string>{"Hel", "lo!"}));
  const Message& answer = sent.outcome.value().assistant;
  EXPECT_EQ(answer.role, "assistant");
  EXPECT_EQ(answer.content, "Hello!");
  EXPECT_EQ(answer.status, "complete");
  EXPECT_EQ(answer.model, unit::kModel);
  EXPECT_EQ(answer.prompt_tokens, 12);
  EXPECT_EQ(answer.completion_tokens, 3);

  auto stored = messages(c.id);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].id, question.id);
  EXPECT_EQ(stored[1].id, answer.id);
  EXPECT_EQ(stored[1].content, "Hello!");
  EXPECT_EQ(stored[1].completion_tokens, 3);
  auto after = run(chat().get(ann_, c.id));
  ASSERT_TRUE(after);
  EXPECT_EQ(after.value().message_count, 2);
  EXPECT_EQ(after.value().title, "Hello there");

  auto usage = run(chat().usage(ann_));
  ASSERT_TRUE(usage) << unit::describe(usage.error());
  EXPECT_EQ(usage.value().requests, 1);
  EXPECT_EQ(usage.value().prompt_tokens, 12);
  EXPECT_EQ(usage.value().completion_tokens, 3);
  EXPECT_DOUBLE_EQ(usage.value().cost_usd, (12 * 1.0 + 3 * 2.0) / 1e6);
  EXPECT_FALSE(usage.value().quota_limit);
  auto others = run(chat().usage(bob_));
  ASSERT_TRUE(others);
  EXPECT_EQ(others.value().requests, 0);

  // The next request carries the history; the search finds the conversation by its text.
  provider("alpha").script(unit::answer({"Sure."}));
  ASSERT_TRUE(send(c.id, "And again?").outcome);
  EXPECT_EQ(seen(provider("alpha").requests().at(1)),
            (std::vector<std::string>{"system:Be brief.", "user:Hello there\nsecond line", "assistant:Hello!",
                                      "user:And again?"}));
  auto found = run(chat().list(ann_, "second", std::nullopt, 20));
  ASSERT_TRUE(found);
  ASSERT_EQ(found.value().items.size(), 1u);
  EXPECT_EQ(found.value().items[0].id, c.id);
}

TEST_P(ChatServiceTest, AMessageMayNameAnotherModelForItsAnswer) {
  auto c = create();
  provider("beta").script(unit::answer({"from beta"}));
  auto sent = send(c.id, "Which model?", std::string(unit::kFallbackModel));
  ASSERT_TRUE(sent.outcome);
  EXPECT_EQ(provider("alpha").calls(), 0u);
  ASSERT_EQ(provider("beta").calls(), 1u);
  EXPECT_EQ(sent.outcome.value().assistant.model, unit::kFallbackModel);
  auto conversation = run(chat().get(ann_, c.id));
  ASSERT_TRUE(conversation);
  EXPECT_EQ(conversation.value().model, unit::kModel);  // the conversation keeps its own
}

TEST_P(ChatServiceTest, BeginSendValidatesBeforeStoringAnything) {
  auto c = create();
  s().config.max_message_chars = 10;
  auto empty = run(chat().begin_send(ann_, c.id, " \n\t", std::string("gpt-nope")));
  ASSERT_TRUE(fails(empty, Code::invalid_argument, "validation_failed"));
  ASSERT_EQ(empty.error().fields.size(), 2u);
  EXPECT_EQ(empty.error().fields[0].field, "content");
  EXPECT_EQ(empty.error().fields[1].field, "model");
  // Characters, not bytes: ten of them in twenty bytes fit.
  auto long_one = run(chat().begin_send(ann_, c.id, "ééééééééééé", std::nullopt));
  ASSERT_TRUE(fails(long_one, Code::invalid_argument));
  EXPECT_EQ(long_one.error().fields.at(0).field, "content");
  EXPECT_TRUE(fails(run(chat().begin_send(ann_, "no-such-id", "hi", std::nullopt)), Code::not_found));
  EXPECT_EQ(count("messages"), 0);
  EXPECT_TRUE(run(chat().begin_send(ann_, c.id, "éééééééééé", std::nullopt)));
}

TEST_P(ChatServiceTest, AProviderFailureLeavesAnErrorAnswerWithTheTextSoFar) {
  auto c = create();
  unit::Reply broken = unit::failure(true, 500);
  broken.deltas = {"Part"};  // text arrived: nothing is retried
  provider("alpha").script(broken);
  auto sent = send(c.id, "Tell me");
  ASSERT_TRUE(sent.outcome);
  EXPECT_EQ(sent.outcome.value().call.outcome.status, llm::Outcome::Status::error);
  EXPECT_EQ(sent.outcome.value().assistant.status, "error");
  EXPECT_EQ(sent.outcome.value().assistant.content, "Part");
  EXPECT_EQ(provider("alpha").calls(), 1u);
  EXPECT_EQ(provider("beta").calls(), 0u);
  auto stored = messages(c.id);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].content, "Tell me");  // the question is kept
  EXPECT_EQ(stored[1].status, "error");
  EXPECT_EQ(stored[1].content, "Part");

  // A failure before any text (not retryable) leaves an empty error answer...
  provider("alpha").script(unit::failure(false, 400));
  auto empty = send(c.id, "Again");
  ASSERT_TRUE(empty.outcome);
  EXPECT_EQ(empty.outcome.value().assistant.status, "error");
  EXPECT_EQ(empty.outcome.value().assistant.content, "");
  EXPECT_EQ(provider("alpha").calls(), 2u);
  // ...which the model does not see later, while the partial one is context the user saw.
  provider("alpha").script(unit::answer({"ok"}));
  ASSERT_TRUE(send(c.id, "Third").outcome);
  EXPECT_EQ(seen(provider("alpha").requests().at(2)),
            (std::vector<std::string>{"user:Tell me", "assistant:Part", "user:Again", "user:Third"}));
}

TEST_P(ChatServiceTest, AFallbackAnswersAfterTheRetriesAndEveryAttemptCountsInUsage) {
  auto c = create();
  provider("alpha").script(unit::failure());
  provider("alpha").script(unit::failure());
  provider("beta").script(unit::answer({"fallback"}, {7, 2}));
  auto sent = send(c.id, "Anyone?");
  ASSERT_TRUE(sent.outcome);
  EXPECT_EQ(sent.outcome.value().assistant.status, "complete");
  EXPECT_EQ(sent.outcome.value().assistant.model, unit::kFallbackModel);
  EXPECT_EQ(sent.outcome.value().assistant.content, "fallback");
  EXPECT_EQ(provider("beta").requests().at(0).model, unit::kFallbackModel);
  auto usage = run(chat().usage(ann_));
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage.value().requests, 3);
  EXPECT_EQ(usage.value().prompt_tokens, 7);
  auto rows = select("SELECT provider, status FROM usage_events ORDER BY provider, status");
  ASSERT_EQ(rows.rows.size(), 3u);
  EXPECT_EQ(rows.rows[0].text(0) + "/" + rows.rows[0].text(1), "alpha/error");
  EXPECT_EQ(rows.rows[1].text(0) + "/" + rows.rows[1].text(1), "alpha/error");
  EXPECT_EQ(rows.rows[2].text(0) + "/" + rows.rows[2].text(1), "beta/complete");
}

TEST_P(ChatServiceTest, AClientThatGoesAwayCancelsTheAnswerAndKeepsItsText) {
  auto c = create();
  provider("alpha").script(unit::answer({"One ", "two ", "three"}));
  auto sent = send(c.id, "Count", std::nullopt, [](int delivered) { return delivered < 2; });
  ASSERT_TRUE(sent.outcome);
  EXPECT_EQ(sent.deltas.size(), 2u);
  EXPECT_EQ(sent.outcome.value().call.outcome.status, llm::Outcome::Status::cancelled);
  EXPECT_EQ(sent.outcome.value().assistant.status, "cancelled");
  EXPECT_EQ(sent.outcome.value().assistant.content, "One two ");
  EXPECT_EQ(provider("alpha").calls(), 1u);  // a cancelled call is not retried
  auto stored = messages(c.id);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[1].status, "cancelled");
  EXPECT_EQ(stored[1].content, "One two ");
}

TEST_P(ChatServiceTest, TheHistoryIsTrimmedOldestFirstToTheContextWindow) {
  // kTinyModel: 200 tokens, a quarter kept for the answer; a message of 196 bytes costs
  // 49 + 4 tokens and the system prompt 3 + 4, so two messages fit beside the prompt.
  auto c = create(Changes().model(unit::kTinyModel).system_prompt("Be brief."));
  provider("alpha").script(unit::answer({std::string(196, 'a')}));
  ASSERT_TRUE(send(c.id, std::string(196, 'u')).outcome);
  provider("alpha").script(unit::answer({std::string(196, 'b')}));
  ASSERT_TRUE(send(c.id, std::string(196, 'v')).outcome);
  provider("alpha").script(unit::answer({"c"}));
  ASSERT_TRUE(send(c.id, std::string(196, 'w')).outcome);

  EXPECT_EQ(seen(provider("alpha").requests().at(2)),
            (std::vector<std::string>{"system:Be brief.", "assistant:" + std::string(196, 'b'),
                                      "user:" + std::string(196, 'w')}));
}

TEST_P(ChatServiceTest, TheDailyQuotaRefusesOnceSpentAndComesBackAtMidnightUtc) {
  s().config.user_token_quota = 100;
  const std::int64_t midnight = unit::kStartMs - unit::kStartMs % kDayMs + kDayMs;
  auto fresh = run(chat().usage(ann_));
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh.value().quota_limit, 100);
  EXPECT_EQ(fresh.value().quota_remaining, 100);
  EXPECT_EQ(fresh.value().quota_resets_at, midnight);

  auto c = create();
  provider("alpha").script(unit::answer({"long answer"}, {60, 50}));
  ASSERT_TRUE(send(c.id, "Spend it").outcome);
  auto spent = run(chat().begin_send(ann_, c.id, "One more", std::nullopt));
  ASSERT_TRUE(fails(spent, Code::rate_limited));
  EXPECT_EQ(spent.error().retry_after_seconds, (midnight - unit::kStartMs) / 1000);
  EXPECT_TRUE(fails(run(chat().begin_completion(ann_, unit::kModel)), Code::rate_limited));
  EXPECT_EQ(messages(c.id).size(), 2u);  // the refused message was not stored
  auto usage = run(chat().usage(ann_));
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage.value().quota_remaining, 0);
  // Another user's quota is their own.
  auto theirs = run(chat().begin_completion(bob_, unit::kModel));
  EXPECT_TRUE(theirs) << unit::describe(theirs.error());

  s().clock.set_ms(midnight);
  auto next_day = run(chat().usage(ann_));
  ASSERT_TRUE(next_day);
  EXPECT_EQ(next_day.value().quota_remaining, 100);
  EXPECT_EQ(next_day.value().quota_resets_at, midnight + kDayMs);
  EXPECT_EQ(next_day.value().prompt_tokens, 60);  // the totals are not daily
  EXPECT_TRUE(run(chat().begin_send(ann_, c.id, "One more", std::nullopt)));
}

TEST_P(ChatServiceTest, UsageBreaksDownByModel) {
  auto c = create();
  provider("alpha").script(unit::answer({"a"}, {10, 1}));
  ASSERT_TRUE(send(c.id, "first").outcome);
  provider("beta").script(unit::answer({"b"}, {20, 2}));
  ASSERT_TRUE(send(c.id, "second", std::string(unit::kFallbackModel)).outcome);

  db::UsageQuery query;
  query.group_by = {db::UsageGroup::model};
  query.from_ms = unit::kStartMs - kDayMs;
  query.to_ms = unit::kStartMs + kDayMs;
  query.user_id = bob_.user_id;  // replaced by the caller's own id
  auto usage = run(chat().usage(ann_, query));
  ASSERT_TRUE(usage) << unit::describe(usage.error());
  ASSERT_EQ(usage.value().breakdown.size(), 2u);
  EXPECT_EQ(usage.value().breakdown[0].keys, std::vector<std::string>{unit::kModel});
  EXPECT_EQ(usage.value().breakdown[0].prompt_tokens, 10);
  EXPECT_EQ(usage.value().breakdown[1].keys, std::vector<std::string>{unit::kFallbackModel});
  EXPECT_EQ(usage.value().breakdown[1].completion_tokens, 2);
  EXPECT_EQ(usage.value().requests, 2);
}

INSTANTIATE_TEST_SUITE_P(Dialects, ChatServiceTest, ::testing::Values(Dialect::sqlite, Dialect::postgres),
                         store::testing::dialect_name);

}  // namespace
}  // namespace chatd::chat
