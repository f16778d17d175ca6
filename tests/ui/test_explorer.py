"""The explorer as a student uses it: in headless Chromium against a real `panel serve`.

Numbers are read from the page (the values table's data source, and its rendered
cells in one test) and checked against :mod:`graphviz_core`, never against
hard-coded copies of the browser's own arithmetic.
"""

from __future__ import annotations

import math
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from components.graph_view import CAPTION_CSS
from graphviz_core import ExpressionError, gradients, parse, trace
from graphviz_core.examples import SEED

from .helpers import (button, counter, deep_text, div_text, js, node_position, number, open_app,
                      screenshot, set_slider, show_later_parts, slider_handle, sliders, table,
                      table_cells,
                      table_names, type_expression, wait_counter, wait_sliders, wait_text)

pytestmark = pytest.mark.browser

SEED_NAMES = ["w", "x", "z1", "b", "z2", "y", "z3", "L"]


def approx(x):
    # the page prints 6 significant digits
    return pytest.approx(x, rel=2e-5, abs=1e-9)


def check_against_core(page, source: str, root: str = "L") -> dict[str, float]:
    """Every variable's value and gradient, and the root's value, as the core computes them."""
    values = {name: s["value"] for name, s in sliders(page).items()}
    loss, grads = gradients(source, values)
    rows = table(page)
    assert number(rows[root]["value"]) == approx(loss), (root, rows[root], values)
    for name, g in grads.items():
        assert number(rows[name]["value"]) == approx(values[name]), (name, rows[name])
        assert number(rows[name]["grad"]) == approx(g), (name, rows[name], values)
    return values


def cells_against_source(page) -> str:
    """What the rendered table shows that its data source does not hold ("" for nothing)."""
    rows = table(page)
    shown = {row[0]: row for row in table_cells(page) if row}
    if not shown:
        return "the values table shows no rows"
    for name, row in shown.items():
        if row[2:4] != [rows[name]["value"], rows[name]["grad"]]:
            return (f"row {name}: the page shows {row[2:4]}, its data source holds "
                    f"{[rows[name]['value'], rows[name]['grad']]}")
    return ""


def assert_cells_match_source(page, at_once: bool = False) -> None:
    """The rendered table shows what its data source holds (a stale grid is a bug): a table
    off screen catches up within a quarter of a second (static/explorer/table.mjs), one on
    screen ``at_once``."""
    deadline = time.monotonic() + (0 if at_once else 3)
    while (problem := cells_against_source(page)) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert not problem, problem


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


# --- 1 --------------------------------------------------------------------------------------
def check_seed_graph(page) -> None:
    """The page as it opens: the seed graph, its sliders and numbers (read only: test 3 goes on
    to the mode buttons on the same page)."""
    assert table_names(page) == SEED_NAMES
    s = sliders(page)
    assert list(s) == ["w", "x", "b", "y"]
    assert {k: v["value"] for k, v in s.items()} == SEED.values
    rows = table(page)
    assert rows["L"]["value"] == "6.25"
    assert rows["w"]["grad"] == "7.5"
    # and a student sees the same numbers in the rendered table
    cells = table_cells(page)
    by_name = {row[0]: row for row in cells if row}
    assert by_name["L"][:3] == ["L", "z3**2", "6.25"]
    assert by_name["w"][2:4] == ["2", "7.5"]
    assert by_name["y"][3] == "-5"
    # the figure has one glyph per node, and the page has a title
    assert js(page, "t.nodes().data.x.length") == len(SEED_NAMES)
    assert "Backprop Explorer" in page.title()
    screenshot(page, "01-seed-graph")


