#include "api/openai.hpp"

#include "core/ids.hpp"
#include "core/json_writer.hpp"
#include "core/time.hpp"
#include "crypto/encoding.hpp"
#include "http/problem.hpp"
#include "http/sse.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>

namespace chatd::api {

namespace bhttp = boost::beast::http;
using boost::asio::awaitable;
using http::Context;
using http::Response;
using json = nlohmann::json;

namespace {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void write_usage(JsonWriter& w, const llm::Usage& u) {
  w.begin_object()
      .key("prompt_tokens")
      .number(u.prompt_tokens)
      .key("completion_tokens")
      .number(u.completion_tokens)
      .key("total_tokens")
      .number(u.prompt_tokens + u.completion_tokens);
  if (u.cached_tokens)
    w.key("prompt_tokens_details").begin_object().key("cached_tokens").number(*u.cached_tokens).end_object();
  if (u.reasoning_tokens)
    w.key("completion_tokens_details").begin_object().key("reasoning_tokens").number(*u.reasoning_tokens).end_object();
  w.end_object();
}

std::string finish_reason(const llm::Outcome& o) {
  if (!o.finish_reason.empty()) return o.finish_reason;
  return o.tool_calls.empty() ? "stop" : "tool_calls";
}

// The members every chunk and completion starts with.
void write_head(JsonWriter& w, const CompletionCall& call, std::string_view object) {
  w.key("id").string(call.id).key("object").string(object).key("created").number(call.created);
  w.key("model").string(call.model.id);
}

// One stream event, "data: {chunk}\n\n", appended to `out`. The chunk's single choice has a
// delta of `content` (and "role": "assistant" for the first one), and a finish reason only
// in the last.
struct ChunkDelta {
  bool role = false;
  std::optional<std::string_view> content;
  std::optional<std::string_view> finish_reason;
  const llm::ToolCallDelta* tool_call = nullptr;  // as OpenAI streams one: id, type and name
                                                  // in its first piece, arguments in all
};
void append_chunk(std::string& out, const CompletionCall& call, const ChunkDelta& d) {
  out += "data: ";
  JsonWriter w(out);
  w.begin_object();
  write_head(w, call, "chat.completion.chunk");
  w.key("choices").begin_array().begin_object().key("index").number(std::int64_t{0}).key("delta").begin_object();
  if (d.role) w.key("role").string("assistant");
  if (d.content) w.key("content").string(*d.content);
  if (d.tool_call) {
    const llm::ToolCallDelta& t = *d.tool_call;
    w.key("tool_calls").begin_array().begin_object().key("index").number(static_cast<std::int64_t>(t.index));
    if (!t.id.empty()) w.key("id").string(t.id).key("type").string("function");
    w.key("function").begin_object();
    if (!t.name.empty()) w.key("name").string(t.name);
    w.key("arguments").string(t.arguments).end_object().end_object().end_array();
  }
  w.end_object().key("logprobs").null().key("finish_reason");
  if (d.finish_reason)
    w.string(*d.finish_reason);
  else
    w.null();
  w.end_object().end_array().end_object();
  out += "\n\n";
}

// The last stream event when the client asked for usage: no choices, the usage.
void append_usage_chunk(std::string& out, const CompletionCall& call, const llm::Usage& usage) {
  out += "data: ";
  JsonWriter w(out);
  w.begin_object();
  write_head(w, call, "chat.completion.chunk");
  w.key("choices").begin_array().end_array().key("usage");
  write_usage(w, usage);
  w.end_object();
  out += "\n\n";
}

// 422 for a request the provider cannot take as written, else 504 or 502 as OpenAI's proxies answer.
bhttp::status error_status(const llm::Outcome& o) {
  if (o.invalid_request) return bhttp::status::unprocessable_entity;
  return o.status == llm::Outcome::Status::timeout ? bhttp::status::gateway_timeout : bhttp::status::bad_gateway;
}

std::string data_line(const json& j) { return "data: " + dump(j) + "\n\n"; }

json error_body(const llm::Outcome& o) {
  bool timeout = o.status == llm::Outcome::Status::timeout;
  json e = json::object();
  if (o.invalid_request) {
    // As the other validation errors of /v1: the messages cannot be put to this model.
    e["message"] = o.param.empty() ? o.detail : o.param + ": " + o.detail;
    e["type"] = "invalid_request_error";
    e["param"] = o.param.empty() ? "messages" : o.param;
    e["code"] = "validation_failed";
    return {{"error", e}};
  }
  e["message"] =
      o.detail.empty() ? (timeout ? "the model did not answer in time" : "the model provider failed") : o.detail;
  e["type"] = "api_error";
  e["param"] = nullptr;
  e["code"] = timeout ? "upstream_timeout" : "upstream_error";
  return {{"error", e}};
}

awaitable<void> stream_completion(chat::Service& chat, std::shared_ptr<CompletionCall> call,
                                  http::ResponseStream& out) {
  llm::Cancellation cancel;
  out.on_close([&cancel] { cancel.cancel(); });
  struct Stream {
    const CompletionCall* call;
    http::ResponseStream* out;
    bool started = false;
    // Chunks of deltas that came together (Delta::more) are sent in one write; released
    // after each write, so that an idle stream holds no buffer.
    std::string frames = {};
  } s{call.get(), &out};
  // One pointer captured: the std::function needs no allocation of its own.
  const llm::DeltaFn on_delta = [st = &s](const llm::Delta& delta) -> awaitable<bool> {
    if (!st->started) {
      st->started = true;
      append_chunk(st->frames, *st->call, {true, "", std::nullopt});
    }
    if (delta.tool_call != nullptr) {
      append_chunk(st->frames, *st->call, {false, std::nullopt, std::nullopt, delta.tool_call});
    } else if (!delta.text.empty()) {
      append_chunk(st->frames, *st->call, {false, delta.text, std::nullopt});
    }
    if (delta.more || st->frames.empty()) co_return true;
    const bool written = co_await st->out->write(st->frames);
    st->frames = std::string();
    co_return written;
  };
  llm::GatewayResult result;
  co_await chat.complete(call->who, call->model, call->request, on_delta, cancel, result);
  out.on_close({});
  if (out.closed()) co_return;
  const bool started = s.started;
  std::string& frames = s.frames;
  const llm::Outcome& o = result.outcome;
  if (o.status != llm::Outcome::Status::complete) {
    if (!started) {
      // Nothing streamed yet: a real HTTP error, as OpenAI answers one.
      out.respond_instead(error_status(o), "application/json", dump(error_body(o)));
      co_return;
    }
    // Mid-stream: OpenAI's clients raise an error for a data event holding "error".
    frames += data_line(error_body(o));
    co_await out.write(frames);
    co_return;
  }
  if (!started) append_chunk(frames, *call, {true, "", std::nullopt});
  append_chunk(frames, *call, {false, std::nullopt, finish_reason(o)});
  if (call->include_usage) append_usage_chunk(frames, *call, o.usage);
  frames += "data: [DONE]\n\n";
  co_await out.write(frames);
}

// The non-streaming answer: a chat.completion object.
Response completion_response(const CompletionCall& call, const llm::Outcome& o) {
  Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "application/json");
  std::string& body = res.body();
  body.reserve(256 + o.text.size());
  JsonWriter w(body);
  w.begin_object();
  write_head(w, call, "chat.completion");
  w.key("choices").begin_array().begin_object().key("index").number(std::int64_t{0});
  w.key("message").begin_object().key("role").string("assistant").key("content");
  if (o.text.empty() && !o.tool_calls.empty())
    w.null();
  else
    w.string(o.text);
  if (!o.tool_calls.empty()) {
    w.key("tool_calls").begin_array();
    for (const auto& c : o.tool_calls) {
      w.begin_object().key("id").string(c.id).key("type").string("function").key("function").begin_object();
      w.key("name").string(c.name).key("arguments").string(c.arguments).end_object().end_object();
    }
    w.end_array();
  }
  w.key("refusal").null().end_object();
  w.key("logprobs").null().key("finish_reason").string(finish_reason(o)).end_object().end_array();
  w.key("usage");
  write_usage(w, o.usage);
  w.end_object();
  return res;
}

}  // namespace

