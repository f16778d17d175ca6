"""What each of bench_frame's drag samples costs the page's thread, from a Chromium trace.

``bench_frame.py``'s frame p95 is a wall-clock figure: a sample misses its display frame
when the work between two samples (the last frame's style, layout, paint and layerizing,
then the new value's replay and redraw) does not fit in one. On a shared machine the wall
clock says more about the load than about the page; the thread time Chromium records for
its renderer's main thread does not. This bench runs bench_frame's sample loop on the
204-node sum (same sample script, same values) under a trace and prints, per sample, the
main thread's CPU from one sample's frame to the next: its median, p90, p95 and max, and
how often the page was layerized again (``PaintArtifactCompositor::Update``)::

    python bench/bench_frame_trace.py             # --samples 80 [--phone] [--trace FILE]
    python bench/bench_frame_trace.py --play      # [--level layer] [--seconds 4] [--no-ahead]
    python bench/bench_frame_trace.py --play --expr 'mlp(2, 16, 16, 1)' --level op --still 1
    python bench/bench_frame_trace.py --drag --phone --samples 30

Compare trees by running it from each, alternately; the wall frame p95 it also prints is
the machine's load first.

Two more cases, each under its own trace:

- ``--play``: the backward pass of ``mlp(2, 60, 60, 1)`` played at its neurons (the grouped
  drawing, 126 nodes and 3,783 edges; ``--level`` picks another level) for ``--seconds``:
  the main thread's CPU per animation frame (from one frame's mark to the next),
  the frames over a 16.7 ms budget, and the CPU per second of playback (a step every 1.1 s:
  its start and arrival frames are where frames are dropped), and of it the CPU in idle
  callbacks (the formulas typeset ahead); ``--expr`` plays another graph (bench_frame's
  982-node playback: ``--expr 'mlp(2, 16, 16, 1)' --level op --still 1``, Play a second after
  the page is drawn), ``--no-ahead`` without the formulas typeset ahead, ``--still`` the
  seconds the page is left still before Play (default 3);
- ``--drag``: ``--samples`` updates of slider ``x0`` of ``mlp(2, 16, 16, 1)`` drawn op by op
  (982 nodes, 1,251 edges; with ``--phone`` the phone's overview), two animation frames
  each (the page's redraw, then BokehJS's repaint and the canvas's raster): the main
  thread's CPU per update.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_frame import SAMPLE, latency, pct, tanh_sum  # noqa: E402

# bench_frame's sample, with marks where it starts and where its frame is seen
MARKED = (SAMPLE.replace("const t0 = performance.now()", "const t0 = performance.now(); performance.mark('bpx-s0')")
          .replace("out.frame = now - t0", "{ out.frame = now - t0; performance.mark('bpx-frame') }"))
CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "blink.user_timing",
              "toplevel", "blink", "cc"]


def per_sample(events: list[dict]) -> tuple[list[float], int]:
    """Main-thread CPU (ms) between consecutive samples' frames, and the page's layerizations."""
    marks = sorted((e for e in events if e.get("name") in ("bpx-s0", "bpx-frame")), key=lambda e: e["ts"])
    pid, tid = marks[0]["pid"], marks[0]["tid"]
    tasks = [e for e in events if e.get("pid") == pid and e.get("tid") == tid and e.get("ph") == "X"
             and e["name"] == "ThreadControllerImpl::RunTask"]
    frames = [e["ts"] for e in marks if e["name"] == "bpx-frame"]
    cpu = [sum(e.get("tdur", 0) for e in tasks if a <= e["ts"] < b) / 1000 for a, b in zip(frames, frames[1:])]
    layerized = sum(1 for e in events if e.get("name") == "PaintArtifactCompositor::Update"
                    and e.get("pid") == pid and e.get("tid") == tid)
    return cpu, layerized


PLAY_FRAMES = r"""(ms) => new Promise((resolve) => {
  let n = 0; const t0 = performance.now()
  const f = (now) => { n += 1; performance.mark("bpx-frame"); if (now - t0 < ms) requestAnimationFrame(f); else resolve({n, elapsed: now - t0}) }
  requestAnimationFrame(f)
})"""
DRAG = r"""async (values) => {
  const s = window.__bpxt.slider("x0")
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()))
  await frame()
  for (const v of values) { performance.mark("bpx-s0"); s.value = v; await frame(); await frame() }
  performance.mark("bpx-s0")
}"""


def main_thread(events: list[dict]) -> tuple[int, int]:
    """The renderer's main thread that ran the most tasks (the page's)."""
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    busy: dict = {}
    for e in events:
        key = (e.get("pid"), e.get("tid"))
        if e.get("ph") == "X" and e.get("name") == "ThreadControllerImpl::RunTask" and names.get(key) == "CrRendererMain":
            busy[key] = busy.get(key, 0) + e.get("tdur", 0)
    return max(busy, key=busy.get)


def cpu_between(events: list[dict], name: str) -> list[float]:
    """Main-thread CPU (ms) between consecutive events called ``name`` on the page's thread."""
    key = main_thread(events)
    mine = [e for e in events if (e.get("pid"), e.get("tid")) == key]
    marks = sorted(e["ts"] for e in mine if e.get("name") == name)
    tasks = sorted((e["ts"], e.get("tdur", 0)) for e in mine
                   if e.get("ph") == "X" and e["name"] == "ThreadControllerImpl::RunTask")
    out, j = [], 0
    for a, b in zip(marks, marks[1:]):
        while j < len(tasks) and tasks[j][0] < a:
            j += 1
        k, total = j, 0
        while k < len(tasks) and tasks[k][0] < b:
            total += tasks[k][1]
            k += 1
        out.append(total / 1000)
    return out


