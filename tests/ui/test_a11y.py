"""Accessibility of every page, as axe-core audits it (WCAG 2.0/2.1/2.2 A and AA rules).

axe-core comes from npm (``tests/ui/package.json``, installed by ``tools/install-test-deps.sh``
into ``tests/ui/node_modules``); it is injected into the running page and walks Panel's open
shadow roots. A serious or critical finding on any page (every lesson, in en and zh) fails.
"""

from __future__ import annotations

import pytest

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
