#pragma once
// Conversation, message and usage persistence over store::Connection. The SQL is written
// once for both dialects except the full-text search, which differs by nature (FTS5 on
// SQLite, tsvector on PostgreSQL) and so takes the dialect. Every function runs inside a
// store::read / store::transact the caller opens; the ones that write need transact.
// Errors are those of Connection::query unless stated otherwise.

#include "chat/model.hpp"
#include "core/result.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chatd::chat::db {

using store::Connection;

// A keyset-pagination position: the sort time (updated_at for conversations, created_at
// for messages) and the id of the last row of the previous page.
using Cursor = std::pair<std::int64_t, std::string>;

// Conversations. A soft-deleted conversation, or another user's, is as good as missing.
// insert_conversation stores message_count 0 whatever `conversation` says.
// Errors: Code::conflict when the id is taken or the user does not exist.
Status insert_conversation(Connection& c, const Conversation& conversation);
Result<std::optional<Conversation>> find_conversation(Connection& c, const std::string& user_id, const std::string& id);
// Changes the fields given (system_prompt: nullopt leaves it, an empty inner optional
// clears it to NULL) and sets updated_at = now. Returns the updated row, or nullopt when
// the conversation is missing.
Result<std::optional<Conversation>> update_conversation(Connection& c, const std::string& user_id,
                                                        const std::string& id, const std::optional<std::string>& title,
                                                        const std::optional<std::string>& model,
                                                        const std::optional<std::optional<std::string>>& system_prompt,
                                                        std::int64_t now);
// False when the conversation is missing (or already deleted).
Result<bool> soft_delete_conversation(Connection& c, const std::string& user_id, const std::string& id,
                                      std::int64_t now);
// The user's conversations, most recently updated first (updated_at DESC, id DESC),
// starting after `after`. An empty `q` lists all; otherwise only conversations whose
// title, or one of whose messages, contains every word of `q` (whole words, any case).
// Words are runs of letters and digits; everything else in `q` separates words and is
// never read as query syntax, so a `q` without any word matches nothing.
Result<std::vector<Conversation>> list_conversations(Connection& c, store::Dialect dialect, const std::string& user_id,
                                                     const std::string& q, const std::optional<Cursor>& after,
                                                     int limit);

// Messages.
//
// Inserts `message` into its conversation and, in the same call, adds one to the
// conversation's message_count and moves its updated_at to message.created_at (never
// backwards). Returns the created_at actually stored: listings order messages by
// (created_at, id), and UUIDv7 ids are not monotonic within a millisecond, so the stored
// time is max(message.created_at, newest created_at in the conversation + 1), which makes
// listing order equal insertion order. The conversation row is updated first, so its row
// lock serialises concurrent inserts into one conversation on PostgreSQL (SQLite has a
// single writer anyway). Errors: Code::not_found when the conversation is missing or
// message.user_id does not own it; Code::conflict when the id is taken.
Result<std::int64_t> insert_message(Connection& c, const Message& message);
// Finishes a pending (streaming) message: sets its content, status, token counts and
// model, and moves the conversation's updated_at to `now` (never backwards). Returns
// false when there is no pending message with this id, so of two racing finishes (say
// complete and cancelled) exactly one applies.
Result<bool> finish_message(Connection& c, const std::string& id, const std::string& content, const std::string& status,
                            std::optional<std::int64_t> prompt_tokens, std::optional<std::int64_t> completion_tokens,
                            const std::optional<std::string>& model, std::int64_t now);
// A conversation's messages, oldest first ((created_at, id) ascending) starting after
// `after`, or newest first starting before it. Pending messages are left out (API.md has no
// such status; they appear once finished). Empty when the conversation is missing, deleted or
// not the user's.
Result<std::vector<Message>> list_messages(Connection& c, const std::string& user_id,
                                           const std::string& conversation_id, const std::optional<Cursor>& after,
                                           int limit, MessageOrder order = MessageOrder::oldest_first);
// The newest `max_count` messages that are not pending, oldest first: the history a model
// request starts from.
Result<std::vector<Message>> recent_messages(Connection& c, const std::string& conversation_id, int max_count);

// Usage. Windows include from_ms and exclude to_ms.
// Errors: Code::conflict when the id is taken or a referenced row does not exist.
Status insert_usage_event(Connection& c, const UsageEvent& event);
Result<UsageSummary> usage_summary(Connection& c, const std::string& user_id, std::int64_t from_ms, std::int64_t to_ms);
// Prompt plus completion tokens of the user's requests since from_ms (the daily quota).
Result<std::int64_t> tokens_used(Connection& c, const std::string& user_id, std::int64_t from_ms);

// Usage totals over [from_ms, to_ms), grouped by user, model or day (UTC), or by the pairs
// day+model, day+user and model+user (in that order), of one user when user_id is set.
enum class UsageGroup { user, model, day };
struct UsageQuery {
  std::vector<UsageGroup> group_by;  // one of the groupings above, in the order of the keys
  std::int64_t from_ms = 0, to_ms = 0;
  std::optional<std::string> user_id;
};
struct UsageTotals {
  std::vector<std::string> keys;        // one per group: a user id, a model id, or an epoch day ("20423")
  std::optional<std::string> username;  // when grouped by user (null for a deleted account)
  std::int64_t requests = 0, prompt_tokens = 0, completion_tokens = 0;
  double cost_usd = 0;
};
// Whether usage_totals serves this grouping.
bool usage_grouping_supported(const std::vector<UsageGroup>& group_by);
// Ordered by the keys, in the order of group_by. Errors: Code::invalid_argument for a grouping
// not offered; a database error.
Result<std::vector<UsageTotals>> usage_totals(Connection& c, const UsageQuery& query);

// The FTS5 query list_conversations binds on SQLite for `q`: every word of `q` as a
// quoted string ("a" "b", with " doubled), which FTS5 ANDs; empty when `q` has no word.
// Exposed for tests.
std::string fts5_query(const std::string& q);

}  // namespace chatd::chat::db
