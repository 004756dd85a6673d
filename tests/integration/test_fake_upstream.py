"""The fake LLM upstream (tests/upstream/fake_llm.py) checked on its own, before chatd's tests rely
on it: its SigV4 code against the AWS test suite, its event-stream frames against an independent
decoder, and every endpoint and directive over real sockets."""

import base64
import calendar
import hashlib
import http.client
import json
import os
import socket
import struct
import sys
import time
import uuid
import zlib

import pytest

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TESTS_DIR, "upstream"))

import fake_llm  # noqa: E402
from control import FakeUpstream, make_self_signed_cert  # noqa: E402

# =================================================================================================
# SigV4 against the AWS test suite
# =================================================================================================

SUITE_DIR = os.path.join(TESTS_DIR, "data", "aws-sigv4", "aws-sig-v4-test-suite")
# The suite's published example credentials, scope and time.
SUITE_KEY_ID = "AKIDEXAMPLE"
SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_REGION = "us-east-1"
SUITE_SERVICE = "service"
SUITE_NOW = calendar.timegm((2015, 8, 30, 12, 36, 0))

# Internally inconsistent in the published suite (as in tests/unit/llm/sigv4_test.cpp): their .sts
# is not the hash of their own .creq. The .creq is matched; the tests below show which request each
# .sts was really computed on.
INCONSISTENT_CASES = {"post-x-www-form-urlencoded", "post-x-www-form-urlencoded-parameters"}


def read_text(path):
    with open(path, "rb") as f:
        return f.read().decode("latin-1")  # bytes one to one, as fake_llm's SigV4 code expects


def suite_cases():
    cases = []
    for directory, _dirs, files in os.walk(SUITE_DIR):
        for name in files:
            if name.endswith(".req"):
                cases.append((name[:-4], os.path.join(directory, name[:-4])))
    return sorted(cases)


def parse_suite_request(text):
    """A .req/.sreq file: head lines, an empty line, the body (files without a body have no empty line)."""
    head, sep, body = text.partition("\n\n")
    method, target, _version, headers = fake_llm.parse_head(head)
    return method, target, headers, body if sep else ""


def header(headers, name):
    return next(v for n, v in headers if n.lower() == name)


def sign_suite_request(method, target, headers, body):
    return fake_llm.sigv4_sign(method, target, headers, body, SUITE_KEY_ID, SUITE_SECRET, SUITE_REGION,
                               SUITE_SERVICE, header(headers, "x-amz-date"))


def test_sigv4_suite_every_case_signs_like_aws():
    cases = suite_cases()
    assert len(cases) == 31
    full_matches = []
    for name, base in cases:
        result = sign_suite_request(*parse_suite_request(read_text(base + ".req")))
        assert result.canonical_request == read_text(base + ".creq"), name
        if name in INCONSISTENT_CASES:
            # If a future copy of the suite fixes the case, this fails and the case leaves the set.
            assert result.string_to_sign != read_text(base + ".sts"), name
            continue
        assert result.string_to_sign == read_text(base + ".sts"), name
        assert result.authorization == read_text(base + ".authz"), name
        full_matches.append(name)
    assert len(full_matches) == 29
    assert {name for name, _ in cases} - set(full_matches) == INCONSISTENT_CASES


def test_sigv4_suite_form_urlencoded_was_signed_without_content_length():
    base = os.path.join(SUITE_DIR, "post-x-www-form-urlencoded", "post-x-www-form-urlencoded")
    method, target, headers, body = parse_suite_request(read_text(base + ".req"))
    headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
    result = sign_suite_request(method, target, headers, body)
    assert result.string_to_sign == read_text(base + ".sts")
    assert result.authorization == read_text(base + ".authz")


def test_sigv4_suite_form_urlencoded_parameters_was_signed_with_another_charset():
    # Its .sts hashes "charset=utf8" (no hyphen) without Content-Length, while its .authz lists
    # content-length: the string to sign and the signature reproduce, the .authz as a whole can't.
    base = os.path.join(SUITE_DIR, "post-x-www-form-urlencoded-parameters", "post-x-www-form-urlencoded-parameters")
    method, target, headers, body = parse_suite_request(read_text(base + ".req"))
    headers = [(n, "application/x-www-form-urlencoded; charset=utf8" if n.lower() == "content-type" else v)
               for n, v in headers if n.lower() != "content-length"]
    result = sign_suite_request(method, target, headers, body)
    authz = read_text(base + ".authz")
    assert result.string_to_sign == read_text(base + ".sts")
    assert authz.endswith("Signature=" + result.signature)
    assert result.authorization != authz


def verify_suite(method, target, headers, body, now=SUITE_NOW, key_id=SUITE_KEY_ID, region=SUITE_REGION):
    return fake_llm.sigv4_verify(method, target, headers, body, key_id, SUITE_SECRET, region, SUITE_SERVICE,
                                 now=now)


def tamper_signature(headers):
    out = []
    for name, value in headers:
        if name.lower() == "authorization":
            value = value[:-1] + ("0" if value[-1] != "0" else "1")
        out.append((name, value))
    return out


def test_sigv4_verifier_accepts_the_suites_signed_requests_and_nothing_else():
    accepted, rejected = [], {}
    for name, base in suite_cases():
        method, target, headers, body = parse_suite_request(read_text(base + ".sreq"))
        check = verify_suite(method, target, headers, body)
        if not check.ok:
            rejected[name] = check.message
            continue
        accepted.append(name)
        # Each part of the request that is signed must matter.
        assert not verify_suite(method, target, tamper_signature(headers), body).ok, name
        assert not verify_suite(method, target, headers, body + "x").ok, name
        assert not verify_suite(method, target + ("&" if "?" in target else "?") + "extra=1", headers, body).ok, name
        assert not verify_suite(method.lower(), target, headers, body).ok, name
        assert not verify_suite(method, target, headers, body, region="eu-west-1").ok, name
        assert not verify_suite(method, target, headers, body, now=SUITE_NOW + 301).ok, name
        assert verify_suite(method, target, headers, body, now=SUITE_NOW - 299).ok, name
        other = verify_suite(method, target, headers, body, key_id="AKIDOTHER")
        assert (other.ok, other.error_type) == (False, "UnrecognizedClientException"), name
    # The .sreq of this case carries SignedHeaders=content-type;host;x-amz-date with
    # "charset=utf-8", but its signature was computed over "charset=utf8" (see above): a correct
    # verifier must refuse it.
    assert rejected == {"post-x-www-form-urlencoded-parameters": fake_llm.SIGNATURE_MISMATCH}
    assert len(accepted) == 30


def test_sigv4_signs_the_wire_path_encoded_once_more():
    # Bedrock model ids contain ':', sent as %3A and signed as %253A.
    headers = [("Host", "bedrock-runtime.us-east-1.amazonaws.com"), ("Content-Type", "application/json"),
               ("X-Amz-Date", "20150830T123600Z")]
    result = fake_llm.sigv4_sign("POST", "/model/anthropic.claude-v2%3A1/invoke", headers, b"{}", SUITE_KEY_ID,
                                 SUITE_SECRET, "us-east-1", "bedrock", "20150830T123600Z")
    assert "\n/model/anthropic.claude-v2%253A1/invoke\n" in result.canonical_request
    assert result.canonical_request.endswith("\n" + hashlib.sha256(b"{}").hexdigest())
    assert "SignedHeaders=content-type;host;x-amz-date," in result.authorization


