"""The command line: refusing bad settings, migrate, config check, version, and a
database newer than the binary."""

import sqlite3
import subprocess

from conftest import CHATD_BIN, PG_URL, Chatd, base_env


def run(tmp_path, args, env_overrides=None, db="sqlite"):
    server = Chatd(tmp_path, db, env_overrides)
    return subprocess.run([CHATD_BIN, *args], env=server.env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60), server


def test_version_and_help(tmp_path):
    res, _ = run(tmp_path, ["--version"])
    assert res.returncode == 0
    assert res.stdout.startswith("chatd ")
    res, _ = run(tmp_path, ["--help"])
    assert res.returncode == 0
    for word in ("serve", "migrate", "config"):
        assert word in res.stdout


def test_unknown_command_exits_2(tmp_path):
    res, _ = run(tmp_path, ["frobnicate"])
    assert res.returncode == 2


def test_bad_settings_refuse_to_start_with_one_line_each(tmp_path):
    res, _ = run(tmp_path, ["serve"], {"CHATD_THREADS": "many", "CHATD_REGISTRATION": "sometimes",
                                       "CHATD_MAX_BODY_BYTES": "-5"})
    assert res.returncode == 2
    lines = [l for l in res.stderr.splitlines() if l.startswith("chatd: CHATD_")]
    assert len(lines) == 3, res.stderr
    assert any("CHATD_THREADS" in l for l in lines)
    assert any("CHATD_REGISTRATION" in l for l in lines)
    assert any("CHATD_MAX_BODY_BYTES" in l for l in lines)
    assert "server.listening" not in res.stdout + res.stderr


def test_unknown_setting_refused_with_suggestion(tmp_path):
    res, _ = run(tmp_path, ["serve"], {"CHATD_TREADS": "2"})
    assert res.returncode == 2
    assert "CHATD_TREADS" in res.stderr and "CHATD_THREADS" in res.stderr


def test_dotenv_is_read_and_environment_wins(tmp_path):
    (tmp_path / ".env").write_text("CHATD_PASSWORD_MIN_LENGTH=20\nCHATD_LOG_LEVEL=debug\n")
    res, _ = run(tmp_path, ["config", "check"], {"CHATD_LOG_LEVEL": "warn"})
    assert res.returncode == 0, res.stderr
    assert "CHATD_PASSWORD_MIN_LENGTH=20" in res.stdout
    assert "CHATD_LOG_LEVEL=warn" in res.stdout
    (tmp_path / ".env").write_text("CHATD_PASSWORD_MIN_LENGTH=abc\n")
    res, _ = run(tmp_path, ["serve"])
    assert res.returncode == 2
    assert "CHATD_PASSWORD_MIN_LENGTH" in res.stderr


def test_production_refuses_insecure_defaults(tmp_path):
    res, _ = run(tmp_path, ["serve"], {"CHATD_ENV": "production"})
    assert res.returncode == 2
    assert "CHATD_SMTP_URL" in res.stderr
    assert "CHATD_PUBLIC_URL" in res.stderr


def test_config_check_masks_secrets(tmp_path):
    marker = "sk-MARKER-0123456789abcdef"
    res, _ = run(tmp_path, ["config", "check"], {
        "CHATD_OPENAI_API_KEY": marker,
        "CHATD_SMTP_URL": "smtp://mailer:pw-MARKER-42@127.0.0.1:2525",
    })
    assert res.returncode == 0, res.stderr
    assert "MARKER" not in res.stdout + res.stderr
    assert "CHATD_OPENAI_API_KEY=***" in res.stdout
    assert "configuration is valid" in res.stdout


def test_migrate_creates_schema(tmp_path):
    res, server = run(tmp_path, ["migrate"])
    assert res.returncode == 0, res.stderr
    db_path = server.env["CHATD_DATABASE_URL"][len("sqlite:"):]
    with sqlite3.connect(db_path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
    for table in ("users", "sessions", "refresh_tokens", "signing_keys", "conversations", "messages",
                  "usage_events", "audit_log", "api_keys", "invitations", "schema_migrations"):
        assert table in tables
    assert version >= 1
    res, _ = run(tmp_path, ["migrate"])  # idempotent
    assert res.returncode == 0


def test_migrate_on_postgres(tmp_path):
    if not PG_URL:
        import pytest
        pytest.skip("CHATD_TEST_DATABASE_URL not set")
    res, server = run(tmp_path, ["migrate"], db="postgres")
    assert res.returncode == 0, res.stderr
    out = subprocess.run(["psql", server.env["CHATD_DATABASE_URL"], "-tAc",
                          "SELECT max(version) FROM schema_migrations"], capture_output=True, text=True, check=True)
    assert int(out.stdout.strip()) >= 1


def test_refuses_database_newer_than_itself(tmp_path):
    res, server = run(tmp_path, ["migrate"])
    assert res.returncode == 0
    db_path = server.env["CHATD_DATABASE_URL"][len("sqlite:"):]
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, 'future', 0)")
    res, _ = run(tmp_path, ["serve"])
    assert res.returncode == 1
    assert "newer" in res.stdout + res.stderr


def test_unreachable_database_fails_clearly(tmp_path):
    res, _ = run(tmp_path, ["serve"], {"CHATD_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert res.returncode == 1
    assert "startup.database" in res.stdout + res.stderr


def test_port_in_use_fails_clearly(tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        res, _ = run(tmp_path, ["serve"], {"CHATD_ADDR": f"127.0.0.1:{port}"})
        assert res.returncode == 1
        assert "startup.listen" in res.stdout + res.stderr
    finally:
        s.close()


def test_second_instance_with_another_master_key_stops_saying_what_to_set(make_chatd, tmp_path):
    first = make_chatd({"CHATD_MASTER_KEY": "11" * 32})
    shared = first.env["CHATD_DATABASE_URL"]
    other = tmp_path / "other"
    other.mkdir()
    env = dict(first.env, CHATD_DATA_DIR=str(other / "data"), CHATD_MASTER_KEY="22" * 32)
    res = subprocess.run([CHATD_BIN, "serve"], env=env, cwd=other, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2, res.stdout + res.stderr
    lines = [l for l in (res.stdout + res.stderr).splitlines() if "startup.signing_keys" in l]
    assert len(lines) == 1, res.stdout + res.stderr
    assert "another master key" in lines[0] and "CHATD_MASTER_KEY" in lines[0]
    assert "internal error" not in lines[0]
    # With the same key, a second instance on the same database starts.
    second = make_chatd({"CHATD_MASTER_KEY": "11" * 32, "CHATD_DATABASE_URL": shared,
                         "CHATD_DATA_DIR": str(other / "data2")})
    assert second.request("GET", "/healthz").status == 200
