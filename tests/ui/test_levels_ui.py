"""Levels of detail in the page: mlp(2, 60, 60, 1) opens as a node per layer; a layer opens
to its neurons, a neuron to its ops, and back - by mouse, keyboard and touch; the level
and what is open live in the URL.

Numbers are checked against :mod:`graphviz_core` (the core's layer norms of the traced
graph the server builds), never against the browser's own arithmetic.
"""

from __future__ import annotations

import functools
from urllib.parse import parse_qs, quote, urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from graphviz_core import trace
from graphviz_core.levels import layer_matrix, layer_norms
from graphviz_core.mlp import ScalarMLP

from .helpers import (PHONE, button, close_drawer, focused, js, number, open_app, table)

pytestmark = pytest.mark.browser

SOURCE = "mlp(2, 60, 60, 1)"
QUERY = f"expr={quote(SOURCE)}&mode=backward"
LAYERS = ["x", "h1", "h2", "out", "L"]


def names(page) -> list[str]:
    return js(page, "t.scene().nodes.name")


def wait_drawn(page, count: int, timeout: float = 60_000) -> None:
    """Until the scene has ``count`` nodes and the figure draws them."""
    page.wait_for_function(
        "(n) => { const t = window.__bpxt; return t.scene().nodes.id.length === n"
        " && t.nodes().data.x.length === n }", arg=count, timeout=timeout)


def node_xy(page, name: str) -> tuple[float, float]:
    return tuple(js(page, "(() => { const i = t.scene().nodes.name.indexOf(arg);"
                          " const n = t.nodes().data; return t.toScreen(n.x[i], n.y[i]) })()", name))


def query_of(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def wait_query(page, key: str, value: str | None, timeout: float = 10_000) -> None:
    page.wait_for_function(
        "([k, v]) => new URLSearchParams(location.search).get(k) === v", arg=[key, value],
        timeout=timeout)


def core_graph(values: dict):
    return _core_graph(tuple(sorted(values.items())))


@functools.lru_cache(maxsize=2)
def _core_graph(values: tuple):
    """The traced 11.6k-node graph at ``values`` (built once: the layer norms and the weight
    matrix are read from the same one)."""
    groups = {}
    return trace(ScalarMLP(2, (60, 60), 1).build(dict(values), groups=groups), groups=groups)


def core_norms(values: dict) -> dict[str, tuple[float, float]]:
    return layer_norms(core_graph(values))


def check_weight_matrix(page) -> None:
    """With the layer h2 open: the weight matrix shows the core's numbers, and pointing at a cell
    lights the edge it weighs."""
    matrix = "t.find('ColumnDataSource', (m) => 'weight' in m.data && 'slot' in m.data)"
    # the matrix comes from the server: wait for h2's (a read right after the drawing could see
    # none yet, or the one shown before)
    page.wait_for_function(f"() => {{ const t = window.__bpxt, m = {matrix};"
                           " return m && m.data.weight.length === 3600 && m.data.neuron.includes('h2[24]') }",
                           timeout=30_000)
    cells = js(page, f"{matrix}.data")
    x = {name: js(page, f"t.slider('{name}').value") for name in ("x0", "x1")}
    m = layer_matrix(core_graph(x), "h2")  # the layer shown: the one opened last
    assert len(cells["weight"]) == 60 * 60
    k = cells["neuron"].index("h2[24]") + 23
    assert (cells["neuron"][k], cells["input"][k]) == ("h2[24]", "h1[23]")
    assert cells["weight"][k] == m["weight"][24][23] and cells["grad"][k] == m["grad"][24][23]
    # pointing at the cell lights the edge that carries h1[23] into h2[24]: here the edge
    # from the closed layer h1 to the neuron h2[24]
    heat = page.locator(".bpx-heatmap").first
    heat.scroll_into_view_if_needed()
    box = heat.bounding_box()
    lit = None
    for fx in (0.3, 0.4, 0.5):  # the first point over a cell (the plot has margins)
        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * 0.5)
        try:
            page.wait_for_function("() => window.__bpxt.source(['xs', 'ys']).data.xs.length > 0",
                                   timeout=3_000)
        except PlaywrightTimeout:
            continue
        lit = js(page, "t.source(['xs', 'ys']).data.xs.length")
        break
    assert lit == 1
    lit_x = js(page, "t.source(['xs', 'ys']).data.xs[0]")
    scene_names = names(page)
    xs = js(page, "t.scene().nodes.x")
    assert min(lit_x) >= xs[scene_names.index("h1")] - 1e-9
    assert max(lit_x) <= xs[scene_names.index("h2[0]")] + 1e-9
    page.mouse.move(5, 5)  # the pointer leaves: nothing lit
    page.wait_for_function("() => window.__bpxt.source(['xs', 'ys']).data.xs.length === 0",
                           timeout=20_000)


