"""The search page in a real headless browser: Debian's chromium driven by Playwright against
`omniembed serve --db DB` running as its own process. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import pytest
from support.index_browser import keep_screenshot

# One server per store for the session (tests/index/conftest.py), one browser for this module.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium through Playwright, shared by the browser tests. Module-scoped, not session:
    Playwright's sync API keeps an asyncio loop running in the main thread while it is open, and later tests
    that call asyncio.run() would fail."""
    from support.index_browser import headless_chromium

    with headless_chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def page(browser, corpus_page_url):
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    tab.set_default_timeout(120_000)  # the machine running the tests may be busy
    tab.goto(corpus_page_url)
    yield tab
    tab.close()


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


def test_document_pages_show_their_thumbnail_and_page_number(browser, pages_page_url, pdf_folder, tmp_path):
    from support.index_pages import VOLCANO_QUERY

    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    tab.set_default_timeout(120_000)
    try:
        tab.goto(pages_page_url)
        tab.select_option("#modality", "document")
        tab.fill("#q", VOLCANO_QUERY)
        tab.press("#q", "Enter")
        wait_for_results(tab)
        first = tab.locator("#results .hit").first
        assert first.get_attribute("data-path") == pdf_folder["topics.pdf"]
        assert "topics.pdf — page 7" in first.inner_text()
        tab.wait_for_function("(() => { const i = document.querySelector('#results .hit img.thumb');"
                              " return i && i.complete && i.naturalHeight > i.naturalWidth; })()")  # a portrait page
        keep_screenshot(tab, "search-page-document-pages.png", tmp_path)
    finally:
        tab.close()
