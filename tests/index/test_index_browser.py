"""The search page in a real headless browser: Debian's chromium driven by Playwright against
`omniembed search --db DB --web` running as its own process. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
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


@pytest.fixture(scope="module")
def server(indexed):
    """`omniembed search --db DB --web` on a free port, stopped after the module."""
    index, _ = indexed
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "omniembed", "search", "--db", index.db, "--web", "--port",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 300
    try:
        while True:
            assert proc.poll() is None, f"the server exited: {proc.stdout.read()}"
            try:
                with urllib.request.urlopen(url + "index/info", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "the search page did not come up"
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=BROWSER_ARGS, headless=True)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.set_default_timeout(120_000)  # the machine running the tests may be busy
            tab.goto(server)
            yield tab
        finally:
            browser.close()


def keep_screenshot(page, name: str, tmp_path: Path) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / name
    page.screenshot(path=str(target), full_page=True)
    shutil.copy(target, tmp_path / name)
    return target


def wait_for_results(page) -> None:
    page.wait_for_function("document.getElementById('status').textContent.includes('results')")


def test_typed_query_ranks_the_expected_file_first(page, corpus, tmp_path):
    page.wait_for_function("document.getElementById('store').textContent.includes('12 items')")
    page.fill("#q", "how do I make pancakes")
    page.press("#q", "Enter")
    wait_for_results(page)
    first = page.locator("#results .hit").first
    assert first.get_attribute("data-path") == corpus["pancakes.txt"]
    assert first.get_attribute("data-rank") == "1" and "Pancake recipe" in first.inner_text()
    assert page.locator("#results .hit").count() == 12  # every modality is in the grid
    # Thumbnails really loaded (image and video poster), and audio got a player.
    page.wait_for_function("[...document.querySelectorAll('img.thumb')].length >= 4 && "
                           "[...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator("video.thumb").count() == 1 and page.locator("audio").count() == 2
    shot = keep_screenshot(page, "search-page-text-query.png", tmp_path)
    assert shot.stat().st_size > 10_000


def test_modality_filter(page):
    page.fill("#q", "a sound")
    page.press("#q", "Enter")
    wait_for_results(page)
    page.select_option("#modality", "audio")
    page.wait_for_function("document.querySelectorAll('#results .hit').length === 2")
    assert set(page.locator("#results .hit").evaluate_all("nodes => nodes.map(n => n.dataset.modality)")) == {"audio"}
    page.select_option("#modality", "")


def test_query_by_example_file(page, corpus, tmp_path):
    page.set_input_files("#file", corpus["photos/coffee.png"])
    page.wait_for_function("document.querySelector('#results .hit') && "
                           f"document.querySelector('#results .hit').dataset.path === {corpus['photos/coffee.png']!r}")
    assert page.locator("#example-name").inner_text() == "coffee.png"
    assert page.locator("#results .hit").first.locator(".score").inner_text().endswith("1.0000")
    keep_screenshot(page, "search-page-query-by-example.png", tmp_path)
