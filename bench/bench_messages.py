"""The largest websocket messages the app itself sends and receives, driven by a real browser.

    python bench/bench_messages.py

Starts ``panel serve app.py --setup bench/message_sizes.py`` (it logs each new largest
message per direction and type) and drives headless Chromium through what a class does:
every example of the explorer (the 11,586-node MLP included), a slider dragged and released
on each, play, a click on a node, a grouped neuron opened, "Save as HTML", and every lesson
in English and Chinese with its first slider dragged. Prints the largest message received
from the page and sent to it, per type: the figure behind ``BPX_MAX_MESSAGE_BYTES``
(components/guard.py).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ui.helpers import (button, expression_input, launch_chromium, new_context,  # noqa: E402
                              node_position, open_app, serve_app)
from report import live_app_measured  # noqa: E402

live_app_measured()

SIZE = re.compile(r"bpx-message-size (received|sent) (\S+) (\d+)")


def drag_first_slider(page) -> None:
    handle = page.locator(".bk-Slider .noUi-handle").first
    box = handle.bounding_box()
    if box is None:
        return
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for dx in (10, 25, 40):
        page.mouse.move(x + dx, y)
        page.wait_for_timeout(30)
    page.mouse.up()
    page.wait_for_timeout(400)


def main() -> int:
    from playwright.sync_api import sync_playwright

    from components.controls import EXAMPLES
    from components.lessons import LESSONS
    from components.model import ExplorerModel

    with serve_app(extra_args=("--setup", "bench/message_sizes.py")) as url, \
            sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = new_context(browser).new_page()
            open_app(page, url)
            for _, source in EXAMPLES:
                box = expression_input(page)
                box.fill(source)
                box.press("Enter")
                expected = len(ExplorerModel(expression=source).scene["nodes"]["op"])
                page.wait_for_function("(n) => { const s = window.__bpxt.scene();"
                                       " return s && s.nodes.op.length === n }",
                                       arg=expected, timeout=60_000)
                drag_first_slider(page)
                button(page, "Backward").click()
                button(page, "▶ Play").click()
                page.wait_for_timeout(300)
                names = page.evaluate("() => window.__bpxt.table().name.slice(0, 1)")
                if names:
                    x, y = node_position(page, names[0])
                    page.mouse.click(x, y)
                    page.wait_for_timeout(300)
            with page.expect_download(timeout=60_000):
                page.get_by_role("button", name="Save as HTML").click()
            for slug in LESSONS:
                for lang in ("en", "zh"):
                    page.goto(f"{url}?lesson={slug}&lang={lang}")
                    page.wait_for_timeout(1500)
                    drag_first_slider(page)
        finally:
            browser.close()
        time.sleep(0.5)
        found = {}
        for direction, msgtype, size in SIZE.findall(Path(url.log).read_text(errors="replace")):
            found[direction, msgtype] = max(found.get((direction, msgtype), 0), int(size))
    print(f"{'direction':<9} {'type':<16} {'largest bytes':>13}")
    for (direction, msgtype), size in sorted(found.items()):
        print(f"{direction:<9} {msgtype:<16} {size:>13,}")
    received = max((s for (d, _), s in found.items() if d == "received"), default=0)
    print(f"largest message from a page: {received:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
