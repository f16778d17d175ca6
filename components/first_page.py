"""Static-first page opens: ``GET /app`` answers a page of the static site from a cache.

A live page costs the server a session: hundreds of milliseconds of CPU to build its Panel
and Bokeh models, then memory and a websocket for as long as it is open (bench/README.md,
"Static-first page opens"). Most of what a student does on a page opened from a link - the
sliders, modes, playback, node details, the values table, most lesson figures - the page
does in the browser from its tape replay, as the static site's pages do with no server
(:mod:`components.site`). So, on a server, ``GET /app`` with a query that names exactly a page
of the static site (:func:`canonical`: the explorer with an example of its menu, or a lesson,
in a language; nothing else in the query) is answered with that page's static HTML:

- built once per machine and page (:func:`components.site.page_html`, with the live
  server's links) in a process of its own (:class:`Builder`: one worker, started when a page
  is to be built, at a lower priority, ended after ``BPX_FIRST_PAGE_IDLE`` s (60) without a
  build), never in the server's: a static page costs 0.6-3.3 s of CPU, and vanishing's more
  than a minute (it computes its figure at 2,016 points of its controls' grid). In the
  server's page-building thread it would hold every live page's build behind it that long,
  and in any thread of the server it would take the interpreter from the event loop; in its
  own process it runs on the machine's other core;
- kept on disk (:class:`Shelf`: ``BPX_FIRST_PAGE_DIR``, by default
  ``~/.cache/backprop-explorer/first-pages``, under a hash of the code that shapes a page,
  :func:`code_key`), shared by every server process of the machine (``panel serve
  --num-procs N`` forks N processes, each with its own memory): one process builds a page
  (a lock per page), the others read it. A restart of the same code finds its pages built;
  changed code builds them again;
- built before anyone asks (:func:`prebuild`, ``BPX_FIRST_PAGE_PREBUILD``): when the app's
  hooks install in a server process (its first page open, the teacher's), the explorer's
  default page in each language at once, then every lesson, one after another in the
  builder, each only while the server has no live work (:class:`Activity`: the time it,
  and its ``--num-procs`` siblings, ran or waited to run below ``BUSY_SHARE`` of a core for
  ``BPX_FIRST_PAGE_QUIET`` s, default 3), and paused
  (``SIGSTOP``) while it has and no open waits for the builder (:meth:`Builder.hold`): on
  two cores a builder, even at its low priority, slows every live student's answer
  (bench/README.md, "Static-first page opens");
- **single-flight**: opens of a page being built wait for that one build, up to
  ``BPX_FIRST_PAGE_WAIT`` s (default 4), then get the live page (the build goes on for the
  opens after). A class opening one link at once would otherwise pay a live session each
  meanwhile (~0.35 s of CPU each, 30 of them ~10 s) against one build that every one of
  them then shares; the bound keeps a long build (vanishing's) from holding anyone;
- kept in memory gzip-compressed (``BPX_FIRST_PAGE_BYTES``, default 32 MiB of compressed
  pages a process, the least recently opened dropped first): sent as it is to a browser that accepts gzip, with an
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
import re
import time
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode

# a child of the session log's (lifecycle.py): one line per page built, in the server's output
log = logging.getLogger("backprop_explorer.lifecycle.first_page")

LIVE = "live"  # the query key that asks for the live page (any value)
WAKE = "bpx_wake"  # the query key of a sibling process's wake-up call (wake_siblings)
MAX_BYTES = int(os.environ.get("BPX_FIRST_PAGE_BYTES", 32 * 2**20))
WAIT_SECONDS = float(os.environ.get("BPX_FIRST_PAGE_WAIT", 4))
IDLE_SECONDS = float(os.environ.get("BPX_FIRST_PAGE_IDLE", 60))
QUIET_SECONDS = float(os.environ.get("BPX_FIRST_PAGE_QUIET", 3))
BUSY_SHARE = 0.15  # of one core: the server's own CPU above it is live work (Activity)
BUILDER_NICE = 10  # the builder process's priority below the server's
CACHE_KEY = "bpx_first_pages"  # pn.state.cache: the process's FirstPages, its Builder, started
BUILDER_KEY = "bpx_first_page_builder"
STARTED_KEY = "bpx_first_pages_started"
ROOT = Path(__file__).resolve().parent.parent


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
    try:  # killed with the server, also while held (SIGSTOP ignores every signal but SIGKILL)
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass
    if server_gone():  # the server died before the line above: no signal will come
        os._exit(0)
    pn.extension(raw_css=[stylesheet()], notifications=True)
    start_session()


def server_gone() -> bool:
    """In the builder process: whether the server that started it has died already (the
    process was then handed to another parent). A server stopped while its builder was still
    starting left the builder running for good (seen: the README's command stopped within
    seconds of its start)."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    return parent is not None and os.getppid() != parent.pid


