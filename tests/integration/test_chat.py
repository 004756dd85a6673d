"""Conversations, messages and sending them to models through the fake upstream, which
speaks the OpenAI, Anthropic and Bedrock wire protocols (tests/upstream/fake_llm.py)."""

import json
import pathlib
import socket
import time

import pytest

from chat_support import LOOSE_LIMITS, SseStream, chat_env, marker, new_user, providers_file
from chat_support import fake, server  # noqa: F401 (fixtures)
from conftest import wait_for
from test_auth import problem


def entries_with(fake, text):
    """The fake's log entries whose request mentions `text`."""
    return [e for e in fake.log() if text in json.dumps(e.get("body"))]


def create(server, token, **fields):
    res = server.api("POST", "/conversations", fields, token=token)
    assert res.status == 201, res.body
    return res.json()


def send_json(server, token, conv_id, content, **extra):
    return server.api("POST", f"/conversations/{conv_id}/messages", {"content": content, **extra}, token=token)


def messages(server, token, conv_id):
    res = server.api("GET", f"/conversations/{conv_id}/messages?limit=100", token=token)
    assert res.status == 200, res.body
    return res.json()["items"]


# --- models and conversations -------------------------------------------------------

def test_models_list_the_configured_models(server):
    token = new_user(server)["access_token"]
    res = server.api("GET", "/models", token=token)
    assert res.status == 200
    items = {m["id"]: m for m in res.json()["items"]}
    assert set(items) == {"gpt-test", "gpt-small", "claude-test", "titan-test"}
    assert items["gpt-test"] == {"id": "gpt-test", "provider": "fake-openai", "context_window": 8192}
    assert items["claude-test"]["context_window"] == 8192  # the default when the file names none
    assert items["titan-test"]["provider"] == "fake-bedrock"
    assert not any(m.get("demo") for m in items.values())


def test_conversation_crud(server):
    token = new_user(server)["access_token"]
    conv = create(server, token, title="First", system_prompt="Be brief.")
    assert conv["model"] == "gpt-test" and conv["title"] == "First" and conv["system_prompt"] == "Be brief."
    assert conv["message_count"] == 0 and conv["created_at"] == conv["updated_at"]
    assert server.api("GET", f"/conversations/{conv['id']}", token=token).json() == conv

    res = server.api("PATCH", f"/conversations/{conv['id']}", {"title": "Renamed", "model": "claude-test",
                                                               "system_prompt": None}, token=token)
    assert res.status == 200, res.body
    patched = res.json()
    assert patched["title"] == "Renamed" and patched["model"] == "claude-test" and patched["system_prompt"] is None
    assert server.api("PATCH", f"/conversations/{conv['id']}", {"title": "Again"}, token=token).json()["model"] == \
        "claude-test"

    listed = server.api("GET", "/conversations", token=token).json()
    assert [c["id"] for c in listed["items"]] == [conv["id"]] and listed["next_cursor"] is None

    assert server.api("DELETE", f"/conversations/{conv['id']}", token=token).status == 204
    problem(server.api("GET", f"/conversations/{conv['id']}", token=token), 404, "not_found")
    problem(server.api("DELETE", f"/conversations/{conv['id']}", token=token), 404, "not_found")
    problem(server.api("GET", f"/conversations/{conv['id']}/messages", token=token), 404, "not_found")
    problem(send_json(server, token, conv["id"], "hello"), 404, "not_found")
    assert server.api("GET", "/conversations", token=token).json()["items"] == []


def test_another_users_conversation_is_404(server):
    owner = new_user(server)["access_token"]
    other = new_user(server)["access_token"]
    conv = create(server, owner, title="private")
    path = f"/conversations/{conv['id']}"
    problem(server.api("GET", path, token=other), 404, "not_found")
    problem(server.api("PATCH", path, {"title": "x"}, token=other), 404, "not_found")
    problem(server.api("DELETE", path, token=other), 404, "not_found")
    problem(server.api("GET", path + "/messages", token=other), 404, "not_found")
    problem(send_json(server, other, conv["id"], "hi"), 404, "not_found")
    assert server.api("GET", "/conversations", token=other).json()["items"] == []
    # Nothing changed for the owner.
    assert server.api("GET", path, token=owner).json()["title"] == "private"
    assert messages(server, owner, conv["id"]) == []


