#include "chat/service.hpp"

#include "chat/history.hpp"
#include "chat/store.hpp"
#include "core/async.hpp"
#include "core/ids.hpp"
#include "core/utf8.hpp"

namespace chatd::chat {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

constexpr std::int64_t kDayMs = 86400000;
constexpr std::size_t kTitleMaxChars = 200;
constexpr std::size_t kAutoTitleChars = 60;
// History read from the database before trimming to the context window.
constexpr int kHistoryMessages = 400;

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// The first `max` code points of the first line, for a conversation's automatic title.
std::string title_from(std::string_view content) {
  auto start = content.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  content.remove_prefix(start);
  content = content.substr(0, content.find_first_of("\r\n"));
  std::string out(utf8::prefix_points(content, kAutoTitleChars));
  const bool cut = out.size() < content.size();
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  if (cut) out += "…";
  return out;
}

}  // namespace

Result<std::string> Service::resolve_model(const std::optional<std::string>& requested, const char* field) const {
  if (requested) {
    if (!chat_model(*requested))
      return Error::validation(
          {{field, "unknown model \"" + requested->substr(0, 100) + "\"; GET /models lists them"}});
    return *requested;
  }
  std::string fallback = d_.gateway.default_model();
  if (fallback.empty() || !chat_model(fallback)) {
    Error e = fail(Code::unavailable, "no model is available yet; try again shortly");
    e.retry_after_seconds = 5;
    return e;
  }
  return fallback;
}

awaitable<Result<Conversation>> Service::create(const Principal& who, ConversationChanges input) {
  std::vector<FieldError> fields;
  if (input.title && utf8::code_points(*input.title) > kTitleMaxChars)
    fields.push_back({"title", "must be at most 200 characters"});
  if (input.system_prompt && *input.system_prompt &&
      utf8::code_points(**input.system_prompt) > static_cast<std::size_t>(d_.config.max_message_chars))
    fields.push_back(
        {"system_prompt", "must be at most " + std::to_string(d_.config.max_message_chars) + " characters"});
  std::string model;
  if (auto m = resolve_model(input.model, "model"); !m) {
    if (m.error().fields.empty()) co_return m.error();
    for (auto& f : m.error().fields) fields.push_back(f);
  } else {
    model = m.value();
  }
  if (!fields.empty()) co_return Error::validation(std::move(fields));

  Conversation conv;
  conv.created_at = conv.updated_at = d_.clock.now_ms();
  conv.id = new_uuid_v7(conv.created_at);
  conv.user_id = who.user_id;
  conv.title = input.title.value_or("");
  conv.model = model;
  if (input.system_prompt) conv.system_prompt = *input.system_prompt;
  auto st = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) { return db::insert_conversation(c, conv); });
  });
  if (!st) co_return st.error();
  co_return conv;
}

awaitable<Result<Conversation>> Service::get(const Principal& who, const std::string& id) {
  auto found = co_await run_blocking(d_.db_pool, [&]() -> Result<std::optional<Conversation>> {
    return store::read(d_.db, [&](store::Connection& c) { return db::find_conversation(c, who.user_id, id); });
  });
  if (!found) co_return found.error();
  if (!found.value()) co_return fail(Code::not_found, "no such conversation");
  co_return std::move(*found.value());
}

awaitable<Result<Conversation>> Service::update(const Principal& who, const std::string& id,
                                                ConversationChanges changes) {
  std::vector<FieldError> fields;
  if (changes.title && utf8::code_points(*changes.title) > kTitleMaxChars)
    fields.push_back({"title", "must be at most 200 characters"});
  if (changes.system_prompt && *changes.system_prompt &&
      utf8::code_points(**changes.system_prompt) > static_cast<std::size_t>(d_.config.max_message_chars))
    fields.push_back(
        {"system_prompt", "must be at most " + std::to_string(d_.config.max_message_chars) + " characters"});
  if (changes.model && !chat_model(*changes.model))
    fields.push_back({"model", "unknown model \"" + changes.model->substr(0, 100) + "\"; GET /models lists them"});
  if (!fields.empty()) co_return Error::validation(std::move(fields));
  std::int64_t now = d_.clock.now_ms();
  auto updated = co_await run_blocking(d_.db_pool, [&]() -> Result<std::optional<Conversation>> {
    return store::transact(d_.db, [&](store::Connection& c) {
      return db::update_conversation(c, who.user_id, id, changes.title, changes.model, changes.system_prompt, now);
    });
  });
  if (!updated) co_return updated.error();
  if (!updated.value()) co_return fail(Code::not_found, "no such conversation");
  co_return std::move(*updated.value());
}