class Builder:
    """The process that builds static-first pages: started when a page is to be built
    (``spawn``: a fresh interpreter, not a copy of the server's threads; one worker, at a lower
    priority), ended when it has built nothing for ``idle`` s (``BPX_FIRST_PAGE_IDLE``, its
    memory back to the machine: ~200 MB), started again on demand. Used on the event loop's
    thread only."""

    def __init__(self, idle: float = IDLE_SECONDS, initializer=start_builder):
        self.idle = idle
        self.initializer = initializer
        self.pool = None
        self.running = 0
        self.started = 0  # processes started (a test reads it)
        self.held = False
        self._timer = None

    def hold(self, on: bool) -> None:
        """Pause (``SIGSTOP``) or go on with (``SIGCONT``) the builder process's build: a
        page nobody waits for (:func:`prebuild`) gives the machine's cores to live students.
        A new build, :meth:`end` and the server's exit go on with it; the process is killed
        with the server (``PR_SET_PDEATHSIG``, :func:`start_builder`)."""
        import signal

        if on == self.held or (on and self.pool is None):
            return
        self.held = on
        if on:
            _go_on_at_exit(self)
        for pid in list(getattr(self.pool, "_processes", None) or ()):
            try:
                os.kill(pid, signal.SIGSTOP if on else signal.SIGCONT)
            except OSError:
                pass

    async def run(self, fn, *args):
        """``fn(*args)`` in the builder process (held or not, it goes on: someone asks)."""
        from concurrent.futures.process import BrokenProcessPool

        loop = asyncio.get_running_loop()
        self.hold(False)
        if self.pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=self.initializer)
            self.started += 1
        self.running += 1
        try:
            return await loop.run_in_executor(self.pool, fn, *args)
        except BrokenProcessPool:  # the builder died: a new one next time
            self.end()
            raise
        finally:
            self.running -= 1
            if not self.running:
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = loop.call_later(self.idle, self._end_if_idle)

    def _end_if_idle(self) -> None:
        if not self.running and self.pool is not None:
            log.info("static-first builder process ended: idle %g s", self.idle)
            self.end()

    def end(self) -> None:
        """Stop the builder process (a new one starts when a page is next built)."""
        self.hold(False)
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


_HELD = weakref.WeakSet()  # the process's builders ever held: gone on with at its exit


@functools.lru_cache(maxsize=1)
def _exit_hook() -> None:
    """Once per process: at the server's exit, held builders go on before their pools wait
    for their processes to end (concurrent.futures joins them at the interpreter's threading
    exit, which would wait for a stopped one forever; hooks there run last-registered first)."""
    import threading

    register = getattr(threading, "_register_atexit", None)
    if register is None:
        import atexit
        register = atexit.register
    register(lambda: [b.hold(False) for b in list(_HELD)])


def _go_on_at_exit(held: Builder) -> None:
    _exit_hook()
    _HELD.add(held)


