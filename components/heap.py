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
  collects everything and freezes again. A busy server collects anyway once what was frozen
  since the last full pass has grown by ``GROWTH`` of what that pass left, or once it has
  waited ``MAX_DEFER_SECONDS``.

Why those bounds (figures in bench/README.md, "Session 5"): a full pass costs about
0.35-0.6 microseconds of CPU per tracked object (quiet / load 19), the start-up heap is
~180,000 objects and each seed page ~19,000 (~2.6-3.3 MB of RSS), alive or closed and not yet
collected. Waiting by time alone, what is waiting grows with the rate sessions close: a
client closing a page a second (the page-open meter's rate) left 120 sessions, ~2.3 million
objects and ~350 MB, for a pass of over a second that every student waits for. Waiting by
growth is the collector's own rule for its full passes (CPython runs one when the objects
that survived since grow past 25% of those the last one kept): each pass is then paid for
by the work that made it needed, a stall stays a fraction of what the heap costs anyway, and
what waits is at most a quarter of the heap. The time bound is for a server where sessions
close but few open (the growth rule never fires): what waits there is small and needs no
hurry, but must not wait forever.

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
GROWTH = 0.25  # frozen since the last full pass, as a fraction of what it left: collect now
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
        # frozen objects the last full pass left, and frozen since (counted as they are
        # frozen: gc.get_freeze_count() walks every frozen object, too long for the loop)
        self.kept, self.since = gc.get_freeze_count(), 0

    def grown(self) -> bool:
        """Whether what was frozen since the last full pass exceeds ``GROWTH`` of what it kept."""
        return self.since > GROWTH * self.kept

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
    activity().kept, activity().since = gc.get_freeze_count(), 0


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
        state = activity()
        with state.lock:  # not in the middle of a thawed collection of another thread
            gc.collect(1)
            state.since += len(gc.get_objects(2))  # what is about to be frozen: made since
            gc.freeze()


def reclaim() -> None:
    """Collect closed sessions' objects (Panel schedules this after sessions close): now if
    the server is idle, the frozen heap has grown by ``GROWTH`` or it was busy
    ``MAX_DEFER_SECONDS`` since, else again in a second."""
    state, now = activity(), time.monotonic()
    if state.due_since is None:
        state.due_since = now
    if not state.idle(now) and now - state.due_since < MAX_DEFER_SECONDS and not state.grown():
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
        found = gc.collect()
    if installed():
        activity().kept, activity().since = gc.get_freeze_count(), 0
    return found


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