def test_layers_open_to_neurons_and_ops_by_mouse_and_back(page, app_url):
    open_app(page, app_url, QUERY, timeout=120_000)  # a link without a level, as old links are
    assert names(page) == LAYERS  # opens at the layer level
    # a few edges, readable: one per layer pair
    assert len(js(page, "t.scene().edges.u")) == 4
    # a layer's row: the norms of its output vector and of its gradient, as the core has them
    x = {name: js(page, f"t.slider('{name}').value") for name in ("x0", "x1")}
    norms = core_norms(x)
    rows = table(page)
    for layer in ("x", "h1", "h2"):
        assert rows[layer]["value"].startswith("‖·‖ = ")
        assert number(rows[layer]["value"].split("= ")[1]) == pytest.approx(norms[layer][0], rel=2e-5)
        assert number(rows[layer]["grad"].split("= ")[1]) == pytest.approx(norms[layer][1], rel=2e-5)
    assert number(rows["L"]["value"]) == pytest.approx(norms["L"][0], rel=2e-5)
    # backward: edge widths follow the gradient carried back, and a legend says so
    # (the view's own source: the overlay's window of edges has the same columns)
    widths = js(page, "window.__bpx_views.find((v) => v.scene).args.edges.data.width")
    assert len(set(widths)) > 1 and max(widths) > 2
    assert "‖·‖" not in js(page, "t.div('bpx-legend').text") and js(page, "t.div('bpx-legend').visible")
    # a drag frame: the legend's scale follows the edges on screen at once (written in place,
    # view.mjs legend), and what it shows is the model's text
    legend = js(page, "t.div('bpx-legend').text")
    follows = """([before, same]) => {
      const t = window.__bpxt, m = t.div('bpx-legend'), shown = document.createElement('div')
      shown.innerHTML = m.text
      return (m.text === before) === same && t.deepText(t.viewOf(m).markup_el) === shown.textContent
    }"""
    js(page, "(t.slider('x0').value = t.slider('x0').value > 0 ? -1.25 : 1.25, 0)")
    page.wait_for_function(follows, arg=[legend, False], timeout=10_000)
    js(page, "(t.slider('x0').value = arg, 0)", x["x0"])  # back where the server has it
    page.wait_for_function(follows, arg=[legend, True], timeout=10_000)

    page.mouse.click(*node_xy(page, "h2"))
    wait_drawn(page, 64)
    assert "h2[7]" in names(page) and "h2" not in names(page)
    wait_query(page, "open", "h2")
    assert query_of(page)["level"] == "layer"
    page.mouse.click(*node_xy(page, "h2[7]"))
    wait_drawn(page, 64 - 1 + 182)
    assert js(page, "t.scene().nodes.group.filter((g) => g === 'h2[7]').length") == 182
    wait_query(page, "open", "h2,h2[7]")
    # Back closes the neuron, then the layer
    button(page, "◀ Back: close h2[7]").click()
    wait_drawn(page, 64)
    # the open layer's weight matrix (a link with open=h2 draws the same picture; the link test
    # below restores a neuron opened in a layer)
    check_weight_matrix(page)
    button(page, "◀ Back: close h2").click()
    wait_drawn(page, 5)
    wait_query(page, "open", None)
    assert names(page) == LAYERS
    # at the neurons, h1 to h2 (3,600 edges) is a shaded band under its strongest edges; a drag
    # moves edges between band and lines, and the legend counts the band's edges as drawn
    button(page, "Neurons").click()
    wait_drawn(page, 126)
    band = """(before) => {
      const t = window.__bpxt, d = window.__bpx_views.find((v) => v.scene).args.edges.data
      const lines = d.xs.reduce((n, xs) => n + xs.filter((x) => x !== x).length + 1, 0)
      const hidden = t.scene().edges.u.length - lines, m = t.div('bpx-legend')
      const said = /(\\d+) more edges, each below/.exec(m.text)
      const shown = t.deepText(t.viewOf(m).markup_el)
      return t.source(['xs', 'ys', 'color']).data.xs.length === 1 && hidden > 0 && said && +said[1] === hidden
        && shown.includes(said[0]) && (before === null || m.text !== before) && m.text
    }"""
    legend = page.wait_for_function(band, arg=None, timeout=60_000).json_value()
    js(page, "(t.slider('x0').value = t.slider('x0').value > 0 ? -1.25 : 1.25, 0)")
    page.wait_for_function(band, arg=legend, timeout=10_000)
    check_nodes_above_edges(page)