def builder() -> Builder:
    """The server process's :class:`Builder` (one per process; the processes of ``panel serve
    --num-procs N`` are forked before the app runs, each gets its own when it first builds)."""
    import panel as pn

    found = pn.state.cache.get(BUILDER_KEY)
    if found is None:
        found = pn.state.cache.setdefault(BUILDER_KEY, Builder())
    return found


async def in_builder(slug: str, lang: str, args: dict) -> Page:
    """:func:`render` in the builder process."""
    return await builder().run(render, slug, lang, args)


# --- the pages on disk, shared by the machine's server processes ------------------------------
_SHAPES = ("app.py", "components", "graphviz_core", "static", "pyproject.toml")


@functools.lru_cache(maxsize=1)
def code_key() -> str:
    """A hash of everything that shapes a page: the app's code, words, templates, styles and
    scripts, and Panel's and Bokeh's versions. A page on disk is used only by servers of the
    same code (a changed file, a new library: pages built again)."""
    import bokeh
    import panel

    digest = hashlib.sha1(f"panel {panel.__version__} bokeh {bokeh.__version__}".encode())
    for name in _SHAPES:
        top = ROOT / name
        files = [top] if top.is_file() else sorted(
            p for p in top.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            and p.suffix not in (".pyc", ".pyo"))
        for path in files:
            digest.update(b"\0" + path.relative_to(ROOT).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    """Where the machine's server processes keep their pages: ``BPX_FIRST_PAGE_DIR``, else
    ``$XDG_CACHE_HOME/backprop-explorer/first-pages`` (``~/.cache/...``)."""
    found = os.environ.get("BPX_FIRST_PAGE_DIR", "").strip()
    if found:
        return Path(found)
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(home) / "backprop-explorer" / "first-pages"


class Shelf:
    """Built pages on disk, ``root/<code key>/<page>.gz``, shared by every server process of
    a machine (of one code, :func:`code_key`): written whole or not at all (a file of its own,
    then renamed), and built by one process at a time (a ``flock`` per page, which the system
    releases if its process dies). Calls do not block: a lock is taken or not. While it
    exists it holds a shared lock on ``IN_USE`` in its directory: :func:`prune` removes only
    directories that no process holds so."""

    IN_USE = ".in-use"

    def __init__(self, root: Path, key: str):
        import fcntl

        self.dir = Path(root) / key
        self.dir.mkdir(parents=True, exist_ok=True)
        self.in_use = open(self.dir / self.IN_USE, "a+b")
        fcntl.flock(self.in_use, fcntl.LOCK_SH)

    def _name(self, key: tuple) -> str:
        slug, lang, items = key
        return f"{slug}-{lang}-" + hashlib.sha1(repr(items).encode()).hexdigest()[:12]

    def get(self, key: tuple) -> Page | None:
        """The page, if a process has built it."""
        try:
            data = (self.dir / (self._name(key) + ".gz")).read_bytes()
        except OSError:
            return None
        etag, _, gz = data.partition(b"\n")
        return Page(gz, etag.decode("ascii")) if gz else None

    def put(self, key: tuple, page: Page) -> None:
        path = self.dir / (self._name(key) + ".gz")
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        part.write_bytes(page.etag.encode("ascii") + b"\n" + page.gz)
        os.replace(part, path)

    def lock(self, key: tuple):
        """The page's build lock (an open file: close it to release), or None if another
        process holds it."""
        import fcntl

        held = open(self.dir / (self._name(key) + ".lock"), "a+b")
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            held.close()
            return None
        return held


_KEY = re.compile("[0-9a-f]{16}")


def prune(root: Path, keep: str, grace: float = 600) -> list[str]:
    """Remove the pages of other code versions from ``root`` (each version's directory but
    ``keep``'s): those no process uses (no :class:`Shelf` holds its ``IN_USE`` lock, taken
    here while removing) and unchanged for ``grace`` s (a server of that code starting
    now). The names removed."""
    import fcntl
    import shutil

    removed = []
    for found in sorted(Path(root).iterdir()) if Path(root).is_dir() else ():
        if found.name == keep or not found.is_dir() or not _KEY.fullmatch(found.name):
            continue  # not a code version's directory (code_key)
        try:
            if time.time() - found.stat().st_mtime < grace:
                continue
            with open(found / Shelf.IN_USE, "a+b") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a server of that code runs
                shutil.rmtree(found)
            removed.append(found.name)
        except OSError as e:
            log.warning("static-first pages of %s not removed: %s", found.name, e)
    return removed


def shelf() -> Shelf | None:
    """The machine's :class:`Shelf` for this code, or None (pages kept per process) when
    ``BPX_FIRST_PAGE_DIR`` is ``off`` or the directory cannot be made; other code versions'
    pages no server uses are removed (:func:`prune`)."""
    root = cache_root()
    if str(root).lower() in ("0", "off", "no", "false"):
        return None
    try:
        found = Shelf(root, code_key())
    except OSError as e:
        log.warning("static-first pages kept per process, not in %s: %s", root, e)
        return None
    removed = prune(root, found.dir.name)
    if removed:
        log.info("static-first pages of %d older code versions removed", len(removed))
    return found


class FirstPages:
    """The process's cache of static-first pages: canonical page -> :class:`Page`, at most
    ``limit`` compressed bytes (least recently opened dropped first), and the builds under
    way, each waited for at most ``wait`` s. Used on the event loop's thread only.
    ``build``: a coroutine function making a page (:func:`in_builder`). ``shelf``: the pages
    on disk that the machine's server processes share (:class:`Shelf`), or None: a page
    missing here is read from there, and built (and put there) by one process only; the
    others wait for it there."""

    def __init__(self, limit: int = MAX_BYTES, build=in_builder, wait: float = WAIT_SECONDS,
                 shelf: Shelf | None = None, poll: float = 0.2):
        self.limit = limit
        self.build = build
        self.wait = wait
        self.shelf = shelf
        self.poll = poll
        self.pages: OrderedDict[tuple, Page] = OrderedDict()
        self.size = 0
        self.building: dict[tuple, asyncio.Future] = {}
        self.failed: set[tuple] = set()
        self.builds = 0
        self.waiting = 0  # opens waiting for a build now (prebuild does not hold one then)

    @staticmethod
    def key(page: tuple[str, str, dict]) -> tuple:
        slug, lang, args = page
        return (slug, lang, tuple(sorted(args.items())))

    def _start(self, key: tuple, page: tuple, charge) -> asyncio.Future | None:
        pending = self.building.get(key)
        if pending is None:
            if key in self.failed or not charge():
                return None
            pending = self.building[key] = asyncio.ensure_future(self._build(key, page))
        return pending

    async def page(self, page: tuple[str, str, dict], charge=lambda: True) -> Page | None:
        """The cached page, or built once for all who ask meanwhile; None if it cannot be
        (its build failed once, or ``charge()`` - the meter of the open that would start a
        build - refuses) or is not there within ``wait`` s."""
        key = self.key(page)
        found = self.pages.get(key)
        if found is not None:
            self.pages.move_to_end(key)
            return found
        if self.shelf is not None and key not in self.building:
            found = self.shelf.get(key)  # another process built it: no build, no charge
            if found is not None:
                self._keep(key, found)
                return found
        pending = self._start(key, page, charge)
        if pending is None:
            return None
        self.waiting += 1
        try:
            return await asyncio.wait_for(asyncio.shield(pending), self.wait)
        except asyncio.TimeoutError:  # the live page meanwhile; the build goes on
            return None
        finally:
            self.waiting -= 1

    async def ready(self, page: tuple[str, str, dict]) -> Page | None:
        """The page, built if no process has it, however long that takes (:func:`prebuild`)."""
        key = self.key(page)
        if key in self.pages:
            return self.pages[key]
        found = self.shelf.get(key) if self.shelf is not None else None
        if found is not None:
            self._keep(key, found)
            return found
        pending = self._start(key, page, lambda: True)
        return None if pending is None else await asyncio.shield(pending)

    async def _build(self, key: tuple, page: tuple[str, str, dict]) -> Page | None:
        from . import lifecycle  # noqa: F401  (its logger prints this module's lines)
        from .guard import describe

        started = time.monotonic()
        try:
            built = await (self._one_build(key, page) if self.shelf is not None
                           else self._counted(page))
        except Exception as e:
            if type(e).__name__ != "BrokenProcessPool":  # a broken builder: tried again
                self.failed.add(key)
            log.error("static-first page %s %s not built, served live: %s", key[0], key[1],
                      describe(e))
            return None
        finally:
            self.building.pop(key, None)
        if built is not None:
            page_built, fresh = built
            if fresh:
                log.info("static-first page %s %s built: %s bytes gzipped, %.1f s", key[0],
                         key[1], f"{len(page_built.gz):,}", time.monotonic() - started)
            self._keep(key, page_built)
            return page_built
        return None

    async def _counted(self, page: tuple) -> tuple[Page, bool]:
        self.builds += 1
        return await self.build(*page), True

    async def _one_build(self, key: tuple, page: tuple) -> tuple[Page, bool]:
        """Built here under the page's lock, or read from disk once the process that holds the
        lock has put it there (or built here if that process ends without it)."""
        while True:
            held = self.shelf.lock(key)
            if held is not None:
                try:
                    found = self.shelf.get(key)
                    if found is not None:
                        return found, False
                    built, fresh = await self._counted(page)
                    try:
                        self.shelf.put(key, built)
                    except OSError as e:
                        log.warning("static-first page %s %s not saved: %s", key[0], key[1], e)
                    return built, fresh
                finally:
                    held.close()
            await asyncio.sleep(self.poll)
            found = self.shelf.get(key)
            if found is not None:
                return found, False

    def _keep(self, key: tuple, page: Page) -> None:
        if len(page.gz) > self.limit or key in self.pages:
            return  # served to those who waited, not kept
        self.pages[key] = page
        self.size += len(page.gz)
        while self.size > self.limit:
            _, dropped = self.pages.popitem(last=False)
            self.size -= len(dropped.gz)


def first_pages() -> FirstPages:
    """The server process's cache (made on first use), on the machine's :func:`shelf`."""
    import panel as pn

    found = pn.state.cache.get(CACHE_KEY)
    if found is None:
        found = pn.state.cache.setdefault(CACHE_KEY, FirstPages(shelf=shelf()))
    return found


def prebuild_pages() -> list[tuple[str, str, dict]]:
    """The pages built when a server starts (``BPX_FIRST_PAGE_PREBUILD``): ``default`` (the
    default) is the explorer's default page in each language, then every lesson in each
    language; ``0`` none; else ``slug:lang`` items separated by commas (``graph`` is the
    explorer's default page).

    >>> [p[:2] for p in prebuild_pages()][:3]
    [('graph', 'en'), ('graph', 'zh'), ('chain-rule', 'en')]
    """
    from .site import site_pages
    from .words import LANGUAGES

    wanted = os.environ.get("BPX_FIRST_PAGE_PREBUILD", "default").strip().lower()
    if wanted in ("0", "off", "no", "false", "none", ""):
        return []
    if wanted == "default":
        langs = tuple(LANGUAGES)
        lessons = [(slug, lang) for slug, lang, args in site_pages(("en",))
                   if slug != "graph" for lang in langs]
        names = [("graph", lang) for lang in langs] + lessons
    else:
        names = [tuple(item.strip().split(":", 1)) for item in wanted.split(",") if ":" in item]
    found = []
    for slug, lang in names:
        page = canonical({"lang": [lang.encode()]} if slug == "graph"
                         else {"lesson": [slug.encode()], "lang": [lang.encode()]})
        if page is not None and page not in found:
            found.append(page)
    return found


def work_of(pid: int) -> float:
    """Seconds that process ``pid``'s threads have run or waited to run so far (Linux
    ``/proc/PID/task/*/schedstat``: on a CPU plus in a run queue; a sleeping thread is in
    neither), else its CPU time (``/proc/PID/stat``); 0 if it is gone. The waiting counts:
    on a loaded machine a busy server gets little CPU but waits for it, and must not look
    idle.

    >>> import os; work_of(os.getpid()) > 0, work_of(-1)
    (True, 0.0)
    """
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        total = 0
        for task in tasks:
            try:
                run, wait = (task / "schedstat").read_text().split()[:2]
            except OSError:
                continue  # a thread that ended
            total += int(run) + int(wait)
        return total / 1e9
    except (OSError, ValueError):
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_work() -> float:
    """:func:`work_of` this server process and, in a process that ``panel serve --num-procs
    N`` forked, of the other processes of that server (the parent's other children, from
    ``/proc``; their builders are their children, not counted): live work in any of them is
    live work on the machine's cores. Without ``/proc``, the process's CPU time."""
    import tornado.process

    me = os.getpid()
    own = work_of(me) if Path(f"/proc/{me}/task").is_dir() else time.process_time()
    if tornado.process.task_id() is None:
        return own
    parent = os.getppid()
    try:
        others = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    except OSError:
        return own
    return own + sum(work_of(int(pid)) for pid in others if int(pid) != me)


class Activity:
    """Whether the server has live work: the time its process (every thread of it; not the
    builder's, another process) and its ``--num-procs`` siblings ran or waited to run
    (:func:`server_work`) above ``share`` of a core since the last look. Quiet when it
    has had none for ``quiet`` s. A live student's page open or slider release costs the
    server tens to hundreds of milliseconds; an idle server, a static-first open now and then
    and a class dragging sliders in static pages cost it next to nothing.

    >>> cpu, now = [0.0], [0.0]
    >>> seen = Activity(quiet=3, cpu=lambda: cpu[0], clock=lambda: now[0])
    >>> now[0], cpu[0] = 1, 0.5  # half a core: a class's releases
    >>> seen.quiet()
    False
    >>> now[0] = 3.5; seen.quiet()  # none since, but only for 2.5 s
    False
    >>> now[0] = 4.5; seen.quiet()
    True
    """

    def __init__(self, quiet: float = QUIET_SECONDS, share: float = BUSY_SHARE,
                 cpu=None, clock=time.monotonic):
        if cpu is None:
            cpu = server_work
        self.quiet_for, self.share = quiet, share
        self.cpu, self.clock = cpu, clock
        self._last = (clock(), cpu())
        self.busy_at = self._last[0]

    def quiet(self) -> bool:
        """No live work for ``quiet`` s."""
        now, used = self.clock(), self.cpu()
        then, before = self._last
        if now > then:
            self._last = (now, used)
            if (used - before) / (now - then) > self.share:
                self.busy_at = now
        return now - self.busy_at >= self.quiet_for


async def prebuild(pages: FirstPages, wanted: list, activity: Activity | None = None,
                   hold=None, poll: float = 0.5) -> None:
    """Make ``wanted`` pages ready one after another (read from disk, or built in the builder
    process at its low priority) before anyone asks: a class opening the link does not wait
    for a build, in any of the server's processes. The explorer's pages (``graph``: the link
    a class is given) at once; each other page once ``activity`` is quiet, and while it is
    built, ``hold(True)`` (:meth:`Builder.hold`) while the server is not quiet and no open
    waits for a build, ``hold(False)`` once it is (or one waits)."""
    if activity is None:
        activity = Activity()
    if hold is None:
        hold = builder().hold
    for page in sorted(wanted, key=lambda p: p[0] != "graph"):
        if page[0] == "graph":
            await pages.ready(page)
            continue
        while not activity.quiet():
            await asyncio.sleep(poll)
        made = asyncio.ensure_future(pages.ready(page))
        try:
            while not made.done():
                await asyncio.wait({made}, timeout=poll)
                if not made.done():
                    hold(not activity.quiet() and not pages.waiting)
        finally:
            hold(False)


def start(io_loop=None) -> None:
    """On a server serving static-first, once per process: the default pages made ready
    (:func:`prebuild`) on the server's event loop ``io_loop``, and, in a process that
    ``--num-procs N`` forked, the other processes woken (:func:`wake_siblings`)."""
    import panel as pn

    if not enabled() or pn.state.cache.get(STARTED_KEY):
        return
    pn.state.cache[STARTED_KEY] = True
    from . import lifecycle  # noqa: F401  (its logger prints this module's lines)
    context = pn.state.curdoc.session_context if pn.state.curdoc is not None else None
    if io_loop is None:  # a session's build may run in a thread: the server's own loop
        io_loop = context.server_context.application_context.io_loop
    wanted = prebuild_pages()
    pages = first_pages()
    others = sibling_processes()
    address = _listening(context) if others else None

    async def started():
        if address is not None:
            await wake_siblings(*address, others)
        await prebuild(pages, wanted)

    io_loop.add_callback(started)


def sibling_processes() -> int:
    """How many other server processes share this one's socket: ``N - 1`` in a process that
    ``panel serve --num-procs N`` forked (``0``: one per core), read from the command line of
    the process that forked it (the app's own ``sys.argv`` is the script's); else 0."""
    import tornado.process

    if tornado.process.task_id() is None:
        return 0
    try:
        argv = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return 1  # not Linux: wake at least one
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--num-procs=") else (
            argv[i + 1] if arg == "--num-procs" and i + 1 < len(argv) else None)
        if value is not None:
            try:
                n = int(value)
            except ValueError:
                return 1
            return max((n or os.cpu_count() or 1) - 1, 0)
    return 1


