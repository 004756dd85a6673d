#include "llm/anthropic.hpp"

#include "crypto/encoding.hpp"
#include "llm/exchange.hpp"
#include "llm/provider_util.hpp"
#include "llm/sse.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <utility>

namespace chatd::llm {
namespace {

using nlohmann::json;

// Prompt tokens as Anthropic splits them: uncached input plus cache writes and cache reads.
std::optional<std::int64_t> input_tokens(const json& usage) {
  auto input = json_tokens(usage, "input_tokens");
  if (!input) return std::nullopt;
  return token_count(*input + json_tokens(usage, "cache_creation_input_tokens").value_or(0) +
                     json_tokens(usage, "cache_read_input_tokens").value_or(0));
}

// Anthropic's error types that mean "try again later" rather than "this request is wrong".
bool transient_error_type(std::string_view type) {
  return type == "overloaded_error" || type == "api_error" || type == "rate_limit_error" || type == "timeout_error";
}

// A stop reason in OpenAI's words. A JSON answer ends by calling its forced tool: for the
// client that is an ordinary end.
std::string finish_reason(std::string_view reason, AnthropicAnswer answer) {
  if (answer == AnthropicAnswer::json_text && reason == "tool_use") return "stop";
  return map_stop_reason(reason);
}

// A tool_use block's id and name: both must be non-empty strings.
bool tool_use_names(const json& block, std::string& id, std::string& name) {
  auto i = json_string(block, "id");
  auto n = json_string(block, "name");
  if (!i || !n || i->empty() || n->empty()) return false;
  id = std::move(*i);
  name = std::move(*n);
  return true;
}

class AnthropicStreamDecoder final : public SseStreamDecoder {
 public:
  explicit AnthropicStreamDecoder(AnthropicAnswer answer) : answer_(answer) {}

 private:
  // More blocks open at once than any answer has (they come one after the other): a bound on
  // what a misbehaving upstream can make this hold.
  static constexpr std::size_t kMaxOpenBlocks = 1024;

  // A content block between its content_block_start and content_block_stop.
  struct Block {
    enum class Kind {
      text,
      tool,       // a tool_use block read as a tool call
      json_text,  // the tool_use block whose input is the answer's text
      other,      // thinking, redacted_thinking, a second JSON answer, types added later: skipped
    };
    Kind kind = Kind::other;
    std::size_t tool_index = 0;  // Kind::tool: the call's number in the answer
    bool has_input = false;      // a non-empty partial_json arrived
  };

  void malformed(StreamProgress& progress, std::string internal) {
    progress.failure = StreamFailure{std::move(internal), false};
  }

  // The input a tool_use block ends with when the upstream streamed none: "{}", so that the
  // arguments are valid JSON (Anthropic sends no input_json_delta for an empty input).
  void close(const Block& block, StreamProgress& progress) {
    if (block.has_input) return;
    if (block.kind == Block::Kind::tool) progress.tool_calls.push_back({block.tool_index, "", "", "{}"});
    if (block.kind == Block::Kind::json_text) progress.deltas.emplace_back("{}");
  }

  void start_block(const json& data, const std::string& raw, StreamProgress& progress) {
    const auto index = json_int(data, "index");
    const json* content = json_member(data, "content_block");
    if (!index || content == nullptr || !content->is_object()) {
      return malformed(progress, "malformed content_block_start: " + excerpt(raw, 200));
    }
    if (open_.count(*index) != 0)
      return malformed(progress, "content block " + std::to_string(*index) + " started twice");
    if (open_.size() >= kMaxOpenBlocks) return malformed(progress, "too many open content blocks");
    Block block;
    const std::string type = json_string(*content, "type").value_or("");
    if (type == "text") {
      block.kind = Block::Kind::text;
      auto text = json_string(*content, "text");
      if (answer_ == AnthropicAnswer::tool_calls && text && !text->empty()) progress.deltas.push_back(std::move(*text));
    } else if (type == "tool_use") {
      std::string id;
      std::string name;
      if (!tool_use_names(*content, id, name)) {
        return malformed(progress, "tool_use block without id or name: " + excerpt(raw, 200));
      }
      if (answer_ == AnthropicAnswer::tool_calls) {
        block.kind = Block::Kind::tool;
        block.tool_index = tools_++;
        progress.tool_calls.push_back({block.tool_index, std::move(id), std::move(name), ""});
      } else if (!json_started_) {
        block.kind = Block::Kind::json_text;
        json_started_ = true;
      }
    }
    open_.emplace(*index, block);
  }

