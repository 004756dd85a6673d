"""/v1/chat/completions with tools, images, structured output and OpenAI's other request
parameters, through the official `openai` npm client (tests/node/openai_features.mjs), on each
provider type: OpenAI-compatible (gpt-test), Anthropic (claude-test) and Bedrock (titan-test),
all three played by the fake upstream, which checks what it receives against each provider's
documented format."""

import base64
import hashlib
import json
import os
import subprocess
import zlib

import pytest

from chat_support import new_user
from chat_support import fake, server  # noqa: F401 (fixtures)
from conftest import ROOT, wait_for
from test_openai_api import api_key, openai_error

NODE_DIR = os.path.join(ROOT, "tests", "node")
MODELS = ["gpt-test", "claude-test", "titan-test"]
PROVIDER = {"gpt-test": "openai", "claude-test": "anthropic", "titan-test": "bedrock"}


def png(width=2, height=2):
    """A small valid PNG."""
    def chunk(kind, data):
        return (len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big"))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) +
            chunk(b"IEND", b""))


def describe(data):
    return f"image/png {len(data)} bytes sha256:{hashlib.sha256(data).hexdigest()[:16]}"


def run_client(server, script, *args):
    assert os.path.isdir(os.path.join(NODE_DIR, "node_modules", "openai")), "run `npm ci` in tests/node"
    key = api_key(server, new_user(server)["access_token"])
    env = {**os.environ, "CHATD_V1_URL": f"http://127.0.0.1:{server.port}/v1", "CHATD_V1_KEY": key}
    out = subprocess.run(["node", script, *args], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("model", MODELS)
def test_tools_images_and_structured_output_through_the_openai_client(server, fake, model):
    image = png()
    fake.reset()
    # The structured-output question: the fake answers an OpenAI json_schema request with
    # {"echo": text}; for Anthropic and Bedrock, where chatd forces a tool named after the
    # schema, the directive says what the model puts in that tool's input.
    prompt = "report on Paris"
    if model != "gpt-test":
        prompt = '#tool=city_report {"city": "Paris", "sunny": true} ' + prompt
    seen = run_client(server, "openai_features.mjs", model,
                      "data:image/png;base64," + base64.b64encode(image).decode(), prompt)
    log = [e for e in fake.log() if e["provider"] == PROVIDER[model]]
    assert log, "the requests reached the provider's API"

    # Two rounds, not streamed: a call with its arguments, then an answer from the result.
    first = seen["loop"]["first"]
    assert first["finish_reason"] == "tool_calls"
    assert first["content"] is None
    [call] = first["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert call["id"]
    assert first["usage"]["completion_tokens"] > 0 and first["usage"]["prompt_tokens"] > 0
    assert seen["loop"]["second"] == {"content": f"tool results: get_weather({call['id']}) = get_weather done",
                                      "finish_reason": "stop"}

    # Streamed, two calls at once: id and name come first, the arguments in several pieces.
    first = seen["stream_loop"]["first"]
    assert first["finish_reason"] == "tool_calls"
    assert [(c["name"], json.loads(c["arguments"])) for c in first["calls"]] == [
        ("get_weather", {"city": "Oslo"}), ("get_time", {"city": "Lima, Peru"})]
    assert [p["index"] for p in first["first_pieces"]] == [0, 1]
    assert all(p["id"] and p["name"] for p in first["first_pieces"])
    assert first["pieces"] > len(first["calls"]) + 2, "arguments arrive in pieces"
    assert first["usage"]["completion_tokens"] > 0
    ids = [c["id"] for c in first["calls"]]
    assert seen["stream_loop"]["second"]["text"] == (
        f"tool results: get_weather({ids[0]}) = get_weather done; get_time({ids[1]}) = get_time done")
    assert seen["stream_loop"]["second"]["finish_reason"] == "stop"

    # tool_choice none answers in text; a named function is the one called.
    assert seen["choices"]["none"] == "echo: no tools now"
    [none] = [e["body"] for e in log if "no tools now" in json.dumps(e["body"])]
    if model == "gpt-test":
        assert none["tool_choice"] == "none"
    elif model == "claude-test":
        assert none["tool_choice"] == {"type": "none"}
    else:
        assert "toolConfig" not in none  # Converse has no "none": the tools are not offered
    assert seen["choices"]["named"] == ["get_time"]
    if model == "titan-test":
        # Converse cannot keep a model to one call at a time: refused, never ignored.
        assert seen["choices"]["single"]["status"] == 422
        assert seen["choices"]["single"]["param"] == "parallel_tool_calls"
    else:
        assert seen["choices"]["single"] is None
        assert seen["single_names"] == ["get_weather"]

    # The image reached the provider as bytes.
    assert seen["image"]["content"] == "images: " + describe(image)

    # Structured output: OpenAI-compatible servers take response_format as it is; Anthropic
    # and Bedrock get one forced tool whose input comes back as the JSON text of the answer.
    answer = seen["json_schema"]
    assert answer["tool_calls"] is None and answer["finish_reason"] == "stop"
    if model == "gpt-test":
        assert json.loads(answer["content"]) == {"echo": "report on Paris"}
    else:
        assert json.loads(answer["content"]) == {"city": "Paris", "sunny": True}

    # Parameters: passed on to OpenAI-compatible servers; translated where the provider has an
    # equivalent; otherwise 422 in OpenAI's shape naming the parameter.
    taken = {"gpt-test": {"seed", "presence_penalty", "frequency_penalty", "logit_bias", "user", "reasoning_effort"},
             "claude-test": {"user", "reasoning_effort"},
             "titan-test": {"user"}}[model]
    for name, result in seen["params"].items():
        if name in taken:
            assert result is None, (name, result)
        else:
            assert result is not None and result["status"] == 422, (name, result)
            assert result["param"] == name and result["code"] == "validation_failed", (name, result)
            assert result["name"] == "UnprocessableEntityError"

    bad = seen["bad"]
    assert (bad["unknown_tool_choice"]["status"], bad["unknown_tool_choice"]["param"]) == (422, "tool_choice")
    assert (bad["unanswered_call"]["status"], bad["unanswered_call"]["param"]) == (422, "messages[2]")
    assert bad["http_image"]["status"] == 422
    assert bad["http_image"]["param"] == "messages[0].content[0].image_url.url"
    assert (bad["logprobs"]["status"], bad["logprobs"]["param"]) == (422, "logprobs")


def test_the_openai_wire_format_is_passed_on_as_sent(server, fake):
    """What an OpenAI-compatible server receives: the client's tools, messages and parameters."""
    key = api_key(server, new_user(server)["access_token"])
    image = png()
    body = {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "look"},
                                         {"type": "image_url", "image_url": {
                                             "url": "data:image/png;base64," + base64.b64encode(image).decode(),
                                             "detail": "high"}}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{\"x\":1}"}}]},
            {"role": "tool", "tool_call_id": "call_a", "content": "42"},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "description": "d", "strict": True,
                                                    "parameters": {"type": "object", "properties": {
                                                        "x": {"type": "integer"}}}}}],
        "tool_choice": "auto", "parallel_tool_calls": True, "seed": 3, "presence_penalty": 0.25,
        "frequency_penalty": -0.5, "logit_bias": {"7": 5}, "user": "u-1", "reasoning_effort": "high",
        "max_completion_tokens": 99, "response_format": {"type": "json_object"},
    }
    fake.reset()
    res = server.api("POST", "/v1/chat/completions", body, token=key)
    assert res.status == 200, res.body
    [entry] = [e for e in fake.log() if e["provider"] == "openai"]
    sent = entry["body"]
    assert sent["model"] == "fake-gpt"
    assert sent["messages"] == body["messages"]
    for name in ("tools", "tool_choice", "parallel_tool_calls", "seed", "presence_penalty", "frequency_penalty",
                 "logit_bias", "user", "reasoning_effort", "max_completion_tokens", "response_format"):
        assert sent[name] == body[name], name
    assert "max_tokens" not in sent