# =================================================================================================
# Event stream frames, read back by an independent decoder
# =================================================================================================

def decode_event_stream(data):
    """Splits `data` into messages, checking both CRCs; raises ValueError on anything wrong."""
    messages = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 16:
            raise ValueError("truncated prelude")
        total, headers_len = struct.unpack_from(">II", data, pos)
        (prelude_crc,) = struct.unpack_from(">I", data, pos + 8)
        if zlib.crc32(data[pos:pos + 8]) != prelude_crc:
            raise ValueError("prelude CRC mismatch")
        if total < 16 + headers_len or pos + total > len(data):
            raise ValueError("bad or truncated length")
        message = data[pos:pos + total]
        (message_crc,) = struct.unpack(">I", message[-4:])
        if zlib.crc32(message[:-4]) != message_crc:
            raise ValueError("message CRC mismatch")
        raw, headers = message[12:12 + headers_len], []
        i = 0
        while i < len(raw):
            name_len = raw[i]
            name = raw[i + 1:i + 1 + name_len].decode()
            kind = raw[i + 1 + name_len]
            i += 2 + name_len
            if kind in (0, 1):
                value = kind == 0
            elif kind == 4:
                (value,) = struct.unpack_from(">i", raw, i)
                i += 4
            elif kind in (6, 7):
                (length,) = struct.unpack_from(">H", raw, i)
                value = raw[i + 2:i + 2 + length]
                value = value.decode() if kind == 7 else bytes(value)
                i += 2 + length
            else:
                raise ValueError(f"unexpected header type {kind}")
            headers.append((name, value))
        messages.append((headers, message[12 + headers_len:-4]))
        pos += total
    return messages


def test_event_stream_empty_message_matches_the_published_vector():
    # aws-c-event-stream's "empty_message" test vector.
    assert fake_llm.eventstream_encode([], b"").hex() == "000000100000000005c248eb7d98c8ff"


def test_event_stream_frames_decode_independently():
    headers = [(":event-type", "contentBlockDelta"), ("flag", True), ("off", False), ("n", -7), ("raw", b"\x00\xff"),
               ("unicode", "héllo")]
    frames = [fake_llm.eventstream_encode(headers, b'{"a":1}'), fake_llm.eventstream_event("messageStop", {"x": "ü"}),
              fake_llm.eventstream_exception("modelStreamErrorException", "boom"), fake_llm.eventstream_encode([], b"")]
    decoded = decode_event_stream(b"".join(frames))
    assert decoded[0] == (headers, b'{"a":1}')
    assert decoded[1][0] == [(":event-type", "messageStop"), (":content-type", "application/json"),
                             (":message-type", "event")]
    assert json.loads(decoded[1][1]) == {"x": "ü"}
    assert dict(decoded[2][0]) == {":exception-type": "modelStreamErrorException",
                                   ":content-type": "application/json", ":message-type": "exception"}
    assert json.loads(decoded[2][1]) == {"message": "boom"}
    assert decoded[3] == ([], b"")
    # The decoder really checks: any flipped byte or a cut is caught.
    frame = frames[1]
    for i in (1, 9, 20, len(frame) - 6, len(frame) - 1):
        broken = bytearray(frame)
        broken[i] ^= 0x01
        with pytest.raises(ValueError):
            decode_event_stream(bytes(broken))
    with pytest.raises(ValueError):
        decode_event_stream(frame[:-1])


# =================================================================================================
# The server
# =================================================================================================

OPENAI_KEY = "sk-test-openai"
ANTHROPIC_KEY = "sk-ant-test"
AWS = ("AKIDFAKELLM", "fake/secret+key", "eu-west-3")
MODELS = ["fake-gpt", "claude-fake", "anthropic.claude-v2:1", "amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"]
BEDROCK_MODEL = "anthropic.claude-v2:1"


@pytest.fixture(scope="module")
def fake():
    with FakeUpstream(openai_key=OPENAI_KEY, anthropic_key=ANTHROPIC_KEY, aws=AWS, models=MODELS) as upstream:
        yield upstream
        assert upstream.stderr() == "", upstream.stderr()


class Res:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, {k.lower(): v for k, v in headers}, body

    def json(self):
        return json.loads(self.body)


def call(fake, method, path, body=None, headers=None, conn=None):
    own = conn is None
    conn = conn or fake.connection()
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers or {})
        res = conn.getresponse()
        return Res(res.status, res.getheaders(), res.read())
    finally:
        if own:
            conn.close()


def marker(text=""):
    """A unique last-user-message text, so each test finds its own requests in the log."""
    return f"{text} m{uuid.uuid4().hex[:10]}".strip()


def echo_deltas(text):
    return fake_llm.word_deltas("echo: " + text)


def sse_events(data):
    events = []
    for block in data.decode().split("\n\n"):
        if not block.strip():
            continue
        event, lines = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                lines.append(line[6:])
        events.append((event, "\n".join(lines)))
    return events


def entry_for(fake, text, **conditions):
    def match(entry):
        return text in json.dumps(entry["body"]) and all(entry[k] == v for k, v in conditions.items())
    return fake.wait_log(match)


# ---- request builders, one per provider

def openai_body(text, stream=False, system=None, **extra):
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]
    return {"model": "fake-gpt", "messages": messages, "stream": stream, **extra}


def openai_call(fake, text, stream=False, key=OPENAI_KEY, **extra):
    return call(fake, "POST", "/v1/chat/completions", openai_body(text, stream, **extra),
                {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})


ANTHROPIC_HEADERS = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}


def anthropic_body(text, stream=False, system=None, messages=None):
    body = {"model": "claude-fake", "max_tokens": 100, "stream": stream,
            "messages": messages or [{"role": "user", "content": text}]}
    if system is not None:
        body["system"] = system
    return body


def anthropic_call(fake, text, stream=False, headers=ANTHROPIC_HEADERS, **kw):
    return call(fake, "POST", "/v1/messages", anthropic_body(text, stream, **kw), dict(headers))


def bedrock_body(text, system=None, messages=None):
    body = {"messages": messages or [{"role": "user", "content": [{"text": text}]}],
            "inferenceConfig": {"maxTokens": 100}}
    if system:
        body["system"] = [{"text": system}]
    return body


def bedrock_path(stream=False, model=BEDROCK_MODEL):
    return f"/model/{model.replace(':', '%3A')}/{'converse-stream' if stream else 'converse'}"


def signed_headers(fake, path, payload, aws=AWS, now=None, extra=()):
    headers = fake_llm.sigv4_client_headers("POST", path, f"127.0.0.1:{fake.port}", payload, aws[0], aws[1], aws[2],
                                            headers=[("Content-Type", "application/json"), *extra], now=now)
    return dict(headers)


def bedrock_call(fake, text, stream=False, **kw):
    path, payload = bedrock_path(stream), json.dumps(bedrock_body(text, **kw)).encode()
    return call(fake, "POST", path, payload, signed_headers(fake, path, payload))


