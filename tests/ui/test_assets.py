"""Plain `panel serve app.py` serves static/ under /assets (Panel reserves /static) once a page
has been opened; the page itself inlines what it needs, so the route is for people and other
sites. The app runs as the README starts it: no --static-dirs flag."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .helpers import open_app

pytestmark = pytest.mark.browser
STATIC = Path(__file__).resolve().parents[2] / "static"


@pytest.fixture(scope="module")
def app_url(app_server, browsers):
    """The process's running app (tests/conftest.py: `panel serve app.py`, no --static-dirs),
    with one page opened in Chromium."""
    page, context = browsers.new_page()
    try:
        open_app(page, app_server)
    finally:
        (context or page).close()
    return app_server


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, b"", ""


def test_assets_are_served_next_to_the_app(app_url):
    base = app_url.rsplit("/app", 1)[0]
    assert _get(app_url)[0] == 200
    for name in ("page-a11y.js", "style.css"):
        status, body, kind = _get(f"{base}/assets/{name}")
        assert status == 200, name
        assert body == (STATIC / name).read_bytes()
    assert "javascript" in _get(f"{base}/assets/page-a11y.js")[2]
    assert _get(f"{base}/assets/missing.js")[0] == 404


def test_assets_do_not_leave_the_static_folder(app_url):
    base = app_url.rsplit("/app", 1)[0]
    request = urllib.request.Request(f"{base}/assets/%2e%2e/app.py")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as e:
        status = e.code
    assert status in (403, 404)
