"""Headless chromium for the browser tests: Debian's own build, never a download.

Playwright's sync API runs an event loop in the test's thread; Django refuses
ORM calls from a thread with a running loop unless told it is safe, and here
it is (the loop only drives the browser; the live server answers in its own
thread)."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """Open pages on a site, each in a fresh browser context (no cookies), in English."""
    contexts = []

    def open_page(base_url):
        context = browser.new_context(
            base_url=base_url, locale="en-US", viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page, live_server):
    """A fresh browser context on the live server, in English."""
    return new_page(live_server.url)