  void block_delta(const json& data, const std::string& raw, StreamProgress& progress) {
    const json* delta = json_member(data, "delta");
    const std::string type = delta != nullptr ? json_string(*delta, "type").value_or("") : "";
    if (type == "text_delta") {
      // Text is taken whatever block it names (upstreams that skip content_block_start exist);
      // a JSON answer is its tool input alone.
      auto text = json_string(*delta, "text");
      if (answer_ == AnthropicAnswer::tool_calls && text) progress.deltas.push_back(std::move(*text));
      return;
    }
    if (type != "input_json_delta") return;  // thinking_delta, signature_delta, citations_delta, ...
    auto piece = json_string(*delta, "partial_json");
    const auto index = json_int(data, "index");
    const auto open = index ? open_.find(*index) : open_.end();
    if (!piece || open == open_.end() || open->second.kind == Block::Kind::text) {
      return malformed(progress, "input_json_delta outside a tool_use block: " + excerpt(raw, 200));
    }
    Block& block = open->second;
    if (piece->empty() || block.kind == Block::Kind::other) return;
    block.has_input = true;
    if (block.kind == Block::Kind::tool) {
      progress.tool_calls.push_back({block.tool_index, "", "", std::move(*piece)});
    } else {
      progress.deltas.push_back(std::move(*piece));
    }
  }

  void stop_block(const json& data, StreamProgress& progress) {
    const auto index = json_int(data, "index");
    const auto open = index ? open_.find(*index) : open_.end();
    if (open == open_.end()) return;  // a block never started: nothing to end
    close(open->second, progress);
    open_.erase(open);
  }

  void handle(const SseEvent& event, StreamProgress& progress) override {
    if (event.data.empty()) return;
    const json data = json::parse(event.data, nullptr, /*allow_exceptions=*/false);
    if (data.is_discarded() || !data.is_object()) {
      return malformed(progress, "malformed stream event: " + excerpt(event.data, 200));
    }
    // Every event repeats its name in "type"; the SSE event: line is the fallback.
    const std::string type = json_string(data, "type").value_or(event.event);
    if (type == "content_block_delta") {
      block_delta(data, event.data, progress);
    } else if (type == "content_block_start") {
      start_block(data, event.data, progress);
    } else if (type == "content_block_stop") {
      stop_block(data, progress);
    } else if (type == "message_start") {
      const json* message = json_member(data, "message");
      const json* usage = message != nullptr ? json_member(*message, "usage") : nullptr;
      if (usage != nullptr) read_usage(*usage, progress);
    } else if (type == "message_delta") {
      if (const json* delta = json_member(data, "delta")) {
        if (auto reason = json_string(*delta, "stop_reason")) progress.finish_reason = finish_reason(*reason, answer_);
      }
      if (const json* usage = json_member(data, "usage")) {
        if (auto out = json_int(*usage, "output_tokens")) progress.completion_tokens = *out;  // cumulative
        read_usage(*usage, progress);
      }
    } else if (type == "message_stop") {
      for (const auto& [index, block] : open_) close(block, progress);
      open_.clear();
      progress.finished = true;
    } else if (type == "error") {
      const json* err = json_member(data, "error");
      const std::string err_type = err != nullptr ? json_string(*err, "type").value_or("") : "";
      progress.failure =
          StreamFailure{"error event: " + upstream_error_message(event.data), transient_error_type(err_type)};
    }
    // ping and event types added later: nothing to do.
  }

  static void read_usage(const json& usage, StreamProgress& progress) {
    if (auto in = input_tokens(usage)) progress.prompt_tokens = *in;
    if (auto cached = json_tokens(usage, "cache_read_input_tokens")) progress.cached_tokens = *cached;
  }

