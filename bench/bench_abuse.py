"""One hostile client against `panel serve app.py` (started as the README says), attack by attack,
while an honest student releases a slider of the seed graph every ~0.3 s.

    python bench/bench_abuse.py            # every attack
    python bench/bench_abuse.py --quick    # fewer messages per attack
    python bench/bench_abuse.py --only page-open --stalls 0.2   # one attack, the loop watched

The attacker speaks Bokeh's websocket protocol (``tests/bokeh_client.py``). Per attack it
prints the honest student's release -> scene latency (median and worst, wall time), the
server's CPU seconds during the attack (its process, psutil) and its RSS after, and how the
server answered. Attacks (``ATTACKS``) are what issue #16 tried: malformed values, oversized
messages, websockets that never ask for their document, a flood of page opens, page opens of
links to the 11,586-node example, costly expressions (refused ``mlp(1000, 1, 1)``, then the
11,586-node example typed six times in a row, then released ten times). :func:`abuse_wave` is also ``bench_sessions.py --abuse``'s.
With ``--stalls 0.2`` the server also logs each time its event loop did not turn for 0.2 s
(components/lifecycle.py ``LoopWatch``), and each attack's line is followed by its stalls:
how many, the worst and where the loop was then.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from tornado.websocket import WebSocketClosedError  # noqa: E402

from bokeh_client import Page, connect, get_token  # noqa: E402


async def malformed(base: str, n: int) -> str:
    page = await Page.open(base)
    w = page.sliders["w"]
    bodies = [page.change(w, "value_throttled", bad) for bad in ("abc", None, {"a": 1})]
    bodies.append(page.change("p999999", "value_throttled", 1.0))
    bodies.append('{"events":[{"kind":"ModelChanged","model":{"id":"%s"},"attr":'
                  '"value_throttled","new":%s1%s}]}' % (w, "[" * 30_000, "]" * 30_000))
    for k in range(n):
        if page.closed.is_set():  # closed after MAX_REFUSALS: what it sends now is lost
            break
        try:
            await page.send("PATCH-DOC", bodies[k % len(bodies)])
        except WebSocketClosedError:  # the close came while a message was being written
            break
    await asyncio.sleep(0.5)
    await page.close()
    return f"{len(page.errors)} ERROR replies, closed={page.closed.is_set()}, leaks={len(page.leaks)}"


async def oversized(base: str, n: int) -> str:
    closed = 0
    for _ in range(n):
        page = await Page.open(base)
        try:
            await page.send("PATCH-DOC", json.dumps(page.change(page.sliders["w"], "value_throttled",
                                                                [0.5] * 250_000)))  # ~1 MB
        except WebSocketClosedError:  # closed by the server while the message was being written
            closed += 1
            continue
        try:
            await asyncio.wait_for(page.closed.wait(), 10)
            closed += 1
        except asyncio.TimeoutError:
            await page.close()
    return f"{closed}/{n} connections closed unread"


async def never_ack(base: str, n: int) -> str:
    sockets = []
    for _ in range(n):
        _, token = await get_token(base, "/app?live=1")
        if token is not None:
            sockets.append(await connect(base, token))
    closed = 0
    for ws in sockets:
        try:
            while await asyncio.wait_for(ws.read_message(), 15) is not None:
                pass
            closed += 1
        except asyncio.TimeoutError:
            ws.close()
    return f"{closed}/{len(sockets)} silent websockets closed by the server"


async def idle(base: str, n: int, seconds: float = 5.0) -> str:
    pages = [await Page.open(base) for _ in range(n)]
    await asyncio.sleep(seconds)
    for page in pages:
        await page.close()
    return f"{len(pages)} pages open {seconds:.0f} s, then closed"


async def page_opens(base: str, n: int, path: str = "/app?live=1") -> str:
    """``n`` requests for a live page at once (``live=1``: a session each, the attacker's
    costliest open; ``GET /app`` alone is the static site's page, components/first_page.py)."""
    statuses = await asyncio.gather(*(get_token(base, path) for _ in range(n)))
    codes = [s for s, _ in statuses]
    return f"{codes.count(200)} opened, {codes.count(429)} refused (429)"


async def static_opens(base: str, n: int) -> str:
    """``n`` plain ``GET /app`` at once: the static site's page from the server's cache, no
    session (unless ``BPX_STATIC_FIRST=0``)."""
    statuses = await asyncio.gather(*(get_token(base, "/app") for _ in range(n)))
    codes = [s for s, _ in statuses]
    live = sum(token is not None for _, token in statuses)
    return f"{codes.count(200)} answered ({live} with a session), {codes.count(429)} refused (429)"


async def heavy_links(base: str, n: int) -> str:
    """Page requests for links to the biggest example (each page's first derivation traces
    ~11,600 nodes), all at once."""
    from urllib.parse import urlencode

    links = ["/app?" + urlencode({"expr": f"mlp(2, {60 - k % 10}, 60, 1)", "level": "layer"})
             for k in range(n)]
    statuses = await asyncio.gather(*(get_token(base, link) for link in links))
    codes = [s for s, _ in statuses]
    return f"{codes.count(200)} built, {codes.count(429)} refused (429)"


async def costly(base: str, n: int) -> str:
    page = await Page.open(base)
    await page.type("mlp(1000, 1, 1)")
    await page.until(lambda: page.saw("at most 24 inputs"), 10)
    start = page.scenes
    for h in range(55, 61):
        await page.type(f"mlp(2, {h}, 60, 1)")
        await asyncio.sleep(0.2)
    await page.until(lambda: len(page.values) > 100 and page.scenes > start, 60)  # an mlp: its tape
    drawn = page.scenes - start
    for k in range(n):
        await page.send("PATCH-DOC", page.change(page.sliders["x0"], "value_throttled",
                                                 round(-0.9 + 0.17 * k, 2)))
        await asyncio.sleep(0.3)
    await page.close()
    return f"mlp(1000, 1, 1) refused; 6 MLPs typed, {drawn} drawn; {n} releases sent"


ATTACKS = {  # name -> (attack, messages or pages; --quick divides by 4)
    "baseline (no attack)": (None, 0),
    "malformed values x40": (malformed, 40),
    "oversized 1 MB messages x8": (oversized, 8),
    "never-ACK websockets x20": (never_ack, 20),
    "page-open flood x80": (page_opens, 80),
    "static page opens x80": (static_opens, 80),
    "links to mlp(2,60,60,1) x8": (heavy_links, 8),
    "costly expressions": (costly, 10),
}


WAVE = ("malformed", "oversized", "idle", "never-ACK", "page-open")  # abuse_wave's, in order


async def abuse_wave(base: str, scale: int = 1, static: bool = False,
                     only: tuple[str, ...] = WAVE) -> list[str]:
    """Malformed, oversized, idle, never-ACK and page-open floods (live pages, ``live=1``),
    one after another; with ``static``, the page-open flood is plain ``GET /app`` (the
    static site's page where the server answers it so: no session). ``only``: those of
    :data:`WAVE` (one at a time: which leaves most behind)."""
    attacks = {"malformed": lambda: malformed(base, 40 // scale),
               "oversized": lambda: oversized(base, 8 // scale),
               "idle": lambda: idle(base, 20 // scale),
               "never-ACK": lambda: never_ack(base, 20 // scale),
               "page-open": lambda: (static_opens(base, 80 // scale) if static
                                     else page_opens(base, 80 // scale))}
    return [f"{name}: {await attacks[name]()}" for name in WAVE if name in only]


async def honest_during(base: str, attack, n: int) -> tuple[list[float], str]:
    honest = await Page.open(base)
    latencies, stop = [], asyncio.Event()

    async def student():
        value = 0.0
        while not stop.is_set():
            value = round(value + 0.37, 2) if value < 2.5 else -2.5
            try:
                latencies.append(await honest.release("w", value, timeout=10.0))
            except TimeoutError:
                latencies.append(float("inf"))
            await asyncio.sleep(0.3)

    task = asyncio.ensure_future(student())
    try:
        outcome = await attack(base, n) if attack else (await asyncio.sleep(5.0) or "-")
        await asyncio.sleep(0.6)
    finally:
        stop.set()
        await task
        await honest.close()
    return latencies, outcome


def stalls(log_path: str, start: int) -> str:
    """The loop's stalls the server logged after byte ``start`` of its log, in one line."""
    import re

    text = Path(log_path).read_bytes()[start:].decode(errors="replace")
    found = [(float(ms), where) for ms, where in re.findall(r"bpx-stall ms=(\d+) at (.*)", text)]
    passes = [float(ms) for ms in re.findall(r"bpx-stall-gc ms=(\d+)", text)]
    if not found:
        return f"{'':<28} loop stalls: none; collector passes as long: {len(passes)}"
    worst = max(found)
    by_via: dict[str, list[float]] = {}
    for ms, where in found:
        via = where.rsplit(" via ", 1)[1] if " via " in where else "?"
        by_via.setdefault(via.split(" ", 1)[-1], []).append(ms)
    kinds = "; ".join(f"{len(v)} in {k} (worst {max(v):.0f} ms)"
                      for k, v in sorted(by_via.items(), key=lambda kv: -len(kv[1])))
    return (f"{'':<28} loop stalls: {len(found)}, {sum(ms for ms, _ in found):.0f} ms in all, "
            f"worst {worst[0]:.0f} ms at {worst[1]}; collector passes as long: {len(passes)}"
            + (f" (worst {max(passes):.0f} ms)" if passes else "")
            + f"\n{'':<28} by what the loop was doing: {kinds}")


def main() -> int:
    import os

    import psutil

    from tests.ui.helpers import serve_app

    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--stalls", type=float, default=0.0, metavar="SECONDS",
                    help="after each attack, the event loop's stalls of at least this long "
                         "(components/lifecycle.py LoopWatch): count, worst, where")
    ap.add_argument("--only", default="", metavar="WORDS",
                    help="only the attacks whose name contains WORDS (e.g. 'page-open'; the "
                         "baseline always runs first)")
    args = ap.parse_args()
    scale = 4 if args.quick else 1
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times below "
          "are under that load; CPU seconds are the server's own)")
    watch = {"extra_args": ("--setup", "components/lifecycle.py"),
             "env": {"BPX_LOOP_STALLS": str(args.stalls)}} if args.stalls else {}
    with serve_app(**watch) as url:
        server = psutil.Process(url.pid)
        base = url[: -len("/app")]
        print(f"{'attack':<28} {'honest median':>13} {'worst':>7} {'n':>3} {'server CPU s':>12} "
              f"{'RSS MB':>7}  outcome")
        seen = len(Path(url.log).read_bytes())
        for name, (attack, n) in ATTACKS.items():
            if args.only and attack is not None and args.only not in name:
                continue
            cpu = sum(server.cpu_times()[:2])
            latencies, outcome = asyncio.run(honest_during(base, attack, max(1, n // scale)))
            cpu = sum(server.cpu_times()[:2]) - cpu
            rss = server.memory_info().rss / 2**20
            print(f"{name:<28} {statistics.median(latencies) * 1000:>10.0f} ms "
                  f"{max(latencies):>6.2f}s {len(latencies):>3} {cpu:>12.1f} {rss:>7.0f}  {outcome}",
                  flush=True)
            if args.stalls:
                print(stalls(url.log, seen), flush=True)
                seen = len(Path(url.log).read_bytes())
        log = Path(url.log).read_text(errors="replace")
        longest = max((len(line) for line in log.splitlines()), default=0)
        print(f"server log: {len(log):,} bytes, longest line {longest} characters, "
              f"'Traceback' {log.count('Traceback')} times")
    return 0


if __name__ == "__main__":
    sys.exit(main())
