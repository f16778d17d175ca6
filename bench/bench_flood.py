"""Slider floods from many pages at once: 1,000 changes in 2 s per page; print the figures.

    python bench/bench_flood.py              # 10 pages at once (and 1 page first)
    python bench/bench_flood.py --pages 3

Each page (its own browser context, so its own session) sets the Bokeh Slider model's
``value`` and ``value_throttled`` 1,000 times in 2 s (timer-paced, several changes per
tick), as ``tests/ui/test_hostile_ui.py`` does for one page. Per page it reports how long
sending took, when the page first showed the last value's numbers, when it settled for
good (showing them for a whole second), how often it fell back to an older value after
the last change (stale server echoes), and when the server's URL carried the last value.
Target: settled within 200 ms of the last change, no relapses.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ui.helpers import CHROMIUM, CHROMIUM_ARGS, INIT_SCRIPT, VIEWPORT, serve_app  # noqa: E402
from tests.ui.test_hostile_ui import FLOOD_JS, seed_loss  # noqa: E402
from report import live_app_measured  # noqa: E402

live_app_measured()


async def one_page(browser, url: str, values: list[float]) -> dict:
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_init_script(INIT_SCRIPT)
    page = await context.new_page()
    try:
        await page.goto(url, timeout=120_000)
        await page.wait_for_function("() => window.__bpxt && window.__bpxt.rows() > 0",
                                     timeout=120_000)
        page.set_default_timeout(120_000)
        expect = seed_loss(values[-1])[0]
        result = await page.evaluate(FLOOD_JS, {"name": "w", "values": values, "ms": 2000,
                                                "expect": expect, "maxWait": 120_000})
        t0 = await page.evaluate("performance.now()")
        try:
            await page.wait_for_function(
                "(v) => new URLSearchParams(location.search).get('w') === v",
                arg=f"{values[-1]:g}", timeout=60_000)
            result["urlMs"] = await page.evaluate("performance.now()") - t0
        except Exception:  # the server did not catch up within a minute
            result["urlMs"] = None
        return result
    finally:
        await context.close()


async def run(url: str, pages: int) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            values = [round(2.9 * math.sin(i * 0.37), 2) for i in range(999)]
            tasks = [one_page(browser, url, values + [round(1.25 + 0.01 * k, 2)])
                     for k in range(pages)]
            return await asyncio.gather(*tasks)
        finally:
            await browser.close()


def report(label: str, results: list[dict]) -> None:
    print(f"\n{label}")
    print(f"{'page':>4} {'sent':>5} {'send ms':>8} {'first ms':>9} {'settle ms':>10} "
          f"{'relapses':>8} {'URL ms*':>8}")
    for k, r in enumerate(results):
        first = r["firstRightMs"]
        settle = r["settleMs"]
        print(f"{k:>4} {r['sent']:>5} {r['sendMs']:>8.0f} "
              f"{'-' if first is None else f'{first:.0f}':>9} "
              f"{'-' if settle is None else f'{settle:.0f}':>10} {r['relapses']:>8} "
              f"{'-' if r['urlMs'] is None else format(r['urlMs'], '.0f'):>8}")
    settles = [r["settleMs"] for r in results if r["settleMs"] is not None]
    if settles:
        print(f"settle: median {statistics.median(settles):.0f} ms, max {max(settles):.0f} ms; "
              f"target <= 200 ms with no relapses")
    print("* URL ms: after the page had settled")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=10)
    args = ap.parse_args()
    with serve_app(timeout=60) as url:
        report("1 page", asyncio.run(run(url, 1)))
        if args.pages > 1:
            report(f"{args.pages} pages at once", asyncio.run(run(url, args.pages)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
