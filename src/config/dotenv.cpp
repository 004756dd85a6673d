#include "config/dotenv.hpp"

#include "core/ascii.hpp"

namespace chatd::config {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool is_key(std::string_view key) {
  if (key.empty()) return false;
  for (std::size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

// What may follow a closing quote: nothing, or a comment.
bool only_comment_left(std::string_view rest) {
  rest = trim_blanks(rest);
  return rest.empty() || rest.front() == '#';
}

// Parses the value part of one line (everything after '='). Returns an error message, or an
// empty string with `out` set.
std::string parse_value(std::string_view raw, std::string& out) {
  std::string_view v = trim_blanks(raw);
  if (!v.empty() && v.front() == '\'') {
    auto close = v.find('\'', 1);
    if (close == std::string_view::npos) return "unterminated single quote (quoted values end on their line)";
    if (!only_comment_left(v.substr(close + 1))) return "unexpected text after the closing quote";
    out.assign(v.substr(1, close - 1));
    return {};
  }
  if (!v.empty() && v.front() == '"') {
    out.clear();
    for (std::size_t i = 1; i < v.size(); ++i) {
      char c = v[i];
      if (c == '"') {
        if (!only_comment_left(v.substr(i + 1))) return "unexpected text after the closing quote";
        return {};
      }
      if (c == '\\' && i + 1 < v.size()) {
        char e = v[++i];
        switch (e) {
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          default:  // unknown escapes stay as written, like a shell's double quotes
            out += '\\';
            out += e;
        }
        continue;
      }
      out += c;
    }
    return "unterminated double quote (quoted values end on their line)";
  }
  // Unquoted: a '#' after whitespace starts a comment; a '#' inside a word (a=b#c) does not.
  std::size_t end = raw.size();
  for (std::size_t i = 1; i < raw.size(); ++i) {
    if (raw[i] == '#' && is_blank(raw[i - 1])) {
      end = i;
      break;
    }
  }
  out.assign(trim_blanks(raw.substr(0, end)));
  return {};
}

}  // namespace

DotenvFile parse_dotenv(std::string_view text, std::string_view file_name) {
  DotenvFile file;
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());

  auto problem = [&](int line, std::string_view what) {
    std::string p(file_name);
    p += ':';
    p += std::to_string(line);
    p += ": ";
    p += what;
    file.problems.push_back(std::move(p));
  };

  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    std::string_view s = trim_blanks(line);
    if (s.empty() || s.front() == '#') continue;
    if (s.size() > 7 && s.substr(0, 6) == "export" && is_blank(s[6])) s = trim_blanks(s.substr(7));

    auto eq = s.find('=');
    if (eq == std::string_view::npos) {
      problem(line_no, "malformed line, expected KEY=VALUE");
      continue;
    }
    std::string_view key = trim_blanks(s.substr(0, eq));
    if (!is_key(key)) {
      problem(line_no, "malformed line, the name before '=' must be letters, digits and '_'");
      continue;
    }
    DotenvEntry entry;
    entry.key.assign(key);
    entry.line = line_no;
    if (auto err = parse_value(s.substr(eq + 1), entry.value); !err.empty()) {
      problem(line_no, "malformed value of " + entry.key + ": " + err);
      continue;
    }
    file.entries.push_back(std::move(entry));
  }
  return file;
}

}  // namespace chatd::config
