"""POST /v1/embeddings on embedding models of an OpenAI-compatible server and of Bedrock
(Amazon Titan Text Embeddings, Cohere Embed), all played by the fake upstream; through the
official `openai` npm client and by hand."""

import base64
import math
import os
import struct
import json
import subprocess
import sys

import pytest

from chat_support import AWS, LOOSE_LIMITS, OPENAI_KEY, new_user, providers_file
from chat_support import fake  # noqa: F401 (fixture)
from conftest import ROOT, wait_for
from test_openai_api import api_key, openai_error

sys.path.insert(0, os.path.join(ROOT, "tests", "upstream"))
from fake_llm import fake_embedding  # noqa: E402

NODE_DIR = os.path.join(ROOT, "tests", "node")
TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"


@pytest.fixture
def server(make_chatd, tmp_path, fake):
    """The three chat providers plus embedding models on an OpenAI-compatible server and Bedrock."""
    extra = [
        {"name": "embed-openai", "type": "openai", "base_url": fake.url + "/v1", "api_key": OPENAI_KEY,
         "models": [{"id": "embed-small", "upstream_id": "text-embedding-3-small",
                     "price": {"prompt_per_million": 20}}]},
        {"name": "embed-bedrock", "type": "bedrock", "base_url": fake.url, "region": AWS[2],
         "access_key_id": AWS[0], "secret_access_key": AWS[1],
         "models": [{"id": "titan-embed", "upstream_id": TITAN}, {"id": "cohere-embed", "upstream_id": COHERE},
                    {"id": "odd-name", "upstream_id": "my-vectors", "kind": "embedding"}]},
    ]
    return make_chatd({"CHATD_PROVIDERS_FILE": providers_file(tmp_path, fake, extra=extra),
                       "CHATD_REQUIRE_EMAIL_VERIFICATION": "false", "CHATD_RATE_LIMITS": LOOSE_LIMITS})


def float32(values):
    return list(struct.unpack(f"<{len(values)}f", struct.pack(f"<{len(values)}f", *values)))


def normalized(values):
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 6) for v in values]


def test_embedding_models_are_listed_for_v1_only(server):
    session = new_user(server)
    key = api_key(server, session["access_token"])
    v1 = {m["id"] for m in server.api("GET", "/v1/models", token=key).json()["data"]}
    assert {"embed-small", "titan-embed", "cohere-embed", "odd-name", "gpt-test"} <= v1
    ui = {m["id"] for m in server.api("GET", "/models", token=session["access_token"]).json()["items"]}
    assert "gpt-test" in ui and not ui & {"embed-small", "titan-embed", "cohere-embed", "odd-name"}
    # Each kind only where it belongs.
    res = server.api("POST", "/v1/chat/completions",
                     {"model": "embed-small", "messages": [{"role": "user", "content": "x"}]}, token=key)
    assert "embedding model" in openai_error(res, 422, "validation_failed")["message"]
    res = server.api("POST", "/v1/embeddings", {"model": "gpt-test", "input": "x"}, token=key)
    assert "chat model" in openai_error(res, 422, "validation_failed")["message"]
    res = server.api("POST", "/conversations", {"model": "titan-embed"}, token=session["access_token"])
    assert res.status == 422


def test_official_client_gets_each_providers_vectors(server, fake):
    assert os.path.isdir(os.path.join(NODE_DIR, "node_modules", "openai")), "run `npm ci` in tests/node"
    key = api_key(server, new_user(server)["access_token"])
    env = {**os.environ, "CHATD_V1_URL": f"http://127.0.0.1:{server.port}/v1", "CHATD_V1_KEY": key}
    texts = ["The food was delicious and the waiter", "was slow", "third text here"]
    expected = {"embed-small": [float32(fake_embedding(t, 16)) for t in texts],
                "titan-embed": [float32(normalized(fake_embedding(t, 1024))) for t in texts],
                "cohere-embed": [float32(fake_embedding(t, 1024)) for t in texts]}
    for model, vectors in expected.items():
        fake.reset()
        out = subprocess.run(["node", "openai_embeddings.mjs", model, *texts], cwd=NODE_DIR, env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        seen = json.loads(out.stdout)
        assert seen["model"] == model and seen["indexes"] == [0, 1, 2]
        assert seen["vectors"] == vectors, model  # base64 float32: exact
        assert seen["float_vector"] == pytest.approx(vectors[0], rel=1e-6), model
        calls = [e for e in fake.log() if e["provider"] in ("openai", "bedrock")]
        if model == "titan-embed":
            # Titan embeds one text per call.
            assert [c["body"]["inputText"] for c in calls] == texts + texts[:1]
            assert seen["usage"]["prompt_tokens"] == 7 + 2 + 3
        elif model == "cohere-embed":
            assert calls[0]["body"] == {"texts": texts, "input_type": "search_document"}
            assert seen["usage"]["prompt_tokens"] > 0  # estimated: Cohere reports none
        else:
            assert calls[0]["body"]["model"] == "text-embedding-3-small"
            assert calls[0]["body"]["encoding_format"] == "float"
            assert seen["usage"]["prompt_tokens"] == 7 + 2 + 3
            assert all(c["sigv4_ok"] is None for c in calls)
        if model != "embed-small":
            assert all(c["sigv4_ok"] for c in calls), calls


def test_embeddings_by_hand_count_in_usage_and_refuse_bad_input(server, fake):
    session = new_user(server)
    key = api_key(server, session["access_token"])
    res = server.api("POST", "/v1/embeddings", {"model": "embed-small", "input": [[1, 2, 3], [4, 5]],
                                                "dimensions": 4, "encoding_format": "base64"}, token=key)
    assert res.status == 200, res.body
    body = res.json()
    assert body["object"] == "list" and body["usage"] == {"prompt_tokens": 5, "total_tokens": 5}
    got = [list(struct.unpack("<4f", base64.b64decode(d["embedding"]))) for d in body["data"]]
    assert got == [float32(fake_embedding("1 2 3", 4)), float32(fake_embedding("4 5", 4))]
    rows = wait_for(lambda: server.sql("SELECT model, prompt_tokens, completion_tokens, status FROM usage_events "
                                       "WHERE model = 'embed-small'"), 5, "the usage event")
    assert rows == [("embed-small", "5", "0", "complete")]

    res = server.api("POST", "/v1/embeddings", {"model": "titan-embed", "input": "hi", "dimensions": 256},
                     token=key)
    assert res.status == 200 and len(res.json()["data"][0]["embedding"]) == 256
    for body, param in [({"model": "embed-small"}, "input"), ({"model": "embed-small", "input": ""}, "input"),
                        ({"model": "embed-small", "input": ["a", 3]}, "input"),
                        ({"model": "embed-small", "input": "a", "dimensions": 0}, "dimensions"),
                        ({"model": "embed-small", "input": "a", "encoding_format": "int8"}, "encoding_format"),
                        ({"model": "cohere-embed", "input": "a", "dimensions": 256}, "dimensions"),
                        ({"model": "titan-embed", "input": [1, 2]}, "input"),
                        ({"model": "nope", "input": "a"}, "model")]:
        error = openai_error(server.api("POST", "/v1/embeddings", body, token=key), 422, "validation_failed")
        assert error["param"] == param, (body, error)
    # A Bedrock model of a family chatd cannot speak to: refused before anything is sent.
    fake.reset()
    res = server.api("POST", "/v1/embeddings", {"model": "odd-name", "input": "a"}, token=key)
    assert openai_error(res, 422, "validation_failed")["param"] == "model"
    assert [e for e in fake.log() if e["provider"] == "bedrock"] == []
