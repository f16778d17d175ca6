"""The saved HTML file (components/export.py) is made in a server callback, whatever Bokeh's
current document is at that moment."""

from __future__ import annotations

from bokeh.document import Document
from bokeh.io.doc import patch_curdoc

from components.export import standalone_html
from components.model import ExplorerModel


def destroyed_document() -> Document:
    """A document as a closed session leaves it: Bokeh's ``destroy`` deletes its callbacks."""
    doc, session = Document(), object()
    doc.on_change_dispatch_to(session)
    doc.destroy(session)
    return doc


def test_the_file_is_made_while_a_destroyed_document_is_bokehs_current_one():
    # CI run on c57a06b: "Save as HTML" downloaded nothing; the server logged AttributeError
    # 'DocumentCallbackManager' object has no attribute '_js_event_callbacks' in file_html,
    # because a callback that had raised left a closed session's document current
    model = ExplorerModel()
    with patch_curdoc(destroyed_document()):
        page = standalone_html(model, "en")
    assert page.startswith("<!DOCTYPE html>") and "(w*x + b - y)**2" in page
