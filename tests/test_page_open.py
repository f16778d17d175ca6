"""Opening a page: what is shared between sessions stays equal to what a session would build."""

from __future__ import annotations

import re
import unittest.mock as mock

import pytest
from bokeh.core.json_encoder import serialize_json
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
        cached = every_property(doc)
        cached_json = document_json(doc)
        bokeh_defaults.uninstall()
        assert every_property(doc) == cached
        assert document_json(doc) == cached_json
    finally:
        (bokeh_defaults.install if installed else bokeh_defaults.uninstall)()
