"""Static-first page opens: ``GET /app`` answers a page of the static site from a cache.

A live page costs the server a session: hundreds of milliseconds of CPU to build its Panel
and Bokeh models, then memory and a websocket for as long as it is open (bench/README.md,
"Static-first page opens"). Most of what a student does on a page opened from a link - the
sliders, modes, playback, node details, the values table, most lesson figures - the page
does in the browser from its tape replay, as the static site's pages do with no server
(:mod:`components.site`). So, on a server, ``GET /app`` with a query that names exactly a page
of the static site (:func:`canonical`: the explorer with an example of its menu, or a lesson,
in a language; nothing else in the query) is answered with that page's static HTML:

- built once per server process and page (:func:`components.site.page_html`, with the live
  server's links) in a process of its own (:func:`builder`: one worker, started on first
  use, at a lower priority), never in the server's: a static page costs 0.6-3.3 s of CPU, and
  vanishing's more than a minute (it computes its figure at 2,016 points of its controls'
  grid). In the server's page-building thread it would hold every live page's build behind
  it that long, and in any thread of the server it would take the interpreter from the
  event loop; in its own process it runs on the machine's other core;
- **single-flight**: opens of a page being built wait for that one build, up to
  ``BPX_FIRST_PAGE_WAIT`` s (default 4), then get the live page (the build goes on for the
  opens after). A class opening one link at once would otherwise pay a live session each
  meanwhile (~0.35 s of CPU each, 30 of them ~10 s) against one build that every one of
  them then shares; the bound keeps a long build (vanishing's) from holding anyone;
- kept gzip-compressed (``BPX_FIRST_PAGE_BYTES``, default 32 MiB of compressed pages, the
  least recently opened dropped first): sent as it is to a browser that accepts gzip, with an
  ``ETag`` (a reload answered ``304 Not Modified``);
- no session, no websocket: such an open does not count against the page-open meter
  (:mod:`components.guard`); a build does (the open that starts it).

Whatever needs the server on such a page is greyed, and its note links the same page with
``live=1`` (also in ``<meta name="bpx-live">``): any query with ``live``, values, a typed
expression or any other key, and a page whose build failed, gets the live session as before.
``BPX_STATIC_FIRST=0`` turns this off (every open live).
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import logging
import os
import time
from collections import OrderedDict
from typing import NamedTuple
from urllib.parse import urlencode

# a child of the session log's (lifecycle.py): one line per page built, in the server's output
log = logging.getLogger("backprop_explorer.lifecycle.first_page")

LIVE = "live"  # the query key that asks for the live page (any value)
MAX_BYTES = int(os.environ.get("BPX_FIRST_PAGE_BYTES", 32 * 2**20))
WAIT_SECONDS = float(os.environ.get("BPX_FIRST_PAGE_WAIT", 4))
BUILDER_NICE = 10  # the builder process's priority below the server's
CACHE_KEY = "bpx_first_pages"


def enabled() -> bool:
    """Whether opens are served static-first (``BPX_STATIC_FIRST``, on by default)."""
    return os.environ.get("BPX_STATIC_FIRST", "1").strip().lower() not in ("0", "false", "no", "off")


class Page(NamedTuple):
    """One cached page: its gzip-compressed HTML and its entity tag."""

    gz: bytes
    etag: str


@functools.lru_cache(maxsize=1)
def _site_pages() -> dict[tuple[str, str, str], tuple[str, str, dict]]:
    """(slug, lang, expr or "") -> the site's page, read-only once made."""
    from .site import site_pages

    return {(slug, lang, args.get("expr", "")): (slug, lang, args)
            for slug, lang, args in site_pages()}


def canonical(arguments: dict[str, list]) -> tuple[str, str, dict] | None:
    """The static site's page ``(slug, lang, args)`` that query ``arguments`` (Tornado's
    ``request.arguments``: key -> list of values) opens, or None when the query asks for more
    than such a page shows (values, a typed expression, any other key, ``live``).

    >>> canonical({})[:2], canonical({"lesson": [b"chain-rule"], "lang": [b"zh"]})
    (('graph', 'en'), ('chain-rule', 'zh', {'lesson': 'chain-rule', 'lang': 'zh'}))
    >>> [canonical(q) for q in ({"w": [b"2"]}, {"live": [b"1"]}, {"expr": [b"x*y"]},
    ...                          {"lang": [b"fr"]}, {"lesson": [b"chain-rule"], "expr": [b"x"]})]
    [None, None, None, None, None]
    """
    from .controls import EXAMPLES

    args = {}
    for key, values in arguments.items():
        if key not in ("lesson", "lang", "expr") or len(values) != 1:
            return None
        raw = values[0]
        args[key] = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    slug = args.get("lesson", "graph")
    expr = args.get("expr", EXAMPLES[0][1] if slug == "graph" else "")
    return _site_pages().get((slug, args.get("lang", "en"), expr))


def live_query(args: dict) -> str:
    """The live page of the same page: ``args`` with ``live=1``, relative to the app's path.

    >>> live_query({"lesson": "chain-rule", "lang": "en"})
    '?lesson=chain-rule&lang=en&live=1'
    """
    return "?" + urlencode({**args, LIVE: "1"})


def render(slug: str, lang: str, args: dict) -> Page:
    """The page's static HTML with the live server's links, compressed (in the builder
    process, :func:`builder`)."""
    from .navigation import query_link
    from .site import page_html

    text = page_html(slug, lang, args, link=query_link, live=live_query(args)).encode("utf-8")
    return Page(gzip.compress(text, 6), '"' + hashlib.sha1(text).hexdigest()[:20] + '"')


