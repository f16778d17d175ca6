"""Take a step (components/descent.py) driven in the browser: θ ← θ − η·∂L/∂θ moves the
parameters (never the data) by the core's gradients, the loss falls, too large an η is said,
and the start comes back."""

from __future__ import annotations

import pytest

from graphviz_core import gradients
from graphviz_core.examples import SEED

from .helpers import js, number, open_app, show_later_parts, table

pytestmark = pytest.mark.browser


def shown(page, name: str) -> float:
    """Variable ``name``'s value in the last scene the server sent."""
    return js(page, "(() => { const tp = t.scene().tape; return tp.value[tp.variable[arg]] })()", name)


def wait_value(page, name: str, value: float) -> None:
    page.wait_for_function("([n, v]) => { const tp = window.__bpxt.scene().tape;"
                           " return Math.abs(tp.value[tp.variable[n]] - v) < 1e-12 }",
                           arg=[name, value], timeout=20_000)


def wait_said(page, words: str) -> None:
    page.wait_for_function("(s) => window.__bpxt.deepText().replace(/\\s+/g, ' ').includes(s)",
                           arg=words, timeout=20_000)


def test_take_a_step_moves_the_parameters_and_the_loss_falls(page, app_url):
    open_app(page, app_url, "mode=backward")
    show_later_parts(page)  # the panel is built when the student scrolls down to it
    values = dict(SEED.values)
    loss, grads = gradients(SEED.source, values)
    page.get_by_role("button", name="Take a step", exact=True).click()
    # η = 0.05 (the default): the parameters w and b move against their gradients, x and y stay
    after = {**values, "w": values["w"] - 0.05 * grads["w"], "b": values["b"] - 0.05 * grads["b"]}
    wait_value(page, "w", after["w"])
    wait_value(page, "b", after["b"])
    assert shown(page, "x") == values["x"] and shown(page, "y") == values["y"]
    new_loss, _ = gradients(SEED.source, after)
    assert new_loss < loss
    wait_said(page, "After 1 steps L went from 6.25 to 2.848")
    assert number(table(page)["L"]["value"]) == pytest.approx(new_loss, rel=2e-4)

    # η = 1 overshoots: L grows at every step, and the page says so
    page.get_by_role("button", name="1", exact=True).click()
    for _ in range(4):
        page.get_by_role("button", name="Take a step", exact=True).click()
        page.wait_for_timeout(50)
    wait_said(page, "L grows at every step: η = 1 is too large.")

    # back to the start: the values the page opened with
    page.get_by_role("button", name="Back to the start", exact=True).click()
    wait_value(page, "w", values["w"])
    wait_value(page, "b", values["b"])
