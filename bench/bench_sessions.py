"""Open and close waves of sessions against a real server; print memory and the session census.

    python bench/bench_sessions.py                 # 16 waves of 30 sessions
    python bench/bench_sessions.py --waves 4 --sessions 10
    python bench/bench_sessions.py --waves 8 --abuse   # an abuse wave after wave 4
    python bench/bench_sessions.py --waves 6 --sessions 10 --abuse --static-flood
    python bench/bench_sessions.py --waves 4 --sessions 5 --abuse --attacks idle   # one attack
    python bench/bench_sessions.py --waves 3 --sessions 10 --stalls 0.2   # the loop watched

The server (``panel serve app.py --setup components/lifecycle.py``, 127.0.0.1, its own
process group, killed at the end) reaps unused sessions quickly: ``--unused-session-lifetime
8000 --check-unused-sessions 1000`` (below ~8 s a loading page builds its session twice).
Each session is opened with ``bokeh.client.pull_session`` (the full app is built on the
server) and closed. After each wave the bench waits until the server has logged a
``destroyed`` for every ``created`` session, then reads the server's RSS from /proc and the
census line of components/lifecycle.py (documents, explorer models, periodic callbacks,
threads, asyncio tasks still alive) with where the heap sits (MB: ``arenas``, the interpreter's
small-object arenas; ``empty``, the empty pools inside them, kept while any block of their arena
lives; ``C free``, glibc's free heap). Pass: every created session destroyed, no models or
periodic callbacks left, and RSS of the last wave <= 1.2 x RSS of wave 2.

With ``--abuse``, after the middle wave comes an abuse wave (``bench_abuse.abuse_wave``:
malformed, oversized, idle, never-ACK and page-open floods) and the waves go on; the pass
condition adds RSS of the last wave <= 1.2 x RSS of the wave before the abuse. Page opens are
metered (components/guard.py); the bench's server allows 100,000 a minute so that its own
waves are not refused.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench_abuse import WAVE  # noqa: E402
from tools.processes import free_port, stop_group  # noqa: E402
CENSUS = re.compile(r"bpx-census created=(\d+) destroyed=(\d+) documents=(\d+) models=(\d+) "
                    r"periodic=(\d+) threads=(\d+) tasks=(-?\d+)")
MEMORY = re.compile(r"arenas_mb=([\d.]+) free_pools_mb=([\d.]+) c_used_mb=(-?[\d.]+) "
                    r"c_free_mb=(-?[\d.]+)")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait_reaped(log_path: str, before: int, timeout: float = 120) -> int:
    """Wait until more than ``before`` sessions were created and all are destroyed; how many."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = CENSUS.findall(Path(log_path).read_text(errors="replace"))
        if found and int(found[-1][0]) > before and found[-1][0] == found[-1][1]:
            return int(found[-1][0])
        time.sleep(1.0)
    found = CENSUS.findall(Path(log_path).read_text(errors="replace"))
    return int(found[-1][0]) if found else 0


