"""What opening a page costs the server: CPU time per open, page by page.

Three ways to measure, the first the one that counts:

- **browser** (default): headless Chromium opens each page in a fresh context (a student's
  first visit: no cache, no cookies) on a warm ``panel serve app.py``; the server's CPU time
  (user + system, summed over its process tree, ``psutil``) is read before ``goto`` and again
  once the page has rendered every root and the server has been quiet for 0.4 s. Everything
  the page asks for is counted: HTML, scripts, styles (BokehJS and Panel's files included),
  the websocket and the session. A link the static site has a page for (the explorer's
  examples, a lesson) is that page from the server's cache (components/first_page.py);
  ``--live`` asks for the live page instead (``live=1``), as every open was before.
- **protocol** (``--protocol``): what bench_class.py's students do (``GET /app``, websocket,
  ``PULL-DOC``, ``document_ready``), no browser: the session alone.
- **breakdown** (``--breakdown``): in this process, per page: building the page's models,
  the document's JSON (what ``PULL-DOC`` sends), the number of Bokeh models and the size.

CPU is process time, not wall time: on a machine shared with other jobs wall times grow
and CPU time much less. The load average is printed with the figures.

    python bench/bench_page_open.py                 # explorer and every lesson, 2 opens each
    python bench/bench_page_open.py --repeat 3 --pages graph chain-rule
    python bench/bench_page_open.py --repeat 3 --pages graph chain-rule --live
    python bench/bench_page_open.py --protocol --repeat 5
    python bench/bench_page_open.py --html 200 --pages graph chain-rule
    python bench/bench_page_open.py --breakdown
    python bench/bench_page_open.py --pages '?expr=mlp(2,60,60,1)&level=layer'   # any link
    python bench/bench_page_open.py --cold --repeat 5 --pages '?expr=mlp(2,60,60,1)&level=layer'

``--html N``: only the page's HTML, N times a page (``GET`` with gzip, then N revalidations
with ``If-None-Match``, as a CDN in front of the server asks), once the page is built: what the
server spends per static-first open when something else serves ``/static`` and ``/assets``.

The server gets a new empty ``BPX_FIRST_PAGE_DIR`` and ``BPX_FIRST_PAGE_PREBUILD=0``: the
warm-up opens build the measured pages, and no build of other pages (the builder is a child
of the server, counted in its CPU) runs while opens are measured.

``--cold``: every open is the first of a fresh ``panel serve`` (no warm-up, nothing cached:
the process's first session, its imports and first-use caches included); with
``--warm-with graph`` that page is opened first in each fresh server (not counted), so only
what the measured link itself costs the first time is left (its derivation, say).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from report import tree_cpu  # noqa: E402

PAGES = ["graph", "chain-rule", "fan-out", "stop-gradient", "loss-value", "input-gradients",
         "same-gradient", "loss-matters"]
QUIET_S = 0.4


LIVE = {"on": False}  # --live: every open asks for the live page


def query(slug: str, lang: str) -> str:
    """A page's query; a "page" that starts with ``?`` is an explorer link as it stands
    (e.g. ``'?expr=mlp(2,60,60,1)&level=layer'``). With ``--live``, ``live=1`` is added: the
    live session, where the page would otherwise be the static site's, from the server's
    cache (components/first_page.py)."""
    own = [slug[1:]] if slug.startswith("?") else [] if slug == "graph" else [f"lesson={slug}"]
    parts = own + ([] if lang == "en" else [f"lang={lang}"]) + (["live=1"] if LIVE["on"] else [])
    return "?" + "&".join(parts) if parts else ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its descendants, ended ones included."""
    return sum(tree_cpu(pid).values())


def wait_quiet(pid: int, quiet: float = QUIET_S, limit: float = 30.0) -> float:
    """Wait until the server's CPU time stops growing for ``quiet`` s; return it."""
    last, since, deadline = cpu_seconds(pid), time.monotonic(), time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = cpu_seconds(pid)
        if now - last > 0.002:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def loadavg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# --- browser ------------------------------------------------------------------------------
RENDERED = """() => {
  const B = window.Bokeh
  if (!B || !B.documents || !B.documents.length || !B.index) return false
  const roots = [...B.index.roots]
  return roots.length > 0 && roots.every((v) => v.is_idle === undefined || v.is_idle)
}"""


