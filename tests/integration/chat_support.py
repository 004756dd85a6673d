"""Shared pieces of the chat tests: a fake LLM upstream, a providers file pointing at it,
quick users (no e-mail verification), and an SSE reader."""

import http.client
import json
import os
import socket
import sys
import uuid

import pytest

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TESTS_DIR, "upstream"))

from control import FakeUpstream  # noqa: E402,F401

from test_auth import login, new_identity, register  # noqa: E402

OPENAI_KEY = "sk-fake-openai-key-0123456789"
ANTHROPIC_KEY = "sk-ant-fake-anthropic-key-0123"
AWS = ("AKIDFAKEEXAMPLE", "fake/secret/key/for/tests/only", "us-east-1")
BEDROCK_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
LOOSE_LIMITS = ("login=100000/60s,register=100000/60s,verify=100000/60s,refresh=100000/60s,otp=100000/60s,"
                "message=100000/60s,global=1000000/60s")


@pytest.fixture(scope="module")
def fake():
    """The fake upstream, one per test module, checking the keys the providers file gives chatd."""
    with FakeUpstream(openai_key=OPENAI_KEY, anthropic_key=ANTHROPIC_KEY, aws=AWS) as upstream:
        yield upstream


@pytest.fixture
def server(make_chatd, tmp_path, fake):
    """A chatd on the three providers of providers_file()."""
    return make_chatd(chat_env(tmp_path, fake))


def providers_file(tmp_path, fake, extra=None, retries=None, timeouts=None, name="providers.json"):
    """Three providers on the fake: gpt-test (OpenAI, falls back to claude-test),
    claude-test (Anthropic), titan-test (Bedrock), plus `extra` provider entries."""
    retries = retries or {"max_attempts": 3, "backoff_ms": 10, "max_backoff_ms": 40}
    timeouts = timeouts or {"connect": 2000, "first_byte": 3000, "total": 10000}
    doc = {"default_model": "gpt-test", "providers": [
        {"name": "fake-openai", "type": "openai", "base_url": fake.url + "/v1", "api_key": OPENAI_KEY,
         "retries": retries, "timeouts_ms": timeouts,
         "models": [{"id": "gpt-test", "upstream_id": "fake-gpt", "context_window": 8192,
                     "price": {"prompt_per_million": 1000, "completion_per_million": 2000},
                     "fallbacks": ["claude-test"]},
                    {"id": "gpt-small", "upstream_id": "fake-gpt", "context_window": 300}]},
        {"name": "fake-anthropic", "type": "anthropic", "base_url": fake.url, "api_key": ANTHROPIC_KEY,
         "retries": retries, "timeouts_ms": timeouts, "models": ["claude-test"]},
        {"name": "fake-bedrock", "type": "bedrock", "base_url": fake.url, "region": AWS[2],
         "access_key_id": AWS[0], "secret_access_key": AWS[1], "retries": retries, "timeouts_ms": timeouts,
         "models": [{"id": "titan-test", "upstream_id": BEDROCK_MODEL}]},
    ] + (extra or [])}
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def chat_env(tmp_path, fake, **overrides):
    env = {"CHATD_PROVIDERS_FILE": providers_file(tmp_path, fake), "CHATD_REQUIRE_EMAIL_VERIFICATION": "false",
           "CHATD_RATE_LIMITS": LOOSE_LIMITS}
    env.update(overrides)
    return env


def new_user(server):
    """Registers and logs in a user (the server must not require e-mail verification)."""
    email, username = new_identity()
    res = register(server, email, username)
    assert res.status == 201, res.body
    res = login(server, username)
    assert res.status == 200, res.body
    return res.json()


def marker():
    return "m" + uuid.uuid4().hex[:12]


class SseStream:
    """An SSE response read event by event from a raw socket, so the test decides when to
    stop reading or to close the connection."""

    def __init__(self, server, path, body, token, accept="text/event-stream", timeout=15):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
        data = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nAccept: {accept}\r\nContent-Length: {len(data)}\r\n\r\n")
        self.sock.sendall(head.encode() + data)
        self.res = http.client.HTTPResponse(self.sock)
        self.res.begin()
        self.status = self.res.status
        self.headers = {k.lower(): v for k, v in self.res.getheaders()}

    def events(self):
        """Yields (event, data, comments) until the stream ends."""
        event, data, comments = "message", [], []
        while True:
            line = self.res.readline()
            if not line:
                return
            line = line.decode().rstrip("\r\n")
            if line == "":
                if data:
                    yield event, "\n".join(data), comments
                event, data, comments = "message", [], []
            elif line.startswith(":"):
                comments.append(line[1:].strip())
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(" ") else value)

    def all(self):
        return [(e, json.loads(d)) for e, d, _ in self.events()]

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