def start_builder() -> None:
    """The builder process's start: the app's settings as ``build-site`` has them."""
    import panel as pn

    from .page import start_session, stylesheet

    try:
        os.nice(BUILDER_NICE)
    except OSError:
        pass
    pn.extension(raw_css=[stylesheet()], notifications=True)
    start_session()


def builder():
    """The one process that builds static-first pages (started on first use, ``spawn``: a
    fresh interpreter, not a copy of the server's threads); it ends with the server."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import panel as pn

    pool = pn.state.cache.get("bpx_first_page_builder")
    if pool is None:
        pool = pn.state.cache["bpx_first_page_builder"] = ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=start_builder)
    return pool


def start() -> None:
    """On a server serving static-first: start the builder process now (its interpreter and
    imports, seconds of CPU on the other core), not when the first page is asked for."""
    if enabled():
        builder().submit(int)


def _drop_builder() -> None:
    import panel as pn

    pool = pn.state.cache.pop("bpx_first_page_builder", None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


async def in_builder(slug: str, lang: str, args: dict) -> Page:
    """:func:`render` in the builder process."""
    return await asyncio.get_running_loop().run_in_executor(builder(), render, slug, lang, args)


class FirstPages:
    """The process's cache of static-first pages: canonical page -> :class:`Page`, at most
    ``limit`` compressed bytes (least recently opened dropped first), and the builds under
    way, each waited for at most ``wait`` s. Used on the event loop's thread only.
    ``build``: a coroutine function making a page (:func:`in_builder`)."""

    def __init__(self, limit: int = MAX_BYTES, build=in_builder, wait: float = WAIT_SECONDS):
        self.limit = limit
        self.build = build
        self.wait = wait
        self.pages: OrderedDict[tuple, Page] = OrderedDict()
        self.size = 0
        self.building: dict[tuple, asyncio.Future] = {}
        self.failed: set[tuple] = set()
        self.builds = 0

    async def page(self, page: tuple[str, str, dict], charge=lambda: True) -> Page | None:
        """The cached page, or built once for all who ask meanwhile; None if it cannot be
        (its build failed once, or ``charge()`` - the meter of the open that would start a
        build - refuses) or is not there within ``wait`` s."""
        slug, lang, args = page
        key = (slug, lang, tuple(sorted(args.items())))
        found = self.pages.get(key)
        if found is not None:
            self.pages.move_to_end(key)
            return found
        if key in self.failed:
            return None
        pending = self.building.get(key)
        if pending is None:
            if not charge():
                return None
            pending = self.building[key] = asyncio.ensure_future(self._build(key, page))
        try:
            return await asyncio.wait_for(asyncio.shield(pending), self.wait)
        except asyncio.TimeoutError:  # the live page meanwhile; the build goes on
            return None

    async def _build(self, key: tuple, page: tuple[str, str, dict]) -> Page | None:
        from . import lifecycle  # noqa: F401  (its logger prints this module's lines)
        from .guard import describe

        self.builds += 1
        started = time.monotonic()
        try:
            built = await self.build(*page)
        except Exception as e:
            if type(e).__name__ == "BrokenProcessPool":  # the builder died: a new one next time
                _drop_builder()
            else:
                self.failed.add(key)
            log.error("static-first page %s %s not built, served live: %s", key[0], key[1],
                      describe(e))
            return None
        finally:
            self.building.pop(key, None)
        log.info("static-first page %s %s built: %s bytes gzipped, %.1f s", key[0], key[1],
                 f"{len(built.gz):,}", time.monotonic() - started)
        self._keep(key, built)
        return built

    def _keep(self, key: tuple, page: Page) -> None:
        if len(page.gz) > self.limit:
            return  # served to those who waited, not kept
        self.pages[key] = page
        self.size += len(page.gz)
        while self.size > self.limit:
            _, dropped = self.pages.popitem(last=False)
            self.size -= len(dropped.gz)


def first_pages(application) -> FirstPages:
    """The server application's cache (one per process, made on first use)."""
    found = getattr(application, "_bpx_first_pages", None)
    if found is None:
        found = application._bpx_first_pages = FirstPages()
    return found


async def answer(handler) -> bool:
    """Answer ``GET /app`` (Panel's ``DocHandler``) with the static page its query names;
    False (nothing sent) when the page is to be live."""
    if handler.request.method != "GET" or not enabled():
        return False
    page = canonical(handler.request.query_arguments)
    if page is None:
        return False
    from .guard import meter

    ip = handler.request.remote_ip or "?"
    found = await first_pages(handler.application).page(
        page, charge=lambda: meter(handler.application).take(ip))
    if found is None:
        return False
    send(handler, found)
    return True


def send(handler, page: Page) -> None:
    """Write ``page``: 304 to a client that has it, gzip to one that takes it."""
    handler.set_header("ETag", page.etag)
    handler.set_header("Cache-Control", "no-cache")  # a reload asks again: a new server, a new page
    handler.set_header("Vary", "Accept-Encoding")
    if page.etag in handler.request.headers.get("If-None-Match", ""):
        handler.set_status(304)
        handler.finish()
        return
    handler.set_header("Content-Type", "text/html; charset=UTF-8")
    if "gzip" in handler.request.headers.get("Accept-Encoding", ""):
        handler.set_header("Content-Encoding", "gzip")
        handler.finish(page.gz)
    else:
        handler.finish(gzip.decompress(page.gz))
