"""The release path, server side: how a slider release becomes a new scene, and no faster.

A drag stays in the page (the page replays the tape itself); only releases travel. Four
pieces pace them, two in the page and two here::

    page (static/explorer/release.mjs)            server (this module)
    ---------------------------                   ----------------------------------------
    slider drag -> tape replay, drawn at once
    release -> quiet(slider): value stays local
            -> Releases: one release in flight,
               the next when a scene answers
               (or after 1 s), >= 80 ms apart
                          |
                          | websocket (TCP_NODELAY: send_without_delay)
                          v
                                                  ReleaseSlider: finite, clamped value_throttled;
                                                      bounds and step not client-writable;
                                                      handled on the next tick (no 50 ms wait)
                                                  VariableSliders._released: value kept, no echo
                                                  Throttle(RELEASE_WINDOW_MS): releases within
                                                      the window after a derivation merge
                                                  ExplorerModel.set_values -> derivation
                                                      (heavy ones off the event loop,
                                                      components/budget.py)
                                                  GraphView: new scene -> page
                          |
                          v
    a new scene -> Releases.answered(): the next release leaves

Each limit alone would let a flood through somewhere: the page's pacing keeps an honest page
from queueing work, the server's window merges whatever arrives anyway, and the clamp keeps a
hand-written client's values inside what the slider can show.
"""

from __future__ import annotations

import math
import time

import panel as pn

RELEASE_WINDOW_MS = 40  # slider releases within this window of the last one cost one re-derivation


class Throttle:
    """Call ``fn`` on the next tick, but at most once per ``interval_ms``.

    Calls that come while a call is scheduled merge into it; a call within ``interval_ms``
    after the last run waits for the end of that interval. Outside a server session ``fn``
    runs at once.
    """

    def __init__(self, fn, interval_ms: float):
        self.fn = fn
        self.interval = interval_ms / 1000
        self._scheduled = False
        self._ran_at = float("-inf")  # time.monotonic() at the end of the last run

    def __call__(self) -> None:
        if self._scheduled:
            return
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:
            self._run()
            return
        self._scheduled = True
        wait = self._ran_at + self.interval - time.monotonic()
        doc.add_timeout_callback(self._run, round(1000 * max(0.0, wait)))

    def _run(self) -> None:
        self._scheduled = False
        try:
            self.fn()
        finally:
            self._ran_at = time.monotonic()


VARIABLE_TAG = "bpx-variable:"  # static/explorer/bokeh.mjs reads it


def variable_tags(name: str) -> list[str]:
    """The Bokeh ``tags`` of a slider that sets the graph's variable ``name``.

    The page's replay adopts the sliders tagged so (static/explorer/bokeh.mjs), whatever
    their titles say.

    >>> variable_tags("w")
    ['bpx-variable:w']
    """
    return [VARIABLE_TAG + name]


class ReleaseSlider(pn.widgets.FloatSlider):
    """A FloatSlider whose releases (``value_throttled``) are handled on the next tick.

    Panel otherwise waits 50 ms (``Reactive._debounce``) before it handles a browser change;
    :class:`~components.controls.VariableSliders` batches releases itself, so the wait only
    added latency. A release does not count as "busy" either: that bookkeeping (a
    process-wide flag, shown by no spinner on these pages) was most of Panel's cost of
    taking a release in.

    From the browser only the value is taken, and only as a finite number inside the
    slider's range: a client that writes NaN, 1e308 or a new ``end`` changes nothing else.
    """

    _priority_changes = ("value_throttled",)
    _busy__ignore = ("value", "value_throttled")

    def _process_property_change(self, msg: dict) -> dict:
        msg = super()._process_property_change(msg)
        taken = {}
        for key in ("value", "value_throttled"):
            if key in msg:
                value = clamp(msg[key], self.start, self.end)
                if value is not None:
                    taken[key] = value
        return taken


def clamp(value, lo: float, hi: float) -> float | None:
    """``value`` as a float inside ``[lo, hi]``; None when it is no finite number.

    >>> clamp(5, -3, 3), clamp(float("nan"), -3, 3), clamp("1", -3, 3)
    (3.0, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:  # an int beyond float range
        return None
    if not math.isfinite(value):
        return None
    return min(max(value, float(lo)), float(hi))


def send_without_delay() -> None:
    """Make every websocket Bokeh's server opens from now on set TCP_NODELAY (once per process).

    Tornado leaves Nagle's algorithm on for websockets, so a short message written while an
    earlier one is still unacknowledged waits for the acknowledgement (~40 ms on Linux with
    delayed ACKs). A slider release and its reply are exactly such short messages.
    """
    from bokeh.server.views.ws import WSHandler

    if getattr(WSHandler, "_bpx_nodelay", False):
        return
    opened = WSHandler.open

    def open(self, *args, **kwargs):
        self.set_nodelay(True)
        return opened(self, *args, **kwargs)

    WSHandler._bpx_nodelay = True
    WSHandler.open = open