def summary(cpu: list[float]) -> str:
    return (f"median {statistics.median(cpu):.1f}  p90 {pct(cpu, 0.9):.1f}  p95 {pct(cpu, 0.95):.1f}  "
            f"max {max(cpu):.1f}  mean {statistics.mean(cpu):.1f}")


def traced(args, query: str, device: dict, run) -> tuple[list[dict], object]:
    """Open ``query``; ``run(page)`` readies the page and returns the part to trace: its
    trace events and what the part returned."""
    from playwright.sync_api import sync_playwright

    from tests.ui.helpers import INIT_SCRIPT, launch_chromium, open_app, serve_app

    with tempfile.NamedTemporaryFile(suffix=".json", prefix="bpx-frame-trace-", delete=False) as f:
        path = args.trace or f.name
    with serve_app(timeout=60) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            context = browser.new_context(**device)
            context.add_init_script(INIT_SCRIPT)
            page = context.new_page()
            open_app(page, url, query, timeout=180_000)
            page.wait_for_function("() => (window.__bpx_views || []).some((v) => v.scene)", timeout=120_000)
            page.wait_for_timeout(args.still * 1000)  # the page still: the coming steps' formulas typeset
            part = run(page)
            browser.start_tracing(page=page, path=path, categories=CATEGORIES)
            result = part()
            browser.stop_tracing()
        finally:
            browser.close()
    with open(path) as f:
        events = json.load(f)
    if not args.trace:
        os.unlink(path)
    return (events["traceEvents"] if isinstance(events, dict) else events), result


# no formula typeset ahead (markup.mjs ahead): what the idle typesetting costs a playback
NO_AHEAD = "() => window.__bpx_views.forEach((v) => { v.markup.ahead = () => {}; v.markup.queue = null })"


def idle_cpu(events: list[dict]) -> float:
    """Main-thread CPU (ms) in idle callbacks (requestIdleCallback: the formulas typeset ahead)."""
    key = main_thread(events)
    return sum(e.get("tdur", 0) for e in events if (e.get("pid"), e.get("tid")) == key
               and e.get("ph") == "X" and e.get("name") == "FireIdleCallback") / 1000


def play(args, device: dict) -> None:
    query = "expr=" + quote(args.expr, safe="") + f"&level={args.level}&mode=backward"

    def run(page):
        if args.no_ahead:
            page.evaluate(NO_AHEAD)
        page.get_by_role("button", name="▶ Play", exact=True).click()
        page.wait_for_function("() => window.__bpx_views.some((v) => v.player.playing)", timeout=10_000)
        return lambda: page.evaluate(PLAY_FRAMES, args.seconds * 1000)

    events, r = traced(args, query, device, run)
    cpu = cpu_between(events, "bpx-frame")
    over = sum(c > 1000 / 60 for c in cpu)
    print(f"{args.expr} level={args.level}, backward playback {args.seconds:g} s: {len(cpu)} frames "
          f"(wall fps {r['n'] / (r['elapsed'] / 1000):.1f}, the load's)")
    print(f"main-thread CPU per frame, ms: {summary(cpu)}; over 16.7 ms: {over}; "
          f"per second of playback: {sum(cpu) / (r['elapsed'] / 1000):.0f} ms, of it in idle callbacks "
          f"{idle_cpu(events) / (r['elapsed'] / 1000):.0f} ms")
    # a step every 1.1 s at speed 1: its start and its arrival are the costliest two frames
    top = sorted(cpu)[-2 * max(1, round(r["elapsed"] / 1100)):]
    rest = sorted(cpu)[:-len(top)] or [0.0]
    print(f"the costliest {len(top)} frames (two per step): median {statistics.median(top):.1f}  "
          f"mean {statistics.mean(top):.1f} ms; the others: median {statistics.median(rest):.1f} ms")