# --- 2 --------------------------------------------------------------------------------------
def test_dragging_a_slider_updates_numbers_while_dragging_and_after(page, app_url):
    open_app(page, app_url)
    handle = slider_handle(page, "w")
    assert handle.count() == 1
    box = handle.bounding_box()
    x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(x0 - 6 * k, y0)
    # still holding the mouse: the browser has recomputed everything already
    page.wait_for_function("() => window.__bpxt.table().value[7] !== '6.25'", timeout=5000)
    during = sliders(page)["w"]["value"]
    assert during < 2.0
    check_against_core(page, SEED.source)
    # ... and so does what the student sees: the rendered cells, not just the data source
    assert_cells_match_source(page)
    assert {**slider_shown(page, "w"), "handle": None} == {**slider_value_text(page, "w"), "handle": None}
    screenshot(page, "02-while-dragging-w", full_page=False)
    page.mouse.move(x0 - 90, y0)
    page.mouse.up()
    # Chromium hands pointer moves to the page once per frame: the last one may come a frame
    # after mouse.up() returns
    page.wait_for_function("(d) => window.__bpxt.slider('w').value < d", arg=during, timeout=5000)
    final = sliders(page)["w"]["value"]
    # after release the server recomputes and sends a new scene; the URL follows
    page.wait_for_function(
        "(w) => { const s = window.__bpxt.scene(); return s && s.tape.value[0] === w }",
        arg=final, timeout=20_000)
    values = check_against_core(page, SEED.source)
    assert values["w"] == final
    assert_cells_match_source(page)
    # a value set by a script, as a drag sets it: the slider's handle and title follow, the
    # handle at once (no glide), its track painted with the page (no layers of its own)
    moved = page.evaluate(SET_AND_WATCH, {"name": "w", "value": -1.25})
    assert moved == {"animations": 0, "layers": 0, "parts": 3}, moved
    page.wait_for_function("() => window.__bpxt.table().value[0] === '-1.25'", timeout=5000)
    shown = slider_shown(page, "w")
    assert {**shown, "handle": None} == {**slider_value_text(page, "w"), "handle": None}
    # the handle's aria-valuenow: noUiSlider rounds it to one decimal (-1.25 -> -1.3)
    assert float(shown["handle"]) == pytest.approx(-1.25, abs=0.06)
    assert_cells_match_source(page)
    # the table on screen: its cells follow a value in the frame that draws it
    page.locator(".bpx-values").first.scroll_into_view_if_needed()
    page.evaluate(SET_AND_WATCH, {"name": "w", "value": 0.75})
    page.wait_for_function("() => window.__bpxt.table().value[0] === '0.75'", timeout=5000)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => r()))")
    assert_cells_match_source(page, at_once=True)
    # (the URL holds 12 significant digits; the slider's float may carry noise past them)
    page.wait_for_function("(w) => { const q = new URLSearchParams(location.search).get('w');"
                           " return q !== null && Math.abs(Number(q) - w) < 1e-9 }",
                           arg=final, timeout=20_000)


# what a slider shows of its value: its handle's aria-valuenow (noUiSlider's rounding) and
# tooltip, its title's number
SLIDER_SHOWN = """(name) => {
  const view = window.__bpxt.viewOf(window.__bpxt.slider(name))
  const handle = view.slider_el.querySelector('.noUi-handle')
  const tip = handle.querySelector('.noUi-tooltip')
  return {handle: handle.getAttribute('aria-valuenow'), tooltip: tip ? tip.textContent : null,
          title: view.title_el.textContent}
}"""


# sets a slider's value as a drag does and says, in the same task, how its handle moves:
# the animations running on its track's parts and how many of them ask for a layer of their own.
# Panel's theme fades the handle's colours (background, border, shadow: 0.15 s) when it stops
# being :active or :focus - a released drag starts one - and moves nothing: those are not
# counted (the fade seen right after a release was the `{'animations': 1}` of session 7).
SET_AND_WATCH = """({name, value}) => {
  const model = window.__bpxt.slider(name), view = window.__bpxt.viewOf(model)
  model.value = value
  const parts = [...view.slider_el.querySelectorAll('.noUi-connect, .noUi-origin, .noUi-handle')]
  const fade = new Set(['background-color', 'border-color', 'box-shadow'])
  return {animations: parts.reduce((n, el) => n + el.getAnimations()
            .filter((a) => !fade.has(a.transitionProperty)).length, 0),
          layers: parts.filter((el) => getComputedStyle(el).willChange !== 'auto').length,
          parts: parts.length}
}"""


