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

:func:`page_resources` leaves BokehJS's MathJax bundle out of the pages (the live ones and the
static site's): the first formula a page typesets loads it (``static/explorer/markup.mjs``).
"""

from __future__ import annotations

import re
from pathlib import Path

from tornado.web import StaticFileHandler

STATIC = Path(__file__).resolve().parent.parent / "static"
ROUTE = r"/assets/(.*)"
# BokehJS's bundles a page loads only when it needs them, not with the page: MathJax (1.8 MB,
# ~15-20 % of a page open's CPU compiling it) is loaded by the first formula a page typesets
# (static/explorer/markup.mjs, from beside BokehJS's own script); WebGL, which no figure of
# the app asks for (``output_backend`` stays "canvas"), is never needed
LATER = ("bokeh-mathjax", "bokeh-gl")
# a page's BokehJS script (its path as the static site and the live server name it) and the
# MathJax bundle's beside it: markup.mjs finds the one from the other the same way
BOKEH_JS = re.compile(r"static/js/bokeh((?:\.min)?\.js)")


def page_resources(resources):
    """``resources`` (Bokeh's or Panel's, for one page) without the bundles of :data:`LATER`.

    Panel includes MathJax in every page that holds one of its HTML models (all of ours), and
    Bokeh WebGL in every page; the page's own formulas are typeset in the browser
    (``static/explorer/caption.mjs``), so Python never sees one to decide by.

    >>> from bokeh.resources import Resources
    >>> page_resources(Resources(mode="server", root_url="")).components
    ['bokeh', 'bokeh-widgets', 'bokeh-tables']
    """
    resources.components = [c for c in resources.components if c not in LATER]
    return resources


def later_files(urls) -> set[str]:
    """The MathJax bundle beside each BokehJS script of ``urls`` (a static site's files: the
    pages name BokehJS, and the first formula a page typesets loads MathJax from beside it).

    >>> sorted(later_files({"static/js/bokeh.min.js", "static/js/bokeh-widgets.min.js"}))
    ['static/js/bokeh-mathjax.min.js']
    """
    return {BOKEH_JS.sub(r"static/js/bokeh-mathjax\1", url) for url in urls if BOKEH_JS.fullmatch(url)}


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