# where each renderer of nodes and labels is painted: BokehJS's upper canvas ("overlay") or
# the lower one with the edges ("glyph")
LEVELS = """() => { const t = window.__bpxt, nodes = t.nodes(), labels = t.labels()
  return t.figure().renderers.filter((r) => r.data_source === nodes || r.data_source === labels).map((r) => r.level) }"""


# over 30 frames of playback: the glyph renderers' elements laid out on the page, and the
# changes to their <style>s
PLACED_WHILE_PLAYING = """(async () => {
  const view = Bokeh.index.find_one(window.__bpxt.figure())
  const hosts = [...view.renderer_views.values()].filter((r) => r.model.type === 'GlyphRenderer').map((r) => r.el)
  let restyled = 0
  const seen = new MutationObserver((records) => { restyled += records.length })
  for (const el of hosts) seen.observe(el.shadowRoot, {subtree: true, childList: true, characterData: true})
  const frame = () => new Promise((r) => requestAnimationFrame(r))
  let frames = 0
  for (; frames < 30; frames++) await frame()
  await new Promise((r) => setTimeout(r, 0))  // the observer's records
  seen.disconnect()
  const placed = hosts.filter((el) => getComputedStyle(el).display !== 'none').length
  return {placed, restyled, frames}
})()"""


def figure_pixels(page):
    from io import BytesIO

    from PIL import Image
    page.wait_for_timeout(300)  # two repaints' time: the canvases settle
    return Image.open(BytesIO(page.locator(".bpx-figure").first.screenshot())).convert("RGB")


def check_nodes_above_edges(page) -> None:
    """A drag repaints the edges' canvas alone: the nodes and labels lie on the canvas above
    it, the same picture; playing, they lie with the edges (the pulses' canvas repaints
    every frame), and a drag after a pause lifts them again."""
    from PIL import ImageChops
    assert js(page, f"({LEVELS})()") == ["overlay", "overlay"]
    above = figure_pixels(page)
    # the same drawing with the nodes and labels painted with the edges, as before
    js(page, """(() => { const v = window.__bpx_views.find((v) => v.scene); v.stack = () => {}
      for (const r of t.figure().renderers) if (r.data_source === t.nodes() || r.data_source === t.labels()) r.setv({level: 'glyph'}, {sync: false})
      Bokeh.index.find_one(t.figure()).request_repaint(); return 0 })()""")
    below = figure_pixels(page)
    # a node's anti-aliased outline blended on a clear canvas and then over the edges rounds a
    # few levels apart from one blended over the edges at once (seen: 7 of 255, at 0.05% of
    # the pixels); a node or label missing or moved differs by far more, at far more pixels
    diff = ImageChops.difference(above, below).convert("L")
    assert diff.getextrema()[1] <= 16
    assert sum(diff.histogram()[3:]) < 0.002 * above.width * above.height
    js(page, "(delete window.__bpx_views.find((v) => v.scene).stack, 0)")  # the view's own again
    button(page, "▶ Play").click()
    page.wait_for_function("() => window.__bpx_views.some((v) => v.player.playing)", timeout=10_000)
    assert js(page, f"({LEVELS})()") == ["glyph", "glyph"]
    # the moving pulses do not restyle the page: no glyph renderer's (empty) element is placed
    # over its glyphs, so no <style> of one changes while they move
    assert js(page, PLACED_WHILE_PLAYING) == {"placed": 0, "restyled": 0, "frames": 30}
    button(page, "❚❚ Pause").click()
    js(page, "(t.slider('x0').value = t.slider('x0').value > 0 ? -1.0 : 1.0, 0)")
    page.wait_for_function(f"() => ({LEVELS})().every((l) => l === 'overlay')", timeout=10_000)