def browser_open(browser, url: str, pid: int, slug: str, lang: str) -> tuple[float, float, int, int]:
    """One open in a fresh context: (server CPU s, wall s, requests, 0)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    counts = {"requests": 0}
    page.on("request", lambda r: counts.__setitem__("requests", counts["requests"] + 1))
    wait_quiet(pid)
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    page.goto(url + query(slug, lang))
    page.wait_for_function(RENDERED, timeout=60_000)
    wall = time.perf_counter() - t0
    c1 = wait_quiet(pid)
    context.close()
    return c1 - c0, wall, counts["requests"], 0


def html_gets(url: str, pid: int, pages: list[tuple[str, str]], n: int) -> None:
    """``--html N``: server CPU per GET of a static-first page's HTML, and per revalidation."""
    import urllib.request

    def get(link: str, **headers) -> tuple[int, str]:
        request = urllib.request.Request(link, headers={"Accept-Encoding": "gzip", **headers})
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                response.read()
                return response.status, response.headers.get("ETag", "")
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("ETag", "")

    print(f"server CPU per GET of the page's HTML alone (gzip), {n} a page; per revalidation "
          "(If-None-Match: 304)")
    print(f"{'page':22s} {'GET ms':>8s} {'304 ms':>8s} {'bytes':>8s}")
    for slug, lang in pages:
        link = url + query(slug, lang)
        deadline = time.monotonic() + 600
        while not get(link)[1]:  # the first opens: live, then built (ETag: static-first)
            if time.monotonic() > deadline:
                raise SystemExit(f"{link}: never served static-first")
            time.sleep(1)
        etag = get(link)[1]
        with urllib.request.urlopen(urllib.request.Request(
                link, headers={"Accept-Encoding": "gzip"}), timeout=60) as response:
            size = len(response.read())
        figures = []
        for headers in ({}, {"If-None-Match": etag}):
            c0 = wait_quiet(pid)
            for _ in range(n):
                get(link, **headers)
            figures.append((wait_quiet(pid) - c0) / n * 1000)
        print(f"{slug + ' ' + lang:22s} {figures[0]:8.2f} {figures[1]:8.2f} {size:8d}")
    print(f"load average at end: {loadavg()}")


def browser_opens(url: str, pid: int, pages: list[tuple[str, str]], repeat: int) -> dict:
    from playwright.sync_api import sync_playwright
    from tests.ui.helpers import launch_chromium

    out: dict = {}
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            # warm: imports, lazy modules, first-use caches; a static-first page is built by
            # its first open after the process's first session (which installs the hooks)
            for _ in range(1 if LIVE["on"] else 2):
                for slug, lang in pages:
                    browser_open(browser, url, pid, slug, lang)
            for slug, lang in pages:
                out[(slug, lang)] = [browser_open(browser, url, pid, slug, lang)
                                     for _ in range(repeat)]
        finally:
            browser.close()
    return out


def cold_opens(pages: list[tuple[str, str]], repeat: int, warm_with: list[str]) -> dict:
    """Each page's open as the first of a fresh server (after ``warm_with``'s, not counted),
    ``repeat`` fresh servers per page."""
    from playwright.sync_api import sync_playwright
    from bench_load import server
    from tests.ui.helpers import launch_chromium

    out: dict = {}
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            for slug, lang in pages:
                rows = out.setdefault((slug, lang), [])
                for _ in range(repeat):
                    with server(15000, 5000) as (url, pid, _):
                        wait_quiet(pid, quiet=1.0)  # the server's own start-up done
                        for first in warm_with:
                            browser_open(browser, url, pid, first, lang)
                        rows.append(browser_open(browser, url, pid, slug, lang))
        finally:
            browser.close()
    return out


# --- protocol -------------------------------------------------------------------------------
async def _protocol_open(base: str, q: str) -> int:
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    from bench_class import DOCUMENT_READY, TOKEN, Connection

    page = await AsyncHTTPClient().fetch(base + "/app" + q, request_timeout=120)
    found = TOKEN.search(page.body.decode())
    if found is None:  # the static site's page, from the server's cache: no session
        return len(page.body)
    token = found.group(1)
    ws = await websocket_connect(
        HTTPRequest(base.replace("http", "ws", 1) + "/app/ws", headers={"Origin": base},
                    request_timeout=120), subprotocols=["bokeh", token],
        max_message_size=64 * 2**20)
    conn = Connection(ws)
    await conn.receive()  # ACK
    await conn.send("PULL-DOC-REQ", {})
    _, content = await conn.receive()
    await conn.send("PATCH-DOC", {"events": [DOCUMENT_READY]})
    await asyncio.sleep(0.2)
    ws.close()
    return len(content)


def protocol_opens(url: str, pid: int, pages: list[tuple[str, str]], repeat: int) -> dict:
    base = url.rsplit("/app", 1)[0]
    out: dict = {}

    def one(slug, lang):
        wait_quiet(pid)
        c0, t0 = cpu_seconds(pid), time.perf_counter()
        size = asyncio.run(_protocol_open(base, query(slug, lang)))
        wall = time.perf_counter() - t0
        return wait_quiet(pid) - c0, wall, 0, size

    for slug, lang in pages:
        one(slug, lang)
    for slug, lang in pages:
        out[(slug, lang)] = [one(slug, lang) for _ in range(repeat)]
    return out


