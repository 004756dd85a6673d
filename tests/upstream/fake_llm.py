#!/usr/bin/env python3
"""A fake LLM upstream for chatd's integration tests and benchmarks.

It speaks each provider's real wire protocol, so chatd talks to it exactly as it talks to the
real services:

  OpenAI-compatible   GET /v1/models, POST /v1/chat/completions (JSON or text/event-stream),
                      POST /v1/embeddings
  Anthropic           POST /v1/messages (JSON or text/event-stream with named events)
  AWS Bedrock Runtime POST /model/{modelId}/converse (JSON) and /model/{modelId}/converse-stream
                      (application/vnd.amazon.eventstream), POST /model/{modelId}/invoke for the
                      embedding models (Amazon Titan Text Embeddings, Cohere Embed); every
                      request's SigV4 signature checked

Usage:
  python3 fake_llm.py --port 0 [--host H] [--tls-cert F --tls-key F] [--openai-key K]
      [--anthropic-key K] [--aws-access-key-id ID --aws-secret-access-key S --aws-region R
      [--aws-session-token T]] [--models a,b,c] [--max-log N]

Once it listens it prints exactly one line, "listening <port>", to stdout. A key option that is
not given turns that check off (no AWS keys: signatures are not checked, sigv4_ok is null). When
--models is given, requests for any other model are refused the way each provider refuses an
unknown model; without it every model name is accepted and GET /v1/models lists "fake-gpt".

Requests are checked as the real services check them, answering in each one's error shape:
  OpenAI     Authorization: Bearer <key> (401 invalid_api_key); a model and non-empty messages
             with string or text-part content (400); an unknown model (404 model_not_found).
  Anthropic  x-api-key (401 authentication_error), then anthropic-version (400); model,
             max_tokens >= 1, messages only "user"/"assistant", starting with user and
             alternating, text content, system a string or text blocks (400
             invalid_request_error); an unknown model (404 not_found_error).
  Bedrock    SigV4 first (403, x-amzn-ErrorType AccessDeniedException, or
             UnrecognizedClientException for an unknown key id or session token): service
             "bedrock", the configured region, x-amz-date within 5 minutes, host and x-amz-date
             signed, the canonical URI being the raw path encoded once more (":" arrives as %3A,
             is signed as %253A). Then messages starting with user and alternating, non-blank
             text blocks, system a list of text blocks, a known model (400 ValidationException).

The HTTP/1.1 server is written by hand on asyncio streams so that the timing of every chunk and
every connection close is under the script's control: keep-alive, Content-Length or chunked
request bodies, chunked streaming responses.

Scripted behaviour
------------------
A directive anywhere in the text of the LAST user message picks the behaviour, so concurrent tests
don't interfere. When several appear, the first of this list wins:

  #hang          read the request, never answer (until the client closes)
  #stall         send the response head and 2 deltas, then go silent until the client closes
                 (not streaming: the head and half of the body)
  #midfail       3 deltas, then a failure. Streaming: OpenAI closes the connection without the
                 last chunk and [DONE]; Anthropic sends `event: error` (overloaded_error);
                 Bedrock sends an exception message (modelStreamErrorException). Not streaming:
                 the head and half of the body, then the connection is closed.
  #failN-500     e.g. #fail2-500: the first N requests whose last user message is exactly this
                 text fail with 500, later ones answer like echo (one counter per text)
  #fail500       HTTP 500 at once, in the provider's error shape
  #fail429       HTTP 429 with Retry-After: 1
  #fail400       HTTP 400
  #slow          like echo, but one delta every 200 ms and at least 30 deltas (" tick1 tick2 ..."
                 is appended to reach 30); not streaming: the answer comes after the same time
  #long          5000 deltas of 20 characters, as fast as possible
  #echo-history  ONE delta: a JSON list [{"role", "text"}] of the messages received, system
                 first (OpenAI: system messages where they are; Anthropic: the top-level system;
                 Bedrock: the system blocks)
  #image         one answer describing the images of the last user message, "images: " then
                 per image "image/png 68 bytes sha256:<16 hex>" (decoded from a data: URL, base64
                 source or Bedrock bytes) or "url https://..." (an URL passed on), joined by "; "
  #tool=NAME {json}
                 a tool call (one per directive, in order) of NAME with those arguments ({} when
                 no JSON follows); NAME must be one of the request's tools, else 400 in the
                 provider's shape. tool_choice applies: none -> no call (echo), a named tool or
                 required/any -> that (or the first) tool with {} when no directive asks;
                 parallel_tool_calls false / disable_parallel_tool_use -> the first call only.
                 Answers: OpenAI tool_calls + finish_reason "tool_calls"; Anthropic tool_use
                 blocks + stop_reason "tool_use"; Bedrock toolUse blocks + stopReason "tool_use".
                 Streamed: the id and name first, then the arguments in pieces of 10 characters
                 (OpenAI delta.tool_calls, Anthropic input_json_delta, Bedrock
                 contentBlockStart/contentBlockDelta toolUse).
  (tool results) when the request ends with tool results (OpenAI tool messages, Anthropic
                 tool_result blocks, Bedrock toolResult blocks) after an assistant message with
                 calls, the answer is "tool results: NAME(ID) = CONTENT; ..." in the order given
                 (Bedrock json content as compact JSON; an error result as "error: ...") and
                 takes precedence over every directive above.
  (json)         with response_format json_object or json_schema, the answer is
                 {"echo": <last user text>} as JSON text
  (none)         echo: "echo: " + the last user message text, one delta per word (a word keeps
                 the whitespace that follows it), so the deltas concatenate to the exact text

Requests with tools and images are checked as each provider documents: OpenAI function tools
(name pattern, parameters an object), tool_choice, assistant tool_calls answered by a tool
message for every id before anything else, image_url parts (data: URL or http(s)),
response_format; Anthropic tools with an object input_schema, tool_choice auto/any/tool/none,
tool_use ids answered by tool_result blocks first in the next user message, base64 or url
images of the four image types; Bedrock toolConfig (toolSpec with inputSchema.json,
toolChoice), toolUse/toolResult only with a toolConfig and every toolUse answered, images with
a format and bytes.

Embeddings: OpenAI's input (a string, strings, tokens or token lists), dimensions (default 16)
and encoding_format (float, or base64 of little-endian float32); Titan's inputText, dimensions
(256, 512 or 1024) and normalize; Cohere's texts (1-96) and input_type. Vectors are
deterministic (from SHA-256 of the text).

Usage is deterministic: prompt tokens = the number of whitespace-separated words over all
received message texts (system included), tool call arguments and results, plus 85 per
image; completion tokens = the number of deltas sent plus the pieces of tool-call arguments.
Independently of the directives above, "#absurd-usage" in the last user message makes the
reported prompt tokens 9223372036854775807 (INT64_MAX), as a broken or hostile server might.
Anthropic's message_start carries output_tokens 1 as the real API does; message_delta carries the
total. Bedrock stream payloads carry a "p" padding field, as the real service's do.

Control endpoints (no auth, not logged)
---------------------------------------
  GET /_files/red.png, /_files/red-as-octets (the same PNG as application/octet-stream),
               /_files/page.html: files for chatd to fetch when images are given by URL
  GET /_redirect?to=URL  302 to URL
  GET /_log    JSON list of every provider request received so far (unknown paths included,
               with provider null), each:
               {"id", "connection" (a number per TCP connection, to see keep-alive reuse),
               "provider": "openai"|"anthropic"|"bedrock"|null, "method", "path" (the raw
               request target), "headers" (lowercase names; repeats joined with ", "), "body"
               (parsed JSON; the raw text if it is not JSON; null if empty), "sigv4_ok" (bool,
               null unless Bedrock with keys configured), "sigv4_error" (why not, or null),
               "directive" (or null), "status" (HTTP status sent, null before the head),
               "started_at", "ended": null while in progress, then "complete" | "failed" (an
               error status, or a failure mid-answer) | "client_closed", "ended_at",
               "client_closed_at": time.monotonic() when the client was noticed closing the
               connection while the response was still in progress, else null}
               Times are time.monotonic() of this process. Only the newest --max-log entries
               (default 100000) are kept.
  POST /_reset clears the log and the #failN-500 counters.
  GET /_now    time.monotonic() as a JSON number.
"""

import argparse
import asyncio
import base64
import calendar
import hashlib
import hmac
import http
import json
import re
import signal
import ssl
import struct
import sys
import time
import traceback
import uuid
import zlib
from contextlib import suppress
from dataclasses import dataclass, field
from urllib.parse import unquote

# =================================================================================================
# AWS Signature Version 4
#
# Every string here holds raw bytes one to one (latin-1), as they come off the wire, so paths and
# query strings with UTF-8 or %XX escapes are encoded byte by byte exactly as AWS does.
# =================================================================================================

SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def sigv4_uri_encode(text, keep_slash=False):
    """RFC 3986 encoding as SigV4 wants it: all but A-Z a-z 0-9 - . _ ~ become %XX (uppercase)."""
    out = []
    for byte in text.encode("latin-1"):
        if byte in _UNRESERVED or (keep_slash and byte == 0x2F):
            out.append(chr(byte))
        else:
            out.append("%%%02X" % byte)
    return "".join(out)


def _percent_decode(text):
    # Lenient, like AWS: a '%' that doesn't start an escape stays literal.
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text)


def _normalize_path(path):
    """Removes '.', '..' and empty segments; keeps a trailing slash (all services but S3)."""
    segments = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    out = "".join("/" + s for s in segments)
    if not out or path.endswith("/"):
        out += "/"
    return out


def _canonical_query(raw_query):
    pairs = []
    for item in raw_query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((sigv4_uri_encode(_percent_decode(key)), sigv4_uri_encode(_percent_decode(value))))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _canonical_header_value(value):
    # Each line trimmed with inner runs of blanks collapsed; folded lines joined by ','.
    lines = (" ".join(line.replace("\t", " ").split()) for line in re.split(r"\r?\n", value))
    return ",".join(line for line in lines if line)