def keyboard_node(page) -> str:
    """The name of the node the keyboard stands on ("" for none)."""
    return js(page, "(() => { const v = window.__bpx_views.find((v) => v.scene);"
                    " return v.access.node >= 0 ? v.scene.nodes.name[v.access.node] : '' })()")


def opened_neuron(page, layer: str) -> str:
    """The neuron of ``layer`` drawn open (its members drawn one by one)."""
    groups = js(page, "t.scene().nodes.group")
    return next(g for g in set(groups) if g.startswith(layer + "[") and groups.count(g) > 1)


# the server's scenes held back: each one that comes is counted, not drawn, until let go
HOLD_SCENES = """(() => { const v = window.__bpx_views.find((v) => v.scene)
  v.held = 0; v.refresh = () => { v.held += 1 }; return 0 })()"""
LET_GO = "(() => { const v = window.__bpx_views.find((v) => v.scene); delete v.refresh; v.refresh(); return 0 })()"
PLAYER = """(() => { const p = window.__bpx_views.find((v) => v.scene).player
  return {playing: p.playing, index: p.index, mode: t.scene().mode} })()"""


def check_play_outlives_the_scene_of_its_mode(page) -> None:
    """Backward, then Play soon after on a live page: the page switches the mode itself and the
    server sends the scene of the new mode after it (hundreds of ms for the 11.6k MLP's
    neurons). Play pressed in between goes on playing when that scene comes: it plays the
    same steps. (The scene is held back here until Play has been pressed, the order a quick
    student meets on a loaded server; before, it stopped the player.)"""
    js(page, HOLD_SCENES)
    button(page, "Backward").click()
    page.wait_for_function("() => window.__bpx_views.find((v) => v.scene).held > 0", timeout=60_000)
    # the switch to a pass loads MathJax in an idle moment, before any formula shows: its
    # first formula loaded it in a playing step's frame (a 0.3-2 s frame; markup.mjs prepare)
    page.wait_for_function("() => !!window.Bokeh.require('models/text/providers').default_provider.MathJax",
                           timeout=30_000)
    button(page, "▶ Play").click()
    page.wait_for_function("() => window.__bpx_views.some((v) => v.player.playing)", timeout=10_000)
    js(page, LET_GO)  # the server's scene of the backward mode is drawn
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    got = js(page, PLAYER)
    assert got["mode"] == "backward" and got["playing"] and got["index"] >= 0, got
    check_arrivals_paint_the_overlay(page)
    button(page, "❚❚ Pause").click()


# playing: a window of steps planned (stepframes.mjs), then one of its steps arrived with no
# full render between (a full render plans a new window), the player frozen there
IN_WINDOW = """() => { const v = window.__bpx_views.find((v) => v.scene), p = v.player, w = v.window
  if (!w || p.index >= w.to - 2) return false
  window.__bpx_window = { w, index: p.index, edges: v.written.drawn.get(v.args.edges).columns }; return true }"""
ARRIVED_IN_WINDOW = """() => { const v = window.__bpx_views.find((v) => v.scene), p = v.player, c = window.__bpx_window
  if (v.window !== c.w || !p.arrived || p.index <= c.index) return false
  p.tick = () => {}; v.animateFrame = () => v.clearPulses(); v.clearPulses(); return true }"""
# the same state drawn in full, as before windows: the overlay's window emptied
FULL_RENDER = """(() => { const v = window.__bpx_views.find((v) => v.scene), a = v.args
  const kept = a.ahead; a.ahead = null; v.window = null; v.render({ table: false }); a.ahead = kept
  for (const s of [a.ahead, a.ahead_heads]) v.written.update(s, Object.fromEntries(Object.keys(s.data).map((k) => [k, []])))
  return v.window === null })()"""
RESUME = """(() => { const v = window.__bpx_views.find((v) => v.scene)
  delete v.player.tick; delete v.animateFrame; v.player.tick(); return 0 })()"""