awaitable<Status> Service::remove(const Principal& who, const std::string& id) {
  std::int64_t now = d_.clock.now_ms();
  auto removed = co_await run_blocking(d_.db_pool, [&]() -> Result<bool> {
    return store::transact(d_.db,
                           [&](store::Connection& c) { return db::soft_delete_conversation(c, who.user_id, id, now); });
  });
  if (!removed) co_return removed.error();
  if (!removed.value()) co_return fail(Code::not_found, "no such conversation");
  co_return ok();
}

awaitable<Result<Page<Conversation>>> Service::list(const Principal& who, std::string q,
                                                    std::optional<std::pair<std::int64_t, std::string>> after,
                                                    int limit) {
  if (utf8::code_points(q) > 200) co_return Error::validation({{"q", "must be at most 200 characters"}});
  auto rows = co_await run_blocking(d_.db_pool, [&]() -> Result<std::vector<Conversation>> {
    return store::read(d_.db, [&](store::Connection& c) {
      return db::list_conversations(c, d_.db.dialect(), who.user_id, q, after, limit + 1);
    });
  });
  if (!rows) co_return rows.error();
  Page<Conversation> page;
  page.items = std::move(rows).value();
  if (page.items.size() > static_cast<std::size_t>(limit)) {
    page.items.resize(static_cast<std::size_t>(limit));
    page.next = std::make_pair(page.items.back().updated_at, page.items.back().id);
  }
  co_return page;
}

awaitable<Result<Page<Message>>> Service::messages(const Principal& who, const std::string& conversation_id,
                                                   std::optional<std::pair<std::int64_t, std::string>> after, int limit,
                                                   MessageOrder order) {
  auto rows = co_await run_blocking(d_.db_pool, [&]() -> Result<std::optional<std::vector<Message>>> {
    return store::read(d_.db, [&](store::Connection& c) -> Result<std::optional<std::vector<Message>>> {
      auto conv = db::find_conversation(c, who.user_id, conversation_id);
      if (!conv) return conv.error();
      if (!conv.value()) return std::optional<std::vector<Message>>();
      auto list = db::list_messages(c, who.user_id, conversation_id, after, limit + 1, order);
      if (!list) return list.error();
      return std::optional<std::vector<Message>>(std::move(list).value());
    });
  });
  if (!rows) co_return rows.error();
  if (!rows.value()) co_return fail(Code::not_found, "no such conversation");
  Page<Message> page;
  page.items = std::move(*rows.value());
  if (page.items.size() > static_cast<std::size_t>(limit)) {
    page.items.resize(static_cast<std::size_t>(limit));
    page.next = std::make_pair(page.items.back().created_at, page.items.back().id);
  }
  co_return page;
}

awaitable<Status> Service::check_quota(const Principal& who) {
  if (d_.config.user_token_quota <= 0) co_return ok();
  std::int64_t now = d_.clock.now_ms();
  std::int64_t day_start = now - now % kDayMs;
  auto used = co_await run_blocking(d_.db_pool, [&]() -> Result<std::int64_t> {
    return store::read(d_.db, [&](store::Connection& c) { return db::tokens_used(c, who.user_id, day_start); });
  });
  if (!used) co_return used.error();
  if (used.value() >= d_.config.user_token_quota) {
    Error e = fail(Code::rate_limited, "the daily token quota of " + std::to_string(d_.config.user_token_quota) +
                                           " tokens is spent; it resets at 00:00 UTC");
    e.retry_after_seconds = (day_start + kDayMs - now + 999) / 1000;
    co_return e;
  }
  co_return ok();
}

