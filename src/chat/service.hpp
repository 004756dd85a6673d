#pragma once
// The chat rules, without HTTP: conversations and their messages, sending a message to a
// model (the user's message is stored before the model is called; the answer, complete or
// not, when the call ends), usage events and the daily token quota. The OpenAI-compatible
// /v1 endpoint uses the same quota and usage accounting through complete().

#include "chat/model.hpp"
#include "chat/store.hpp"
#include "chat/usage_recorder.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "core/principal.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "core/worker_pool.hpp"
#include "llm/gateway.hpp"
#include "store/database.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chatd::chat {

struct ServiceDeps {
  store::Database& db;
  WorkerPool& db_pool;
  // Writes the usage events in the background: a pool of its own (one thread, niced), so
  // that a batch write yields the CPU to the network threads and never holds a worker
  // that requests wait for.
  WorkerPool& usage_pool;
  llm::Gateway& gateway;
  const config::Config& config;
  const Clock& clock;
  Logger& log;
};

struct ConversationChanges {
  std::optional<std::string> title;
  std::optional<std::string> model;
  std::optional<std::optional<std::string>> system_prompt;  // set to nullopt inside: clear it
};

template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::pair<std::int64_t, std::string>> next;  // sort key and id of the last item
};

struct UsageView {
  std::int64_t requests = 0, prompt_tokens = 0, completion_tokens = 0;
  double cost_usd = 0;
  std::optional<std::int64_t> quota_limit, quota_remaining, quota_resets_at;
  std::vector<db::UsageTotals> breakdown;  // of usage(who, query): the query's rows
};

// A message send between its two halves: the user's message is stored, the model not yet called.
struct PendingSend {
  Conversation conversation;
  Message user_message;
  llm::ModelInfo model;
  llm::ChatRequest request;
  Principal who;
};

struct SendOutcome {
  Message assistant;
  llm::GatewayResult call;  // how the model call went (call.outcome)
};

class Service {
 public:
  explicit Service(ServiceDeps deps) : d_(deps), recorder_(deps.db, deps.usage_pool, deps.log) {}

  // Errors: validation_failed (422) with field errors; unknown model is a field error.
  boost::asio::awaitable<Result<Conversation>> create(const Principal& who, ConversationChanges input);
  // Errors: not_found for a missing, deleted or another user's conversation.
  boost::asio::awaitable<Result<Conversation>> get(const Principal& who, const std::string& id);
  boost::asio::awaitable<Result<Conversation>> update(const Principal& who, const std::string& id,
                                                      ConversationChanges changes);
  boost::asio::awaitable<Status> remove(const Principal& who, const std::string& id);
  boost::asio::awaitable<Result<Page<Conversation>>> list(const Principal& who, std::string q,
                                                          std::optional<std::pair<std::int64_t, std::string>> after,
                                                          int limit);
  boost::asio::awaitable<Result<Page<Message>>> messages(const Principal& who, const std::string& conversation_id,
                                                         std::optional<std::pair<std::int64_t, std::string>> after,
                                                         int limit, MessageOrder order = MessageOrder::oldest_first);

  // The first half of sending: validates, checks the quota, stores the user's message and
  // builds the model's request (system prompt + trimmed history). Errors: validation_failed,
  // not_found, rate_limited (quota spent, with retry_after_seconds until the next UTC day).
  boost::asio::awaitable<Result<PendingSend>> begin_send(const Principal& who, const std::string& conversation_id,
                                                         std::string content, std::optional<std::string> model);
  // The second half: calls the model, passing deltas on, then stores the assistant message
  // (status complete / error / cancelled with whatever text arrived) and the usage events,
  // and writes both into `out` (the caller's, passed in fresh: a stream keeps this frame for
  // its whole length, and a returned value would sit in it). It hands pending.request on to
  // the gateway (a long answer does not keep two copies). Errors only when the answer could
  // not be stored.
  boost::asio::awaitable<Status> finish_send(PendingSend& pending, const llm::DeltaFn& on_delta,
                                             llm::Cancellation& cancel, SendOutcome& out);

  // For /v1/chat/completions (and with `embedding`, /v1/embeddings): the model after the quota
  // check; 422 when it is unknown or of the other kind.
  boost::asio::awaitable<Result<llm::ModelInfo>> begin_completion(const Principal& who, const std::string& model,
                                                                  bool embedding = false);
  // begin_completion() in two steps, so that a caller without a quota to check waits for
  // nothing: the model (422 when unknown or of the other kind), and whether the caller's
  // daily token quota (CHATD_USER_TOKEN_QUOTA) must be checked with check_quota().
  Result<llm::ModelInfo> completion_model(const std::string& model, bool embedding = false) const;
  bool quota_applies() const { return d_.config.user_token_quota > 0; }
  // 429 when the caller's daily token quota is spent.
  boost::asio::awaitable<Status> check_quota(const Principal& who);
  // Runs the request, writing how it went into `result` (the caller's, passed in fresh), and
  // records its usage events (queued for the next batch write: they count towards the quota a
  // few milliseconds later). The request and the result are the caller's, which keeps them
  // for the call (the gateway sets the request's model per attempt): a coroutine keeps its
  // by-value parameters, its locals and its returned value in its frame for as long as a
  // stream lasts.
  boost::asio::awaitable<void> complete(const Principal& who, const llm::ModelInfo& model, llm::ChatRequest& request,
                                        const llm::DeltaFn& on_delta, llm::Cancellation& cancel,
                                        llm::GatewayResult& result);

  // complete() without recording the usage events: the caller records `result` with
  // record_usage() (the non-streaming /v1 answer does once it is sent, so that the client
  // does not wait for it).
  boost::asio::awaitable<void> call(const llm::ModelInfo& model, llm::ChatRequest& request,
                                    const llm::DeltaFn& on_delta, llm::Cancellation& cancel,
                                    llm::GatewayResult& result) {
    return d_.gateway.complete(model.id, request, on_delta, cancel, result);
  }
  // Queues the usage events of `result` (every attempt) for the next batch write; when the
  // queue is full, writes them with a batch's worth of the queued ones (backpressure).
  boost::asio::awaitable<void> record_usage(const Principal& who, const llm::GatewayResult& result);

  // Runs an embeddings call and records its usage events as complete() does.
  boost::asio::awaitable<llm::GatewayResult> embed(const Principal& who, const llm::ModelInfo& model,
                                                   llm::EmbeddingRequest request, llm::Cancellation& cancel);

  // The user's totals since the start and the quota; with a query (its user_id is set to the
  // user's), also the rows of that breakdown.
  boost::asio::awaitable<Result<UsageView>> usage(const Principal& who,
                                                  std::optional<db::UsageQuery> breakdown = std::nullopt);

  const llm::Gateway& gateway() const { return d_.gateway; }
  const config::Config& config() const { return d_.config; }

 private:
  // A model a conversation may use: known and not an embedding model.
  std::optional<llm::ModelInfo> chat_model(const std::string& id) const;
  Result<std::string> resolve_model(const std::optional<std::string>& requested, const char* field) const;
  std::vector<UsageEvent> usage_events(const Principal& who, const std::optional<std::string>& conversation_id,
                                       const llm::GatewayResult& result) const;

  ServiceDeps d_;
  UsageRecorder recorder_;
};

}  // namespace chatd::chat