HandlerResult openai_models(const Services& s, Context&) {
  json data = json::array();
  for (const auto& m : s.chat.gateway().models())
    data.push_back({{"id", m.id}, {"object", "model"}, {"created", 0}, {"owned_by", m.provider}});
  co_return http::json_response(bhttp::status::ok, {{"object", "list"}, {"data", data}});
}

namespace {

// A vector as OpenAI writes it: float32 values as JSON numbers in their shortest form, or with
// base64 the little-endian float32 bytes.
void write_vector(JsonWriter& w, const std::vector<float>& v, bool base64) {
  if (base64) {
    std::string bytes(v.size() * 4, '\0');
    for (std::size_t i = 0; i < v.size(); ++i) {
      std::uint32_t bits = 0;
      std::memcpy(&bits, &v[i], 4);
      for (int b = 0; b < 4; ++b)
        bytes[i * 4 + static_cast<std::size_t>(b)] = static_cast<char>((bits >> (8 * b)) & 0xff);
    }
    w.string(crypto::base64_encode(bytes));
    return;
  }
  std::string numbers = "[";
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i != 0) numbers += ',';
    const float x = std::isfinite(v[i]) ? v[i] : 0.0F;
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
    numbers.append(buf, ec == std::errc() ? end : buf);
  }
  numbers += ']';
  w.raw(numbers);
}

}  // namespace