def test_conversation_validation(server):
    token = new_user(server)["access_token"]
    body = problem(server.api("POST", "/conversations", {"model": "no-such-model"}, token=token), 422,
                   "validation_failed")
    assert body["errors"][0]["field"] == "model"
    body = problem(server.api("POST", "/conversations", {"title": "x" * 201, "system_prompt": 5}, token=token), 422,
                   "validation_failed")
    assert {e["field"] for e in body["errors"]} == {"title", "system_prompt"}
    conv = create(server, token)
    problem(server.api("PATCH", f"/conversations/{conv['id']}", {"model": "nope"}, token=token), 422,
            "validation_failed")
    problem(server.api("GET", "/conversations?limit=0", token=token), 422, "validation_failed")
    problem(server.api("GET", "/conversations?cursor=%%%", token=token), 422, "validation_failed")
    problem(send_json(server, token, conv["id"], "   \n"), 422, "validation_failed")
    problem(server.api("POST", f"/conversations/{conv['id']}/messages", {"content": 7}, token=token), 422,
            "validation_failed")
    problem(send_json(server, token, conv["id"], "hi", model="nope"), 422, "validation_failed")
    # None of that created anything.
    assert server.api("GET", f"/conversations/{conv['id']}", token=token).json()["message_count"] == 0


def test_message_length_limit(make_chatd, tmp_path, fake):
    server = make_chatd(chat_env(tmp_path, fake, CHATD_MAX_MESSAGE_CHARS="20"))
    token = new_user(server)["access_token"]
    conv = create(server, token)
    assert send_json(server, token, conv["id"], "é" * 20).status == 201  # characters, not bytes
    body = problem(send_json(server, token, conv["id"], "x" * 21), 422, "validation_failed")
    assert body["errors"][0]["field"] == "content"
    assert len(messages(server, token, conv["id"])) == 2


def test_conversations_paginate_newest_updated_first(server):
    token = new_user(server)["access_token"]
    ids = [create(server, token, title=f"c{i}")["id"] for i in range(5)]
    # A message moves the first conversation to the top.
    assert send_json(server, token, ids[0], "bump").status == 201
    seen, cursor = [], None
    while True:
        res = server.api("GET", "/conversations?limit=2" + (f"&cursor={cursor}" if cursor else ""), token=token)
        assert res.status == 200
        page = res.json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Conversations created within one millisecond tie on updated_at and are then ordered by
    # id, so compare with one big page rather than with the creation order.
    whole = [c["id"] for c in server.api("GET", "/conversations?limit=100", token=token).json()["items"]]
    assert seen == whole and seen[0] == ids[0] and sorted(seen) == sorted(ids)


def test_messages_page_newest_first_with_order_desc(server):
    token = new_user(server)["access_token"]
    conv = create(server, token)["id"]
    for i in range(4):
        assert send_json(server, token, conv, f"m{i}").status == 201
    oldest_first = [m["id"] for m in messages(server, token, conv)]
    assert len(oldest_first) == 8
    seen, cursor = [], None
    while True:
        res = server.api("GET", f"/conversations/{conv}/messages?order=desc&limit=3"
                         + (f"&cursor={cursor}" if cursor else ""), token=token)
        assert res.status == 200, res.body
        seen += [m["id"] for m in res.json()["items"]]
        cursor = res.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == oldest_first[::-1]
    assert [m["id"] for m in server.api("GET", f"/conversations/{conv}/messages?order=asc&limit=2",
                                        token=token).json()["items"]] == oldest_first[:2]
    body = problem(server.api("GET", f"/conversations/{conv}/messages?order=newest", token=token),
                   422, "validation_failed")
    assert body["errors"][0]["field"] == "order"


def test_search_titles_and_message_text(server):
    token = new_user(server)["access_token"]
    word = marker()
    by_title = create(server, token, title=f"Notes about {word.upper()}")
    by_message = create(server, token, title="other")
    assert send_json(server, token, by_message["id"], f"tell me about {word} please").status == 201
    create(server, token, title="unrelated")

    def search(q):
        res = server.api("GET", "/conversations?q=" + q, token=token)
        assert res.status == 200, res.body
        return {c["id"] for c in res.json()["items"]}

    assert search(word) == {by_title["id"], by_message["id"]}
    assert search(f"{word}%20please") == {by_message["id"]}
    assert search("zzzznotthere") == set()
    assert search("%22%29%28*%20OR%20NEAR") == set()  # query syntax is never interpreted
    other = new_user(server)["access_token"]
    assert server.api("GET", "/conversations?q=" + word, token=other).json()["items"] == []
    server.api("DELETE", f"/conversations/{by_message['id']}", token=token)
    assert search(word) == {by_title["id"]}


