"""What one live page open costs the server, by phase and by thread, and what it does to the
loop: the other students' slider releases meanwhile.

A class's students open static-first pages (no session); those who go live later
(``live=1``) each cost the server a session. This bench opens live pages one after another
on a warm ``panel serve app.py`` (``BPX_STATIC_FIRST=0``: every open live, no builder process)
while ``--honest`` live students release sliders (bench_class.py's students, 4 releases a
second each), and reports:

- **CPU per phase of a live open** (median over ``--opens``), split between the event loop's
  thread (the server's main thread) and the other threads (the page-building and
  page-rendering threads of components/builds.py): ``GET /app`` (session, document build,
  the page's HTML), ``websocket + ACK``, ``PULL-DOC`` (the document's JSON), and ``after
  ready`` (from the page's ``document_ready`` until ``--settle`` s later: what a session does
  once shown, its first scene, parts built on later loop turns). Thread CPU from
  ``/proc/PID/task/*/stat``, so the honest students' releases are counted too (a few ms per
  release; the ``idle`` row is the same window with no open).
- **The loop's long turns** during the opens (components/lifecycle.py ``LoopWatch``,
  ``BPX_LOOP_STALLS=--stalls``): count, worst, where.
- **The honest students' releases** sent while the opens ran: answered, median / p95 / max.

    python bench/bench_live_open.py                 # 8 opens, 3 honest students
    python bench/bench_live_open.py --opens 12 --stalls 0.03
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_abuse import stalls  # noqa: E402
from bench_class import Student, signatures  # noqa: E402
from bench_load import pct, server  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds so far of the process's main thread (the event loop's) and of its other
    threads (ended threads included, from the process's own total)."""
    def ticks(path: str) -> float:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    total = ticks(f"/proc/{pid}/stat")
    main = ticks(f"/proc/{pid}/task/{pid}/stat")
    return main, total - main


async def one_open(base: str, origin: str, settle: float, pid: int) -> dict[str, tuple]:
    """One live open, as a browser: its phases' CPU (loop, other threads) in seconds."""
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    from bench_class import DOCUMENT_READY, TOKEN, Connection

    out, last, t = {}, thread_cpu(pid), time.perf_counter()

    def mark(name: str) -> None:
        nonlocal last, t
        now, wall = thread_cpu(pid), time.perf_counter()
        out[name] = (now[0] - last[0], now[1] - last[1], wall - t)
        last, t = now, wall

    page = await AsyncHTTPClient().fetch(base + "/app?live=1", request_timeout=120)
    mark("GET /app")
    token = TOKEN.search(page.body.decode()).group(1)
    ws = await websocket_connect(HTTPRequest(base.replace("http", "ws", 1) + "/app/ws",
                                             headers={"Origin": origin}, request_timeout=120),
                                 subprotocols=["bokeh", token], max_message_size=64 * 2**20)
    conn = Connection(ws)
    await conn.receive()
    mark("websocket + ACK")
    await conn.send("PULL-DOC-REQ", {})
    await conn.receive()
    mark("PULL-DOC")
    await conn.send("PATCH-DOC", {"events": [DOCUMENT_READY]})
    end = time.perf_counter() + settle
    while (left := end - time.perf_counter()) > 0:
        try:
            await asyncio.wait_for(conn.receive(), left)
        except asyncio.TimeoutError:
            break
    mark("after ready")
    ws.close()
    return out


def share(log: str) -> dict[str, float]:
    """The last totals of bench/loop_share_setup.py's meter in the server's log."""
    import re

    found = re.findall(r"bpx-share (.*)", Path(log).read_text(errors="replace"))
    return {k: float(v) for k, v in (kv.split("=") for kv in found[-1].split())} if found else {}