def slider_shown(page, name: str) -> dict:
    return page.evaluate(SLIDER_SHOWN, name)


def slider_value_text(page, name: str) -> dict:
    """What Bokeh draws for the slider's model value (its view's own formatting)."""
    text = js(page, f"t.viewOf(t.slider({name!r})).pretty(t.slider({name!r}).value)")
    return {"handle": None, "tooltip": text, "title": f"{name}: {text}"}


# --- 3 --------------------------------------------------------------------------------------
def test_the_seed_page_through_its_modes_a_node_click_and_the_requires_grad_switches(page, app_url):
    open_app(page, app_url)
    check_seed_graph(page)
    assert div_text(page, "bpx-caption").startswith("Graph:")
    bottoms = js(page, "t.bottoms()")
    assert bottoms[SEED_NAMES.index("w")] == "parameter"

    button(page, "Forward").click()
    page.wait_for_function("() => window.__bpxt.div('bpx-caption').text.includes('Forward:')")
    # the server's scene for the new mode follows; wait for the settled picture
    page.wait_for_function("() => window.__bpxt.bottoms()[7] === '6.25'", timeout=20_000)
    assert "every node's value" in div_text(page, "bpx-caption")
    bottoms = js(page, "t.bottoms()")
    assert bottoms[SEED_NAMES.index("L")] == "6.25"
    assert bottoms[SEED_NAMES.index("z2")] == "3.5"
    page.wait_for_function("() => new URLSearchParams(location.search).get('mode') === 'forward'")
    # (one page: presentation mode, switched on and off again in forward mode)
    check_presentation_mode_makes_labels_larger(page)

    button(page, "Backward").click()
    page.wait_for_function("() => window.__bpxt.div('bpx-caption').text.includes('Backward:')")
    page.wait_for_function("() => window.__bpxt.bottoms()[0].startsWith('∂')", timeout=20_000)
    bottoms = js(page, "t.bottoms()")
    assert bottoms[SEED_NAMES.index("w")] == "∂L/∂w = 7.5"
    assert bottoms[SEED_NAMES.index("y")] == "∂L/∂y = -5"
    # the edges carry "x local derivative -> contribution"
    labels = js(page, "t.edgeLabels()")
    assert any(re.fullmatch(r"×\S+ → 7\.5", lab) for lab in labels), labels
    wait_counter(page, rf"^{len(js(page, 't.scene().steps.backward'))} steps$")
    page.wait_for_function("() => new URLSearchParams(location.search).get('mode') === 'backward'")
    assert query(page)["mode"] == "backward"
    assert js(page, "t.find('panel.models.widgets.RadioButtonGroup').active") == 2
    screenshot(page, "03-backward-mode")
    # (the same page, now the seed graph in backward mode: a click selects a node, the
    # requires_grad switches prune the pass)
    check_clicks_and_requires_grad_switches(page)


