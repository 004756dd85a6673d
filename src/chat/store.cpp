#include "chat/store.hpp"

#include "store/rows.hpp"

#include <algorithm>
#include <limits>

namespace chatd::chat::db {

namespace {

constexpr std::int64_t kNoUpperBound = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kNoLowerBound = std::numeric_limits<std::int64_t>::min();

constexpr const char* kConversationColumns =
    "id, user_id, title, model, system_prompt, created_at, updated_at, message_count";

constexpr const char* kInsertConversation =
    "INSERT INTO conversations (id, user_id, title, model, system_prompt, created_at, updated_at, message_count) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, 0)";
const std::string kSelectConversation = std::string("SELECT ") + kConversationColumns +
                                        " FROM conversations WHERE user_id = $1 AND id = $2 AND deleted_at IS NULL";
// $5 says whether to set system_prompt (to $6, possibly NULL); NULL $3/$4 keep the title/model.
const std::string kUpdateConversation =
    std::string(
        "UPDATE conversations SET title = COALESCE($3, title), model = COALESCE($4, model), "
        "system_prompt = CASE WHEN $5 = 1 THEN $6 ELSE system_prompt END, updated_at = $7 "
        "WHERE user_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING ") +
    kConversationColumns;
constexpr const char* kSoftDeleteConversation =
    "UPDATE conversations SET deleted_at = $3 WHERE user_id = $1 AND id = $2 AND deleted_at IS NULL";

// Listing: one statement whether or not there is a cursor (no cursor is a position after
// every row), so conversations_user_updated_idx serves the range and the order alike.
const std::string kListConversationsHead =
    std::string("SELECT ") + kConversationColumns +
    " FROM conversations WHERE user_id = $1 AND deleted_at IS NULL AND (updated_at, id) < ($2, $3)";
constexpr const char* kListConversationsTail = " ORDER BY updated_at DESC, id DESC LIMIT $4";
const std::string kListConversations = kListConversationsHead + kListConversationsTail;
// The searches each migration documents, $5 being the words of q. On SQLite it is an FTS5
// query of quoted terms (see fts5_query); search_fts holds one document per title and per
// message. On PostgreSQL the expressions are exactly those of the GIN indexes, and the two
// halves are one uncorrelated IN (a semi-join) rather than title @@ ... OR EXISTS (...):
// an OR with a subquery can use neither GIN index, and a correlated EXISTS would compute
// to_tsvector for every message of every conversation it looks at. The user filters let
// the planner pick the GIN or the user index for each half. Deleted conversations drop
// out in the outer query.
const std::string kSearchConversationsSqlite =
    kListConversationsHead +
    " AND id IN (SELECT d.conversation_id FROM search_fts JOIN search_docs d ON d.doc_id = search_fts.rowid"
    " WHERE search_fts MATCH $5)" +
    kListConversationsTail;
const std::string kSearchConversationsPostgres =
    kListConversationsHead +
    " AND id IN (SELECT t.id FROM conversations t WHERE t.user_id = $1"
    " AND to_tsvector('simple', t.title) @@ plainto_tsquery('simple', $5)"
    " UNION ALL SELECT m.conversation_id FROM messages m WHERE m.user_id = $1"
    " AND to_tsvector('simple', m.content) @@ plainto_tsquery('simple', $5))" +
    kListConversationsTail;

constexpr const char* kMessageColumns =
    "id, conversation_id, user_id, role, content, model, status, prompt_tokens, completion_tokens, created_at";

// Updating the conversation first takes its row lock (PostgreSQL), so the newest
// created_at that kInsertMessage reads cannot change under it until this transaction ends.
constexpr const char* kBumpConversation =
    "UPDATE conversations SET message_count = message_count + 1, "
    "updated_at = CASE WHEN updated_at > $3 THEN updated_at ELSE $3 END "
    "WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL";
// created_at = max($10, newest in the conversation + 1): insertion order is listing order.
// messages_conversation_idx finds the newest.
constexpr const char* kInsertMessage =
    "INSERT INTO messages (id, conversation_id, user_id, role, content, model, status, prompt_tokens, "
    "completion_tokens, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
    "(SELECT CASE WHEN max(created_at) >= $10 THEN max(created_at) + 1 ELSE $10 END "
    "FROM messages WHERE conversation_id = $2)) RETURNING created_at";
constexpr const char* kTouchConversationOfPending =
    "UPDATE conversations SET updated_at = CASE WHEN updated_at > $2 THEN updated_at ELSE $2 END "
    "WHERE id = (SELECT conversation_id FROM messages WHERE id = $1 AND status = 'pending')";
constexpr const char* kFinishMessage =
    "UPDATE messages SET content = $2, status = $3, prompt_tokens = $4, completion_tokens = $5, "
    "model = COALESCE($6, model) WHERE id = $1 AND status = 'pending'";
const std::string kListMessages =
    std::string("SELECT ") + kMessageColumns +
    " FROM messages WHERE conversation_id = $1 AND user_id = $2 AND status <> 'pending'"
    " AND (created_at, id) > ($3, $4)"
    " AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = $1 AND c.user_id = $2 AND c.deleted_at IS NULL)"
    " ORDER BY created_at, id LIMIT $5";
// The same page walked from the newest message back (?order=desc).
const std::string kListMessagesNewestFirst =
    std::string("SELECT ") + kMessageColumns +
    " FROM messages WHERE conversation_id = $1 AND user_id = $2 AND status <> 'pending'"
    " AND (created_at, id) < ($3, $4)"
    " AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = $1 AND c.user_id = $2 AND c.deleted_at IS NULL)"
    " ORDER BY created_at DESC, id DESC LIMIT $5";
const std::string kRecentMessages = std::string("SELECT ") + kMessageColumns + " FROM (SELECT " + kMessageColumns +
                                    " FROM messages WHERE conversation_id = $1 AND status <> 'pending'"
                                    " ORDER BY created_at DESC, id DESC LIMIT $2) recent ORDER BY created_at, id";

constexpr const char* kInsertUsage =
    "INSERT INTO usage_events (id, user_id, api_key_id, conversation_id, provider, model, prompt_tokens, "
    "completion_tokens, cost_usd, latency_ms, status, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
constexpr const char* kUsageSummary =
    "SELECT count(*), COALESCE(sum(prompt_tokens), 0), COALESCE(sum(completion_tokens), 0), "
    "COALESCE(sum(cost_usd), 0) FROM usage_events WHERE user_id = $1 AND created_at >= $2 AND created_at < $3";
// A range scan of usage_events_user_idx (user_id, created_at).
constexpr const char* kTokensUsed =
    "SELECT COALESCE(sum(prompt_tokens + completion_tokens), 0) FROM usage_events "
    "WHERE user_id = $1 AND created_at >= $2";

// Usage reports, one statement per grouping that usage_totals serves. $3 narrows to one user
// ('' for everyone). The day is the UTC epoch day.
constexpr const char* kUsageByUser =
    "SELECT e.user_id, u.username, count(*), sum(e.prompt_tokens), sum(e.completion_tokens), sum(e.cost_usd) "
    "FROM usage_events e LEFT JOIN users u ON u.id = e.user_id "
    "WHERE e.created_at >= $1 AND e.created_at < $2 AND ($3 = '' OR e.user_id = $3) "
    "GROUP BY e.user_id, u.username ORDER BY e.user_id";
constexpr const char* kUsageByModel =
    "SELECT e.model, count(*), sum(e.prompt_tokens), sum(e.completion_tokens), sum(e.cost_usd) "
    "FROM usage_events e "
    "WHERE e.created_at >= $1 AND e.created_at < $2 AND ($3 = '' OR e.user_id = $3) "
    "GROUP BY e.model ORDER BY e.model";
constexpr const char* kUsageByDay =
    "SELECT e.created_at / 86400000, count(*), sum(e.prompt_tokens), sum(e.completion_tokens), sum(e.cost_usd) "
    "FROM usage_events e "
    "WHERE e.created_at >= $1 AND e.created_at < $2 AND ($3 = '' OR e.user_id = $3) "
    "GROUP BY e.created_at / 86400000 ORDER BY e.created_at / 86400000";
constexpr const char* kUsageByDayModel =
    "SELECT e.created_at / 86400000, e.model, count(*), sum(e.prompt_tokens), sum(e.completion_tokens), "
    "sum(e.cost_usd) FROM usage_events e "
    "WHERE e.created_at >= $1 AND e.created_at < $2 AND ($3 = '' OR e.user_id = $3) "
    "GROUP BY e.created_at / 86400000, e.model ORDER BY e.created_at / 86400000, e.model";
constexpr const char* kUsageByDayUser =
    "SELECT e.created_at / 86400000, e.user_id, u.username, count(*), sum(e.prompt_tokens), "
    "sum(e.completion_tokens), sum(e.cost_usd) FROM usage_events e LEFT JOIN users u ON u.id = e.user_id "
    "WHERE e.created_at >= $1 AND e.created_at < $2 AND ($3 = '' OR e.user_id = $3) "
    "GROUP BY e.created_at / 86400000, e.user_id, u.username ORDER BY e.created_at / 86400000, e.user_id";
constexpr const char* kUsageByModelUser =
    "SELECT e.model, e.user_id, u.username, count(*), sum(e.prompt_tokens), sum(e.completion_tokens), "
    "sum(e.cost_usd) FROM usage_events e LEFT JOIN users u ON u.id = e.user_id "
    "WHERE e.created_at >= $1 AND e.created_at < $2 AND ($3 = '' OR e.user_id = $3) "
    "GROUP BY e.model, e.user_id, u.username ORDER BY e.model, e.user_id";

struct UsageStatement {
  std::vector<UsageGroup> group_by;
  const char* sql;
};

const std::vector<UsageStatement>& usage_statements() {
  using G = UsageGroup;
  static const std::vector<UsageStatement> statements{
      {{G::user}, kUsageByUser},
      {{G::model}, kUsageByModel},
      {{G::day}, kUsageByDay},
      {{G::day, G::model}, kUsageByDayModel},
      {{G::day, G::user}, kUsageByDayUser},
      {{G::model, G::user}, kUsageByModelUser},
  };
  return statements;
}

Conversation conversation_from(const store::Row& r) {
  Conversation c;
  c.id = r.text(0);
  c.user_id = r.text(1);
  c.title = r.text(2);
  c.model = r.text(3);
  c.system_prompt = r.opt_text(4);
  c.created_at = r.integer(5);
  c.updated_at = r.integer(6);
  c.message_count = r.integer(7);
  return c;
}

Message message_from(const store::Row& r) {
  Message m;
  m.id = r.text(0);
  m.conversation_id = r.text(1);
  m.user_id = r.text(2);
  m.role = r.text(3);
  m.content = r.text(4);
  m.model = r.opt_text(5);
  m.status = r.text(6);
  m.prompt_tokens = r.opt_integer(7);
  m.completion_tokens = r.opt_integer(8);
  m.created_at = r.integer(9);
  return m;
}

// Words as both dialects' tokenizers see them for plain text: runs of ASCII letters and
// digits, with any non-ASCII byte counted as part of a word (FTS5 splits those further
// inside the quoted term; PostgreSQL's parser does its own). Everything else separates,
// so no character of `q` can act as query syntax in either dialect.
std::vector<std::string> words_of(const std::string& q) {
  std::vector<std::string> words;
  std::string word;
  for (char ch : q) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte >= 0x80 || (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z')) {
      word += ch;
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

}  // namespace

std::string fts5_query(const std::string& q) {
  std::string out;
  for (const std::string& word : words_of(q)) {
    if (!out.empty()) out += ' ';
    out += '"';
    for (char ch : word) {
      if (ch == '"') out += '"';  // cannot occur in a word today; kept so quoting stays right
      out += ch;
    }
    out += '"';
  }
  return out;
}

Status insert_conversation(Connection& c, const Conversation& v) {
  return store::status_of(c.query(kInsertConversation, {v.id, v.user_id, v.title, v.model,
                                                        store::nullable(v.system_prompt), v.created_at, v.updated_at}));
}

Result<std::optional<Conversation>> find_conversation(Connection& c, const std::string& user_id,
                                                      const std::string& id) {
  return store::first_of(c.query(kSelectConversation, {user_id, id}), conversation_from);
}

Result<std::optional<Conversation>> update_conversation(Connection& c, const std::string& user_id,
                                                        const std::string& id, const std::optional<std::string>& title,
                                                        const std::optional<std::string>& model,
                                                        const std::optional<std::optional<std::string>>& system_prompt,
                                                        std::int64_t now) {
  const std::int64_t set_prompt = system_prompt.has_value() ? 1 : 0;
  const store::Value prompt = system_prompt ? store::nullable(*system_prompt) : store::Value(nullptr);
  return store::first_of(c.query(kUpdateConversation, {user_id, id, store::nullable(title), store::nullable(model),
                                                       set_prompt, prompt, now}),
                         conversation_from);
}

Result<bool> soft_delete_conversation(Connection& c, const std::string& user_id, const std::string& id,
                                      std::int64_t now) {
  return store::changed_one(c.query(kSoftDeleteConversation, {user_id, id, now}));
}

Result<std::vector<Conversation>> list_conversations(Connection& c, store::Dialect dialect, const std::string& user_id,
                                                     const std::string& q, const std::optional<Cursor>& after,
                                                     int limit) {
  if (limit <= 0) return std::vector<Conversation>();
  const std::int64_t after_time = after ? after->first : kNoUpperBound;
  const std::string after_id = after ? after->second : std::string();
  if (q.empty()) {
    return store::all_of(c.query(kListConversations, {user_id, after_time, after_id, std::int64_t{limit}}),
                         conversation_from);
  }
  const std::vector<std::string> words = words_of(q);
  if (words.empty()) return std::vector<Conversation>();
  if (dialect == store::Dialect::sqlite) {
    return store::all_of(
        c.query(kSearchConversationsSqlite, {user_id, after_time, after_id, std::int64_t{limit}, fts5_query(q)}),
        conversation_from);
  }
  // plainto_tsquery ANDs the words; handing it only the words keeps its parser from
  // reading e-mail addresses, URLs or hyphenated compounds in q differently from FTS5.
  std::string plain;
  for (const std::string& word : words) {
    if (!plain.empty()) plain += ' ';
    plain += word;
  }
  return store::all_of(
      c.query(kSearchConversationsPostgres, {user_id, after_time, after_id, std::int64_t{limit}, plain}),
      conversation_from);
}

Result<std::int64_t> insert_message(Connection& c, const Message& m) {
  auto bumped = c.query(kBumpConversation, {m.conversation_id, m.user_id, m.created_at});
  if (!bumped) return bumped.error();
  if (bumped.value().affected != 1) return fail(Code::not_found, "conversation not found");
  auto rows = c.query(kInsertMessage,
                      {m.id, m.conversation_id, m.user_id, m.role, m.content, store::nullable(m.model), m.status,
                       store::nullable(m.prompt_tokens), store::nullable(m.completion_tokens), m.created_at});
  if (!rows) return rows.error();
  if (rows.value().empty()) return internal_error("insert into messages returned no row");
  return rows.value().rows.front().integer(0);
}

Result<bool> finish_message(Connection& c, const std::string& id, const std::string& content, const std::string& status,
                            std::optional<std::int64_t> prompt_tokens, std::optional<std::int64_t> completion_tokens,
                            const std::optional<std::string>& model, std::int64_t now) {
  // The conversation first, as in insert_message, so that both lock rows in one order.
  auto touched = c.query(kTouchConversationOfPending, {id, now});
  if (!touched) return touched.error();
  if (touched.value().affected != 1) return false;
  return store::changed_one(c.query(kFinishMessage, {id, content, status, store::nullable(prompt_tokens),
                                                     store::nullable(completion_tokens), store::nullable(model)}));
}

Result<std::vector<Message>> list_messages(Connection& c, const std::string& user_id,
                                           const std::string& conversation_id, const std::optional<Cursor>& after,
                                           int limit, MessageOrder order) {
  if (limit <= 0) return std::vector<Message>();
  if (order == MessageOrder::newest_first)
    return store::all_of(
        c.query(kListMessagesNewestFirst, {conversation_id, user_id, after ? after->first : kNoUpperBound,
                                           after ? after->second : std::string(), std::int64_t{limit}}),
        message_from);
  return store::all_of(c.query(kListMessages, {conversation_id, user_id, after ? after->first : kNoLowerBound,
                                               after ? after->second : std::string(), std::int64_t{limit}}),
                       message_from);
}

Result<std::vector<Message>> recent_messages(Connection& c, const std::string& conversation_id, int max_count) {
  if (max_count <= 0) return std::vector<Message>();
  return store::all_of(c.query(kRecentMessages, {conversation_id, std::int64_t{max_count}}), message_from);
}

Status insert_usage_event(Connection& c, const UsageEvent& e) {
  return store::status_of(c.query(
      kInsertUsage,
      {e.id, e.user_id, store::nullable(e.api_key_id), store::nullable(e.conversation_id), e.provider, e.model,
       e.prompt_tokens, e.completion_tokens, e.cost_usd, store::nullable(e.latency_ms), e.status, e.created_at}));
}

Result<UsageSummary> usage_summary(Connection& c, const std::string& user_id, std::int64_t from_ms,
                                   std::int64_t to_ms) {
  auto rows = c.query(kUsageSummary, {user_id, from_ms, to_ms});
  if (!rows) return rows.error();
  if (rows.value().empty()) return UsageSummary{};
  const auto& r = rows.value().rows.front();
  return UsageSummary{r.integer(0), r.integer(1), r.integer(2), r.real(3)};
}

bool usage_grouping_supported(const std::vector<UsageGroup>& group_by) {
  const auto& all = usage_statements();
  return std::any_of(all.begin(), all.end(), [&](const UsageStatement& st) { return st.group_by == group_by; });
}

Result<std::vector<UsageTotals>> usage_totals(Connection& c, const UsageQuery& q) {
  const auto& all = usage_statements();
  auto st = std::find_if(all.begin(), all.end(), [&](const UsageStatement& s) { return s.group_by == q.group_by; });
  if (st == all.end()) return fail(Code::invalid_argument, "this grouping of usage is not offered");
  auto rows = c.query(st->sql, {q.from_ms, q.to_ms, q.user_id.value_or(std::string())});
  if (!rows) return rows.error();
  const bool by_user = std::find(q.group_by.begin(), q.group_by.end(), UsageGroup::user) != q.group_by.end();
  std::vector<UsageTotals> out;
  const int n = static_cast<int>(q.group_by.size());
  for (const auto& r : rows.value().rows) {
    UsageTotals& t = out.emplace_back();
    for (int i = 0; i < n; ++i) t.keys.push_back(r.text(i));
    int at = n;
    if (by_user) t.username = r.opt_text(at++);
    t.requests = r.integer(at);
    t.prompt_tokens = r.integer(at + 1);
    t.completion_tokens = r.integer(at + 2);
    t.cost_usd = r.real(at + 3);
  }
  return out;
}

Result<std::int64_t> tokens_used(Connection& c, const std::string& user_id, std::int64_t from_ms) {
  return store::first_integer(c.query(kTokensUsed, {user_id, from_ms}));
}

}  // namespace chatd::chat::db