HandlerResult embeddings(const Services& s, Context& ctx) {
  chat::Service& svc = s.chat;
  auto call = read_embedding_request(ctx.body, {svc.config().max_message_chars, svc.config().max_image_bytes});
  if (!call) co_return http::error_response(ctx, call.error());
  auto model = co_await svc.begin_completion(*ctx.principal, call.value().request.model, /*embedding=*/true);
  if (!model) co_return http::error_response(ctx, model.error());
  llm::Cancellation cancel;
  const bool base64 = call.value().base64;
  llm::GatewayResult result =
      co_await svc.embed(*ctx.principal, model.value(), std::move(call.value().request), cancel);
  const llm::Outcome& o = result.outcome;
  if (o.status != llm::Outcome::Status::complete) {
    ctx.error_note = o.internal;
    co_return http::json_response(error_status(o), error_body(o));
  }
  Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "application/json");
  std::string& body = res.body();
  JsonWriter w(body);
  w.begin_object().key("object").string("list").key("data").begin_array();
  for (std::size_t i = 0; i < o.embeddings.size(); ++i) {
    w.begin_object().key("object").string("embedding").key("index").number(static_cast<std::int64_t>(i));
    w.key("embedding");
    write_vector(w, o.embeddings[i], base64);
    w.end_object();
  }
  w.end_array().key("model").string(model.value().id).key("usage").begin_object();
  w.key("prompt_tokens").number(o.usage.prompt_tokens).key("total_tokens").number(o.usage.prompt_tokens);
  w.end_object().end_object();
  co_return res;
}

HandlerResult chat_completions(const Services& s, Context& ctx) {
  chat::Service& svc = s.chat;
  auto call = read_completion_request(ctx.body, {svc.config().max_message_chars, svc.config().max_image_bytes});
  if (!call) co_return http::error_response(ctx, call.error());
  auto model = svc.completion_model(call.value().model.id);
  if (!model) co_return http::error_response(ctx, model.error());
  if (svc.quota_applies()) {
    if (auto st = co_await svc.check_quota(*ctx.principal); !st) co_return http::error_response(ctx, st.error());
  }
  auto shared = std::make_shared<CompletionCall>(std::move(call).value());
  shared->model = std::move(model).value();
  // The caller's principal is the handler's to take: nothing reads it after the handler.
  shared->who = std::move(*ctx.principal);
  shared->created = system_now_ms() / 1000;
  shared->id = "chatcmpl-" + new_uuid_v7();
  if (!shared->request.stream) {
    llm::Cancellation cancel;
    llm::DeltaFn ignore = [](const llm::Delta&) -> awaitable<bool> { co_return true; };
    auto result = std::make_shared<llm::GatewayResult>();
    co_await svc.call(shared->model, shared->request, ignore, cancel, *result);
    const llm::Outcome& o = result->outcome;
    Response res;
    if (o.status != llm::Outcome::Status::complete) {
      ctx.error_note = o.internal;
      res = http::json_response(error_status(o), error_body(o));
    } else {
      res = completion_response(*shared, o);
    }
    // The usage events are queued once the answer is on its way: the client does not wait
    // for them (they count towards the quota a few milliseconds later either way).
    res.after_send = [&svc, shared, result] { return svc.record_usage(shared->who, *result); };
    co_return res;
  }
  Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "text/event-stream");
  res.set(bhttp::field::cache_control, "no-cache");
  res.set("X-Accel-Buffering", "no");
  res.heartbeat = http::sse_comment("keep-alive");
  res.heartbeat_interval = std::chrono::milliseconds(svc.config().sse_heartbeat_ms);
  res.stream = [&svc, shared](http::ResponseStream& out) { return stream_completion(svc, shared, out); };
  co_return res;
}

}  // namespace chatd::api
