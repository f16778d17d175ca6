"""One frame per drag, no server round trip: latency and frame rate in headless Chromium.

Against a served app (``panel serve app.py`` on 127.0.0.1, a free port):

1. Slider -> new numbers, on the seed graph and on a ~200-node graph (a sum of
   ``c*tanh(w_i*x_j + b_k)`` terms). Each sample sets the Slider model's ``value`` in
   the page, as a drag does (``value_throttled`` untouched, so it stays in the page),
   and times, page-side: ``source`` - until the values table's data source holds the
   new numbers (rAF polling); ``frame`` - until the first animation frame after that
   (the figure's canvas is repainted in it); ``DOM`` - until the table's rendered cells
   show the new numbers (rAF polling, given up after 500 ms and counted as stale).
2. Websocket frames the page sends: during 200 value changes, during a real mouse
   drag of the "w" handle (expected 0 for both), and after releasing it (>= 1:
   ``value_throttled``).
3. Frames per second while the backward pass plays (requestAnimationFrame callbacks
   counted over 3 s by a page-side counter) on the seed graph and on a ~1,000-node MLP:
   ``mlp(2, 16, 16, 1)`` through the URL if the app accepts it, otherwise the scene the
   server would send for ``graphviz_core.mlp.mlp_loss(2, (16, 16), 1)``, handed to
   the page's ``meta`` source.

    python bench/bench_frame.py [--samples 200]
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_big_graphs import MLP_1K, app_accepts, mlp_expression, scene_for  # noqa: E402
from graphviz_core import parse  # noqa: E402
from graphviz_core.mlp import mlp_loss  # noqa: E402
from report import print_table  # noqa: E402


def tanh_sum(terms: int = 32) -> str:
    """~6 nodes a term over 13 shared variables: 32 terms -> ~204 nodes, ~730 characters."""
    return " + ".join(f"{0.5 + 0.1 * (i % 7):.1f}*tanh(w{i % 6 + 1}*x{i % 3 + 1} + b{i % 4 + 1})"
                      for i in range(terms))


# One sample, measured in the page. `rows` = how many leading rows to compare (the ones
# SlickGrid renders without scrolling).
SAMPLE = r"""async (arg) => {
  const t = window.__bpxt
  const slider = t.slider(arg.name), model = t.tableModel(), src = model.source
  const view = t.viewOf(model)
  const rows = Math.min(arg.rows, src.data.name.length)
  const snap = () => { const d = src.data; const out = []; for (let i = 0; i < rows; i++) out.push(d.value[i] + '|' + d.grad[i]); return out.join(';') }
  const cells = () => {
    const root = view.shadow_el || view.el.shadowRoot || view.el
    const found = new Map()
    for (const r of root.querySelectorAll('.slick-row')) {
      const c = [...r.querySelectorAll('.slick-cell')].map((e) => e.textContent.trim())
      found.set(c[0], c[2] + '|' + c[3])
    }
    const d = src.data; const out = []
    for (let i = 0; i < rows; i++) out.push(found.get(d.name[i]))
    return out.join(';')
  }
  const before = snap()
  const t0 = performance.now()
  slider.value = arg.value
  const out = {source: null, frame: null, dom: null}
  return await new Promise((resolve) => {
    // the player runs asynchronously (a CustomJS module): poll with message-channel tasks
    // until the source changes, then animation frames for the repaint and the cells
    const channel = new MessageChannel()
    const look = () => {
      const now = performance.now()
      if (out.source !== null && out.frame === null) out.frame = now - t0
      if (out.source !== null && out.dom === null && cells() === snap()) out.dom = now - t0
      if ((out.frame !== null && out.dom !== null) || now - t0 > arg.timeout) resolve(out)
      else requestAnimationFrame(look)
    }
    channel.port1.onmessage = () => {
      const now = performance.now()
      if (snap() !== before) { out.source = now - t0; requestAnimationFrame(look) }
      else if (now - t0 > arg.timeout) resolve(out)
      else channel.port2.postMessage(0)
    }
    channel.port2.postMessage(0)
  })
}"""

FPS = r"""(ms) => new Promise((resolve) => {
  const gaps = []
  let n = 0, last = performance.now()
  const t0 = last
  const f = (now) => {
    n += 1; gaps.push(now - last); last = now
    if (now - t0 < ms) requestAnimationFrame(f)
    else resolve({n, elapsed: now - t0, gaps, playing: window.__bpx_views.some((v) => v.player.playing)})
  }
  requestAnimationFrame(f)
})"""

INJECT = r"""(text) => window.__bpxt.meta().setv({data: {json: [text]}}, {sync: false, check_eq: false})"""


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


class Frames:
    """Websocket frames a page sends, counted from Playwright's websocket events."""

    def __init__(self, page):
        self.sent: list[str] = []
        page.on("websocket", lambda ws: ws.on("framesent", self._sent))

    def _sent(self, payload):
        self.sent.append(payload if isinstance(payload, str) else f"<{len(payload)} bytes>")

    def mark(self) -> int:
        return len(self.sent)