def sigv4_signing_key(secret, date, region, service):
    key = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


@dataclass
class SigV4Result:
    canonical_request: str
    string_to_sign: str
    signature: str
    authorization: str


def sigv4_sign(method, target, headers, body, access_key, secret, region, service, amz_date,
               signed_headers=None):
    """Signs a request as it goes on the wire.

    target: path and optional "?query", raw (the canonical URI is the normalised path encoded
    once more, so "%3A" is signed as "%253A"). headers: (name, value) pairs, names in any case,
    repeats allowed. body: bytes (or a latin-1 str). signed_headers: lowercase names to sign,
    default all of `headers`; each must be present. The caller sends x-amz-date (= amz_date) and
    host itself, so they must be in `headers`.
    """
    if isinstance(body, str):
        body = body.encode("latin-1")
    values = {}
    for name, value in headers:
        key = name.lower()
        canonical = _canonical_header_value(value)
        values[key] = values[key] + "," + canonical if key in values else canonical
    names = sorted(values) if signed_headers is None else list(signed_headers)
    missing = [n for n in names if n not in values]
    if missing:
        raise ValueError("signed headers missing from the request: " + ", ".join(missing))
    path, _, query = target.partition("?")
    canonical_request = "\n".join([
        method,
        sigv4_uri_encode(_normalize_path(path), keep_slash=True),
        _canonical_query(query),
        "".join(f"{n}:{values[n]}\n" for n in names),
        ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ])
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([SIGV4_ALGORITHM, amz_date, scope,
                                hashlib.sha256(canonical_request.encode("latin-1")).hexdigest()])
    signature = hmac.new(sigv4_signing_key(secret, date, region, service),
                         string_to_sign.encode("latin-1"), hashlib.sha256).hexdigest()
    authorization = (f"{SIGV4_ALGORITHM} Credential={access_key}/{scope}, "
                     f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return SigV4Result(canonical_request, string_to_sign, signature, authorization)


def amz_date_now(now=None):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))


def sigv4_client_headers(method, target, host, body, access_key, secret, region, service="bedrock",
                         headers=(), now=None, session_token=None):
    """What a client adds to sign a request: the headers to send (host, x-amz-date, the given
    ones, the token if any, authorization), every one of them signed."""
    out = [("Host", host), ("X-Amz-Date", amz_date_now(now)), *headers]
    if session_token:
        out.append(("X-Amz-Security-Token", session_token))
    result = sigv4_sign(method, target, out, body, access_key, secret, region, service, out[1][1])
    return out + [("Authorization", result.authorization)]


SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                      "Check your AWS Secret Access Key and signing method. "
                      "Consult the service documentation for details.")


@dataclass
class SigV4Check:
    ok: bool
    error_type: str = ""  # x-amzn-ErrorType when not ok
    message: str = ""


def sigv4_verify(method, target, headers, body, access_key, secret, region, service="bedrock",
                 session_token=None, now=None, max_skew=300):
    """Checks a received request's Authorization header independently of the client's code."""
    def denied(message=SIGNATURE_MISMATCH):
        return SigV4Check(False, "AccessDeniedException", message)

    lower = {}
    for name, value in headers:
        lower.setdefault(name.lower(), []).append(value)
    auth = lower.get("authorization", [])
    if len(auth) != 1:
        return denied("Missing Authentication Token" if not auth else "Repeated Authorization header")
    m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})",
                     auth[0].strip())
    if not m:
        return denied("Authorization header is not AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...")
    credential, signed, signature = m.groups()
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        return denied("Credential is not KEY/DATE/REGION/SERVICE/aws4_request: " + credential)
    key_id, date, cred_region, cred_service, _ = parts
    if not hmac.compare_digest(key_id, access_key):
        return SigV4Check(False, "UnrecognizedClientException", "The security token included in the request is invalid.")
    if cred_region != region:
        return denied(f"Credential should be scoped to a valid region, not '{cred_region}'.")
    if cred_service != service:
        return denied(f"Credential should be scoped to correct service: '{service}'.")
    amz_dates = lower.get("x-amz-date", [])
    if len(amz_dates) != 1 or not re.fullmatch(r"\d{8}T\d{6}Z", amz_dates[0].strip()):
        return denied("Missing or malformed X-Amz-Date header")
    amz_date = amz_dates[0].strip()
    if amz_date[:8] != date:
        return denied("Credential date does not match X-Amz-Date")
    signed_at = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    now = time.time() if now is None else now
    if abs(now - signed_at) > max_skew:
        return denied(f"Signature expired: {amz_date} is more than {max_skew // 60} minutes from "
                      f"{amz_date_now(now)}")
    names = signed.split(";")
    if names != sorted(set(names)) or any(n != n.lower() for n in names):
        return denied("SignedHeaders must be lowercase, sorted and without repeats")
    for required in ("host", "x-amz-date"):
        if required not in names:
            return denied(f"'{required}' must be a signed header")
    if session_token is not None:
        if lower.get("x-amz-security-token") != [session_token] or "x-amz-security-token" not in names:
            return SigV4Check(False, "UnrecognizedClientException", "The security token included in the request is invalid.")
    try:
        expected = sigv4_sign(method, target, headers, body, access_key, secret, region, service,
                              amz_date, signed_headers=names)
    except ValueError as e:
        return denied(str(e))
    if not hmac.compare_digest(expected.signature, signature):
        return denied()
    return SigV4Check(True)


# =================================================================================================
# AWS event stream framing (application/vnd.amazon.eventstream)
#   u32 total_length | u32 headers_length | u32 prelude_crc | headers | payload | u32 message_crc
#   header: u8 name_length | name | u8 type | value (7 = string: u16 length | UTF-8)
# =================================================================================================

def eventstream_encode(headers, payload):
    """headers: (name, value) pairs; str values are type 7 (string), bytes type 6, bool 0/1,
    int type 4 (int32). payload: bytes."""
    raw = bytearray()
    for name, value in headers:
        encoded_name = name.encode()
        raw += bytes([len(encoded_name)]) + encoded_name
        if isinstance(value, bool):
            raw.append(0 if value else 1)
        elif isinstance(value, int):
            raw.append(4)
            raw += struct.pack(">i", value)
        elif isinstance(value, bytes):
            raw.append(6)
            raw += struct.pack(">H", len(value)) + value
        else:
            encoded = value.encode()
            raw.append(7)
            raw += struct.pack(">H", len(encoded)) + encoded
    prelude = struct.pack(">II", 12 + len(raw) + len(payload) + 4, len(raw))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + bytes(raw) + payload
    return message + struct.pack(">I", zlib.crc32(message))


def eventstream_event(event_type, payload_obj):
    return eventstream_encode([(":event-type", event_type), (":content-type", "application/json"),
                               (":message-type", "event")], _json_bytes(payload_obj))


def eventstream_exception(exception_type, message):
    return eventstream_encode([(":exception-type", exception_type), (":content-type", "application/json"),
                               (":message-type", "exception")], _json_bytes({"message": message}))


# =================================================================================================
# HTTP/1.1 by hand
# =================================================================================================

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024


