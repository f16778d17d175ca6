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

Outside a server nothing changes. The one state (:class:`Activity`) lives in
``pn.state.cache``, one per process, like the collector it serves.
"""

from __future__ import annotations

import datetime as dt
import gc
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
    collect_all()


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
