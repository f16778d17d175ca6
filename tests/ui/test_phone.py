"""The app on a phone held upright (390 x 844 CSS px, touch): nothing scrolls sideways, every
control is on screen, a finger drags a slider and taps a node."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from graphviz_core import gradients

from .helpers import (CONTROL_BOXES, PHONE, Watched, close_drawer, controls_off_screen, emulate_phone, graph_labels,
                      js, node_position, number, open_app, open_drawer, open_page, overlapping, resize, screenshot,
                      show_later_parts, sideways_overflow, sliders, table, touch_drag, wait_text)

pytestmark = pytest.mark.browser


# 390 x 844 (a phone held upright, touch) is PHONE: test_pages.py checks every page there, these
# two included, for sideways scrolling and controls off the screen. The sizes of one kind of
# device (touch below 1024 px) are checked on one page: opened at the first, then turned or
# resized to each other one, as a student turns a phone or a tablet.
SIZES = {"touch": [(360, 740), (844, 390), (768, 1024)], "mouse": [(1024, 768), (1400, 1000)]}
FITS = f"""() => Math.max(0, document.documentElement.scrollWidth - innerWidth) === 0
  && ({CONTROL_BOXES})().every((c) => c.left >= -0.5 && c.right <= innerWidth + 0.5)"""


# (the explorer on a touch screen: test_the_explorer_fits_every_touch_size below, on the page the
# phone's own checks use). A lesson's page is opened once, with a mouse, then made a phone
# (helpers.emulate_phone: the touch screen a page opened on a phone has) and turned and resized
# to each touch size; until session 12 the touch sizes had a page of their own.
@pytest.mark.parametrize("slug, kinds", [("graph", ["mouse"]), ("loss-value", ["mouse", "touch"])])
def test_no_sideways_scroll_at_any_size(page, app_url, slug, kinds):
    w, h = SIZES["mouse"][0]
    resize(page, w, h)
    open_page(page, app_url, f"lesson={slug}&mode=backward")
    for kind in kinds:
        if kind == "touch":
            emulate_phone(page)
        for w, h in SIZES[kind]:
            check_fits(page, slug, w, h)


def check_fits(page, slug: str, w: int, h: int) -> None:
    """The page made ``w`` x ``h`` (if it is not) neither scrolls sideways nor has a control
    past the screen's edge."""
    if page.evaluate("() => [innerWidth, innerHeight]") != [w, h]:
        resize(page, w, h)
        # the page lays itself out again over the next frames (Bokeh's resize observers):
        # wait until it fits; if it never does, the assertions below say how it does not
        try:
            page.wait_for_function(FITS, timeout=5000)
        except PlaywrightTimeout:
            pass
    assert page.evaluate("() => innerWidth") == w
    assert sideways_overflow(page) == 0, f"?lesson={slug} scrolls sideways at {w}x{h}"
    off = controls_off_screen(page)
    assert not off, f"controls past the screen's edge on ?lesson={slug} at {w}x{h}: {off[:5]}"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_phone_figure_opens_with_its_numbers_readable(new_page, app_url, lang):
    """At 390 px the figure opens zoomed to fit with every node's number under it (a short
    label), a key saying what the numbers are, no two labels on top of each other, no tiny
    type; the full labels come back when the screen is wide (the page made 1400 px wide: a
    page opened that wide shows them, test_explorer.py's seed graph in backward mode). The
    seed graph's figure: test_the_seed_figure_opens_with_its_numbers_readable below."""
    from urllib.parse import quote

    expr = "tanh(w1*x1 + w2*x2 + b)"
    page = new_page(**PHONE)
    open_app(page, app_url, f"expr={quote(expr)}&mode=backward&lang={lang}")
    check_phone_figure(page, lang, expr)
    check_wide_labels(page)


def check_phone_figure(page, lang: str, expr: str) -> None:
    """The figure of ``expr`` as it opened at 390 px in backward mode (see the test above)."""
    from components.words import ui
    from graphviz_core import format_number

    page.wait_for_function("() => window.__bpxt.labels().data.role.includes('key')", timeout=10_000)
    boxes = [b for b in graph_labels(page)[0]["boxes"] if b["role"] in ("top", "bottom", "key")]
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