# --- sending ------------------------------------------------------------------------

def test_send_json_mode_stores_both_messages(server, fake):
    token = new_user(server)["access_token"]
    conv = create(server, token)
    res = send_json(server, token, conv["id"], "hello there world")
    assert res.status == 201, res.body
    body = res.json()
    user, answer = body["user_message"], body["assistant_message"]
    assert user["role"] == "user" and user["content"] == "hello there world" and user["status"] == "complete"
    assert answer["role"] == "assistant" and answer["status"] == "complete" and answer["model"] == "gpt-test"
    assert answer["content"] == "echo: hello there world"
    assert answer["usage"] == {"prompt_tokens": 3, "completion_tokens": 4}
    assert messages(server, token, conv["id"]) == [user, answer]
    conv = server.api("GET", f"/conversations/{conv['id']}", token=token).json()
    assert conv["message_count"] == 2 and conv["title"] == "hello there world"  # titled by the first message
    request = entries_with(fake, "hello there world")[-1]
    assert request["provider"] == "openai" and request["headers"]["authorization"] == "Bearer sk-fake-openai-key-0123456789"
    assert request["body"]["model"] == "fake-gpt" and request["body"]["stream"] is True
    assert request["body"]["stream_options"] == {"include_usage": True}


def test_send_sse_event_order(server):
    token = new_user(server)["access_token"]
    conv = create(server, token)
    stream = SseStream(server, f"/conversations/{conv['id']}/messages", {"content": "one two three"}, token)
    assert stream.status == 200 and stream.headers["content-type"] == "text/event-stream"
    events = stream.all()
    names = [e for e, _ in events]
    assert names[0] == "message" and names[-1] == "done" and set(names[1:-1]) == {"delta"}
    assert events[0][1]["role"] == "user" and events[0][1]["content"] == "one two three"
    text = "".join(d["text"] for e, d in events if e == "delta")
    done = events[-1][1]
    assert text == "echo: one two three" == done["message"]["content"]
    assert done["message"]["status"] == "complete" and done["usage"] == {"prompt_tokens": 3, "completion_tokens": 4}
    assert [m["id"] for m in messages(server, token, conv["id"])] == [events[0][1]["id"], done["message"]["id"]]


def test_model_sees_system_prompt_and_history(server):
    token = new_user(server)["access_token"]
    conv = create(server, token, system_prompt="You are terse.")
    assert send_json(server, token, conv["id"], "first question").status == 201
    res = send_json(server, token, conv["id"], "#echo-history now")
    assert res.status == 201, res.body
    seen = json.loads(res.json()["assistant_message"]["content"])
    assert seen == [{"role": "system", "text": "You are terse."},
                    {"role": "user", "text": "first question"},
                    {"role": "assistant", "text": "echo: first question"},
                    {"role": "user", "text": "#echo-history now"}]


def test_history_is_trimmed_oldest_first_to_the_context_window(server):
    token = new_user(server)["access_token"]
    conv = create(server, token, model="gpt-small")  # context_window 300 tokens
    for i in range(6):
        assert send_json(server, token, conv["id"], f"turn{i} " + "word " * 60).status == 201
    res = send_json(server, token, conv["id"], "#echo-history last")
    seen = json.loads(res.json()["assistant_message"]["content"])
    assert seen[-1] == {"role": "user", "text": "#echo-history last"}
    kept = [m["text"].split()[0] for m in seen[:-1]]
    # Budget 300 - 75 reserved for the answer; each turn is ~80 tokens: only the newest fit.
    assert 0 < len(kept) < 12 and kept[-1] == "echo:" and "turn0" not in kept
    # Oldest first, and no gap: what is kept is a suffix of the history.
    assert "turn5" in kept