def _heap(log_path: str) -> str:
    """The last census's heap figures (MB): the interpreter's arenas, the empty pools inside
    them, glibc's free heap."""
    found = MEMORY.findall(Path(log_path).read_text(errors="replace"))
    if not found:
        return ""
    arenas, empty, _, c_free = (float(x) for x in found[-1])
    return f"{arenas:>7.0f} {empty:>6.0f} {c_free:>6.0f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--waves", type=int, default=16)
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--abuse", action="store_true", help="an abuse wave after the middle wave")
    ap.add_argument("--static-flood", action="store_true",
                    help="the abuse wave's page-open flood is plain GET /app (the static site's "
                         "page from the server's cache, no session) instead of live pages")
    ap.add_argument("--attacks", default=",".join(WAVE), metavar="NAMES",
                    help="the abuse wave's attacks, comma-separated (default: all of "
                         f"{', '.join(WAVE)}); one alone shows what it leaves behind")
    ap.add_argument("--stalls", type=float, default=0.0, metavar="SECONDS",
                    help="after each wave, the event loop's stalls of at least this long while "
                         "its sessions were opened, closed and destroyed (components/lifecycle.py "
                         "LoopWatch): count, worst, by what the loop was doing")
    args = ap.parse_args()
    only = tuple(name.strip() for name in args.attacks.split(","))
    if not set(only) <= set(WAVE):
        ap.error(f"--attacks: each of {', '.join(WAVE)}")

    import panel  # noqa: F401  (the client must know Panel's model types)
    from bokeh.client import pull_session

    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bpx-bench-sessions-", suffix=".log", delete=False)
    print("server log:", log.name, flush=True)
    cmd = [sys.executable, "-m", "panel", "serve", "app.py", "--address", "127.0.0.1",
           "--port", str(port), "--allow-websocket-origin", f"127.0.0.1:{port}",
           "--setup", "components/lifecycle.py",
           "--unused-session-lifetime", "8000", "--check-unused-sessions", "1000"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "BPX_SESSION_CENSUS": "1",
                                 "BPX_OPENS_PER_MINUTE": "100000",
                                 **({"BPX_LOOP_STALLS": str(args.stalls)} if args.stalls else {})})
    url = f"http://127.0.0.1:{port}/app"
    rows, ok = [], True
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("server did not start")
                time.sleep(0.2)
        total = 0
        print(f"{'wave':>4} {'open s':>7} {'reap s':>7} {'created':>8} {'destroyed':>9} "
              f"{'docs':>5} {'models':>6} {'periodic':>8} {'threads':>7} {'tasks':>5} {'RSS MB':>7} "
              f"{'arenas':>7} {'empty':>6} {'C free':>6}")
        seen = 0  # bytes of the log whose stalls were printed
        for wave in range(1, args.waves + 1):
            if args.stalls:
                seen = len(Path(log.name).read_bytes())
            start = time.monotonic()
            for _ in range(args.sessions):
                session = pull_session(url=url)
                session.close()
            opened = time.monotonic() - start
            total += args.sessions
            census = None
            opened_at = time.monotonic()
            while time.monotonic() - opened_at < 120:  # reaping: lifetime 8 s + checks
                text = Path(log.name).read_text(errors="replace")
                found = CENSUS.findall(text)
                if found and int(found[-1][1]) >= total and int(found[-1][0]) >= total:
                    census = [int(x) for x in found[-1]]
                    break
                time.sleep(0.5)
            reaped = time.monotonic() - start - opened
            if census is None:
                print(f"{wave:>4} sessions not all destroyed within 120 s")
                ok = False
                break
            time.sleep(1.0)
            rss = rss_mb(proc.pid)
            created, destroyed, docs, models, periodic, threads, tasks = census
            rows.append((wave, rss, census))
            print(f"{wave:>4} {opened:>7.1f} {reaped:>7.1f} {created:>8} {destroyed:>9} {docs:>5} "
                  f"{models:>6} {periodic:>8} {threads:>7} {tasks:>5} {rss:>7.1f} "
                  f"{_heap(log.name)}", flush=True)
            if args.stalls:
                from bench_abuse import stalls
                print(stalls(log.name, seen), flush=True)
            ok &= created == destroyed == total and models == 0 and periodic == 0
            if args.abuse and wave == args.waves // 2:
                import asyncio

                from bench_abuse import abuse_wave
                before_abuse = rss
                for outcome in asyncio.run(abuse_wave(url[: -len("/app")], static=args.static_flood,
                                                      only=only)):
                    print(f"     abuse: {outcome}", flush=True)
                total = _wait_reaped(log.name, total)  # the abuse wave's sessions count too
                print(f"     abuse wave reaped: {total} sessions created and destroyed so far, "
                      f"RSS {rss_mb(proc.pid):.1f} MB; arenas, empty pools, C free MB: "
                      f"{_heap(log.name)}", flush=True)
        if len(rows) >= 2:
            ratio = rows[-1][1] / rows[1][1]
            print(f"RSS last wave / wave 2 = {ratio:.3f} (pass <= 1.2)")
            ok &= ratio <= 1.2
        if args.abuse and len(rows) > args.waves // 2:
            ratio = rows[-1][1] / before_abuse
            print(f"RSS last wave / wave before the abuse = {ratio:.3f} (pass <= 1.2)")
            ok &= ratio <= 1.2
    finally:
        stop_group(proc)
        log.close()
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
