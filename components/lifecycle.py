"""Session lifecycle: count and log every session the server creates and destroys.

Switched on with ``panel serve app.py --setup components/lifecycle.py`` (no change to the
app): the setup script runs once per server process, before any session, and registers the
hooks for every session. The app works the same without it.

Each event is one log line on the ``backprop_explorer.lifecycle`` logger (the Bokeh
server prints INFO lines), e.g.::

    bpx-session destroyed id=... created=31 destroyed=30 live=1 threads=3 tasks=4

With ``BPX_LOOP_STALLS=SECONDS`` (e.g. 0.2) each time the event loop did not turn for that
long is one ``bpx-stall`` line: how long, and where the loop was (:class:`LoopWatch`).

With ``BPX_SESSION_CENSUS=1`` a census line follows ~1 s after the last destroyed
session: Bokeh documents still alive, explorer models still alive, periodic callbacks,
threads and asyncio tasks, and where the heap sits (``heap.allocator_figures``: the
interpreter's arenas and the empty pools inside them, glibc's heap in use and free). ``bench/bench_sessions.py`` reads
these lines.

The callbacks live in this imported module: callbacks defined in ``app.py`` fail with
NameError, because Bokeh clears the app's namespace before a session is destroyed. For the
same reason the counters are module-level: they count the sessions of the whole process
(under a lock), which is what a census is, and hold nothing of any session.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import threading
import time
from pathlib import Path

import panel as pn

log = logging.getLogger("backprop_explorer.lifecycle")
if not log.handlers:  # the Bokeh server configures only its own loggers
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False

_lock = threading.Lock()
COUNTS = {"created": 0, "destroyed": 0}
_census_pending = False


def _snapshot() -> str:
    try:
        tasks = len(asyncio.all_tasks())
    except RuntimeError:  # no running loop in this thread
        tasks = -1
    return f"threads={threading.active_count()} tasks={tasks}"


def session_created(session_context) -> None:
    """Count one new session (``pn.state.on_session_created`` callback)."""
    _count("created", session_context)
    threshold = os.environ.get("BPX_LOOP_STALLS")
    if threshold:
        watch_loop(float(threshold))


class LoopWatch:
    """Log each time the event loop did not turn for ``threshold`` seconds or more: how long,
    and where the loop's thread was when the stall was first seen (its innermost frames), and
    each pass of the cyclic collector that long (it stops every thread).

    A heartbeat on the loop notes the time every ``BEAT`` seconds; a daemon thread looks
    as often. One per process (``watch_loop``); for benches (``BPX_LOOP_STALLS=0.2``), since a
    stack is read from another thread (``sys._current_frames``).
    """

    BEAT = 0.02

    def __init__(self, loop, threshold: float):
        self.loop, self.threshold = loop, threshold
        self.beat = time.monotonic()
        self.loop_thread = threading.get_ident()  # made on the loop's thread
        self._gc_started = 0.0
        loop.call_soon(self._heartbeat)
        gc.callbacks.append(self._collector)
        self.thread = threading.Thread(target=self._watch, name="bpx-loop-watch", daemon=True)
        self.thread.start()

    def _heartbeat(self) -> None:
        self.beat = time.monotonic()
        self.loop.call_later(self.BEAT, self._heartbeat)

    def _watch(self) -> None:
        seen = None  # (when the stall began, where the loop was)
        while not self.loop.is_closed():
            time.sleep(self.BEAT)
            late = time.monotonic() - self.beat
            if late >= self.threshold and seen is None:
                seen = (self.beat, self._where())
            elif seen is not None and late < self.threshold:
                log.info("bpx-stall ms=%.0f at %s", (self.beat - seen[0]) * 1000, seen[1])
                seen = None
        gc.callbacks.remove(self._collector)  # the loop is closed: nothing left to watch

    # frames of the loop's own machinery, not of the work it was doing
    MACHINERY = ("/asyncio/", "/tornado/", "/concurrent/")

    def _where(self, depth: int = 4) -> str:
        """The loop thread's innermost ``depth`` frames, then ``via`` the outermost frame of
        the callback the loop was running, below the loop's own machinery (a page request's
        handler, a websocket message's, a session's destruction)."""
        frame = sys._current_frames().get(self.loop_thread)
        places, via = [], None
        while frame is not None:
            code = frame.f_code
            if code.co_name == "_run" and code.co_filename.endswith("events.py"):
                break  # asyncio's Handle._run: the callback's frames are all seen
            place = f"{Path(code.co_filename).name}:{frame.f_lineno} {code.co_name}"
            if len(places) < depth:
                places.append(place)
            if not any(part in code.co_filename for part in self.MACHINERY):
                via = place
            frame = frame.f_back
        return (" <- ".join(places) or "?") + (f" via {via}" if via else "")

    def _collector(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.monotonic()
        elif time.monotonic() - self._gc_started >= self.threshold:
            log.info("bpx-stall-gc ms=%.0f generation=%d collected=%d",
                     (time.monotonic() - self._gc_started) * 1000, info["generation"],
                     info["collected"])


_watch: list = []


def watch_loop(threshold: float) -> None:
    """Start the process's :class:`LoopWatch` (once), if called on the event loop's thread."""
    with _lock:
        if _watch:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a session built in the page-building thread: try the next one
            return
        _watch.append(LoopWatch(loop, threshold))


def session_destroyed(session_context) -> None:
    """Count one destroyed session (``pn.state.on_session_destroyed`` callback)."""
    _count("destroyed", session_context)
    if os.environ.get("BPX_SESSION_CENSUS") == "1":
        _schedule_census()


def _count(event: str, session_context) -> None:
    with _lock:
        COUNTS[event] += 1
        created, destroyed = COUNTS["created"], COUNTS["destroyed"]
    log.info("bpx-session %s id=%s created=%d destroyed=%d live=%d %s", event,
             getattr(session_context, "id", "?"), created, destroyed, created - destroyed,
             _snapshot())


def _schedule_census(delay: float = 1.0) -> None:
    global _census_pending
    if _census_pending:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    _census_pending = True
    loop.call_later(delay, _census_between_builds, loop)


def _census_between_builds(loop) -> None:
    """:func:`census` once no page is being built: ``gc.get_objects()`` would hold a reference
    to every object of a half-built page, and CPython's ``tuple()`` fails (``SystemError: bad
    argument to internal function``) on a tuple being built that another reference holds -
    that page's build would fail (seen in bench_sessions.py's abuse wave)."""
    from .heap import activity, installed

    if installed() and activity().builds:
        loop.call_later(0.2, _census_between_builds, loop)
        return
    census()


def census() -> dict:
    """Log (and return) what is still alive in this process: documents, models, callbacks."""
    global _census_pending
    _census_pending = False
    from bokeh.document import Document

    from .heap import allocator_figures, thawed
    from .model import ExplorerModel

    documents = models = 0
    with thawed():  # frozen objects too (components/heap.py)
        gc.collect()
        for obj in gc.get_objects():
            if isinstance(obj, Document):
                documents += 1
            elif isinstance(obj, ExplorerModel):
                models += 1
    periodic = sum(len(cbs) for cbs in list(pn.state._periodic.values()))
    with _lock:
        created, destroyed = COUNTS["created"], COUNTS["destroyed"]
    figures = {"created": created, "destroyed": destroyed, "documents": documents,
               "models": models, "periodic": periodic}
    memory = allocator_figures()
    log.info("bpx-census created=%d destroyed=%d documents=%d models=%d periodic=%d %s "
             "arenas_mb=%.1f free_pools_mb=%.1f c_used_mb=%.1f c_free_mb=%.1f",
             created, destroyed, documents, models, periodic, _snapshot(), memory["arenas"],
             memory["free_pools"], memory["c_used"], memory["c_free"])
    return figures


def install() -> None:
    """Register the hooks for every session of this process (call before any session)."""
    if getattr(pn.state, "_bpx_lifecycle_installed", False):
        return
    pn.state.on_session_created(session_created)
    pn.state.on_session_destroyed(session_destroyed)
    pn.state._bpx_lifecycle_installed = True


if __name__ != "components.lifecycle" and pn.state.curdoc is None:
    # run as `panel serve app.py --setup components/lifecycle.py`: install the hooks of the
    # imported module (so they live in a namespace nobody clears)
    from components.lifecycle import install as _install

    _install()