def check_arrivals_paint_the_overlay(page) -> None:
    """Playing, a step's arrival restyles the edges it brings: inside a window they are on
    the overlay and the edges' canvas is left alone (its columns not written); the picture
    is the one a full render draws (the 12 edges of h2's neurons into the output: a wrong
    width or opacity differs at thousands of pixels; the overlay's ends, trimmed to the node
    outlines, and crossings blend a few levels apart at a few hundred)."""
    from PIL import ImageChops
    js(page, "(window.__bpx_views.find((v) => v.scene).player.speed = 4, 0)")
    page.wait_for_function(IN_WINDOW, timeout=20_000, polling="raf")
    page.wait_for_function(ARRIVED_IN_WINDOW, timeout=20_000, polling="raf")
    assert js(page, "(() => { const v = window.__bpx_views.find((v) => v.scene)"
                    "; return v.written.drawn.get(v.args.edges).columns === window.__bpx_window.edges"
                    " && v.args.ahead.data.xs.length > 0 })()")
    windowed = figure_pixels(page)
    assert js(page, FULL_RENDER)
    full = figure_pixels(page)
    diff = ImageChops.difference(windowed, full).convert("L")
    assert sum(diff.histogram()[17:]) < 0.0005 * full.width * full.height
    js(page, RESUME)


def test_a_link_restores_what_is_open_and_the_keyboard_opens_and_closes_it(page, app_url):
    # a link with the level and what is open draws it at once (an old link without a level
    # opens at the layer level: the first test above opens one)
    open_app(page, app_url, f"expr={quote(SOURCE)}&mode=graph&level=layer&open=h1,h1%5B3%5D",
             timeout=120_000)
    wait_drawn(page, 1 + (60 - 1 + 8) + 3)  # x, h1's neurons with h1[3] open, h2, out, L
    got = names(page)
    assert "h1[3]" in got and "h1[2]" in got and "h2" in got
    assert js(page, "t.scene().nodes.group.filter((g) => g === 'h1[3]').length") == 8
    # Back by keyboard: the neuron the link opened, then its layer
    for closes, count in (("h1[3]", 64), ("h1", 5)):
        button(page, f"◀ Back: close {closes}").focus()
        page.keyboard.press("Enter")
        wait_drawn(page, count)
    wait_query(page, "open", None)
    # the arrows walk to a layer, Enter opens it
    page.locator("body").click(position={"x": 1, "y": 1})
    page.locator(".bpx-figure").first.focus()
    assert focused(page).get("role") == "application"
    page.keyboard.press("ArrowRight")  # lands on the first node: the inputs, x
    page.keyboard.press("ArrowRight")  # along the edge: h1
    page.keyboard.press("Enter")
    wait_drawn(page, 64)
    assert "h1[0]" in names(page)
    # the arrows walk to one of h1's neurons, Enter opens it to its ops
    page.keyboard.press("ArrowLeft")  # back along an edge: the inputs, x
    page.keyboard.press("ArrowRight")  # ... and out to the topmost of h1's neurons
    assert keyboard_node(page).startswith("h1[")
    page.keyboard.press("Enter")
    wait_drawn(page, 64 - 1 + 8)
    neuron = opened_neuron(page, "h1")
    wait_query(page, "open", f"h1,{neuron}")
    # the level switch by keyboard: Neurons draws today's node-per-neuron picture, all closed
    button(page, "Neurons").focus()
    page.keyboard.press("Enter")
    wait_drawn(page, 126)
    wait_query(page, "level", "neuron")
    wait_query(page, "open", None)
    check_play_outlives_the_scene_of_its_mode(page)


def test_taps_open_a_layer_then_a_neuron_on_a_phone_and_close_them(new_page, app_url):
    page = new_page(**PHONE)
    open_app(page, app_url, QUERY + "&lang=zh", timeout=120_000)
    close_drawer(page)  # the figure in view
    page.touchscreen.tap(*node_xy(page, "h1"))
    wait_drawn(page, 64)
    assert "h1[5]" in names(page)
    page.touchscreen.tap(*node_xy(page, "h1[30]"))  # 60 neurons a few pixels apart: one opens
    wait_drawn(page, 64 - 1 + 8)
    neuron = opened_neuron(page, "h1")
    for closes, count in ((neuron, 64), ("h1", 5)):
        button(page, f"◀ 返回：收起 {closes}").tap()
        wait_drawn(page, count)