def latency(page, name: str, start: float, samples: int, script: str = SAMPLE) -> dict:
    results = []
    for k in range(samples):
        value = round(start + 0.01 * ((k % 60) - 30) + (0.005 if k % 2 else 0.0), 3)
        if k and value == results[-1]["value"]:
            value += 0.001
        r = page.evaluate(script, {"name": name, "value": value, "rows": 8, "timeout": 500})
        results.append({**r, "value": value})
    out = {"samples": samples}
    for key in ("source", "frame", "dom"):
        got = [r[key] for r in results if r[key] is not None]
        out[key] = (statistics.median(got), pct(got, 0.95), samples - len(got)) if got else (None, None, samples)
    return out


def drag_frames(page, frames: Frames, name: str = "w") -> tuple[int, int]:
    """A real mouse drag of the slider ``name``: frames sent while moving, then after release."""
    from tests.ui.helpers import open_drawer, slider_handle

    open_drawer(page)  # a phone's sliders are in the drawer, closed when the page opens
    handle = slider_handle(page, name)
    box = handle.bounding_box()
    x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    before = frames.mark()
    for k in range(1, 41):
        page.mouse.move(x0 - 2 * k, y0)
        page.wait_for_timeout(25)
    during = frames.mark() - before
    page.mouse.up()
    page.wait_for_timeout(1000)
    return during, frames.mark() - before - during


