"""The `guanxi` command, run as a user would run it."""

import os
import sqlite3
import subprocess
import sys

import pytest

from guanxi.demo import data


def guanxi(tmp_path, *args, env=None, input_=None):
    e = {**os.environ, "GUANXI_DATA_DIR": str(tmp_path), "GUANXI_DATABASE_URL": "", **(env or {})}
    return subprocess.run([sys.executable, "-m", "guanxi.cli", *args], check=False, capture_output=True, text=True, env=e,
                          input=input_, timeout=300)


def test_upgrade_demo_and_if_empty(tmp_path):
    r = guanxi(tmp_path, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "guanxi.db").exists() and (tmp_path / "secret_key").exists()
    r = guanxi(tmp_path, "demo", "--customers", "40")
    assert r.returncode == 0, r.stderr
    r = guanxi(tmp_path, "demo", "--if-empty")
    assert r.returncode == 0 and "nothing to do" in r.stdout
    con = sqlite3.connect(tmp_path / "guanxi.db")
    assert con.execute("select count(*) from customers").fetchone()[0] == 40
    assert con.execute("select count(*) from users").fetchone()[0] == len(data.USERS)
    assert con.execute("select count(*) from teams").fetchone()[0] == len(data.TEAMS)
    names = [r[0] for r in con.execute("select name from customers order by id")]
    assert names == [c["name"] for c in data.demo_rows(40)]  # seeded: the same every time


def test_workspace_and_user_create(tmp_path):
    assert guanxi(tmp_path, "db", "upgrade").returncode == 0
    r = guanxi(tmp_path, "workspace", "create", "--name", "苏州顺达物流有限公司", "--slug", "shunda",
               "--admin-email", "boss@shunda.cn", "--admin-password", "s3cret-pass")
    assert r.returncode == 0, r.stderr
    r = guanxi(tmp_path, "user", "create", "--workspace", "shunda", "--email", "li@shunda.cn", "--name", "李雷",
               "--role", "sales", "--mobile", "13600001111", "--password", "another-pass")
    assert r.returncode == 0, r.stderr
    r = guanxi(tmp_path, "user", "create", "--workspace", "shunda", "--email", "bad", "--name", "x",
               "--password", "short")
    assert r.returncode == 1
    assert "email" in r.stderr and "password" in r.stderr
    r = guanxi(tmp_path, "workspace", "create", "--name", "x", "--slug", "shunda", "--admin-email", "a@b.cn",
               "--admin-password", "whatever-1")
    assert r.returncode == 1 and "slug" in r.stderr


@pytest.mark.parametrize(("var", "value"), [("GUANXI_PORT", "eighty"), ("GUANXI_LOG_LEVEL", "loud"),
                                            ("GUANXI_DATABASE_URL", "mysql://x"), ("GUANXI_MAX_BODY_MB", "-1")])
def test_a_wrong_setting_stops_with_one_line_naming_it(tmp_path, var, value):
    r = guanxi(tmp_path, "db", "upgrade", env={var: value})
    assert r.returncode == 2
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and var in lines[0], r.stderr


def test_serve_with_two_workers_answers(tmp_path):
    import socket
    import time
    import urllib.request

    assert guanxi(tmp_path, "db", "upgrade").returncode == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    e = {**os.environ, "GUANXI_DATA_DIR": str(tmp_path), "GUANXI_DATABASE_URL": "", "GUANXI_WORKERS": "2",
         "GUANXI_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([sys.executable, "-m", "guanxi.cli", "serve", "--port", str(port)], env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        body = b""
        for _ in range(150):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        assert b'"database":"sqlite"' in body
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