def test_other_models_anthropic_and_bedrock(server, fake):
    token = new_user(server)["access_token"]
    for model, provider in (("claude-test", "anthropic"), ("titan-test", "bedrock")):
        conv = create(server, token, model=model, system_prompt="sys prompt")
        word = marker()
        res = send_json(server, token, conv["id"], f"hi {word}")
        assert res.status == 201, res.body
        assert res.json()["assistant_message"]["content"] == f"echo: hi {word}"
        assert res.json()["assistant_message"]["model"] == model
        stream = SseStream(server, f"/conversations/{conv['id']}/messages", {"content": f"again {word}"}, token)
        events = stream.all()
        assert events[-1][0] == "done", events
        assert "".join(d["text"] for e, d in events if e == "delta") == f"echo: again {word}"
        requests = entries_with(fake, word)
        assert {r["provider"] for r in requests} == {provider}
        if provider == "bedrock":
            assert all(r["sigv4_ok"] for r in requests), requests
            assert {r["path"] for r in requests} == {"/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"}
        else:
            assert all(r["headers"]["x-api-key"] == "sk-ant-fake-anthropic-key-0123" for r in requests)
            assert requests[-1]["body"]["system"] == "sys prompt"


def test_provider_failure_json_mode_is_502_and_keeps_the_message(server, fake):
    token = new_user(server)["access_token"]
    conv = create(server, token, model="claude-test")
    word = marker()
    problem(send_json(server, token, conv["id"], f"#fail500 {word}"), 502, "upstream_error")
    stored = messages(server, token, conv["id"])
    assert [(m["role"], m["status"]) for m in stored] == [("user", "complete"), ("assistant", "error")]
    assert stored[1]["content"] == ""
    assert len(entries_with(fake, word)) == 3  # every attempt of the retry policy


def test_retries_then_succeeds(server, fake):
    token = new_user(server)["access_token"]
    conv = create(server, token)
    text = f"#fail2-500 {marker()}"
    res = send_json(server, token, conv["id"], text)
    assert res.status == 201, res.body
    assert res.json()["assistant_message"]["status"] == "complete"
    assert [e["status"] for e in entries_with(fake, text)] == [500, 500, 200]


def test_falls_back_to_the_next_model(make_chatd, tmp_path, fake):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: connecting fails at once
    dead = {"name": "dead", "type": "openai", "base_url": f"http://127.0.0.1:{port}/v1", "api_key": "x",
            "retries": {"max_attempts": 2, "backoff_ms": 10}, "models": [{"id": "dead-model", "fallbacks": ["claude-test"]}]}
    env = chat_env(tmp_path, fake)
    env["CHATD_PROVIDERS_FILE"] = providers_file(tmp_path, fake, extra=[dead], name="with-dead.json")
    server = make_chatd(env)
    token = new_user(server)["access_token"]
    conv = create(server, token, model="dead-model")
    word = marker()
    res = send_json(server, token, conv["id"], word)
    assert res.status == 201, res.body
    assert res.json()["assistant_message"]["model"] == "claude-test"
    assert [e["provider"] for e in entries_with(fake, word)] == ["anthropic"]
    rows = server.sql("SELECT provider, status FROM usage_events")
    assert sorted(tuple(r) for r in rows) == [("dead", "error"), ("dead", "error"), ("fake-anthropic", "complete")]


def test_timeout_json_504_and_sse_error(make_chatd, tmp_path, fake):
    env = chat_env(tmp_path, fake)
    env["CHATD_PROVIDERS_FILE"] = providers_file(tmp_path, fake, timeouts={"connect": 2000, "first_byte": 800,
                                                                            "total": 3000}, name="fast.json")
    server = make_chatd(env)
    token = new_user(server)["access_token"]
    # A conversation per case: Anthropic merges consecutive user turns, so an earlier
    # "#hang" would be part of the next request's last message.
    conv = create(server, token, model="claude-test")
    problem(send_json(server, token, conv["id"], "#hang " + marker()), 504, "upstream_timeout")
    conv = create(server, token, model="claude-test")
    stream = SseStream(server, f"/conversations/{conv['id']}/messages", {"content": "#hang " + marker()}, token)
    events = stream.all()
    assert [e for e, _ in events] == ["message", "error"]
    assert events[-1][1]["code"] == "upstream_timeout" and events[-1][1]["message"]["status"] == "error"
    # A stream that stalls after the first deltas ends at the total deadline, keeping them.
    conv = create(server, token, model="claude-test")
    stream = SseStream(server, f"/conversations/{conv['id']}/messages", {"content": "#stall " + marker()}, token)
    events = stream.all()
    assert events[-1][0] == "error" and events[-1][1]["code"] == "upstream_timeout"
    kept = "".join(d["text"] for e, d in events if e == "delta")
    assert kept and events[-1][1]["message"]["content"] == kept
    assert [m["status"] for m in messages(server, token, conv["id"])][-1] == "error"


