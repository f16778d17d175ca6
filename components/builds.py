"""Pages built off the event loop: a new session's document is built in a worker thread.

A page build is hundreds of milliseconds of Python (Panel and Bokeh models; a link's first
derivation too: ``?expr=mlp(2, 60, 60, 1)`` traces 11,586 nodes). On the event loop it would
hold every other student's slider release for that long, and a flood of page opens - or of
links to the biggest example - for a build each. So, on a server:

- the application builds each new session's document in one worker thread (``BUILDER``),
  one page after another as before, while the event loop goes on serving the other sessions:
  the interpreter is handed between the two threads every few milliseconds
  (``sys.getswitchinterval``), so a release waits milliseconds, not a build;
- the build starts from Panel's ``on_session_created`` hook, the one awaited step Bokeh takes
  before ``initialize_document``, for sessions made by a page request and by a websocket
  alike; ``initialize_document`` then finds the document built and gives it back to the
  event loop's thread (Panel dispatches a document's events at once only on its own thread);
- the interpreter is handed over every ``SWITCH_SECONDS`` (1 ms, not Python's 5 ms): each
  socket read or write of the loop lets a busy thread take the interpreter, and the loop waits
  that long to get it back - a release is a dozen of them;
- the collector's full passes, which stop every thread, walk only what was made since the
  last build (:mod:`components.heap`: the start-up heap and each built page are frozen out
  of them; closed sessions are collected when the server is idle);
- Bokeh's ``curdoc()`` stack (``bokeh.io.doc._PATCHED_CURDOCS``, one list for the process)
  becomes one stack per thread (:class:`ThreadStack`): code on the event loop must never see
  the document being built in the other thread as its current one, and the reverse; and
  ``patch_curdoc`` pops its document also when the block raises (:func:`patch_curdoc`).

The first session of a process is built on the loop (it installs this). Outside a server
(tests, notebooks, ``build-site``) nothing changes.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from . import heap

log = logging.getLogger("backprop_explorer.builds")

SWITCH_SECONDS = 0.001  # the interpreter's switch interval on a server (sys.setswitchinterval)


class ThreadStack(threading.local):
    """A list that each thread sees on its own: Bokeh's stack of patched current documents.

    >>> stack = ThreadStack()
    >>> stack.append("a"); len(stack), stack[-1]
    (1, 'a')
    >>> seen = []
    >>> t = threading.Thread(target=lambda: seen.append(len(stack))); t.start(); t.join()
    >>> seen, stack.pop(), bool(stack)
    ([0], 'a', False)
    """

    def __init__(self):
        self.items = []  # run in each thread on its first use (threading.local)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]

    def append(self, item) -> None:
        self.items.append(item)

    def pop(self):
        return self.items.pop()

    def clear(self) -> None:
        self.items.clear()


@contextmanager
def patch_curdoc(doc):
    """Bokeh's ``bokeh.io.doc.patch_curdoc``, with its pop in a ``finally``.

    Bokeh runs every session callback inside ``patch_curdoc``; its own version pops only when
    the block returns, so a callback that raised left its session's document current for good:
    later code on that thread (``file_html`` in a student's "Save as HTML", Panel's
    ``state.curdoc`` outside a callback) got another session's document, or a destroyed one.

    >>> from bokeh.document import Document
    >>> from bokeh.io import doc as bokeh_doc
    >>> doc, depth = Document(), len(bokeh_doc._PATCHED_CURDOCS)
    >>> try:
    ...     with patch_curdoc(doc):
    ...         raise ValueError("a failing callback")
    ... except ValueError:
    ...     pass
    >>> len(bokeh_doc._PATCHED_CURDOCS) == depth
    True
    """
    from bokeh.io import doc as bokeh_doc

    stack = bokeh_doc._PATCHED_CURDOCS
    stack.append(weakref.ref(doc))
    del doc  # a weak reference only, as Bokeh's
    try:
        yield
    finally:
        stack.pop()


# the modules that call (or bound at import) Bokeh's patch_curdoc
PATCH_CURDOC_USERS = ("bokeh.io.doc", "bokeh.application.handlers.code", "panel.io.handlers")


def pop_curdoc_on_error() -> None:
    """Make Bokeh's ``patch_curdoc`` :func:`patch_curdoc`, in this process (idempotent; also
    in a notebook's kernel: its callbacks run inside it too)."""
    for name in PATCH_CURDOC_USERS:
        importlib.import_module(name).patch_curdoc = patch_curdoc


def install() -> None:
    """Build new sessions' documents in the worker thread, in this process (idempotent)."""
    from bokeh.io import doc as bokeh_doc
    from panel.io.application import Application

    if getattr(Application, "_bpx_builds", False):
        return
    Application._bpx_builds = True
    stack = ThreadStack()
    for patched in bokeh_doc._PATCHED_CURDOCS:  # so far the installing thread's (its build)
        stack.append(patched)
    bokeh_doc._PATCHED_CURDOCS = stack
    Application.on_session_created = _building_after(Application.on_session_created,
                                                     Application.initialize_document)
    Application.initialize_document = _built(Application.initialize_document)
    sys.setswitchinterval(SWITCH_SECONDS)
    heap.install()


def _builder() -> ThreadPoolExecutor:
    """The process's one page-building thread (made on first use)."""
    import panel as pn

    pool = pn.state.cache.get("bpx_builds")
    if pool is None:
        pool = pn.state.cache["bpx_builds"] = ThreadPoolExecutor(1, thread_name_prefix="bpx-build")
    return pool


def _building_after(created, initialize):
    async def on_session_created(self, session_context) -> None:
        await created(self, session_context)  # Panel's hooks, on the loop as before
        doc = session_context._document
        try:
            await in_builder(initialize, self, doc)
        except Exception as e:  # raised again where Bokeh expects the build to fail
            doc._bpx_built = e
        else:
            doc._bpx_built = True
    return on_session_created


async def in_builder(work, *args):
    """``work(*args)``'s result, run in the page-building thread as a page build is: counted
    as a build for the collector (:func:`components.heap.activity`), what it leaves alive
    frozen out of the collector's passes after it (:func:`components.heap.settle`). On a server."""
    activity = heap.activity()
    activity.building(+1)
    try:
        return await asyncio.get_running_loop().run_in_executor(_builder(), _build, work, *args)
    finally:
        activity.building(-1)


def _build(work, *args):
    """``work(*args)`` (in the page-building thread), then freeze what is alive out of the
    collector's passes (:func:`components.heap.settle`)."""
    try:
        return work(*args)
    finally:
        heap.settle()


def _built(initialize):
    def initialize_document(self, doc) -> None:
        built = doc.__dict__.pop("_bpx_built", None)
        if built is None:  # not built ahead (the first session, or not on a server)
            initialize(self, doc)
            return
        from panel.io.state import state

        state._thread_id_[doc] = threading.get_ident()  # the document's thread: the loop's
        if built is not True:
            raise built
    return initialize_document