def _json_bytes(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class BadRequest(Exception):
    pass


class ClientGone(Exception):
    """The client closed the connection while a response was in progress."""


@dataclass
class Request:
    method: str
    target: str  # raw, latin-1
    headers: list  # (name, value) as received
    body: bytes = b""

    @property
    def path(self):
        return self.target.partition("?")[0]

    def header(self, name):
        values = [v for n, v in self.headers if n.lower() == name]
        return ", ".join(values) if values else None

    def header_dict(self):
        out = {}
        for name, value in self.headers:
            key = name.lower()
            out[key] = out[key] + ", " + value if key in out else value
        return out


def parse_head(text):
    """Parses "METHOD target HTTP/1.x" and header lines (a line starting with a blank continues
    the previous value after a '\\n'). Lines end in CRLF or LF. Returns (method, target, version,
    headers). Also reads the AWS SigV4 suite's .req files."""
    lines = re.split(r"\r?\n", text)
    request_line = lines[0]
    # The target may hold raw spaces (the SigV4 suite's get-space): split at the first and last.
    first, last = request_line.find(" "), request_line.rfind(" ")
    if first <= 0 or last <= first:
        raise BadRequest("malformed request line")
    method, target, version = request_line[:first], request_line[first + 1:last], request_line[last + 1:]
    if not version.startswith("HTTP/1."):
        raise BadRequest("unsupported HTTP version")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            if not headers:
                raise BadRequest("continuation line before any header")
            headers[-1] = (headers[-1][0], headers[-1][1] + "\n" + line)
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise BadRequest("malformed header line")
        headers.append((name, value.strip(" \t")))
    return method, target, version, headers


class Connection:
    """One client connection: reads requests one after another and writes responses.

    While a response is in progress a watcher keeps reading the socket, so a client that closes
    is noticed at once even when the script is silent (#hang, #stall). Bytes it reads (a
    pipelined request) are kept for the next request.
    """

    def __init__(self, number, reader, writer):
        self.number = number  # shown in the log, so tests can tell whether a connection was reused
        self.reader = reader
        self.writer = writer
        self.buf = bytearray()
        self.eof = False
        self.closed = asyncio.Event()  # the client went away during the current response
        self.closed_at = None
        self.head_sent = False
        self.status = None
        self.reusable = True  # false once a response was cut short: the next one can't follow it
        self.closing = False  # the client asked for Connection: close

    # ---- reading
    async def _fill(self):
        try:
            data = await self.reader.read(65536)
        except (ConnectionError, OSError, ssl.SSLError):
            data = b""
        if data:
            self.buf += data
        else:
            self.eof = True

    async def _read_exact(self, n):
        while len(self.buf) < n:
            if self.eof:
                raise BadRequest("body shorter than announced")
            await self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    async def _read_line(self):
        while b"\r\n" not in self.buf:
            if self.eof or len(self.buf) > MAX_HEAD:
                raise BadRequest("bad chunked body")
            await self._fill()
        idx = self.buf.index(b"\r\n")
        line = bytes(self.buf[:idx])
        del self.buf[:idx + 2]
        return line

    async def read_request(self):
        """The next request, or None when the client closed between requests."""
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            if len(self.buf) > MAX_HEAD:
                raise BadRequest("request head too large")
            if self.eof:
                if self.buf.strip():
                    raise BadRequest("truncated request head")
                return None
            await self._fill()
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[:end + 4]
        method, target, _version, headers = parse_head(head)
        request = Request(method, target, headers)
        if (request.header("expect") or "").lower() == "100-continue":
            await self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        te = request.header("transfer-encoding")
        if te is not None:
            if te.strip().lower() != "chunked" or request.header("content-length") is not None:
                raise BadRequest("unsupported transfer-encoding")
            body = bytearray()
            while True:
                size = int((await self._read_line()).split(b";")[0].strip() or b"x", 16)
                if size == 0:
                    while await self._read_line():  # trailers
                        pass
                    break
                body += await self._read_exact(size)
                await self._read_line()
                if len(body) > MAX_BODY:
                    raise BadRequest("body too large")
            request.body = bytes(body)
        elif (length := request.header("content-length")) is not None:
            if not length.isdigit() or int(length) > MAX_BODY:
                raise BadRequest("bad content-length")
            request.body = await self._read_exact(int(length))
        return request

    async def watch(self):
        while not self.eof:
            await self._fill()
        self.client_went_away()

    def client_went_away(self):
        if self.closed_at is None:
            self.closed_at = time.monotonic()
        self.closed.set()

    def begin_response(self):
        self.closed = asyncio.Event()
        self.closed_at = None
        self.head_sent = False
        self.status = None

    # ---- writing
    async def write(self, data):
        if self.closed.is_set():
            raise ClientGone()
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError, RuntimeError, ssl.SSLError):
            self.client_went_away()
            raise ClientGone()

    def _head(self, status, headers, extra):
        reason = http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ else "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}", "Date: " + time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())]
        if self.closing:
            extra = extra + [("Connection", "close")]
        lines += [f"{k}: {v}" for k, v in list(headers) + extra]
        self.status = status
        self.head_sent = True
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def send(self, status, headers, body, partial=None):
        """A complete response with Content-Length; `partial` sends only that many body bytes."""
        head = self._head(status, headers, [("Content-Length", str(len(body)))])
        await self.write(head + (body if partial is None else body[:partial]))

    async def start_stream(self, status, headers):
        await self.write(self._head(status, headers, [("Transfer-Encoding", "chunked")]))

    async def send_chunk(self, data):
        if data:
            await self.write(b"%x\r\n%s\r\n" % (len(data), data))

    async def end_stream(self):
        await self.write(b"0\r\n\r\n")

    async def wait_until_closed(self):
        await self.closed.wait()
        raise ClientGone()

    async def sleep(self, seconds):
        """Sleeps, but raises ClientGone as soon as the client closes."""
        try:
            await asyncio.wait_for(self.closed.wait(), seconds)
        except asyncio.TimeoutError:
            return
        raise ClientGone()


# =================================================================================================
# Scripts: what the model "answers", picked by a directive in the last user message
# =================================================================================================

SLOW_DELAY = 0.2
SLOW_MIN_DELTAS = 30
LONG_DELTAS = 5000
DIRECTIVES = ["#hang", "#stall", "#midfail", "#failN-500", "#fail500", "#fail429", "#fail400",
              "#slow", "#long", "#echo-history"]


@dataclass
class Turn:
    """A request reduced to what the scripts need, the same for every provider. History entries
    are {"role", "text"} plus, when present, "images" ([{"media_type", "size", "sha256"} or
    {"url"}]), "tool_calls" ([{"id", "name", "arguments"}], assistant) and "tool_results"
    ([{"id", "content"}]: OpenAI's tool messages, Anthropic's and Bedrock's result blocks)."""
    model: str
    history: list  # system first
    stream: bool
    include_usage: bool = False  # OpenAI's stream_options.include_usage
    tools: list = field(default_factory=list)  # the names of the tools offered
    tool_choice: object = "auto"  # "auto" | "none" | "required" | ("tool", name)
    parallel_tool_calls: bool = True
    json_answer: bool = False  # response_format json_object / json_schema

    @property
    def last_user(self):
        return next((m["text"] for m in reversed(self.history) if m["role"] == "user"), "")

    @property
    def last_user_entry(self):
        return next((m for m in reversed(self.history) if m["role"] == "user"), {})

    def trailing_tool_results(self):
        """The tool results after the last assistant message, with the names of their calls."""
        last_assistant = max((i for i, m in enumerate(self.history) if m["role"] == "assistant"), default=-1)
        if last_assistant < 0:
            return []
        names = {c["id"]: c["name"] for c in self.history[last_assistant].get("tool_calls", [])}
        out = []
        for m in self.history[last_assistant + 1:]:
            for r in m.get("tool_results", []):
                out.append({"id": r["id"], "name": names.get(r["id"], "?"), "content": r["content"]})
        return out

    @property
    def prompt_tokens(self):
        if _has(self.last_user, "#absurd-usage"):
            return 2**63 - 1
        words = 0
        for m in self.history:
            words += len(m["text"].split())
            words += sum(len(c["arguments"].split()) + 1 for c in m.get("tool_calls", []))
            words += sum(len(r["content"].split()) for r in m.get("tool_results", []))
            words += 85 * len(m.get("images", []))  # an image counts as 85 tokens, as OpenAI's "low" detail
        return words


@dataclass
class Script:
    directive: str | None
    action: str  # "answer" | "fail" | "midfail" | "hang" | "stall"
    deltas: list = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    tool_calls: list = field(default_factory=list)  # [{"name", "arguments"}]: answered after the deltas
    message: str | None = None  # a "fail" with its own message


TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
TOOL_DIRECTIVE = re.compile(r"#tool=([A-Za-z0-9_-]{1,64})")
ARGUMENT_PIECE = 10  # streamed tool-call arguments come in pieces of this many characters


def tool_directives(text):
    """[(name, arguments as compact JSON)] of every "#tool=NAME {json}" in `text` (no JSON: {})."""
    out = []
    decoder = json.JSONDecoder()
    for m in TOOL_DIRECTIVE.finditer(text):
        rest = text[m.end():]
        stripped = rest.lstrip()
        args = {}
        if stripped.startswith("{"):
            with suppress(ValueError):
                args, _ = decoder.raw_decode(stripped)
        out.append((m.group(1), json.dumps(args, separators=(",", ":"), ensure_ascii=False)))
    return out


def argument_pieces(arguments):
    return [arguments[i:i + ARGUMENT_PIECE] for i in range(0, len(arguments), ARGUMENT_PIECE)] or [""]


IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def image_info(media_type, data):
    return {"media_type": media_type, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def image_from_base64(media_type, text):
    """The info of a base64 image, or None when it is not valid base64 of a known type."""
    if media_type not in IMAGE_TYPES or not isinstance(text, str):
        return None
    try:
        data = base64.b64decode(text, validate=True)
    except ValueError:
        return None
    return image_info(media_type, data) if data else None


def image_from_url(url):
    """OpenAI's image_url: a data: URL (decoded) or an http(s) URL (kept as is); None otherwise."""
    m = re.fullmatch(r"data:(image/[a-z]+);base64,(.*)", url, re.S)
    if m:
        return image_from_base64(m.group(1), m.group(2))
    if re.match(r"https?://[^\s/]+", url):
        return {"url": url}
    return None


def describe_image(image):
    if "url" in image:
        return "url " + image["url"]
    return f"{image['media_type']} {image['size']} bytes sha256:{image['sha256'][:16]}"


def word_deltas(text):
    """One delta per word, each keeping the whitespace that follows it; they join to `text`."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def _padded(text, minimum):
    deltas = word_deltas(text)
    if len(deltas) < minimum:
        text += "".join(f" tick{i}" for i in range(1, minimum - len(deltas) + 1))
        deltas = word_deltas(text)
    return deltas


def _has(text, directive):
    return re.search(re.escape(directive) + r"(?![\w-])", text) is not None


class Scripts:
    def __init__(self):
        self.fail_counters = {}

    def reset(self):
        self.fail_counters.clear()

    def pick(self, turn):
        text = turn.last_user
        echo = "echo: " + text
        results = turn.trailing_tool_results()
        if results:
            # The model's answer from the tool results it was given (the scripted second round).
            said = "; ".join(f"{r['name']}({r['id']}) = {r['content']}" for r in results)
            return Script("#tool-results", "answer", word_deltas("tool results: " + said))
        if _has(text, "#hang"):
            return Script("#hang", "hang")
        if _has(text, "#stall"):
            return Script("#stall", "stall", _padded(echo, 3))
        if _has(text, "#midfail"):
            return Script("#midfail", "midfail", _padded(echo, 4))
        m = re.search(r"#fail(\d+)-500(?![\w-])", text)
        if m:
            count = self.fail_counters[text] = self.fail_counters.get(text, 0) + 1
            if count <= int(m.group(1)):
                return Script(m.group(0), "fail", status=500)
            return Script(m.group(0), "answer", word_deltas(echo))
        for code in (500, 429, 400):
            if _has(text, f"#fail{code}"):
                return Script(f"#fail{code}", "fail", status=code)
        if _has(text, "#slow"):
            return Script("#slow", "answer", _padded(echo, SLOW_MIN_DELTAS), delay=SLOW_DELAY)
        if _has(text, "#long"):
            return Script("#long", "answer", [f"w{i:05d} lorem ipsum, " for i in range(LONG_DELTAS)])
        if _has(text, "#echo-history"):
            history = json.dumps([{"role": m["role"], "text": m["text"]} for m in turn.history])
            return Script("#echo-history", "answer", [history])
        if _has(text, "#image"):
            images = turn.last_user_entry.get("images", [])
            said = "; ".join(describe_image(i) for i in images) or "none"
            return Script("#image", "answer", word_deltas("images: " + said))
        calls = self.tool_calls(turn, text)
        if isinstance(calls, Script):
            return calls
        if calls:
            return Script("#tool", "answer", tool_calls=calls)
        if turn.json_answer:
            return Script("#json", "answer", word_deltas(json.dumps({"echo": text})))
        return Script(None, "answer", word_deltas(echo))

    @staticmethod
    def tool_calls(turn, text):
        """The calls a model would make: "#tool=NAME {args}" directives, or what tool_choice
        forces (the named or first tool, with {}). A directive naming a tool the request did not
        offer is refused (400), so that a dropped tool definition cannot pass unnoticed."""
        wanted = tool_directives(text)
        if turn.tool_choice == "none":
            return []
        for name, _ in wanted:
            if name not in turn.tools:
                return Script("#tool", "fail", status=400,
                              message=f"the request asks for tool {name!r}, which it does not define")
        if isinstance(turn.tool_choice, tuple):
            forced = turn.tool_choice[1]
            wanted = [w for w in wanted if w[0] == forced] or [(forced, "{}")]
        elif turn.tool_choice == "required" and not wanted and turn.tools:
            wanted = [(turn.tools[0], "{}")]
        if not turn.parallel_tool_calls:
            wanted = wanted[:1]
        return [{"name": n, "arguments": a} for n, a in wanted]


def fake_embedding(text, dimensions):
    """A deterministic vector for `text`: floats in [-1, 1) from SHA-256 of the text."""
    out = []
    counter = 0
    while len(out) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        out += [round(int.from_bytes(digest[k:k + 4], "big") / 2**31 - 1, 6) for k in range(0, 32, 4)]
        counter += 1
    return out[:dimensions]


def _png(width, height):
    """A valid RGB PNG of the given size (red pixels)."""
    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) +
            chunk(b"IEND", b""))


# GET paths served to anyone (images for chatd to fetch by URL): path -> (content type, body);
# /_redirect?to=URL answers 302 to that URL.
FILES = {
    "/_files/red.png": ("image/png", _png(3, 2)),
    "/_files/red-as-octets": ("application/octet-stream", _png(3, 2)),
    "/_files/page.html": ("text/html", b"<!doctype html><title>not an image</title>"),
    "/_redirect": (None, b""),
}

OPENAI_EMBEDDING_DIMENSIONS = 16
TITAN_DIMENSIONS = (256, 512, 1024)
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")


class Rejected(Exception):
    """A request the provider refuses: carries the provider-shaped response."""

    def __init__(self, status, headers, body):
        super().__init__(status)
        self.status, self.headers, self.body = status, headers, body


# =================================================================================================
# OpenAI-compatible
# =================================================================================================

class OpenAI:
    name = "openai"
    sse_type = "text/event-stream; charset=utf-8"

    def __init__(self, config):
        self.key = config.openai_key
        self.models = config.models

    @staticmethod
    def error(status, message, err_type="invalid_request_error", code=None, headers=()):
        body = {"error": {"message": message, "type": err_type, "param": None, "code": code}}
        return Rejected(status, [("Content-Type", "application/json"), *headers], _json_bytes(body))

    def check_auth(self, request):
        if self.key is None:
            return
        auth = request.header("authorization") or ""
        if not hmac.compare_digest(auth.encode(), ("Bearer " + self.key).encode()):
            shown = auth[7:] if auth.startswith("Bearer ") else ""
            raise self.error(401, f"Incorrect API key provided: {shown[:4]}****. You can find your API key "
                                  "at https://platform.openai.com/account/api-keys.", code="invalid_api_key")

    def models_body(self):
        names = self.models or ["fake-gpt"]
        return {"object": "list", "data": [{"id": n, "object": "model", "created": 1700000000,
                                            "owned_by": "fake-llm"} for n in names]}

    def _content(self, content, where, role):
        """(text, images) of a message's content: a string, null, or a list of parts."""
        if content is None:
            return "", []
        if isinstance(content, str):
            return content, []
        if not isinstance(content, list):
            raise self.error(400, f"Invalid type for '{where}': expected one of a string or an array.")
        texts, images = [], []
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind == "image_url" and role == "user":
                url = part.get("image_url", {}).get("url") if isinstance(part.get("image_url"), dict) else None
                image = image_from_url(url) if isinstance(url, str) else None
                if image is None:
                    raise self.error(400, f"Invalid image URL: '{where}[{j}].image_url.url'. Expected a base64-encoded "
                                          "data URL with an image MIME type (e.g. 'data:image/png;base64,...'), or "
                                          "a valid URL.", code="invalid_image_url")
                images.append(image)
            else:
                raise self.error(400, f"Invalid value: '{kind}'. Supported values are: 'text' and 'image_url'.")
        return "".join(texts), images

    def _tools(self, body):
        tools = body.get("tools")
        names = []
        if tools is not None:
            if not isinstance(tools, list):
                raise self.error(400, "Invalid type for 'tools': expected an array.")
            for i, tool in enumerate(tools):
                function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
                if not isinstance(function, dict) or not isinstance(function.get("name"), str) \
                        or not TOOL_NAME.fullmatch(function["name"]):
                    raise self.error(400, f"Invalid 'tools[{i}].function.name': string does not match pattern. "
                                          "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.")
                if "parameters" in function and not isinstance(function["parameters"], dict):
                    raise self.error(400, f"Invalid type for 'tools[{i}].function.parameters': expected an object.")
                names.append(function["name"])
        choice = body.get("tool_choice", "auto")
        if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("function"), dict) \
                and choice["function"].get("name") in names:
            choice = ("tool", choice["function"]["name"])
        elif choice not in ("none", "auto", "required"):
            raise self.error(400, "Invalid value for 'tool_choice'.")
        if "tool_choice" in body and not names:
            raise self.error(400, "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
                                  "specified.")
        parallel = body.get("parallel_tool_calls", True)
        if not isinstance(parallel, bool):
            raise self.error(400, "Invalid type for 'parallel_tool_calls': expected a boolean.")
        return names, choice, parallel

    def parse(self, request, body):
        if not isinstance(body, dict):
            raise self.error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body.get("model"), str):
            raise self.error(400, "you must provide a model parameter")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise self.error(400, "'messages' must be a non-empty array")
        if self.models and body["model"] not in self.models:
            raise self.error(404, f"The model `{body['model']}` does not exist or you do not have access to it.",
                             code="model_not_found")
        names, choice, parallel = self._tools(body)
        history = []
        pending = []  # tool_call_ids of the last assistant message still without their tool message
        for i, msg in enumerate(messages):
            role = msg.get("role") if isinstance(msg, dict) else None
            if role not in ("system", "developer", "user", "assistant", "tool"):
                raise self.error(400, f"Invalid value for 'messages[{i}].role'.")
            if pending and role != "tool":
                raise self.error(400, "An assistant message with 'tool_calls' must be followed by tool messages "
                                      "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                                      f"response messages: {', '.join(pending)}")
            text, images = self._content(msg.get("content"), f"messages[{i}].content", role)
            entry = {"role": role, "text": text}
            if images:
                entry["images"] = images
            if role == "assistant" and msg.get("tool_calls") is not None:
                calls = msg["tool_calls"]
                if not isinstance(calls, list) or not calls:
                    raise self.error(400, f"Invalid type for 'messages[{i}].tool_calls': expected a non-empty array.")
                entry["tool_calls"] = []
                for j, call in enumerate(calls):
                    f = call.get("function") if isinstance(call, dict) else None
                    if not isinstance(call, dict) or not isinstance(call.get("id"), str) \
                            or call.get("type") != "function" or not isinstance(f, dict) \
                            or not isinstance(f.get("name"), str) or not isinstance(f.get("arguments"), str):
                        raise self.error(400, f"Invalid value for 'messages[{i}].tool_calls[{j}]'.")
                    entry["tool_calls"].append({"id": call["id"], "name": f["name"], "arguments": f["arguments"]})
                pending = [c["id"] for c in entry["tool_calls"]]
            elif role == "assistant" and msg.get("content") is None:
                raise self.error(400, f"Invalid value for 'messages[{i}].content': expected a string or an array "
                                      "unless 'tool_calls' is given.")
            if role == "tool":
                call_id = msg.get("tool_call_id")
                if not isinstance(call_id, str) or call_id not in pending:
                    raise self.error(400, "Invalid parameter: messages with role 'tool' must be a response to a "
                                          "preceeding message with 'tool_calls'.")
                pending.remove(call_id)
                entry["tool_results"] = [{"id": call_id, "content": text}]
            history.append(entry)
        if pending:
            raise self.error(400, "An assistant message with 'tool_calls' must be followed by tool messages "
                                  "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                                  f"response messages: {', '.join(pending)}")
        json_answer = False
        fmt = body.get("response_format")
        if fmt is not None:
            kind = fmt.get("type") if isinstance(fmt, dict) else None
            if kind not in ("text", "json_object", "json_schema"):
                raise self.error(400, "Invalid value for 'response_format.type'.")
            if kind == "json_schema" and not (isinstance(fmt.get("json_schema"), dict)
                                              and isinstance(fmt["json_schema"].get("name"), str)):
                raise self.error(400, "Missing required parameter: 'response_format.json_schema.name'.")
            json_answer = kind != "text"
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return Turn(body["model"], history, bool(body.get("stream")), include_usage, names, choice, parallel,
                    json_answer)

    def fail(self, status, message=None):
        if status == 429:
            return self.error(429, "Rate limit reached for requests. Please try again in 1s.", "requests",
                              "rate_limit_exceeded", headers=[("Retry-After", "1")])
        if status == 400:
            return self.error(400, message or "Invalid request (scripted #fail400).")
        return self.error(500, "The server had an error while processing your request. Sorry about that!",
                          "server_error")

    # ---- answers
    def begin(self, ctx):
        ctx.id = "chatcmpl-" + uuid.uuid4().hex[:24]
        ctx.created = int(time.time())

    def _usage(self, ctx, completion):
        return {"prompt_tokens": ctx.turn.prompt_tokens, "completion_tokens": completion,
                "total_tokens": ctx.turn.prompt_tokens + completion}

    def complete_body(self, ctx, text, completion):
        message = {"role": "assistant", "content": text, "refusal": None}
        finish = "stop"
        if ctx.calls:
            message["content"] = text or None
            message["tool_calls"] = [{"id": c["id"], "type": "function",
                                      "function": {"name": c["name"], "arguments": c["arguments"]}} for c in ctx.calls]
            finish = "tool_calls"
        return {"id": ctx.id, "object": "chat.completion", "created": ctx.created, "model": ctx.turn.model,
                "system_fingerprint": None,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": self._usage(ctx, completion)}

    @staticmethod
    def call_id():
        return "call_" + uuid.uuid4().hex[:24]

    def embeddings(self, request, body):
        """POST /v1/embeddings: input a string, a list of strings, a list of tokens or a list of
        token lists; dimensions; encoding_format float or base64 (little-endian float32)."""
        if not isinstance(body, dict):
            raise self.error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body.get("model"), str):
            raise self.error(400, "you must provide a model parameter")
        if self.models and body["model"] not in self.models:
            raise self.error(404, f"The model `{body['model']}` does not exist or you do not have access to it.",
                             code="model_not_found")
        raw = body.get("input")
        if isinstance(raw, str):
            texts = [raw]
        elif isinstance(raw, list) and raw and all(isinstance(t, str) for t in raw):
            texts = raw
        elif isinstance(raw, list) and raw and all(isinstance(t, int) and not isinstance(t, bool) for t in raw):
            texts = [" ".join(map(str, raw))]
        elif isinstance(raw, list) and raw and all(isinstance(t, list) and t and all(
                isinstance(x, int) and not isinstance(x, bool) for x in t) for t in raw):
            texts = [" ".join(map(str, t)) for t in raw]
        else:
            raise self.error(400, "'$.input' is invalid. Please check the API reference: "
                                  "https://platform.openai.com/docs/api-reference.")
        if len(texts) > 2048 or any(t == "" for t in texts):
            raise self.error(400, "'$.input' is invalid. Please check the API reference: "
                                  "https://platform.openai.com/docs/api-reference.")
        dimensions = body.get("dimensions", OPENAI_EMBEDDING_DIMENSIONS)
        if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 1 <= dimensions <= 3072:
            raise self.error(400, "Invalid value for 'dimensions'.")
        fmt = body.get("encoding_format", "float")
        if fmt not in ("float", "base64"):
            raise self.error(400, "Invalid value for 'encoding_format': expected 'float' or 'base64'.")
        data = []
        for i, text in enumerate(texts):
            vector = fake_embedding(text, dimensions)
            if fmt == "base64":
                vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": i, "embedding": vector})
        tokens = sum(len(t.split()) for t in texts)
        return {"object": "list", "data": data, "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    def stream_headers(self, ctx):
        return [("Content-Type", self.sse_type), ("Cache-Control", "no-cache")]

    def _chunk(self, ctx, delta, finish_reason=None):
        chunk = {"id": ctx.id, "object": "chat.completion.chunk", "created": ctx.created, "model": ctx.turn.model,
                 "system_fingerprint": None,
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}
        if ctx.turn.include_usage:
            chunk["usage"] = None
        return b"data: " + _json_bytes(chunk) + b"\n\n"

    def stream_start(self, ctx):
        content = "" if ctx.script.deltas or not ctx.calls else None
        return [self._chunk(ctx, {"role": "assistant", "content": content, "refusal": None})]

    def stream_delta(self, ctx, text):
        return self._chunk(ctx, {"content": text})

    def stream_tool_call(self, ctx, index, call):
        """The name (and id) first, then the arguments in pieces, as OpenAI streams them."""
        first = {"index": index, "id": call["id"], "type": "function",
                 "function": {"name": call["name"], "arguments": ""}}
        frames = [self._chunk(ctx, {"tool_calls": [first]})]
        for piece in argument_pieces(call["arguments"]):
            frames.append(self._chunk(ctx, {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
        return frames

    def stream_end(self, ctx, completion):
        frames = [self._chunk(ctx, {}, "tool_calls" if ctx.calls else "stop")]
        if ctx.turn.include_usage:
            usage = {"id": ctx.id, "object": "chat.completion.chunk", "created": ctx.created,
                     "model": ctx.turn.model, "system_fingerprint": None, "choices": [],
                     "usage": self._usage(ctx, completion)}
            frames.append(b"data: " + _json_bytes(usage) + b"\n\n")
        return frames + [b"data: [DONE]\n\n"]

    def stream_failure(self, ctx):
        return None  # the connection is cut: no final chunk, no [DONE]


# =================================================================================================
# Anthropic Messages
# =================================================================================================

ANTHROPIC_VERSIONS = ("2023-06-01", "2023-01-01")


class Anthropic:
    name = "anthropic"

    def __init__(self, config):
        self.key = config.anthropic_key
        self.models = config.models

    @staticmethod
    def error(status, err_type, message, headers=()):
        body = {"type": "error", "error": {"type": err_type, "message": message}}
        return Rejected(status, [("Content-Type", "application/json"), ("request-id", "req_" + uuid.uuid4().hex[:24]),
                                 *headers], _json_bytes(body))

    def check_auth(self, request):
        if self.key is not None:
            key = request.header("x-api-key")
            if key is None:
                raise self.error(401, "authentication_error", "x-api-key header is required")
            if not hmac.compare_digest(key.encode(), self.key.encode()):
                raise self.error(401, "authentication_error", "invalid x-api-key")
        version = request.header("anthropic-version")
        if version is None:
            raise self.error(400, "invalid_request_error", "anthropic-version: header is required")
        if version not in ANTHROPIC_VERSIONS:
            raise self.error(400, "invalid_request_error", f"anthropic-version: invalid version '{version}'")

    def _text(self, content, where):
        if isinstance(content, str):
            text = content
        elif isinstance(content, list) and content:
            parts = []
            for j, block in enumerate(content):
                if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
                    raise self.error(400, "invalid_request_error", f"{where}.{j}: expected a text block")
                parts.append(block["text"])
            text = "".join(parts)
        else:
            raise self.error(400, "invalid_request_error", f"{where}: expected a string or a list of text blocks")
        return text

    def _image(self, block, where):
        source = block.get("source")
        kind = source.get("type") if isinstance(source, dict) else None
        if kind == "base64":
            if source.get("media_type") not in IMAGE_TYPES:
                raise self.error(400, "invalid_request_error", f"{where}.source.media_type: Input should be "
                                 "'image/jpeg', 'image/png', 'image/gif' or 'image/webp'")
            image = image_from_base64(source["media_type"], source.get("data"))
            if image is None:
                raise self.error(400, "invalid_request_error", f"{where}.source.data: invalid base64 data")
            return image
        if kind == "url" and isinstance(source.get("url"), str) and source["url"].startswith("https://"):
            return {"url": source["url"]}
        raise self.error(400, "invalid_request_error", f"{where}.source: Input tag '{kind}' found using 'type' does "
                         "not match any of the expected tags: 'base64', 'url'")

    def _blocks(self, content, where, role, expected_results):
        """An entry {"role", "text", ...} from a message's content (a string or a list of blocks)."""
        entry = {"role": role, "text": ""}
        if isinstance(content, str):
            entry["text"] = content
            if expected_results:
                raise self.error(400, "invalid_request_error", f"{where}: `tool_use` ids were found without "
                                 f"`tool_result` blocks immediately after: {', '.join(expected_results)}. Each "
                                 "`tool_use` block must have a corresponding `tool_result` block in the next message.")
            return entry
        if not isinstance(content, list) or not content:
            raise self.error(400, "invalid_request_error", f"{where}: expected a string or a list of content blocks")
        texts = []
        results_done = False
        for j, block in enumerate(content):
            kind = block.get("type") if isinstance(block, dict) else None
            at = f"{where}.{j}"
            if kind == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
                results_done = True
            elif kind == "image" and role == "user":
                entry.setdefault("images", []).append(self._image(block, at))
                results_done = True
            elif kind == "tool_use" and role == "assistant":
                if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str) \
                        or not isinstance(block.get("input"), dict):
                    raise self.error(400, "invalid_request_error", f"{at}.tool_use: id, name and input are required")
                entry.setdefault("tool_calls", []).append(
                    {"id": block["id"], "name": block["name"],
                     "arguments": json.dumps(block["input"], separators=(",", ":"), ensure_ascii=False)})
            elif kind == "tool_result" and role == "user":
                if results_done:
                    raise self.error(400, "invalid_request_error", f"{at}: `tool_result` blocks must come first in "
                                     "the message content, before any other block")
                tool_id = block.get("tool_use_id")
                if tool_id not in expected_results:
                    raise self.error(400, "invalid_request_error", f"{at}: unexpected `tool_use_id` found in "
                                     f"`tool_result` blocks: {tool_id}. Each `tool_result` block must have a "
                                     "corresponding `tool_use` block in the previous message.")
                inner = block.get("content", "")
                if isinstance(inner, list):
                    inner = self._text(inner, f"{at}.content") if inner else ""
                elif not isinstance(inner, str):
                    raise self.error(400, "invalid_request_error", f"{at}.content: expected a string or blocks")
                if block.get("is_error"):
                    inner = "error: " + inner
                entry.setdefault("tool_results", []).append({"id": tool_id, "content": inner})
            else:
                raise self.error(400, "invalid_request_error", f"{at}: unexpected block type {kind!r} in a {role} "
                                 "message")
        answered = {r["id"] for r in entry.get("tool_results", [])}
        missing = [i for i in expected_results if i not in answered]
        if missing:
            raise self.error(400, "invalid_request_error", f"{where}: `tool_use` ids were found without "
                             f"`tool_result` blocks immediately after: {', '.join(missing)}. Each `tool_use` block "
                             "must have a corresponding `tool_result` block in the next message.")
        entry["text"] = "".join(texts)
        return entry

    def _tools(self, body):
        tools = body.get("tools")
        names = []
        if tools is not None:
            if not isinstance(tools, list):
                raise self.error(400, "invalid_request_error", "tools: Input should be a valid list")
            for i, tool in enumerate(tools):
                if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) \
                        or not TOOL_NAME.fullmatch(tool["name"]):
                    raise self.error(400, "invalid_request_error", f"tools.{i}.name: String should match pattern "
                                     "'^[a-zA-Z0-9_-]{1,64}$'")
                schema = tool.get("input_schema")
                if not isinstance(schema, dict):
                    raise self.error(400, "invalid_request_error", f"tools.{i}.custom.input_schema: Field required")
                if schema.get("type") != "object":
                    raise self.error(400, "invalid_request_error", f"tools.{i}.custom.input_schema.type: Input "
                                     "should be 'object'")
                names.append(tool["name"])
        choice, parallel = "auto", True
        raw = body.get("tool_choice")
        if raw is not None:
            kind = raw.get("type") if isinstance(raw, dict) else None
            if kind == "auto":
                choice = "auto"
            elif kind == "any":
                choice = "required"
            elif kind == "none":
                choice = "none"
            elif kind == "tool" and raw.get("name") in names:
                choice = ("tool", raw["name"])
            else:
                raise self.error(400, "invalid_request_error", "tool_choice: Input tag found using 'type' does not "
                                 "match any of the expected tags: 'auto', 'any', 'tool', 'none' (or names no tool)")
            if kind != "none" and not names:
                raise self.error(400, "invalid_request_error", "tool_choice may only be specified while providing "
                                 "tools.")
            parallel = not raw.get("disable_parallel_tool_use", False)
        return names, choice, parallel

    def parse(self, request, body):
        def invalid(message):
            return self.error(400, "invalid_request_error", message)

        if not isinstance(body, dict):
            raise invalid("Request body must be a JSON object")
        if not isinstance(body.get("model"), str):
            raise invalid("model: Field required")
        if not isinstance(body.get("max_tokens"), int) or isinstance(body.get("max_tokens"), bool):
            raise invalid("max_tokens: Field required")
        if body["max_tokens"] < 1:
            raise invalid("max_tokens: Input should be greater than or equal to 1")
        if self.models and body["model"] not in self.models:
            raise self.error(404, "not_found_error", f"model: {body['model']}")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise invalid("messages: at least one message is required")
        names, choice, parallel = self._tools(body)
        history = []
        if "system" in body:
            system = self._text(body["system"], "system")
            history.append({"role": "system", "text": system})
        expected = "user"
        pending = []  # tool_use ids of the previous assistant message
        for i, msg in enumerate(messages):
            role = msg.get("role") if isinstance(msg, dict) else None
            if role not in ("user", "assistant"):
                raise invalid(f'messages.{i}.role: Input should be "user" or "assistant"')
            if i == 0 and role != "user":
                raise invalid("messages: first message must use the \"user\" role")
            if role != expected:
                raise invalid("messages: roles must alternate between \"user\" and \"assistant\", "
                              "but found multiple \"" + role + "\" roles in a row")
            entry = self._blocks(msg.get("content"), f"messages.{i}.content", role, pending if role == "user" else [])
            empty = not entry["text"] and not any(k in entry for k in ("images", "tool_calls", "tool_results"))
            if empty and i != len(messages) - 1:
                raise invalid(f"messages.{i}: all messages must have non-empty content except for the optional "
                              "final assistant message")
            pending = [c["id"] for c in entry.get("tool_calls", [])] if role == "assistant" else []
            history.append(entry)
            expected = "assistant" if role == "user" else "user"
        return Turn(body["model"], history, bool(body.get("stream")), False, names, choice, parallel)

    def fail(self, status, message=None):
        if status == 429:
            return self.error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute "
                                                       "rate limit", headers=[("Retry-After", "1")])
        if status == 400:
            return self.error(400, "invalid_request_error", message or "Invalid request (scripted #fail400).")
        return self.error(500, "api_error", "Internal server error")

    # ---- answers
    def begin(self, ctx):
        ctx.id = "msg_" + uuid.uuid4().hex[:24]

    @staticmethod
    def call_id():
        return "toolu_01" + uuid.uuid4().hex[:22]

    def complete_body(self, ctx, text, completion):
        content = [{"type": "text", "text": text}] if text or not ctx.calls else []
        content += [{"type": "tool_use", "id": c["id"], "name": c["name"], "input": json.loads(c["arguments"])}
                    for c in ctx.calls]
        return {"id": ctx.id, "type": "message", "role": "assistant", "model": ctx.turn.model,
                "content": content, "stop_reason": "tool_use" if ctx.calls else "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": ctx.turn.prompt_tokens, "output_tokens": completion}}

    def stream_headers(self, ctx):
        return [("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache"),
                ("request-id", "req_" + ctx.id[4:])]

    @staticmethod
    def _event(payload):
        return b"event: " + payload["type"].encode() + b"\ndata: " + _json_bytes(payload) + b"\n\n"

    def _text_block(self, ctx):
        return bool(ctx.script.deltas) or not ctx.calls

    def stream_start(self, ctx):
        message = {"id": ctx.id, "type": "message", "role": "assistant", "model": ctx.turn.model, "content": [],
                   "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": ctx.turn.prompt_tokens, "output_tokens": 1}}
        frames = [self._event({"type": "message_start", "message": message})]
        if self._text_block(ctx):
            frames.append(self._event({"type": "content_block_start", "index": 0,
                                       "content_block": {"type": "text", "text": ""}}))
        return frames + [self._event({"type": "ping"})]

    def stream_delta(self, ctx, text):
        return self._event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}})

    def stream_tool_call(self, ctx, index, call):
        """A tool_use block: its start (id, name, empty input), the input as input_json_delta
        pieces, its stop. Blocks are numbered after the text block when there is one."""
        block = index + (1 if self._text_block(ctx) else 0)
        frames = []
        if index == 0 and self._text_block(ctx):
            frames.append(self._event({"type": "content_block_stop", "index": 0}))
        frames.append(self._event({"type": "content_block_start", "index": block,
                                   "content_block": {"type": "tool_use", "id": call["id"], "name": call["name"],
                                                     "input": {}}}))
        for piece in argument_pieces(call["arguments"]):
            frames.append(self._event({"type": "content_block_delta", "index": block,
                                       "delta": {"type": "input_json_delta", "partial_json": piece}}))
        frames.append(self._event({"type": "content_block_stop", "index": block}))
        return frames

    def stream_end(self, ctx, completion):
        frames = [] if ctx.calls else [self._event({"type": "content_block_stop", "index": 0})]
        return frames + [
            self._event({"type": "message_delta",
                         "delta": {"stop_reason": "tool_use" if ctx.calls else "end_turn", "stop_sequence": None},
                         "usage": {"output_tokens": completion}}),
            self._event({"type": "message_stop"})]

    def stream_failure(self, ctx):
        return self._event({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})


