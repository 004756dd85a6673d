"""The OpenAI-compatible /v1 endpoint: wire format checked by hand and through the official
`openai` npm client library (tests/node)."""

import json
import os
import socket
import subprocess

from chat_support import SseStream, chat_env, marker, new_user
from chat_support import fake, server  # noqa: F401 (fixtures)
from conftest import ROOT, wait_for

NODE_DIR = os.path.join(ROOT, "tests", "node")


def api_key(server, token):
    res = server.api("POST", "/api-keys", {"name": "v1 test"}, token=token)
    assert res.status == 201, res.body
    return res.json()["key"]


def openai_error(res, status, code):
    assert res.status == status, res.body
    assert res.header("content-type") == "application/json"
    body = res.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    assert body["error"]["code"] == code, body
    return body["error"]


def test_models_and_completion_with_an_api_key(server, fake):
    session = new_user(server)
    key = api_key(server, session["access_token"])
    models = server.api("GET", "/v1/models", token=key)
    assert models.status == 200
    assert models.json()["object"] == "list"
    assert {m["id"] for m in models.json()["data"]} == {"gpt-test", "gpt-small", "claude-test", "titan-test"}
    word = marker()
    res = server.api("POST", "/v1/chat/completions",
                     {"model": "claude-test", "messages": [{"role": "user", "content": f"hi {word}"}]}, token=key)
    assert res.status == 200, res.body
    body = res.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-") and body["model"] == "claude-test"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": f"echo: hi {word}", "refusal": None}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    # /v1 usage events are written in batches, a moment after the answer.
    rows = wait_for(lambda: server.sql("SELECT api_key_id, conversation_id, model, status FROM usage_events"),
                    5, "the usage event")
    key_id = server.api("GET", "/api-keys", token=session["access_token"]).json()["items"][0]["id"]
    assert rows == [(key_id, "", "claude-test", "complete")]
    # An access token works too.
    assert server.api("GET", "/v1/models", token=session["access_token"]).status == 200


def test_a_spent_daily_quota_is_429_in_openais_shape(make_chatd, tmp_path, fake):
    server = make_chatd(chat_env(tmp_path, fake, CHATD_USER_TOKEN_QUOTA="4"))
    key = api_key(server, new_user(server)["access_token"])
    body = {"model": "gpt-test", "messages": [{"role": "user", "content": "one two three"}]}
    assert server.api("POST", "/v1/chat/completions", body, token=key).status == 200  # 2 + 4 tokens: spent
    # The usage events reach the database a moment after the answer.
    wait_for(lambda: server.sql("SELECT id FROM usage_events"), 5, "the usage event")
    res = server.api("POST", "/v1/chat/completions", body, token=key)
    error = openai_error(res, 429, "rate_limited")
    assert error["type"] == "rate_limit_error" and "quota" in error["message"]
    assert 0 < int(res.header("retry-after")) <= 86400
    # Streamed or not, the same refusal, before anything is streamed.
    stream = server.api("POST", "/v1/chat/completions", dict(body, stream=True), token=key)
    openai_error(stream, 429, "rate_limited")
    assert len(server.sql("SELECT id FROM usage_events")) == 1  # the refused calls cost nothing


def test_streaming_chunks_end_with_done(server):
    key = api_key(server, new_user(server)["access_token"])
    stream = SseStream(server, "/v1/chat/completions",
                       {"model": "gpt-test", "stream": True, "stream_options": {"include_usage": True},
                        "messages": [{"role": "user", "content": "a b c"}]}, key)
    assert stream.status == 200
    data = [d for _, d, _ in stream.events()]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "gpt-test" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "echo: a b c"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 4


def _read_response(sock, buf):
    """One HTTP/1.1 response from `sock` (Content-Length or chunked): (head, body, rest of buf)."""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, buf = buf.split(b"\r\n\r\n", 1)
    lower = head.lower()
    if b"transfer-encoding: chunked" in lower:
        body = b""
        while True:
            while b"\r\n" not in buf:
                buf += sock.recv(65536)
            size_line, buf = buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(buf) < size + 2:
                buf += sock.recv(65536)
            body, buf = body + buf[:size], buf[size + 2:]
            if size == 0:
                return head, body, buf
    length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
    while len(buf) < length:
        buf += sock.recv(65536)
    return head, buf[:length], buf[length:]


