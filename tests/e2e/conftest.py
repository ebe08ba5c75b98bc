"""Browser tests: the real server (SQLite, demo data) driven by Debian's Chromium through Playwright.

Skipped when Chromium, Playwright or the built web UI is missing, unless GUANXI_REQUIRE_ALL=1,
which turns every such skip into a failure (CI sets it).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
UI_INDEX = ROOT / "src" / "guanxi" / "ui" / "index.html"
SCREENSHOTS = ROOT / "docs" / "screenshots"
RESULTS = ROOT / "test-results"

PASSWORD = "guanxi123"
ADMIN = "admin@xinghe-demo.cn"
# Sales reps from src/guanxi/demo/data.py (role "sales": record scope "own").
SALES_EAST = "sales@xinghe-demo.cn"  # 张伟, 华东销售部
SALES_EAST_2 = "liuyang@xinghe-demo.cn"  # 刘洋, 华东销售部

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def missing(reason: str) -> None:
    """Skip, or fail when the run must prove everything (GUANXI_REQUIRE_ALL=1)."""
    if os.environ.get("GUANXI_REQUIRE_ALL") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str:
    return os.environ.get("GUANXI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the browser tests and run them last: Playwright's sync API keeps its event loop running in the
    main thread until the session ends, and async tests after it could not start their own."""
    here = Path(__file__).parent
    browser, other = [], []
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            browser.append(item)
        else:
            other.append(item)
    items[:] = other + browser


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(tmp: Path, **extra_env: str) -> Iterator[str]:
    """`guanxi serve` on a fresh SQLite database in `tmp` with the demo company and 120 customers."""
    if not UI_INDEX.exists():
        missing(f"the web UI is not built ({UI_INDEX} missing): run `npm --prefix frontend run build`")
    port = _free_port()
    env = {
        **os.environ,
        "GUANXI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/guanxi.db",
        "GUANXI_DATA_DIR": str(tmp / "var"),
        "GUANXI_SECRET_KEY": "test",
        "GUANXI_PORT": str(port),
        "GUANXI_REMINDER_INTERVAL_SECONDS": "1",  # reminders due now arrive within a second or two
        **extra_env,
    }
    env.pop("GUANXI_HOST", None)

    def cli(*args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "guanxi.cli", *args],
            check=False,
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            pytest.fail(f"guanxi {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}", pytrace=False)

    cli("db", "upgrade")
    cli("demo", "--customers", "120")
    log_path = tmp / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "guanxi.cli", "serve"],
            env=env,
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"the server exited with {proc.returncode}:\n{log_path.read_text()}", pytrace=False
                )
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer /api/health:\n{log_path.read_text()}", pytrace=False)
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(tmp_path_factory.mktemp("guanxi-e2e")) as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if not Path(path).exists():
        missing(f"Chromium not found at {path} (apt-get install chromium, or set GUANXI_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


def new_context(browser: Any, server: str, viewport: dict[str, int] = DESKTOP, **kw: Any) -> Any:
    ctx = browser.new_context(
        base_url=server, viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", **kw
    )
    ctx.set_default_timeout(15_000)
    return ctx


@pytest.fixture
def page(browser: Any, server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh, logged-out page at 1280×800; on failure a screenshot goes to test-results/."""
    ctx = new_context(browser, server)
    pg = ctx.new_page()
    yield pg
    failure_shot(request, pg)
    ctx.close()


def failure_shot(request: pytest.FixtureRequest, pg: Any) -> None:
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        RESULTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        # a failed screenshot must not hide the test's own failure
        with contextlib.suppress(Exception):
            pg.screenshot(path=str(RESULTS / f"{name}.png"), full_page=True)


def screenshot(pg: Any, name: str, **kw: Any) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SCREENSHOTS / name), **kw)


def login(pg: Any, login_name: str, password: str = PASSWORD) -> None:
    pg.goto("/login")
    pg.get_by_test_id("login-input").fill(login_name)
    pg.get_by_test_id("login-password").fill(password)
    pg.get_by_test_id("login-submit").click()
    pg.wait_for_url(re.compile(r".*/customers(\?.*)?$"))
    pg.get_by_test_id("user-menu").wait_for()


class Api:
    """The REST API as a signed-in user, to arrange data the way the UI would see it."""

    def __init__(self, base: str, login_name: str, password: str = PASSWORD) -> None:
        import httpx

        self.client = httpx.Client(base_url=f"{base}/api/v1", timeout=30)
        r = self.client.post("/auth/login", json={"login": login_name, "password": password})
        r.raise_for_status()
        self.me = r.json()
        self.csrf = self.client.cookies.get("guanxi_csrf") or ""

    def get(self, path: str, **params: Any) -> Any:
        r = self.client.get(path, params=params)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: Any, **headers: str) -> Any:
        r = self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf, **headers})
        r.raise_for_status()
        return r.json() if r.content else None

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def admin_api(server: str) -> Iterator[Api]:
    api = Api(server, ADMIN)
    yield api
    api.close()
