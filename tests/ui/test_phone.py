"""The app on a phone held upright (390 x 844 CSS px, touch): nothing scrolls sideways, every
control is on screen, a finger drags a slider and taps a node."""

from __future__ import annotations

import pytest

from graphviz_core import gradients

from .helpers import (PHONE, controls_off_screen, number, open_app, open_page,
                      sideways_overflow, sliders, table, touch_drag, wait_text, node_position)

pytestmark = pytest.mark.browser


def test_finger_drag_of_a_slider_changes_the_numbers(new_page, app_url):
    page = new_page(**PHONE)
    open_app(page, app_url, "mode=backward")
    before = table(page)["w"]["value"]
    handle = page.locator(".bk-Slider").filter(
        has=page.locator(".bk-slider-title", has_text="w:")).locator(".noUi-handle")
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    touch_drag(page, x, y, x - 80, y)
    page.wait_for_function("(b) => window.__bpxt.table().value[0] !== b", arg=before, timeout=5000)
    values = {k: v["value"] for k, v in sliders(page).items()}
    assert values["w"] < float(before)
    loss, grads = gradients("(w*x + b - y)**2", values)
    rows = table(page)
    assert number(rows["L"]["value"]) == pytest.approx(loss, rel=2e-5)
    assert number(rows["w"]["grad"]) == pytest.approx(grads["w"], rel=2e-5)


def test_tap_on_a_node_opens_its_details(new_page, app_url):
    page = new_page(**PHONE)
    open_app(page, app_url, "mode=backward")
    page.locator(".bpx-figure").first.scroll_into_view_if_needed()
    for attempt in range(3):  # under load a tap can be lost, and a student taps again
        x, y = node_position(page, "z2")
        page.touchscreen.tap(x, y)
        try:
            wait_text(page, ".bpx-details", "z2 = z1 + b", timeout=3)
            break
        except AssertionError:
            continue
    text = wait_text(page, ".bpx-details", "Local derivatives")
    assert "∂z2/∂z1 = 1" in text


SIZES = [(360, 740), (390, 844), (844, 390), (768, 1024), (1024, 768), (1400, 1000)]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("slug", ["graph", "loss-value"])
def test_no_sideways_scroll_at_any_size(new_page, app_url, slug, size):
    w, h = size
    touch = w < 1024
    page = new_page(viewport={"width": w, "height": h}, is_mobile=touch, has_touch=touch)
    open_page(page, app_url, f"lesson={slug}&mode=backward")
    assert sideways_overflow(page) == 0, f"?lesson={slug} scrolls sideways at {w}x{h}"
    off = controls_off_screen(page)
    assert not off, f"controls past the screen's edge on ?lesson={slug} at {w}x{h}: {off[:5]}"