# --- 4 --------------------------------------------------------------------------------------
RECORD_PLAYBACK = """() => {
  const rec = window.__bpx_rec = {counters: new Set(), maxPulses: 0, math: false, labels: new Set(), done: false}
  const t = window.__bpxt
  // every text the step counter is given (a sample per frame misses a step's text when frames
  // come later than a step lasts, as on a loaded machine; the page writes the text in place,
  // and a view Bokeh makes again would escape an observer of the old one's element)
  const counter = t.div('bpx-counter'), setv = counter.setv.bind(counter)
  counter.setv = (attrs, options) => {
    if (!rec.done && attrs && "text" in attrs) rec.counters.add(attrs.text)
    return setv(attrs, options)
  }
  const loop = () => {
    rec.counters.add(t.div('bpx-counter').text)
    rec.maxPulses = Math.max(rec.maxPulses, t.pulses().data.x.length)
    const view = t.viewOf(t.div('bpx-caption'))
    const root = view && (view.el.shadowRoot || view.el)
    if (root && root.querySelector('mjx-container, .MathJax, svg')) rec.math = true
    rec.labels.add(t.find('panel.models.widgets.Button', (b) => /Play|Pause/.test(b.label)).label)
    if (!rec.done) requestAnimationFrame(loop)
  }
  requestAnimationFrame(loop)
}"""


# computed styles of the caption (a backward step shown) and of the flow legend
CAPTION_STYLE = """() => {
  const t = window.__bpxt
  const caption = t.viewOf(t.div('bpx-caption')).el, legend = t.viewOf(t.div('bpx-legend')).el
  const style = (el) => getComputedStyle(el)
  const kind = caption.shadowRoot.querySelector('.bpx-step-kind')
  const formula = caption.shadowRoot.querySelector('.bpx-formula')
  return {host: parseFloat(style(caption).fontSize), minHeight: style(caption).minHeight,
          formula: parseFloat(style(formula).fontSize), weight: +style(kind).fontWeight,
          legend: style(legend.shadowRoot.querySelector('.bpx-flow-legend')).display,
          item: style(legend.shadowRoot.querySelector('.bpx-flow-item')).whiteSpace}
}"""


def test_playing_the_backward_pass(page, app_url):
    open_app(page, app_url, "mode=backward")
    n = len(js(page, "t.scene().steps.backward"))
    assert n >= 8
    assert counter(page) == f"{n} steps"
    set_slider(page, "Speed", 4)  # 275 ms a step instead of 1.1 s
    page.evaluate(RECORD_PLAYBACK)
    button(page, "▶ Play").click()
    # read off the recorder: at 275 ms a step, a loaded machine can be past step 2 before a
    # wait on the live counter starts
    page.wait_for_function("(s) => window.__bpx_rec.counters.has(s)", arg=f"Step 2 / {n}",
                           timeout=20_000)
    screenshot(page, "04-backward-playing", full_page=False)
    wait_counter(page, rf"^Step {n} / {n}$", timeout=20_000)
    page.wait_for_function("() => window.__bpxt.find('panel.models.widgets.Button',"
                           " (b) => /Play|Pause/.test(b.label)).label === '▶ Play'", timeout=5000)
    rec = page.evaluate("() => { const r = window.__bpx_rec; r.done = true;"
                        " return {counters: [...r.counters], maxPulses: r.maxPulses, math: r.math,"
                        " labels: [...r.labels]} }")
    seen = {int(m.group(1)) for c in rec["counters"] if (m := re.fullmatch(rf"Step (\d+) / {n}", c))}
    assert seen == set(range(1, n + 1)), rec["counters"]
    assert rec["maxPulses"] > 0, "no pulse moved along an edge during play"
    assert rec["math"], "the caption never showed MathJax output"
    assert "❚❚ Pause" in rec["labels"] and "▶ Play" in rec["labels"]
    # the pulses are gone at the end, and the last step's caption is a formula for the gradient
    # of an input (both follow the last step: wait, a read could come a frame early)
    page.wait_for_function("() => window.__bpxt.pulses().data.x.length === 0", timeout=5000)
    page.wait_for_function("() => window.__bpxt.div('bpx-caption').text.includes('$$')", timeout=5000)

    button(page, "◀ Step").click()
    assert wait_counter(page, rf"^Step {n - 1} / {n}$")
    # the caption's and the legend's own rules (graph_view.CAPTION_CSS, LEGEND_CSS) reach them
    style = page.evaluate(CAPTION_STYLE)
    percent = int(re.search(r"\.bpx-formula \{ font-size: (\d+)%", CAPTION_CSS).group(1))
    assert style["formula"] == pytest.approx(style["host"] * percent / 100, abs=0.5), style
    assert style["weight"] == int(re.search(r"\.bpx-step-kind \{ font-weight: (\d+)", CAPTION_CSS).group(1))
    assert style["minHeight"] == re.search(r":host \{[^}]*min-height: (\w+)", CAPTION_CSS).group(1)
    assert (style["legend"], style["item"]) == ("flex", "nowrap"), style  # a sample never splits
    button(page, "◀ Step").click()
    assert wait_counter(page, rf"^Step {n - 2} / {n}$")
    button(page, "Step ▶").click()
    assert wait_counter(page, rf"^Step {n - 1} / {n}$")
    button(page, "↺ Start").click()
    assert wait_counter(page, rf"^{n} steps$")
    # keyboard: not typing in an input, so the arrows step
    page.locator(".bpx-stats-line").click()
    page.keyboard.press("ArrowRight")
    assert wait_counter(page, rf"^Step 1 / {n}$")
    page.keyboard.press("ArrowRight")
    assert wait_counter(page, rf"^Step 2 / {n}$")
    page.keyboard.press("ArrowLeft")
    assert wait_counter(page, rf"^Step 1 / {n}$")
    page.keyboard.press("Home")
    assert wait_counter(page, rf"^{n} steps$")
    assert counter(page) == f"{n} steps"  # the rendered Div agrees with its model
    # the same page: the labels' writer against a layout change, then "Take a step"
    check_fewer_labels_and_a_layout_change_in_one_task_draw_without_errors(page)
    check_take_a_step_moves_the_parameters_and_the_loss_falls(page)


