"""A whole class on one server: 30 concurrent sessions for 2 minutes.

Starts ``panel serve app.py`` on 127.0.0.1 (its own process group, killed at the end,
whatever happens) with ``--unused-session-lifetime 15000 --check-unused-sessions 5000``,
then runs Bokeh websocket clients (``bokeh.client.ClientSession``, connect + pull as
``pull_session`` does; each session on its
own thread and IOLoop, spread over a few worker processes so the clients' own Python
does not serialise on one GIL). Each session, like a student:

- opens the app (``page load`` = connect, when the server builds the session's
  document, + pull, when it sends it and the client deserialises it);
- every ``1/rate`` s changes one variable's slider as a released drag does
  (``value`` and ``value_throttled`` on its Slider model), and every 10th action types
  another expression instead (the TextInput titled "Expression");
- times each action until the server's reply patch arrives (the ``meta``
  ColumnDataSource's ``data`` changes in the client document). One action in flight
  per session; no reply within 5 s counts as an error.

The server process is sampled once a second with psutil: CPU (% of one core) and RSS.
After the sessions close, RSS is sampled every 5 s until it stops falling (a plateau:
three samples within 2 MB) once the unused-session lifetime has passed.

    python bench/bench_load.py            # 30 sessions, 120 s (the README's figures)
    python bench/bench_load.py --quick    # 30 s, to try it out
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tools.processes import free_port, stop_group  # noqa: E402

# All over w, x, b, y in this order: a bokeh.client document never receives the new
# Slider models when the variables change (a browser does), so the switches keep them.
EXPRESSIONS = [
    "(w*x + b - y)**2",
    "(tanh(w*x + b) - y)**2",
    "-log(sigmoid(w*x + b))*y",
    "abs(w*x + b - y) + sin(w*x*b*y)",
    "(exp(w*x) + b - y)**2",
]
REPLY_TIMEOUT = 5.0


# --- the server -----------------------------------------------------------------------------
@contextmanager
def server(lifetime_ms: int, check_ms: int, extra_args=(), env=None):
    """``panel serve app.py`` on a free port; yields (url, pid, log path).

    ``extra_args`` go to ``panel serve``, ``env`` adds environment variables.
    """
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bpx-load-", suffix=".log", delete=False)
    cmd = [sys.executable, "-m", "panel", "serve", "app.py", "--address", "127.0.0.1",
           "--port", str(port), "--allow-websocket-origin", f"127.0.0.1:{port}",
           "--unused-session-lifetime", str(lifetime_ms),
           "--check-unused-sessions", str(check_ms), *extra_args]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}/app"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"panel serve exited with {proc.returncode}; see {log.name}")
            try:
                # a path no app has: a 404 at once (/ would build a live page, seconds under load)
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/bpx-ready", timeout=5):
                    break
            except urllib.error.HTTPError:
                break  # it answers (a 404 at / is fine): ready
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"panel serve did not start; see {log.name}")
            time.sleep(0.25)
        yield url, proc.pid, log.name
    finally:
        stop_group(proc)
        log.close()


class Monitor(threading.Thread):
    """Samples the server's CPU (% of one core) and RSS (MB) every ``period`` seconds.

    With ``--num-procs`` the server is a parent and its forked workers: the figures are sums
    over the process and its children.
    """

    def __init__(self, pid: int, period: float = 1.0):
        super().__init__(daemon=True)
        import psutil

        self.root = psutil.Process(pid)
        self.procs: dict = {}
        self.period = period
        self.samples: list[tuple[float, float, float]] = []  # (time, cpu %, rss MB)
        self._stop_event = threading.Event()
        self._sample()

    def _sample(self) -> tuple[float, float]:
        import psutil

        cpu = rss = 0.0
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            tree = []
        for p in tree:
            try:
                known = self.procs.setdefault(p.pid, p)
                cpu += known.cpu_percent(None)
                rss += known.memory_info().rss / 2**20
            except psutil.Error:
                pass
        return cpu, rss

    def run(self):
        while not self._stop_event.wait(self.period):
            cpu, rss = self._sample()
            if rss == 0:
                return
            self.samples.append((time.monotonic(), cpu, rss))

    def stop(self):
        self._stop_event.set()
        self.join(timeout=5)

    def between(self, t0: float, t1: float):
        return [s for s in self.samples if t0 <= s[0] <= t1]


def rss_after_close(monitor: Monitor, t_end: float, lifetime_s: float) -> list[float]:
    """RSS (MB) every 5 s after the sessions closed: until three samples lie within 2 MB
    once the unused-session lifetime (+10 s) has passed, at most lifetime + 90 s."""
    deadline = time.monotonic() + lifetime_s + 90
    after: list[float] = []
    while time.monotonic() < deadline:
        time.sleep(5)
        after.append(monitor.samples[-1][2])
        if (time.monotonic() - t_end > lifetime_s + 10 and len(after) >= 3
                and max(after[-3:]) - min(after[-3:]) < 2.0):
            break
    return after


def pooled(records: list[dict], key: str) -> list:
    """Every session's ``key``: the items of list values, the values that are not None."""
    out: list = []
    for r in records:
        value = r[key]
        if isinstance(value, list):
            out.extend(value)
        elif value is not None:
            out.append(value)
    return out