def openai_stream_text(res):
    events = sse_events(res.body)
    assert events[-1] == (None, "[DONE]")
    chunks = [json.loads(d) for _, d in events[:-1]]
    return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]), chunks


def anthropic_stream_deltas(res):
    return [json.loads(d)["delta"]["text"] for e, d in sse_events(res.body) if e == "content_block_delta"]


def bedrock_stream_events(res):
    out = []
    for headers, payload in decode_event_stream(res.body):
        h = dict(headers)
        out.append((h.get(":message-type"), h.get(":event-type") or h.get(":exception-type"), json.loads(payload)))
    return out


# ---- OpenAI

def test_openai_models_lists_the_configured_models(fake):
    res = call(fake, "GET", "/v1/models", headers={"Authorization": f"Bearer {OPENAI_KEY}"})
    assert res.status == 200
    body = res.json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == MODELS
    assert all(m["object"] == "model" and isinstance(m["created"], int) and m["owned_by"] for m in body["data"])
    assert call(fake, "GET", "/v1/models").status == 401


def test_openai_non_stream(fake):
    text = marker("hello there")
    res = openai_call(fake, text, system="be brief")
    assert res.status == 200 and res.headers["content-type"] == "application/json"
    body = res.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "fake-gpt" and isinstance(body["created"], int)
    assert body["choices"] == [{"index": 0, "message": {"role": "assistant", "content": "echo: " + text, "refusal": None},
                                "logprobs": None, "finish_reason": "stop"}]
    # 2 system words + 3 user words; "echo: hello there mXXX" is 4 deltas.
    assert body["usage"] == {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}
    entry = entry_for(fake, text)
    assert (entry["provider"], entry["ended"], entry["status"], entry["sigv4_ok"]) == ("openai", "complete", 200, None)
    assert entry["headers"]["authorization"] == f"Bearer {OPENAI_KEY}"


def test_openai_stream_with_usage(fake):
    text = marker("one two  three")
    res = openai_call(fake, text, stream=True, stream_options={"include_usage": True})
    assert res.status == 200
    assert res.headers["content-type"].startswith("text/event-stream")
    assert res.headers["transfer-encoding"] == "chunked"
    content, chunks = openai_stream_text(res)
    assert content == "echo: " + text
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    pieces = [c["choices"][0]["delta"]["content"] for c in chunks[1:-2]]
    assert pieces == echo_deltas(text) == ["echo: ", "one ", "two  ", "three ", text.split()[-1]]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop" and chunks[-2]["choices"][0]["delta"] == {}
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-2])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9}


def test_openai_stream_without_usage_has_no_usage_chunk(fake):
    res = openai_call(fake, marker("hi"), stream=True)
    _content, chunks = openai_stream_text(res)
    assert all(c["choices"] for c in chunks)
    assert all("usage" not in c for c in chunks)


def test_openai_wrong_key_is_401_in_openai_shape(fake):
    text = marker()
    res = openai_call(fake, text, key="sk-wrong")
    assert res.status == 401
    error = res.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, "invalid_api_key")
    assert isinstance(error["message"], str) and error["message"]
    assert entry_for(fake, text)["ended"] == "failed"


def test_openai_unknown_model_is_404(fake):
    res = call(fake, "POST", "/v1/chat/completions", {"model": "nope", "messages": [{"role": "user", "content": "x"}]},
               {"Authorization": f"Bearer {OPENAI_KEY}"})
    assert res.status == 404 and res.json()["error"]["code"] == "model_not_found"


def test_keep_alive_serves_several_requests_on_one_connection(fake):
    conn = fake.connection()
    try:
        texts = [marker(str(i)) for i in range(3)]
        for i, text in enumerate(texts):
            body = openai_body(text, stream=i == 1)
            res = call(fake, "POST", "/v1/chat/completions", body, {"Authorization": f"Bearer {OPENAI_KEY}"}, conn=conn)
            assert res.status == 200
        assert res.json()["choices"][0]["message"]["content"] == "echo: " + texts[2]
    finally:
        conn.close()
    connections = {entry_for(fake, text)["connection"] for text in texts}
    assert len(connections) == 1
    assert openai_call(fake, texts[0]).status == 200  # a new connection is a new number
    assert [e["connection"] for e in fake.log() if texts[0] in json.dumps(e["body"])][-1] not in connections


def test_chunked_request_body_is_read(fake):
    text = marker("chunked")
    payload = json.dumps(openai_body(text)).encode()
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + OPENAI_KEY.encode()
                  + b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                  + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, payload[:10], len(payload) - 10, payload[10:]))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nConnection: close\r\n" in data.partition(b"\r\n\r\n")[0] + b"\r\n"
    assert json.loads(data.partition(b"\r\n\r\n")[2])["choices"][0]["message"]["content"] == "echo: " + text


# ---- Anthropic

def test_anthropic_stream_event_order(fake):
    text = marker("a b")
    res = anthropic_call(fake, text, stream=True, system="sys words here")
    assert res.status == 200 and res.headers["content-type"].startswith("text/event-stream")
    events = sse_events(res.body)
    names = [e for e, _ in events]
    deltas = echo_deltas(text)
    assert names == (["message_start", "content_block_start", "ping"] + ["content_block_delta"] * len(deltas)
                     + ["content_block_stop", "message_delta", "message_stop"])
    payloads = [json.loads(d) for _, d in events]
    assert [p["type"] for p in payloads] == names
    start = payloads[0]["message"]
    assert (start["type"], start["role"], start["model"], start["content"]) == ("message", "assistant", "claude-fake", [])
    assert start["usage"]["input_tokens"] == 6
    assert payloads[1]["content_block"] == {"type": "text", "text": ""}
    assert [p["delta"] for p in payloads[3:3 + len(deltas)]] == [{"type": "text_delta", "text": d} for d in deltas]
    assert payloads[-2]["delta"]["stop_reason"] == "end_turn"
    assert payloads[-2]["usage"] == {"output_tokens": len(deltas)}


def test_anthropic_non_stream(fake):
    text = marker("hi")
    res = anthropic_call(fake, text, system="s")
    assert res.status == 200
    body = res.json()
    assert body["id"].startswith("msg_")
    assert (body["type"], body["role"], body["model"], body["stop_reason"]) == ("message", "assistant", "claude-fake",
                                                                                "end_turn")
    assert body["content"] == [{"type": "text", "text": "echo: " + text}]
    assert body["usage"] == {"input_tokens": 3, "output_tokens": 3}


@pytest.mark.parametrize("change, status, error_type", [
    ({"headers": {**ANTHROPIC_HEADERS, "x-api-key": "wrong"}}, 401, "authentication_error"),
    ({"headers": {k: v for k, v in ANTHROPIC_HEADERS.items() if k != "x-api-key"}}, 401, "authentication_error"),
    ({"headers": {k: v for k, v in ANTHROPIC_HEADERS.items() if k != "anthropic-version"}}, 400, "invalid_request_error"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}, 400, "invalid_request_error"),
    ({"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}]}, 400,
     "invalid_request_error"),
    ({"messages": [{"role": "system", "content": "a"}, {"role": "user", "content": "b"}]}, 400,
     "invalid_request_error"),
    ({"system": [{"type": "image"}]}, 400, "invalid_request_error"),
])
def test_anthropic_rejects_wrongly_built_requests(fake, change, status, error_type):
    res = anthropic_call(fake, marker(), **change)
    assert res.status == status
    body = res.json()
    assert body["type"] == "error" and body["error"]["type"] == error_type and body["error"]["message"]


