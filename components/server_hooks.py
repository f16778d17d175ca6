"""Every change this app makes to Bokeh's, Panel's and Tornado's own classes, in one list.

The app is started as plain ``panel serve app.py`` (a teacher types no flags), so what a
server would otherwise get from its configuration is installed from inside the app, by
replacing methods of library classes once per process. Each replacement lives with the
behaviour it serves; this module is the one place that installs them, and :data:`PATCHES`
is the one list of what is replaced and why. ``tests/test_server_hooks.py`` checks that the
list is complete: after :func:`install`, exactly these attributes of these classes differ
from the library's own.

When upgrading Bokeh or Panel, read this list first: each entry names a private method.
"""

from __future__ import annotations

from typing import NamedTuple

from .builds import PATCH_CURDOC_USERS
from .loop_first import CHECKPOINTS


class Patch(NamedTuple):
    """One replaced attribute: ``owner`` (``module:Class`` or a module) and ``attribute``."""

    owner: str
    attribute: str
    module: str
    why: str


_WS = "bokeh.server.views.ws:WSHandler"
_DOC = "panel.io.server:DocHandler"
_APP = "panel.io.application:Application"

PATCHES: tuple[Patch, ...] = (
    # process-wide, also in a notebook: what depends only on a class is looked up once
    Patch("bokeh.core.property.descriptors:PropertyDescriptor", "_get_default",
          "components.bokeh_defaults", "stable defaults remembered per (class, property)"),
    Patch("bokeh.core.property.descriptors:PropertyDescriptor", "has_unstable_default",
          "components.bokeh_defaults", "a question about the class, answered once"),
    Patch("bokeh.core.has_props:HasProps", "_overridden_defaults",
          "components.bokeh_defaults", "the class's overridden defaults, merged once"),
    Patch("bokeh.core.has_props:HasProps", "themed_values",
          "components.bokeh_defaults", "no failing __getattr__ lookup on every read"),
    Patch("panel.reactive", "process_raw_css",
          "components.shared_styles", "the app's styles: one shared model per document"),
    Patch("panel.reactive", "loading_css",
          "components.shared_styles", "the spinner's styles: one shared model per document"),
    Patch("panel.viewable", "patch_inline_stylesheets", "components.shared_styles",
          "a notebook's inlined styles: one pass per document, one shared model per file"),
    *(Patch(module, "patch_curdoc", "components.builds",
            "the current document popped also when the callback raises (Bokeh pops on return)")
      for module in PATCH_CURDOC_USERS),
    # the server only (a session with a server context)
    Patch(_WS, "open", "components.release, components.guard, components.assets",
          "TCP_NODELAY on every websocket; opens metered per address with a handshake deadline;"
          " /assets added to the application"),
    Patch(_WS, "max_message_size", "components.guard", "64 kB per message (4 MB to reconnect)"),
    Patch(_WS, "on_message", "components.guard", "oversized and malformed messages refused"),
    Patch(_WS, "_internal_error", "components.guard", "closed quietly: no traceback to clients"),
    Patch(_WS, "_protocol_error", "components.guard", "closed quietly: no traceback to clients"),
    Patch(_WS, "on_close", "components.guard",
          "the session of a connection the guard closed discarded at once"),
    Patch(_WS, "_bpx_guarded", "components.guard", "marker: installed once"),
    Patch(_WS, "_bpx_nodelay", "components.release", "marker: installed once"),
    Patch("bokeh.server.protocol_handler:ProtocolHandler", "handle", "components.guard",
          "a handler's exception answered with 'message refused' and one bounded log line"),
    Patch(_DOC, "get", "components.guard, components.first_page, components.builds",
          "page opens metered per address; a static site's page answered from a cache; a live"
          " page's HTML rendered in a thread of its own, off the event loop (Panel's get,"
          " reimplemented: builds.page_get)"),
    Patch(_DOC, "prepare", "components.assets", "/assets added to the application"),
    Patch(_APP, "on_session_created", "components.builds",
          "a new session's document built in the page-building thread, off the event loop"),
    Patch(_APP, "initialize_document", "components.builds",
          "a document built ahead handed back to the event loop's thread"),
    Patch(_APP, "_bpx_builds", "components.builds", "marker: installed once"),
    Patch("panel.io.document", "_garbage_collect", "components.heap",
          "closed sessions collected when the server is idle, not while students wait"),
    Patch("panel.reactive:Syncable", "_server_event", "components.events",
          "an event that waits for a property change handled under the document lock"),
    Patch("panel.io.server", "patch_model_css", "components.builds",
          "a page's stylesheet URLs rewritten in one pass over its document's index of models,"
          " not a walk of every model per root (a third of a page render)"),
    Patch("bokeh.server.session:ServerSession", "_handle_pull", "components.builds",
          "a new page's document JSON (PULL-DOC-REPLY) made in the page-rendering thread"),
    *(Patch(owner, attribute, "components.loop_first",
            "a checkpoint: page threads wait here while the event loop has work")
      for owner, attribute in CHECKPOINTS),
    Patch("bokeh.io.doc", "_PATCHED_CURDOCS", "components.builds",
          "Bokeh's current-document stack, one per thread (the build's is not the loop's)"),
)


def install(server: bool) -> None:
    """Install every patch of :data:`PATCHES` (idempotent); ``server``: also the server's own
    (websocket and page handlers), which a notebook does not have.

    Examples
    --------
    >>> from components import server_hooks
    >>> server_hooks.install(server=False)  # what a notebook cell gets
    >>> [p.attribute for p in server_hooks.PATCHES if p.owner.endswith(":DocHandler")]
    ['get', 'prepare']
    """
    from . import bokeh_defaults, builds, shared_styles

    bokeh_defaults.install()
    shared_styles.install()
    builds.pop_curdoc_on_error()
    if server:
        server_settings()
        from . import assets, events, guard
        from .release import send_without_delay

        send_without_delay()
        guard.install()
        assets.install()
        events.install()
        builds.install()
        from .first_page import start
        start()  # the static-first pages' builder process (components/first_page.py)


def server_settings() -> None:
    """Bokeh's own settings for a server of this app (settings, not patches).

    ``perform_error_diagnostics`` off (``BOKEH_PERFORM_ERROR_DIAGNOSTICS``): Bokeh checks the
    signature of every callback given to ``on_change`` (~300 per page: Panel links each
    synced property of each model) and suggests close names in the error for an unknown
    attribute; both help a developer at a prompt, and cost each page open about a tenth of
    its CPU.

    ``perform_document_validation`` off (``BOKEH_VALIDATE_DOC``): Bokeh checks every model of
    each new session's document against its integrity rules (``Document.validate``: 60-70 ms
    of a live page open's ~600 in the page-building thread) and logs what it finds. A page's
    models are the same for every session that opens it: ``tests/test_page_open.py`` checks
    the pages once instead.
    """
    from bokeh.settings import settings
    settings.perform_error_diagnostics.set_value(False)
    settings.perform_document_validation.set_value(False)
