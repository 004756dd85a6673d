#include "api/openai.hpp"

#include "core/ids.hpp"
#include "core/json_writer.hpp"
#include "core/time.hpp"
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

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// OpenAI message content: a string, or a list of parts of which the text ones count.
std::optional<std::string> content_text(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_null()) return std::string();
  if (!content.is_array()) return std::nullopt;
  std::string out;
  for (const auto& part : content) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
      return std::nullopt;
    out += part["text"].get<std::string>();
  }
  return out;
}

}  // namespace

Result<CompletionCall> read_completion_request(const json& body, std::int64_t max_chars) {
  CompletionCall call;
  std::vector<FieldError> fields;
  if (!body.contains("model") || !body["model"].is_string() || body["model"].get_ref<const std::string&>().empty())
    fields.push_back({"model", "is required (a string)"});
  else
    call.model.id = body["model"].get<std::string>();
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
    fields.push_back({"messages", "is required (a non-empty list)"});
  } else {
    std::size_t total = 0;
    for (std::size_t i = 0; i < body["messages"].size(); ++i) {
      const auto& m = body["messages"][i];
      std::string where = "messages[" + std::to_string(i) + "]";
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
        fields.push_back({where + ".role", "is required"});
        continue;
      }
      std::string role = m["role"].get<std::string>();
      if (role == "developer") role = "system";
      if (role != "system" && role != "user" && role != "assistant") {
        fields.push_back({where + ".role", "must be system, developer, user or assistant (tools are not supported)"});
        continue;
      }
      auto text = m.contains("content") ? content_text(m["content"]) : std::optional<std::string>();
      if (!text) {
        fields.push_back({where + ".content", "must be a string or a list of text parts"});
        continue;
      }
      total += text->size();
      call.request.messages.push_back({role, std::move(*text)});
    }
    if (total > static_cast<std::size_t>(max_chars) * 4 * 8) fields.push_back({"messages", "are too long"});
  }
  if (body.contains("stream") && !body["stream"].is_null()) {
    if (!body["stream"].is_boolean())
      fields.push_back({"stream", "must be a boolean"});
    else
      call.request.stream = body["stream"].get<bool>();
  } else {
    call.request.stream = false;
  }
  if (body.contains("stream_options") && body["stream_options"].is_object())
    call.include_usage = body["stream_options"].value("include_usage", false);
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    if (!body.contains(name) || body[name].is_null()) continue;
    if (!body[name].is_number_integer() || body[name].get<std::int64_t>() < 1 ||
        body[name].get<std::int64_t>() > 10000000)
      fields.push_back({name, "must be a positive integer"});
    else
      call.request.max_tokens = body[name].get<std::int64_t>();
  }
  if (body.contains("temperature") && !body["temperature"].is_null()) {
    if (!body["temperature"].is_number() || body["temperature"].get<double>() < 0 ||
        body["temperature"].get<double>() > 2)
      fields.push_back({"temperature", "must be a number from 0 to 2"});
    else
      call.request.temperature = body["temperature"].get<double>();
  }
  if (body.contains("top_p") && !body["top_p"].is_null()) {
    if (!body["top_p"].is_number() || body["top_p"].get<double>() < 0 || body["top_p"].get<double>() > 1)
      fields.push_back({"top_p", "must be a number from 0 to 1"});
    else
      call.request.top_p = body["top_p"].get<double>();
  }
  if (body.contains("stop") && !body["stop"].is_null()) {
    const auto& stop = body["stop"];
    if (stop.is_string()) {
      call.request.stop.push_back(stop.get<std::string>());
    } else if (stop.is_array() && stop.size() <= 4) {
      for (const auto& s : stop) {
        if (!s.is_string()) {
          fields.push_back({"stop", "must be a string or a list of up to 4 strings"});
          break;
        }
        call.request.stop.push_back(s.get<std::string>());
      }
    } else {
      fields.push_back({"stop", "must be a string or a list of up to 4 strings"});
    }
  }
  if (body.contains("n") && !(body["n"].is_number_integer() && body["n"].get<std::int64_t>() == 1))
    fields.push_back({"n", "only n=1 is supported"});
  if (!fields.empty()) return Error::validation(std::move(fields));
  return call;
}

namespace {

void write_usage(JsonWriter& w, const llm::Usage& u) {
  w.begin_object()
      .key("prompt_tokens")
      .number(u.prompt_tokens)
      .key("completion_tokens")
      .number(u.completion_tokens)
      .key("total_tokens")
      .number(u.prompt_tokens + u.completion_tokens)
      .end_object();
}

std::string finish_reason(const llm::Outcome& o) { return o.finish_reason.empty() ? "stop" : o.finish_reason; }

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
};
void append_chunk(std::string& out, const CompletionCall& call, const ChunkDelta& d) {
  out += "data: ";
  JsonWriter w(out);
  w.begin_object();
  write_head(w, call, "chat.completion.chunk");
  w.key("choices").begin_array().begin_object().key("index").number(std::int64_t{0}).key("delta").begin_object();
  if (d.role) w.key("role").string("assistant");
  if (d.content) w.key("content").string(*d.content);
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
    e["message"] = o.detail;
    e["type"] = "invalid_request_error";
    e["param"] = "messages";
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
  bool started = false;
  llm::DeltaFn on_delta = [&](const llm::Delta& delta) -> awaitable<bool> {
    const std::string_view text = delta.text;
    std::string frames;
    if (!started) {
      started = true;
      append_chunk(frames, *call, {true, "", std::nullopt});
    }
    append_chunk(frames, *call, {false, text, std::nullopt});
    co_return co_await out.write(frames);
  };
  llm::GatewayResult result =
      co_await chat.complete(call->who, call->model, std::move(call->request), on_delta, cancel);
  out.on_close({});
  if (out.closed()) co_return;
  const llm::Outcome& o = result.outcome;
  if (o.status != llm::Outcome::Status::complete) {
    if (!started) {
      // Nothing streamed yet: a real HTTP error, as OpenAI answers one.
      out.respond_instead(error_status(o), "application/json", dump(error_body(o)));
      co_return;
    }
    // Mid-stream: OpenAI's clients raise an error for a data event holding "error".
    std::string frame = data_line(error_body(o));
    co_await out.write(frame);
    co_return;
  }
  std::string frames;
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
  w.key("message").begin_object().key("role").string("assistant").key("content").string(o.text).end_object();
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

HandlerResult chat_completions(const Services& s, Context& ctx) {
  chat::Service& svc = s.chat;
  auto call = read_completion_request(ctx.body, svc.config().max_message_chars);
  if (!call) co_return http::error_response(ctx, call.error());
  auto model = co_await svc.begin_completion(*ctx.principal, call.value().model.id);
  if (!model) co_return http::error_response(ctx, model.error());
  auto shared = std::make_shared<CompletionCall>(std::move(call).value());
  shared->model = model.value();
  shared->who = *ctx.principal;
  shared->created = system_now_ms() / 1000;
  shared->id = "chatcmpl-" + new_uuid_v7();
  if (!shared->request.stream) {
    llm::Cancellation cancel;
    llm::DeltaFn ignore = [](const llm::Delta&) -> awaitable<bool> { co_return true; };
    llm::GatewayResult result =
        co_await svc.complete(shared->who, shared->model, std::move(shared->request), ignore, cancel);
    const llm::Outcome& o = result.outcome;
    if (o.status != llm::Outcome::Status::complete) {
      ctx.error_note = o.internal;
      co_return http::json_response(error_status(o), error_body(o));
    }
    co_return completion_response(*shared, o);
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
