#include "llm/provider_util.hpp"

#include "core/ascii.hpp"
#include "core/utf8.hpp"

#include <algorithm>

namespace chatd::llm {
namespace {

std::int64_t ceil_div4(std::int64_t n) { return (n + 3) / 4; }

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; });
}

void append_paragraph(std::string& to, std::string_view text) {
  if (!to.empty()) to += "\n\n";
  to += text;
}

}  // namespace

std::int64_t estimate_tokens(std::string_view text) { return ceil_div4(static_cast<std::int64_t>(text.size())); }

std::int64_t estimate_prompt_tokens(const std::vector<ChatMessage>& messages) {
  std::int64_t bytes = 0;
  for (const auto& m : messages) bytes += static_cast<std::int64_t>(m.content.size());
  return ceil_div4(bytes) + 4 * static_cast<std::int64_t>(messages.size());
}

std::optional<std::int64_t> parse_retry_after_ms(std::string_view value) {
  value = trim_blanks(value);
  if (value.empty() || value.size() > 9) return std::nullopt;
  std::int64_t seconds = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  if (seconds > 86400) return std::nullopt;
  return seconds * 1000;
}

bool is_retryable_status(int status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

std::string join_url(std::string_view base, std::string_view path, std::string_view query) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::string url(base);
  url += '/';
  url += path;
  if (!query.empty() && query.front() == '?') query.remove_prefix(1);
  if (!query.empty()) {
    url += '?';
    url += query;
  }
  return url;
}

std::string redact(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  constexpr std::string_view kMark = "[redacted]";
  for (std::size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + kMark.size())) {
    text.replace(pos, secret.size(), kMark);
  }
  return text;
}

std::string excerpt(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::string out(utf8::prefix_bytes(text, max_bytes));
  out += "...";
  return out;
}

namespace {

void add_text(std::vector<TurnBlock>& blocks, std::string_view text) {
  if (is_blank(text)) return;
  if (!blocks.empty() && blocks.back().kind == TurnBlock::Kind::text) {
    append_paragraph(blocks.back().text, text);
    return;
  }
  TurnBlock block;
  block.text = std::string(text);
  blocks.push_back(std::move(block));
}

// The blocks of one message, in order.
std::vector<TurnBlock> blocks_of(const ChatMessage& m) {
  std::vector<TurnBlock> blocks;
  if (m.role == "tool" && !m.tool_call_id.empty()) {
    TurnBlock result;
    result.kind = TurnBlock::Kind::tool_result;
    result.text = m.content;
    result.tool_call_id = m.tool_call_id;
    blocks.push_back(std::move(result));
    return blocks;
  }
  if (m.parts.empty()) {
    add_text(blocks, m.content);
  } else {
    for (const auto& part : m.parts) {
      if (!part.image) {
        add_text(blocks, part.text);
        continue;
      }
      TurnBlock image;
      image.kind = TurnBlock::Kind::image;
      image.image = &*part.image;
      blocks.push_back(std::move(image));
    }
  }
  if (m.role == "assistant") {
    for (const auto& call : m.tool_calls) {
      TurnBlock use;
      use.kind = TurnBlock::Kind::tool_use;
      use.call = &call;
      blocks.push_back(std::move(use));
    }
  }
  return blocks;
}

}  // namespace

AlternatingConversation to_alternating(const std::vector<ChatMessage>& messages) {
  AlternatingConversation out;
  for (const auto& m : messages) {
    if (m.role == "system" || m.role == "developer") {
      if (!is_blank(m.content)) append_paragraph(out.system, m.content);
      continue;
    }
    const std::string role = m.role == "assistant" ? "assistant" : "user";
    if (out.turns.empty() && role == "assistant") continue;
    std::vector<TurnBlock> blocks = blocks_of(m);
    if (blocks.empty()) continue;
    if (out.turns.empty() || out.turns.back().role != role) {
      out.turns.push_back(Turn{role, {}});
    }
    std::vector<TurnBlock>& to = out.turns.back().blocks;
    for (auto& block : blocks) {
      if (block.kind == TurnBlock::Kind::text) {
        add_text(to, block.text);
      } else {
        to.push_back(std::move(block));
      }
    }
  }
  return out;
}

std::string map_stop_reason(std::string_view reason) {
  if (reason == "end_turn" || reason == "stop_sequence") return "stop";
  if (reason == "max_tokens") return "length";
  if (reason == "tool_use") return "tool_calls";
  if (reason == "refusal" || reason == "guardrail_intervened" || reason == "content_filtered") return "content_filter";
  return std::string(reason);
}

std::string upstream_error_message(std::string_view body, std::string_view type_hint) {
  // x-amzn-ErrorType looks like "ThrottlingException:http://internal.amazon.com/...".
  std::string type(type_hint.substr(0, type_hint.find(':')));
  std::string message;
  const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded() && j.is_object()) {
    if (const auto* err = json_member(j, "error"); err != nullptr && err->is_object()) {
      if (auto m = json_string(*err, "message")) message = *m;
      if (auto t = json_string(*err, "type"))
        type = *t;
      else if (auto c = json_string(*err, "code"))
        type = *c;
    } else if (auto s = json_string(j, "error")) {
      message = *s;
    }
    if (message.empty()) {
      if (auto m = json_string(j, "message"))
        message = *m;
      else if (auto m2 = json_string(j, "Message"))
        message = *m2;
    }
    if (type.empty()) {
      if (auto t = json_string(j, "__type")) type = *t;
    }
  }
  if (message.empty()) message = body;
  message = excerpt(message, 1000);
  return type.empty() ? message : type + ": " + message;
}

boost::asio::awaitable<Result<std::string>> read_body(UpstreamResponse& response, std::size_t limit, bool truncate) {
  std::string body;
  for (;;) {
    auto piece = co_await response.read_some();
    if (!piece) co_return std::move(piece).error();
    const std::string& bytes = piece.value();
    if (bytes.empty()) co_return body;
    if (body.size() + bytes.size() > limit) {
      if (!truncate)
        co_return fail(Code::too_large, "the upstream body is larger than " + std::to_string(limit) + " bytes");
      body.append(bytes, 0, limit - body.size());
      co_return body;  // the rest is dropped with the connection
    } else {
      body += bytes;
    }
  }
}

const nlohmann::json* json_member(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::optional<std::string> json_string(const nlohmann::json& j, const char* key) {
  const auto* v = json_member(j, key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

std::optional<std::int64_t> json_int(const nlohmann::json& j, const char* key) {
  const auto* v = json_member(j, key);
  if (v == nullptr || !v->is_number_integer()) return std::nullopt;
  return v->get<std::int64_t>();
}

std::optional<std::int64_t> token_count(std::optional<std::int64_t> reported) {
  if (!reported || *reported < 0 || *reported > kMaxReportedTokens) return std::nullopt;
  return reported;
}

std::optional<std::int64_t> json_tokens(const nlohmann::json& j, const char* key) {
  // An unsigned value past INT64_MAX reads as a negative number, which token_count refuses.
  return token_count(json_int(j, key));
}

}  // namespace chatd::llm
