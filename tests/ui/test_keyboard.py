"""The explorer with the keyboard alone, from page load: Tab and the arrow keys change a
slider, switch to the backward pass, play a step and open a node's details; then, the same page
made a phone, the Tab order follows the phone's screen."""

from __future__ import annotations

import pytest

from graphviz_core import format_number, gradients, parse, trace

from .helpers import (counter, emulate_phone, focused, js, open_app, open_drawer, resize,
                      wait_counter, wait_text)

pytestmark = pytest.mark.browser

MAX_TABS = 80


def tab_to(page, matches, what: str) -> dict:
    """Press Tab until the focused element satisfies ``matches``; return it."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        f = focused(page)
        if matches(f):
            return f
    raise AssertionError(f"{MAX_TABS} presses of Tab never reached {what}; the focus is on {focused(page)}")


def test_keyboard_alone_drives_the_explorer(page, app_url):
    open_app(page, app_url)
    page.locator("body").click(position={"x": 1, "y": 1})  # the page has the focus, nothing in it

    # a slider, named by its variable: the arrow keys move it and the numbers follow
    tab_to(page, lambda f: f.get("role") == "slider" and f.get("label") == "w", "the slider w")
    w0 = js(page, "t.slider('w').value")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("(w0) => window.__bpxt.slider('w').value > w0", arg=w0, timeout=5000)
    w = js(page, "t.slider('w').value")
    values = {"w": w, "x": 1.5, "b": 0.5, "y": 1.0}
    loss, _ = gradients("(w*x + b - y)**2", values)
    page.wait_for_function("(l) => Math.abs(parseFloat(window.__bpxt.table().value[7]) - l) < 1e-4",
                           arg=loss, timeout=5000)
    assert counter(page) == ""  # the arrows moved the slider, they did not step a pass

    # the mode switch: Backward
    tab_to(page, lambda f: f.get("tag") == "BUTTON" and f.get("text") == "Backward", "Backward")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__bpxt.scene() && window.__bpxt.scene().mode === 'backward'",
                           timeout=10_000)
    # one step of the pass
    tab_to(page, lambda f: f.get("tag") == "BUTTON" and f.get("text") == "Step ▶", "Step ▶")
    page.keyboard.press("Enter")
    wait_counter(page, r"^Step 1 /")

    # the graph: focusable, the arrows walk along the edges, Enter opens the node's details
    tab_to(page, lambda f: f.get("role") == "application", "the graph")
    page.keyboard.press("ArrowRight")   # lands on the loss, where the backward pass starts
    page.keyboard.press("ArrowLeft")    # along the edge into L: z3
    page.keyboard.press("Enter")
    text = wait_text(page, ".bpx-details", "z3 = z2 - y")
    g = trace(parse("(w*x + b - y)**2").build(values))
    (z3,) = [n for n in g if g.nodes[n]["name"] == "z3"]
    assert f"∂L/∂z3 = {format_number(g.nodes[z3]['grad'], 6)}" in text
    # the arrows moved through the graph, not through the pass
    assert counter(page).startswith("Step 1 /")
    # Escape leaves the graph; the arrows step the pass again
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowRight")
    wait_counter(page, r"^Step 2 /")

    # the page, now in backward mode, made a phone (helpers.emulate_phone; until session 12 a
    # page of its own, opened on a phone with mode=backward)
    phone_tab_order_follows_the_screen(page)


def phone_tab_order_follows_the_screen(page) -> None:
    """On a phone the drawer (inputs, lessons) sits below the figure: Tab reaches the mode
    switch, the player and the graph before the expression and the sliders. A wider window
    puts the sidebar (on the left there) first again."""
    emulate_phone(page)
    open_drawer(page)  # closed when a phone opens the page; Tab goes on from its toggle
    seen = []
    for _ in range(4 * MAX_TABS):  # the whole main area first: its tables and figures too
        page.keyboard.press("Tab")
        f = focused(page)
        seen.append(f.get("label") or f.get("role") or f.get("text") or f.get("tag"))
        if f.get("tag") == "INPUT" and "TextInput" in " ".join(f.get("hosts", [])):
            break
    else:
        raise AssertionError(f"Tab never reached the expression box: {seen}")
    for what in ("Backward", "▶ Play", "Speed", "The computation graph"):
        assert any(s.startswith(what) for s in seen), f"the expression box came before {what!r}: {seen}"
    assert not {"w", "w: value", "x", "Chain rule"} & set(seen), \
        f"a variable's slider or a lesson's link came before the expression: {seen}"
    resize(page, 1200, 900)
    page.wait_for_function("() => document.getElementById('sidebar').nextElementSibling"
                           " === document.getElementById('main')", timeout=5000)
    resize(page, 390, 844)
    page.wait_for_function("() => document.getElementById('main').nextElementSibling"
                           " === document.getElementById('sidebar')", timeout=5000)
