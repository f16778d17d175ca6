"""The page's styles sent once per document, not once per component.

Panel puts the app's styles (``pn.extension(raw_css=...)``) and its loading spinner's into the
shadow root of every component, as text in each component's ``stylesheets``: the explorer's
~70 components carried 9 kB each, three quarters of its document (760 kB). BokehJS turns a
text stylesheet and an ``InlineStyleSheet`` model alike into a ``<style>`` element with that
text in each component's shadow root, so one ``InlineStyleSheet`` model per document, referred
to by every component, gives the browser the same page in a quarter of the bytes (and no
request of its own: the page keeps working offline and behind any proxy).

:func:`install` makes Panel's per-component style texts such shared models, one per text and
document (kept on the document itself). Outside a document (a notebook cell rendered without
one) Panel's texts are used as they are. ``tests/test_page_open.py`` checks that every
component's shadow root gets the same style texts as before.

In a notebook with inline resources (``PANEL_INLINE=1``, as the saved HTML of a notebook
needs), Panel replaces each component's linked stylesheets (``ImportedStyleSheet``) by their
text, as a new ``InlineStyleSheet`` per component, one assignment at a time: each assignment
recomputes the document's set of models (the whole graph, ~440 components per explorer:
about half of a notebook cell's CPU), and each explorer's output carried the same texts again
per component. :func:`install` makes that one pass per document, with the recomputation held
until it ends, and one ``InlineStyleSheet`` per file and document, shared as above.
"""

from __future__ import annotations

from typing import Callable

import importlib

from bokeh.models import ImportedStyleSheet, InlineStyleSheet

# Panel's functions replaced: (module, name) -> what wraps the original. panel.reactive's make
# the per-component texts; panel.viewable's inlines the linked stylesheets in a notebook.
_WRAPPED = {("panel.reactive", "process_raw_css"): lambda original: _sharing(original),
            ("panel.reactive", "loading_css"): lambda original: _sharing(original),
            ("panel.viewable", "patch_inline_stylesheets"): lambda original: _inlining_once(original)}
_ORIGINAL: dict[tuple[str, str], Callable] = {}


def install() -> None:
    """Make Panel refer every component to its document's shared style models (idempotent)."""
    if _ORIGINAL:
        return
    for (module, name), wrap in _WRAPPED.items():
        owner = importlib.import_module(module)
        _ORIGINAL[module, name] = original = getattr(owner, name)
        setattr(owner, name, wrap(original))


def uninstall() -> None:
    """Undo :func:`install` (tests compare both ways)."""
    for module, name in list(_ORIGINAL):
        setattr(importlib.import_module(module), name, _ORIGINAL.pop((module, name)))


def shared(css: str):
    """The current document's ``InlineStyleSheet`` of ``css`` (``css`` itself without one)."""
    from panel.io.state import state

    doc = state.curdoc
    if doc is None:
        return css
    sheets = doc.__dict__.setdefault("_bpx_stylesheets", {})
    sheet = sheets.get(css)
    if sheet is None:
        sheet = sheets[css] = InlineStyleSheet(css=css)
    return sheet


def _sharing(original: Callable) -> Callable:
    def wrapped(*args, **kwargs):
        made = original(*args, **kwargs)
        if isinstance(made, str):
            return shared(made)
        return [shared(css) for css in made]
    wrapped.__wrapped__ = original
    return wrapped


def _inlining_once(original: Callable) -> Callable:
    """Panel's ``patch_inline_stylesheets(model)``: on the first call for a document, every
    component of it, with the document's recomputation held until the last (then the call for
    each of them finds nothing left to do); each file's text one shared model per document."""
    from bokeh.models import UIElement

    def patch_inline_stylesheets(model) -> None:
        doc = model.document
        if doc is None:
            return original(model)
        if not doc.__dict__.get("_bpx_inlined"):
            doc.__dict__["_bpx_inlined"] = True
            with doc.models.freeze():
                for component in list(doc.models):
                    if isinstance(component, UIElement):
                        _inline(component, doc)
        _inline(model, doc)  # a component added since (Panel calls this on a re-render too)
    patch_inline_stylesheets.__wrapped__ = original
    return patch_inline_stylesheets


def _inline(model, doc) -> None:
    from panel.io.notebook import replace_inline_css

    sheets = doc.__dict__.setdefault("_bpx_inline_sheets", {})
    stylesheets = []
    for sheet in model.stylesheets:
        if isinstance(sheet, ImportedStyleSheet):
            if sheet.url not in sheets:  # None: a file Panel leaves linked (not its own)
                inlined = replace_inline_css(sheet)
                sheets[sheet.url] = None if inlined is sheet else inlined
            sheet = sheets[sheet.url] or sheet
        stylesheets.append(sheet)
    if any(a is not b for a, b in zip(stylesheets, model.stylesheets)):
        model.stylesheets = stylesheets