def drag(args, device: dict) -> None:
    query = "expr=" + quote("mlp(2, 16, 16, 1)", safe="") + "&mode=backward"

    def run(page):
        start = page.evaluate("() => window.__bpxt.slider('x0').value")
        values = [round(start + 0.37 * ((k * 0.618) % 1) - 0.18, 4) for k in range(args.samples)]
        page.evaluate(DRAG, values[:10])  # warm up
        return lambda: page.evaluate(DRAG, values)

    events, _ = traced(args, query, device, run)
    cpu = cpu_between(events, "bpx-s0")
    heads = "phone" if args.phone else "desktop"
    print(f"mlp(2, 16, 16, 1) op by op ({heads}), {len(cpu)} updates of x0 (two frames each): "
          f"main-thread CPU per update, ms: {summary(cpu)}")


def main() -> None:
    assert MARKED.count("performance.mark") == 2, "bench_frame's SAMPLE changed: update MARKED"
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=80)
    ap.add_argument("--phone", action="store_true", help="a phone's viewport (390 x 844, touch)")
    ap.add_argument("--trace", default="", help="keep the trace in this file")
    ap.add_argument("--play", action="store_true", help="--expr's backward playback")
    ap.add_argument("--level", default="neuron", help="--play's level of detail (layer, neuron, op)")
    ap.add_argument("--expr", default="mlp(2, 60, 60, 1)", help="--play's expression")
    ap.add_argument("--still", type=float, default=3.0, help="seconds the page is still before the trace")
    ap.add_argument("--no-ahead", action="store_true", help="--play without the formulas typeset ahead")
    ap.add_argument("--seconds", type=float, default=4.0, help="--play's length")
    ap.add_argument("--drag", action="store_true", help="a drag of mlp(2, 16, 16, 1) drawn op by op")
    args = ap.parse_args()
    if args.play or args.drag:
        from tests.ui.helpers import PHONE, VIEWPORT
        device = PHONE if args.phone else {"viewport": VIEWPORT}
        print(f"# python {' '.join(sys.argv)}  (load average at start: {os.getloadavg()[0]:.1f})")
        (play if args.play else drag)(args, device)
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
        return

    from playwright.sync_api import sync_playwright

    from tests.ui.helpers import INIT_SCRIPT, PHONE, VIEWPORT, launch_chromium, open_app, serve_app

    if args.trace:
        path = args.trace
    else:
        with tempfile.NamedTemporaryFile(suffix=".json", prefix="bpx-frame-trace-", delete=False) as f:
            path = f.name
    print(f"# python {' '.join(sys.argv)}  (load average at start: {os.getloadavg()[0]:.1f})")
    with serve_app(timeout=60) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            context = browser.new_context(**(PHONE if args.phone else {"viewport": VIEWPORT}))
            context.add_init_script(INIT_SCRIPT)
            page = context.new_page()
            open_app(page, url, "expr=" + quote(tanh_sum()), timeout=120_000)
            first = page.evaluate("() => window.__bpxt.sliders()[0]")
            page.wait_for_timeout(500)
            latency(page, first["title"], first["value"], 20, MARKED)  # warm up
            browser.start_tracing(page=page, path=path, categories=CATEGORIES)
            wall = latency(page, first["title"], first["value"], args.samples, MARKED)
            browser.stop_tracing()
        finally:
            browser.close()
    with open(path) as f:
        events = json.load(f)
    events = events["traceEvents"] if isinstance(events, dict) else events
    if not args.trace:
        os.unlink(path)
    cpu, layerized = per_sample(events)
    print(f"tanh sum (204 nodes), {args.samples} samples ({'phone' if args.phone else 'desktop'}): "
          f"main-thread CPU per sample, ms: median {statistics.median(cpu):.1f}  p90 {pct(cpu, 0.9):.1f}  "
          f"p95 {pct(cpu, 0.95):.1f}  max {max(cpu):.1f}  mean {statistics.mean(cpu):.1f}")
    print(f"page layerized again: {layerized} times; wall frame med/p95 ms {wall['frame'][0]:.1f} / "
          f"{wall['frame'][1]:.1f} (the load's)")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
