#include "llm/sigv4.hpp"

#include "core/ascii.hpp"
#include "crypto/encoding.hpp"
#include "crypto/hash.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>

namespace chatd::llm {
namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";

bool is_unreserved(unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~'; }

// One line of a header value: trimmed, and runs of spaces/tabs collapsed to one space, as the
// spec requires so that proxies re-spacing a header don't break the signature.
std::string trim_and_collapse(std::string_view text) {
  std::string out;
  bool pending_space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// A folded (multi-line) value becomes its non-empty lines joined by ',' (the suite's
// get-header-value-multiline), i.e. each line is treated like a repeated header.
std::string canonical_header_value(std::string_view value) {
  std::string out;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t end = value.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = value.size();
    std::string line = trim_and_collapse(value.substr(start, end - start));
    if (!line.empty()) {
      if (!out.empty()) out.push_back(',');
      out += line;
    }
    start = end + 1;
  }
  return out;
}

// Removes "." and ".." segments and empty segments (duplicate slashes). A trailing slash is kept
// only when the input ends with one, matching the suite's get-slashes and get-relative cases.
std::string normalize(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out;
  for (std::string_view segment : segments) {
    out.push_back('/');
    out += segment;
  }
  if (out.empty() || (!path.empty() && path.back() == '/')) out.push_back('/');
  return out;
}

std::string canonical_uri(std::string_view path, bool normalize_path) {
  std::string source = normalize_path ? normalize(path) : std::string(path);
  if (source.empty()) source = "/";
  // Encoding the wire path again (including its '%') is what AWS's non-S3 services verify.
  return sigv4_uri_encode(source, /*keep_slash=*/true);
}

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [key, value] : query) encoded.emplace_back(sigv4_uri_encode(key), sigv4_uri_encode(value));
  // Sorting happens on the encoded form (byte order), by key then value, per the spec.
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [key, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += key;
    out.push_back('=');
    out += value;
  }
  return out;
}

crypto::Sha256Digest signing_key(std::string_view secret, std::string_view date, std::string_view region,
                                 std::string_view service) {
  auto key = crypto::hmac_sha256("AWS4" + std::string(secret), date);
  key = crypto::hmac_sha256(crypto::to_string(key), region);
  key = crypto::hmac_sha256(crypto::to_string(key), service);
  return crypto::hmac_sha256(crypto::to_string(key), "aws4_request");
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Lenient on purpose: the suite's requests carry raw UTF-8 and stray characters, and a '%' that
// doesn't start an escape is kept literally.
std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::string sigv4_uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0x0f]);
    }
  }
  return out;
}

SigV4Result sigv4_sign(const SigV4Request& request, const SigV4Credentials& credentials, std::string_view region,
                       std::string_view service, std::string_view amz_date, bool normalize_path) {
  if (amz_date.size() != 16 || amz_date[8] != 'T' || amz_date[15] != 'Z') {
    throw std::invalid_argument("sigv4: amz_date must be YYYYMMDDTHHMMSSZ");
  }
  // std::map keeps names sorted; values of repeated names are joined in request order.
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : request.headers) {
    auto [it, inserted] = headers.try_emplace(ascii_lower(name), canonical_header_value(value));
    if (!inserted) it->second += "," + canonical_header_value(value);
  }
  if (!headers.contains("host")) throw std::invalid_argument("sigv4: request has no host header");
  auto require = [&headers](const std::string& name, std::string_view value) {
    auto [it, inserted] = headers.try_emplace(name, std::string(value));
    if (!inserted && it->second != value) {
      throw std::invalid_argument("sigv4: request header " + name + " differs from the signed value");
    }
  };
  require("x-amz-date", amz_date);
  if (!credentials.session_token.empty()) require("x-amz-security-token", credentials.session_token);

  std::string canonical_headers;
  std::string signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers.append(name).append(":").append(value).append("\n");
    if (!signed_headers.empty()) signed_headers.push_back(';');
    signed_headers += name;
  }

  SigV4Result result;
  result.canonical_request = request.method + "\n" + canonical_uri(request.path, normalize_path) + "\n" +
                             canonical_query(request.query) + "\n" + canonical_headers + "\n" + signed_headers + "\n" +
                             crypto::sha256_hex(request.body);

  std::string date(amz_date.substr(0, 8));
  std::string scope = date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  result.string_to_sign = std::string(algorithm) + "\n" + std::string(amz_date) + "\n" + scope + "\n" +
                          crypto::sha256_hex(result.canonical_request);

  auto key = signing_key(credentials.secret_access_key, date, region, service);
  std::string signature = crypto::hex_encode(crypto::hmac_sha256(crypto::to_string(key), result.string_to_sign));
  result.authorization = std::string(algorithm) + " Credential=" + credentials.access_key_id + "/" + scope +
                         ", SignedHeaders=" + signed_headers + ", Signature=" + signature;
  return result;
}

std::optional<SigV4Request> parse_sigv4_test_request(std::string_view text) {
  // Splits off one line, accepting "\n" or "\r\n"; returns false at the end of the text.
  auto next_line = [&text](std::string_view& line) {
    if (text.empty()) return false;
    std::size_t end = text.find('\n');
    line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return true;
  };

  std::string_view line;
  if (!next_line(line)) return std::nullopt;
  // The target may contain raw spaces (get-space), so split at the first and last space.
  std::size_t first_space = line.find(' ');
  std::size_t last_space = line.rfind(' ');
  if (first_space == std::string_view::npos || last_space <= first_space) return std::nullopt;
  SigV4Request request;
  request.method = std::string(line.substr(0, first_space));
  std::string_view target = line.substr(first_space + 1, last_space - first_space - 1);
  std::size_t question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) {
    std::string_view query = target.substr(question + 1);
    while (!query.empty()) {
      std::size_t amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      if (pair.empty()) continue;
      std::size_t eq = pair.find('=');
      std::string_view key = pair.substr(0, eq);
      std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
      request.query.emplace_back(percent_decode(key), percent_decode(value));
    }
  }

  while (next_line(line)) {
    if (line.empty()) {
      request.body = std::string(text);
      return request;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (request.headers.empty()) return std::nullopt;
      request.headers.back().second += "\n" + std::string(line);
      continue;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    request.headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return request;
}

}  // namespace chatd::llm