# --- 4a: the labels' writer (was test_label_writes.py) ------------------------------------
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


def check_fewer_labels_and_a_layout_change_in_one_task_draw_without_errors(page) -> None:
    """On the seed graph in backward mode (test 4's page). The graph's labels survive a drawing
    with fewer labels followed, in the same task, by a layout change (a mode switch does this:
    fewer labels, then a taller caption or a new figure height). BokehJS rebuilds a text
    glyph's labels a microtask after the source changes, but a layout change repaints the
    figure at once: a source that got shorter made it read fonts past the end of its columns
    ("Could not resolve 'undefined undefined helvetica' as a font", an uncaught error seen in
    CI). The page's own writer (static/explorer/sources.mjs) is driven here against the page's
    real label source and figure."""
    held = page.evaluate(SHRINK_THEN_RELAYOUT)
    # in the task that drew two labels the source kept its 60 rows, 58 of them blank
    assert held == [60, 2, 60, 2]
    # the blank rows are gone afterwards, and the page still draws: its numbers are there
    page.wait_for_function("() => { const s = window.__bpxt.labels().data.text;"
                           " return s.length < 60 && !s.includes(null) }", timeout=5000)
    rows = js(page, "t.labels().data.text.length")
    blank = js(page, "t.labels().data.text.filter((s) => s === null).length")
    assert blank == 0 and rows < 60
    # (the `page` fixture fails the test on any uncaught error in the page)


# --- 4b: Take a step (was test_descent_ui.py) ----------------------------------------------
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


def check_take_a_step_moves_the_parameters_and_the_loss_falls(page) -> None:
    """On the seed graph in backward mode (test 4's page). Take a step (components/descent.py)
    driven in the browser: θ ← θ − η·∂L/∂θ moves the parameters (never the data) by the core's
    gradients, the loss falls, too large an η is said, and the start comes back."""
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


# --- 5 --------------------------------------------------------------------------------------
BAD = ["w*foo(x)", "x//2", "__import__('os')"]