async def run(base: str, args, sigs: dict, pid: int, log: str) -> tuple:
    honest = [Student(base, base, seed=100 + k, duration=1e9, rate=4.0, switch_every=1e9,
                      sigs=sigs) for k in range(args.honest)]
    tasks = [asyncio.ensure_future(s.run()) for s in honest]
    while not all(s.values for s in honest):  # every honest page open and its scene shown
        await asyncio.sleep(0.1)
    await asyncio.sleep(2.0)
    idle0, t_idle = thread_cpu(pid), time.perf_counter()
    await asyncio.sleep(args.settle)
    idle1 = thread_cpu(pid)
    idle = tuple((b - a) for a, b in zip(idle0, idle1))
    await asyncio.sleep(1.1)  # a fresh line of the meter
    before = share(log)
    started = time.perf_counter()
    opens = []
    for _ in range(args.opens):
        opens.append(await one_open(base, base, args.settle, pid))
        await asyncio.sleep(args.gap)
    ended = time.perf_counter()
    await asyncio.sleep(1.1)
    after = share(log)
    shares = {k: after[k] - before.get(k, 0.0) for k in after}
    await asyncio.sleep(1.0)  # the last releases answered
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    during = [x for s in honest for x, t in zip(s.rec["latency"], s.rec["sent_at"])
              if started <= t <= ended]
    quiet = [x for s in honest for x, t in zip(s.rec["latency"], s.rec["sent_at"])
             if t_idle <= t < started]
    return opens, during, quiet, idle, shares


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--opens", type=int, default=8)
    ap.add_argument("--honest", type=int, default=3, help="live students releasing sliders")
    ap.add_argument("--settle", type=float, default=1.5, help="s after document_ready counted")
    ap.add_argument("--gap", type=float, default=0.5, help="s between one open's end and the next")
    ap.add_argument("--stalls", type=float, default=0.04, help="BPX_LOOP_STALLS of the server")
    args = ap.parse_args()
    from tornado.httpclient import AsyncHTTPClient

    AsyncHTTPClient.configure(None, max_clients=20)
    sigs = signatures()
    print(f"# python {' '.join(sys.argv)}; load average before: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    env = {"BPX_STATIC_FIRST": "0", "BPX_FIRST_PAGE_PREBUILD": "0", "BPX_OPENS_PER_MINUTE": "100000",
           "BPX_LOOP_STALLS": str(args.stalls)}
    with server(60000, 5000, extra_args=["--setup", "bench/loop_share_setup.py"], env=env) as (url, pid, log):
        for _ in range(3):  # warm: imports, first sessions (the first is built on the loop)
            urllib.request.urlopen(url + "?live=1", timeout=120).read()
        time.sleep(2)
        seen = len(Path(log).read_bytes())
        base = url.rsplit("/app", 1)[0]
        opens, during, quiet, idle, shares = asyncio.run(run(base, args, sigs, pid, log))
        stall_line = stalls(log, seen)
        if os.environ.get("BPX_BENCH_STALL_LIST"):  # every stall, longest first
            import re
            text = Path(log).read_bytes()[seen:].decode(errors="replace")
            for ms_, where in sorted(re.findall(r"bpx-stall ms=(\d+) at (.*)", text),
                                     key=lambda f: -int(f[0]))[:25]:
                print(f"  stall {ms_:>5} ms  {where}")
    print(f"{args.opens} live opens, {args.honest} honest live students; load average after: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"\n{'CPU ms per live open (median)':<32}{'loop':>8}{'threads':>9}{'wall':>8}")
    for phase in opens[0]:
        loop, other, wall = (statistics.median(o[phase][k] for o in opens) * 1000 for k in range(3))
        print(f"  {phase:<30}{loop:8.0f}{other:9.0f}{wall:8.0f}")
    tot = [sum(v[0] + v[1] for v in o.values()) for o in opens]
    print(f"  {'all (median of sums)':<30}{statistics.median(tot) * 1000:17.0f}")
    print(f"  {'idle, same window as after ready':<30}{idle[0] * 1000:8.0f}{idle[1] * 1000:9.0f}")
    ms = lambda xs, q: f"{1000 * pct(xs, q):.0f}" if xs else "-"  # noqa: E731
    print(f"\nhonest releases during the opens: {len(during)} answered, median / p95 / max ms "
          f"{ms(during, .5)} / {ms(during, .95)} / {ms(during, 1)}")
    print(f"honest releases before (no open):  {len(quiet)} answered, median / p95 / max ms "
          f"{ms(quiet, .5)} / {ms(quiet, .95)} / {ms(quiet, 1)}")
    print(stall_line)
    if shares:
        turns, loop, inside, outside = (shares[k] for k in ("turns_ms", "loop_cpu_ms",
                                                            "pages_in_turns_ms", "pages_outside_ms"))
        print(f"\nwhile the opens ran (CPU ms): the loop's turns {turns:.0f} ms wall, the loop's "
              f"CPU in them {loop:.0f}; the page threads' CPU inside the loop's turns "
              f"{inside:.0f}, while the loop waited in select {outside:.0f} "
              f"({100 * inside / max(inside + outside, 1):.0f} % of the page threads' CPU taken "
              f"while the loop had work)")


if __name__ == "__main__":
    main()
