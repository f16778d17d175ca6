"""The page's CPU per frame: what a slider drag frame and a playback frame cost Chromium.

Wall-clock frame rates say more about a shared machine's load than about the page. This
bench counts CPU time instead: the nanoseconds the kernel says Chromium's threads ran
(``/proc/<pid>/task/<tid>/schedstat``), for the renderer's main thread (where the page's
JavaScript, Bokeh's redraw and the table's DOM run) and for all of Chromium's processes
(compositing, rasterising), over many drag frames or a few seconds of playback, less the
same count for idle frames. Beside them, the page's own spans (``performance.now()``
around the view's ``compute`` and ``render``: wall time, so inflated under load).

Against a served app (``panel serve app.py`` on 127.0.0.1, a free port, stopped at the end)::

    python bench/bench_frame_cpu.py                 # --updates 80 --seconds 3 [--phone]

A drag update sets the Slider model's ``value`` as a drag does (nothing is sent to the
server) and waits two animation frames, so the figure's repaint is counted; the "main
ms/update" column is what a drag frame costs the page's thread (<= 16.7 ms is needed for
a new picture every frame at 60 Hz). Playback plays the backward pass: "main ms/frame".
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_frame import tanh_sum  # noqa: E402
from tests.ui.helpers import (PHONE, launch_chromium, new_context, open_app, serve_app,  # noqa: E402
                              terminate_gracefully)
from report import print_table  # noqa: E402

TANH_SUM = tanh_sum()  # bench_frame's ~200-node graph
BIG = "mlp(2, 60, 60, 1)"
# label, query (the page's URL), slider to drag
CASES = (
    ("seed", "", "w"),
    ("tanh sum (204)", "expr=" + quote(TANH_SUM, safe=""), "w1"),
    ("mlp 1k (982)", "expr=" + quote("mlp(2, 16, 16, 1)", safe=""), "x0"),
    ("11.6k layers", "expr=" + quote(BIG, safe="") + "&level=layer", "x0"),
    ("11.6k layers+open", "expr=" + quote(BIG, safe="") + "&level=layer&open=h2,h2%5B7%5D", "x0"),
    ("11.6k neurons", "expr=" + quote(BIG, safe="") + "&level=neuron", "x0"),
)

# wraps the view's compute and render with page-side spans (wall ms)
SPANS = r"""() => {
  const v = window.__bpx_views.find((v) => v.scene)
  if (v.__spans) return
  v.__spans = {compute: [], render: [], caption: []}
  for (const name of ["compute", "render", "caption"]) {
    const f = v[name].bind(v)
    v[name] = (...a) => { const t = performance.now(); const out = f(...a); v.__spans[name].push(performance.now() - t); return out }
  }
}"""
TAKE_SPANS = r"""() => { const v = window.__bpx_views.find((v) => v.scene); const s = v.__spans; v.__spans = {compute: [], render: [], caption: []}; return s }"""

DRAG = r"""async ({name, values, change}) => {
  const s = window.__bpxt.slider(name)
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()))
  await frame()
  for (const v of values) { if (change) s.value = v; await frame(); await frame() }
}"""

FRAMES = r"""(ms) => new Promise((resolve) => {
  let n = 0
  const t0 = performance.now()
  const f = (now) => { n += 1; if (now - t0 < ms) requestAnimationFrame(f); else resolve({n, elapsed: now - t0}) }
  requestAnimationFrame(f)
})"""


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def chromium_pids() -> list[int]:
    """Chromium's processes started by this bench (descendants of this process)."""
    kids, out, todo = _children(), [], [os.getpid()]
    while todo:
        pid = todo.pop()
        for c in kids.get(pid, []):
            todo.append(c)
            try:
                with open(f"/proc/{c}/comm") as f:
                    if "chrom" in f.read():
                        out.append(c)
            except OSError:
                pass
    return out


def cpu_ns(pids: list[int]) -> tuple[int, int]:
    """(renderer main threads, all threads) of ``pids``: nanoseconds on a CPU so far."""
    main = total = 0
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                renderer = b"--type=renderer" in f.read()
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    ns = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            total += ns
            if renderer and tid == str(pid):  # a renderer's main thread: the page's JavaScript
                main += ns
    return main, total