def check_wide_labels(page) -> None:
    """Made 1400 px wide, the figure shows its full labels again (and no key): every number
    drawn under a node is a full one (a node the figure was zoomed or moved away from draws none)."""
    page.set_viewport_size({"width": 1400, "height": 1000})  # the figure redraws for its new size
    page.wait_for_function("() => { const b = window.__bpxt.bottoms().filter((s) => s);"
                           " return b.length > 0 && b.every((s) => s.startsWith('∂')) }", timeout=10_000)
    assert "key" not in js(page, "t.labels().data.role")


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


# the figure's ranges and the page's scroll
STATE = "(() => { const f = t.figure(); return {x: [f.x_range.start, f.x_range.end], y: [f.y_range.start, f.y_range.end], scroll: scrollY} })()"


def _until(page, condition: str, arg) -> None:
    """Until ``condition`` (JavaScript over the state ``s`` and ``arg``) holds: a gesture's last
    moves can be handled a frame after they were sent. If it never holds, the assertions that
    follow say how the state differs."""
    try:
        page.wait_for_function(f"(arg) => {{ const t = window.__bpxt, s = {STATE}; return {condition} }}",
                               arg=arg, timeout=5000)
    except PlaywrightTimeout:
        pass


DRAWER = """() => { const s = document.getElementById('sidebar'), m = document.getElementById('main'),
  t = document.getElementById('sidebar-toggle'), tr = t.getBoundingClientRect(), sr = s.getBoundingClientRect()
  const pad = parseFloat(getComputedStyle(m).paddingBottom), mr = m.getBoundingClientRect()
  return {open: s.classList.contains('show'), expanded: t.getAttribute('aria-expanded'),
          toggle: {text: t.innerText.trim(), top: tr.top, bottom: tr.bottom, left: tr.left, right: tr.right,
                   width: tr.width, height: tr.height},
          drawerTop: sr.top, contentBottom: mr.bottom - pad, scrollable: document.documentElement.scrollHeight - innerHeight} }"""


@pytest.fixture(scope="module", params=["en", "zh"])
def phone_explorer(request, browsers, app_url):
    """The explorer in backward mode on a phone, opened once per language for the checks that
    leave it as they found it (the player's layout, the drawer's opening and closing)."""
    watched = Watched(browsers, **PHONE)
    open_page(watched.page, app_url, f"mode=backward&lang={request.param}")
    # the whole page, its parts built when first on screen too: the drawer's check scrolls
    # to the page's end, which must not grow meanwhile
    show_later_parts(watched.page)
    watched.lang = request.param
    yield watched
    watched.close()


# The checks on phone_explorer run in this file's order: first those that need the page as it
# opened, then those that change it (a tap, fingers, a slider, the screen's size).


def test_the_seed_figure_opens_with_its_numbers_readable(phone_explorer):
    """test_phone_figure_opens_with_its_numbers_readable's checks at 390 px, on the seed graph
    (the wide screen's labels: the last test of this file, on the same page)."""
    check_phone_figure(phone_explorer.page, phone_explorer.lang, "(w*x + b - y)**2")
    phone_explorer.assert_no_page_errors()


def test_phone_drawer_starts_closed_and_never_hides_the_page(phone_explorer):
    """On a phone the drawer of inputs and lessons starts closed (open, it would cover the part
    of the page under the figure); the header's toggle says what it opens and is a finger's
    size; opened, the page scrolls far enough for its last line to come out from under it."""
    from components.words import ui
    page, lang = phone_explorer.page, phone_explorer.lang
    page.evaluate("() => window.scrollTo(0, 0)")
    state = page.evaluate(DRAWER)
    assert not state["open"] and state["expanded"] == "false", state
    toggle = state["toggle"]
    assert toggle["text"] == ui(lang)["sidebar_toggle_text"], toggle
    assert toggle["width"] >= 44 and toggle["height"] >= 44 and toggle["left"] >= 0 and toggle["top"] >= 0, toggle
    assert toggle["text"].lower() in ui(lang)["sidebar_toggle"].lower()  # the name holds the text
    screenshot(page, f"phone-drawer-closed-{lang}", full_page=False)

    open_drawer(page)
    state = page.evaluate(DRAWER)
    assert state["open"] and state["expanded"] == "true", state
    assert page.get_by_role("spinbutton", name=ui(lang)["slider_field"].format(name="w"), exact=True).is_visible()
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_timeout(100)
    state = page.evaluate(DRAWER)
    assert state["contentBottom"] <= state["drawerTop"] + 1, state
    screenshot(page, f"phone-drawer-open-end-{lang}", full_page=False)

    close_drawer(page)
    assert not page.evaluate(DRAWER)["open"]
    page.evaluate("() => window.scrollTo(0, 0)")
    phone_explorer.assert_no_page_errors()
    # (on a wide screen it is a sidebar, open: test_pages.py checks every page at 1400 px)


