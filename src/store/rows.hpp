#pragma once
// Small pieces every repository over store::Connection needs: binding optional values
// and reading a statement's rows into domain records. Each passes a failed statement's
// error through unchanged.

#include "core/result.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace chatd::store {

// NULL for nullopt, the value otherwise.
inline Value nullable(const std::optional<std::int64_t>& v) { return v ? Value(*v) : Value(nullptr); }
inline Value nullable(const std::optional<std::string>& v) { return v ? Value(*v) : Value(nullptr); }
// NULL for "", the text otherwise (columns where an empty string means "not known").
inline Value text_or_null(const std::string& v) { return v.empty() ? Value(nullptr) : Value(v); }

// The statement's status, its rows dropped.
inline Status status_of(const Result<Rows>& rows) {
  if (!rows) return rows.error();
  return ok();
}

// Whether the statement changed exactly one row (a conditional UPDATE that won).
inline Result<bool> changed_one(const Result<Rows>& rows) {
  if (!rows) return rows.error();
  return rows.value().affected == 1;
}

// Every row read by `from`, in order.
template <class From>
auto all_of(Result<Rows> rows, From from) -> Result<std::vector<std::invoke_result_t<From&, const Row&>>> {
  using T = std::invoke_result_t<From&, const Row&>;
  if (!rows) return rows.error();
  std::vector<T> out;
  out.reserve(rows.value().rows.size());
  for (const auto& r : rows.value().rows) out.push_back(from(r));
  return out;
}

// The first row read by `from`, or nullopt when there is none.
template <class From>
auto first_of(Result<Rows> rows, From from) -> Result<std::optional<std::invoke_result_t<From&, const Row&>>> {
  using T = std::invoke_result_t<From&, const Row&>;
  if (!rows) return rows.error();
  if (rows.value().empty()) return std::optional<T>();
  return std::optional<T>(from(rows.value().rows.front()));
}

// The first column of every row as text (ids, names).
inline Result<std::vector<std::string>> texts_of(Result<Rows> rows) {
  return all_of(std::move(rows), [](const Row& r) { return r.text(0); });
}

// The first column of the first row as text, or nullopt when there is no row.
inline Result<std::optional<std::string>> first_text(Result<Rows> rows) {
  return first_of(std::move(rows), [](const Row& r) { return r.text(0); });
}

// The first column of the first row as an integer (a count or a sum), 0 when there is no row.
inline Result<std::int64_t> first_integer(const Result<Rows>& rows) {
  if (!rows) return rows.error();
  if (rows.value().empty()) return std::int64_t{0};
  return rows.value().rows.front().integer(0);
}

}  // namespace chatd::store
