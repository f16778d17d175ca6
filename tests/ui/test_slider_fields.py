"""A number field beside every slider (WCAG 2.5.7: a value without dragging).

Typing a value and Enter (or leaving the field) sets the slider through the page's own
release path: the value clamped to the slider's range and put on its steps, the numbers
replayed in the page, the release heard by the server. The field follows the slider when it
is dragged, and it is named in the page's language (every page, on a phone:
test_pages.py::test_every_slider_has_a_named_field).
"""

from __future__ import annotations

import pytest

from components.words import ui
from graphviz_core import gradients

from .helpers import js, number, open_app, open_page, set_slider, table

pytestmark = pytest.mark.browser


def field(page, title: str, lang: str = "en"):
    name = ui(lang)["slider_field"].format(name=title)
    return page.get_by_role("spinbutton", name=name, exact=True)


def test_typed_value_is_a_release_of_the_slider_and_the_field_follows_a_drag(page, app_url):
    open_app(page, app_url, "mode=backward")
    box = field(page, "w")
    assert box.input_value() == "2"
    box.fill("2.5")
    box.press("Enter")
    page.wait_for_function("() => window.__bpxt.slider('w').value_throttled === 2.5", timeout=5000)
    # the page replayed the tape at once, and the server heard the release (its scene has w = 2.5)
    page.wait_for_function("() => { const tp = window.__bpxt.scene().tape;"
                           " return tp.value[tp.variable.w] === 2.5 }", timeout=10_000)
    loss, grads = gradients("(w*x + b - y)**2", {"w": 2.5, "x": 1.5, "b": 0.5, "y": 1})
    rows = table(page)
    assert number(rows["L"]["value"]) == pytest.approx(loss, rel=2e-5)
    assert number(rows["w"]["grad"]) == pytest.approx(grads["w"], rel=2e-5)
    assert box.input_value() == "2.5"

    # beyond the range: the slider's end; off its steps: the nearest step; leaving the field sets it too
    box = field(page, "x")
    box.fill("99")
    box.press("Tab")
    page.wait_for_function("() => window.__bpxt.slider('x').value === 3", timeout=5000)
    assert field(page, "x").input_value() == "3"
    box = field(page, "b")
    box.fill("-1.234")
    box.press("Enter")
    page.wait_for_function("() => window.__bpxt.slider('b').value === -1.23", timeout=5000)
    page.wait_for_function("() => { const tp = window.__bpxt.scene().tape;"
                           " return tp.value[tp.variable.b] === -1.23 && tp.value[tp.variable.x] === 3 }",
                           timeout=10_000)

    # no number, or Escape: the slider stays, the field shows its value again
    box = field(page, "y")
    box.fill("")
    box.press("Enter")
    assert box.input_value() == "1" and js(page, "t.slider('y').value") == 1
    box.fill("2")
    box.press("Escape")
    assert box.input_value() == "1" and js(page, "t.slider('y').value") == 1
    # (one page: the field follows a dragged slider)
    check_field_follows_a_dragged_slider(page)


def check_field_follows_a_dragged_slider(page) -> None:
    """w dragged (a value, then a release): its field shows each value, the server hears the last."""
    set_slider(page, "w", -1.25)
    assert field(page, "w").input_value() == "-1.25"
    set_slider(page, "w", 0.4, release=True)
    assert field(page, "w").input_value() == "0.4"
    page.wait_for_function("() => { const tp = window.__bpxt.scene().tape;"
                           " return tp.value[tp.variable.w] === 0.4 }", timeout=10_000)


def test_lesson_slider_field_reaches_the_server(page, app_url):
    """A lesson's own slider (not a variable of a graph): typing sets it, the server re-runs
    the lesson and writes the URL."""
    from components.words import lesson_text
    open_page(page, app_url, "lesson=loss-matters&lang=zh")
    box = field(page, lesson_text("loss-matters", "zh")["w_C"], "zh")
    box.fill("505")  # steps of 10 from 0
    box.press("Enter")
    page.wait_for_function("() => /[?&]C=510(&|$)/.test(location.search)", timeout=10_000)
    assert box.input_value() == "510"