def measured(run, pids):
    m0, t0 = cpu_ns(pids)
    w0 = time.monotonic()
    out = run()
    m1, t1 = cpu_ns(pids)
    return (m1 - m0) / 1e6, (t1 - t0) / 1e6, time.monotonic() - w0, out


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def drag(page, pids, slider: str, updates: int, mode: str) -> dict:
    start = page.evaluate("(n) => window.__bpxt.slider(n).value", slider)
    values = [round(start + 0.37 * ((k * 0.618) % 1) - 0.18, 4) for k in range(updates)]
    page.evaluate(DRAG, {"name": slider, "values": values[:10], "change": True})  # warm up
    page.evaluate(SPANS)
    page.evaluate(TAKE_SPANS)
    idle_main, idle_all, _, _ = measured(lambda: page.evaluate(DRAG, {"name": slider, "values": values, "change": False}), pids)
    main, total, wall, _ = measured(lambda: page.evaluate(DRAG, {"name": slider, "values": values, "change": True}), pids)
    spans = page.evaluate(TAKE_SPANS)
    return {"mode": mode, "main": (main - idle_main) / updates, "all": (total - idle_all) / updates,
            "compute": statistics.median(spans["compute"] or [0]), "render": statistics.median(spans["render"] or [0]),
            "render95": pct(spans["render"], 0.95), "wall": wall / updates * 1000}


def playback(page, pids, seconds: float) -> dict:
    page.get_by_role("button", name="▶ Play", exact=True).click()
    page.wait_for_function("() => window.__bpx_views.some((v) => v.player.playing)", timeout=10_000)
    page.wait_for_timeout(200)
    page.evaluate(TAKE_SPANS)
    main, total, wall, r = measured(lambda: page.evaluate(FRAMES, seconds * 1000), pids)
    spans = page.evaluate(TAKE_SPANS)
    frames = r["n"]
    return {"fps": frames / (r["elapsed"] / 1000), "main": main / frames, "all": total / frames,
            "render": statistics.median(spans["render"] or [0]), "render_max": max(spans["render"] or [0]),
            "caption_max": max(spans["caption"] or [0]),
            "renders": len(spans["render"])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--updates", type=int, default=80, help="slider updates per graph and mode")
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each playback count")
    ap.add_argument("--phone", action="store_true", help="a phone's viewport (390 x 844, touch)")
    ap.add_argument("--only", default="", help="run the cases whose label contains this")
    args = ap.parse_args()
    terminate_gracefully()
    device = PHONE if args.phone else {}
    from playwright.sync_api import sync_playwright

    print(f"# python {' '.join(sys.argv)}  (load average at start: {os.getloadavg()[0]:.1f})")
    drags, plays = [], []
    with serve_app(timeout=60) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            for label, query, slider in CASES:
                if args.only and args.only not in label:
                    continue
                for mode in ("graph", "backward"):
                    context = new_context(browser, **device)
                    page = context.new_page()
                    open_app(page, url, (query + "&" if query else "") + f"mode={mode}", timeout=120_000)
                    page.wait_for_function("() => (window.__bpx_views || []).some((v) => v.scene)", timeout=60_000)
                    page.wait_for_timeout(500)
                    pids = chromium_pids()
                    nodes = page.evaluate("() => window.__bpxt.rows()")
                    drags.append({"graph": label, "nodes": nodes, **drag(page, pids, slider, args.updates, mode)})
                    if mode == "backward":
                        plays.append({"graph": label, "nodes": nodes, **playback(page, pids, args.seconds)})
                    context.close()
        finally:
            browser.close()

    head = (f"{'slider drag':<20}{'mode':>9}{'rows':>6}{'main ms/update':>16}{'all ms/update':>15}"
            f"{'compute ms':>12}{'render med/p95 ms':>19}{'wall ms/update':>16}")
    print_table(head, (f"{r['graph']:<20}{r['mode']:>9}{r['nodes']:>6}{r['main']:>16.2f}{r['all']:>15.2f}"
                       f"{r['compute']:>12.2f}{r['render']:>10.2f} / {r['render95']:<6.2f}{r['wall']:>16.1f}"
                       for r in drags),
                "main/all: CPU of the renderer's main thread / of all Chromium per slider update, idle frames "
                "subtracted;\ncompute, render: the view's own spans (wall ms); wall: 2 frames + the work")
    print()
    head = (f"{'backward playback':<20}{'rows':>6}{'fps':>7}{'main ms/frame':>15}{'all ms/frame':>14}"
            f"{'renders':>9}{'render med/max ms':>19}{'caption max ms':>16}")
    print_table(head, (f"{r['graph']:<20}{r['nodes']:>6}{r['fps']:>7.1f}{r['main']:>15.2f}{r['all']:>14.2f}"
                       f"{r['renders']:>9}{r['render']:>10.2f} / {r['render_max']:<6.2f}{r['caption_max']:>14.2f}"
                       for r in plays))
    print("fps: wall clock (the machine's load); main/all: CPU per frame shown; renders: full redraws "
          "(a step starts or arrives), the other frames move the pulses only")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
