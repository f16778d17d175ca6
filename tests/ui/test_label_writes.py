"""The graph's labels survive a drawing with fewer labels followed, in the same task, by a
layout change (a mode switch does this: fewer labels, then a taller caption or a new figure
height). BokehJS rebuilds a text glyph's labels a microtask after the source changes, but a
layout change repaints the figure at once: a source that got shorter made it read fonts past
the end of its columns ("Could not resolve 'undefined undefined helvetica' as a font", an
uncaught error seen in CI). The page's own writer (static/explorer/sources.mjs) is driven
here against the page's real label source and figure."""

from __future__ import annotations

import pytest

from .helpers import js, open_app

pytestmark = pytest.mark.browser

# many rows, then few with a layout change in the same task; then again after a pause
SHRINK_THEN_RELAYOUT = r"""async () => {
  const { Written } = await import('/assets/explorer/sources.mjs')
  const { BLANK_LABEL } = await import('/assets/explorer/labels.mjs')
  const t = window.__bpxt, source = t.labels(), fig = t.figure()
  const real = {}
  for (const key of Object.keys(source.data)) real[key] = Array.from(source.data[key])
  const rows = (k) => {
    const c = {}
    for (const key of Object.keys(real)) c[key] = Array.from({ length: k }, (_, i) => real[key][i % real[key].length])
    return c
  }
  const tick = () => new Promise((resolve) => setTimeout(resolve, 100))
  const writer = new Written(), held = []
  for (const height of [7, -7]) {
    writer.updateText(source, rows(60), BLANK_LABEL)
    await tick()
    writer.updateText(source, rows(2), BLANK_LABEL)
    held.push(source.data.text.length, source.data.text.filter((s) => s !== null).length)
    fig.setv({ height: fig.height + height })
    await tick()
  }
  // the page draws its own labels again: its writer meets a source it did not write
  window.__bpxt.figure().setv({ height: fig.height })
  return held
}"""


def test_fewer_labels_and_a_layout_change_in_one_task_draw_without_errors(page, app_url):
    open_app(page, app_url, "mode=backward")
    held = page.evaluate(SHRINK_THEN_RELAYOUT)
    # in the task that drew two labels the source kept its 60 rows, 58 of them blank
    assert held == [60, 2, 60, 2]
    page.wait_for_timeout(300)
    # the blank rows are gone afterwards, and the page still draws: its numbers are there
    rows = js(page, "t.labels().data.text.length")
    blank = js(page, "t.labels().data.text.filter((s) => s === null).length")
    assert blank == 0 and rows < 60
    # the `page` fixture fails the test on any uncaught error in the page
