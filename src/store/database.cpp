#include "store/database.hpp"

#include "store/postgres.hpp"
#include "store/sqlite.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>

namespace chatd::store {
namespace {

constexpr std::string_view kSqliteScheme = "sqlite:";
constexpr std::string_view kPostgresSchemes[] = {"postgresql://", "postgres://"};

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::optional<double> parse_double(std::string_view s) {
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::optional<std::int64_t> parse_integer(std::string_view s) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec == std::errc() && end == s.data() + s.size()) return value;
  if (s == "t" || s == "true") return 1;
  if (s == "f" || s == "false") return 0;
  // NUMERIC results (SUM over BIGINT in PostgreSQL) and REAL columns.
  if (auto d = parse_double(s);
      d && std::isfinite(*d) && std::fabs(*d) < static_cast<double>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(*d);
  }
  return std::nullopt;
}

}  // namespace

const std::string& Row::text(std::size_t i) const {
  static const std::string kEmpty;
  const auto& col = cols.at(i);
  return col ? *col : kEmpty;
}

std::int64_t Row::integer(std::size_t i) const {
  const auto& col = cols.at(i);
  if (!col) return 0;
  return parse_integer(*col).value_or(0);
}

std::optional<std::int64_t> Row::opt_integer(std::size_t i) const {
  if (!cols.at(i)) return std::nullopt;
  return integer(i);
}

double Row::real(std::size_t i) const {
  const auto& col = cols.at(i);
  if (!col) return 0.0;
  return parse_double(*col).value_or(0.0);
}

Result<std::unique_ptr<Database>> open_database(const std::string& url, const DatabaseOptions& options) {
  if (starts_with(url, kSqliteScheme)) return open_sqlite(url.substr(kSqliteScheme.size()), options);
  for (std::string_view scheme : kPostgresSchemes) {
    if (starts_with(url, scheme)) return open_postgres(url, options);
  }
  // The URL itself stays out of the message: it may hold a password.
  return fail(Code::invalid_argument, "the database URL must be sqlite:PATH or postgresql://...");
}

}  // namespace chatd::store
