"""The vanishing-gradient lesson in the browser: the bars are the engine's norms, and moving a
slider or the activation switch redraws them (the server's numbers, in the page)."""

from __future__ import annotations

import math

import pytest

from graphviz_core.vanishing import DeepNet, layer_report

from .helpers import PHONE, close_drawer, js, open_page, screenshot, set_slider, sideways_overflow

pytestmark = pytest.mark.browser

BARS = "t.find('ColumnDataSource', (m) => 'grad' in m.data && 'bottom' in m.data).data"


def bars(page) -> dict:
    data = js(page, BARS)
    return dict(zip(data["layer"], data["grad"]))


def wait_bars(page, layers: int) -> dict:
    page.wait_for_function(f"(n) => {{ const t = window.__bpxt; const d = {BARS}; return d.layer.length === n }}",
                           arg=layers, timeout=30_000)
    return bars(page)


def engine(depth: int, activation: str, scale: float) -> dict:
    return {r["layer"]: r["grad"] for r in layer_report(DeepNet(depth, activation, scale))}


def test_sliders_move_the_chart(page, app_url):
    open_page(page, app_url, "lesson=vanishing")
    shown = wait_bars(page, 9)
    assert shown == pytest.approx(engine(8, "sigmoid", 1.0), rel=1e-12)
    assert shown["h1"] / shown["h8"] < 1e-3  # sigmoid: orders of magnitude
    set_slider(page, "Depth D (hidden layers)", 4, release=True)
    assert wait_bars(page, 5) == pytest.approx(engine(4, "sigmoid", 1.0), rel=1e-12)
    page.get_by_role("button", name="relu", exact=True).click()
    set_slider(page, "Initial weight scale", 1.4, release=True)
    page.wait_for_function(f"() => {{ const t = window.__bpxt; const d = {BARS};"
                           f" return Math.abs(d.grad[0] - {engine(4, 'relu', 1.4)['h1']}) < 1e-9 }}",
                           timeout=30_000)
    shown = bars(page)
    assert shown == pytest.approx(engine(4, "relu", 1.4), rel=1e-12)
    assert 0.1 < shown["h1"] / shown["h4"] < 10  # a well-initialised relu network keeps it
    screenshot(page, "vanishing-en-1400")
    page.locator(".bpx-figure").first.scroll_into_view_if_needed()
    screenshot(page, "vanishing-en-1400-graph", full_page=False)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_lesson_on_a_phone_and_wide(new_page, app_url, lang):
    page = new_page(**PHONE)
    open_page(page, app_url, f"lesson=vanishing&lang={lang}")
    wait_bars(page, 9)
    assert sideways_overflow(page) <= 0
    close_drawer(page)  # the page underneath
    screenshot(page, f"vanishing-{lang}-390")
    if lang == "zh":
        wide = new_page()
        open_page(wide, app_url, "lesson=vanishing&lang=zh&act=relu&scale=3&depth=10")
        assert math.isclose(wait_bars(wide, 11)["h1"], engine(10, "relu", 3.0)["h1"], rel_tol=1e-12)
        screenshot(wide, "vanishing-zh-1400")
        wide.locator(".bpx-figure").first.scroll_into_view_if_needed()
        screenshot(wide, "vanishing-zh-1400-graph", full_page=False)
