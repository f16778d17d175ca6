"""What one session's derivations may cost: heavy ones off the event loop, the latest only,
within a fair share of the server's CPU.

The event loop serves every student of a server process; a derivation of the 11,586-node MLP
takes ~0.5 s of it. So, in a server session:

- a derivation whose graph is estimated (before building, ``node_count()``) above
  ``HEAVY_NODES`` nodes runs in a worker thread; its result is applied on the session's
  document on a later tick (``Document.add_next_tick_callback``, the thread-safe way in);
  smaller ones, a few milliseconds, run at once as before;
- a session has at most one derivation running; requests that arrive meanwhile merge into one,
  made from the model's state when the running one ends (the latest expression and values);
- each session has a CPU budget (:class:`FairShare`: a burst of ``BURST_SECONDS``, refilled at
  ``SHARE`` of one core): a session over it waits before its next derivation. Its own page
  keeps answering sliders by itself; the other students do not wait for it.

Outside a server session (tests, scripts, "Save as HTML") derivations run at once.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import panel as pn

from . import heap, loop_first

log = logging.getLogger("backprop_explorer.budget")

# estimated nodes above which a derivation leaves the event loop (~10 ms of work)
HEAVY_NODES = int(os.environ.get("BPX_HEAVY_NODES", 400))
# CPU seconds a session may use at once (the biggest example, then a few releases) ...
BURST_SECONDS = float(os.environ.get("BPX_BURST_SECONDS", 3.0))
# ... then this fraction of one core over time (1 s in 10 s)
SHARE = float(os.environ.get("BPX_CPU_SHARE", 0.1))
WORKERS = 2  # threads for heavy derivations, shared by the sessions of a process


class FairShare:
    """A session's CPU budget: a token bucket of seconds.

    >>> share = FairShare(burst=1.0, share=0.1, now=0.0)
    >>> share.wait(now=0.0)
    0.0
    >>> share.charge(1.5, now=0.0)
    >>> share.wait(now=0.0), share.wait(now=5.0)
    (5.0, 0.0)
    """

    def __init__(self, burst: float = BURST_SECONDS, share: float = SHARE,
                 now: float | None = None):
        self.burst, self.share = burst, share
        self.tokens, self.at = burst, time.monotonic() if now is None else now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.share)
        self.at = now

    def charge(self, seconds: float, now: float | None = None) -> None:
        """Count ``seconds`` of CPU spent for this session."""
        self._refill(time.monotonic() if now is None else now)
        self.tokens -= seconds

    def wait(self, now: float | None = None) -> float:
        """Seconds until the budget is positive again (0 when it is)."""
        self._refill(time.monotonic() if now is None else now)
        return 0.0 if self.tokens >= 0 else -self.tokens / self.share


class Deriver:
    """Runs one model's derivations: ``prepare()`` takes the model's state on the current tick
    and returns ``job``; ``job()`` computes (maybe in a worker thread); ``apply(job())`` shows
    the result where Bokeh models may change (this tick, or a next-tick callback of the
    session's document). ``estimate()`` gives the graph's size before anything is built;
    ``at_once`` makes every derivation run at once (while the page is being built).
    """

    def __init__(self, prepare, apply, estimate, at_once: bool = False):
        self.prepare, self.apply, self.estimate = prepare, apply, estimate
        self.at_once = at_once
        self.share = FairShare()
        self._running = False
        self._again = False
        self._waiting = False

    def request(self) -> None:
        """Derive now, or as soon as this session's running derivation and budget allow."""
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None or self.at_once:
            self._inline()
            return
        heap.touch()
        if self._running or self._waiting:
            self._again = True
            return
        wait = self.share.wait()
        if wait > 0:
            self._waiting = True
            doc.add_timeout_callback(self._after_wait, round(1000 * wait))
            return
        if self.estimate() <= HEAVY_NODES:
            self._inline()
            return
        self._running = True
        _pool().submit(self._work, self.prepare()).add_done_callback(lambda f: self._done(doc, f))

    def _inline(self) -> None:
        start = time.thread_time()
        try:
            self._apply(self.prepare()())
        finally:
            self.share.charge(time.thread_time() - start)

    def _apply(self, result) -> None:
        """``apply(result)`` with the walks of the document's models deferred
        (:func:`walks_deferred`)."""
        with walks_deferred(pn.state.curdoc):
            self.apply(result)

    def _after_wait(self) -> None:
        self._waiting = False
        self._again = False
        self.request()

    def _work(self, job):
        start = time.thread_time()
        try:
            return job()
        finally:
            heap.settle()  # the result leaves the collector's passes (components/heap.py)
            self.share.charge(time.thread_time() - start)

    def _done(self, doc, future) -> None:
        def finish() -> None:
            try:
                error = future.exception()
                if error is None:
                    self._apply(future.result())
                else:
                    log.error("derivation failed: %s", _describe(error))
            finally:
                self._running = False
                if self._again:
                    self._again = False
                    self.request()
        if not _on_next_tick(doc, finish):  # the session is gone: nothing to show it on
            self._running = False


def own_tick(step) -> None:
    """Run ``step()`` on a turn of the event loop of its own, in the current session: its
    document current and locked, the walks of its models deferred (:func:`walks_deferred`).

    A costly part of one change - a view's widgets and figures made the first time a network
    is shown, ~50-200 ms of CPU each - would otherwise run in the same turn as the rest of
    the change (the derivation's result applied, ~300 ms for the first MLP of a page): the
    other students' releases wait for the whole turn, with the document lock held. In turns
    of their own, what arrived meanwhile runs between them. Outside a server session
    (tests, scripts, "Save as HTML", a page being built) ``step()`` runs at once.
    """
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None or _building(doc):
        step()
    else:
        _on_next_tick(doc, step)


def own_ticks(*steps) -> None:
    """Each of ``steps`` on a turn of the loop of its own (:func:`own_tick`), in order."""
    def first() -> None:
        steps[0]()
        if len(steps) > 1:
            own_ticks(*steps[1:])
    own_tick(first)


class FirstShown:
    """A view's parts made the first time it has something to show, each on a turn of the loop
    of its own (:func:`own_ticks`), once: asked again while they are pending, nothing more is
    scheduled; after the last part, ``then()`` (the view's update, its parts now made).

    >>> made = []
    >>> first = FirstShown(lambda: made.append("figures"), lambda: made.append("head"),
    ...                    then=lambda: made.append("update"))
    >>> first.ask(); made  # outside a server session: at once
    ['figures', 'head', 'update']
    """

    def __init__(self, *steps, then):
        self.steps, self.then = steps, then
        self.pending = False

    def ask(self) -> None:
        if not self.pending:
            self.pending = True
            own_ticks(*self.steps, self._done)

    def _done(self) -> None:
        self.pending = False
        self.then()


def _building(doc) -> bool:
    """Whether ``doc`` is a page being built (its session not yet handed to the loop): its
    parts are made with it, as outside a server."""
    return not doc.roots


def _on_next_tick(doc, step) -> bool:
    """``step()`` on the next tick of ``doc``'s session (False: the session is gone)."""
    def run() -> None:
        from panel.io.state import set_curdoc

        with set_curdoc(doc), walks_deferred(doc):
            step()
    try:
        doc.add_next_tick_callback(run)
    except Exception:
        return False
    return True


@contextmanager
def walks_deferred(doc):
    """Walk the models of ``doc`` (None: no document) at most once, at the end, and only if
    the block changed which models the document holds.

    Each view's change of a property holding models (an HTML pane's styles, a row's
    children) makes Bokeh walk every model of the document again (``invalidate``; Panel's
    ``freeze_doc`` walks at its end), several times per derivation. Bokeh's own
    ``doc.models.freeze()`` defers them, but walks once at its end whatever happened: a
    slider release, which only writes numbers, would pay a walk of the whole page (~200
    models) for nothing. So the block runs frozen (Bokeh's freeze count, as Panel's
    ``freeze_doc`` uses it), and the one walk at the end is made only if a change of the
    model graph asked for one.

    >>> from bokeh.document import Document
    >>> from bokeh.models import Column, Div
    >>> doc = Document(); row = Column(); doc.add_root(row)
    >>> with walks_deferred(doc):
    ...     row.children = [Div(text="a")]
    ...     len(doc.models)  # deferred: the new Div is not counted yet
    1
    >>> len(doc.models)
    2
    """
    models = None if doc is None else doc.models
    if models is None or "invalidate" in vars(models):  # no document, or deferred already
        yield
        return
    invalidated = []
    models.invalidate = lambda: invalidated.append(True)  # this instance's, for the block
    roots = doc.roots  # a root added or removed walks at the end too (Bokeh calls no
    models._push_freeze()  # invalidate for it)
    try:
        yield
    finally:
        del models.invalidate
        if invalidated or doc.roots != roots:
            models._pop_freeze()  # walks now, or when an enclosing freeze ends
        else:
            models._freeze_count -= 1  # nothing to walk for


def _describe(error: BaseException) -> str:
    from .guard import describe
    return describe(error)


def _pool() -> ThreadPoolExecutor:
    """The process's worker threads for heavy derivations (made on first use)."""
    pool = pn.state.cache.get("bpx_derivations")
    if pool is None:
        # its threads give the event loop way as the page threads do (components/loop_first.py)
        pool = pn.state.cache["bpx_derivations"] = ThreadPoolExecutor(
            WORKERS, thread_name_prefix="bpx-derive", initializer=loop_first.join)
    return pool
