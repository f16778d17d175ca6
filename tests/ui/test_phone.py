"""The app on a phone held upright (390 x 844 CSS px, touch): nothing scrolls sideways, every
control is on screen, a finger drags a slider and taps a node."""

from __future__ import annotations

import pytest

from graphviz_core import gradients

from .helpers import (PHONE, controls_off_screen, js, number, open_app, open_page, screenshot,
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


# the screen boxes (CSS px) of the labels above and under the nodes and of the key, as drawn
LABEL_BOXES = r"""() => {
  const t = window.__bpxt, d = t.labels().data, ctx = document.createElement('canvas').getContext('2d')
  const out = []
  d.text.forEach((text, k) => {
    if (!['top', 'bottom', 'key'].includes(d.role[k])) return
    const px = parseFloat(d.size[k]); ctx.font = `${d.style[k]} ${d.size[k]} helvetica, arial, sans-serif`
    const w = ctx.measureText(text).width, h = px * 1.15
    const [sx, sy] = t.toScreen(d.x[k], d.y[k]), x = sx + d.dx[k], y = sy + d.dy[k]
    const top = d.baseline[k] === 'top' ? y : d.baseline[k] === 'bottom' ? y - h : y - h / 2
    out.push({text, role: d.role[k], px, left: x - w / 2, right: x + w / 2, top, bottom: top + h})
  })
  return out
}"""


def overlapping(boxes):
    return [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]]


@pytest.mark.parametrize("expr", ["(w*x + b - y)**2", "tanh(w1*x1 + w2*x2 + b)"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_phone_figure_opens_with_its_numbers_readable(new_page, app_url, lang, expr):
    """At 390 px the figure opens zoomed to fit with every node's number under it (a short
    label), a key saying what the numbers are, no two labels on top of each other, no tiny
    type; the full labels come back on a wide screen."""
    from urllib.parse import quote

    from components.words import ui
    from graphviz_core import format_number

    page = new_page(**PHONE)
    open_app(page, app_url, f"expr={quote(expr)}&mode=backward&lang={lang}")
    page.wait_for_function("() => window.__bpxt.labels().data.role.includes('key')", timeout=10_000)
    boxes = page.evaluate(LABEL_BOXES)
    key = [b for b in boxes if b["role"] == "key"]
    assert [b["text"] for b in key] == [ui(lang)["page"]["compact_key"]["backward"].format(loss="L")]
    names = js(page, "t.table().name")
    bottoms = js(page, "t.bottoms()")
    _, grads = gradients(expr, {k: v["value"] for k, v in sliders(page).items()})
    for i, name in enumerate(names):
        if name in grads:
            assert bottoms[i] == format_number(grads[name], 3), (name, bottoms[i])
    assert bottoms[names.index("L")] == "1" and all(bottoms), bottoms
    assert min(b["px"] for b in boxes) >= 12
    assert not overlapping(boxes), overlapping(boxes)
    width = page.evaluate("() => innerWidth")
    assert all(0 <= b["left"] and b["right"] <= width for b in boxes), boxes
    screenshot(page, f"phone-figure-{lang}-{len(names)}", full_page=False)

    wide = new_page()
    open_app(wide, app_url, f"expr={quote(expr)}&mode=backward&lang={lang}")
    wide.wait_for_function("() => window.__bpxt.bottoms()[0].startsWith('∂')", timeout=10_000)
    assert "key" not in js(wide, "t.labels().data.role")


def _fingers(page, starts, ends, steps=8):
    """Fingers from ``starts`` to ``ends`` (lists of (x, y), one per finger), as real touch
    events (Chrome DevTools Protocol), then lifted."""
    cdp = page.context.new_cdp_session(page)
    points = lambda ps: [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(ps)]  # noqa: E731
    try:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": points(starts)})
        for k in range(1, steps + 1):
            now = [(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)
                   for (x0, y0), (x1, y1) in zip(starts, ends)]
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": points(now)})
            page.wait_for_timeout(16)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()
    page.wait_for_timeout(200)


def test_two_fingers_zoom_and_move_the_figure_one_finger_scrolls_the_page(new_page, app_url):
    page = new_page(**PHONE)
    open_app(page, app_url, "mode=backward")
    state = lambda: js(page, "(() => { const f = t.figure(); return {x: [f.x_range.start, f.x_range.end],"  # noqa: E731
                             " y: [f.y_range.start, f.y_range.end], scroll: scrollY} })()")
    r = page.locator(".bpx-figure").first.bounding_box()
    cx, cy = r["x"] + r["width"] / 2 - 20, r["y"] + r["height"] / 2  # clear of the toolbar
    s0 = state()
    span = lambda s: s["x"][1] - s["x"][0]  # noqa: E731

    # pinch: the fingers spread to three times their distance, the figure zooms in about them
    _fingers(page, [(cx - 30, cy), (cx + 30, cy)], [(cx - 90, cy), (cx + 90, cy)])
    s1 = state()
    assert span(s1) == pytest.approx(span(s0) / 3, rel=0.05)
    assert s1["y"][1] - s1["y"][0] == pytest.approx((s0["y"][1] - s0["y"][0]) / 3, rel=0.05)
    assert s1["scroll"] == s0["scroll"] == 0

    # two fingers move 60 px right together: the plane moves with them, nothing zooms
    ppu = (r["width"] - 0) / span(s1)
    _fingers(page, [(cx - 40, cy), (cx + 40, cy)], [(cx + 20, cy), (cx + 100, cy)])
    s2 = state()
    assert span(s2) == pytest.approx(span(s1), rel=1e-6)
    assert s2["x"][0] < s1["x"][0] and s2["scroll"] == 0
    assert (s1["x"][0] - s2["x"][0]) * ppu == pytest.approx(60, rel=0.25)

    # one finger up the figure: the page scrolls, the figure stays
    _fingers(page, [(cx, cy + 60)], [(cx, cy - 120)], steps=12)
    s3 = state()
    assert s3["scroll"] > 50
    assert s3["x"] == s2["x"] and s3["y"] == s2["y"]