@pytest.mark.parametrize("model", MODELS)
def test_streamed_tool_calls_are_openai_chunks(server, model):
    """The raw stream: the first tool chunk carries index, id, type and name; later ones only
    the index and arguments; the last chunk's finish_reason is tool_calls."""
    from chat_support import SseStream
    key = api_key(server, new_user(server)["access_token"])
    stream = SseStream(server, "/v1/chat/completions", {
        "model": model, "stream": True,
        "messages": [{"role": "user", "content": '#tool=lookup {"query": "a fairly long query text"}'}],
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]}, key)
    assert stream.status == 200
    data = [d for _, d, _ in stream.events()]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    pieces = [c["choices"][0]["delta"]["tool_calls"] for c in chunks
              if c["choices"] and "tool_calls" in c["choices"][0]["delta"]]
    assert len(pieces) >= 3
    assert pieces[0] == [{"index": 0, "id": pieces[0][0]["id"], "type": "function",
                          "function": {"name": "lookup", "arguments": pieces[0][0]["function"]["arguments"]}}]
    assert all(set(p[0]) == {"index", "function"} and set(p[0]["function"]) == {"arguments"} for p in pieces[1:])
    arguments = "".join(p[0]["function"]["arguments"] for p in pieces)
    assert json.loads(arguments) == {"query": "a fairly long query text"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_a_refused_parameter_changes_nothing(server):
    key = api_key(server, new_user(server)["access_token"])
    res = server.api("POST", "/v1/chat/completions", {
        "model": "claude-test", "seed": 1, "messages": [{"role": "user", "content": "hi"}]}, token=key)
    error = openai_error(res, 422, "validation_failed")
    assert error["param"] == "seed" and "seed" in error["message"]
    res = server.api("POST", "/v1/chat/completions", {
        "model": "gpt-test", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,!!!"}}]}]}, token=key)
    error = openai_error(res, 422, "validation_failed")
    assert error["param"] == "messages[0].content[0].image_url.url"


# ---- https images fetched by chatd for Bedrock

@pytest.fixture(scope="module")
def tls_fake(tmp_path_factory):
    """The fake upstream over TLS on loopback (a self-signed certificate chatd is told to trust),
    serving the Bedrock API and image files."""
    from chat_support import AWS
    from control import FakeUpstream, make_self_signed_cert
    cert, key = make_self_signed_cert(tmp_path_factory.mktemp("tls"))
    with FakeUpstream(aws=AWS, tls_cert=cert, tls_key=key) as upstream:
        yield upstream


def bedrock_over_tls(make_chatd, tmp_path, tls_fake, **env):
    from chat_support import AWS, BEDROCK_MODEL, LOOSE_LIMITS
    path = tmp_path / "bedrock.json"
    path.write_text(json.dumps({"providers": [
        {"name": "tls-bedrock", "type": "bedrock", "base_url": tls_fake.url, "region": AWS[2],
         "access_key_id": AWS[0], "secret_access_key": AWS[1], "models": [{"id": "br", "upstream_id": BEDROCK_MODEL}]},
        {"name": "tls-anthropic", "type": "anthropic", "base_url": tls_fake.url, "api_key": "k",
         "models": ["cl"]}]}))
    return make_chatd({"CHATD_PROVIDERS_FILE": str(path), "CHATD_REQUIRE_EMAIL_VERIFICATION": "false",
                       "CHATD_RATE_LIMITS": LOOSE_LIMITS, "SSL_CERT_FILE": tls_fake.tls_cert, **env})


def image_question(server, key, url, model="br"):
    return server.api("POST", "/v1/chat/completions", {"model": model, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "#image describe"}, {"type": "image_url", "image_url": {"url": url}}]}]}, token=key)


