"""Display-only blocks: the models made without Panel objects are the models Panel makes."""

from __future__ import annotations

import panel as pn
import pytest
from bokeh.document import Document
from bokeh.model import Model
from panel.io.state import set_curdoc

from components import display
from components.page import PageTemplate


def shape(model: Model) -> tuple:
    """A model as the page gets it: its type and every property set, models inside compared
    the same way (stylesheets by their text or URL: each document has its own)."""
    def value(v):
        if isinstance(v, Model):
            return shape(v)
        if isinstance(v, (list, tuple)):
            return tuple(value(x) for x in v)
        if isinstance(v, dict):
            return tuple(sorted((k, value(x)) for k, x in v.items()))
        return v
    props = model.properties_with_values(include_defaults=False)
    props.pop("name", None)
    sheets = tuple(getattr(s, "css", None) or getattr(s, "url", s) for s in props.pop("stylesheets", []))
    return type(model).__name__, sheets, tuple(sorted((k, value(v)) for k, v in props.items()))


def page_roots(main) -> list[tuple]:
    """The shapes of a page's main roots, built as a session builds its page."""
    doc = Document()
    with set_curdoc(doc):
        template = PageTemplate(main=main() if callable(main) else main)
        template.server_doc(doc, title="test")
        return [shape(r) for r in doc.roots if "main" in str(r.name)]


TEXT = "<h2 class='bpx-lesson-h2'>∂L/∂w & <i>w</i></h2><p>1 < 2</p>"


def panel_objects():
    return [
        pn.pane.HTML(TEXT, sizing_mode="stretch_width", margin=(4, 10, 0, 10)),
        pn.Row(pn.Column(pn.pane.HTML(TEXT, css_classes=["bpx-live"]),
                         pn.pane.HTML("<b>2</b>", styles={"flex": "1 1 200px"}),
                         sizing_mode="stretch_width"),
               pn.Column(pn.pane.HTML(TEXT, css_classes=["bpx-prose"]), width=340,
                         css_classes=["bpx-aside"]),
               sizing_mode="stretch_width"),
    ]


def display_blocks():
    return [
        pn.pane.HTML(TEXT, sizing_mode="stretch_width", margin=(4, 10, 0, 10)),
        display.block(display.row(
            display.column(display.html(TEXT, css_classes=["bpx-live"]),
                           display.html("<b>2</b>", styles={"flex": "1 1 200px"}),
                           sizing_mode="stretch_width"),
            display.column(display.html(TEXT, css_classes=["bpx-prose"]), width=340,
                           css_classes=["bpx-aside"]),
            sizing_mode="stretch_width")),
    ]


def test_a_block_is_the_page_panel_would_make():
    expected = page_roots(panel_objects)
    assert page_roots(display_blocks) == expected
    # the app's styles reach each model of the block as they reach each Panel object's
    assert all(len(sheets) >= 3 for _, sheets, _ in expected)


def test_a_block_inside_a_panel_layout_is_the_layout_panel_would_make():
    def made(blocks):
        return lambda: [pn.Column(*blocks(), sizing_mode="stretch_width")]
    assert page_roots(made(display_blocks)) == page_roots(made(panel_objects))


@pytest.mark.parametrize("text", ["", TEXT, "<table><tr><td>3 &amp; 4</td></tr></table>"])
def test_set_text_shows_what_the_pane_would(text):
    with set_curdoc(Document()):
        pane = pn.pane.HTML("old")
        model = display.html("old")
        pane.object = text
        display.set_text(model, text)
        assert model.text == pane._get_properties(None)["text"]


def test_styled_models_get_the_styles_a_bokeh_pane_gives_them():
    """The page's styles in the model's shadow root, then its own (its caption rules)."""
    from bokeh.models import Div

    def made(wrap):
        def main():
            div = Div(text="x", css_classes=["bpx-counter"],
                      stylesheets=[":host { color: red; }"])
            return wrap(div)
        return main

    def styled(div):
        display.styled(div)
        return [display.block(display.column(div, sizing_mode="stretch_width"))]

    # a Bokeh pane handed the model's own stylesheets keeps them after the page's
    plain = page_roots(made(lambda div: [pn.Column(pn.pane.Bokeh(div, stylesheets=list(div.stylesheets)),
                                                   sizing_mode="stretch_width")]))
    assert page_roots(made(styled)) == plain


def test_a_button_is_the_model_and_callback_panel_would_make():
    """Every property of the button, and of its click callback but Panel's link tag, reads the
    same; the server is not subscribed to its clicks (it only runs code in the browser)."""
    from bokeh.models import CustomJS

    player = {}

    def callback(model):
        (cb,) = model.js_event_callbacks["button_click"]
        args = {k: v for k, v in cb.args.items() if k != "source"}
        assert cb.args["source"] is model
        return cb.code, tuple(sorted((k, shape(v) if hasattr(v, "ref") else v)
                                     for k, v in args.items()))

    def panel_button():
        b = pn.widgets.Button(label="Play ▶", color="success", width=92, margin=(2, 3))
        b.js_on_click(args={"player": player["js"], "data": {"action": "play"}},
                      code="player.execute(cb_obj, data)")
        return [pn.Row(b, css_classes=["bpx-inline"])]

    def display_button():
        b = display.button("Play ▶", {"player": player["js"], "data": {"action": "play"}},
                           "player.execute(cb_obj, data)", color="success", width=92,
                           margin=(2, 3))
        return [display.block(display.row(b, css_classes=["bpx-inline"]))]

    def built(main):
        doc = Document()
        with set_curdoc(doc):
            player["js"] = CustomJS(code="")
            template = PageTemplate(main=main())
            template.server_doc(doc, title="test")
            (row,) = [r for r in doc.roots if "main" in str(r.name)]
            (button,) = row.children
            return button

    made, expected = built(display_button), built(panel_button)
    assert callback(made) == callback(expected)
    assert made.subscribed_events == set() and "button_click" in expected.subscribed_events
    for model in (made, expected):  # (the callback refers to its button: compared above)
        model.js_event_callbacks = {}

    def unsubscribed(model):
        kind, sheets, props = shape(model)
        return kind, sheets, tuple(p for p in props if p[0] != "subscribed_events")
    assert unsubscribed(made) == unsubscribed(expected)
