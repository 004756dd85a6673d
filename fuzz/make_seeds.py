#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/corpus/<target>/ from inputs of the unit and integration
tests (copied here as literals; the eventstream ones are encoded as the tests encode them).
Each seed is a file named after its content's SHA-1, as libFuzzer names corpus files, so
running this again adds nothing twice. An input that made a target fail is added here too.
Run from anywhere: fuzz/make_seeds.py"""

import hashlib
import json
import os
import struct
import zlib

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def eventstream_message(headers, payload):
    """AWS event stream framing, as llm/eventstream.cpp encodes it (string headers only)."""
    hb = b""
    for name, value in headers:
        n = name.encode()
        v = value.encode()
        hb += bytes([len(n)]) + n + bytes([7]) + struct.pack(">H", len(v)) + v
    total = 12 + len(hb) + len(payload) + 4
    prelude = struct.pack(">II", total, len(hb))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + hb + payload
    return body + struct.pack(">I", zlib.crc32(body))


def bedrock_event(kind, payload):
    return eventstream_message([(":event-type", kind), (":content-type", "application/json"),
                                (":message-type", "event")], payload.encode())


def sse(name, data):
    return f"event: {name}\ndata: {data}\n\n"


HTTP = [
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.0\r\n\r\n",
    b"GET /conversations?limit=5&cursor=djF8MXxh HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n",
    b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 28\r\n\r\n"
    b'{"login":"a","password":"b"}',
    b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2\r\n{}\r\n0\r\n\r\n",
    b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd",
    b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n b\r\n\r\n",
    b"GET /auth/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
    b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}"
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"HELLO\r\n\r\n",
]

UPSTREAM = [
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 59\r\n\r\n"
    b'{"error":{"type":"rate_limit_error","message":"slow down"}}',
    b"HTTP/1.1 400 Bad Request\r\nx-amzn-ErrorType: ValidationException\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'14\r\n{"message":"bad in"}\r\n0\r\n\r\n',
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: [DONE]\n\n",
    b"120", b"-1", b'{"error":"plain"}',
    # Failed the first version of the target, which read the body into a string_body with a body
    # limit and eager parsing: Beast 1.74 goes on after the limit error and reserves the whole
    # Content-Length. The client sets no body limit and reads through a buffer_body window.
    b"HTTP/1.1 429 Too\"trer: 3\r\nContent-Length: 517777777777790\r\n\r\n\r\n}",
]

JSON = [
    b'{"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}',
    b'{"usage":{"prompt_tokens":12,"completion_tokens":3},"choices":[]}',
    b'[1,-2,3.5e10,18446744073709551615,true,false,null,"\\u00e9\\ud83d\\ude00"]',
    b'{"a":{"a":{"a":[[[]]]}}}', b'"x"', b"{}", b"[]", b"0",
]

AUTH = [
    b'{"email":"ann@example.com","username":"ann","password":"correct horse battery staple"}',
    b'{"email":"ann@example.com","username":"ann","password":"pw","invite_code":"inv_x"}',
    b'{"login":"ann","password":"correct horse battery staple","otp":"123456"}',
    b'{"token":"ev_abc"}', b'{"refresh_token":"rt_abc"}', b'{"current_password":"a","new_password":"b"}',
    b'{"code":"123456"}', b'{"password":"pw","code":"123456"}', b'{"content":"Hello!","model":"demo"}',
    b'{"login":null,"password":1}', b"",
]

CHAT = [b'{"title":"Trip","model":"demo","system_prompt":"Be brief."}', b'{"system_prompt":null}',
        b'{"title":1}', b'{}']

OPENAI_REQUESTS = [
    b'{"model":"demo","messages":[{"role":"user","content":"Hi"}]}',
    b'{"model":"demo","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":'
    b'[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],"stream":true,"stream_options":'
    b'{"include_usage":true},"max_tokens":5,"temperature":0.5,"top_p":1,"stop":["x","y"],"n":1}',
    b'{"model":"demo","messages":[{"role":"tool","content":"x"}],"max_completion_tokens":0,"stop":7}',
    # Images (a PNG's first bytes declared as a JPEG; not an image; an https URL), tools and a
    # tool call with its answer.
    b'{"model":"demo","messages":[{"role":"user","content":[{"type":"text","text":"what?"},'
    b'{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB",'
    b'"detail":"low"}},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}',
    b'{"model":"demo","messages":[{"role":"user","content":[{"type":"image_url","image_url":'
    b'"data:image/png;base64,aGVsbG8gd29ybGQh"}]}]}',
    b'{"model":"demo","messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":null,'
    b'"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},'
    b'{"role":"tool","tool_call_id":"c1","content":"sunny"}],"tools":[{"type":"function","function":'
    b'{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],'
    b'"tool_choice":"auto","response_format":{"type":"json_object"}}',
]

ADMIN = [b'{"roles":["user","admin"],"disabled":false,"unlock":true}', b'{"roles":"admin"}',
         b'{"roles":[""],"disabled":"no"}', b"2026-11-01", b"2026-11-22T10:00:00.123+01:00"]

KEYS = [b'{"name":"ci","expires_at":"2030-01-31T12:00:00Z"}', b'{"name":"x","expires_at":"tomorrow"}',
        b'{"name":""}']

INVITATIONS = [b'{"email":"bob@example.com","expires_in_hours":48}', b'{"expires_in_hours":99999999999999999999}',
               b'{"expires_in_hours":-3}', b'{"expires_in_hours":1.5}', b"{}"]

PAGINATION = [b"limit=20", b"limit=101", b"limit=5&cursor=djF8MTcwMDAwMDAwMDAwMHwwMTkw",
              b"cursor=%76%31", b"cursor=djF8LTF8YQ&limit=1", b"limit=+7"]

JWT_HEADER = b'{"alg":"EdDSA","kid":"k1","typ":"JWT"}'
JWT_CLAIMS = (b'{"iss":"https://chatd.test","aud":"chatd","sub":"user-1","exp":1800000900,"iat":1800000000,'
              b'"jti":"jti-1","sid":"session-1","roles":["user"]}')
JWT = [
    b"\x01" + JWT_HEADER + b"\n" + JWT_CLAIMS,
    b"\x01" + b'{"alg":"none","kid":"k1"}' + b"\n" + JWT_CLAIMS,
    b"\x01" + JWT_HEADER + b"\n" + JWT_CLAIMS.replace(b'"aud":"chatd"', b'"aud":["x","chatd"]'),
    b"\x00eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1In0.AAAA",
]

SSE = [
    b"\x00data: YHOO\ndata: +2\ndata: 10\n\n",
    b"\x05: comment\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
    b"\x09event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\n",
    b"\x02\xef\xbb\xbfevent: a\rdata: x\r\nretry: 1500\rid: 7\n\n",
    b"\x03data\n\ndata\ndata\n\ndata:\n",
]

OPENAI_ANSWER = [
    b"\x03" + "".join("data: " + json.dumps(c) + "\n\n" for c in [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"index": 0, "delta": {"content": "Hel"}}]},
        {"choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2}},
    ]).encode() + b"data: [DONE]\n\n",
    b"\x00" + json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
                                       "finish_reason": "stop"}],
                          "usage": {"prompt_tokens": 3, "completion_tokens": 1}}).encode(),
    b"\x01event: error\ndata: {\"error\":{\"type\":\"server_error\",\"message\":\"boom\"}}\n\n",
    b"\x02data: {not json\n\n",
]

ANTHROPIC_ANSWER = [
    b"\x04" + (
        sse("message_start", '{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",'
                             '"content":[],"model":"claude","stop_reason":null,"usage":{"input_tokens":25,'
                             '"output_tokens":1}}}') +
        sse("content_block_start", '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}') +
        sse("ping", '{"type": "ping"}') +
        sse("content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}') +
        sse("message_delta", '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
                             '"usage":{"output_tokens":15}}') +
        sse("message_stop", '{"type":"message_stop"}')).encode(),
    b"\x00" + b'{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hello"},'
              b'{"type":"text","text":" there"}],"stop_reason":"max_tokens","usage":{"input_tokens":10,'
              b'"cache_read_input_tokens":5,"output_tokens":4}}',
    b"\x01" + sse("error", '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}').encode(),
]

BEDROCK_ANSWER = [
    b"\x02" + bedrock_event("messageStart", '{"p":"abcd","role":"assistant"}') +
    bedrock_event("contentBlockDelta", '{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefgh"}') +
    bedrock_event("contentBlockStop", '{"contentBlockIndex":0,"p":"abcdefghijk"}') +
    bedrock_event("messageStop", '{"p":"abc","stopReason":"max_tokens"}') +
    bedrock_event("metadata", '{"metrics":{"latencyMs":321},"p":"ab","usage":{"inputTokens":17,"outputTokens":5}}'),
    b"\x01" + b'{"delta":{"text":"Hello"}}\n{"stopReason":"end_turn"}\n{"usage":{"inputTokens":3,"outputTokens":1}}\n'
              b'!{"message":"slow down"}',
    b"\x00" + b'{"output":{"message":{"role":"assistant","content":[{"text":"Hi"}]}},"stopReason":"end_turn",'
              b'"usage":{"inputTokens":3,"outputTokens":1,"totalTokens":4}}',
]

EVENTSTREAM = [
    b"\x00" + bedrock_event("contentBlockDelta", '{"delta":{"text":"Hi"}}') + bedrock_event("messageStop", "{}"),
    b"\x01" + eventstream_message([(":message-type", "exception"), (":exception-type", "throttlingException")],
                                  b'{"message":"slow"}'),
    b"\x03" + eventstream_message([], b""),
]

DOTENV = [
    b"A=b\n  A = b  \nexport A=b\nexport \tA=b\nA=\nA=b # comment\nA=b#c\nA= #b\n",
    b"A='x y # z'\nA=\"a\\nb\"\nA=\"q\\\"q\"\nA=\"back\\\\slash\"\nA=\"x\" # comment\r\n_a1=x\n",
    b"\xef\xbb\xbfA=b\n# comment\n\nexport=1\n1A=x\nA=\"unterminated\nA='x' y\n",
]

URL = [
    b"\x00postgresql://chatd:secret@db.example.com:5432/chatd?sslmode=require",
    b"\x01postgresql://u:p@h1:5432,h2:5433/db",
    b"\x00sqlite:/var/lib/chatd/chatd.db", b"\x00redis://:pass@[::1]:6379/0",
    b"\x00smtps://user:p%40ss@mail.example.com:465", b"\x02127.0.0.1:8080", b"\x02[::1]:0", b"\x00https://x/#frag",
]

NETWORK = [b"10.0.0.0/8", b"192.168.1.7", b"::1", b"fd00::/8", b"::ffff:10.1.2.3/120", b"1.2.3.4/33", b"300.1.1.1",
           b"203.0.113.7, 10.0.0.2", b"198.51.100.1\n203.0.113.7 , 10.9.9.9,fd00::1", b"unknown, 10.0.0.1", b", ,"]

PROVIDERS = [
    json.dumps({
        "default_model": "gpt-4o-mini",
        "providers": [
            {"name": "openai", "type": "openai", "base_url": "https://api.openai.com/v1", "api_key": "sk-x",
             "timeouts_ms": {"connect": 10000, "first_byte": 30000, "total": 120000},
             "retries": {"max_attempts": 2, "backoff_ms": 250, "max_backoff_ms": 4000, "max_retry_after_ms": 10000},
             "max_connections": 64,
             "models": [{"id": "gpt-4o-mini", "context_window": 128000, "max_output_tokens": 16384,
                         "price": {"prompt_per_million": 0.15, "completion_per_million": 0.60},
                         "fallbacks": ["claude-haiku"]}]},
            {"name": "azure", "type": "openai", "auth": "api-key", "query": "api-version=2024-10-21",
             "base_url": "https://NAME.openai.azure.com/openai/deployments/DEPLOYMENT", "api_key": "k",
             "models": [{"id": "azure-gpt-4o", "upstream_id": "gpt-4o"}]},
            {"name": "anthropic", "type": "anthropic", "api_key": "k",
             "models": [{"id": "claude-haiku", "upstream_id": "claude-3-5-haiku-latest", "context_window": 200000}]},
            {"name": "bedrock", "type": "bedrock", "region": "us-east-1", "access_key_id": "AK",
             "secret_access_key": "SK", "models": [{"id": "nova-lite", "upstream_id": "amazon.nova-lite-v1:0"}]},
            {"name": "local", "type": "openai", "base_url": "http://127.0.0.1:11434/v1",
             "model_defaults": {"context_window": 32768}},
        ]}).encode(),
    b'{"providers":[{"type":"demo"}]}', b'{"providers":[{"type":"openai","models":["a","a"]}]}',
]

MAIL = [
    b"ann@example.com\x00Verify your e-mail\x00Hello ann,\n\nopen https://chatd.test/verify?token=ev_x\n"
    b"\x00<p>Hello</p>\x00chatd <noreply@example.com>",
    "bob@example.com\x00Caf\u00e9 \u2014 r\u00e9initialisation\x00Ligne tr\u00e8s longue ".encode() * 3 +
    b"\x00\x00Name \xe2\x98\x83 <a@b.c>",
    b"x@y\r\nBcc: z@w\x00Subject\r\nInjected: 1\x00=?UTF-8?B?x?=\x00",
    # Inputs that failed the target while it was written (its checks were wrong, not the encoder):
    # a subject of invalid UTF-8 in folded encoded-words, one ending in a control character, and a
    # From that the settings would refuse (a bare LF in the address).
    b"ann@example.com\x00" + b"\xff" * 8 + b"Q" * 58 + b"our e-mail\x00Hello ann,\n\x00<p>Hello</p>\x00",
    b"x@y\r\nBinjectcc: z@w\x00Subject\r\nInjected: 1\x15\x00\x00\x00",
    b"x@y\x00x@y\x00SSubject\r\nInjected\xff\xff: 1\x00=ubject\x00\x00Hello ann,\n\nopen=??",
    # A defect the long run found: a display name that fit a header line alone was sent plain,
    # and "From: name <address>" went past 998 octets (mime.cpp's from_header now counts the
    # address). Here with control characters in the name, as the run's input had.
    b"a\x00Hi\x00body\x00\x00" + b"n" * 980 + b"\n\r\x0e\t\t I     <a@b.c>",
    # The next one: a subject of bytes that are not UTF-8 (a long run of continuation bytes)
    # went out as one encoded-word longer than a header line (mime.cpp's utf8_cut looks back at
    # most three bytes for a character's start now).
    b"\x00Su" + b"\xb3" * 995 + b"\x00\x00",
]

SEEDS = {
    "http_request": HTTP, "upstream_response": UPSTREAM, "json_scan": JSON,
    "api_auth_input": AUTH, "api_chat_input": CHAT, "api_openai_input": OPENAI_REQUESTS,
    "api_admin_input": ADMIN, "api_keys_input": KEYS, "api_invitations_input": INVITATIONS,
    "pagination_cursor": PAGINATION, "jwt": JWT, "sse": SSE, "eventstream": EVENTSTREAM,
    "openai_answer": OPENAI_ANSWER, "anthropic_answer": ANTHROPIC_ANSWER, "bedrock_answer": BEDROCK_ANSWER,
    "dotenv": DOTENV, "url": URL, "network": NETWORK, "providers_file": PROVIDERS, "mail_mime": MAIL,
}


def main():
    for target, seeds in SEEDS.items():
        folder = os.path.join(CORPUS, target)
        os.makedirs(folder, exist_ok=True)
        for seed in seeds:
            with open(os.path.join(folder, hashlib.sha1(seed).hexdigest()), "wb") as f:
                f.write(seed)


if __name__ == "__main__":
    main()