def test_anthropic_requires_max_tokens(fake):
    body = anthropic_body(marker())
    del body["max_tokens"]
    res = call(fake, "POST", "/v1/messages", body, ANTHROPIC_HEADERS)
    assert res.status == 400 and res.json()["error"]["type"] == "invalid_request_error"


def test_anthropic_accepts_alternating_history_with_system_blocks(fake):
    messages = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": [{"type": "text", "text": "a1"}]},
                {"role": "user", "content": marker("q2 #echo-history")}]
    res = anthropic_call(fake, "", system=[{"type": "text", "text": "sys"}], messages=messages)
    assert res.status == 200
    history = json.loads(res.json()["content"][0]["text"])
    assert history == [{"role": "system", "text": "sys"}, {"role": "user", "text": "q1"},
                       {"role": "assistant", "text": "a1"}, {"role": "user", "text": messages[2]["content"]}]


# ---- Bedrock

def test_bedrock_converse_signed_request_is_answered(fake):
    text = marker("hello")
    res = bedrock_call(fake, text, system="sys prompt")
    assert res.status == 200, res.body
    body = res.json()
    assert body["output"] == {"message": {"role": "assistant", "content": [{"text": "echo: " + text}]}}
    assert body["stopReason"] == "end_turn"
    assert body["usage"] == {"inputTokens": 4, "outputTokens": 3, "totalTokens": 7}
    assert isinstance(body["metrics"]["latencyMs"], int)
    assert res.headers["x-amzn-requestid"]
    entry = entry_for(fake, text)
    assert (entry["provider"], entry["sigv4_ok"], entry["ended"]) == ("bedrock", True, "complete")
    assert entry["path"] == "/model/anthropic.claude-v2%3A1/converse"


def test_bedrock_converse_stream_frames_decode(fake):
    text = marker("x y")
    res = bedrock_call(fake, text, stream=True)
    assert res.status == 200
    assert res.headers["content-type"] == "application/vnd.amazon.eventstream"
    messages = decode_event_stream(res.body)
    for headers, _ in messages:
        h = dict(headers)
        assert (h[":message-type"], h[":content-type"]) == ("event", "application/json")
    events = bedrock_stream_events(res)
    deltas = echo_deltas(text)
    assert [e for _, e, _ in events] == (["messageStart"] + ["contentBlockDelta"] * len(deltas)
                                         + ["contentBlockStop", "messageStop", "metadata"])
    strip = [{k: v for k, v in p.items() if k != "p"} for _, _, p in events]  # "p" is the service's padding
    assert strip[0] == {"role": "assistant"}
    assert strip[1:1 + len(deltas)] == [{"contentBlockIndex": 0, "delta": {"text": d}} for d in deltas]
    assert strip[-3] == {"contentBlockIndex": 0}
    assert strip[-2] == {"stopReason": "end_turn"}
    assert strip[-1]["usage"] == {"inputTokens": 3, "outputTokens": len(deltas), "totalTokens": 3 + len(deltas)}
    assert isinstance(strip[-1]["metrics"]["latencyMs"], int)


def bedrock_rejection(res):
    assert res.status == 403, res.body
    return res.headers["x-amzn-errortype"], res.json()["message"]


def test_bedrock_tampered_signature_is_403(fake):
    text = marker()
    path, payload = bedrock_path(), json.dumps(bedrock_body(text)).encode()
    headers = signed_headers(fake, path, payload)
    headers["Authorization"] = tamper_signature(list(headers.items()))[-1][1]
    kind, message = bedrock_rejection(call(fake, "POST", path, payload, headers))
    assert kind == "AccessDeniedException"
    assert message.startswith("The request signature we calculated does not match")
    entry = entry_for(fake, text)
    assert (entry["sigv4_ok"], entry["ended"], entry["status"]) == (False, "failed", 403)


@pytest.mark.parametrize("case", ["body_changed", "path_not_double_encoded", "wrong_secret", "unknown_key", "stale",
                                  "host_unsigned", "no_authorization", "wrong_region"])
def test_bedrock_bad_signatures_are_403(fake, case):
    text = marker()
    path, payload = bedrock_path(), json.dumps(bedrock_body(text)).encode()
    expected = ("AccessDeniedException", None)
    if case == "body_changed":
        headers = signed_headers(fake, path, payload)
        payload = payload.replace(b"maxTokens", b"maxTokenz")
    elif case == "path_not_double_encoded":  # a client that signs the decoded ':' path
        headers = signed_headers(fake, path.replace("%3A", ":"), payload)
    elif case == "wrong_secret":
        headers = signed_headers(fake, path, payload, aws=(AWS[0], "other", AWS[2]))
    elif case == "unknown_key":
        headers = signed_headers(fake, path, payload, aws=("AKIDOTHER", AWS[1], AWS[2]))
        expected = ("UnrecognizedClientException", None)
    elif case == "stale":
        headers = signed_headers(fake, path, payload, now=time.time() - 360)
    elif case == "host_unsigned":
        amz_date = fake_llm.amz_date_now()
        unsigned = [("X-Amz-Date", amz_date), ("Content-Type", "application/json")]
        result = fake_llm.sigv4_sign("POST", path, unsigned, payload, AWS[0], AWS[1], AWS[2], "bedrock", amz_date)
        headers = dict(unsigned + [("Authorization", result.authorization)])
    elif case == "no_authorization":
        headers = {k: v for k, v in signed_headers(fake, path, payload).items() if k != "Authorization"}
    elif case == "wrong_region":
        headers = signed_headers(fake, path, payload, aws=(AWS[0], AWS[1], "us-east-1"))
    kind, message = bedrock_rejection(call(fake, "POST", path, payload, headers))
    assert kind == expected[0] and message
    assert entry_for(fake, text)["sigv4_ok"] is False