def _listening(context) -> tuple[str, int, str] | None:
    """(host, port, app path) of the socket the session's page open came in on."""
    try:
        request = context.request._request
        host, port = request.connection.stream.socket.getsockname()[:2]
        return ("127.0.0.1" if host in ("0.0.0.0", "") else host), port, request.path
    except Exception as e:
        log.warning("static-first: no listening address: %r", e)
        return None


async def wake_siblings(host: str, port: int, path: str, others: int, tries: int = 8) -> int:
    """Have the other processes of ``--num-procs`` run the app once, before a student opens
    it there. The processes accept from one shared socket, and the app's hooks (static-first
    opens among them) install in a process with its first page open, so the teacher's check
    of the link reaches one process, and the first students the others took would get live
    pages, the very first with the process's imports. A ``GET`` with :data:`WAKE` in the query
    is answered at once (204) by a process whose hooks are installed; one that has none
    builds a live page, which installs them (its pages then come from the shared disk). Up
    to ``tries`` requests per other process, until ``others`` live pages came back; the
    number woken."""
    from tornado.httpclient import AsyncHTTPClient

    client = AsyncHTTPClient(force_instance=True)
    woken = 0
    try:
        for _ in range(tries * others):
            try:
                response = await client.fetch(f"http://{host}:{port}{path}?{WAKE}=on",
                                               raise_error=False, request_timeout=300)
            except Exception:
                break
            if response.code == 200:  # a live page: a process that had not run the app
                woken += 1
                if woken >= others:
                    break
            await asyncio.sleep(0.05)
    finally:
        client.close()
    log.info("static-first: %d of %d other server processes woken (the rest were awake)",
             woken, others)
    return woken


async def answer(handler) -> bool:
    """Answer ``GET /app`` (Panel's ``DocHandler``) with the static page its query names;
    False (nothing sent) when the page is to be live."""
    if handler.request.method != "GET" or not enabled():
        return False
    if WAKE in handler.request.query_arguments:  # a sibling's wake-up call: awake already
        handler.set_status(204)
        handler.finish()
        return True
    page = canonical(handler.request.query_arguments)
    if page is None:
        return False
    from .guard import meter

    ip = handler.request.remote_ip or "?"
    found = await first_pages().page(
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