# the player as laid out: its widgets (each marked `bpx-player`: mode switch, buttons, speed) and
# the controls inside them (buttons, inputs, the slider's handle), as screen boxes
PLAYBAR = """(bar) => { const items = [], controls = []
  const box = (el) => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left,
                        right: r.right, width: r.width, height: r.height} }
  const walk = (root, widget) => {
    for (const el of root.querySelectorAll('*')) {
      const r = el.getBoundingClientRect()
      if (r.width === 0 || r.height === 0) continue
      if (!widget && el.classList.contains('bpx-player')) { items.push(box(el)); walk(el.shadowRoot || el, true); continue }
      if (widget && el.matches('button, input, [role="slider"]'))
        controls.push({text: (el.getAttribute('aria-label') || el.textContent || el.value || '').trim(), ...box(el)})
      if (el.shadowRoot) walk(el.shadowRoot, widget)
    }
  }
  walk(bar.shadowRoot, false)
  return {items, controls} }"""


def test_phone_player_fits_two_rows(phone_explorer):
    """At 390 px the player (mode switch with Predict, ↺ ◀ ▶ ▶, speed) takes two rows at most,
    every control on screen and at least 24 x 24 px (WCAG 2.5.8)."""
    page, lang = phone_explorer.page, phone_explorer.lang
    bar = page.locator(".bpx-playbar").first
    laid = bar.evaluate(PLAYBAR)
    rows = []
    for item in sorted(laid["items"], key=lambda r: r["top"]):
        if not rows or item["top"] >= rows[-1] - 2:
            rows.append(item["bottom"])
        else:
            rows[-1] = max(rows[-1], item["bottom"])
    assert len(rows) <= 2, f"the player takes {len(rows)} rows: {laid['items']}"
    width = page.evaluate("() => innerWidth")
    assert len(laid["controls"]) >= 9, laid["controls"]  # 4 modes, 4 buttons, the speed's handle
    for c in laid["controls"]:
        assert c["width"] >= 24 and c["height"] >= 24, c
        assert c["left"] >= 0 and c["right"] <= width, c
    bar.scroll_into_view_if_needed()
    screenshot(page, f"phone-player-{lang}", full_page=False)
    phone_explorer.assert_no_page_errors()


# What a finger does on the same page, after the checks above that need it as it opened: a tap
# (the figure as drawn), two fingers (they zoom and move it), a drag of a slider (its drawer open).


def test_tap_on_a_node_opens_its_details(phone_explorer):
    from components.words import ui
    page = phone_explorer.page
    page.locator(".bpx-figure").first.scroll_into_view_if_needed()
    for attempt in range(3):  # under load a tap can be lost, and a student taps again
        x, y = node_position(page, "z2")
        page.touchscreen.tap(x, y)
        try:
            wait_text(page, ".bpx-details", "z2 = z1 + b", timeout=3)
            break
        except AssertionError:
            continue
    text = wait_text(page, ".bpx-details", ui(phone_explorer.lang)["local_derivatives"])
    assert "∂z2/∂z1 = 1" in text
    phone_explorer.assert_no_page_errors()


