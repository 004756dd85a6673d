"""Every response the integration tests receive is checked against chatd's OpenAPI document
(`chatd openapi`, the same document as GET /openapi.json): the schema of its route, status and
media type. A response the document does not describe fails the test that received it, so the
document cannot drift from the server."""

import json
import re
import subprocess

from jsonschema import Draft202012Validator

_document = None
_routes = None
_validators = {}


def document(chatd_bin):
    global _document, _routes
    if _document is None:
        out = subprocess.run([chatd_bin, "openapi"], capture_output=True, text=True, timeout=60, check=True)
        _document = json.loads(out.stdout)
        _routes = []
        for pattern, operations in _document["paths"].items():
            regex = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(pattern)) + "$"
            _routes.append((re.compile(regex), pattern, operations))
    return _document


def find_operation(chatd_bin, method, path):
    """(pattern, operation) of the route that takes `method` `path`, or (None, None)."""
    document(chatd_bin)
    method = "get" if method.upper() == "HEAD" else method.lower()
    literal = [r for r in _routes if "{" not in r[1]]
    templated = [r for r in _routes if "{" in r[1]]
    for regex, pattern, operations in literal + templated:  # literal paths win, as in the router
        if regex.match(path):
            return pattern, operations.get(method)
    return None, None


def _validator(doc, ref):
    if ref not in _validators:
        # The schema is a reference into the document itself, which it carries along (its
        # components), so that every $ref inside resolves against the same root.
        _validators[ref] = Draft202012Validator({"$ref": ref, "components": doc["components"]})
    return _validators[ref]


def problems(chatd_bin, method, path, status, content_type, body):
    """What is wrong with this response according to the document: a list of strings (empty
    when it conforms or the document has nothing to say about it)."""
    doc = document(chatd_bin)
    path = path.split("?", 1)[0]
    media = (content_type or "").split(";", 1)[0].strip().lower()
    pattern, operation = find_operation(chatd_bin, method, path)
    if operation is None:
        # No route: the web UI's files, 404 and 405 problems. The problem shape still holds.
        if media == "application/problem+json" and body:
            return [f"{method} {path} -> {status}: {e.message}"
                    for e in _validator(doc, "#/components/schemas/Problem").iter_errors(json.loads(body))]
        return []
    responses = operation["responses"]
    reply = responses.get(str(status)) or responses.get("default")
    where = f"{method} {pattern} -> {status}"
    if reply is None:
        return [f"{where}: the document lists no such status for this operation"]
    content = reply.get("content")
    if not content:
        if body and method.upper() != "HEAD":
            return [f"{where}: the document says there is no body, but one came ({media})"]
        return []
    if method.upper() == "HEAD" or (not body and status == 304):
        return []
    if media not in content:
        return [f"{where}: the document lists {sorted(content)} but the response is {media!r}"]
    schema = content[media].get("schema")
    if not schema or "$ref" not in schema or media not in ("application/json", "application/problem+json"):
        return []
    try:
        value = json.loads(body)
    except ValueError:
        return [f"{where}: the body is not JSON"]
    return [f"{where}: {'/'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}"
            for e in _validator(doc, schema["$ref"]).iter_errors(value)]