def test_https_images_are_fetched_for_bedrock_from_allowed_addresses(make_chatd, tmp_path, tls_fake):
    from fake_llm import FILES
    server = bedrock_over_tls(make_chatd, tmp_path, tls_fake, CHATD_IMAGE_FETCH_ALLOW_PRIVATE="true")
    key = api_key(server, new_user(server)["access_token"])
    red = FILES["/_files/red.png"][1]
    base = tls_fake.url

    res = image_question(server, key, base + "/_files/red.png")
    assert res.status == 200, res.body
    assert res.json()["choices"][0]["message"]["content"] == "images: " + describe(red)
    # Followed through a redirect; the bytes decide the type of a generic content type.
    res = image_question(server, key, base + "/_redirect?to=" + base + "/_files/red-as-octets")
    assert res.status == 200, res.body
    assert res.json()["choices"][0]["message"]["content"] == "images: " + describe(red)
    # Not an image, a redirect to plain http, a missing file: 422 naming the image.
    for url in (base + "/_files/page.html", base + "/_redirect?to=http://127.0.0.1:9/x.png",
                base + "/_files/missing.png"):
        error = openai_error(image_question(server, key, url), 422, "validation_failed")
        assert error["param"] == "messages[0].content[1].image_url.url", (url, error)
        assert "could not be fetched" in error["message"], error
    # Anthropic takes the URL itself: nothing is fetched, the URL is passed on.
    tls_fake.reset()
    res = image_question(server, key, base + "/_files/red.png", model="cl")
    assert res.status == 200, res.body
    assert res.json()["choices"][0]["message"]["content"] == f"images: url {base}/_files/red.png"


