"""deploy/prometheus and deploy/grafana: the alert rules and the scrape config pass promtool,
every dashboard query is valid PromQL (promtool checks them as recording rules), and every
metric the rules and the dashboard name is one that chatd really exposes."""

import json
import os
import re
import shutil
import subprocess

import pytest

from chat_support import chat_env, fake, new_user, server  # noqa: F401
from conftest import ROOT

DEPLOY = os.path.join(ROOT, "deploy")
RULES = os.path.join(DEPLOY, "prometheus", "chatd-alerts.yml")
CONFIG = os.path.join(DEPLOY, "prometheus", "prometheus.yml")
DASHBOARD = os.path.join(DEPLOY, "grafana", "chatd-dashboard.json")


def promtool(*args, stdin=None):
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool is missing: scripts/install-deps installs the Debian package prometheus")
    return subprocess.run([tool, *args], input=stdin, capture_output=True, text=True, timeout=60)


def dashboard_queries():
    doc = json.load(open(DASHBOARD))
    out = []
    for panel in doc["panels"]:
        for target in panel.get("targets", []):
            out.append((panel["title"], target["expr"]))
    return out


def grafana_to_promql(expr):
    # Grafana's variables, as Grafana would fill them.
    return expr.replace("$__rate_interval", "5m").replace("$instance", ".*")


def metric_names(expr):
    """Metric names in a PromQL expression: identifiers followed by a selector or a range,
    less functions, keywords and label names."""
    words = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=\{|\[)", expr))
    return {w for w in words if w not in {"by", "without", "on", "ignoring", "group_left", "group_right"}}


def test_alert_rules_pass_promtool():
    res = promtool("check", "rules", RULES)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_scrape_config_passes_promtool(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("metrics-token-0123456789abcdef\n")
    shutil.copy(RULES, tmp_path / "chatd-alerts.yml")
    text = open(CONFIG).read()
    assert "/etc/prometheus/chatd-metrics-token" in text
    (tmp_path / "prometheus.yml").write_text(text.replace("/etc/prometheus/chatd-metrics-token", str(token_file)))
    res = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert res.returncode == 0, res.stdout + res.stderr


def test_dashboard_queries_are_valid_promql(tmp_path):
    queries = dashboard_queries()
    assert len(queries) >= 15
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, (_, expr) in enumerate(queries):
        lines.append(f"      - record: dashboard:query_{i}")
        lines.append(f"        expr: {json.dumps(grafana_to_promql(expr))}")
    rules = tmp_path / "dashboard-rules.yml"
    rules.write_text("\n".join(lines) + "\n")
    res = promtool("check", "rules", str(rules))
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"SUCCESS: {len(queries)} rules found" in res.stdout


def test_rules_and_dashboard_name_only_metrics_chatd_exposes(server):  # noqa: F811
    # Some traffic of every kind first, so that the labelled families have samples.
    token = new_user(server)["access_token"]
    conv = server.api("POST", "/conversations", {}, token=token).json()
    assert server.api("POST", f"/conversations/{conv['id']}/messages", {"content": "hi"}, token=token).status == 201
    exposed = set()
    for line in server.request("GET", "/metrics").body.decode().splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            exposed.add(name)
            if kind == "histogram":
                exposed |= {name + "_bucket", name + "_sum", name + "_count"}
    named = set()
    for _, expr in dashboard_queries():
        named |= metric_names(grafana_to_promql(expr))
    rules_text = open(RULES).read()
    for expr in re.findall(r"expr: \|?\s*\n?((?:.|\n)*?)(?=\n\s+(?:for|labels):)", rules_text):
        named |= metric_names(expr)
    named -= {"up"}  # Prometheus' own
    assert named, "no metric name found"
    assert named <= exposed, sorted(named - exposed)
    # And the dashboard covers the families the issue asks it to show.
    for family in ("chatd_http_requests_total", "chatd_http_request_duration_seconds_bucket", "chatd_llm_tokens_total",
                   "chatd_llm_cost_usd_total", "chatd_auth_events_total", "chatd_open_streams",
                   "chatd_db_pool_connections"):
        assert family in named, family