# --- in process -----------------------------------------------------------------------------
def breakdown(pages: list[tuple[str, str]], repeat: int) -> None:
    import unittest.mock as mock

    import panel as pn
    from bokeh.core.json_encoder import serialize_json
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from components import explorer, navigation, server_hooks
    from components.page import start_session, stylesheet

    pn.extension(raw_css=[stylesheet()], notifications=True, reconnect=True, browser_info=False)
    start_session()  # what app.py does first in every session
    server_hooks.server_settings()  # and, on a server, Bokeh's settings
    print(f"{'page':22s} {'build ms':>9s} {'JSON ms':>8s} {'models':>7s} {'JSON kB':>8s}")
    for slug, lang in pages:
        args = dict(parse_qsl(query(slug, lang)[1:]))  # a lesson or any link, as a session reads it
        rows = []
        for i in range(repeat + 1):
            doc = Document()
            with set_curdoc(doc), mock.patch.object(navigation, "query_args", return_value=args), \
                    mock.patch.object(explorer, "query_args", return_value=args):
                t0 = time.process_time()
                with doc.models.freeze():
                    navigation.build_page().server_doc(doc, title="bench")
                t1 = time.process_time()
                text = serialize_json(doc.to_json())
                t2 = time.process_time()
            rows.append((t1 - t0, t2 - t1, len(doc.models), len(text)))
        rows = rows[1:]
        build = statistics.median(r[0] for r in rows)
        dump = statistics.median(r[1] for r in rows)
        print(f"{slug + ' ' + lang:22s} {build * 1000:9.1f} {dump * 1000:8.1f} {rows[-1][2]:7d} "
              f"{rows[-1][3] / 1000:8.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", nargs="*", default=PAGES)
    ap.add_argument("--lang", nargs="*", default=["en"])
    ap.add_argument("--repeat", type=int, default=2, help="opens per page (after one warm-up)")
    ap.add_argument("--protocol", action="store_true", help="Bokeh's protocol, no browser")
    ap.add_argument("--breakdown", action="store_true", help="in-process build/JSON per page")
    ap.add_argument("--num-procs", type=int, default=1)
    ap.add_argument("--live", action="store_true",
                    help="ask for the live page (live=1) where it would be served static-first")
    ap.add_argument("--html", type=int, default=0, metavar="N",
                    help="N GETs (and N revalidations) of each page's HTML alone")
    ap.add_argument("--cold", action="store_true",
                    help="each open the first of a fresh server (REPEAT servers per page)")
    ap.add_argument("--warm-with", nargs="*", default=[],
                    help="with --cold: pages opened first in each fresh server, not counted")
    args = ap.parse_args()
    LIVE["on"] = args.live
    pages = [(slug, lang) for slug in args.pages for lang in args.lang]
    print(f"load average at start: {loadavg()}")
    if args.breakdown:
        breakdown(pages, args.repeat)
        print(f"load average at end: {loadavg()}")
        return

    if args.cold:
        results = cold_opens(pages, args.repeat, args.warm_with)
        print("server CPU per page open, Chromium, fresh context; each open the first of a "
              "fresh server" + (f" after {' '.join(args.warm_with)}" if args.warm_with else ""))
        report(results, False)
        return

    from bench_load import server

    import tempfile
    extra, env = (), {"BPX_FIRST_PAGE_DIR": tempfile.mkdtemp(prefix="bpx-pages-"),
                      "BPX_FIRST_PAGE_PREBUILD": "0"}
    if args.num_procs > 1:
        import secrets
        extra = ("--num-procs", str(args.num_procs), "--session-ids", "signed")
        env.update(BOKEH_SECRET_KEY=secrets.token_urlsafe(32), BOKEH_SIGN_SESSIONS="true")
    with server(15000, 5000, extra, env) as (url, pid, log):
        if args.html:
            html_gets(url, pid, pages, args.html)
            return
        run = protocol_opens if args.protocol else browser_opens
        results = run(url, pid, pages, args.repeat)
    how = "protocol (GET, websocket, PULL-DOC)" if args.protocol else "Chromium, fresh context"
    print(f"server CPU per page open, {how}; {args.repeat} opens per page after a warm-up")
    report(results, args.protocol)


def report(results: dict, protocol: bool) -> None:
    print(f"{'page':22s} {'CPU ms med':>10s} {'min':>6s} {'max':>6s} {'wall s':>7s} "
          f"{'requests' if not protocol else 'doc kB':>8s}")
    every = []
    for (slug, lang), rows in results.items():
        cpus = [r[0] * 1000 for r in rows]
        every += cpus
        extra_col = rows[-1][2] if not protocol else rows[-1][3] // 1000
        print(f"{slug + ' ' + lang:22s} {statistics.median(cpus):10.0f} {min(cpus):6.0f} "
              f"{max(cpus):6.0f} {statistics.median(r[1] for r in rows):7.2f} {extra_col:8d}")
    print(f"all {len(every)} opens: median {statistics.median(every):.0f} ms, "
          f"max {max(every):.0f} ms of server CPU per open")
    print(f"load average at end: {loadavg()}")


if __name__ == "__main__":
    main()
