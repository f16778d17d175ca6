"""The event loop first: the threads that build and render pages give way to it.

A live page open costs the server ~0.4-1 s of CPU, almost all of it in the page-building and
page-rendering threads (:mod:`components.builds`; ``python bench/bench_live_open.py``: the
loop's own share is ~0.15 s). Those threads and the event loop share one interpreter lock,
and the lock has no priorities: while a page is built, the loop - which answers every other
student's slider release - gets about half of the interpreter, and waits a switch interval
for it after each socket read or write. With a class's live students releasing sliders, the
loop's work then outgrows its half, releases queue behind each other, and every page open
became a burst of slow answers (interaction p95 608 ms in ``bench_class.py --quick`` with 9
students going live, against a median of 66 ms).

So, on a server (:func:`install`), the loop's selector tells when the loop is idle (waiting
in ``select`` for a socket or its next timer), and a page thread, at each of its
*checkpoints*, waits while the loop is not: the loop's turns run with the interpreter to
themselves, and pages are built in the gaps between them. The checkpoints are the calls a
page build, a page render and a document's serialization make every few microseconds to
milliseconds (a Bokeh model made or set, a Panel/param object made, a value encoded:
:data:`CHECKPOINTS`); the loop's own calls of them only read a thread-local.

A loop that is never idle (a server past its capacity) must still let pages be built: a
thread waits at most ``WAIT`` s at a checkpoint, then runs ``SLICE`` s without waiting.

Outside a server, and in every thread that did not :func:`join`, nothing changes.
``BPX_LOOP_FIRST=0`` turns it off (benches compare both); ``BPX_LOOP_FIRST_WAIT`` and
``BPX_LOOP_FIRST_SLICE`` (seconds) set the bound. The price: on a server whose loop is never
idle, a live page takes up to three times as long to build (bench/README.md, "Session 12
(open)").
"""

from __future__ import annotations

import functools
import os
import threading
import time

# s a page thread waits at most at one checkpoint for the loop to be idle, and then runs
# without waiting (a loop never idle still lets pages be built: at least SLICE of WAIT + SLICE)
WAIT = float(os.environ.get("BPX_LOOP_FIRST_WAIT", 0.02))
SLICE = float(os.environ.get("BPX_LOOP_FIRST_SLICE", 0.01))
# (module:Class, attribute): where page threads stop for the loop (components/server_hooks.py)
CHECKPOINTS = (
    ("bokeh.core.has_props:HasProps", "__init__"),
    ("bokeh.core.has_props:HasProps", "__setattr__"),
    ("bokeh.core.serialization:Serializer", "_encode"),
    ("param.parameterized:Parameterized", "__init__"),
)

_local = threading.local()  # .gate: the Gate a page thread stops at; .free_until


class Gate:
    """Whether the event loop is idle, set by its selector (:class:`IdleSelector`).

    >>> gate = Gate()
    >>> gate.idle.set(); gate.pause()  # an idle loop: no wait
    >>> gate.idle.clear(); t = time.perf_counter(); gate.pause(wait=0.01)
    >>> time.perf_counter() - t >= 0.01, time.perf_counter() < _local.free_until
    (True, True)
    """

    def __init__(self):
        self.idle = threading.Event()
        self.idle.set()

    def pause(self, wait: float = WAIT, run: float = SLICE) -> None:
        """At a checkpoint of a page thread: wait (up to ``wait`` s) until the loop is idle;
        after a wait that ran out, go on for ``run`` s without waiting."""
        if self.idle.is_set() or time.perf_counter() < getattr(_local, "free_until", 0.0):
            return
        if not self.idle.wait(wait):
            _local.free_until = time.perf_counter() + run


class IdleSelector:
    """An asyncio loop's selector that marks the loop idle while it waits in ``select`` with
    nothing ready (a timeout of 0 is a busy loop's poll), and busy once ``select`` returns."""

    def __init__(self, selector, gate: Gate):
        self._selector, self._gate = selector, gate

    def select(self, timeout=None):
        if timeout is not None and timeout <= 0:
            return self._selector.select(timeout)
        self._gate.idle.set()
        try:
            return self._selector.select(timeout)
        finally:
            self._gate.idle.clear()

    def __getattr__(self, name):
        return getattr(self._selector, name)


def enabled() -> bool:
    return os.environ.get("BPX_LOOP_FIRST", "1") != "0"


def gate() -> Gate | None:
    """The process's gate (made by :func:`install`), or None."""
    import panel as pn

    return pn.state.cache.get("bpx_loop_gate")


def join() -> None:
    """Make the calling thread (a page thread) stop at the checkpoints while the loop works:
    a ``ThreadPoolExecutor`` initializer."""
    _local.gate = gate()


def checkpoint() -> None:
    """Wait here, in a page thread, while the loop has work (:meth:`Gate.pause`)."""
    g = getattr(_local, "gate", None)
    if g is not None:
        g.pause()


def _stopping(function):
    @functools.wraps(function)
    def stops(*args, **kwargs):
        g = getattr(_local, "gate", None)
        if g is not None:
            g.pause()
        return function(*args, **kwargs)
    stops._bpx_loop_first = True
    return stops


def install(loop) -> None:
    """On a server, in its loop's thread: the ``loop``'s selector reports idleness (None: no
    loop runs; the gate then always finds it idle), and the :data:`CHECKPOINTS` stop page
    threads that :func:`join` while the loop works (idempotent; nothing with
    ``BPX_LOOP_FIRST=0``)."""
    import importlib

    import panel as pn

    if not enabled() or "bpx_loop_gate" in pn.state.cache:
        return
    g = pn.state.cache["bpx_loop_gate"] = Gate()
    if loop is not None and not isinstance(loop._selector, IdleSelector):
        loop._selector = IdleSelector(loop._selector, g)
    for owner, attribute in CHECKPOINTS:
        module, name = owner.split(":")
        cls = getattr(importlib.import_module(module), name)
        function = cls.__dict__[attribute]
        if not getattr(function, "_bpx_loop_first", False):
            setattr(cls, attribute, _stopping(function))