  AnthropicAnswer answer_;
  std::map<std::int64_t, Block> open_;  // by Anthropic's block index
  std::size_t tools_ = 0;               // tool calls started
  bool json_started_ = false;           // json_text: the answer's tool_use block was seen
};

Result<WholeAnswer> parse_tool_calls(std::string_view body) {
  return anthropic_parse_whole(body, AnthropicAnswer::tool_calls);
}
Result<WholeAnswer> parse_json_text(std::string_view body) {
  return anthropic_parse_whole(body, AnthropicAnswer::json_text);
}

// --- Request translation ---

// The name of the forced tool that stands for response_format json_object.
constexpr const char* kJsonObjectTool = "json_answer";

// `text` parsed, when it is a JSON object.
std::optional<json> parse_object(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// Where in request.messages `image` / `call` sits, as OpenAI names the field; "messages" when
// it cannot be found (it always can: blocks point into the messages).
std::string image_param(const std::vector<ChatMessage>& messages, const Image* image) {
  for (std::size_t i = 0; i < messages.size(); ++i) {
    for (std::size_t j = 0; j < messages[i].parts.size(); ++j) {
      const auto& part = messages[i].parts[j].image;
      if (part && &*part == image) {
        return "messages[" + std::to_string(i) + "].content[" + std::to_string(j) + "].image_url";
      }
    }
  }
  return "messages";
}
std::string arguments_param(const std::vector<ChatMessage>& messages, const ToolCall* call) {
  for (std::size_t i = 0; i < messages.size(); ++i) {
    for (std::size_t j = 0; j < messages[i].tool_calls.size(); ++j) {
      if (&messages[i].tool_calls[j] == call) {
        return "messages[" + std::to_string(i) + "].tool_calls[" + std::to_string(j) + "].function.arguments";
      }
    }
  }
  return "messages";
}

bool anthropic_media_type(std::string_view type) {
  return type == "image/jpeg" || type == "image/png" || type == "image/gif" || type == "image/webp";
}

// One content block as Anthropic writes it, into `out`; the refusal when it cannot be sent.
std::optional<Outcome> content_block(const TurnBlock& block, const std::vector<ChatMessage>& messages, json& out) {
  switch (block.kind) {
    case TurnBlock::Kind::text: out = {{"type", "text"}, {"text", block.text}}; return std::nullopt;
    case TurnBlock::Kind::image: {
      const Image& image = *block.image;
      json source;
      if (!image.data.empty()) {
        if (!anthropic_media_type(image.media_type)) {
          return invalid_param_outcome(image_param(messages, block.image),
                                       "Anthropic takes JPEG, PNG, GIF and WebP images only");
        }
        source = {{"type", "base64"}, {"media_type", image.media_type}, {"data", crypto::base64_encode(image.data)}};
      } else if (!image.url.empty()) {
        source = {{"type", "url"}, {"url", image.url}};
      } else {
        return invalid_param_outcome(image_param(messages, block.image), "the image has neither data nor a URL");
      }
      // OpenAI's `detail` has no equivalent: Anthropic sizes images itself.
      out = {{"type", "image"}, {"source", std::move(source)}};
      return std::nullopt;
    }
    case TurnBlock::Kind::tool_use: {
      const ToolCall& call = *block.call;
      json input = json::object();
      if (call.arguments.find_first_not_of(" \t\r\n") != std::string::npos) {
        auto parsed = parse_object(call.arguments);
        if (!parsed) {
          return invalid_param_outcome(arguments_param(messages, block.call),
                                       "a tool call's arguments must be a JSON object for Anthropic");
        }
        input = std::move(*parsed);
      }
      out = {{"type", "tool_use"}, {"id", call.id}, {"name", call.name}, {"input", std::move(input)}};
      return std::nullopt;
    }
    case TurnBlock::Kind::tool_result:
      out = {{"type", "tool_result"}, {"tool_use_id", block.tool_call_id}};
      if (!block.text.empty()) out["content"] = block.text;
      return std::nullopt;
  }
  return invalid_param_outcome("messages", "unknown content");
}

// What Anthropic has nothing like. A zero penalty is OpenAI's default and asks for nothing.
std::optional<Outcome> refuse_unsupported(const ChatRequest& request) {
  if (request.seed) return invalid_param_outcome("seed", "Anthropic does not support seed");
  if (request.presence_penalty.value_or(0) != 0) {
    return invalid_param_outcome("presence_penalty", "Anthropic does not support presence_penalty");
  }
  if (request.frequency_penalty.value_or(0) != 0) {
    return invalid_param_outcome("frequency_penalty", "Anthropic does not support frequency_penalty");
  }
  if (!request.logit_bias.empty()) {
    auto bias = parse_object(request.logit_bias);
    if (!bias || !bias->empty()) return invalid_param_outcome("logit_bias", "Anthropic does not support logit_bias");
  }
  return std::nullopt;
}

// response_format json_object / json_schema as Anthropic has no JSON mode: one tool whose input
// schema is the answer's, which the model must call (exactly once); its input is the answer.
std::optional<Outcome> add_json_answer(const ChatRequest& request, json& body) {
  const ResponseFormat& format = request.response_format;
  if (!request.tools.empty()) {
    return invalid_param_outcome(
        "response_format",
        "Anthropic cannot combine response_format " +
            std::string(format.kind == ResponseFormat::Kind::json_object ? "json_object" : "json_schema") +
            " with tools");
  }
  std::string name = kJsonObjectTool;
  json schema = {{"type", "object"}};
  if (format.kind == ResponseFormat::Kind::json_schema) {
    if (!format.name.empty()) name = format.name;
    if (!format.schema.empty()) {
      auto parsed = parse_object(format.schema);
      if (!parsed) {
        return invalid_param_outcome("response_format.json_schema.schema", "the schema must be a JSON object");
      }
      schema = std::move(*parsed);
    }
  }
  // `strict` cannot be passed on: the answer follows the schema as well as the model calls tools.
  json tool = {{"name", name}, {"input_schema", std::move(schema)}};
  if (!format.description.empty()) tool["description"] = format.description;
  body["tools"] = json::array({std::move(tool)});
  body["tool_choice"] = {{"type", "tool"}, {"name", name}, {"disable_parallel_tool_use", true}};
  return std::nullopt;
}

std::optional<Outcome> add_tools(const ChatRequest& request, json& body) {
  if (request.tools.empty()) return std::nullopt;  // a tool_choice alone means nothing to Anthropic
  json tools = json::array();
  for (std::size_t i = 0; i < request.tools.size(); ++i) {
    const ToolDef& def = request.tools[i];
    json schema = {{"type", "object"}, {"properties", json::object()}};
    if (!def.parameters.empty()) {
      auto parsed = parse_object(def.parameters);
      if (!parsed) {
        return invalid_param_outcome("tools[" + std::to_string(i) + "].function.parameters",
                                     "a tool's parameters must be a JSON object");
      }
      schema = std::move(*parsed);
    }
    // `strict` is not sent: Anthropic has no per-tool strict flag in the stable API.
    json tool = {{"name", def.name}, {"input_schema", std::move(schema)}};
    if (!def.description.empty()) tool["description"] = def.description;
    tools.push_back(std::move(tool));
  }
  body["tools"] = std::move(tools);

  json choice;
  switch (request.tool_choice.mode) {
    case ToolChoice::Mode::unset:
      if (request.parallel_tool_calls == false) choice = {{"type", "auto"}};
      break;
    case ToolChoice::Mode::automatic: choice = {{"type", "auto"}}; break;
    case ToolChoice::Mode::none: choice = {{"type", "none"}}; break;
    case ToolChoice::Mode::required: choice = {{"type", "any"}}; break;
    case ToolChoice::Mode::function: choice = {{"type", "tool"}, {"name", request.tool_choice.name}}; break;
  }
  // Anthropic's "none" takes no disable_parallel_tool_use (and calls no tool anyway).
  if (request.parallel_tool_calls == false && request.tool_choice.mode != ToolChoice::Mode::none) {
    choice["disable_parallel_tool_use"] = true;
  }
  if (!choice.is_null()) body["tool_choice"] = std::move(choice);
  return std::nullopt;
}

// Extended thinking budgets for OpenAI's reasoning_effort; 0 for "none" (no thinking), nullopt
// for any other value (no budget is guessed for an effort this does not know).
std::optional<std::int64_t> thinking_budget(std::string_view effort) {
  if (effort == "none") return 0;
  if (effort == "minimal" || effort == "low") return 1024;
  if (effort == "medium") return 4096;
  if (effort == "high") return 16384;
  return std::nullopt;
}

// Whether the last assistant turn calls tools. Anthropic then wants that turn to start with the
// thinking block the answer came with, which OpenAI's messages cannot carry back.
bool continues_tool_calls(const AlternatingConversation& conversation) {
  for (auto turn = conversation.turns.rbegin(); turn != conversation.turns.rend(); ++turn) {
    if (turn->role != "assistant") continue;
    for (const auto& block : turn->blocks) {
      if (block.kind == TurnBlock::Kind::tool_use) return true;
    }
    return false;
  }
  return false;
}

// reasoning_effort as extended thinking; `max_tokens` (the answer's budget) is raised so that
// it exceeds the thinking budget, as Anthropic requires.
std::optional<Outcome> add_thinking(const ChatRequest& request, const AlternatingConversation& conversation,
                                    bool forced_tool, std::int64_t& max_tokens, json& body) {
  if (request.reasoning_effort.empty()) return std::nullopt;
  const auto budget = thinking_budget(request.reasoning_effort);
  if (!budget) {
    return invalid_param_outcome("reasoning_effort",
                                 "unknown reasoning_effort \"" + excerpt(request.reasoning_effort, 32) + "\"");
  }
  if (*budget == 0) return std::nullopt;
  if (forced_tool) {
    return invalid_param_outcome("reasoning_effort",
                                 "Anthropic cannot think with a forced tool choice (tool_choice required or a "
                                 "function, or response_format json_object / json_schema)");
  }
  if (request.temperature && *request.temperature != 1) {
    return invalid_param_outcome("temperature", "with reasoning_effort, Anthropic takes temperature 1 only");
  }
  if (request.top_p && *request.top_p < 0.95) {
    return invalid_param_outcome("top_p", "with reasoning_effort, Anthropic takes top_p from 0.95 to 1 only");
  }
  // The answer to a tool result goes without thinking rather than be refused by Anthropic.
  if (continues_tool_calls(conversation)) return std::nullopt;
  if (max_tokens <= *budget) max_tokens += *budget;
  body["thinking"] = {{"type", "enabled"}, {"budget_tokens", *budget}};
  return std::nullopt;
}

}  // namespace

Result<WholeAnswer> anthropic_parse_whole(std::string_view body, AnthropicAnswer answer) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const json* content = json_member(doc, "content");
  if (content == nullptr || !content->is_array()) {
    Error e = fail(Code::upstream, "message without content");
    e.internal = excerpt(body, 200);
    return e;
  }
  WholeAnswer out;
  bool json_found = false;
  for (const auto& block : *content) {
    const auto type = json_string(block, "type");
    if (type == "text") {
      auto text = json_string(block, "text");
      if (answer == AnthropicAnswer::tool_calls && text) out.text += *text;
    } else if (type == "tool_use") {
      ToolCall call;
      const json* input = json_member(block, "input");
      if (!tool_use_names(block, call.id, call.name) || (input != nullptr && !input->is_object())) {
        Error e = fail(Code::upstream, "malformed tool_use block");
        e.internal = excerpt(block.dump(-1, ' ', false, json::error_handler_t::replace), 200);
        return e;
      }
      call.arguments = input != nullptr ? input->dump(-1, ' ', false, json::error_handler_t::replace) : "{}";
      if (answer == AnthropicAnswer::tool_calls) {
        out.tool_calls.push_back(std::move(call));
      } else if (!json_found) {
        out.text = std::move(call.arguments);
        json_found = true;
      }
    }
    // thinking, redacted_thinking and block types added later are not part of the answer.
  }
  if (auto reason = json_string(doc, "stop_reason")) out.finish_reason = finish_reason(*reason, answer);
  if (const json* usage = json_member(doc, "usage")) {
    out.prompt_tokens = input_tokens(*usage);
    out.completion_tokens = json_int(*usage, "output_tokens");
    out.cached_tokens = json_tokens(*usage, "cache_read_input_tokens");
  }
  return out;
}

std::unique_ptr<StreamDecoder> anthropic_stream_decoder(AnthropicAnswer answer) {
  return std::make_unique<AnthropicStreamDecoder>(answer);
}

AnthropicTranslation anthropic_request_body(const ChatRequest& request, std::int64_t default_max_tokens) {
  if (auto refused = refuse_unsupported(request)) return std::move(*refused);
  const AlternatingConversation conversation = to_alternating(request.messages);
  if (conversation.turns.empty()) return invalid_request_outcome("the conversation has no user message");

  AnthropicRequest out;
  json body = json::object();
  body["model"] = request.model;
  if (!conversation.system.empty()) body["system"] = conversation.system;
  json messages = json::array();
  for (const auto& turn : conversation.turns) {
    json message = json::object();
    message["role"] = turn.role;
    if (const std::string* text = turn.only_text()) {
      message["content"] = *text;
    } else {
      json blocks = json::array();
      for (const auto& block : turn.blocks) {
        json content;
        if (auto refused = content_block(block, request.messages, content)) return std::move(*refused);
        blocks.push_back(std::move(content));
      }
      message["content"] = std::move(blocks);
    }
    messages.push_back(std::move(message));
  }
  body["messages"] = std::move(messages);
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.top_p) body["top_p"] = *request.top_p;
  if (!request.stop.empty()) body["stop_sequences"] = request.stop;

