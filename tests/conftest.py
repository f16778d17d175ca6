"""Hypothesis profiles: deterministic in CI, exploring on a developer's machine.

- ``ci`` (chosen when the environment variable ``CI`` is set, as ``.ci/run`` does):
  examples derived from each test's own code (``derandomize``), no example database,
  no deadline, and a failure prints the blob that reproduces it. The same clone gives
  the same examples on every run, so the README's test command never fails by luck.
- ``dev`` (otherwise): a fresh random seed on every run and the local example
  database (``.hypothesis/``, not committed) that replays earlier failures first.

``HYPOTHESIS_PROFILE=ci|dev`` overrides the choice. A failure found while exploring is
kept as an explicit ``@example`` in its test.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
# tests assert behaviour, never timings: no deadline on a shared machine either
settings.register_profile("dev", deadline=None, print_blob=True)


def _profile() -> str:
    chosen = os.environ.get("HYPOTHESIS_PROFILE", "").strip()
    if chosen:
        return chosen
    ci = os.environ.get("CI", "").strip().lower()
    return "ci" if ci not in ("", "0", "false", "no") else "dev"


settings.load_profile(_profile())


# One Chromium per test process, for tests/ui and for the few tests outside it that drive a
# page (the cluster's failover). Playwright's sync API keeps an event loop running in this
# thread while it is open: code that needs asyncio.run uses bokeh_client.run.
@pytest.fixture(scope="session")
def _playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(_playwright):
    from ui.helpers import launch_chromium

    try:
        browser = launch_chromium(_playwright)
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield browser
    browser.close()


@pytest.fixture
def derivations():
    """A new, empty process cache of shared derivations for one test (the one before it is
    put back after): see components/shared_derivations.py."""
    from components.shared_derivations import SharedDerivations
    with swapped_derivations(SharedDerivations()) as cache:
        yield cache


def swapped_derivations(cache):
    """``cache`` as the process's shared derivations while the ``with`` block runs."""
    from contextlib import contextmanager

    import panel as pn

    from components.shared_derivations import CACHE_KEY

    @contextmanager
    def swapped():
        before = pn.state.cache.pop(CACHE_KEY, None)
        pn.state.cache[CACHE_KEY] = cache
        try:
            yield cache
        finally:
            pn.state.cache.pop(CACHE_KEY, None)
            if before is not None:
                pn.state.cache[CACHE_KEY] = before
    return swapped()