def test_failure_mid_stream_keeps_the_partial_answer(server):
    token = new_user(server)["access_token"]
    for model in ("gpt-test", "claude-test", "titan-test"):
        conv = create(server, token, model=model)
        stream = SseStream(server, f"/conversations/{conv['id']}/messages", {"content": "#midfail a b c d e"}, token)
        events = stream.all()
        names = [e for e, _ in events]
        assert names[0] == "message" and names[-1] == "error" and names.count("delta") == 3, (model, names)
        partial = "".join(d["text"] for e, d in events if e == "delta")
        assert events[-1][1]["code"] == "upstream_error"
        stored = messages(server, token, conv["id"])
        assert [m["role"] for m in stored] == ["user", "assistant"]
        assert stored[1]["status"] == "error" and stored[1]["content"] == partial, model


def test_client_disconnect_cancels_the_upstream_call(server, fake):
    token = new_user(server)["access_token"]
    conv = create(server, token)
    text = "#slow " + marker()
    stream = SseStream(server, f"/conversations/{conv['id']}/messages", {"content": text}, token)
    got = []
    for event, data, _ in stream.events():
        if event == "delta":
            got.append(json.loads(data)["text"])
        if len(got) == 2:
            break
    closed_at = fake.now()
    stream.close()
    entry = fake.wait_log(lambda e: text in json.dumps(e.get("body")) and e["ended"] == "client_closed", timeout=5)
    assert entry["client_closed_at"] - closed_at < 1.0
    stored = wait_for(lambda: [m for m in messages(server, token, conv["id"]) if m["role"] == "assistant"], 5,
                      "the cancelled answer to be stored")
    assert stored[0]["status"] == "cancelled" and stored[0]["content"].startswith("".join(got))
    # The server is fine afterwards.
    assert send_json(server, token, conv["id"], "still there").status == 201


def test_heartbeats_while_the_model_is_silent(make_chatd, tmp_path, fake):
    server = make_chatd(chat_env(tmp_path, fake, CHATD_SSE_HEARTBEAT_MS="200"))
    token = new_user(server)["access_token"]
    conv = create(server, token, model="claude-test")
    stream = SseStream(server, f"/conversations/{conv['id']}/messages", {"content": "#stall " + marker()}, token)
    comments = 0
    raw = stream.res
    deadline = time.monotonic() + 5
    while comments < 2 and time.monotonic() < deadline:
        line = raw.readline().decode()
        if line.startswith(":"):
            comments += 1
    stream.close()
    assert comments >= 2


# --- usage, quotas and limits ------------------------------------------------------

def test_usage_and_costs(server):
    session = new_user(server)
    token = session["access_token"]
    conv = create(server, token)
    for text in ("a b c", "d e"):
        assert send_json(server, token, conv["id"], text).status == 201
    usage = server.api("GET", "/usage", token=token).json()
    # Prompt tokens are the words the model saw (history included); completion tokens the deltas.
    assert usage["requests"] == 2 and usage["quota"] is None
    assert usage["prompt_tokens"] == 3 + (3 + 4 + 2) and usage["completion_tokens"] == 4 + 3
    assert usage["cost_usd"] == pytest.approx((12 * 1000 + 7 * 2000) / 1e6)
    rows = server.sql(f"SELECT provider, model, status, latency_ms FROM usage_events WHERE user_id = '{session['user']['id']}'")
    assert sorted(r[:3] for r in rows) == [("fake-openai", "gpt-test", "complete")] * 2
    assert all(int(r[3]) >= 0 for r in rows)