def test_bedrock_rejects_non_alternating_messages(fake):
    messages = [{"role": "user", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": marker()}]}]
    path, payload = bedrock_path(), json.dumps(bedrock_body("", messages=messages)).encode()
    res = call(fake, "POST", path, payload, signed_headers(fake, path, payload))
    assert res.status == 400 and res.headers["x-amzn-errortype"] == "ValidationException"


# ---- directives

PROVIDERS = ["openai", "anthropic", "bedrock"]
CALLS = {"openai": openai_call, "anthropic": anthropic_call, "bedrock": bedrock_call}


def error_type(provider, res):
    if provider == "openai":
        return res.json()["error"]["type"]
    if provider == "anthropic":
        assert res.json()["type"] == "error"
        return res.json()["error"]["type"]
    assert isinstance(res.json()["message"], str)
    return res.headers["x-amzn-errortype"]


FAIL_TYPES = {
    ("openai", 500): "server_error", ("openai", 429): "requests", ("openai", 400): "invalid_request_error",
    ("anthropic", 500): "api_error", ("anthropic", 429): "rate_limit_error", ("anthropic", 400): "invalid_request_error",
    ("bedrock", 500): "InternalServerException", ("bedrock", 429): "ThrottlingException",
    ("bedrock", 400): "ValidationException",
}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("code", [500, 429, 400])
def test_fail_directives(fake, provider, code):
    text = marker(f"please #fail{code} now")
    for stream in (False, True):
        res = CALLS[provider](fake, text, stream=stream)
        assert res.status == code
        assert error_type(provider, res) == FAIL_TYPES[(provider, code)]
        assert res.headers.get("retry-after") == ("1" if code == 429 else None)
    entry = entry_for(fake, text)
    assert (entry["directive"], entry["ended"], entry["status"]) == (f"#fail{code}", "failed", code)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_failn_500_counts_per_message_text(fake, provider):
    text, other = marker("#fail2-500"), marker("#fail2-500")
    assert [CALLS[provider](fake, text).status for _ in range(2)] == [500, 500]
    assert CALLS[provider](fake, other).status == 500  # its own counter
    res = CALLS[provider](fake, text)
    assert res.status == 200
    assert CALLS[provider](fake, text, stream=True).status == 200
    assert [e["status"] for e in fake.log() if text in json.dumps(e["body"])] == [500, 500, 200, 200]


def test_midfail_openai_cuts_the_stream(fake):
    text = marker("one two #midfail")
    conn = fake.connection()
    try:
        conn.request("POST", "/v1/chat/completions", json.dumps(openai_body(text, stream=True)),
                     {"Authorization": f"Bearer {OPENAI_KEY}"})
        res = conn.getresponse()
        assert res.status == 200
        with pytest.raises(http.client.IncompleteRead) as info:
            res.read()
    finally:
        conn.close()
    events = sse_events(info.value.partial)
    chunks = [json.loads(d) for _, d in events]
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == [""] + echo_deltas(text)[:3]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)
    assert entry_for(fake, text)["ended"] == "failed"


def test_midfail_anthropic_sends_an_error_event(fake):
    text = marker("one two #midfail")
    res = anthropic_call(fake, text, stream=True)
    events = sse_events(res.body)
    assert [e for e, _ in events] == ["message_start", "content_block_start", "ping"] + ["content_block_delta"] * 3 + [
        "error"]
    assert json.loads(events[-1][1]) == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert anthropic_stream_deltas(res) == echo_deltas(text)[:3]
    assert entry_for(fake, text)["ended"] == "failed"


def test_midfail_bedrock_sends_an_exception_message(fake):
    text = marker("one two #midfail")
    res = bedrock_call(fake, text, stream=True)
    events = bedrock_stream_events(res)
    assert [(m, e) for m, e, _ in events] == [("event", "messageStart")] + [("event", "contentBlockDelta")] * 3 + [
        ("exception", "modelStreamErrorException")]
    assert events[-1][2]["message"]
    assert [p["delta"]["text"] for _, _, p in events[1:4]] == echo_deltas(text)[:3]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_midfail_without_streaming_truncates_the_body(fake, provider):
    with pytest.raises(http.client.IncompleteRead):
        CALLS[provider](fake, marker("one two #midfail"))


def raw_request(fake, path, payload, headers):
    head = f"POST {path} HTTP/1.1\r\nContent-Length: {len(payload)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if "Host" not in headers:
        head += f"Host: 127.0.0.1:{fake.port}\r\n"
    return head.encode() + b"\r\n" + payload


def provider_raw_request(fake, provider, text, stream):
    if provider == "openai":
        return raw_request(fake, "/v1/chat/completions", json.dumps(openai_body(text, stream)).encode(),
                           {"Authorization": f"Bearer {OPENAI_KEY}"})
    if provider == "anthropic":
        return raw_request(fake, "/v1/messages", json.dumps(anthropic_body(text, stream)).encode(), ANTHROPIC_HEADERS)
    path, payload = bedrock_path(stream), json.dumps(bedrock_body(text)).encode()
    return raw_request(fake, path, payload, signed_headers(fake, path, payload))


def close_and_expect_client_closed(fake, sock, text):
    before = fake.now()
    sock.shutdown(socket.SHUT_RDWR)  # a file made from the socket (http.client's) may keep it open
    sock.close()
    entry = entry_for(fake, text, ended="client_closed")
    assert before <= entry["client_closed_at"] < before + 1.0
    return entry


@pytest.mark.parametrize("provider", PROVIDERS)
def test_hang_is_noticed_when_the_client_closes(fake, provider):
    text = marker("#hang")
    sock = socket.create_connection(("127.0.0.1", fake.port), timeout=5)
    sock.sendall(provider_raw_request(fake, provider, text, stream=True))
    entry = entry_for(fake, text)
    assert (entry["directive"], entry["ended"], entry["status"]) == ("#hang", None, None)
    entry = close_and_expect_client_closed(fake, sock, text)
    assert entry["status"] is None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stall_sends_two_deltas_then_nothing(fake, provider):
    text = marker("#stall")
    sock = socket.create_connection(("127.0.0.1", fake.port), timeout=5)
    sock.sendall(provider_raw_request(fake, provider, text, stream=True))
    data = b""
    want = [d.encode() for d in echo_deltas(text)[:2]]
    deadline = time.monotonic() + 5
    while not all(w in data for w in want):
        assert time.monotonic() < deadline, data
        data += sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 200 ")
    assert echo_deltas(text)[2].encode() not in data
    sock.settimeout(0.3)
    with pytest.raises(socket.timeout):  # silent, and the connection stays open
        sock.recv(65536)
    close_and_expect_client_closed(fake, sock, text)


def test_slow_paces_deltas_and_notices_the_client_leaving(fake):
    text = marker("#slow")
    conn = fake.connection()
    conn.request("POST", "/v1/chat/completions", json.dumps(openai_body(text, stream=True)),
                 {"Authorization": f"Bearer {OPENAI_KEY}"})
    res = conn.getresponse()
    times = []
    while len(times) < 3:
        line = res.readline()
        if b'"content":"' in line and b'"content":""' not in line:
            times.append(time.monotonic())
    assert 0.15 < times[1] - times[0] < 1.0 and 0.15 < times[2] - times[1] < 1.0
    entry = close_and_expect_client_closed(fake, conn.sock, text)
    conn.close()
    assert entry["directive"] == "#slow"


def test_slow_answer_has_at_least_30_deltas():
    script = fake_llm.Scripts().pick(fake_llm.Turn("m", [{"role": "user", "text": "hi #slow"}], True))
    assert len(script.deltas) == 30 and script.delay == 0.2
    assert "".join(script.deltas).startswith("echo: hi #slow tick1 ")


def test_long_streams_5000_deltas(fake):
    text = marker("#long")
    res = openai_call(fake, text, stream=True, stream_options={"include_usage": True})
    content, chunks = openai_stream_text(res)
    pieces = [c["choices"][0]["delta"]["content"] for c in chunks[1:-2]]
    assert len(pieces) == 5000 and all(len(p) == 20 for p in pieces)
    assert chunks[-1]["usage"]["completion_tokens"] == 5000


@pytest.mark.parametrize("provider", PROVIDERS)
def test_echo_history_shows_what_the_model_saw(fake, provider):
    last = marker("now #echo-history")
    if provider == "openai":
        messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "q1"},
                    {"role": "assistant", "content": "a1"}, {"role": "user", "content": last}]
        res = call(fake, "POST", "/v1/chat/completions", {"model": "fake-gpt", "messages": messages, "stream": True},
                   {"Authorization": f"Bearer {OPENAI_KEY}"})
        text, chunks = openai_stream_text(res)
        assert len(chunks) == 3  # role, the one delta, finish
    elif provider == "anthropic":
        messages = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
                    {"role": "user", "content": last}]
        res = anthropic_call(fake, "", stream=True, system="sys", messages=messages)
        deltas = anthropic_stream_deltas(res)
        assert len(deltas) == 1
        text = deltas[0]
    else:
        messages = [{"role": "user", "content": [{"text": "q1"}]}, {"role": "assistant", "content": [{"text": "a1"}]},
                    {"role": "user", "content": [{"text": last}]}]
        res = bedrock_call(fake, "", stream=True, system="sys", messages=messages)
        deltas = [p["delta"]["text"] for _, e, p in bedrock_stream_events(res) if e == "contentBlockDelta"]
        assert len(deltas) == 1
        text = deltas[0]
    assert json.loads(text) == [{"role": "system", "text": "sys"}, {"role": "user", "text": "q1"},
                                {"role": "assistant", "text": "a1"}, {"role": "user", "text": last}]


