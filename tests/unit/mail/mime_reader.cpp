#include "mime_reader.hpp"

#include "fake_smtp.hpp"

#include <cctype>

namespace chatd::mail::test {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Header block (CRLF lines, folded continuation lines) to a map.
std::map<std::string, std::string> parse_headers(std::string_view block) {
  std::map<std::string, std::string> out;
  std::string current;
  std::string value;
  auto flush = [&] {
    if (!current.empty()) out[current] = std::string(trim(value));
  };
  std::size_t pos = 0;
  while (pos < block.size()) {
    std::size_t end = block.find("\r\n", pos);
    if (end == std::string_view::npos) end = block.size();
    std::string_view line = block.substr(pos, end - pos);
    pos = end + 2;
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      value += line;  // unfolding removes only the CRLF
      continue;
    }
    flush();
    auto colon = line.find(':');
    current = lower(line.substr(0, colon));
    value = colon == std::string_view::npos ? std::string() : std::string(line.substr(colon + 1));
  }
  flush();
  return out;
}

std::pair<std::map<std::string, std::string>, std::string> split(std::string_view data) {
  auto blank = data.find("\r\n\r\n");
  if (blank == std::string_view::npos) return {parse_headers(data), {}};
  return {parse_headers(data.substr(0, blank)), std::string(data.substr(blank + 4))};
}

}  // namespace

std::string header_param(std::string_view header, std::string_view name) {
  std::string key = lower(name) + "=";
  std::string low = lower(header);
  auto at = low.find(key);
  if (at == std::string::npos) return {};
  std::string_view rest = header.substr(at + key.size());
  if (!rest.empty() && rest.front() == '"') {
    rest.remove_prefix(1);
    return std::string(rest.substr(0, rest.find('"')));
  }
  return std::string(trim(rest.substr(0, rest.find(';'))));
}

ParsedMessage parse_message(std::string_view data) {
  ParsedMessage m;
  auto [headers, body] = split(data);
  m.headers = std::move(headers);
  m.body = std::move(body);
  std::string boundary = header_param(m.headers["content-type"], "boundary");
  if (boundary.empty()) return m;
  std::string delimiter = "--" + boundary;
  // RFC 2046: the CRLF before a delimiter belongs to the delimiter.
  std::string_view rest = m.body;
  auto first = rest.find(delimiter);
  if (first == std::string_view::npos) return m;
  rest.remove_prefix(first + delimiter.size());
  for (;;) {
    if (rest.starts_with("--")) break;  // close delimiter
    if (rest.starts_with("\r\n")) rest.remove_prefix(2);
    auto next = rest.find("\r\n" + delimiter);
    if (next == std::string_view::npos) break;
    auto [part_headers, part_body] = split(rest.substr(0, next));
    m.parts.push_back({std::move(part_headers), std::move(part_body)});
    rest.remove_prefix(next + 2 + delimiter.size());
  }
  return m;
}

std::string decode_qp(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '=' && text.substr(i + 1, 2) == "\r\n") {
      i += 2;  // soft line break
    } else if (c == '=' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      out += '\n';
      ++i;
    } else {
      out += c;
    }
  }
  return out;
}

std::string decode_words(std::string_view value) {
  std::string out;
  std::string pending_space;  // dropped when the next token is also an encoded-word
  bool last_was_word = false;
  std::size_t pos = 0;
  while (pos < value.size()) {
    if (value[pos] == ' ' || value[pos] == '\t') {
      pending_space += value[pos++];
      continue;
    }
    std::size_t end = value.find_first_of(" \t", pos);
    if (end == std::string_view::npos) end = value.size();
    std::string_view token = value.substr(pos, end - pos);
    pos = end;
    bool is_word = token.starts_with("=?") && token.ends_with("?=") && token.size() > 8;
    std::string decoded(token);
    if (is_word) {
      std::string_view inner = token.substr(2, token.size() - 4);  // charset?enc?text
      auto q1 = inner.find('?');
      auto q2 = inner.find('?', q1 + 1);
      std::string encoding = lower(inner.substr(q1 + 1, q2 - q1 - 1));
      std::string_view payload = inner.substr(q2 + 1);
      if (encoding == "b") {
        decoded = base64_decode(payload);
      } else {
        decoded.clear();
        for (std::size_t i = 0; i < payload.size(); ++i) {
          if (payload[i] == '_')
            decoded += ' ';
          else if (payload[i] == '=' && i + 2 < payload.size()) {
            decoded += static_cast<char>(hex_value(payload[i + 1]) * 16 + hex_value(payload[i + 2]));
            i += 2;
          } else
            decoded += payload[i];
        }
      }
    }
    if (!(is_word && last_was_word)) out += pending_space;
    pending_space.clear();
    out += decoded;
    last_was_word = is_word;
  }
  return out + pending_space;
}

}  // namespace chatd::mail::test
