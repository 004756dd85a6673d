#include "llm/demo.hpp"

#include "llm/provider_util.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <utility>

namespace chatd::llm {
namespace {

namespace asio = boost::asio;

constexpr std::size_t kQuoteCodePoints = 60;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// The start of `text` on one line: whitespace runs collapsed to one space, at most
// kQuoteCodePoints code points, "..." when cut.
std::string quote(std::string_view text) {
  std::string out;
  std::size_t code_points = 0;
  bool pending_space = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    const bool starts_code_point = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (starts_code_point) {
      if (code_points + (pending_space ? 1 : 0) >= kQuoteCodePoints) return out + "...";
      if (pending_space) {
        out += ' ';
        ++code_points;
        pending_space = false;
      }
      ++code_points;
    }
    out += c;
  }
  return out;
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = start;
    while (end < text.size() && !is_space(text[end])) ++end;
    while (end < text.size() && is_space(text[end])) ++end;
    words.emplace_back(text.substr(start, end - start));
    start = end;
  }
  return words;
}

}  // namespace

std::vector<std::string> demo_answer(const ChatRequest& request) {
  std::string last_user;
  for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it) {
    if (it->role == "user") {
      last_user = quote(it->content);
      break;
    }
  }
  std::string text =
      "Hello! I am the built-in demo model of chatd, not a real language model: no model provider is "
      "configured on this server, so I can only answer with this canned text.";
  if (!last_user.empty()) text += " You wrote: \"" + last_user + "\".";
  text +=
      " To chat with a real model, an administrator sets CHATD_OPENAI_API_KEY (for OpenAI or any "
      "OpenAI-compatible server, with CHATD_OPENAI_BASE_URL), CHATD_ANTHROPIC_API_KEY, AWS credentials "
      "for Bedrock (AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or lists providers in "
      "CHATD_PROVIDERS_FILE, and restarts chatd.";
  return split_words(text);
}

DemoProvider::DemoProvider(DemoOptions options) : options_(options) {}

boost::asio::awaitable<void> DemoProvider::complete(const ChatRequest& request, const DeltaFn& on_delta,
                                                    Cancellation& cancel, Outcome& out) {
  const std::vector<std::string> pieces = demo_answer(request);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  cancel.on_cancel([&timer] { timer.cancel(); });
  std::string failure;
  try {
    for (std::size_t i = 0; i < pieces.size() && !cancel.cancelled(); ++i) {
      if (i > 0 && options_.delay.count() > 0) {
        timer.expires_after(options_.delay);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (cancel.cancelled()) break;
      }
      out.text += pieces[i];
      const bool go_on = co_await on_delta(pieces[i]);
      if (!go_on) cancel.cancel();
    }
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  cancel.on_cancel(std::function<void()>());  // the timer dies with this frame

  out.usage.prompt_tokens = estimate_prompt_tokens(request.messages);
  out.usage.completion_tokens = estimate_tokens(out.text);
  out.usage_reported = false;
  if (!failure.empty()) {
    out.status = Outcome::Status::error;
    out.detail = "the demo model failed";
    out.internal = "exception: " + failure;
  } else if (cancel.cancelled()) {
    out.status = Outcome::Status::cancelled;
    out.detail = "the request was cancelled";
  } else {
    out.status = Outcome::Status::complete;
    out.finish_reason = "stop";
  }
}

boost::asio::awaitable<std::vector<std::string>> DemoProvider::list_models(std::string& error) {
  error.clear();
  std::vector<std::string> ids;
  ids.emplace_back("demo");
  co_return ids;
}

}  // namespace chatd::llm