# ---- control endpoints and TLS

def test_log_reset_and_now():
    with FakeUpstream(openai_key=OPENAI_KEY) as own:
        t0 = own.now()
        assert isinstance(t0, float) and own.log() == []
        text = marker("#fail1-500")
        assert openai_call(own, text).status == 500
        assert call(own, "GET", "/nowhere").status == 404
        log = own.log()
        assert [(e["id"], e["provider"], e["method"], e["status"], e["ended"]) for e in log] == [
            (1, "openai", "POST", 500, "failed"), (2, None, "GET", 404, "failed")]
        entry = log[0]
        assert set(entry) == {"id", "connection", "provider", "method", "path", "headers", "body", "sigv4_ok", "sigv4_error",
                              "directive", "status", "started_at", "ended", "ended_at", "client_closed_at"}
        assert entry["path"] == "/v1/chat/completions" and entry["body"] == openai_body(text)
        assert entry["headers"]["authorization"] == f"Bearer {OPENAI_KEY}"
        assert t0 <= entry["started_at"] <= entry["ended_at"] <= own.now()
        assert entry["client_closed_at"] is None and entry["directive"] == "#fail1-500"
        own.reset()
        assert own.log() == []
        assert openai_call(own, text).status == 500  # the counter was reset too
        assert openai_call(own, text).status == 200
        assert [e["id"] for e in own.log()] == [3, 4]


def test_tls(tmp_path):
    cert, key = make_self_signed_cert(tmp_path)
    with FakeUpstream(tls_cert=cert, tls_key=key) as own:
        assert own.url == f"https://127.0.0.1:{own.port}"
        res = openai_call(own, "over tls", key="anything")  # no --openai-key: any key is accepted
        assert res.status == 200 and res.json()["choices"][0]["message"]["content"] == "echo: over tls"
        with socket.create_connection(("127.0.0.1", own.port), timeout=5) as plain:
            plain.sendall(b"GET /_now HTTP/1.1\r\nHost: x\r\n\r\n")
            assert not plain.recv(100).startswith(b"HTTP/1.1 200")  # plain HTTP is not answered


def test_bedrock_session_token_must_be_sent_and_signed():
    aws = ("AKIDTEMP", "temp-secret", "us-west-2", "SESSION-TOKEN")
    with FakeUpstream(aws=aws) as own:
        path, payload = bedrock_path(), json.dumps(bedrock_body(marker())).encode()

        def send(token):
            headers = fake_llm.sigv4_client_headers("POST", path, f"127.0.0.1:{own.port}", payload, *aws[:3],
                                                    headers=[("Content-Type", "application/json")],
                                                    session_token=token)
            return call(own, "POST", path, payload, dict(headers))

        assert send("SESSION-TOKEN").status == 200
        for token in (None, "OTHER"):
            res = send(token)
            assert res.status == 403 and res.headers["x-amzn-errortype"] == "UnrecognizedClientException"
        assert [e["sigv4_ok"] for e in own.log()] == [True, False, False]


# ---- Tools, images, structured output and embeddings (issue 22's wire formats)

WEATHER_OPENAI = {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
                                                   "parameters": {"type": "object",
                                                                  "properties": {"city": {"type": "string"}}}}}
TIME_OPENAI = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
PNG_INFO = f"image/png {len(PNG)} bytes sha256:{hashlib.sha256(PNG).hexdigest()[:16]}"


def openai_post(fake, body):
    return call(fake, "POST", "/v1/chat/completions", body,
                {"Authorization": f"Bearer {OPENAI_KEY}", "Content-Type": "application/json"})


def openai_tool_calls_streamed(res):
    """The tool calls rebuilt from streamed chunks, as the OpenAI client does, and the finish reason."""
    events = sse_events(res.body)
    assert events[-1] == (None, "[DONE]")
    calls, finish = {}, None
    for _, data in events[:-1]:
        choice = json.loads(data)["choices"][0]
        finish = choice["finish_reason"] or finish
        for piece in choice["delta"].get("tool_calls", []):
            call_ = calls.setdefault(piece["index"], {"id": None, "name": None, "arguments": ""})
            if "id" in piece:
                assert call_["id"] is None, "the id comes once, first"
                call_["id"], call_["name"] = piece["id"], piece["function"]["name"]
            call_["arguments"] += piece["function"]["arguments"]
    return [calls[i] for i in sorted(calls)], finish


@pytest.mark.parametrize("stream", [False, True])
def test_openai_tool_calls_and_their_results(fake, stream):
    text = marker('#tool=get_weather {"city": "Paris"} #tool=get_time')
    body = openai_body(text, stream, tools=[WEATHER_OPENAI, TIME_OPENAI])
    res = openai_post(fake, body)
    assert res.status == 200, res.body
    if stream:
        calls, finish = openai_tool_calls_streamed(res)
        first_call = [piece for _, d in sse_events(res.body)[:-1]
                      for piece in json.loads(d)["choices"][0]["delta"].get("tool_calls", []) if piece["index"] == 0]
        assert len(first_call) > 2  # the name first, then the arguments in pieces
    else:
        choice = res.json()["choices"][0]
        finish = choice["finish_reason"]
        assert choice["message"]["content"] is None
        calls = [{"id": c["id"], "name": c["function"]["name"], "arguments": c["function"]["arguments"]}
                 for c in choice["message"]["tool_calls"]]
        assert {c["type"] for c in choice["message"]["tool_calls"]} == {"function"}
    assert finish == "tool_calls"
    assert [(c["name"], c["arguments"]) for c in calls] == [("get_weather", '{"city":"Paris"}'), ("get_time", "{}")]
    assert all(c["id"].startswith("call_") for c in calls)
    # The second round: the client answers each call.
    body["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in calls]},
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "sunny"},
        {"role": "tool", "tool_call_id": calls[1]["id"], "content": [{"type": "text", "text": "noon"}]}]
    res = openai_post(fake, body)
    assert res.status == 200, res.body
    text_out = openai_stream_text(res)[0] if stream else res.json()["choices"][0]["message"]["content"]
    assert text_out == f"tool results: get_weather({calls[0]['id']}) = sunny; get_time({calls[1]['id']}) = noon"


