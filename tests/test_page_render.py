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
