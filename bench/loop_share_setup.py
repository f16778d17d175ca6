"""``panel serve app.py --setup bench/loop_share_setup.py``: components/lifecycle.py's hooks
(session log, ``BPX_LOOP_STALLS``) and a meter of who has the interpreter while the event
loop works (bench/bench_live_open.py reads it).

The loop's selector is wrapped: a loop turn is from ``select`` returning to the next
``select``. Over the turns, the meter sums the turns' wall time, the loop thread's CPU in
them, and the CPU the page threads (components/builds.py's ``bpx-build``/``bpx-render``)
got meanwhile and outside them. CPU time, so the figures hold on a loaded machine: the page
threads' CPU inside the loop's turns is interpreter time the loop waited for. One line
``bpx-share turns_ms=... loop_cpu_ms=... pages_in_turns_ms=... pages_outside_ms=...`` (totals
so far) every second.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import panel as pn

from components import lifecycle

_meter: list = []


class Meter:
    def __init__(self, loop):
        self.inner = loop._selector
        self.loop_tid = threading.get_ident()
        self.totals = {"turns_ms": 0.0, "loop_cpu_ms": 0.0, "pages_in_turns_ms": 0.0,
                       "pages_outside_ms": 0.0}
        self.mark = self._now()
        loop._selector = self
        loop.call_later(1.0, self._report, loop)

    @staticmethod
    def _pages() -> float:
        total = 0.0
        for t in threading.enumerate():
            if t.name.startswith(("bpx-build", "bpx-render")) and t.ident is not None:
                try:
                    total += time.clock_gettime(time.pthread_getcpuclockid(t.ident))
                except OSError:
                    pass
        return total

    def _now(self) -> tuple[float, float, float]:
        return time.perf_counter(), time.thread_time(), self._pages()

    def select(self, timeout=None):
        start = self._now()  # a turn ends
        wall, cpu, pages = (a - b for a, b in zip(start, self.mark))
        self.totals["turns_ms"] += wall * 1000
        self.totals["loop_cpu_ms"] += cpu * 1000
        self.totals["pages_in_turns_ms"] += pages * 1000
        try:
            return self.inner.select(timeout)
        finally:
            self.mark = self._now()  # the next begins
            self.totals["pages_outside_ms"] += (self.mark[2] - start[2]) * 1000

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def _report(self, loop) -> None:
        lifecycle.log.info("bpx-share " + " ".join(f"{k}={v:.0f}" for k, v in self.totals.items()))
        loop.call_later(1.0, self._report, loop)


def _start(session_context) -> None:
    if not _meter:
        import asyncio
        _meter.append(Meter(asyncio.get_running_loop()))


def install() -> None:
    lifecycle.install()
    pn.state.on_session_created(_start)


if __name__ != "loop_share_setup":  # run by panel serve --setup: the imported module's hooks
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import loop_share_setup
    loop_share_setup.install()