def server_log_errors(log: str) -> int:
    """Lines of the server's log that report an error or a traceback."""
    text = Path(log).read_text(errors="replace")
    return sum(1 for line in text.splitlines()
               if "Traceback" in line or " ERROR" in line or "ERROR:" in line)


def server_rows(server_errors: int, cpu: list[float], idle_rss: float, rss: list[float],
                after: list[float]) -> list[tuple[str, str]]:
    """The report's rows on the server (this bench's and bench_class's): log errors, CPU %
    samples, RSS idle, sampled during the run and after close."""
    return [
        ("server log errors/tracebacks", f"{server_errors}"),
        ("server CPU mean / max % (1 core=100)",
         f"{statistics.mean(cpu):.0f} / {max(cpu):.0f}" if cpu else "-"),
        ("server RSS idle / peak MB", f"{idle_rss:.0f} / {max(rss):.0f}" if rss else "-"),
        ("server RSS after close, plateau MB", f"{after[-1]:.0f}" if after else "-"),
    ]


def print_error_kinds(errors: list[str]) -> None:
    if not errors:
        return
    kinds: dict[str, int] = {}
    for e in errors:
        kinds[e] = kinds.get(e, 0) + 1
    print("client errors by kind:", *[f"{n} x {e}" for e, n in
                                      sorted(kinds.items(), key=lambda x: -x[1])[:8]], sep="\n  ")