awaitable<Result<PendingSend>> Service::begin_send(const Principal& who, const std::string& conversation_id,
                                                   std::string content, std::optional<std::string> model) {
  std::vector<FieldError> fields;
  if (blank(content))
    fields.push_back({"content", "must not be empty"});
  else if (utf8::code_points(content) > static_cast<std::size_t>(d_.config.max_message_chars))
    fields.push_back({"content", "must be at most " + std::to_string(d_.config.max_message_chars) + " characters"});
  if (model && !chat_model(*model))
    fields.push_back({"model", "unknown model \"" + model->substr(0, 100) + "\"; GET /models lists them"});
  if (!fields.empty()) co_return Error::validation(std::move(fields));

  auto conv = co_await get(who, conversation_id);
  if (!conv) co_return conv.error();
  if (auto st = co_await check_quota(who); !st) co_return st.error();

  PendingSend p;
  p.who = who;
  p.conversation = std::move(conv).value();
  std::string model_id = model.value_or(p.conversation.model);
  auto info = chat_model(model_id);
  if (!info) {
    // The conversation's model was removed from the configuration since.
    co_return Error::validation({{"model", "the conversation's model \"" + model_id.substr(0, 100) +
                                               "\" is no longer available; choose another"}});
  }
  p.model = *info;

  std::int64_t now = d_.clock.now_ms();
  p.user_message.id = new_uuid_v7(now);
  p.user_message.conversation_id = p.conversation.id;
  p.user_message.user_id = who.user_id;
  p.user_message.role = "user";
  p.user_message.content = std::move(content);
  p.user_message.status = "complete";
  p.user_message.created_at = now;
  std::optional<std::string> new_title;
  if (p.conversation.title.empty()) new_title = title_from(p.user_message.content);

  auto history = co_await run_blocking(d_.db_pool, [&]() -> Result<std::vector<Message>> {
    return store::transact(d_.db, [&](store::Connection& c) -> Result<std::vector<Message>> {
      auto stored = db::insert_message(c, p.user_message);
      if (!stored) return stored.error();
      p.user_message.created_at = stored.value();
      if (new_title) {
        auto renamed = db::update_conversation(c, who.user_id, p.conversation.id, new_title, std::nullopt, std::nullopt,
                                               p.user_message.created_at);
        if (!renamed) return renamed.error();
        if (renamed.value()) p.conversation = *renamed.value();
      }
      return db::recent_messages(c, p.conversation.id, kHistoryMessages);
    });
  });
  if (!history) co_return history.error();

  std::vector<llm::ChatMessage> turns;
  for (const auto& m : history.value()) {
    // A failed or cancelled answer is still context the user saw, unless it is empty.
    if (m.role == "assistant" && m.content.empty()) continue;
    turns.push_back({m.role, m.content});
  }
  if (turns.empty() || turns.back().content != p.user_message.content)
    turns.push_back({"user", p.user_message.content});
  p.request.messages =
      fit_history(p.conversation.system_prompt, turns, p.model.context_window, p.model.max_output_tokens);
  p.request.stream = true;
  co_return p;
}

std::vector<UsageEvent> Service::usage_events(const Principal& who, const std::optional<std::string>& conversation_id,
                                              const llm::GatewayResult& result) const {
  std::vector<UsageEvent> events;
  events.reserve(result.attempts.size());
  for (const auto& a : result.attempts) {
    UsageEvent& e = events.emplace_back();
    e.created_at = d_.clock.now_ms();
    e.id = new_uuid_v7(e.created_at);
    e.user_id = who.user_id;
    if (!who.api_key_id.empty()) e.api_key_id = who.api_key_id;
    e.conversation_id = conversation_id;
    e.provider = a.provider;
    e.model = a.model;
    e.prompt_tokens = a.usage.prompt_tokens;
    e.completion_tokens = a.usage.completion_tokens;
    e.cost_usd = a.cost_usd;
    e.latency_ms = a.latency_ms;
    e.status = llm::status_name(a.status);
  }
  return events;
}

awaitable<Status> Service::finish_send(PendingSend& p, const llm::DeltaFn& on_delta, llm::Cancellation& cancel,
                                       SendOutcome& out) {
  co_await d_.gateway.complete(p.model.id, p.request, on_delta, cancel, out.call);
  const llm::GatewayResult& result = out.call;
  Message& a = out.assistant;
  a.created_at = d_.clock.now_ms();
  a.id = new_uuid_v7(a.created_at);
  a.conversation_id = p.conversation.id;
  a.user_id = p.who.user_id;
  a.role = "assistant";
  a.content = result.outcome.text;
  a.model = result.model.empty() ? p.model.id : result.model;
  a.status = result.outcome.status == llm::Outcome::Status::complete    ? "complete"
             : result.outcome.status == llm::Outcome::Status::cancelled ? "cancelled"
                                                                        : "error";
  if (!result.attempts.empty()) {
    a.prompt_tokens = result.outcome.usage.prompt_tokens;
    a.completion_tokens = result.outcome.usage.completion_tokens;
  }
  // The answer and its usage events in one transaction: the answer is the user's data, so
  // the request waits for it (and its usage) to be stored.
  std::vector<UsageEvent> events = usage_events(p.who, p.conversation.id, result);
  auto stored = co_await run_blocking(d_.db_pool, [&]() -> Result<std::int64_t> {
    return store::transact(d_.db, [&](store::Connection& c) -> Result<std::int64_t> {
      auto at = db::insert_message(c, a);
      if (!at) return at.error();
      for (const auto& e : events) {
        if (auto st = db::insert_usage_event(c, e); !st) return st.error();
      }
      return at.value();
    });
  });
  if (!stored) {
    d_.log.error("chat.answer_not_stored")
        .str("conversation_id", p.conversation.id)
        .str("error", stored.error().internal.empty() ? stored.error().detail : stored.error().internal);
    co_return stored.error();
  }
  a.created_at = stored.value();
  co_return ok();
}