def check_bad_expressions_are_refused_inline_and_a_good_one_applies(page) -> None:
    """On the seed graph as it opened: each bad expression is refused in turn, then a good one
    applies (test 11's first student)."""
    scene_before = js(page, "t.meta().data.json[0]")
    for bad in BAD:
        with pytest.raises(ExpressionError) as refused:
            parse(bad)
        type_expression(page, bad)
        message = page.locator(".bpx-error [role=alert]")
        expect(message).to_contain_text(f"(position {refused.value.position})", timeout=20_000)
        expect(message).to_contain_text(refused.value.message, timeout=20_000)
        text = message.inner_text()
        assert text.startswith("Not applied:"), text
        assert f"(position {refused.value.position})" in text
        assert refused.value.message in text
        caret = page.locator(".bpx-caret").inner_text()
        assert caret.splitlines()[1] == " " * refused.value.position + "^"
        everything = deep_text(page)
        for word in ("Traceback", "File \"", "Error:", "Exception"):
            assert word not in everything, word
        assert table_names(page) == SEED_NAMES
        assert js(page, "t.meta().data.json[0]") == scene_before
        assert list(sliders(page)) == ["w", "x", "b", "y"]
        if bad == "w*foo(x)":
            screenshot(page, "05-bad-expression", full_page=False)

    type_expression(page, "u*v + sin(u)")
    page.wait_for_function("() => window.__bpxt.table().name.includes('u')", timeout=20_000)
    wait_sliders(page, ["u", "v"])  # the table can arrive a moment before the new sliders
    names = table_names(page)
    assert names[:2] == ["u", "v"] and len(names) == 5  # u, v, u*v, sin(u), the sum
    check_against_core(page, "u*v + sin(u)", root=names[-1])
    assert page.locator(".bpx-error [role=alert]").count() == 0
    page.wait_for_function("() => (new URLSearchParams(location.search).get('expr') || '')"
                           ".replace(/\\s/g, '') === 'u*v+sin(u)'", timeout=20_000)


# --- 6 --------------------------------------------------------------------------------------
def test_a_link_restores_the_state(page, app_url):
    open_app(page, app_url, "expr=u*v%2Bsin(u)&u=2&v=-1.5&mode=backward")
    s = sliders(page)
    assert list(s) == ["u", "v"]
    assert s["u"]["value"] == 2 and s["v"]["value"] == -1.5
    assert js(page, "t.find('panel.models.widgets.RadioButtonGroup').active") == 2
    assert "bk-active" in button(page, "Backward").get_attribute("class")
    assert div_text(page, "bpx-caption").startswith("Backward:")
    names = table_names(page)
    check_against_core(page, "u*v + sin(u)", root=names[-1])
    _, grads = gradients("u*v + sin(u)", {"u": 2, "v": -1.5})
    assert number(table(page)["u"]["grad"]) == approx(-1.5 + math.cos(2)) == approx(grads["u"])

    # (a value outside -3..3 widens its slider: test_hostile_ui.py's fault link, whose u is 1000)
    # the same page: an expression typed keeps u = 2 (the server's L) and a slider moved to 3
    # (the page's own replay, no server yet) both compute signed zeros as the core
    check_signed_zeros_as_the_core(page)


