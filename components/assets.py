"""``static/`` under ``/assets`` when the app is started as plain ``panel serve app.py``.

``panel serve --static-dirs assets=static`` does the same from the command line, but a teacher
types no flags (Panel reserves ``/static`` for its own files). The page itself does not need the
route - its styles and browser module are inlined, so a saved page works offline - it is for
people and other sites that link the styles or the page script, and for the browser tests that
import one of the page's modules on its own (``/assets/explorer/sources.mjs``). The page's
whole module is not a file (``components/bundle.py`` joins it in memory).

Bokeh builds a session's document inside its page handler, where the Tornado application is out
of reach; the page's websocket handler and every later page request hold it as
``self.application``. :func:`install` makes the first of those add the route, once per
application, so ``/assets`` is there from the moment the first page has connected.
"""

from __future__ import annotations

from pathlib import Path

from tornado.web import StaticFileHandler

STATIC = Path(__file__).resolve().parent.parent / "static"
ROUTE = r"/assets/(.*)"


def install() -> None:
    """Make the page and websocket handlers add ``/assets`` to their application (idempotent)."""
    from bokeh.server.views.ws import WSHandler
    from panel.io.server import DocHandler

    for handler, method in ((WSHandler, "open"), (DocHandler, "prepare")):
        original = getattr(handler, method)
        if getattr(original, "_bpx_assets", False):
            continue
        wrapped = _adding_route(original)
        wrapped._bpx_assets = True
        setattr(handler, method, wrapped)


def add_route(application) -> None:
    """Add ``/assets`` to one Tornado application, under its URL prefix (once)."""
    if getattr(application, "_bpx_assets", False):
        return
    application._bpx_assets = True
    prefix = getattr(application, "_prefix", "") or ""
    application.add_handlers(r".*", [(prefix + ROUTE, StaticFileHandler, {"path": str(STATIC)})])


def _adding_route(method):
    def with_route(self, *args, **kwargs):
        add_route(self.application)
        return method(self, *args, **kwargs)
    with_route.__wrapped__ = method
    return with_route
