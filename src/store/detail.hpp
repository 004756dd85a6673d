#pragma once
// Pieces shared by the SQLite and PostgreSQL backends; not part of the store's interface.

#include <charconv>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace chatd::store::detail {

// Prepared statements are cached per connection and keyed by SQL text. Repositories use a
// fixed set of SQL constants, so the bound only matters if some caller builds many
// distinct statements; then the least recently used one is dropped.
inline constexpr std::size_t kStatementCacheSize = 256;

template <class T>
class StatementCache {
 public:
  explicit StatementCache(std::size_t capacity) : capacity_(capacity) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;
  ~StatementCache() = default;

  // The entry for `sql`, now the most recently used, or nullptr.
  T* find(std::string_view sql) {
    auto it = index_.find(sql);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return &it->second->value;
  }

  // Adds an entry for `sql` (not yet cached). Returns the entry evicted to stay within the
  // bound, so the caller can release what it holds (a server-side statement, say).
  std::optional<T> insert(std::string sql, T value, T** inserted) {
    lru_.push_front(Entry{std::move(sql), std::move(value)});
    // The key views the string inside the list node, which never moves.
    index_.emplace(std::string_view(lru_.front().sql), lru_.begin());
    *inserted = &lru_.front().value;
    if (lru_.size() <= capacity_) return std::nullopt;
    Entry& last = lru_.back();
    std::optional<T> evicted(std::move(last.value));
    index_.erase(std::string_view(last.sql));
    lru_.pop_back();
    return evicted;
  }

  // Removes the entry for `sql`, returning it.
  std::optional<T> erase(std::string_view sql) {
    auto it = index_.find(sql);
    if (it == index_.end()) return std::nullopt;
    auto node = it->second;
    index_.erase(it);
    std::optional<T> removed(std::move(node->value));
    lru_.erase(node);
    return removed;
  }

  void clear() {
    index_.clear();
    lru_.clear();
  }
  std::size_t size() const { return lru_.size(); }

 private:
  struct Entry {
    std::string sql;
    T value;
  };
  std::size_t capacity_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string_view, typename std::list<Entry>::iterator> index_;
};

// The shortest text that reads back as the same double; this is also PostgreSQL's float8
// output format, so both backends show a stored double the same way.
inline std::string format_double(double value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "0";
  return std::string(buf, end);
}

// SQL text in error causes: enough to recognise the statement in a log line.
inline std::string sql_excerpt(std::string_view sql) {
  constexpr std::size_t kMax = 200;
  std::string out(sql.substr(0, kMax));
  for (char& c : out) {
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  }
  if (sql.size() > kMax) out += "...";
  return out;
}

}  // namespace chatd::store::detail
