#include "api/chat.hpp"

#include "api/common.hpp"
#include "api/input.hpp"
#include "api/pagination.hpp"
#include "api/reply.hpp"
#include "api/usage.hpp"
#include "chat/service.hpp"
#include "core/json_writer.hpp"
#include "core/time.hpp"
#include "core/utf8.hpp"
#include "http/problem.hpp"
#include "http/sse.hpp"

#include <memory>

namespace chatd::api {

namespace bhttp = boost::beast::http;
using boost::asio::awaitable;
using http::Context;
using http::Response;
using json = nlohmann::json;

namespace {

json conversation_json(const chat::Conversation& c) {
  json j = json::object();
  j["id"] = c.id;
  j["title"] = c.title;
  j["model"] = c.model;
  j["system_prompt"] = c.system_prompt ? json(*c.system_prompt) : json(nullptr);
  j["created_at"] = format_rfc3339(c.created_at);
  j["updated_at"] = format_rfc3339(c.updated_at);
  j["message_count"] = c.message_count;
  return j;
}

// A page of a list: {items, next_cursor}.
template <class Next>
json page_json(json items, const Next& next) {
  json cursor = nullptr;
  if (next) cursor = encode_cursor(next->first, next->second);
  return {{"items", std::move(items)}, {"next_cursor", cursor}};
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

Result<chat::ConversationChanges> read_conversation_changes(const json& body, std::int64_t max_chars) {
  chat::ConversationChanges out;
  std::vector<FieldError> fields;
  auto text = [&](const char* name, std::size_t max_bytes, bool nullable) -> std::optional<std::optional<std::string>> {
    if (!body.contains(name)) return std::nullopt;
    const auto& v = body[name];
    if (v.is_null() && nullable) return std::optional<std::string>();
    if (!v.is_string()) {
      fields.push_back({name, nullable ? "must be a string or null" : "must be a string"});
      return std::nullopt;
    }
    if (v.get_ref<const std::string&>().size() > max_bytes) {
      fields.push_back({name, "is too long"});
      return std::nullopt;
    }
    return std::optional<std::string>(v.get<std::string>());
  };
  if (auto t = text("title", 800, false)) {
    if (utf8::code_points(**t) > 200) fields.push_back({"title", "must be at most 200 characters"});
    out.title = **t;
  }
  if (auto m = text("model", 400, false)) out.model = **m;
  if (auto s = text("system_prompt", static_cast<std::size_t>(max_chars) * 4, true)) out.system_prompt = *s;
  if (!fields.empty()) return Error::validation(std::move(fields));
  return out;
}

namespace {

bool wants_event_stream(const http::Request& req) {
  auto accept = req.find(bhttp::field::accept);
  return accept != req.end() && accept->value().find("text/event-stream") != std::string_view::npos;
}

json usage_json(const chat::Message& m) {
  if (!m.prompt_tokens && !m.completion_tokens) return nullptr;
  return {{"prompt_tokens", m.prompt_tokens.value_or(0)}, {"completion_tokens", m.completion_tokens.value_or(0)}};
}

// The error a failed answer reports: 504 upstream_timeout or 502 upstream_error.
Error answer_error(const llm::Outcome& o) {
  if (o.status == llm::Outcome::Status::timeout)
    return fail(Code::timeout, o.detail.empty() ? "the model did not answer in time" : o.detail, "upstream_timeout");
  return fail(Code::upstream, o.detail.empty() ? "the model provider failed" : o.detail, "upstream_error");
}

// The stream's last event, after `pending` (what is still to be written): "done" with the
// stored answer, or "error".
std::string& last_event(const Status& stored, const chat::SendOutcome& done, std::string& pending) {
  json payload = json::object();
  const llm::Outcome& o = done.call.outcome;
  if (!stored) {
    payload["code"] = "internal_error";
    payload["detail"] = "the answer could not be stored";
    pending += http::sse_format("error", dump(payload));
  } else if (o.status == llm::Outcome::Status::complete) {
    payload["message"] = message_json(done.assistant);
    payload["usage"] = {{"prompt_tokens", o.usage.prompt_tokens}, {"completion_tokens", o.usage.completion_tokens}};
    pending += http::sse_format("done", dump(payload));
  } else {
    Error e = answer_error(o);
    payload["code"] = e.reason;
    payload["detail"] = e.detail;
    payload["message"] = message_json(done.assistant);
    pending += http::sse_format("error", dump(payload));
  }
  return pending;
}

awaitable<void> stream_answer(chat::Service& chat, std::shared_ptr<chat::PendingSend> pending,
                              http::ResponseStream& out) {
  std::string first = http::sse_format("message", dump(message_json(pending->user_message)));
  co_await out.write(first);
  llm::Cancellation cancel;
  out.on_close([&cancel] { cancel.cancel(); });
  struct Stream {
    http::ResponseStream* out;
    // Events of deltas that came together (Delta::more) are sent in one write; released
    // after each write, so that an idle stream holds no buffer.
    std::string event = {};
  } s{&out};
  // One pointer captured: the std::function needs no allocation of its own.
  const llm::DeltaFn on_delta = [st = &s](const llm::Delta& delta) -> awaitable<bool> {
    const std::string_view text = delta.text;
    if (!text.empty()) {  // (a conversation's request offers no tools to call)
      std::string data;
      data.reserve(text.size() + 16);
      JsonWriter(data).begin_object().key("text").string(text).end_object();
      st->event += http::sse_format("delta", data);
    }
    if (delta.more || st->event.empty()) co_return true;
    const bool written = co_await st->out->write(st->event);
    st->event = std::string();
    co_return written;
  };
  chat::SendOutcome done;
  const Status stored = co_await chat.finish_send(*pending, on_delta, cancel, done);
  out.on_close({});
  if (out.closed()) co_return;
  co_await out.write(last_event(stored, done, s.event));
}

}  // namespace

json message_json(const chat::Message& m) {
  json j = json::object();
  j["id"] = m.id;
  j["role"] = m.role;
  j["content"] = m.content;
  j["model"] = m.model ? json(*m.model) : json(nullptr);
  j["status"] = m.status;
  j["created_at"] = format_rfc3339(m.created_at);
  j["usage"] = usage_json(m);
  return j;
}

HandlerResult list_models(const Services& s, Context&) {
  json items = json::array();
  for (const auto& m : s.chat.gateway().models()) {
    if (m.embedding) continue;  // conversations need a chat model; /v1/models lists every one
    json item = {{"id", m.id}, {"provider", m.provider}, {"context_window", m.context_window}};
    if (m.demo) {
      item["demo"] = true;
      item["description"] =
          "Built-in demo model: canned answers, no AI. Configure a provider to chat with a real model.";
    }
    items.push_back(std::move(item));
  }
  json body = {{"items", items}};
  body["default_model"] = s.chat.gateway().default_model();
  co_return http::json_response(bhttp::status::ok, body);
}

HandlerResult create_conversation(const Services& s, Context& ctx) {
  auto changes = read_conversation_changes(ctx.body, s.chat.config().max_message_chars);
  if (!changes) co_return http::error_response(ctx, changes.error());
  co_return reply(ctx, co_await s.chat.create(*ctx.principal, std::move(changes).value()),
                  [](const chat::Conversation& c) {
                    Response res = http::json_response(bhttp::status::created, conversation_json(c));
                    res.set(bhttp::field::location, "/conversations/" + c.id);
                    return res;
                  });
}

HandlerResult list_conversations(const Services& s, Context& ctx) {
  auto page = page_request(ctx);
  if (!page) co_return http::error_response(ctx, page.error());
  std::string q = ctx.query_param("q").value_or("");
  co_return reply_json(ctx, bhttp::status::ok,
                       co_await s.chat.list(*ctx.principal, q, page.value().after, page.value().limit),
                       [](const auto& list) {
                         json items = json::array();
                         for (const auto& c : list.items) items.push_back(conversation_json(c));
                         return page_json(std::move(items), list.next);
                       });
}

HandlerResult get_conversation(const Services& s, Context& ctx) {
  co_return reply_json(ctx, bhttp::status::ok, co_await s.chat.get(*ctx.principal, ctx.params.get("id")),
                       conversation_json);
}

HandlerResult update_conversation(const Services& s, Context& ctx) {
  auto changes = read_conversation_changes(ctx.body, s.chat.config().max_message_chars);
  if (!changes) co_return http::error_response(ctx, changes.error());
  co_return reply_json(ctx, bhttp::status::ok,
                       co_await s.chat.update(*ctx.principal, ctx.params.get("id"), std::move(changes).value()),
                       conversation_json);
}

HandlerResult delete_conversation(const Services& s, Context& ctx) {
  co_return reply_no_content(ctx, co_await s.chat.remove(*ctx.principal, ctx.params.get("id")));
}

HandlerResult list_messages(const Services& s, Context& ctx) {
  auto page = page_request(ctx);
  if (!page) co_return http::error_response(ctx, page.error());
  // ?order=desc pages from the newest message back: how a client opens a long conversation
  // at its end and loads older messages as the user scrolls up.
  auto order_param = ctx.query_param("order").value_or("asc");
  if (order_param != "asc" && order_param != "desc")
    co_return http::error_response(ctx, Error::validation({{"order", R"(must be "asc" or "desc")"}}));
  auto order = order_param == "desc" ? chat::MessageOrder::newest_first : chat::MessageOrder::oldest_first;
  co_return reply_json(
      ctx, bhttp::status::ok,
      co_await s.chat.messages(*ctx.principal, ctx.params.get("id"), page.value().after, page.value().limit, order),
      [](const auto& list) {
        json items = json::array();
        for (const auto& m : list.items) items.push_back(message_json(m));
        return page_json(std::move(items), list.next);
      });
}

// JSON by default: the answer as one response once it is complete. With Accept:
// text/event-stream: the events of API.md as the answer is written.
HandlerResult send_message(const Services& s, Context& ctx) {
  chat::Service& svc = s.chat;
  BodyReader in(ctx.body);
  std::string content = in.required_string("content", std::size_t{4} * 1024 * 1024);
  auto model = in.optional_string("model", 400);
  if (auto st = in.finish(); !st) co_return http::error_response(ctx, st.error());
  auto pending = co_await svc.begin_send(*ctx.principal, ctx.params.get("id"), std::move(content), std::move(model));
  if (!pending) co_return http::error_response(ctx, pending.error());
  if (!wants_event_stream(ctx.req)) {
    llm::Cancellation cancel;
    llm::DeltaFn ignore = [](const llm::Delta&) -> awaitable<bool> { co_return true; };
    chat::SendOutcome done;
    const Status stored = co_await svc.finish_send(pending.value(), ignore, cancel, done);
    if (!stored) co_return http::error_response(ctx, stored.error());
    if (done.call.outcome.status != llm::Outcome::Status::complete) {
      Error e = answer_error(done.call.outcome);
      e.internal = done.call.outcome.internal;
      co_return http::error_response(ctx, e);
    }
    json body = {{"user_message", message_json(pending.value().user_message)},
                 {"assistant_message", message_json(done.assistant)}};
    co_return http::json_response(bhttp::status::created, body);
  }
  auto shared = std::make_shared<chat::PendingSend>(std::move(pending).value());
  Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "text/event-stream");
  res.set(bhttp::field::cache_control, "no-cache");
  res.set("X-Accel-Buffering", "no");  // nginx: pass events through at once
  res.heartbeat = http::sse_comment("keep-alive");
  res.heartbeat_interval = std::chrono::milliseconds(svc.config().sse_heartbeat_ms);
  res.stream = [&svc, shared](http::ResponseStream& out) { return stream_answer(svc, shared, out); };
  co_return res;
}

// With group_by, also a breakdown of the chosen range (docs/chat.md).
HandlerResult own_usage(const Services& s, Context& ctx) {
  auto query = read_usage_query(ctx, {.allow_user = false, .fallback = std::nullopt}, system_now_ms());
  if (!query) co_return http::error_response(ctx, query.error());
  std::optional<chat::db::UsageQuery> breakdown;
  if (!query.value().group_by.empty()) breakdown = query.value();
  co_return reply_json(ctx, bhttp::status::ok, co_await s.chat.usage(*ctx.principal, breakdown),
                       [&breakdown](const chat::UsageView& u) {
                         json quota = nullptr;
                         if (u.quota_limit)
                           quota = {{"limit", *u.quota_limit},
                                    {"remaining", *u.quota_remaining},
                                    {"resets_at", format_rfc3339(*u.quota_resets_at)}};
                         json body = {{"requests", u.requests},
                                      {"prompt_tokens", u.prompt_tokens},
                                      {"completion_tokens", u.completion_tokens},
                                      {"cost_usd", u.cost_usd},
                                      {"quota", quota}};
                         if (breakdown) body["items"] = usage_items(u.breakdown, *breakdown);
                         return body;
                       });
}

}  // namespace chatd::api