# --- one student ----------------------------------------------------------------------------
def student(url: str, duration: float, rate: float, seed: int, delay: float, out: list) -> None:
    """One session: open, act ``rate`` times a second for ``duration`` s, close."""
    import json

    from bokeh.client import ClientSession
    from bokeh.client.util import websocket_url_for_server_url
    from bokeh.models import ColumnDataSource, Slider, TextInput
    from tornado.ioloop import IOLoop, PeriodicCallback

    rng = random.Random(seed)
    rec = {"load": None, "connect": None, "latency": [], "switch": [], "errors": [], "actions": 0}
    out.append(rec)
    time.sleep(delay)
    loop = IOLoop()
    try:
        t0 = time.perf_counter()
        session = ClientSession(websocket_url=websocket_url_for_server_url(url), io_loop=loop)
        session.connect()  # the server builds the session's document
        rec["connect"] = time.perf_counter() - t0
        session.pull()  # ... and sends it; this process deserialises it
        rec["load"] = time.perf_counter() - t0
    except Exception as e:
        rec["errors"].append(f"open: {type(e).__name__}: {e}")
        loop.close()
        return
    doc = session.document
    state = {"pending": None, "kind": None, "k": 0, "expr": 0}

    def meta():
        return next(m for m in doc.select({"type": ColumnDataSource}) if "json" in m.data)

    def variables():
        return list(json.loads(meta().data["json"][0])["tape"]["variable"])

    def on_meta(attr, old, new):
        if state["pending"] is not None:
            rec["latency" if state["kind"] == "slider" else "switch"].append(
                time.perf_counter() - state["pending"])
            state["pending"] = None

    meta().on_change("data", on_meta)

    def act():
        try:
            now = time.perf_counter()
            if state["pending"] is not None:
                if now - state["pending"] < REPLY_TIMEOUT:
                    return
                rec["errors"].append(f"no reply within {REPLY_TIMEOUT:.0f} s ({state['kind']})")
                state["pending"] = None
            if not session.connected:
                rec["errors"].append("disconnected")
                stop()
                return
            state["k"] += 1
            rec["actions"] += 1
            if state["k"] % 10 == 0:
                state["expr"] = (state["expr"] + 1) % len(EXPRESSIONS)
                box = next(m for m in doc.select({"type": TextInput}) if m.title == "Expression")
                state["pending"], state["kind"] = time.perf_counter(), "switch"
                box.value = EXPRESSIONS[state["expr"]]
                return
            names = variables()
            sliders = {m.title: m for m in doc.select({"type": Slider}) if m.title in names}
            if not sliders:  # the new sliders' patch is still on its way: try next tick
                state["k"] -= 1
                rec["actions"] -= 1
                state["waiting"] = state.get("waiting") or now
                if now - state["waiting"] > REPLY_TIMEOUT:
                    titles = sorted(m.title for m in doc.select({"type": Slider}))
                    rec["errors"].append(f"no sliders for the expression's variables {names} "
                                         f"(sliders: {titles})")
                    state["waiting"] = None
                return
            state["waiting"] = None
            slider = sliders[rng.choice(sorted(sliders))]
            value = slider.value
            while value == slider.value:
                value = round(rng.uniform(slider.start, slider.end), 2)
            state["pending"], state["kind"] = time.perf_counter(), "slider"
            slider.value = value
            # read-only in Python (only a browser sets it on release): set it as the browser does
            slider.set_from_json("value_throttled", value)
        except Exception as e:
            rec["errors"].append(f"act: {type(e).__name__}: {e}")

    ticker = PeriodicCallback(act, 1000.0 / rate, jitter=0.2)

    def stop():
        ticker.stop()
        session.close()

    loop.add_callback(ticker.start)
    loop.call_later(duration, stop)
    try:
        session._connection.loop_until_closed()  # (ClientSession lost its own in Bokeh 3)
    except Exception as e:
        rec["errors"].append(f"loop: {type(e).__name__}: {e}")
    finally:
        loop.close(all_fds=True)


def worker(url: str, sessions: list[tuple[int, float]], duration: float, rate: float, queue) -> None:
    import panel  # noqa: F401  (registers Panel's Bokeh models, which the documents use)

    out: list = []
    threads = [threading.Thread(target=student, args=(url, duration, rate, seed, delay, out),
                                daemon=True) for seed, delay in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 120)
    queue.put(out)


