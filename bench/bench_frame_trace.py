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

Compare trees by running it from each, alternately; the wall frame p95 it also prints is
the machine's load first.
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


def main() -> None:
    assert MARKED.count("performance.mark") == 2, "bench_frame's SAMPLE changed: update MARKED"
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=80)
    ap.add_argument("--phone", action="store_true", help="a phone's viewport (390 x 844, touch)")
    ap.add_argument("--trace", default="", help="keep the trace in this file")
    args = ap.parse_args()

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