def test_openai_refuses_what_openai_refuses_around_tools(fake):
    text = marker("#tool=get_weather")
    tools = [WEATHER_OPENAI]
    assistant = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]}
    cases = [
        (openai_body(text, tools=[{"type": "function", "function": {"name": "bad name"}}]), "tools[0].function.name"),
        (openai_body(text, tools=tools, tool_choice="sometimes"), "tool_choice"),
        (openai_body(text, tool_choice="required"), "only allowed when 'tools'"),
        (openai_body(text), "does not define"),  # the directive names a tool the request lacks
        ({"model": "fake-gpt", "tools": tools, "messages": [{"role": "user", "content": text}, assistant]},
         "did not have response messages: call_1"),
        ({"model": "fake-gpt", "tools": tools, "messages": [
            {"role": "user", "content": text}, assistant, {"role": "user", "content": "go on"}]},
         "did not have response messages: call_1"),
        ({"model": "fake-gpt", "tools": tools, "messages": [
            {"role": "user", "content": text}, assistant, {"role": "tool", "tool_call_id": "call_2", "content": "x"}]},
         "must be a response to a preceeding message"),
        ({"model": "fake-gpt", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]}]}, "invalid_image_url"),
        (openai_body(text, tools=tools, response_format={"type": "json_schema"}), "json_schema.name"),
    ]
    for body, needle in cases:
        res = openai_post(fake, body)
        assert res.status == 400, (body, res.body)
        assert needle in res.body.decode(), (needle, res.body)


def test_openai_tool_choice_and_parallel_calls(fake):
    tools = [WEATHER_OPENAI, TIME_OPENAI]

    def calls_of(text, **extra):
        res = openai_post(fake, openai_body(marker(text), tools=tools, **extra))
        assert res.status == 200, res.body
        message = res.json()["choices"][0]["message"]
        return [c["function"]["name"] for c in message.get("tool_calls") or []], message["content"]

    assert calls_of("hello", tool_choice="required") == (["get_weather"], None)
    assert calls_of("hello", tool_choice={"type": "function", "function": {"name": "get_time"}}) == (["get_time"], None)
    names, content = calls_of("#tool=get_weather", tool_choice="none")
    assert names == [] and content.startswith("echo: ")
    assert calls_of("#tool=get_weather #tool=get_time", parallel_tool_calls=False)[0] == ["get_weather"]
    assert calls_of("plain")[0] == []


@pytest.mark.parametrize("stream", [False, True])
def test_openai_images_and_json_answers(fake, stream):
    parts = [{"type": "text", "text": marker("#image")},
             {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}},
             {"type": "image_url", "image_url": {"url": "https://images.example.com/cat.png", "detail": "low"}}]
    res = openai_post(fake, {"model": "fake-gpt", "stream": stream, "messages": [{"role": "user", "content": parts}]})
    assert res.status == 200, res.body
    said = openai_stream_text(res)[0] if stream else res.json()["choices"][0]["message"]["content"]
    assert said == f"images: {PNG_INFO}; url https://images.example.com/cat.png"
    text = marker("give me json")
    schema = {"type": "json_schema", "json_schema": {"name": "echo", "strict": True, "schema": {"type": "object"}}}
    res = openai_post(fake, openai_body(text, stream, response_format=schema, seed=7, presence_penalty=0.5))
    said = openai_stream_text(res)[0] if stream else res.json()["choices"][0]["message"]["content"]
    assert json.loads(said) == {"echo": text}
    assert entry_for(fake, text)["body"]["seed"] == 7  # passed-through parameters are in the log


WEATHER_ANTHROPIC = {"name": "get_weather", "description": "The weather in a city",
                     "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_tool_use_and_tool_results(fake, stream):
    text = marker('first #tool=get_weather {"city": "Paris"}')
    body = anthropic_body(text, stream)
    body["tools"] = [WEATHER_ANTHROPIC]
    res = call(fake, "POST", "/v1/messages", body, dict(ANTHROPIC_HEADERS))
    assert res.status == 200, res.body
    if stream:
        events = [(e, json.loads(d)) for e, d in sse_events(res.body)]
        starts = [d for e, d in events if e == "content_block_start"]
        assert [s["content_block"]["type"] for s in starts] == ["tool_use"]
        block = starts[0]["content_block"]
        assert block["input"] == {} and block["name"] == "get_weather"
        pieces = [d["delta"]["partial_json"] for e, d in events
                  if e == "content_block_delta" and d["delta"]["type"] == "input_json_delta"]
        assert len(pieces) > 1 and json.loads("".join(pieces)) == {"city": "Paris"}
        assert [d["delta"]["stop_reason"] for e, d in events if e == "message_delta"] == ["tool_use"]
        assert [e for e, _ in events][-1] == "message_stop"
        tool_id = block["id"]
    else:
        answer = res.json()
        assert answer["stop_reason"] == "tool_use"
        assert [(b["type"], b["name"], b["input"]) for b in answer["content"]] == [
            ("tool_use", "get_weather", {"city": "Paris"})]
        tool_id = answer["content"][0]["id"]
    assert tool_id.startswith("toolu_")
    body["messages"] += [
        {"role": "assistant", "content": [{"type": "tool_use", "id": tool_id, "name": "get_weather",
                                           "input": {"city": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "sunny"}]}]
    res = call(fake, "POST", "/v1/messages", body, dict(ANTHROPIC_HEADERS))
    assert res.status == 200, res.body
    said = "".join(anthropic_stream_deltas(res)) if stream else res.json()["content"][0]["text"]
    assert said == f"tool results: get_weather({tool_id}) = sunny"


def test_anthropic_refuses_what_anthropic_refuses_around_tools_and_images(fake):
    text = marker("#tool=get_weather")
    use = {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]}

    def body(messages, tools=(WEATHER_ANTHROPIC,), **extra):
        return {"model": "claude-fake", "max_tokens": 50, "messages": messages, "tools": list(tools), **extra}

    cases = [
        (body([{"role": "user", "content": text}], tools=[{"name": "get_weather"}]), "input_schema: Field required"),
        (body([{"role": "user", "content": text}, use, {"role": "user", "content": "no result"}]),
         "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_1"),
        (body([{"role": "user", "content": text}, use, {"role": "user", "content": [
            {"type": "text", "text": "first"}, {"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}]}]),
         "must come first"),
        (body([{"role": "user", "content": text}, use, {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}]}]), "unexpected `tool_use_id`"),
        (body([{"role": "user", "content": text}], tool_choice={"type": "tool", "name": "nope"}), "tool_choice"),
        (body([{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/bmp",
                                                                        "data": "AAAA"}}]}]), "media_type"),
        (body([{"role": "user", "content": text}], tools=[]), "does not define"),
    ]
    for b, needle in cases:
        res = call(fake, "POST", "/v1/messages", b, dict(ANTHROPIC_HEADERS))
        assert res.status == 400, (b, res.body)
        assert needle in res.json()["error"]["message"], (needle, res.body)


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_images(fake, stream):
    content = [{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                            "data": base64.b64encode(PNG).decode()}},
               {"type": "text", "text": marker("#image")}]
    res = anthropic_call(fake, "", stream, messages=[{"role": "user", "content": content}])
    assert res.status == 200, res.body
    said = "".join(anthropic_stream_deltas(res)) if stream else res.json()["content"][0]["text"]
    assert said == f"images: {PNG_INFO}"