# --- the run --------------------------------------------------------------------------------
def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def load_arguments(doc: str, actions: str, who: str) -> argparse.ArgumentParser:
    """The options of a load run (this bench's and bench_class's): ``--sessions`` of
    ``who`` for ``--duration`` s, ``--rate`` ``actions`` per second each, opening within
    ``--ramp`` s, on a server whose unused sessions live ``--lifetime`` ms."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--duration", type=float, default=120.0, help="seconds of interaction")
    ap.add_argument("--quick", action="store_true", help="30 s instead of --duration")
    ap.add_argument("--rate", type=float, default=4.0, help=f"{actions} per second per {who}")
    ap.add_argument("--ramp", type=float, default=5.0, help=f"{who}s open the page within this many s")
    ap.add_argument("--lifetime", type=int, default=15000, help="--unused-session-lifetime ms")
    return ap


def main() -> None:
    ap = load_arguments(__doc__, "actions", "session")
    ap.add_argument("--workers", type=int, default=3, help="client processes")
    args = ap.parse_args()
    duration = 30.0 if args.quick else args.duration
    print(f"# {datetime.date.today()}  python {' '.join(sys.argv)}")
    print(f"{args.sessions} sessions, {duration:.0f} s each, {args.rate:g} actions/s each "
          f"(every 10th an expression switch), {args.workers} client processes, "
          f"{os.cpu_count()} cores shared by server and clients")
    ctx = mp.get_context("spawn")
    with server(args.lifetime, 5000) as (url, pid, log):
        monitor = Monitor(pid)
        monitor.start()
        time.sleep(3)
        idle_rss = monitor.samples[-1][2] if monitor.samples else float("nan")
        queue = ctx.Queue()
        plan = [(k, args.ramp * k / args.sessions) for k in range(args.sessions)]
        procs = [ctx.Process(target=worker, args=(url, plan[w::args.workers], duration, args.rate, queue))
                 for w in range(args.workers)]
        t_start = time.monotonic()
        for p in procs:
            p.start()
        records = []
        try:
            for _ in procs:
                records.extend(queue.get(timeout=duration + args.ramp + 240))
        finally:
            for p in procs:
                p.join(timeout=30)
                if p.is_alive():
                    p.kill()
        t_end = time.monotonic()
        during = monitor.between(t_start, t_end)
        after = rss_after_close(monitor, t_end, args.lifetime / 1000)
        monitor.stop()
        server_errors = server_log_errors(log)

    loads = pooled(records, "load")
    connects = pooled(records, "connect")
    lat = pooled(records, "latency")
    sw = pooled(records, "switch")
    errors = pooled(records, "errors")
    cpu = [s[1] for s in during]
    rss = [s[2] for s in during]
    print()
    print(f"{'measure':<38}{'value':>12}")
    print("-" * 50)
    rows = [
        ("sessions opened / planned", f"{len(loads)}/{args.sessions}"),
        ("page load (connect + pull) median s", f"{statistics.median(loads):.2f}" if loads else "-"),
        ("page load p95 s", f"{pct(loads, 0.95):.2f}"),
        ("  of it connect (session built) p95 s", f"{pct(connects, 0.95):.2f}"),
        ("slider actions answered", f"{len(lat)}"),
        ("interaction median ms", f"{1000 * statistics.median(lat):.0f}" if lat else "-"),
        ("interaction p95 ms", f"{1000 * pct(lat, 0.95):.0f}"),
        ("interaction max ms", f"{1000 * max(lat):.0f}" if lat else "-"),
        ("expression switch median / p95 ms",
         f"{1000 * statistics.median(sw):.0f} / {1000 * pct(sw, 0.95):.0f}" if sw else "-"),
        ("actions per second (all sessions)", f"{(len(lat) + len(sw)) / duration:.1f}"),
        ("client errors (timeouts incl.)", f"{len(errors)}"),
        *server_rows(server_errors, cpu, idle_rss, rss, after),
        ("  (samples every 5 s after close)", ""),
    ]
    for name, value in rows:
        print(f"{name:<38}{value:>12}")
    print("  " + " ".join(f"{x:.0f}" for x in after))
    print_error_kinds(errors)
    targets = [("no errors", not errors and not server_errors and len(loads) == args.sessions),
               ("interaction p95 <= 100 ms", bool(lat) and pct(lat, 0.95) <= 0.100),
               ("memory <= 600 MB", bool(rss) and max(rss) <= 600)]
    print("targets:", ", ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets))


if __name__ == "__main__":
    main()