def fps(page, frames: Frames, seconds: float = 3.0) -> dict:
    """Click Play (one button_click message to the server), then count frames for ``seconds``."""
    page.get_by_role("button", name="▶ Play", exact=True).click()
    page.wait_for_function("() => window.__bpx_views.some((v) => v.player.playing)", timeout=10_000)
    page.wait_for_timeout(300)  # the click's own messages
    mark = frames.mark()
    r = page.evaluate(FPS, seconds * 1000)
    r["ws"] = frames.mark() - mark
    gaps = r["gaps"][1:]
    return {"fps": r["n"] / (r["elapsed"] / 1000), "p95_gap": pct(gaps, 0.95), "max_gap": max(gaps),
            "playing": r["playing"], "ws": r["ws"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each fps count")
    ap.add_argument("--phone", action="store_true",
                    help="a phone's viewport with touch (390 x 844, tests/ui/helpers.PHONE)")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from tests.ui.helpers import INIT_SCRIPT, PHONE, VIEWPORT, launch_chromium, open_app, serve_app
    device = PHONE if args.phone else {"viewport": VIEWPORT}

    medium = tanh_sum()
    big = mlp_expression(*MLP_1K)
    accepted = app_accepts(big)
    print(f"# {datetime.date.today()}  python {' '.join(sys.argv)}")
    lat_rows, ws_rows, fps_rows = [], [], []
    with serve_app(timeout=60) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            def fresh(query: str):
                context = browser.new_context(**device)
                context.add_init_script(INIT_SCRIPT)
                page = context.new_page()
                errors = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                frames = Frames(page)
                open_app(page, url, query, timeout=120_000)
                page.evaluate("() => window.__bpxt.tableOnScreen()")  # for the DOM column
                return context, page, frames, errors

            for label, expr in (("seed", None), ("tanh sum", medium)):
                query = f"expr={quote(expr)}" if expr else ""
                context, page, frames, errors = fresh(query)
                nodes = page.evaluate("() => window.__bpxt.rows()")
                first = page.evaluate("() => window.__bpxt.sliders()[0]")
                page.wait_for_timeout(500)
                mark = frames.mark()
                lat = latency(page, first["title"], first["value"], args.samples)
                sent_values = frames.mark() - mark
                during, after = drag_frames(page, frames, first["title"])
                lat_rows.append({"graph": label, "nodes": nodes, **lat})
                ws_rows.append({"graph": label, "values": sent_values, "drag": during,
                                "release": after, "errors": len(errors)})
                context.close()

            # frames per second while the backward pass plays
            context, page, frames, errors = fresh("mode=backward")
            idle = page.evaluate(FPS, args.seconds * 1000)
            fps_rows.append({"graph": "seed (idle)", "nodes": 8, "fps": idle["n"] / (idle["elapsed"] / 1000),
                             "p95_gap": pct(idle["gaps"][1:], 0.95), "max_gap": max(idle["gaps"][1:]),
                             "playing": False, "how": "no playback"})
            r = fps(page, frames, args.seconds)
            fps_rows.append({"graph": "seed", "nodes": 8, **r, "how": "URL"})
            context.close()
            if accepted:
                context, page, frames, errors = fresh(f"expr={quote(big)}&mode=backward")
                how = "URL"
            else:
                context, page, frames, errors = fresh("mode=backward")
                text, _, _ = scene_for(mlp_loss(*MLP_1K), "backward")
                page.evaluate(INJECT, text)
                page.wait_for_function("(n) => window.__bpxt.nodes().data.x.length > 900", arg=0,
                                       timeout=60_000)
                how = "meta set in page"
            nodes = page.evaluate("() => window.__bpxt.nodes().data.x.length")
            page.wait_for_timeout(1000)
            r = fps(page, frames, args.seconds)
            fps_rows.append({"graph": big, "nodes": nodes, **r, "how": how})
            context.close()
        finally:
            browser.close()

    print(f"seed = (w*x + b - y)**2; tanh sum = {tanh_sum(2)} + ... (32 terms, "
          f"{len(medium)} characters, {len(parse(medium).variables)} variables)")
    head = (f"{'graph':<10}{'nodes':>6}{'samples':>8}  {'source med/p95 ms':>18}  "
            f"{'frame med/p95 ms':>17}  {'DOM med/p95 ms':>15}{'DOM stale':>10}")

    def mp(t):
        return "-" if t[0] is None else f"{t[0]:.1f} / {t[1]:.1f}"

    print_table(head, (f"{r['graph']:<10}{r['nodes']:>6}{r['samples']:>8}  {mp(r['source']):>18}  "
                       f"{mp(r['frame']):>17}  {mp(r['dom']):>15}{r['dom'][2]:>10}" for r in lat_rows),
                "source: values table's data source has the new numbers; frame: the next animation "
                "frame after it;\nDOM: the table's rendered cells show them (stale = not within 500 ms)")
    print()
    head = f"{'graph':<10}{'ws frames: 200 value sets':>27}{'mouse drag (40 moves)':>23}{'after release':>15}{'page errors':>13}"
    print_table(head, (f"{r['graph']:<10}{r['values']:>27}{r['drag']:>23}{r['release']:>15}{r['errors']:>13}"
                       for r in ws_rows))
    print()
    if not accepted:
        print(f"note: the app refuses {big!r}; the 1k graph's scene (built here as the server "
              "would) was handed to the page's meta source")
    head = f"{'backward pass':<22}{'nodes':>6}{'fps':>7}{'p95 gap ms':>12}{'max gap ms':>12}{'ws sent':>9}  how"
    print_table(head, (f"{r['graph']:<22}{r['nodes']:>6}{r['fps']:>7.1f}{r['p95_gap']:>12.1f}{r['max_gap']:>12.1f}"
                       f"{r.get('ws', '-'):>9}  {r['how']}"
                       f"{'' if r['playing'] or r['how'] == 'no playback' else ' (stopped before the end!)'}"
                       for r in fps_rows),
                f"fps = requestAnimationFrame callbacks / {args.seconds:g} s while playing (page-side counter);"
                "\nws sent = websocket frames sent while playing (the Play click's own message excluded)")


if __name__ == "__main__":
    main()