def test_a_fallback_to_bedrock_fetches_the_images_the_first_model_got_as_urls(make_chatd, tmp_path, tls_fake):
    import socket
    from chat_support import AWS, BEDROCK_MODEL, LOOSE_LIMITS
    from fake_llm import FILES
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: the OpenAI-compatible model fails at once
    path = tmp_path / "fallback.json"
    path.write_text(json.dumps({"providers": [
        {"name": "dead", "type": "openai", "base_url": f"http://127.0.0.1:{port}/v1", "api_key": "x",
         "retries": {"max_attempts": 1}, "models": [{"id": "dead-vision", "fallbacks": ["br"]}]},
        {"name": "tls-bedrock", "type": "bedrock", "base_url": tls_fake.url, "region": AWS[2],
         "access_key_id": AWS[0], "secret_access_key": AWS[1], "models": [{"id": "br", "upstream_id": BEDROCK_MODEL}]}]}))
    server = make_chatd({"CHATD_PROVIDERS_FILE": str(path), "CHATD_REQUIRE_EMAIL_VERIFICATION": "false",
                         "CHATD_RATE_LIMITS": LOOSE_LIMITS, "SSL_CERT_FILE": tls_fake.tls_cert,
                         "CHATD_IMAGE_FETCH_ALLOW_PRIVATE": "true"})
    key = api_key(server, new_user(server)["access_token"])
    red = FILES["/_files/red.png"][1]
    res = image_question(server, key, tls_fake.url + "/_files/red.png", model="dead-vision")
    assert res.status == 200, res.body
    assert res.json()["model"] == "dead-vision"
    assert res.json()["choices"][0]["message"]["content"] == "images: " + describe(red)
    rows = wait_for(lambda: len(server.sql("SELECT 1 FROM usage_events")) == 2 and
                    server.sql("SELECT provider, status FROM usage_events"), 10, "the two usage events")
    assert sorted(tuple(r) for r in rows) == [("dead", "error"), ("tls-bedrock", "complete")]
    # An image that cannot be fetched: 422 naming it, and Bedrock is not called.
    tls_fake.reset()
    error = openai_error(image_question(server, key, tls_fake.url + "/_files/missing.png", model="dead-vision"),
                         422, "validation_failed")
    assert error["param"] == "messages[0].content[1].image_url.url", error
    assert "could not be fetched" in error["message"], error
    assert [e for e in tls_fake.log() if e["provider"] == "bedrock"] == []


def test_images_on_non_public_addresses_are_not_fetched_by_default(make_chatd, tmp_path, tls_fake):
    server = bedrock_over_tls(make_chatd, tmp_path, tls_fake)
    key = api_key(server, new_user(server)["access_token"])
    tls_fake.reset()
    error = openai_error(image_question(server, key, tls_fake.url + "/_files/red.png"), 422, "validation_failed")
    assert error["param"] == "messages[0].content[1].image_url.url"
    assert "not allowed" in error["message"] or "public" in error["message"], error
    assert [e for e in tls_fake.log() if e["provider"] == "bedrock"] == []
