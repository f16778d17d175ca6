"""The collector's full passes kept out of the way of students: on a server, every object
alive after a page build or a heavy derivation leaves the collector's passes
(``gc.freeze``), and what died since is collected while the server is idle.

A full pass of Python's cyclic collector walks every tracked object of the process and
holds the interpreter meanwhile: every thread, the event loop that answers releases
included, waits for it. A server's heap is mostly its sessions (~19,000 tracked objects per
seed page, ~81,000 with the 11,586-node example) and full passes came with its growth
(0.3-1.4 s each under load), and from Panel's own ``gc.collect()`` a few seconds after a
session closes. So, on a server (:func:`install`):

- :func:`settle` - after each page build and heavy derivation, in its worker thread - collects
  the young objects (cheap) and freezes what is alive: the automatic passes then walk only
  what was made since, a small heap;
- what a closed session leaves (its reference cycles, frozen) is collected by
  :func:`reclaim`, which replaces Panel's ``gc.collect()`` after sessions close: it waits
  until no websocket message came, no derivation was asked for and no page was built for
  ``IDLE_SECONDS`` (a slow server still reads the messages waiting before it runs a
  scheduled reclaim, so a stalled student counts as activity), then unfreezes,
  collects everything and freezes again; busy for ``MAX_DEFER_SECONDS``, it collects anyway
  (memory stays bounded under any load).

Why a reclaim waits for a quiet second, and ``MAX_DEFER_SECONDS`` is 120 s (measured:
bench/README.md, "Session 5"). A full pass costs ~35-60 ms of CPU per 100,000 tracked objects
(quiet / heavy load): ~0.1 s for the start-up heap (~180,000 objects), ~0.45 s with 30 seed
pages alive (~19,000 objects each, ~3 MB of RSS), and every student waits for it. A closed
page waits in the heap until then: 3 MB a page, so a class closing a page every ~10 s leaves
~40 MB waiting at the 120 s bound, and one client at the page-open meter's rate (one a second)
~350 MB. Collecting as soon as that grew by a quarter of the heap (CPython's own rule for its
full passes) kept less waiting (RSS after bench_abuse 254 MB against 346) but put a pass of
0.3-0.7 s in the middle of the honest student's releases several times per attack (worst
release 1.6-2.0 s against 0.5-0.9 s, load 8): the students' latency is the goal the heap
serves, so passes stay where no student is, and the bound only makes sure that a server never
quiet for two minutes still frees what closed pages left.

After a reclaim, the C allocator's free memory goes back to the system (:func:`trim`,
glibc's ``malloc_trim``): numpy arrays and big strings of closed pages live there, and glibc
keeps what was freed inside its heaps. What stays after a crowd of pages (e.g. twenty pages
open at once, then closed) is mostly not there but in the interpreter's own small-object
arenas (:func:`allocator_figures`): an arena of 1 MiB goes back only when every block in it is
free, and a few long-lived blocks made while the crowd was alive keep most of those arenas
(bench/README.md, "Session 8").

Outside a server nothing changes. The one state (:class:`Activity`) lives in
``pn.state.cache``, one per process, like the collector it serves.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import functools
import gc
import os
import re
import sys
import tempfile
import threading
import time
from contextlib import contextmanager

import panel as pn

IDLE_SECONDS = 1.0  # no message, derivation or page build for this long: a quiet moment
MAX_DEFER_SECONDS = 120.0  # after sessions closed, collect within this long whatever happens
CACHE_KEY = "bpx_heap"


class Activity:
    """When the server last worked for a student, and how many pages it is building.

    >>> a = Activity(now=0.0)
    >>> a.idle(now=0.5, wait=1.0), a.idle(now=1.5, wait=1.0)
    (False, True)
    >>> a.building(+1); a.idle(now=9.0, wait=1.0)
    False
    """

    def __init__(self, now: float | None = None):
        self.lock = threading.Lock()  # held while the collector's generations are thawed
        self._count = threading.Lock()
        self.at = time.monotonic() if now is None else now
        self.builds = 0
        self.due_since = None  # when a reclaim first found the server busy (None: not due)

    def touch(self, now: float | None = None) -> None:
        self.at = time.monotonic() if now is None else now

    def building(self, change: int) -> None:
        with self._count:
            self.builds += change
        self.touch()

    def idle(self, now: float | None = None, wait: float = IDLE_SECONDS) -> bool:
        now = time.monotonic() if now is None else now
        return self.builds == 0 and now - self.at >= wait


def activity() -> Activity:
    """The process's :class:`Activity` (made on first use)."""
    found = pn.state.cache.get(CACHE_KEY)
    if found is None:
        found = pn.state.cache.setdefault(CACHE_KEY, Activity())
    return found


def install() -> None:
    """Freeze the start-up heap and collect closed sessions' objects when idle (a server)."""
    from panel.io import document

    if document._garbage_collect is not reclaim:
        document._garbage_collect = reclaim
    gc.freeze()


def installed() -> bool:
    from panel.io import document
    return document._garbage_collect is reclaim


