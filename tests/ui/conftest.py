"""Fixtures for the browser tests (Playwright + Debian's headless Chromium).

Contract for every test module in ``tests/ui``:

- ``app_url`` (session): ``http://127.0.0.1:<port>/app`` of one ``panel serve app.py``
  started for the whole session (process group killed at the end).
- ``browser`` (session): Chromium from ``/usr/bin/chromium``; fails, never skips, if it
  is missing.
- ``page`` (function): a fresh context and page, 1400x1000. After the test it fails if
  the page raised uncaught JS exceptions; console errors are listed with them.
- ``new_page`` (function): a factory for more pages (each its own context, so its own
  session cookies and its own Panel session), checked the same way; its keyword arguments
  go to ``browser.new_context`` (``new_page(**PHONE)`` for a phone with touch).

Helpers to drive and read the page live in ``tests/ui/helpers.py`` (``open_app`` etc.).
Mark browser tests with ``pytest.mark.browser``.
"""

from __future__ import annotations

import pytest

from .helpers import launch_chromium, new_context, serve_app, terminate_gracefully


@pytest.fixture(scope="session")
def app_server():
    terminate_gracefully()  # a CI timeout's SIGTERM still stops the server
    with serve_app(timeout=60) as url:
        yield url


@pytest.fixture(scope="session")
def app_url(app_server):
    return app_server


@pytest.fixture(scope="session")
def _playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(_playwright):
    try:
        browser = launch_chromium(_playwright)
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield browser
    browser.close()


class _Watched:
    """A page with the console errors and uncaught exceptions it produced."""

    def __init__(self, browser, **options):
        self.context = new_context(browser, **options)
        self.page = self.context.new_page()
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []
        self.page.on("pageerror", lambda e: self.page_errors.append(f"{e.name}: {e.message}\n{e.stack}"))
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(
            f"{m.text} ({m.location.get('url', '')}:{m.location.get('lineNumber', '')})"))


@pytest.fixture
def new_page(browser):
    watched: list[_Watched] = []

    def make(**options):
        w = _Watched(browser, **options)
        watched.append(w)
        return w.page

    yield make
    problems = []
    for k, w in enumerate(watched):
        try:
            w.context.close()
        except Exception:  # the browser may be gone after a crash; report what we have
            pass
        if w.page_errors:
            problems.append(f"page {k}: uncaught exceptions in the page:\n  " +
                            "\n  ".join(w.page_errors) +
                            ("\n console errors:\n  " + "\n  ".join(w.console_errors)
                             if w.console_errors else ""))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def page(new_page):
    return new_page()
