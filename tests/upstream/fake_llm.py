#!/usr/bin/env python3
"""A fake LLM upstream for chatd's integration tests and benchmarks.

It speaks each provider's real wire protocol, so chatd talks to it exactly as it talks to the
real services:

  OpenAI-compatible   GET /v1/models, POST /v1/chat/completions (JSON or text/event-stream)
  Anthropic           POST /v1/messages (JSON or text/event-stream with named events)
  AWS Bedrock Runtime POST /model/{modelId}/converse (JSON) and /model/{modelId}/converse-stream
                      (application/vnd.amazon.eventstream), every request's SigV4 signature checked

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
  (none)         echo: "echo: " + the last user message text, one delta per word (a word keeps
                 the whitespace that follows it), so the deltas concatenate to the exact text

Usage is deterministic: prompt tokens = the number of whitespace-separated words over all
received message texts (system included); completion tokens = the number of deltas sent.
Independently of the directives above, "#absurd-usage" in the last user message makes the
reported prompt tokens 9223372036854775807 (INT64_MAX), as a broken or hostile server might.
Anthropic's message_start carries output_tokens 1 as the real API does; message_delta carries the
total. Bedrock stream payloads carry a "p" padding field, as the real service's do.

Control endpoints (no auth, not logged)
---------------------------------------
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
    """A request reduced to what the scripts need, the same for every provider."""
    model: str
    history: list  # [{"role", "text"}], system first
    stream: bool
    include_usage: bool = False  # OpenAI's stream_options.include_usage

    @property
    def last_user(self):
        return next((m["text"] for m in reversed(self.history) if m["role"] == "user"), "")

    @property
    def prompt_tokens(self):
        if _has(self.last_user, "#absurd-usage"):
            return 2**63 - 1
        return sum(len(m["text"].split()) for m in self.history)


@dataclass
class Script:
    directive: str | None
    action: str  # "answer" | "fail" | "midfail" | "hang" | "stall"
    deltas: list = field(default_factory=list)
    status: int = 200
    delay: float = 0.0


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
        return Script(None, "answer", word_deltas(echo))


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
        history = []
        for i, msg in enumerate(messages):
            if not isinstance(msg, dict) or msg.get("role") not in ("system", "developer", "user", "assistant", "tool"):
                raise self.error(400, f"Invalid value for 'messages[{i}].role'.")
            content = msg.get("content")
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
            if not isinstance(content, str):
                raise self.error(400, f"Invalid type for 'messages[{i}].content': expected a string.")
            history.append({"role": msg["role"], "text": content})
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return Turn(body["model"], history, bool(body.get("stream")), include_usage)

    def fail(self, status):
        if status == 429:
            return self.error(429, "Rate limit reached for requests. Please try again in 1s.", "requests",
                              "rate_limit_exceeded", headers=[("Retry-After", "1")])
        if status == 400:
            return self.error(400, "Invalid request (scripted #fail400).")
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
        return {"id": ctx.id, "object": "chat.completion", "created": ctx.created, "model": ctx.turn.model,
                "system_fingerprint": None,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                             "logprobs": None, "finish_reason": "stop"}],
                "usage": self._usage(ctx, completion)}

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
        return [self._chunk(ctx, {"role": "assistant", "content": "", "refusal": None})]

    def stream_delta(self, ctx, text):
        return self._chunk(ctx, {"content": text})

    def stream_end(self, ctx, completion):
        frames = [self._chunk(ctx, {}, "stop")]
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
        history = []
        if "system" in body:
            system = self._text(body["system"], "system")
            history.append({"role": "system", "text": system})
        expected = "user"
        for i, msg in enumerate(messages):
            role = msg.get("role") if isinstance(msg, dict) else None
            if role not in ("user", "assistant"):
                raise invalid(f'messages.{i}.role: Input should be "user" or "assistant"')
            if i == 0 and role != "user":
                raise invalid("messages: first message must use the \"user\" role")
            if role != expected:
                raise invalid("messages: roles must alternate between \"user\" and \"assistant\", "
                              "but found multiple \"" + role + "\" roles in a row")
            text = self._text(msg.get("content"), f"messages.{i}.content")
            if not text and i != len(messages) - 1:
                raise invalid(f"messages.{i}: all messages must have non-empty content except for the optional "
                              "final assistant message")
            history.append({"role": role, "text": text})
            expected = "assistant" if role == "user" else "user"
        return Turn(body["model"], history, bool(body.get("stream")))

    def fail(self, status):
        if status == 429:
            return self.error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute "
                                                       "rate limit", headers=[("Retry-After", "1")])
        if status == 400:
            return self.error(400, "invalid_request_error", "Invalid request (scripted #fail400).")
        return self.error(500, "api_error", "Internal server error")

    # ---- answers
    def begin(self, ctx):
        ctx.id = "msg_" + uuid.uuid4().hex[:24]

    def complete_body(self, ctx, text, completion):
        return {"id": ctx.id, "type": "message", "role": "assistant", "model": ctx.turn.model,
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": ctx.turn.prompt_tokens, "output_tokens": completion}}

    def stream_headers(self, ctx):
        return [("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache"),
                ("request-id", "req_" + ctx.id[4:])]

    @staticmethod
    def _event(payload):
        return b"event: " + payload["type"].encode() + b"\ndata: " + _json_bytes(payload) + b"\n\n"

    def stream_start(self, ctx):
        message = {"id": ctx.id, "type": "message", "role": "assistant", "model": ctx.turn.model, "content": [],
                   "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": ctx.turn.prompt_tokens, "output_tokens": 1}}
        return [self._event({"type": "message_start", "message": message}),
                self._event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                self._event({"type": "ping"})]

    def stream_delta(self, ctx, text):
        return self._event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}})

    def stream_end(self, ctx, completion):
        return [self._event({"type": "content_block_stop", "index": 0}),
                self._event({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                             "usage": {"output_tokens": completion}}),
                self._event({"type": "message_stop"})]

    def stream_failure(self, ctx):
        return self._event({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})


# =================================================================================================
# AWS Bedrock Runtime (Converse, ConverseStream)
# =================================================================================================

BEDROCK_PATH = re.compile(r"/model/([^/]+)/(converse|converse-stream)")


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
        history = []
        system = body.get("system", [])
        if not isinstance(system, list) or not all(isinstance(b, dict) and isinstance(b.get("text"), str) for b in system):
            raise invalid("system: expected a list of {\"text\": ...} blocks")
        history += [{"role": "system", "text": b["text"]} for b in system]
        expected = "user"
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
            content = msg.get("content")
            if not isinstance(content, list) or not content:
                raise invalid(f"messages.{i}.content: expected a non-empty list of content blocks")
            texts = []
            for block in content:
                if not isinstance(block, dict) or not isinstance(block.get("text"), str):
                    raise invalid(f"messages.{i}.content: expected {{\"text\": ...}} blocks")
                if not block["text"].strip():
                    raise invalid("The text field in the ContentBlock object is blank. Add text to the text field, "
                                  "and try again.")
                texts.append(block["text"])
            history.append({"role": role, "text": "".join(texts)})
            expected = "assistant" if role == "user" else "user"
        if "inferenceConfig" in body and not isinstance(body["inferenceConfig"], dict):
            raise invalid("inferenceConfig: expected an object")
        return Turn(model, history, m.group(2) == "converse-stream")

    def fail(self, status):
        if status == 429:
            return self.error(429, "ThrottlingException", "Too many requests, please wait before trying again.",
                              headers=[("Retry-After", "1")])
        if status == 400:
            return self.error(400, "ValidationException", "Invalid request (scripted #fail400).")
        return self.error(500, "InternalServerException", "The server encountered an internal error while "
                                                          "processing the request.")

    # ---- answers
    def begin(self, ctx):
        ctx.id = str(uuid.uuid4())

    def _usage(self, ctx, completion):
        return {"inputTokens": ctx.turn.prompt_tokens, "outputTokens": completion,
                "totalTokens": ctx.turn.prompt_tokens + completion}

    def complete_body(self, ctx, text, completion):
        return {"output": {"message": {"role": "assistant", "content": [{"text": text}]}}, "stopReason": "end_turn",
                "usage": self._usage(ctx, completion), "metrics": {"latencyMs": ctx.latency_ms()}}

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

    def stream_end(self, ctx, completion):
        return [self._event("contentBlockStop", {"contentBlockIndex": 0}),
                self._event("messageStop", {"stopReason": "end_turn"}),
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

        if request.method == "POST" and path == "/v1/chat/completions":
            provider = self.openai
        elif request.method == "GET" and path == "/v1/models":
            provider = self.openai
        elif request.method == "POST" and path == "/v1/messages":
            provider = self.anthropic
        elif request.method == "POST" and BEDROCK_PATH.fullmatch(path):
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
            turn = provider.parse(request, entry["body"])
            script = self.scripts.pick(turn)
            entry["directive"] = script.directive
            if script.action == "fail":
                raise provider.fail(script.status)
        except Rejected as r:
            await conn.send(r.status, r.headers, r.body)
            return "failed"

        ctx = Answer(turn, entry["started_at"])
        provider.begin(ctx)
        if script.action == "hang":
            await conn.wait_until_closed()
        if turn.stream:
            return await self._stream(conn, provider, ctx, script)
        return await self._complete(conn, provider, ctx, script)

    async def _complete(self, conn, provider, ctx, script):
        for _ in script.deltas if script.delay else ():
            await conn.sleep(script.delay)
        body = _json_bytes(provider.complete_body(ctx, "".join(script.deltas), len(script.deltas)))
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
        for frame in provider.stream_end(ctx, sent):
            await conn.send_chunk(frame)
        await conn.end_stream()
        return "complete"


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
