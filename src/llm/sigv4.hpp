#pragma once
// AWS Signature Version 4 (header-based, AWS4-HMAC-SHA256) request signing, as Bedrock needs it.
// Pure: no clock, no I/O; the caller supplies the timestamp so results are reproducible and the
// signer can be checked against the AWS test suite.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatd::llm {

struct SigV4Request {
  std::string method;
  // The path exactly as it is sent on the wire, possibly containing %XX escapes. The canonical
  // URI encodes it once more (so "%3A" becomes "%253A"), as AWS requires for every service but S3.
  std::string path;
  // Query parameters DECODED (raw bytes, no %XX, '+' is a literal plus): the signer applies the
  // SigV4 encoding itself. Put them on the wire with sigv4_uri_encode() so what is sent matches
  // what was signed.
  std::vector<std::pair<std::string, std::string>> query;
  // Header names in any case; repeated names are allowed and kept in order. A value may hold
  // obsolete line folding ("a\n  b"), which is folded as the test suite expects ("a,b").
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct SigV4Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  // Temporary (STS) credentials only; empty otherwise.
  std::string session_token;
};

struct SigV4Result {
  std::string canonical_request;
  std::string string_to_sign;
  // Value of the Authorization header.
  std::string authorization;
};

// Signs `request`. Every header in `request.headers` is signed. `host` must be present (AWS
// rejects requests that don't sign it). x-amz-date = `amz_date` and, when
// `credentials.session_token` is set, x-amz-security-token = the token are always signed: they
// are added to the canonical headers when the request lacks them, and the CALLER must then send
// them too. A request that already carries either header with a different value, or no host
// header, throws std::invalid_argument, because its signature could never verify.
// `normalize_path` removes "." / ".." segments and duplicate slashes first (true for every
// service except S3). Note S3 also wants the path encoded only once; that mode is not provided
// because chatd only signs Bedrock requests.
SigV4Result sigv4_sign(const SigV4Request& request, const SigV4Credentials& credentials, std::string_view region,
                       std::string_view service, std::string_view amz_date /* YYYYMMDDTHHMMSSZ */,
                       bool normalize_path = true);

// RFC 3986 percent-encoding as SigV4 defines it: every byte except A-Z a-z 0-9 - . _ ~ becomes
// %XX with uppercase hex (a space is %20, never '+'). '/' is kept when `keep_slash`.
std::string sigv4_uri_encode(std::string_view text, bool keep_slash = false);

// A raw HTTP/1.1 request as the AWS SigV4 test suite writes its .req files: request line
// "METHOD target HTTP/1.1", header lines "Name:value" (continuation lines starting with
// whitespace are appended to the previous value after a '\n'), an empty line, then the body.
// The target's query is split on '&' and '=' and percent-decoded. Lines end in "\n" or "\r\n".
// Returns nullopt for a malformed request line or header line.
std::optional<SigV4Request> parse_sigv4_test_request(std::string_view text);

}  // namespace chatd::llm