def test_two_fingers_zoom_and_move_the_figure_one_finger_scrolls_the_page(phone_explorer):
    page = phone_explorer.page
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_function("() => window.scrollY === 0", timeout=5000)
    state = lambda: js(page, STATE)  # noqa: E731
    r = page.locator(".bpx-figure").first.bounding_box()
    cx, cy = r["x"] + r["width"] / 2 - 20, r["y"] + r["height"] / 2  # clear of the toolbar
    s0 = state()
    span = lambda s: s["x"][1] - s["x"][0]  # noqa: E731

    # pinch: the fingers spread to three times their distance, the figure zooms in about them
    _fingers(page, [(cx - 30, cy), (cx + 30, cy)], [(cx - 90, cy), (cx + 90, cy)])
    _until(page, "Math.abs(s.x[1] - s.x[0] - arg) <= 0.05 * arg", span(s0) / 3)
    s1 = state()
    assert span(s1) == pytest.approx(span(s0) / 3, rel=0.05)
    assert s1["y"][1] - s1["y"][0] == pytest.approx((s0["y"][1] - s0["y"][0]) / 3, rel=0.05)
    assert s1["scroll"] == s0["scroll"] == 0

    # two fingers move 60 px right together: the plane moves with them, nothing zooms
    ppu = (r["width"] - 0) / span(s1)
    _fingers(page, [(cx - 40, cy), (cx + 40, cy)], [(cx + 20, cy), (cx + 100, cy)])
    _until(page, "Math.abs((arg.x0 - s.x[0]) * arg.ppu - 60) <= 15", {"x0": s1["x"][0], "ppu": ppu})
    s2 = state()
    assert span(s2) == pytest.approx(span(s1), rel=1e-6)
    assert s2["x"][0] < s1["x"][0] and s2["scroll"] == 0
    assert (s1["x"][0] - s2["x"][0]) * ppu == pytest.approx(60, rel=0.25)

    # one finger up the figure: the page scrolls, the figure stays
    _fingers(page, [(cx, cy + 60)], [(cx, cy - 120)], steps=12)
    _until(page, "s.scroll > arg", 50)
    s3 = state()
    assert s3["scroll"] > 50
    assert s3["x"] == s2["x"] and s3["y"] == s2["y"]
    phone_explorer.assert_no_page_errors()


def test_finger_drag_of_a_slider_changes_the_numbers(phone_explorer):
    page = phone_explorer.page
    open_drawer(page)  # the sliders are in the drawer, closed when a phone opens the page
    before = table(page)["w"]["value"]
    handle = page.locator(".bk-Slider").filter(
        has=page.locator(".bk-slider-title", has_text="w:")).locator(".noUi-handle")
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    touch_drag(page, x, y, x - 80, y)
    # the page replays after the finger's last move: wait until its table shows the slider's
    # value (a read right after the first change could see a move before the last)
    page.wait_for_function("(b) => { const t = window.__bpxt, w = t.slider('w').value,"
                           " v = t.table().value[0]; return v !== b"
                           " && Math.abs(parseFloat(v) - w) <= 1e-5 * Math.max(1, Math.abs(w)) }",
                           arg=before, timeout=5000)
    values = {k: v["value"] for k, v in sliders(page).items()}
    assert values["w"] < float(before)
    loss, grads = gradients("(w*x + b - y)**2", values)
    rows = table(page)
    assert number(rows["L"]["value"]) == pytest.approx(loss, rel=2e-5)
    assert number(rows["w"]["grad"]) == pytest.approx(grads["w"], rel=2e-5)
    phone_explorer.assert_no_page_errors()


def test_the_explorer_fits_every_touch_size(phone_explorer):
    """test_no_sideways_scroll_at_any_size for the explorer on a touch screen: its page, the
    drawer closed as a phone opens it, turned and resized to each touch size."""
    page = phone_explorer.page
    close_drawer(page)
    for w, h in SIZES["touch"]:
        check_fits(page, "graph", w, h)
    phone_explorer.assert_no_page_errors()


def test_the_seed_figure_shows_its_full_labels_when_wide(phone_explorer):
    """The seed graph's figure opened at 390 px (test_the_seed_figure_opens_with_its_numbers_readable),
    made 1400 px wide: its full labels come back."""
    check_wide_labels(phone_explorer.page)
    phone_explorer.assert_no_page_errors()

