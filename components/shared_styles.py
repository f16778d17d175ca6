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
"""

from __future__ import annotations

from typing import Callable

from bokeh.models import InlineStyleSheet

# panel.reactive's names for the functions that make the per-component texts
_WRAPPED = ("process_raw_css", "loading_css")
_ORIGINAL: dict[str, Callable] = {}


def install() -> None:
    """Make Panel refer every component to its document's shared style models (idempotent)."""
    import panel.reactive as reactive

    if _ORIGINAL:
        return
    for name in _WRAPPED:
        _ORIGINAL[name] = original = getattr(reactive, name)
        setattr(reactive, name, _sharing(original))


def uninstall() -> None:
    """Undo :func:`install` (tests compare both ways)."""
    import panel.reactive as reactive

    for name in _WRAPPED:
        if name in _ORIGINAL:
            setattr(reactive, name, _ORIGINAL.pop(name))


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
