"""Fixtures for the browser tests (Playwright + Debian's headless Chromium).

Contract for every test module in ``tests/ui``:

- ``app_url`` (session): ``http://127.0.0.1:<port>/app`` of one ``panel serve app.py``
  started for the whole session (``app_server``, tests/conftest.py: process group killed at
  the end).
- ``browser`` (session, from ``tests/conftest.py``): Chromium's headless shell
  (``/usr/lib/chromium/chromium-headless-shell``), or ``/usr/bin/chromium`` where it is not
  installed (``helpers.chromium_for_tests``); fails, never skips, if it is missing.
- ``page`` (function): a new page (its own Panel session), 1400x1000. After the test it fails
  if the page raised uncaught JS exceptions; console errors are listed with them.
- ``new_page`` (function): a factory for more pages, checked the same way; its keyword
  arguments are ``browser.new_context``'s (``new_page(**PHONE)`` for a phone with touch).
  Pages of one kind of device share a Chromium with a profile on disk (``browsers``,
  ``helpers.Browsers``: compiled scripts are kept between opens); ``new_page(fresh=True)``
  gives a page a browser context of its own (its own cookies and storage).

Helpers to drive and read the page live in ``tests/ui/helpers.py`` (``open_app`` etc.).
Mark browser tests with ``pytest.mark.browser``.
"""

from __future__ import annotations

import pytest

from .helpers import Watched


@pytest.fixture(scope="session")
def app_url(app_server):
    return app_server


@pytest.fixture
def new_page(browsers):
    watched: list[Watched] = []

    def make(**options):
        w = Watched(browsers, **options)
        watched.append(w)
        return w.page

    yield make
    problems = []
    for k, w in enumerate(watched):
        w.close()
        if w.problems():
            problems.append(f"page {k}: {w.problems()}")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def page(new_page):
    return new_page()