def test_usage_breakdown_by_day_and_model(server):
    session = new_user(server)
    token = session["access_token"]
    uid = session["user"]["id"]
    other = new_user(server)
    base = 1795305600000  # 2026-11-22T00:00:00Z
    rows = [(uid, base + 1000, "m1", 10, 5, 0.5), (uid, base + 2000, "m2", 1, 2, 0.25),
            (uid, base - 86400000, "m1", 3, 3, 1.0), (other["user"]["id"], base, "m1", 100, 100, 9.0)]
    for i, (who, at, model, p, c, cost) in enumerate(rows):
        server.sql("INSERT INTO usage_events (id, user_id, provider, model, prompt_tokens, completion_tokens, cost_usd,"
                   f" latency_ms, status, created_at) VALUES ('ub{i}', '{who}', 'test', '{model}', {p}, {c}, {cost},"
                   f" 5, 'complete', {at})")
    q = "from=2026-11-01&to=2026-11-30"
    by_day = server.api("GET", f"/usage?{q}&group_by=day", token=token).json()
    # The totals and quota as without group_by, and the user's own rows only.
    assert by_day["requests"] == 3 and by_day["quota"] is None
    assert [(d["key"], d["requests"], d["prompt_tokens"], d["completion_tokens"]) for d in by_day["items"]] == [
        ("2026-11-21", 1, 3, 3), ("2026-11-22", 2, 11, 7)]
    by_model = server.api("GET", f"/usage?{q}&group_by=model", token=token).json()["items"]
    assert by_model == [
        {"key": "m1", "requests": 2, "prompt_tokens": 13, "completion_tokens": 8, "cost_usd": 1.5},
        {"key": "m2", "requests": 1, "prompt_tokens": 1, "completion_tokens": 2, "cost_usd": 0.25}]
    both = server.api("GET", f"/usage?{q}&group_by=day,model", token=token).json()["items"]
    assert [(d["key"], d["model"]) for d in both] == [("2026-11-21", "m1"), ("2026-11-22", "m1"), ("2026-11-22", "m2")]
    # Without group_by the body is as before.
    assert "items" not in server.api("GET", "/usage", token=token).json()
    for bad in ("group_by=user", "group_by=week", "group_by=day,day", "group_by=day,user", "group_by=model,day",
                "from=soon", "from=2026-11-30&to=2026-11-01"):
        res = server.api("GET", f"/usage?{bad}", token=token)
        assert res.status == 422 and res.json()["code"] == "validation_failed", bad


def test_absurd_usage_from_a_provider_is_estimated_instead(server):
    # An upstream reporting INT64_MAX prompt tokens: summing or storing that would overflow
    # (the sanitizer build stopped, /usage answered 500). chatd estimates the usage instead.
    session = new_user(server)
    token = session["access_token"]
    key = server.api("POST", "/api-keys", {"name": "absurd"}, token=token).json()["key"]
    for model in ("gpt-test", "claude-test", "titan-test"):
        for stream in (False, True):
            body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi #absurd-usage"}]}
            if stream and model == "gpt-test":
                body["stream_options"] = {"include_usage": True}
            res = server.api("POST", "/v1/chat/completions", body, token=key)
            assert res.status == 200, (model, stream, res.body)
        conv = create(server, token, model=model)
        assert send_json(server, token, conv["id"], "hello #absurd-usage").status == 201
    rows = wait_for(lambda: (lambda r: r if len(r) == 9 else None)(server.sql(
        f"SELECT prompt_tokens, completion_tokens FROM usage_events WHERE user_id = '{session['user']['id']}'")),
        5, "nine usage events")
    assert all(0 < int(p) < 100 and 0 <= int(c) < 100 for p, c in rows), rows
    usage = server.api("GET", "/usage", token=token)
    assert usage.status == 200 and usage.json()["requests"] == 9
    assert 0 < usage.json()["prompt_tokens"] < 900