# =================================================================================================
# AWS Bedrock Runtime (Converse, ConverseStream)
# =================================================================================================

BEDROCK_PATH = re.compile(r"/model/([^/]+)/(converse|converse-stream)")
BEDROCK_INVOKE = re.compile(r"/model/([^/]+)/invoke")  # InvokeModel: the embedding models here


class Bedrock:
    name = "bedrock"

    def __init__(self, config):
        self.config = config
        self.models = config.models

    @staticmethod
    def error(status, err_type, message, headers=()):
        return Rejected(status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", err_type),
                                 ("x-amzn-RequestId", str(uuid.uuid4())), *headers], _json_bytes({"message": message}))

    def check_auth(self, request, entry):
        c = self.config
        if c.aws_access_key_id is None:
            return
        check = sigv4_verify(request.method, request.target, request.headers, request.body, c.aws_access_key_id,
                             c.aws_secret_access_key, c.aws_region, "bedrock", session_token=c.aws_session_token)
        entry["sigv4_ok"] = check.ok
        entry["sigv4_error"] = None if check.ok else check.message
        if not check.ok:
            raise self.error(403, check.error_type, check.message)

    def _tools(self, body, invalid):
        config = body.get("toolConfig")
        names, choice = [], "auto"
        if config is None:
            return names, choice
        if not isinstance(config, dict) or not isinstance(config.get("tools"), list) or not config["tools"]:
            raise invalid("toolConfig.tools: expected a non-empty list")
        for i, tool in enumerate(config["tools"]):
            spec = tool.get("toolSpec") if isinstance(tool, dict) else None
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not TOOL_NAME.fullmatch(spec["name"]):
                raise invalid(f"toolConfig.tools.{i}.toolSpec.name: expected a name matching [a-zA-Z0-9_-]{{1,64}}")
            schema = spec.get("inputSchema")
            if not isinstance(schema, dict) or not isinstance(schema.get("json"), dict):
                raise invalid(f"toolConfig.tools.{i}.toolSpec.inputSchema: expected {{\"json\": {{...}}}}")
            names.append(spec["name"])
        raw = config.get("toolChoice")
        if raw is not None:
            if raw == {"auto": {}}:
                choice = "auto"
            elif raw == {"any": {}}:
                choice = "required"
            elif isinstance(raw, dict) and list(raw) == ["tool"] and isinstance(raw["tool"], dict) \
                    and raw["tool"].get("name") in names:
                choice = ("tool", raw["tool"]["name"])
            else:
                raise invalid("toolConfig.toolChoice: expected {\"auto\": {}}, {\"any\": {}} or {\"tool\": {\"name\": "
                              "...}} naming a defined tool")
        return names, choice

    def _blocks(self, content, i, role, expected_results, has_tools, invalid):
        if not isinstance(content, list) or not content:
            raise invalid(f"messages.{i}.content: expected a non-empty list of content blocks")
        entry = {"role": role, "text": ""}
        texts = []
        for j, block in enumerate(content):
            if not isinstance(block, dict) or len(block) != 1:
                raise invalid(f"messages.{i}.content.{j}: expected exactly one of text, image, toolUse, toolResult")
            kind, value = next(iter(block.items()))
            if kind == "text" and isinstance(value, str):
                if not value.strip():
                    raise invalid("The text field in the ContentBlock object is blank. Add text to the text field, "
                                  "and try again.")
                texts.append(value)
            elif kind == "image" and role == "user" and isinstance(value, dict):
                fmt = value.get("format")
                source = value.get("source")
                data = source.get("bytes") if isinstance(source, dict) else None
                image = image_from_base64(f"image/{fmt}", data) if fmt in ("png", "jpeg", "gif", "webp") else None
                if image is None:
                    raise invalid(f"messages.{i}.content.{j}.image: expected a format (png, jpeg, gif, webp) and "
                                  "source.bytes holding the image")
                entry.setdefault("images", []).append(image)
            elif kind in ("toolUse", "toolResult") and not has_tools:
                raise invalid("The toolConfig field must be defined when using toolUse and toolResult content blocks.")
            elif kind == "toolUse" and role == "assistant" and isinstance(value, dict):
                if not isinstance(value.get("toolUseId"), str) or not isinstance(value.get("name"), str) \
                        or "input" not in value:
                    raise invalid(f"messages.{i}.content.{j}.toolUse: toolUseId, name and input are required")
                entry.setdefault("tool_calls", []).append(
                    {"id": value["toolUseId"], "name": value["name"],
                     "arguments": json.dumps(value["input"], separators=(",", ":"), ensure_ascii=False)})
            elif kind == "toolResult" and role == "user" and isinstance(value, dict):
                tool_id = value.get("toolUseId")
                if tool_id not in expected_results:
                    raise invalid(f"The number of toolResult blocks at messages.{i}.content exceeds the number of "
                                  "toolUse blocks of previous turn.")
                parts = value.get("content")
                if not isinstance(parts, list):
                    raise invalid(f"messages.{i}.content.{j}.toolResult.content: expected a list")
                said = []
                for part in parts:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        said.append(part["text"])
                    elif isinstance(part, dict) and "json" in part:
                        said.append(json.dumps(part["json"], separators=(",", ":"), ensure_ascii=False))
                    else:
                        raise invalid(f"messages.{i}.content.{j}.toolResult.content: expected text or json blocks")
                content_text = "".join(said)
                if value.get("status") == "error":
                    content_text = "error: " + content_text
                entry.setdefault("tool_results", []).append({"id": tool_id, "content": content_text})
            else:
                raise invalid(f"messages.{i}.content.{j}: unexpected {kind} block in a {role} message")
        answered = {r["id"] for r in entry.get("tool_results", [])}
        missing = [x for x in expected_results if x not in answered]
        if missing:
            raise invalid(f"Expected toolResult blocks at messages.{i}.content for the following Ids: "
                          f"{', '.join(missing)}")
        entry["text"] = "".join(texts)
        return entry

    def parse(self, request, body):
        def invalid(message):
            return self.error(400, "ValidationException", message)

        m = BEDROCK_PATH.fullmatch(request.path)
        model = unquote(m.group(1))
        if self.models and model not in self.models:
            raise invalid("The provided model identifier is invalid.")
        if not isinstance(body, dict):
            raise invalid("Malformed input request, please reformat your input and try again.")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise invalid("A conversation must start with a user message. Try again with a conversation "
                          "that starts with a user message.")
        names, choice = self._tools(body, invalid)
        history = []
        system = body.get("system", [])
        if not isinstance(system, list) or not all(isinstance(b, dict) and isinstance(b.get("text"), str) for b in system):
            raise invalid("system: expected a list of {\"text\": ...} blocks")
        history += [{"role": "system", "text": b["text"]} for b in system]
        expected = "user"
        pending = []
        for i, msg in enumerate(messages):
            role = msg.get("role") if isinstance(msg, dict) else None
            if role not in ("user", "assistant"):
                raise invalid(f"messages.{i}.role: expected user or assistant")
            if i == 0 and role != "user":
                raise invalid("A conversation must start with a user message. Try again with a conversation "
                              "that starts with a user message.")
            if role != expected:
                raise invalid("A conversation must alternate between user and assistant roles. Make sure the "
                              "conversation alternates between user and assistant roles and try again.")
            entry = self._blocks(msg.get("content"), i, role, pending if role == "user" else [], bool(names), invalid)
            pending = [c["id"] for c in entry.get("tool_calls", [])] if role == "assistant" else []
            history.append(entry)
            expected = "assistant" if role == "user" else "user"
        if "inferenceConfig" in body and not isinstance(body["inferenceConfig"], dict):
            raise invalid("inferenceConfig: expected an object")
        return Turn(model, history, m.group(2) == "converse-stream", False, names, choice)

    def fail(self, status, message=None):
        if status == 429:
            return self.error(429, "ThrottlingException", "Too many requests, please wait before trying again.",
                              headers=[("Retry-After", "1")])
        if status == 400:
            return self.error(400, "ValidationException", message or "Invalid request (scripted #fail400).")
        return self.error(500, "InternalServerException", "The server encountered an internal error while "
                                                          "processing the request.")

    # ---- answers
    def begin(self, ctx):
        ctx.id = str(uuid.uuid4())

    @staticmethod
    def call_id():
        return "tooluse_" + uuid.uuid4().hex[:22]

    def _usage(self, ctx, completion):
        return {"inputTokens": ctx.turn.prompt_tokens, "outputTokens": completion,
                "totalTokens": ctx.turn.prompt_tokens + completion}

    def complete_body(self, ctx, text, completion):
        content = [{"text": text}] if text or not ctx.calls else []
        content += [{"toolUse": {"toolUseId": c["id"], "name": c["name"], "input": json.loads(c["arguments"])}}
                    for c in ctx.calls]
        return {"output": {"message": {"role": "assistant", "content": content}},
                "stopReason": "tool_use" if ctx.calls else "end_turn",
                "usage": self._usage(ctx, completion), "metrics": {"latencyMs": ctx.latency_ms()}}

    def embeddings(self, request, body):
        """InvokeModel on an embedding model: Amazon Titan Text Embeddings (inputText, dimensions,
        normalize) or Cohere Embed (texts, input_type), in their own request and answer shapes."""
        def invalid(message):
            return self.error(400, "ValidationException", message)

        model = unquote(BEDROCK_INVOKE.fullmatch(request.path).group(1))
        if self.models and model not in self.models:
            raise invalid("The provided model identifier is invalid.")
        if not isinstance(body, dict):
            raise invalid("Malformed input request, please reformat your input and try again.")
        if "titan-embed" in model:
            text = body.get("inputText")
            if not isinstance(text, str) or not text:
                raise invalid("Malformed input request: #: required key [inputText] not found, please reformat "
                              "your input and try again.")
            dimensions = body.get("dimensions", 1024)
            if dimensions not in TITAN_DIMENSIONS:
                raise invalid("Malformed input request: #/dimensions: 7 is not a valid enum value, please reformat "
                              "your input and try again.".replace("7", str(dimensions)))
            vector = fake_embedding(text, dimensions)
            if body.get("normalize", True):
                norm = sum(v * v for v in vector) ** 0.5 or 1.0
                vector = [round(v / norm, 6) for v in vector]
            return {"embedding": vector, "inputTextTokenCount": len(text.split())}
        if "cohere.embed" in model:
            texts = body.get("texts")
            if not isinstance(texts, list) or not 1 <= len(texts) <= 96 or not all(
                    isinstance(t, str) and t for t in texts):
                raise invalid("Malformed input request: #/texts: expected 1 to 96 non-empty strings, please "
                              "reformat your input and try again.")
            if body.get("input_type") not in COHERE_INPUT_TYPES:
                raise invalid("Malformed input request: #: required key [input_type] not found, please reformat "
                              "your input and try again.")
            return {"id": str(uuid.uuid4()), "embeddings": [fake_embedding(t, 1024) for t in texts], "texts": texts,
                    "response_type": "embeddings_floats"}
        raise invalid("The provided model does not support embeddings here (fake: titan-embed and cohere.embed "
                      "models only).")

    def complete_headers(self, ctx):
        return [("x-amzn-RequestId", ctx.id)]

    def stream_headers(self, ctx):
        return [("Content-Type", "application/vnd.amazon.eventstream"), ("x-amzn-RequestId", ctx.id)]

    @staticmethod
    def _padded(payload):
        # The real service pads every event's JSON with a "p" field of varying length.
        payload["p"] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123"[:len(json.dumps(payload)) % 50 + 1]
        return payload

    def _event(self, event_type, payload):
        return eventstream_event(event_type, self._padded(payload))

    def stream_start(self, ctx):
        return [self._event("messageStart", {"role": "assistant"})]

    def stream_delta(self, ctx, text):
        return self._event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}})

    def stream_tool_call(self, ctx, index, call):
        """contentBlockStart with the toolUse's id and name, the input as string pieces in
        contentBlockDelta, contentBlockStop; numbered after the text block when there is one."""
        text_block = bool(ctx.script.deltas)
        block = index + (1 if text_block else 0)
        frames = []
        if index == 0 and text_block:
            frames.append(self._event("contentBlockStop", {"contentBlockIndex": 0}))
        frames.append(self._event("contentBlockStart", {"contentBlockIndex": block, "start": {
            "toolUse": {"toolUseId": call["id"], "name": call["name"]}}}))
        for piece in argument_pieces(call["arguments"]):
            frames.append(self._event("contentBlockDelta", {"contentBlockIndex": block,
                                                             "delta": {"toolUse": {"input": piece}}}))
        frames.append(self._event("contentBlockStop", {"contentBlockIndex": block}))
        return frames

    def stream_end(self, ctx, completion):
        frames = [] if ctx.calls else [self._event("contentBlockStop", {"contentBlockIndex": 0})]
        return frames + [self._event("messageStop", {"stopReason": "tool_use" if ctx.calls else "end_turn"}),
                         self._event("metadata", {"usage": self._usage(ctx, completion),
                                                  "metrics": {"latencyMs": ctx.latency_ms()}})]

    def stream_failure(self, ctx):
        return eventstream_exception("modelStreamErrorException",
                                     "The model stream failed (scripted #midfail). Try your request again.")


