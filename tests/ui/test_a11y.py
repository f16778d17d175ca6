"""Accessibility beyond the first look: reduced motion, the live region, Presentation.

(Every page's axe-core audit, in en and zh, is in test_pages.py.)
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .helpers import open_page

pytestmark = pytest.mark.browser


def test_reduced_motion_steps_without_pulses_and_the_live_region_speaks(new_page, app_url):
    from .helpers import button, js, open_app, set_slider, wait_counter

    page = new_page(reduced_motion="reduce")
    open_app(page, app_url, "mode=backward")
    set_slider(page, "Speed", 4)
    page.evaluate("""() => { const r = window.__bpx_motion = {pulses: 0, done: false}
      const loop = () => { r.pulses = Math.max(r.pulses, window.__bpxt.pulses().data.x.length)
                           if (!r.done) requestAnimationFrame(loop) }
      requestAnimationFrame(loop) }""")
    button(page, "▶ Play").click()
    n = len(js(page, "t.scene().steps.backward"))
    wait_counter(page, rf"^Step {n} / {n}$", timeout=30_000)
    assert page.evaluate("() => { window.__bpx_motion.done = true; return window.__bpx_motion.pulses }") == 0
    # the live region said a step's sentence; the text alternative lists every node
    live = page.locator("[aria-live='polite'].bpx-sr-only")
    page.wait_for_function("() => { const e = document.querySelector(\"[aria-live='polite'].bpx-sr-only\");"
                           " return e && /^Step \\d+ \\/ \\d+: dL\\/d/.test(e.textContent) }", timeout=10_000)
    assert live.count() == 1
    words = page.locator("section.bpx-sr-only li").all_text_contents()
    assert len(words) == js(page, "t.rows()")
    assert any(w.startswith("z2 = z1 + b") and "∂L/∂z2 = 5" in w for w in words), words


# the player's controls, as a student reads them from the back of a room
PLAYER_BOX = r"""() => {
  const out = []
  const walk = (root) => {
    for (const el of root.querySelectorAll('.bk-btn')) {
      const host = el.getRootNode().host
      if (host && host.classList.contains('bpx-player')) {
        const r = el.getBoundingClientRect()
        out.push({text: el.textContent.trim(), font: parseFloat(getComputedStyle(el).fontSize),
                  height: r.height, top: r.top, bottom: r.bottom, right: r.right})
      }
    }
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot)
  }
  walk(document)
  return out
}"""


def test_presentation_player_is_readable_and_hittable(new_page, app_url):
    # one page, opened at 720p, then made 1080p (a projector's screen)
    page = new_page(viewport={"width": 1280, "height": 720})
    open_page(page, app_url, "mode=backward")
    for w, h in ((1280, 720), (1920, 1080)):
        if page.viewport_size != {"width": w, "height": h}:
            page.set_viewport_size({"width": w, "height": h})
        check_presentation_player(page, w, h)


def check_presentation_player(page, w: int, h: int) -> None:
    """At ``w`` x ``h``, Presentation makes the player's controls readable and hittable from the
    back of a room, all on screen; switched off, the player's sizes come back."""
    from .helpers import button, screenshot
    # the player after a resize lays itself out again: its controls all drawn, at their sizes
    _until_players(page, "b.length >= 6 && b.every((x) => x.right <= innerWidth)")
    normal = page.evaluate(PLAYER_BOX)
    assert {b["text"] for b in normal} >= {"Graph", "Backward", "↺ Start", "◀ Step", "▶ Play", "Step ▶"}
    button(page, "Presentation").click()
    page.wait_for_function("() => document.body.classList.contains('bpx-present')")
    least = max(20, 0.022 * h)  # grows with the screen: ~24 px at 1080p
    # the player lays itself out again after the class comes: wait for its new size (if it
    # never comes, the assertions below say which control falls short)
    _until_players(page, f"b.every((x) => x.font >= {least} && x.height >= 44)")
    big = page.evaluate(PLAYER_BOX)
    for b in big:
        assert b["font"] >= least and b["height"] >= 44, f"{b['text']!r} on a projector: {b}"
        assert 0 <= b["top"] and b["bottom"] <= h and b["right"] <= w, f"{b['text']!r} off screen: {b}"
    screenshot(page, f"presentation-player-{w}x{h}", full_page=False)
    button(page, "Presentation").click()
    page.wait_for_function("() => !document.body.classList.contains('bpx-present')")
    fonts = [b["font"] for b in normal]
    _until_players(page, f"b.length === {len(fonts)} && b.every((x, i) => x.font === {json.dumps(fonts)}[i])")
    assert [b["font"] for b in page.evaluate(PLAYER_BOX)] == fonts


def _until_players(page, condition: str) -> None:
    """Until the player's boxes ``b`` (PLAYER_BOX) meet ``condition``, or 5 s."""
    try:
        page.wait_for_function(f"() => {{ const b = ({PLAYER_BOX})(); return {condition} }}", timeout=5000)
    except PlaywrightTimeout:
        pass
