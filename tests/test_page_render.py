"""A page request's HTML is rendered off the event loop (components/builds.py ``page_get``).

Panel renders each page's HTML (``server_html_page_for_session``) on the event loop; during
a flood of page opens that held every other student's slider release 0.25-0.3 s per page.
The app renders it in a thread of its own instead, with Panel's ``DocHandler.get``
reimplemented around it: these tests check where the rendering runs on a real server, that
the pages it serves work as Panel's do, and that the Panel code copied is still Panel's.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import re
from pathlib import Path

from bokeh_client import Page, get_token, run_alone

# sha256 of Panel 1.9.x's DocHandler.get source, the one components/builds.py page_get copies
PANEL_GET_SHA256 = "e853eb5417bbf085"


def test_page_get_copies_panels_own_get():
    """When Panel's ``DocHandler.get`` changes, ``builds.page_get`` must be read against it
    again (server_hooks.PATCHES: the app replaces it)."""
    import ast

    import panel.io.server as module

    # read from Panel's file: in a worker where a server was started in process, the class's
    # get is already the app's replacement
    text = Path(module.__file__).read_text()
    handler = next(n for n in ast.parse(text).body
                   if isinstance(n, ast.ClassDef) and n.name == "DocHandler")
    get = next(n for n in handler.body if getattr(n, "name", None) == "get")
    source = ast.get_source_segment(text, get)
    assert hashlib.sha256(source.encode()).hexdigest()[:16] == PANEL_GET_SHA256, (
        "Panel's DocHandler.get changed: compare it with components/builds.py page_get")


def test_each_page_after_the_first_is_rendered_off_the_event_loop(app_server):
    """On the worker's running server (``app_server``: started with
    tests/render_thread_setup.py, which logs the thread of each page render)."""
    async def opens(base: str):
        pages = [await Page.open(base) for _ in range(2)]  # whole handshakes: the pages work
        statuses = await asyncio.gather(*(get_token(base) for _ in range(3)))  # at once
        for page in pages:
            await page.close()
        return pages, statuses

    log = Path(app_server.log)
    before = len(re.findall(r"bpx-render thread=(\S+)", log.read_text()))
    pages, statuses = run_alone(opens(app_server[: -len("/app")]))
    renders = re.findall(r"bpx-render thread=(\S+)", log.read_text())
    assert all(page.values for page in pages)  # each page got its document and its values
    assert [status for status, _ in statuses] == [200] * 3
    assert all(token for _, token in statuses)
    # the server's first page (serve_app's, when it started) installs the app's hooks, on the
    # loop as Panel renders it; every page after it - these five included - is rendered in
    # the page-rendering thread
    assert renders[0] == "MainThread" and len(renders) == before + 5, renders
    assert all(name.startswith("bpx-render") for name in renders[1:]), renders


def test_a_pages_stylesheets_are_rewritten_as_panel_rewrites_them_root_by_root():
    """builds._css_patched_once: the first root's ``patch_model_css`` rewrites the URLs of the
    whole document's stylesheets (from its index of models), the other roots' nothing more;
    the URLs end as Panel's own call for each root leaves them."""
    from bokeh.models import ImportedStyleSheet
    from panel.io.resources import CDN_DIST, LOCAL_DIST
    from panel.io.resources import patch_model_css as panels
    from test_page_open import page_document

    from components import builds

    doc = page_document({"lesson": "same-gradient"})  # several roots, the most models
    sheets = [m for m in doc.models if isinstance(m, ImportedStyleSheet)]
    assert len(doc.roots) > 3 and any(s.url.startswith((CDN_DIST, LOCAL_DIST)) for s in sheets)
    given = [s.url for s in sheets]
    for root in doc.roots:
        panels(root, dist_url=LOCAL_DIST)
    expected = [s.url for s in sheets]
    assert expected != given
    for sheet, url in zip(sheets, given):
        sheet.url = url
    import panel.io.server as server
    before = server.patch_model_css
    try:
        server.patch_model_css = panels
        builds._css_patched_once()
        for root in doc.roots:
            server.patch_model_css(root, dist_url=LOCAL_DIST)
    finally:
        server.patch_model_css = before
    assert [s.url for s in sheets] == expected