def touch() -> None:
    """A student sent a message or asked for a derivation: the server is not idle."""
    if installed():
        activity().touch()


def settle() -> None:
    """Collect the young objects and freeze every live one (after a build or a derivation,
    in its worker thread; nothing outside a server)."""
    if installed():
        with activity().lock:  # not in the middle of a thawed collection of another thread
            gc.collect(1)
            gc.freeze()


def reclaim() -> None:
    """Collect closed sessions' objects (Panel schedules this after sessions close): now if
    the server is idle or was busy ``MAX_DEFER_SECONDS`` since, else again in a second."""
    state, now = activity(), time.monotonic()
    if state.due_since is None:
        state.due_since = now
    if not state.idle(now) and now - state.due_since < MAX_DEFER_SECONDS:
        pn.state.schedule_task("gc.collect", reclaim,
                               at=dt.datetime.now() + dt.timedelta(seconds=1.0))
        return
    state.due_since = None
    if not state.builds:  # no page half built (its root listed before its view, below)
        forget_closed_roots()
    collect_all()
    trim()


def forget_closed_roots() -> int:
    """Drop closed pages' template roots from Panel's ``pn.state._fake_roots``; how many.

    Panel lists each page's template root there (``BaseTemplate._init_doc``) and, in this
    version, never takes it out (``_server_destroy`` pops it from a map nothing fills), while
    the page's entry in ``pn.state._views`` goes with its session. So one string per page
    opened stayed for the process's life - the only use of the list is to skip roots whose
    view is alive - and the strings of an abuse wave's pages, made while the wave's pages had
    grown the heap, each kept one of the interpreter's 1 MiB arenas from going back to the
    system (bench/README.md, "Session 12 (guard)"). A root is listed before its view is
    registered: call this when no page is being built.

    >>> import panel as pn
    >>> pn.state._fake_roots.append("p-closed-page")
    >>> forget_closed_roots() >= 1, "p-closed-page" in pn.state._fake_roots
    (True, False)
    """
    roots, views = pn.state._fake_roots, pn.state._views
    closed = [ref for ref in list(roots) if ref not in views]
    for ref in closed:
        try:
            roots.remove(ref)
        except ValueError:  # taken out meanwhile
            pass
    return len(closed)


def collect_all() -> int:
    """A full collection, frozen objects included (they stay frozen after); what it freed.

    >>> collect_all() >= 0
    True
    """
    with thawed():
        return gc.collect()


@contextmanager
def thawed():
    """Frozen objects back in the collector's generations for the block (``gc.get_objects``
    lists them), frozen again after; another thread's :func:`settle` waits meanwhile."""
    if not installed():
        yield
        return
    with activity().lock:
        gc.unfreeze()
        try:
            yield
        finally:
            gc.freeze()


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


@functools.lru_cache(maxsize=1)
def _libc():
    """glibc, if this process runs on it (else None)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not hasattr(libc, "malloc_trim"):  # malloc_trim: glibc only
        return None
    if hasattr(libc, "mallinfo2"):  # glibc >= 2.33: its result's type, set once
        libc.mallinfo2.restype = _MallInfo2
    return libc


def trim() -> bool:
    """Give the C allocator's free pages back to the system (glibc's ``malloc_trim(0)``);
    whether it could (False where the C library has no such call).

    >>> trim() in (True, False)
    True
    """
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def allocator_figures() -> dict:
    """Where the process's heap memory sits, in MiB: the interpreter's small-object arenas
    (``arenas``: all of them; ``free_pools``: the empty pools inside them, which go back to
    the system only with their whole arena; -1 while tracemalloc traces the allocator) and
    glibc's heap (``c_used``, ``c_free``; -1 elsewhere). For benches (the census): it writes
    ``sys._debugmallocstats()``'s report to a temporary file through file descriptor 2 for a
    moment.

    >>> figures = allocator_figures()
    >>> figures["arenas"] >= figures["free_pools"] >= 0
    True
    """
    with tempfile.TemporaryFile() as out:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        report = out.read().decode(errors="replace")

    def number(pattern: str) -> int:
        found = re.search(pattern, report)
        return int(found.group(1).replace(",", "")) if found else -1

    mib = 2 ** 20
    arena = number(r"arenas \* ([\d,]+) bytes/arena")
    arenas = number(r"arenas allocated current\s*=\s*([\d,]+)")
    pool, pools = number(r"unused pools \* ([\d,]+) bytes"), number(r"([\d,]+) unused pools")
    figures = {"arenas": -1.0, "free_pools": -1.0, "c_used": -1.0, "c_free": -1.0}
    if min(arena, arenas, pool, pools) >= 0:  # none while tracemalloc traces the allocator
        figures["arenas"], figures["free_pools"] = arena * arenas / mib, pool * pools / mib
    libc = _libc()
    if libc is not None and hasattr(libc, "mallinfo2"):
        info = libc.mallinfo2()
        figures["c_used"], figures["c_free"] = info.uordblks / mib, info.fordblks / mib
    return figures
