"""Opening a page: what is shared between sessions stays equal to what a session would build."""

from __future__ import annotations

import re
import unittest.mock as mock

import pytest
from bokeh.core.json_encoder import serialize_json
from bokeh.core.validation.check import check_integrity
from bokeh.core.validation.warnings import EMPTY_LAYOUT
from bokeh.document import Document
from panel.io.state import set_curdoc

from components import bokeh_defaults, explorer, navigation


def page_document(args: dict) -> Document:
    """The document a session opened with these query arguments gets."""
    doc = Document()
    with set_curdoc(doc), mock.patch.object(navigation, "query_args", return_value=args), \
            mock.patch.object(explorer, "query_args", return_value=args):
        with doc.models.freeze():
            navigation.build_page().server_doc(doc, title="test")
    return doc


def every_property(doc: Document) -> dict:
    """(model id, property) -> value as JSON, for every property of every model."""
    out = {}
    for model in doc.models:
        for name, value in model.properties_with_values(include_defaults=True).items():
            # plain values compare as text (nan too); containers and models by their type
            out[model.id, name] = repr(value) if _plain(value) else type(value).__name__
    return out


def document_json(doc: Document) -> str:
    """The document as PULL-DOC sends it, numpy buffers' fresh ids left out."""
    return re.sub(r'"type":"bytes","data":\{"id":"p\d+"\}', '"type":"bytes"',
                  serialize_json(doc.to_json()))


def _plain(value) -> bool:
    return isinstance(value, (str, int, float, bool, type(None), tuple))


@pytest.mark.parametrize("args", [{}, {"lesson": "loss-value"}, {"lesson": "chain-rule", "lang": "zh"}])
def test_cached_defaults_read_as_bokeh_computes_them(args):
    installed = bool(bokeh_defaults._ORIGINAL)
    try:
        bokeh_defaults.install()
        doc = page_document(args)
        # the checks Bokeh makes of each session's document (off on the app's server:
        # server_hooks.server_settings), once here: no error and no warning (but an empty
        # layout's, which `panel serve` silences: a part not shown yet is one)
        issues = check_integrity({m for root in doc.roots for m in root.references()})
        assert issues.error == [], issues.error
        assert [w for w in issues.warning if w.code != EMPTY_LAYOUT.code] == [], issues.warning
        cached = every_property(doc)
        cached_json = document_json(doc)
        bokeh_defaults.uninstall()
        assert every_property(doc) == cached
        assert document_json(doc) == cached_json
    finally:
        (bokeh_defaults.install if installed else bokeh_defaults.uninstall)()


def style_texts(doc: Document) -> list[tuple]:
    """Each component's shadow-root styles as the browser gets them: the texts of its inline
    stylesheets (given as text or as an ``InlineStyleSheet``) and its imported URLs."""
    from bokeh.models import ImportedStyleSheet, InlineStyleSheet

    def text(sheet) -> str:
        if isinstance(sheet, str):
            return sheet
        if isinstance(sheet, InlineStyleSheet):
            return sheet.css
        assert isinstance(sheet, ImportedStyleSheet), type(sheet)
        return "@import " + sheet.url

    return sorted((type(m).__name__, tuple(text(s) for s in m.stylesheets))
                  for m in doc.models if hasattr(m, "stylesheets"))


@pytest.mark.parametrize("args", [{}, {"lesson": "same-gradient", "lang": "zh"}])
def test_every_component_gets_the_page_styles_from_one_shared_stylesheet(args):
    import panel as pn

    from components import shared_styles
    from components.page import stylesheet

    installed = bool(shared_styles._ORIGINAL)
    raw_css = list(pn.config.raw_css)
    pn.config.raw_css = [stylesheet()]  # as app.py's pn.extension(raw_css=...)
    try:
        shared_styles.uninstall()
        plain = page_document(args)
        shared_styles.install()
        doc = page_document(args)
        assert style_texts(doc) == style_texts(plain)
        # the app's styles reach every component, and the document carries them once
        with_styles = [m for m in doc.models if stylesheet() in
                       [getattr(s, "css", None) for s in getattr(m, "stylesheets", [])]]
        assert len(with_styles) > 20
        text = serialize_json(doc.to_json())
        assert text.count(stylesheet()[:60]) == 1
        assert len(text) < len(serialize_json(plain.to_json())) / 2
    finally:
        pn.config.raw_css = raw_css
        (shared_styles.install if installed else shared_styles.uninstall)()
