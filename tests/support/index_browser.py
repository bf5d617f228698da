"""The search page in a real browser: `omniembed serve --db DB` as its own process, and Debian's chromium driven
by Playwright (no browser download). Used by the session fixtures of tests/index/conftest.py."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str:
    """Debian's chromium (`make test` installs it as root). The test fails, never skips, without it."""
    path = os.environ.get("OMNIEMBED_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        pytest.fail("chromium is not installed: `apt-get install --no-install-recommends chromium` (make test does "
                    "it as root), or set OMNIEMBED_CHROMIUM to a Chromium binary.")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served_store(db: str, *extra: str, timeout: float = 300) -> Iterator[str]:
    """`omniembed serve --db DB` on a free 127.0.0.1 port; yields the page's URL once a search can run, and
    stops the server afterwards (SIGTERM, then SIGKILL)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "omniembed", "serve", "--db", db, "--port", str(port), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    try:
        while True:
            assert proc.poll() is None, f"the server exited: {proc.stdout.read()}"
            try:
                with urllib.request.urlopen(url + "health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def headless_chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def keep_screenshot(page, name: str, tmp_path: Path) -> Path:
    """A full-page screenshot in test-artifacts/ (kept after the run) and in the test's tmp_path."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / name
    page.screenshot(path=str(target), full_page=True)
    shutil.copy(target, tmp_path / name)
    return target