# --- 7 --------------------------------------------------------------------------------------
def check_clicks_and_requires_grad_switches(page) -> None:
    """On the seed graph in backward mode (test 3's page): a click selects a node (its details),
    the switches prune the pass."""
    check_clicking_a_node_shows_its_local_derivatives(page)
    for name in ("x", "y"):
        page.locator(".bk-CheckboxGroup label", has_text=re.compile(rf"^\s*{name}\s*$")) \
            .locator("input").uncheck()
    page.wait_for_function("() => { const d = window.__bpxt.table(); const g = (n) => d.grad[d.name.indexOf(n)];"
                           " return g('x') === 'not computed' && g('y') === 'not computed' }",
                           timeout=20_000)
    rows = table(page)
    assert rows["w"]["grad"] == "7.5" and rows["b"]["grad"] == "5"
    report = SEED.build(requires_grad={"x": False, "y": False}).backward()
    assert report.skipped > 0
    # the stats line, the caption (computed in the browser) and the drawing follow the table:
    # wait for each (a read right after the table could come before them), then check
    counts = f"backward: {report.evaluated} local derivatives evaluated, {report.skipped} skipped"
    wait_text(page, ".bpx-stats-line", counts)
    stats = div_text(page, "bpx-stats-line")
    m = re.search(r"backward: (\d+) local derivatives evaluated, (\d+) skipped", stats)
    assert m, stats
    assert (int(m.group(1)), int(m.group(2))) == (report.evaluated, report.skipped)
    wait_text(page, ".bpx-caption", f"{report.skipped} skipped")
    # pruned leaves are drawn dimmed and labelled
    page.wait_for_function("(i) => window.__bpxt.bottoms()[i] === 'not computed'",
                           arg=SEED_NAMES.index("x"), timeout=10_000)
    screenshot(page, "07-requires-grad-off", full_page=False)


# --- 8 --------------------------------------------------------------------------------------
def check_clicking_a_node_shows_its_local_derivatives(page) -> None:
    """On the seed graph as it opened in backward mode: a click on z2, then on the leaf w."""
    assert "Click a node" in div_text(page, "bpx-details")
    click_node(page, "z2")
    wait_text(page, ".bpx-details", "z2 = z1 + b")
    text = div_text(page, "bpx-details")
    g = trace(SEED.build())
    (z2,) = [n for n in g if g.nodes[n]["name"] == "z2"]
    assert "Local derivatives" in text
    for u, _, _, d in g.in_edges(z2, keys=True, data=True):
        assert f"∂z2/∂{g.nodes[u]['name']} = {d['local']:g}" in text
    assert "Chain rule" in text
    assert f"∂L/∂z2 = {g.nodes[z2]['grad']:g}" in text
    assert "z3" in text.split("Chain rule", 1)[1]  # its gradient comes from its child z3
    screenshot(page, "08-selected-node-z2", full_page=False)

    # a leaf: no local derivatives of its own, its gradient from z1
    click_node(page, "w")
    wait_text(page, ".bpx-details", "∂L/∂w = 7.5")


def click_node(page, name: str) -> None:
    """Click a node's glyph; under heavy load a tap can be lost, so a student clicks again."""
    index = SEED_NAMES.index(name)
    for attempt in range(3):
        x, y = node_position(page, name)
        page.mouse.click(x, y)
        try:
            page.wait_for_function("(i) => { const s = window.__bpxt.nodes().selected.indices;"
                                   " return s.length === 1 && s[0] === i }", arg=index, timeout=3000)
            return
        except Exception:
            page.wait_for_timeout(300)
    raise AssertionError(f"clicking node {name} at {x:.0f},{y:.0f} never selected it")


# --- 9 --------------------------------------------------------------------------------------
# (faults named as the core names them, in a link and after sliders move: test_hostile_ui.py's
# fault link, with every kind of fault)


def check_signed_zeros_as_the_core(page) -> None:
    """Issue 10: (u - u) * (-u) is -0.0 and its -1st power -inf, so L = -u: on the server (the
    expression typed on a page where u = 2) and in the page's own replay (a slider moved, no
    server yet)."""
    source = "tanh(((u - u) * (-u))**-1) * u"
    assert sliders(page)["u"]["value"] == 2
    type_expression(page, source)
    page.wait_for_function("() => { const d = window.__bpxt.table(); return d.name.indexOf('v') < 0"
                           " && d.value[d.name.indexOf('L')] === '-2' }", timeout=20_000)
    wait_sliders(page, ["u"])
    set_slider(page, "u", 3.0)
    page.wait_for_function("() => window.__bpxt.table().value.includes('-3')", timeout=5000)
    loss, grads = gradients(source, {"u": 3.0})
    rows = table(page)
    assert number(rows["L"]["value"]) == loss == -3.0
    # d/du passes tanh'(-inf) * d(-inf)/du = 0 * inf: nan, named the same in the page
    assert math.isnan(number(rows["u"]["grad"])) and math.isnan(grads["u"])
    assert rows["u"]["fault"].removeprefix("⚠ ") == "gradient is nan"


