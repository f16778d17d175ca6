"""Does a page build in a thread hold the event loop? One process, the mechanism alone.

An asyncio loop answers a "release" every ``--every`` s: a socket becomes readable (the loop
wakes from ``select``), and the callback does ~``--work`` ms of Python with a socket write
every ms (each a release of the interpreter lock, as a real release's reads and writes are).
Meanwhile a page thread builds the explorer's live page (``build_page``, ``server_doc``,
the document's JSON) again and again, as components/builds.py's thread does, with the
server's switch interval (1 ms). Alternating windows: the page thread joined to the loop's
gate (components/loop_first.py: it waits at its checkpoints while the loop works) or not.
Reported per mode: a release's time from the socket write to the end of its callback
(median / p95 / max ms), the loop's CPU per release, and the page thread's CPU (% of a core:
how fast pages are still built).

Both modes run in the same process on the same machine, alternating, so a loaded machine
slows both alike; compare them with each other, not with other runs.

    python bench/bench_loop_first.py                  # 3 x 2 windows of 5 s
    python bench/bench_loop_first.py --windows 4 --seconds 8
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_once() -> None:
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from components.navigation import build_page

    doc = Document()
    with set_curdoc(doc), doc.models.freeze():
        build_page({}).server_doc(doc)
    doc.to_json()


def work(ms: float, sock) -> None:
    """~``ms`` of Python, with a socket write (the interpreter lock let go) every ms."""
    end = time.thread_time() + ms / 1000
    while time.thread_time() < end:
        step = time.thread_time() + 0.001
        x = 0
        while time.thread_time() < step:
            x += sum(range(200))
        sock.send(b".")


async def window(mode: str, args, pages: list, stop: threading.Event) -> dict:
    from components import loop_first

    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    sink_r, sink_w = socket.socketpair()
    sink_r.setblocking(False)
    loop.add_reader(sink_r, lambda: sink_r.recv(65536))
    sent, latencies, cpu = [], [], []

    def answer():
        b.recv(64)
        t0 = time.thread_time()
        work(args.work, sink_w)
        cpu.append(time.thread_time() - t0)
        latencies.append(time.perf_counter() - sent.pop(0))

    loop.add_reader(b, answer)
    joined = mode == "joined"
    pool = ThreadPoolExecutor(1, initializer=loop_first.join if joined else None)

    def page_thread():
        pages.append(threading.get_ident())
        while not stop.is_set():
            build_once()

    stop.clear()
    runner = loop.run_in_executor(pool, page_thread)
    await asyncio.sleep(0.5)
    clock = time.pthread_getcpuclockid(pages[-1])
    t_start, c0 = time.perf_counter(), time.clock_gettime(clock)
    end = t_start + args.seconds
    while time.perf_counter() < end:
        sent.append(time.perf_counter())
        a.send(b"r")
        await asyncio.sleep(args.every)
    page_cpu = time.clock_gettime(clock) - c0
    stop.set()
    await runner
    pool.shutdown()
    loop.remove_reader(b)
    loop.remove_reader(sink_r)
    for s in (a, b, sink_r, sink_w):
        s.close()
    return {"latency": latencies, "cpu": cpu, "page_cpu": page_cpu / args.seconds}


async def main_async(args) -> None:
    from components import builds, loop_first

    sys.setswitchinterval(builds.SWITCH_SECONDS)
    loop_first.install(asyncio.get_running_loop())
    build_once()
    build_once()
    pages: list = []
    stop = threading.Event()
    results: dict[str, list] = {"alone": [], "joined": []}
    for k in range(args.windows):
        for mode in (("alone", "joined") if k % 2 == 0 else ("joined", "alone")):
            results[mode].append(await window(mode, args, pages, stop))
    print(f"{'page thread':<10}{'releases':>9}{'median ms':>11}{'p95 ms':>8}{'max ms':>8}"
          f"{'loop CPU ms':>13}{'page thread CPU %':>19}")
    for mode, runs in results.items():
        lat = sorted(x * 1000 for r in runs for x in r["latency"])
        cpu = [x * 1000 for r in runs for x in r["cpu"]]
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
        print(f"{mode:<10}{len(lat):9d}{statistics.median(lat):11.1f}{p95:8.1f}{lat[-1]:8.1f}"
              f"{statistics.median(cpu):13.1f}{100 * statistics.mean(r['page_cpu'] for r in runs):19.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--windows", type=int, default=3, help="pairs of windows (alone, joined)")
    ap.add_argument("--seconds", type=float, default=5.0, help="s per window")
    ap.add_argument("--every", type=float, default=0.06, help="s between releases")
    ap.add_argument("--work", type=float, default=10.0, help="ms of Python per release")
    args = ap.parse_args()
    import panel as pn

    from components import server_hooks

    pn.extension(notifications=True, browser_info=False)
    server_hooks.install(server=False)
    print(f"# python {' '.join(sys.argv)}; load average before: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    asyncio.run(main_async(args))
    print("load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
