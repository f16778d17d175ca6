"""Browser latency of the explorer: slider -> numbers on screen, websocket traffic, frame rate.

Run from the repository root::

    python bench/bench_ui_latency.py            # --samples 200 by default

Starts its own ``panel serve app.py`` on a free port of 127.0.0.1 (stopped at the
end), opens the page in Debian's headless Chromium (``/usr/bin/chromium``) and
measures, inside the page:

- slider value -> values-table DOM: the Slider model's ``value`` is set as a drag
  sets it; the clock stops when the rendered cell of a node that depends on the
  slider shows a new text (checked synchronously, then on every DOM mutation of
  the table and every animation frame). This path never leaves the browser.
- slider release -> server scene in the table DOM: ``value`` and
  ``value_throttled`` set (as a mouse release does); the clock stops when the
  server's new scene has arrived and the table shows it.
- websocket messages sent while a slider handle is dragged with the mouse.
- animation frame rate while the backward pass plays.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from graphviz_core import parse, trace  # noqa: E402
from graphviz_core.mlp import builder_from_text  # noqa: E402
from tests.ui.helpers import (PHONE, launch_chromium, new_context, open_app, serve_app,  # noqa: E402
                              open_drawer, slider_handle, terminate_gracefully)
from report import print_table  # noqa: E402
from report import live_app_measured  # noqa: E402

live_app_measured()

SEED = "(w*x + b - y)**2"
BIG = ("(tanh(w1*x1 + w2*x2 + w3*x3 + b1)*tanh(w4*x1 + w5*x2 + w6*x3 + b2)"
       " + tanh(w7*x1 + w8*x2 + w9*x3 + b3)*tanh(w1*x3 + w5*x1 + w9*x2 + b1)"
       " + sigmoid(w2*x3 + w6*x1 + b3) - y)**2")

# One sample loop in the page. `watch` finds the rendered cell (row of node `node`,
# column `col`) through the DataTable view's SlickGrid; the clock stops when its
# text differs from the text before the change.
MEASURE = r"""
async ({slider, node, col, samples, release, values}) => {
  const t = window.__bpxt
  const s = t.slider(slider)
  const tableView = t.viewOf(t.tableModel())
  const row = t.table().name.indexOf(node)
  const cell = () => { const c = tableView.grid.getCellNode(row, col); return c ? c.textContent : null }
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()))
  const root = tableView.el.shadowRoot || tableView.el
  // off screen, the table's drawn cells catch up every 250 ms (static/explorer/table.mjs):
  // a student reading the numbers has it on screen
  t.tableOnScreen()
  for (let k = 0; k < 3; k++) await frame()
  const out = []
  for (let k = 0; k < samples; k++) {
    const before = cell()
    const meta = t.meta().data.json[0]
    const v = values[k % values.length]
    const done = new Promise((resolve) => {
      let finished = false
      const check = () => {
        if (finished) return
        if (cell() !== before && (!release || t.meta().data.json[0] !== meta)) {
          finished = true; obs.disconnect(); clearTimeout(give_up); resolve(performance.now())
        } else requestAnimationFrame(check)
      }
      const give_up = setTimeout(() => { if (!finished) { finished = true; obs.disconnect(); resolve(null) } }, 5000)
      const obs = new MutationObserver(check)
      obs.observe(root, {subtree: true, childList: true, characterData: true})
      t0 = performance.now()
      if (release) s.setv({value: v, value_throttled: v})
      else s.value = v
      check()
    })
    var t0
    const t1 = await done
    out.push(t1 === null ? null : t1 - t0)  // null: nothing showed within 5 s
    await frame()
    // releases one after another would wait for the page's 80 ms release interval and the
    // server's 40 ms window: a student releases a slider a few times a second at most
    if (release) await new Promise((r) => setTimeout(r, 150))
  }
  return out
}
"""

FPS = r"""
async (seconds) => {
  const t = window.__bpxt
  const raf0 = window.requestAnimationFrame.bind(window)
  let appCallbacks = 0
  window.requestAnimationFrame = (f) => raf0((ts) => { appCallbacks++; f(ts) })
  // the page writes the pulses' columns in place and emits the source's change signal
  // (static/explorer/sources.mjs setData): a frame redrew the pulses if that signal fired
  let frames = 0, pulseFrames = 0, changed = false
  const pulses = t.pulses(), mark = () => { changed = true }
  pulses.change.connect(mark)
  const start = performance.now()
  await new Promise((resolve) => {
    const loop = () => {
      frames++
      if (changed) { pulseFrames++; changed = false }
      if (performance.now() - start < seconds * 1000) raf0(loop); else resolve()
    }
    raf0(loop)
  })
  pulses.change.disconnect(mark)
  const elapsed = (performance.now() - start) / 1000
  window.requestAnimationFrame = raf0
  return {frames: frames / elapsed, app: appCallbacks / elapsed, pulses: pulseFrames / elapsed}
}
"""


def percentile(xs, q):
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def node_count(source, level=""):
    """Nodes drawn for ``source`` at ``level`` (an MLP above 1,500 nodes is drawn a node per
    layer unless the link asks for another level; ``neuron``: a node per neuron)."""
    net = builder_from_text(source)
    if net is not None:
        if level == "neuron" or (level == "" and net.node_count() <= 1500):
            return net.drawn_count()
        return None  # the page's own count (layers, open groups)
    p = parse(source)
    return trace(p.build({v: 0.5 for v in p.variables})).number_of_nodes()


def latency(page, slider, samples, release):
    # the node that depends most directly on the slider: the first product that uses it (at
    # the layer level: the first layer after the inputs, whose norm depends on every input)
    data = page.evaluate("() => window.__bpxt.table()")
    row = next((i for i, op in enumerate(data["op"]) if slider in op.replace("*", " ").split()),
               data["name"].index("h1") if "h1" in data["name"] else 0)
    values = [round(-2.5 + 5 * ((k * 0.618) % 1), 2) for k in range(97)]
    ms = page.evaluate(MEASURE, {"slider": slider, "node": data["name"][row], "col": 2,
                                 "samples": samples, "release": release, "values": values})
    lost = sum(m is None for m in ms)
    if lost:
        print(f"warning: {lost} of {len(ms)} samples ({slider}, release={release}) showed "
              "nothing within 5 s", file=sys.stderr)
    return [m for m in ms if m is not None] or [float("nan")]


def backward_fps(page) -> str:
    """Backward mode, ▶ Play, and the frame rate over 3 s, as a sentence."""
    page.get_by_role("button", name="Backward", exact=True).click()
    page.wait_for_function("() => window.__bpxt.div('bpx-counter').text.endsWith('steps')")
    steps = page.evaluate("() => window.__bpxt.div('bpx-counter').text")
    # a student looks at the pass before playing it: the page, still, typesets the coming
    # steps' formulas then (ahead.mjs typesetAhead), not in the frames a step starts in
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="▶ Play", exact=True).click()
    fps = page.evaluate(FPS, 3)
    return (f"backward playback ({steps}, speed 1), 3 s: {fps['frames']:.1f} frames/s "
            f"(browser rAF), {fps['app']:.1f} app rAF callbacks/s, "
            f"{fps['pulses']:.1f} pulse redraws/s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--phone", action="store_true",
                    help="a phone's viewport with touch (390 x 844, tests/ui/helpers.PHONE)")
    args = ap.parse_args()
    device = PHONE if args.phone else {}
    terminate_gracefully()  # `timeout` or Ctrl-C: the server is still stopped
    rows = []
    notes = []
    from playwright.sync_api import sync_playwright

    with serve_app() as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            big = "mlp(2, 60, 60, 1)"
            for label, source, slider, level in (
                    ("seed", SEED, "w", ""), ("56-node", BIG, "w1", ""),
                    ("mlp 1k", "mlp(2, 16, 16, 1)", "x0", ""),
                    ("11.6k layers", big, "x0", "layer"),
                    ("11.6k layers+open", big, "x0", "layer&open=h2,h2%5B7%5D"),
                    ("11.6k grouped", big, "x0", "neuron")):
                context = new_context(browser, **device)
                page = context.new_page()
                query = "" if source == SEED else "expr=" + quote(source, safe="")
                query += f"&level={level}" if level else ""
                open_app(page, url, query, timeout=120_000)
                n = page.evaluate("() => window.__bpxt.rows()")
                expected = node_count(source, level)
                assert expected is None or n == expected, (n, expected)
                name = f"{label} ({n} nodes)"
                ms = latency(page, slider, 20, False)  # warm up
                ms = latency(page, slider, args.samples, False)
                rows.append((f"slider value -> table DOM", name, len(ms), ms))
                k = max(20, args.samples // 4)
                ms = latency(page, slider, k, True)
                rows.append((f"slider release -> server scene in DOM", name, len(ms), ms))
                if source == big:  # playback at every level of detail
                    notes.append(f"{name}: " + backward_fps(page))
                context.close()

            # websocket traffic while the handle is dragged with the mouse
            context = new_context(browser, **device)
            page = context.new_page()
            sent, received = [], []
            page.on("websocket", lambda ws: (ws.on("framesent", lambda f: sent.append(time.monotonic())),
                                             ws.on("framereceived", lambda f: received.append(time.monotonic()))))
            open_app(page, url)
            page.wait_for_timeout(500)
            open_drawer(page)  # a phone's sliders are in the drawer, closed when the page opens
            box = slider_handle(page, "w").bounding_box()
            x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x0, y0)
            page.mouse.down()
            t0 = time.monotonic()
            moves = 120
            for k in range(moves):
                page.mouse.move(x0 - 100 * abs(((k / 30) % 2) - 1) - 5, y0)
                page.wait_for_timeout(16)
            t1 = time.monotonic()
            during = sum(t0 <= s <= t1 for s in sent)
            page.mouse.up()
            page.wait_for_timeout(1500)
            after = sum(s > t1 for s in sent)
            got = sum(s > t1 for s in received)
            notes.append(f"websocket while dragging 'w' with the mouse ({moves} moves in "
                         f"{t1 - t0:.1f} s): {during} messages sent; after release: {after} sent, "
                         f"{got} received")

            # frame rate while the backward pass plays
            sent_before = len(sent)
            notes.append("seed: " + backward_fps(page) +
                         f", {len(sent) - sent_before} websocket messages sent")
            context.close()
        finally:
            browser.close()

    head = f"{'measure':40} {'graph':26} {'samples':>7} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}"
    print_table(head, (f"{what:40} {graph:26} {n:>7} {statistics.median(ms):>10.1f} "
                       f"{percentile(ms, 0.95):>8.1f} {max(ms):>8.1f}" for what, graph, n, ms in rows))
    print()
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