# --- 10 -------------------------------------------------------------------------------------
def check_presentation_mode_makes_labels_larger(page) -> None:
    """On the seed graph in forward mode: Presentation makes the labels and the formula larger,
    hides no label, and switched off again gives the sizes back."""
    before = js(page, "{sizes: t.labelSizes(), bottoms: t.bottoms(),"
                      " caption: parseFloat(getComputedStyle(t.viewOf(t.div('bpx-caption')).el).fontSize)}")
    sizes_before = {int(s.removesuffix("px")) for s in before["sizes"]}
    screenshot(page, "10a-before-presentation", full_page=False)
    button(page, "Presentation").click()
    page.wait_for_function("() => document.body.classList.contains('bpx-present')")
    page.wait_for_function("(old) => parseInt(window.__bpxt.labelSizes()[0]) > old",
                           arg=max(sizes_before), timeout=5000)
    after = js(page, "{sizes: t.labelSizes(), bottoms: t.bottoms()}")
    sizes_after = {int(s.removesuffix("px")) for s in after["sizes"]}
    assert min(sizes_after) > max(sizes_before)
    # larger, and still shown: the value labels under the nodes must not vanish
    assert after["bottoms"] == before["bottoms"], "presentation mode hid the node labels"
    # the step's formula grows with the screen too
    assert js(page, "parseFloat(getComputedStyle(t.viewOf(t.div('bpx-caption')).el).fontSize)") > (
        before["caption"])
    screenshot(page, "10b-presentation", full_page=False)
    button(page, "Presentation").click()
    page.wait_for_function("() => !document.body.classList.contains('bpx-present')")
    try:  # the figure redraws its labels after the class goes
        page.wait_for_function("(b) => JSON.stringify(window.__bpxt.labelSizes()) === JSON.stringify(b)",
                               arg=before["sizes"], timeout=5000)
    except PlaywrightTimeout:
        pass
    assert js(page, "t.labelSizes()") == before["sizes"]


# --- 11 -------------------------------------------------------------------------------------
def test_two_sessions_do_not_share_state(new_page, app_url):
    a, b = new_page(), new_page(fresh=True)  # two students: two browsers
    open_app(a, app_url)
    open_app(b, app_url)
    # the first types bad expressions (each refused) and then u*v + sin(u)
    check_bad_expressions_are_refused_inline_and_a_good_one_applies(a)
    set_slider(b, "w", -1.0, release=True)
    b.wait_for_function("() => { const s = window.__bpxt.scene(); return s.tape.value[0] === -1 }",
                        timeout=20_000)
    # each kept its own
    wait_sliders(a, ["u", "v"])
    assert table_names(b) == SEED_NAMES
    check_against_core(b, SEED.source)
    assert sliders(b)["w"]["value"] == -1.0
    b.wait_for_function("() => new URLSearchParams(location.search).get('w') === '-1'", timeout=20_000)
    # reloaded, b's page comes back from its URL; a fresh page is the seed, untouched by both
    b.reload()
    b.wait_for_function("() => window.__bpxt && window.__bpxt.rows() > 0", timeout=30_000)
    assert query(b).get("w") == "-1"  # b's URL now carries b's state
    assert sliders(b)["w"]["value"] == -1.0
    assert list(sliders(a)) == ["u", "v"]
    open_app(a, app_url)  # the first student's browser, opening the app's link afresh
    assert table_names(a) == SEED_NAMES and sliders(a)["w"]["value"] == 2