std::optional<llm::ModelInfo> Service::chat_model(const std::string& id) const {
  auto info = d_.gateway.find(id);
  if (info && info->embedding) return std::nullopt;
  return info;
}

Result<llm::ModelInfo> Service::completion_model(const std::string& model, bool embedding) const {
  auto info = d_.gateway.find(model);
  if (!info) return Error::validation({{"model", "The model `" + model.substr(0, 100) + "` does not exist"}});
  if (info->embedding != embedding) {
    return Error::validation({{"model", "The model `" + model.substr(0, 100) + "` is " +
                                            (info->embedding ? "an embedding model: use /v1/embeddings"
                                                             : "a chat model: use /v1/chat/completions")}});
  }
  return std::move(*info);
}

awaitable<Result<llm::ModelInfo>> Service::begin_completion(const Principal& who, const std::string& model,
                                                            bool embedding) {
  auto info = completion_model(model, embedding);
  if (!info) co_return info.error();
  if (quota_applies()) {
    if (auto st = co_await check_quota(who); !st) co_return st.error();
  }
  co_return info;
}

awaitable<void> Service::complete(const Principal& who, const llm::ModelInfo& model, llm::ChatRequest& request,
                                  const llm::DeltaFn& on_delta, llm::Cancellation& cancel, llm::GatewayResult& result) {
  co_await d_.gateway.complete(model.id, request, on_delta, cancel, result);
  co_await record_usage(who, result);
}

awaitable<void> Service::record_usage(const Principal& who, const llm::GatewayResult& result) {
  std::vector<UsageEvent> events = usage_events(who, std::nullopt, result);
  if (recorder_.record(events)) co_return;
  // The recorder's queue is full: write them here, with a transaction's worth of the queued
  // ones, waiting (backpressure, not loss).
  auto written = co_await run_blocking(d_.db_pool, [&]() { return recorder_.write_with_queued(events); });
  if (!written) {
    d_.log.error("chat.usage_not_stored")
        .str("user_id", who.user_id)
        .str("error", written.error().internal.empty() ? written.error().detail : written.error().internal);
  }
}

awaitable<llm::GatewayResult> Service::embed(const Principal& who, const llm::ModelInfo& model,
                                             llm::EmbeddingRequest request, llm::Cancellation& cancel) {
  llm::GatewayResult result = co_await d_.gateway.embed(model.id, std::move(request), cancel);
  co_await record_usage(who, result);
  co_return result;
}

awaitable<Result<UsageView>> Service::usage(const Principal& who, std::optional<db::UsageQuery> breakdown) {
  std::int64_t now = d_.clock.now_ms();
  std::int64_t day_start = now - now % kDayMs;
  if (breakdown) breakdown->user_id = who.user_id;
  std::vector<db::UsageTotals> rows;
  auto summary = co_await run_blocking(d_.db_pool, [&]() -> Result<std::pair<UsageSummary, std::int64_t>> {
    return store::read(d_.db, [&](store::Connection& c) -> Result<std::pair<UsageSummary, std::int64_t>> {
      auto all = db::usage_summary(c, who.user_id, 0, now + 1);
      if (!all) return all.error();
      auto today = db::tokens_used(c, who.user_id, day_start);
      if (!today) return today.error();
      if (breakdown) {
        auto totals = db::usage_totals(c, *breakdown);
        if (!totals) return totals.error();
        rows = std::move(totals).value();
      }
      return std::make_pair(all.value(), today.value());
    });
  });
  if (!summary) co_return summary.error();
  const auto& [all, today] = summary.value();
  UsageView v;
  v.requests = all.requests;
  v.prompt_tokens = all.prompt_tokens;
  v.completion_tokens = all.completion_tokens;
  v.cost_usd = all.cost_usd;
  v.breakdown = std::move(rows);
  if (d_.config.user_token_quota > 0) {
    v.quota_limit = d_.config.user_token_quota;
    v.quota_remaining = std::max<std::int64_t>(0, d_.config.user_token_quota - today);
    v.quota_resets_at = day_start + kDayMs;
  }
  co_return v;
}

}  // namespace chatd::chat