def test_a_stream_keeps_its_connection_and_pipelined_requests_wait_their_turn(server):
    # A request that arrives while a stream runs (pipelined: sent before the stream's
    # answer ended) and another one after it ends: both are answered, in order, on the same
    # connection.
    key = api_key(server, new_user(server)["access_token"])
    body = json.dumps({"model": "gpt-test", "stream": True, "messages": [{"role": "user", "content": "x y #slow"}]})
    stream = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {key}\r\n"
              f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode()
    models = f"GET /v1/models HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(stream)
        buf = b""
        while b"data: " not in buf:  # the stream has started
            buf += sock.recv(65536)
        sock.sendall(models)
        head, first, buf = _read_response(sock, buf)
        assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head.lower()
        assert first.endswith(b"data: [DONE]\n\n")
        head, second, buf = _read_response(sock, buf)
        assert head.startswith(b"HTTP/1.1 200") and json.loads(second)["object"] == "list"
        sock.sendall(models)
        head, third, buf = _read_response(sock, buf)
        assert head.startswith(b"HTTP/1.1 200") and json.loads(third)["object"] == "list"
        assert buf == b""


def test_errors_use_openai_shape(server):
    key = api_key(server, new_user(server)["access_token"])
    err = openai_error(server.api("GET", "/v1/models"), 401, "unauthorized")
    assert err["type"] == "authentication_error"
    openai_error(server.api("GET", "/v1/models", token="ck_" + "x" * 40), 401, "unauthorized")
    err = openai_error(server.api("POST", "/v1/chat/completions", {"model": "nope", "messages": [
        {"role": "user", "content": "x"}]}, token=key), 422, "validation_failed")
    assert err["param"] == "model" and err["type"] == "invalid_request_error"
    err = openai_error(server.api("POST", "/v1/chat/completions", {"model": "gpt-test"}, token=key), 422,
                       "validation_failed")
    assert err["param"] == "messages"
    openai_error(server.request("POST", "/v1/chat/completions", body="{nope",
                                headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"}),
                 400, "invalid_json")
    openai_error(server.api("GET", "/v1/nothing-here", token=key), 404, "not_found")
    err = openai_error(server.api("POST", "/v1/chat/completions", {"model": "claude-test", "messages": [
        {"role": "user", "content": "#fail500"}]}, token=key), 502, "upstream_error")
    assert err["type"] == "api_error"
    # Streaming, failing before the first byte: a real status, not a 200 stream.
    openai_error(server.api("POST", "/v1/chat/completions", {"model": "claude-test", "stream": True, "messages": [
        {"role": "user", "content": "#fail400"}]}, token=key), 502, "upstream_error")
    # Anthropic and Bedrock need something a user said: without it the request is the
    # caller's to fix, not a provider failure (OpenAI takes a system prompt alone).
    for model in ("claude-test", "titan-test"):
        for stream in (False, True):
            for messages in ([{"role": "system", "content": "s"}], [{"role": "user", "content": "  "}]):
                err = openai_error(server.api("POST", "/v1/chat/completions",
                                              {"model": model, "stream": stream, "messages": messages}, token=key),
                                   422, "validation_failed")
                assert err["type"] == "invalid_request_error" and err["param"] == "messages", err


def test_expired_api_key_is_refused_at_creation(server):
    token = new_user(server)["access_token"]
    res = server.api("POST", "/api-keys", {"name": "old", "expires_at": "2001-01-01T00:00:00Z"}, token=token)
    assert res.status == 422


def test_official_openai_client(server, fake):
    assert os.path.isdir(os.path.join(NODE_DIR, "node_modules", "openai")), "run `npm ci` in tests/node"
    key = api_key(server, new_user(server)["access_token"])
    env = {**os.environ, "CHATD_V1_URL": f"http://127.0.0.1:{server.port}/v1", "CHATD_V1_KEY": key}
    out = subprocess.run(["node", "openai_client.mjs", "gpt-test"], cwd=NODE_DIR, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert "gpt-test" in seen["models"]
    assert seen["completion"] == {"object": "chat.completion", "content": "echo: hello from node",
                                  "finish_reason": "stop", "model": "gpt-test",
                                  "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}}
    assert "".join(seen["stream"]["deltas"]) == "echo: stream this please"
    assert seen["stream"]["finish_reason"] == "stop" and seen["stream"]["usage"]["completion_tokens"] == 4
    assert seen["unknown_model"]["status"] == 422 and seen["unknown_model"]["code"] == "validation_failed"
    assert seen["upstream_failure"]["status"] == 502 and seen["upstream_failure"]["code"] == "upstream_error"
    # The failure came mid-stream (after 200 and some chunks): the client raises from the
    # error event chatd sends instead of [DONE].
    assert seen["stream_failure"] is not None and "provider" in seen["stream_failure"]["message"]
    assert seen["bad_key"]["status"] == 401 and seen["bad_key"]["name"] == "AuthenticationError"