def thread_niceness(pid):
    """{thread name: [niceness, ...]} of a running process, from /proc/PID/task/*/stat."""
    out = {}
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        stat = (task / "stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()  # fields[0] is field 3, state
        out.setdefault((task / "comm").read_text().strip(), []).append(int(fields[16]))  # field 19
    return out


def test_usage_is_written_by_a_niced_thread_of_its_own(server):
    # Batch writes of usage events yield the CPU to the network threads, as hashing does.
    token = new_user(server)["access_token"]
    assert send_json(server, token, create(server, token)["id"], "a b c").status == 201
    assert server.api("GET", "/usage", token=token).json()["requests"] == 1
    threads = thread_niceness(server.proc.pid)
    base = threads["chatd"][0]
    assert threads["usage-0"] == [max(base, 10)]
    assert all(n == max(base, 10) for name, ns in threads.items() if name.startswith("hash-") for n in ns)
    assert all(n == base for name, ns in threads.items() if name.startswith("worker-") for n in ns)


def test_daily_token_quota(make_chatd, tmp_path, fake):
    server = make_chatd(chat_env(tmp_path, fake, CHATD_USER_TOKEN_QUOTA="10"))
    token = new_user(server)["access_token"]
    conv = create(server, token)
    assert send_json(server, token, conv["id"], "one two three four five six").status == 201
    res = send_json(server, token, conv["id"], "again")
    problem(res, 429, "rate_limited")
    assert 0 < int(res.header("retry-after")) <= 86400
    usage = server.api("GET", "/usage", token=token).json()
    assert usage["quota"]["limit"] == 10 and usage["quota"]["remaining"] == 0
    assert usage["quota"]["resets_at"].endswith("T00:00:00Z")
    assert len(messages(server, token, conv["id"])) == 2  # the refused message was not stored
    other = new_user(server)["access_token"]
    assert send_json(server, other, create(server, other)["id"], "mine").status == 201


def test_message_rate_limit_is_per_user(make_chatd, tmp_path, fake):
    limits = LOOSE_LIMITS.replace("message=100000/60s", "message=2/60s")
    server = make_chatd(chat_env(tmp_path, fake, CHATD_RATE_LIMITS=limits))
    token = new_user(server)["access_token"]
    conv = create(server, token)
    assert send_json(server, token, conv["id"], "1").status == 201
    res = send_json(server, token, conv["id"], "2")
    assert res.status == 201 and res.header("ratelimit-limit") == "2"
    res = send_json(server, token, conv["id"], "3")
    problem(res, 429, "rate_limited")
    assert int(res.header("retry-after")) > 0
    other = new_user(server)["access_token"]
    assert send_json(server, other, create(server, other)["id"], "1").status == 201


def test_admin_usage_shows_real_data(server):
    session = new_user(server)
    server.sql(f"INSERT INTO user_roles (user_id, role) VALUES ('{session['user']['id']}', 'admin')")
    from test_auth import login
    admin = login(server, session["user"]["username"]).json()["access_token"]
    conv = create(server, admin)
    assert send_json(server, admin, conv["id"], "x y").status == 201
    res = server.api("GET", "/admin/usage?group_by=model", token=admin)
    assert res.status == 200, res.body
    rows = {r["key"]: r for r in res.json()["items"]}
    assert "gpt-test" in rows, res.body
    assert rows["gpt-test"]["requests"] == 1 and rows["gpt-test"]["completion_tokens"] == 3


# --- the demo model ----------------------------------------------------------------

def test_demo_model_without_providers(make_chatd):
    server = make_chatd({"CHATD_REQUIRE_EMAIL_VERIFICATION": "false", "CHATD_RATE_LIMITS": LOOSE_LIMITS})
    token = new_user(server)["access_token"]
    models = server.api("GET", "/models", token=token).json()["items"]
    assert len(models) == 1 and models[0]["id"] == "demo" and models[0]["demo"] is True
    assert "demo" in models[0]["description"].lower()
    conv = create(server, token)
    assert conv["model"] == "demo"
    stream = SseStream(server, f"/conversations/{conv['id']}/messages", {"content": "hello demo"}, token)
    events = stream.all()
    assert events[-1][0] == "done"
    text = "".join(d["text"] for e, d in events if e == "delta")
    assert "demo" in text.lower() and len([e for e, _ in events if e == "delta"]) > 3
    server.wait_log(lambda line: line.get("event") == "startup.demo_model")


def test_bad_providers_file_refuses_to_start(make_chatd, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"providers": [{"type": "openai", "models": [{"id": "a", "fallbacks": ["zz"]}]},
                                              {"type": "nope"}]}))
    server = make_chatd({"CHATD_PROVIDERS_FILE": str(path)}, start=False)
    server.start_process = None
    import subprocess
    from conftest import CHATD_BIN
    out = subprocess.run([CHATD_BIN, "serve"], env=server.env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2
    assert "falls back to \"zz\"" in out.stderr and "\"type\" must be one of" in out.stderr