  const ResponseFormat::Kind format = request.response_format.kind;
  bool forced_tool = false;
  if (format == ResponseFormat::Kind::json_object || format == ResponseFormat::Kind::json_schema) {
    if (auto refused = add_json_answer(request, body)) return std::move(*refused);
    out.answer = AnthropicAnswer::json_text;
    forced_tool = true;
  } else {
    if (auto refused = add_tools(request, body)) return std::move(*refused);
    const ToolChoice::Mode mode = request.tool_choice.mode;
    forced_tool = !request.tools.empty() && (mode == ToolChoice::Mode::required || mode == ToolChoice::Mode::function);
  }
  if (!request.user.empty()) body["metadata"] = {{"user_id", request.user}};

  std::int64_t max_tokens = request.max_tokens.value_or(default_max_tokens);
  if (auto refused = add_thinking(request, conversation, forced_tool, max_tokens, body)) return std::move(*refused);
  body["max_tokens"] = max_tokens;
  body["stream"] = request.stream;
  out.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return out;
}

AnthropicProvider::AnthropicProvider(AnthropicOptions options, Transport& transport)
    : options_(std::move(options)), transport_(transport) {}

boost::asio::awaitable<void> AnthropicProvider::complete(const ChatRequest& request, const DeltaFn& on_delta,
                                                         Cancellation& cancel, Outcome& out) {
  auto translated = anthropic_request_body(request, options_.default_max_tokens);
  if (!translated) {
    out = std::move(translated).error();
    co_return;
  }
  AnthropicRequest& upstream = translated.value();

  std::string_view base = options_.base_url;
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  const bool has_version = base.size() >= 3 && base.substr(base.size() - 3) == "/v1";

  AnthropicStreamDecoder decoder(upstream.answer);
  Exchange exchange;
  exchange.request.method = "POST";
  exchange.request.url = join_url(base, has_version ? "messages" : "v1/messages");
  exchange.request.headers.emplace_back("content-type", "application/json");
  if (request.stream) exchange.request.headers.emplace_back("accept", "text/event-stream");
  if (!options_.api_key.empty()) exchange.request.headers.emplace_back("x-api-key", options_.api_key);
  exchange.request.headers.emplace_back("anthropic-version", options_.version);
  exchange.request.body = std::move(upstream.body);
  exchange.timeouts = options_.timeouts;
  if (request.stream) exchange.decoder = &decoder;
  exchange.parse_whole = upstream.answer == AnthropicAnswer::json_text ? &parse_json_text : &parse_tool_calls;
  exchange.secret = options_.api_key;
  exchange.messages = &request.messages;
  co_await run_exchange(transport_, exchange, on_delta, cancel, out);
}

}  // namespace chatd::llm