# =================================================================================================
# The server: routing, the request log, running a script in a provider's dialect
# =================================================================================================

@dataclass
class Config:
    openai_key: str | None = None
    anthropic_key: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_region: str = "us-east-1"
    aws_session_token: str | None = None
    models: list | None = None
    max_log: int = 100_000


@dataclass
class Answer:
    """Per-request state a provider dialect may use while answering."""
    turn: Turn
    started: float
    id: str = ""
    created: int = 0
    script: Script | None = None
    calls: list = field(default_factory=list)  # the script's tool calls, each with the provider's id

    def latency_ms(self):
        return int((time.monotonic() - self.started) * 1000)


class App:
    def __init__(self, config):
        self.config = config
        self.openai = OpenAI(config)
        self.anthropic = Anthropic(config)
        self.bedrock = Bedrock(config)
        self.scripts = Scripts()
        self.log = []
        self.next_id = 1
        self.connections = 0

    async def connection(self, reader, writer):
        self.connections += 1
        conn = Connection(self.connections, reader, writer)
        try:
            while True:
                try:
                    request = await conn.read_request()
                except BadRequest as e:
                    with suppress(ClientGone):
                        await conn.send(400, [("Content-Type", "text/plain"), ("Connection", "close")],
                                        str(e).encode())
                    break
                if request is None:
                    break
                conn.begin_response()
                watcher = asyncio.create_task(conn.watch())
                try:
                    keep_alive = await self.handle(conn, request)
                finally:
                    watcher.cancel()
                    with suppress(asyncio.CancelledError):
                        await watcher
                if not keep_alive or conn.closed.is_set() or conn.eof:
                    break
        except Exception:  # noqa: BLE001 - keep serving other connections, but say what happened
            traceback.print_exc(file=sys.stderr)
        finally:
            writer.close()
            with suppress(Exception):
                await writer.wait_closed()

    async def handle(self, conn, request):
        """Answers one request; returns whether the connection may carry another one."""
        conn.closing = (request.header("connection") or "").lower() == "close"
        keep_alive = not conn.closing
        path = request.path
        if request.method == "GET" and path in FILES:
            # Files for chatd to fetch (images given by URL), and redirects to them.
            query = request.target.partition("?")[2]
            if path == "/_redirect":
                location = unquote(query.partition("to=")[2])
                await conn.send(302, [("Location", location), ("Content-Length", "0")], b"")
                return keep_alive
            content_type, body = FILES[path]
            await conn.send(200, [("Content-Type", content_type)], body)
            return keep_alive
        if path in ("/_log", "/_reset", "/_now"):
            if request.method == "GET" and path == "/_log":
                body = self.log
            elif request.method == "POST" and path == "/_reset":
                self.log = []
                self.scripts.reset()
                body = {"reset": True}
            elif request.method == "GET" and path == "/_now":
                body = time.monotonic()
            else:
                await conn.send(405, [("Content-Type", "text/plain")], b"method not allowed")
                return keep_alive
            await conn.send(200, [("Content-Type", "application/json")], _json_bytes(body))
            return keep_alive

        if request.method == "POST" and path in ("/v1/chat/completions", "/v1/embeddings"):
            provider = self.openai
        elif request.method == "GET" and path == "/v1/models":
            provider = self.openai
        elif request.method == "POST" and path == "/v1/messages":
            provider = self.anthropic
        elif request.method == "POST" and (BEDROCK_PATH.fullmatch(path) or BEDROCK_INVOKE.fullmatch(path)):
            provider = self.bedrock
        else:
            provider = None

        entry = {"id": self.next_id, "connection": conn.number, "provider": provider.name if provider else None, "method": request.method,
                 "path": request.target, "headers": request.header_dict(), "body": _parse_body(request.body),
                 "sigv4_ok": None, "sigv4_error": None, "directive": None, "status": None,
                 "started_at": time.monotonic(), "ended": None, "ended_at": None, "client_closed_at": None}
        self.next_id += 1
        self.log.append(entry)
        if len(self.log) > self.config.max_log:
            del self.log[:len(self.log) - self.config.max_log]
        try:
            if provider is None:
                await conn.send(404, [("Content-Type", "application/json")],
                                _json_bytes({"message": f"no route for {request.method} {path}"}))
                ended = "failed"
            else:
                ended = await self.answer(conn, request, provider, entry)
        except ClientGone:
            ended = "client_closed"
            entry["client_closed_at"] = conn.closed_at
        except Exception:
            traceback.print_exc(file=sys.stderr)
            ended = "failed"
            conn.reusable = False
            if not conn.head_sent:
                with suppress(ClientGone):
                    await conn.send(500, [("Content-Type", "text/plain")], b"fake_llm: internal error")
        entry["status"] = conn.status
        entry["ended"] = ended
        entry["ended_at"] = time.monotonic()
        return keep_alive and conn.reusable

    async def answer(self, conn, request, provider, entry):
        """Runs the request through auth, validation and the script; returns the "ended" value."""
        try:
            if provider is self.bedrock:
                provider.check_auth(request, entry)
            else:
                provider.check_auth(request)
            if request.method == "GET":  # /v1/models
                await conn.send(200, [("Content-Type", "application/json")], _json_bytes(provider.models_body()))
                return "complete"
            if request.path == "/v1/embeddings" or BEDROCK_INVOKE.fullmatch(request.path):
                body = provider.embeddings(request, entry["body"])
                await conn.send(200, [("Content-Type", "application/json")], _json_bytes(body))
                return "complete"
            turn = provider.parse(request, entry["body"])
            script = self.scripts.pick(turn)
            entry["directive"] = script.directive
            if script.action == "fail":
                raise provider.fail(script.status, script.message)
        except Rejected as r:
            await conn.send(r.status, r.headers, r.body)
            return "failed"

        ctx = Answer(turn, entry["started_at"], script=script)
        provider.begin(ctx)
        ctx.calls = [{"id": provider.call_id(), **call} for call in script.tool_calls]
        if script.action == "hang":
            await conn.wait_until_closed()
        if turn.stream:
            return await self._stream(conn, provider, ctx, script)
        return await self._complete(conn, provider, ctx, script)

    async def _complete(self, conn, provider, ctx, script):
        for _ in script.deltas if script.delay else ():
            await conn.sleep(script.delay)
        body = _json_bytes(provider.complete_body(ctx, "".join(script.deltas), completion_tokens(ctx)))
        headers = [("Content-Type", "application/json")]
        if hasattr(provider, "complete_headers"):
            headers += provider.complete_headers(ctx)
        if script.action in ("midfail", "stall"):
            conn.reusable = False
            await conn.send(200, headers, body, partial=len(body) // 2)
            if script.action == "stall":
                await conn.wait_until_closed()
            return "failed"  # the connection is closed with the body incomplete
        await conn.send(200, headers, body)
        return "complete"

    async def _stream(self, conn, provider, ctx, script):
        await conn.start_stream(200, provider.stream_headers(ctx))
        for frame in provider.stream_start(ctx):
            await conn.send_chunk(frame)
        sent = 0
        for delta in script.deltas:
            if script.action == "stall" and sent == 2:
                await conn.wait_until_closed()
            if script.action == "midfail" and sent == 3:
                failure = provider.stream_failure(ctx)
                if failure is None:
                    conn.reusable = False  # cut: the connection is closed mid-body
                else:
                    await conn.send_chunk(failure)
                    await conn.end_stream()
                return "failed"
            if script.delay:
                await conn.sleep(script.delay)
            await conn.send_chunk(provider.stream_delta(ctx, delta))
            sent += 1
        for index, call in enumerate(ctx.calls):
            for frame in provider.stream_tool_call(ctx, index, call):
                await conn.send_chunk(frame)
        for frame in provider.stream_end(ctx, completion_tokens(ctx)):
            await conn.send_chunk(frame)
        await conn.end_stream()
        return "complete"


def completion_tokens(ctx):
    """One per text delta and one per piece of streamed tool-call arguments."""
    return len(ctx.script.deltas) + sum(len(argument_pieces(c["arguments"])) for c in ctx.calls)


def _parse_body(raw):
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


# =================================================================================================
# Main
# =================================================================================================

def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Fake LLM upstream (OpenAI, Anthropic, Bedrock) for chatd's tests.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--openai-key")
    p.add_argument("--anthropic-key")
    p.add_argument("--aws-access-key-id")
    p.add_argument("--aws-secret-access-key")
    p.add_argument("--aws-region", default="us-east-1")
    p.add_argument("--aws-session-token")
    p.add_argument("--models", help="comma-separated model ids; others are refused")
    p.add_argument("--max-log", type=int, default=100_000, help="keep only the newest N log entries (benchmarks)")
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if bool(args.aws_access_key_id) != bool(args.aws_secret_access_key):
        p.error("--aws-access-key-id and --aws-secret-access-key go together")
    return args


async def serve(args):
    config = Config(openai_key=args.openai_key, anthropic_key=args.anthropic_key,
                    aws_access_key_id=args.aws_access_key_id, aws_secret_access_key=args.aws_secret_access_key,
                    aws_region=args.aws_region, aws_session_token=args.aws_session_token,
                    models=[m.strip() for m in args.models.split(",") if m.strip()] if args.models else None,
                    max_log=args.max_log)
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        context.set_alpn_protocols(["http/1.1"])
    app = App(config)
    server = await asyncio.start_server(app.connection, args.host, args.port, ssl=context, backlog=1024)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv=None):
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
