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

Each page request's HTML is rendered off the loop too, in a thread of its own
(:func:`page_get`, Panel's ``DocHandler.get`` reimplemented around it), and so is the
document's JSON a new page pulls (:func:`_pull_in_thread`). Both threads give the
interpreter to the event loop whenever it has work (:mod:`components.loop_first`).

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

from . import heap, loop_first

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
    from bokeh.server.session import ServerSession, _needs_document_lock
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
    ServerSession._handle_pull = _needs_document_lock(_pull_in_thread)
    _css_patched_once()
    sys.setswitchinterval(SWITCH_SECONDS)
    heap.install()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop runs here (a test installing the hooks): checkpoints only
        loop = None
    loop_first.install(loop)


def _builder(kind: str = "build") -> ThreadPoolExecutor:
    """The process's one page-building thread (``kind`` "build"), or its one page-rendering
    thread ("render"), made on first use."""
    import panel as pn

    pool = pn.state.cache.get(f"bpx_{kind}s")
    if pool is None:
        pool = pn.state.cache[f"bpx_{kind}s"] = ThreadPoolExecutor(
            1, thread_name_prefix=f"bpx-{kind}", initializer=loop_first.join)
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


def _pull_in_thread(self, message, connection):
    """Bokeh's ``ServerSession._handle_pull`` (installed under Bokeh's document lock, as
    Bokeh's own) with the document's JSON (the ``PULL-DOC-REPLY`` a new page asks for: 40-80
    ms of CPU, the longest turn a live page open gave the loop) made in the page-rendering
    thread."""
    return asyncio.get_running_loop().run_in_executor(
        _builder("render"), connection.protocol.create, "PULL-DOC-REPLY",
        message.header["msgid"], self.document)


# --- the page's HTML ------------------------------------------------------------------------
def _authenticated(get):
    """Tornado's ``authenticated``, as Panel's ``DocHandler.get`` is decorated."""
    from tornado.web import authenticated

    return authenticated(get)


@_authenticated
async def page_get(self, *args, **kwargs):
    """Panel's ``DocHandler.get`` (Panel 1.9.x, ``panel/io/server.py``), step for step, with
    the page's HTML rendered in a thread of its own instead of on the event loop.

    Rendering a session's page (``server_html_page_for_session``: each root's stylesheets
    patched, the resources of every model bundled, the Jinja template filled) is 0.1-0.3 s
    of Python per page on a loaded server; on the loop, a flood of page requests held every
    other student's slider release that long for each page (seen with the loop watch,
    ``BPX_LOOP_STALLS=0.2``). Here it runs in a page-rendering thread of its own (not the
    page-building thread: behind a flood's queued builds, each page would wait for all of
    them - twenty pages asked at once on a loaded server all timed out), holding the session's
    document lock (nothing of that session runs on the loop meanwhile; a page not yet sent
    has no connection anyway). The rendering thread runs beside the building thread as the
    loop did. The rest - the session made or reused, its token, authorization and
    redirects - stays on the loop as in Panel.

    When upgrading Panel, compare this with its ``DocHandler.get`` first
    (``tests/test_page_render.py`` checks that Panel's source is still the one copied here).
    """
    from bokeh.util.token import generate_jwt_token, generate_session_id, get_token_payload
    from panel.config import config
    from panel.io.logging import LOG_SESSION_CREATED
    from panel.io.resources import Resources
    from panel.io.server import _set_request_route_context, logger
    from panel.io.session import generate_session
    from panel.io.state import set_curdoc, state

    self.set_header("Cache-Control", "no-store")
    prefix = self.application.prefix
    if prefix and self.request.path == prefix and not prefix.endswith('/'):
        query_string = self.request.query if self.request.query else ''
        redirect_url = f'{prefix}/' + (f'?{query_string}' if query_string else '')
        self.redirect(redirect_url)
        return
    _set_request_route_context(self, *args, **kwargs)

    # Run global authorization callback
    payload = self._generate_token_payload()
    if config.authorize_callback:
        temp_session = generate_session(
            self.application, self.request, payload, initialize=False
        )
        with set_curdoc(temp_session.document):
            authorized, auth_error = self._authorize()
        if authorized is None:
            return
        elif not authorized:
            self.set_status(403)
            page = self._render_auth_error(auth_error)
            self.set_header("Content-Type", 'text/html')
            self.write(page)
            return

    app = self.application
    key_func = state._session_key_funcs.get(self.request.path, lambda r: r.path)
    old_request = key_func(self.request) in state._sessions
    session = await self.get_session()
    if old_request and state._sessions.get(key_func(self.request)) is session:
        session_id = generate_session_id(
            secret_key=self.application.secret_key,
            signed=self.application.sign_sessions
        )
        extra_payload = get_token_payload(session.token)
        extra_payload.update(payload)
        del extra_payload['session_expiry']
        token = generate_jwt_token(
            session_id,
            secret_key=app.secret_key,
            signed=app.sign_sessions,
            expiration=app.session_token_expiration,
            extra_payload=extra_payload
        )
        if config.reuse_sessions == 'warm':
            from functools import partial

            state.execute(
                partial(
                    self.application_context.create_session_if_needed,
                    session_id,
                    self.request,
                    token
                )
            )
    else:
        token = session.token
    logger.info(LOG_SESSION_CREATED, id(session.document))
    with set_curdoc(session.document):
        resources = Resources.from_bokeh(self.application.resources())
        # Session authorization callback
        authorized, auth_error = self._authorize(session=True)
        if not authorized:
            if authorized is None:
                return
            page = self._render_auth_error(auth_error)
    if authorized:
        page = await render_page(session, resources, token)

    self.set_header("Content-Type", 'text/html')
    self.write(page)


async def render_page(session, resources, token) -> str:
    """``server_html_page_for_session`` for ``session``, in the page-rendering thread, under
    the session's document lock (Bokeh's ``ServerSession._lock``)."""
    async with session._lock:
        return await asyncio.get_running_loop().run_in_executor(
            _builder("render"), _render, session, resources, token)


class _WholeDocument:
    """What Panel's ``patch_model_css`` reads of a root (``document``, ``select``), for all of
    a document's roots at once: its stylesheets from the document's index of its models."""

    def __init__(self, doc):
        self.document = doc

    def select(self, selector) -> list:
        from bokeh.models import ImportedStyleSheet

        return [m for m in self.document.models if isinstance(m, ImportedStyleSheet)]


def _css_patched_once() -> None:
    """Panel's ``server_html_page_for_session`` calls ``patch_model_css`` once per root of the
    page (7 for the explorer), and each call walks every model under its root to find the
    stylesheets whose URLs it rewrites: a third of a page render's CPU. Here the first root's
    call rewrites those of the whole document, found in the document's own index of its
    models (no walk), and the other roots' calls have nothing left to do. Only in
    ``panel.io.server`` (the render of a server's page, where it is called for each root in
    turn); a document being changed (its index frozen) is walked as before."""
    import panel.io.server as server

    original = server.patch_model_css
    if getattr(original, "_bpx_once", False):
        return

    def patch_model_css(root, dist_url: str):
        doc = root.document
        if doc is None or not doc.roots or doc.models._freeze_count:
            return original(root, dist_url)
        if root is doc.roots[0]:
            original(_WholeDocument(doc), dist_url)
    patch_model_css._bpx_once = True
    server.patch_model_css = patch_model_css


def _render(session, resources, token) -> str:
    from panel.io.server import server_html_page_for_session
    from panel.io.state import set_curdoc

    from .assets import page_resources  # MathJax loaded by the first formula, not the page

    doc = session.document
    with set_curdoc(doc):
        return server_html_page_for_session(
            session, resources=page_resources(resources), title=doc.title, token=token, template=doc.template,
            template_variables=doc.template_variables,
        )