WEATHER_BEDROCK = {"toolSpec": {"name": "get_weather", "description": "The weather in a city",
                                "inputSchema": {"json": {"type": "object",
                                                         "properties": {"city": {"type": "string"}}}}}}


def bedrock_post(fake, body, stream=False):
    path, payload = bedrock_path(stream), json.dumps(body).encode()
    return call(fake, "POST", path, payload, signed_headers(fake, path, payload))


@pytest.mark.parametrize("stream", [False, True])
def test_bedrock_tool_use_and_tool_results(fake, stream):
    text = marker('#tool=get_weather {"city": "Paris"}')
    body = bedrock_body(text)
    body["toolConfig"] = {"tools": [WEATHER_BEDROCK], "toolChoice": {"auto": {}}}
    res = bedrock_post(fake, body, stream)
    assert res.status == 200, res.body
    if stream:
        events = bedrock_stream_events(res)
        starts = [p for kind, name, p in events if name == "contentBlockStart"]
        assert [s["start"]["toolUse"]["name"] for s in starts] == ["get_weather"]
        tool_id = starts[0]["start"]["toolUse"]["toolUseId"]
        pieces = [p["delta"]["toolUse"]["input"] for kind, name, p in events
                  if name == "contentBlockDelta" and "toolUse" in p["delta"]]
        assert len(pieces) > 1 and json.loads("".join(pieces)) == {"city": "Paris"}
        assert [p["stopReason"] for kind, name, p in events if name == "messageStop"] == ["tool_use"]
    else:
        answer = res.json()
        assert answer["stopReason"] == "tool_use"
        use = answer["output"]["message"]["content"][0]["toolUse"]
        assert (use["name"], use["input"]) == ("get_weather", {"city": "Paris"})
        tool_id = use["toolUseId"]
    body["messages"] += [
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": tool_id, "name": "get_weather",
                                                       "input": {"city": "Paris"}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": tool_id, "content": [{"json": {"sky": "clear"}}],
                                                     "status": "success"}}]}]
    res = bedrock_post(fake, body, stream)
    assert res.status == 200, res.body
    if stream:
        said = "".join(p["delta"]["text"] for kind, name, p in bedrock_stream_events(res) if name == "contentBlockDelta")
    else:
        said = res.json()["output"]["message"]["content"][0]["text"]
    assert said == f'tool results: get_weather({tool_id}) = {{"sky":"clear"}}'


def test_bedrock_refuses_what_bedrock_refuses_around_tools_and_images(fake):
    text = marker("#tool=get_weather")
    use = {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}]}
    config = {"tools": [WEATHER_BEDROCK]}
    cases = [
        ({"messages": [{"role": "user", "content": [{"text": text}]}, use,
                       {"role": "user", "content": [{"text": "no result"}]}], "toolConfig": config},
         "Expected toolResult blocks at messages.2.content for the following Ids: t1"),
        ({"messages": [{"role": "user", "content": [{"text": text}]}, use]}, "toolConfig field must be defined"),
        ({"messages": [{"role": "user", "content": [{"text": text}]}],
          "toolConfig": {"tools": [{"toolSpec": {"name": "get_weather"}}]}}, "inputSchema"),
        ({"messages": [{"role": "user", "content": [{"image": {"format": "bmp", "source": {"bytes": "AAAA"}}}]}]},
         "image"),
    ]
    for body, needle in cases:
        res = bedrock_post(fake, body)
        assert res.status == 400, (body, res.body)
        assert needle in res.json()["message"], (needle, res.body)
        assert res.headers["x-amzn-errortype"] == "ValidationException"


def test_bedrock_images(fake):
    content = [{"text": marker("#image")}, {"image": {"format": "png", "source": {"bytes": base64.b64encode(PNG).decode()}}}]
    res = bedrock_post(fake, {"messages": [{"role": "user", "content": content}]})
    assert res.status == 200, res.body
    assert res.json()["output"]["message"]["content"][0]["text"] == f"images: {PNG_INFO}"


def test_openai_embeddings(fake):
    def embed(**body):
        return call(fake, "POST", "/v1/embeddings", {"model": "fake-gpt", **body},
                    {"Authorization": f"Bearer {OPENAI_KEY}", "Content-Type": "application/json"})

    one = embed(input="hello world")
    assert one.status == 200, one.body
    doc = one.json()
    assert doc["object"] == "list" and doc["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    assert doc["data"][0]["object"] == "embedding" and len(doc["data"][0]["embedding"]) == 16
    many = embed(input=["hello world", "other"], dimensions=4).json()
    assert [d["index"] for d in many["data"]] == [0, 1] and all(len(d["embedding"]) == 4 for d in many["data"])
    assert many["data"][0]["embedding"] == doc["data"][0]["embedding"][:4]  # deterministic
    packed = embed(input="hello world", encoding_format="base64").json()["data"][0]["embedding"]
    floats = struct.unpack("<16f", base64.b64decode(packed))
    assert [round(f, 4) for f in floats] == [round(f, 4) for f in doc["data"][0]["embedding"]]
    for bad in ({"input": ""}, {"input": []}, {"input": "x", "dimensions": 0}, {"input": "x", "encoding_format": "int8"}):
        assert embed(**bad).status == 400, bad
    assert call(fake, "POST", "/v1/embeddings", {"model": "fake-gpt", "input": "x"},
                {"Authorization": "Bearer wrong", "Content-Type": "application/json"}).status == 401


@pytest.mark.parametrize("model, body, check", [
    ("amazon.titan-embed-text-v2:0", {"inputText": "hello world", "dimensions": 256},
     lambda d: len(d["embedding"]) == 256 and d["inputTextTokenCount"] == 2
     and abs(sum(v * v for v in d["embedding"]) - 1) < 1e-3),
    ("cohere.embed-english-v3", {"texts": ["a b", "c"], "input_type": "search_document"},
     lambda d: len(d["embeddings"]) == 2 and len(d["embeddings"][0]) == 1024 and d["texts"] == ["a b", "c"]),
])
def test_bedrock_embeddings(fake, model, body, check):
    path = f"/model/{model.replace(':', '%3A')}/invoke"
    payload = json.dumps(body).encode()
    res = call(fake, "POST", path, payload, signed_headers(fake, path, payload))
    assert res.status == 200, res.body
    assert check(res.json())
    bad = json.dumps({"inputText": ""} if "titan" in model else {"texts": ["a"]}).encode()
    res = call(fake, "POST", path, bad, signed_headers(fake, path, bad))
    assert res.status == 400 and res.headers["x-amzn-errortype"] == "ValidationException"
    res = call(fake, "POST", path, payload, {"Content-Type": "application/json"})  # not signed
    assert res.status == 403
