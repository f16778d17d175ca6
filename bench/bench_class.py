"""A class on one server, measured at the server: 30 students for 2 minutes over Bokeh's protocol.

Each student is a few kilobytes of asyncio in one client process: it speaks Bokeh's websocket
protocol directly (header, metadata and content JSON frames, see ``bokeh/protocol``) and never
builds Bokeh models, so the clients cost little CPU and the figures are the server's.

A student, like a browser:

- **sees the page**: ``GET /app``. A link the static site has a page for is answered with that
  page from the server's cache (components/first_page.py: no session); the student then
  fetches every script and style the page names, as a first visit does, and ``page load``
  ends there: the page draws its numbers itself, and a student who only drags sliders costs
  the server nothing more. ``--live-share`` of the students later (``--live-after`` s,
  jittered) do what needs the server and open the same page live (``live=1``, the page's
  note's link; ``live page``), and go on as below. Before the class the link is opened until
  it answers static-first in English and Chinese, then a few times more (the teacher checking
  it; ``--no-warm``: not).
- **opens the page live** (a live page's ``GET /app``, or the above's ``live=1``): ``GET /app`` (the server builds the session's document and puts a
  session token in the page), opens ``/app/ws`` with subprotocols ``["bokeh", token]``, waits
  for ``ACK``, sends ``PULL-DOC-REQ`` and reads the document JSON of ``PULL-DOC-REPLY``
  (``page load`` = all three; ``GET`` alone is reported too), then sends the
  ``document_ready`` event BokehJS sends once the page has rendered. From the JSON it takes the ids of
  the Slider models (by title = variable name), the TextInput titled "Expression" and the
  ``meta`` ColumnDataSource (the one whose data has a ``json`` column: the scene).
- **releases sliders**: in this app a drag stays in the page (``static/explorer/replay.mjs`` replays
  the tape itself and keeps ``value`` off the websocket); only a release travels, as one
  ``PATCH-DOC`` with a ``ModelChanged`` of the slider's ``value_throttled``, at most every
  80 ms per slider. A student sends ``--rate`` releases a second on average (exponential gaps
  of at least 80 ms, open loop), on one variable for a few releases, then on another. Like the
  page, it keeps one release in flight: a release made while the last one is unanswered
  leaves when the answer arrives (or after 1 s), and its latency counts from the release.
- **switches expressions**: every ``--switch-every`` s (jittered), once its last release has
  been answered, it types another expression (``ModelChanged`` of the TextInput's ``value``),
  as a student pressing Enter, and releases no slider until the new graph has arrived (its
  sliders are new models).

``interaction`` = time from sending a release until a ``PATCH-DOC`` arrives whose ``meta`` scene
shows that value, or a newer one of the same slider (the latest release wins in the page too).
``switch`` = time until the scene of the new expression arrives (recognised by its node ops,
computed here with the app's own ``ExplorerModel``). No answer within 5 s is an error.

The server is ``panel serve app.py`` on 127.0.0.1 in its own process group (killed at the end)
with ``--unused-session-lifetime 15000 --check-unused-sessions 5000``; with ``--num-procs 2``
also ``--session-ids signed`` and a fixed random ``BOKEH_SECRET_KEY`` (docs/deployment.md).
psutil samples the server's processes (their sum) once a second: CPU (% of one core) and RSS.
After the sessions close, RSS is sampled every 5 s until three samples lie within 2 MB, after
the unused-session lifetime has passed.

With ``--cluster N`` the class is served by ``tools/serve-cluster.sh --backends N`` (nginx on
127.0.0.1 in front of N ``panel serve`` processes, docs/deployment.md): each student keeps the
balancer's ``bpx_route`` cookie from its first ``GET /app`` and sends it with its websocket and
any later request, as a browser does, so its websocket reaches the backend that built its
session. ``--kill-backend-after S`` kills one backend (SIGKILL) S seconds after the last page
has loaded: its students' websockets close, and each opens the page again through the
balancer (as components/failover.py makes a browser do) and goes on; the time from the lost
websocket to the new page's document is ``reopen``. CPU and RSS are summed over the script,
nginx and the backends.

    python bench/bench_class.py                  # 30 students, 120 s
    python bench/bench_class.py --num-procs 2    # Tornado forks two server processes
    python bench/bench_class.py --quick          # 30 s
    python bench/bench_class.py --quick --cluster 3 --kill-backend-after 10
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import random
import re
import secrets
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from bokeh_client import objects, scene_in  # noqa: E402  the protocol readers the tests use
from bench_load import (Monitor, load_arguments, pct, pooled, print_error_kinds,  # noqa: E402
                        rss_after_close, server, server_log_errors, server_rows)
from report import tree_cpu  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXPRESSIONS = [  # the explorer's examples a class would type, smallest graphs to 107 nodes
    "(w*x + b - y)**2",
    "tanh(exp(w*x))**2",
    "u*v + sin(u)",
    "tanh(w1*x1 + w2*x2 + b)",
    "-log(sigmoid(w*x + b))",
    "-min(exp(lp - lpo)*A, clip(exp(lp - lpo), 1 - eps, 1 + eps)*A)",
    "sg(u*u)*u",
    "mlp(2, 4, 4, 1)",
]
REPLY_TIMEOUT = 5.0
RELEASE_MS = 80  # the page sends a slider's releases at most this often (static/explorer/release.mjs)
ANSWER_WAIT = 1.0  # ...and one at a time: the next when the scene answering the last arrives
DOCUMENT_READY = {"kind": "MessageSent", "msg_type": "bokeh_event",
                  "msg_data": {"type": "event", "name": "document_ready",
                               "values": {"type": "map", "entries": []}}}
TOKEN = re.compile(r'"token"\s*:\s*"([^"]+)"')
# the scripts and styles a static-first page names (components/site.py's STATIC_URL, with the
# version query BokehJS's and Panel's files carry)
STATIC_FILE = re.compile(r"""(?:src|href)=["'](static/[^"'\s]+)""")


def signatures() -> dict[str, tuple]:
    """Expression -> the ops of its scene's nodes, to recognise its scene when it arrives."""
    sys.path.insert(0, str(REPO))
    from components.model import ExplorerModel
    return {e: tuple(ExplorerModel(expression=e).scene["nodes"]["op"]) for e in EXPRESSIONS}


# --- Bokeh's protocol -----------------------------------------------------------------------
class Connection:
    """One websocket to a Bokeh server session: send and receive whole protocol messages."""

    def __init__(self, ws):
        self.ws = ws
        self.n = 0

    async def send(self, msgtype: str, content: dict) -> None:
        from tornado.websocket import WebSocketClosedError

        self.n += 1
        header = {"msgid": f"c{self.n}", "msgtype": msgtype}
        try:
            for frame in (header, {}, content):
                await self.ws.write_message(json.dumps(frame, separators=(",", ":")))
        except WebSocketClosedError:  # the server went away: the reader sees the socket close
            pass

    async def receive(self) -> tuple[dict, str] | None:
        """(header, content text) of the next message; None when the socket closed."""
        header = await self.ws.read_message()
        if header is None:
            return None
        await self.ws.read_message()  # metadata
        content = await self.ws.read_message()
        header = json.loads(header)
        for _ in range(2 * header.get("num_buffers", 0)):  # buffer header + payload
            await self.ws.read_message()
        return header, content


# --- one student ----------------------------------------------------------------------------
class Student:
    def __init__(self, base: str, origin: str, seed: int, duration: float, rate: float,
                 switch_every: float, sigs: dict, reopen: bool = False,
                 live_share: float = 1.0, live_after: float = 0.0):
        self.base, self.origin, self.duration, self.rate = base, origin, duration, rate
        self.switch_every, self.sigs, self.reopen = switch_every, sigs, reopen
        self.rng = random.Random(seed)
        self.rec = {"get": None, "load": None, "loaded_at": None, "latency": [], "sent_at": [],
                    "switch": [], "errors": [], "error_at": [], "sent": 0, "backend": None,
                    "reopen": [], "lost": 0, "static": False, "live_load": None}
        self.live_share, self.live_after = live_share, live_after
        self.cookie = ""  # the balancer's bpx_route, once it has set it
        self.end: float | None = None  # perf_counter() when the student stops
        self.sliders: dict[str, str] = {}  # title -> model id
        self.values: dict[str, float] = {}  # variable -> value the server shows
        self.pending: list[tuple[float, str, float]] = []  # (sent at, variable, value)
        self.switching: tuple[float, tuple] | None = None  # (sent at, expected ops)
        self.meta = self.box = None
        self.expr = 0
        self.scene_arrived = asyncio.Event()

    async def run(self) -> None:
        lost_at = None
        query = ""
        seen = await self.see_page()
        if seen is True:  # the static site's page: its numbers are drawn in the page
            if self.rng.random() >= self.live_share:
                return  # drags sliders in the page: nothing more for the server
            # later the student does what needs the server (types an expression): the same
            # page live, as its note's link (live=1)
            await asyncio.sleep(self.live_after * self.rng.uniform(0.5, 1.5))
            query = "?live=1"
        while True:
            opened = await self.open(first=lost_at is None, query=query,
                                     page=seen if lost_at is None and not query else None)
            if opened is None:
                return
            ws, conn, content = opened
            if lost_at is not None:
                self.rec["reopen"].append(time.perf_counter() - lost_at)
            models = objects(json.loads(content))
            self.sliders = {}
            self.take_sliders(models)
            self.box = next(m["id"] for m in models.values() if m["name"].endswith("TextInput")
                            and m["attributes"].get("title") == "Expression")
            for m in models.values():
                if m["name"] == "ColumnDataSource":
                    scene = scene_in(m["attributes"].get("data"))
                    if scene is not None:
                        self.meta = m["id"]
                        self.take_scene(scene, time.perf_counter())
            reader = asyncio.ensure_future(self.read(conn))
            try:
                await self.act(conn, reader)
            finally:
                ws.close()
                reader.cancel()
            if not (self.reopen and reader.done() and time.perf_counter() < self.end):
                return
            # the backend went away: the page opens again through the balancer (failover.py)
            lost_at = time.perf_counter()
            self.rec["lost"] += len(self.pending) + (self.switching is not None)
            self.pending, self.switching = [], None

    async def see_page(self):
        """``GET /app`` as a first visit: if the answer is the static site's page (no session
        token: components/first_page.py), fetch every script and style it names as a browser
        with an empty cache does, and count the page loaded (its numbers are in it, drawn by
        the page itself); True then. A live page: its answer (nothing fetched; :meth:`open`
        goes on with it), with the time it took."""
        from tornado.httpclient import AsyncHTTPClient

        t0 = time.perf_counter()
        try:
            page = await AsyncHTTPClient().fetch(self.base + "/app", request_timeout=120,
                                                 headers={"Accept-Encoding": "gzip", **self.headers()},
                                                 decompress_response=True)
            text = page.body.decode()
            if TOKEN.search(text):
                return page, time.perf_counter() - t0
            self.take_cookie(page)
            self.rec["get"] = time.perf_counter() - t0
            self.rec["backend"] = (page.headers.get("X-Backend") or "").split(",")[-1].strip()
            files = sorted(set(STATIC_FILE.findall(text)))
            await asyncio.gather(*(AsyncHTTPClient().fetch(
                f"{self.base}/{name}", request_timeout=120, headers={"Accept-Encoding": "gzip",
                                                                     **self.headers()})
                for name in files))
        except Exception as e:
            self.rec["errors"].append(f"open: {type(e).__name__}: {e}")
            return True
        self.rec["loaded_at"] = time.perf_counter()
        self.rec["load"] = self.rec["loaded_at"] - t0
        self.rec["static"] = True
        return True

    def take_cookie(self, page) -> None:
        for cookie in page.headers.get_list("Set-Cookie"):
            if cookie.startswith("bpx_route="):
                self.cookie = cookie.split(";", 1)[0]

    async def open(self, first: bool, query: str = "", page=None):
        """GET /app, websocket, ACK, PULL-DOC, document_ready: (ws, connection, document
        JSON), or None after an error. ``first``: the student's first live page; ``page``:
        its ``GET /app`` answered already (:meth:`see_page`'s live page, and its time)."""
        from tornado.httpclient import AsyncHTTPClient, HTTPRequest
        from tornado.websocket import websocket_connect

        t0 = time.perf_counter()
        first_load = first and self.rec["load"] is None  # not after a static-first page
        try:
            if page is None:
                page = await AsyncHTTPClient().fetch(self.base + "/app" + query,
                                                     request_timeout=120, headers=self.headers())
            else:
                page, took = page
                t0 -= took
            self.take_cookie(page)
            if first_load:
                self.rec["get"] = time.perf_counter() - t0
                # the backend that answered (nginx lists the ones it tried, dead ones first)
                self.rec["backend"] = (page.headers.get("X-Backend") or "").split(",")[-1].strip()
            token = TOKEN.search(page.body.decode()).group(1)
            ws = await websocket_connect(
                HTTPRequest(self.base.replace("http", "ws", 1) + "/app/ws",
                            headers={"Origin": self.origin, **self.headers()}, request_timeout=120),
                subprotocols=["bokeh", token], max_message_size=64 * 2**20)
            ws.protocol.set_nodelay(True)  # as browsers do
            conn = Connection(ws)
            header, _ = await conn.receive()
            if header["msgtype"] != "ACK":
                raise RuntimeError(f"expected ACK, got {header['msgtype']}")
            await conn.send("PULL-DOC-REQ", {})
            header, content = await conn.receive()
            if header["msgtype"] != "PULL-DOC-REPLY":
                raise RuntimeError(f"expected PULL-DOC-REPLY, got {header['msgtype']}")
            if first_load:
                self.rec["loaded_at"] = time.perf_counter()
                self.rec["load"] = self.rec["loaded_at"] - t0
            elif first:
                self.rec["live_load"] = time.perf_counter() - t0
            # the page tells the server it has rendered (Panel then sends layout changes
            # as they happen rather than holding them: without it new sliders never arrive)
            await conn.send("PATCH-DOC", {"events": [DOCUMENT_READY]})
        except Exception as e:
            self.rec["errors"].append(f"open: {type(e).__name__}: {e}")
            return None
        return ws, conn, content

    def headers(self) -> dict:
        return {"Cookie": self.cookie} if self.cookie else {}

    def take_sliders(self, models: dict, replace: bool = False) -> None:
        """Note the variables' Slider models; ``replace``: they are the only ones now."""
        found = {m["attributes"]["title"]: m["id"] for m in models.values()
                 if m["name"] == "Slider" and m["attributes"].get("title") not in (None, "Speed")}
        if replace and found:
            self.sliders = found
        else:
            self.sliders.update(found)

    def take_scene(self, scene: dict, now: float) -> None:
        self.expire(now)  # an answer after the timeout stays an error
        tape = scene["tape"]
        self.values = {name: tape["value"][i] for name, i in tape["variable"].items()}
        if self.switching and tuple(scene["nodes"]["op"]) == self.switching[1]:
            self.rec["switch"].append(now - self.switching[0])
            self.switching = None
        still = []
        for k, (sent, name, value) in enumerate(self.pending):
            # answered when the scene shows this value or that of a later release of the slider
            later = [v for s, n, v in self.pending[k:] if n == name]
            if self.values.get(name) in later:
                self.rec["latency"].append(now - sent)
                self.rec["sent_at"].append(sent)
            else:
                still.append((sent, name, value))
        self.pending = still
        self.scene_arrived.set()

    async def read(self, conn: Connection) -> None:
        while True:
            msg = await conn.receive()
            if msg is None:
                return
            header, content = msg
            now = time.perf_counter()
            if header["msgtype"] == "ERROR":
                self.rec["errors"].append(f"server ERROR: {content[:200]}")
            if header["msgtype"] != "PATCH-DOC":
                continue
            events = json.loads(content).get("events", [])
            for ev in events:
                # new sliders come as the new children of their column: the old ones are gone
                self.take_sliders(objects(ev), replace=ev.get("attr") == "children")
                if ev.get("model", {}).get("id") == self.meta and ev.get("attr") == "data":
                    # ModelChanged carries "new", ColumnDataChanged "data"
                    scene = scene_in(ev.get("new", ev.get("data")))
                    if scene is not None:
                        self.take_scene(scene, now)

    async def act(self, conn: Connection, reader) -> None:
        if self.end is None:
            self.end = time.perf_counter() + self.duration
        end = self.end
        next_switch = time.perf_counter() + self.rng.uniform(0.3, 1.0) * self.switch_every
        name, left_on_it = None, 0
        last_sent: dict[str, float] = {}
        last_any = float("-inf")
        while (now := time.perf_counter()) < end and not reader.done():
            self.expire(now)
            # typing waits until the last release shows; releasing waits for the new graph
            if self.switching is not None or (now >= next_switch and self.pending):
                self.scene_arrived.clear()
                try:
                    await asyncio.wait_for(self.scene_arrived.wait(), 0.25)
                except asyncio.TimeoutError:
                    pass
                continue
            if now >= next_switch:
                self.expr = (self.expr + 1) % len(EXPRESSIONS)
                text = EXPRESSIONS[self.expr]
                self.switching = (time.perf_counter(), self.sigs[text])
                await conn.send("PATCH-DOC", {"events": [
                    {"kind": "ModelChanged", "model": {"id": self.box}, "attr": "value",
                     "new": text}]})
                next_switch = now + self.rng.uniform(0.7, 1.3) * self.switch_every
                name, left_on_it = None, 0
                continue
            names = [n for n in self.values if n in self.sliders]
            if not names:
                await asyncio.sleep(0.05)
                continue
            if name not in names or left_on_it <= 0:
                name, left_on_it = self.rng.choice(names), self.rng.randint(2, 8)
            gap = max(RELEASE_MS / 1000, self.rng.expovariate(self.rate))
            wait = last_sent.get(name, 0) + RELEASE_MS / 1000 - now
            await asyncio.sleep(max(gap, wait))
            if self.switching is not None or reader.done():
                continue
            # a new value on the -3..3 track, never the one the server already shows
            value = self.values.get(name, 0.0)
            while value == self.values.get(name) or any(v == value for _, n, v in self.pending if n == name):
                value = round(self.rng.uniform(-3, 3), 2)
            left_on_it -= 1
            released = time.perf_counter()
            # the page keeps one release in flight (static/explorer/release.mjs, Releases): this one leaves
            # when the answer to the last has arrived, or ANSWER_WAIT s after it left
            while self.pending and not reader.done():
                left = last_any + ANSWER_WAIT - time.perf_counter()
                if left <= 0:
                    break
                self.scene_arrived.clear()
                try:
                    await asyncio.wait_for(self.scene_arrived.wait(), left)
                except asyncio.TimeoutError:
                    pass
            if reader.done() or name not in self.sliders:  # its slider went with a new graph
                continue
            last_sent[name] = last_any = time.perf_counter()
            self.pending.append((released, name, value))  # the student waits from the release
            self.rec["sent"] += 1
            await conn.send("PATCH-DOC", {"events": [
                {"kind": "ModelChanged", "model": {"id": self.sliders[name]},
                 "attr": "value_throttled", "new": value}]})
        if reader.done() and not self.reopen:
            self.rec["errors"].append("websocket closed by the server")
        # the last replies
        deadline = time.perf_counter() + REPLY_TIMEOUT
        while (self.pending or self.switching) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        self.expire(time.perf_counter() + REPLY_TIMEOUT)

    def expire(self, now: float) -> None:
        late = [p for p in self.pending if now - p[0] > REPLY_TIMEOUT]
        if late:
            self.rec["errors"].extend([f"no reply within {REPLY_TIMEOUT:.0f} s (slider)"] * len(late))
            self.rec["error_at"].extend(p[0] for p in late)
            self.pending = [p for p in self.pending if p not in late]
        if self.switching and now - self.switching[0] > REPLY_TIMEOUT:
            self.rec["errors"].append(f"no reply within {REPLY_TIMEOUT:.0f} s (switch)")
            self.rec["error_at"].append(self.switching[0])
            self.switching = None


async def class_of(base: str, origin: str, args, sigs: dict) -> list[dict]:
    students = [Student(base, origin, seed=k, duration=args.duration, rate=args.rate,
                        switch_every=args.switch_every, sigs=sigs, reopen=bool(args.cluster),
                        live_share=args.live_share, live_after=args.live_after)
                for k in range(args.sessions)]

    async def start(k: int, s: Student):
        await asyncio.sleep(args.ramp * k / args.sessions)
        await s.run()

    killer = asyncio.ensure_future(kill_backend(students, args)) if args.kill_backend_after else None
    await asyncio.gather(*(start(k, s) for k, s in enumerate(students)))
    if killer is not None:
        killer.cancel()
    return [s.rec for s in students]


async def kill_backend(students: list[Student], args) -> None:
    """SIGKILL the backend that serves most students, ``--kill-backend-after`` s after the
    last page loaded (or after the ramp + 60 s if some never loads)."""
    deadline = time.perf_counter() + args.ramp + 60
    while (any(s.rec["loaded_at"] is None and not s.rec["errors"] for s in students)
           and time.perf_counter() < deadline):
        await asyncio.sleep(0.2)
    await asyncio.sleep(args.kill_backend_after)
    served: dict[str, int] = {}
    for s in students:
        if s.rec["backend"] in args.backends:
            served[s.rec["backend"]] = served.get(s.rec["backend"], 0) + 1
    victim = max(served, key=served.get) if served else next(iter(args.backends))
    os.kill(args.backends[victim], signal.SIGKILL)
    args.killed = (victim, served.get(victim, 0), time.perf_counter())
    print(f"killed backend {victim} (serving {served.get(victim, 0)} students)", flush=True)


@contextmanager
def cluster(backends: int):
    """``tools/serve-cluster.sh --backends N``: yields (url, PID of the script, None)."""
    from test_cluster import Cluster

    c = Cluster(backends)
    try:
        c.wait_ready()
        yield c.url, c.proc.pid, None, c.backends
    finally:
        c.stop()


@contextmanager
def one_server(args, extra, env):
    with server(args.lifetime, 5000, extra_args=extra, env=env) as (url, pid, log):
        yield url, pid, log, {}


# --- the run --------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) so far of the server's processes (``server``) and of the
    static-first pages' builder processes among them (``builder``: multiprocessing's, and
    the ended children of any of them)."""
    found = tree_cpu(pid, lambda cmdline: "builder" if "multiprocessing" in cmdline else "server")
    return {"server": found.get("server", 0.0),
            "builder": found.get("builder", 0.0) + found.get("ended", 0.0)}


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = load_arguments(__doc__, "slider releases", "student")
    ap.add_argument("--switch-every", type=float, default=15.0,
                    help="seconds between a student's expression switches (jittered)")
    ap.add_argument("--num-procs", type=int, default=1, help="panel serve --num-procs")
    ap.add_argument("--cluster", type=int, default=0, metavar="N",
                    help="serve with tools/serve-cluster.sh --backends N (nginx + N backends)")
    ap.add_argument("--kill-backend-after", type=float, default=0.0, metavar="S",
                    help="with --cluster: SIGKILL one backend S s after every page loaded")
    ap.add_argument("--live-share", type=float, default=0.3,
                    help="share of students who, after a static-first page, open it live "
                         "(live=1, as its note's link) and release sliders there")
    ap.add_argument("--live-after", type=float, default=10.0,
                    help="seconds (x0.5-1.5) after its static-first page a student goes live")
    ap.add_argument("--no-warm", action="store_true",
                    help="no page opened before the class (the server's first pages are built "
                         "while the class opens them)")
    ap.add_argument("--pages-dir", default="",
                    help="BPX_FIRST_PAGE_DIR of the server (static-first pages on disk); by "
                         "default a new empty one: a server of new code, no page built yet")
    args = ap.parse_args()
    args.killed = None
    if args.quick:
        args.duration = 30.0
    import psutil
    from tornado.httpclient import AsyncHTTPClient

    AsyncHTTPClient.configure(None, max_clients=args.sessions)
    sigs = signatures()
    print(f"# {datetime.datetime.now():%Y-%m-%d %H:%M}  python {' '.join(sys.argv)}")
    print(f"{args.sessions} students, {args.duration:.0f} s each, {args.rate:g} slider releases/s "
          f"each, an expression switch every ~{args.switch_every:g} s; server "
          + (f"tools/serve-cluster.sh --backends {args.cluster}" if args.cluster else
             f"--num-procs {args.num_procs}")
          + f"; {args.live_share:g} of them go live ~{args.live_after:g} s after a static-first page"
          + f"; {os.cpu_count()} cores; load average before: {loadavg()}")
    extra, env = [], {}
    if args.num_procs > 1:
        extra = ["--num-procs", str(args.num_procs), "--session-ids", "signed"]
        env = {"BOKEH_SECRET_KEY": secrets.token_urlsafe(32), "BOKEH_SIGN_SESSIONS": "true"}
    pages_dir = args.pages_dir or tempfile.mkdtemp(prefix="bpx-pages-")
    env["BPX_FIRST_PAGE_DIR"] = os.environ["BPX_FIRST_PAGE_DIR"] = pages_dir  # (a cluster's too)
    me = psutil.Process()
    me.cpu_percent(None)
    serving = cluster(args.cluster) if args.cluster else one_server(args, extra, env)
    with serving as (url, pid, log, backends):
        args.backends = backends
        monitor = Monitor(pid)
        monitor.start()
        time.sleep(3 if args.num_procs == 1 and not args.cluster else 6)
        if not args.no_warm:  # the teacher opened the link before the class, until it worked
            from components.first_page import enabled

            warm0 = time.monotonic()
            for link in (url, url + "?lang=zh"):  # the explorer's default pages, both built
                while (enabled() and time.monotonic() - warm0 < 300 and
                       TOKEN.search(urllib.request.urlopen(link, timeout=120).read().decode())):
                    time.sleep(1)  # a live page: the static-first page not built yet
            print(f"warm-up: the link answered static-first (en, zh) after "
                  f"{time.monotonic() - warm0:.0f} s")
            for _ in range(2 * max(args.num_procs, args.cluster or 1)):
                urllib.request.urlopen(url, timeout=120).read()
            time.sleep(2)
        idle_rss = monitor.samples[-1][2] if monitor.samples else float("nan")
        base = url.rsplit("/app", 1)[0]
        t_start, t_perf_start = time.monotonic(), time.perf_counter()
        cpu_before = cpu_seconds(pid)
        records = asyncio.run(class_of(base, base, args, sigs))
        t_end = time.monotonic()
        cpu_class = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_seconds(pid).items()}
        client_cpu = me.cpu_percent(None)
        load_during = loadavg()
        during = monitor.between(t_start, t_end)
        # the cluster's backends keep unused sessions for 15 minutes (serve-cluster.sh)
        after = [] if args.cluster else rss_after_close(monitor, t_end, args.lifetime / 1000)
        monitor.stop()
        server_errors = server_log_errors(log) if log else "-"

    gets = pooled(records, "get")
    loads = pooled(records, "load")
    lives = pooled(records, "live_load")
    lat = pooled(records, "latency")
    sw = pooled(records, "switch")
    errors = pooled(records, "errors")
    sent = sum(r["sent"] for r in records)
    cpu = [s[1] for s in during]
    rss = [s[2] for s in during]
    ms = lambda xs, q: f"{1000 * pct(xs, q):.0f}" if xs else "-"  # noqa: E731
    # the class has arrived: every page loaded (plus 2 s); before that, opening pages compete
    arrived = max(pooled(records, "loaded_at"), default=float("inf")) + 2.0
    sent_at = pooled(records, "sent_at")
    steady = [x for x, t in zip(lat, sent_at) if t >= arrived]
    error_at = pooled(records, "error_at")
    t0 = min(pooled(records, "loaded_at"), default=0.0)
    rows = [
        ("sessions opened / planned", f"{len(loads)}/{args.sessions}"),
        ("page load median / p95 / max s",
         f"{statistics.median(loads):.2f} / {pct(loads, .95):.2f} / {max(loads):.2f}" if loads else "-"),
        ("  of it GET /app p95 s", f"{pct(gets, .95):.2f}" if gets else "-"),
        ("  static-first pages (no session)", f"{sum(1 for r in records if r['static'])}"),
        ("live pages opened later: n, median / p95 s",
         f"{len(lives)}: {statistics.median(lives):.2f} / {pct(lives, .95):.2f}" if lives else "0"),
        ("slider releases sent / answered", f"{sent} / {len(lat)}"),
        ("interaction median / p95 / max ms", f"{ms(lat, .5)} / {ms(lat, .95)} / {ms(lat, 1)}"),
        ("  once all pages loaded: median / p95", f"{ms(steady, .5)} / {ms(steady, .95)}"),
        ("expression switches, median / p95 ms", f"{len(sw)}: {ms(sw, .5)} / {ms(sw, .95)}"),
        ("client errors (timeouts incl.)", f"{len(errors)}"),
        ("  in sessions / sent before all loaded",
         f"{sum(1 for r in records if r['errors'])} / {sum(1 for t in error_at if t < arrived)}"),
        ("  first / last, s after the first load",
         f"{min(error_at) - t0:.0f} / {max(error_at) - t0:.0f}" if error_at else "-"),
        *server_rows(server_errors, cpu, idle_rss, rss, after),
        ("CPU s in the class: server / builder", f"{cpu_class.get('server', 0):.1f} / "
                                                 f"{cpu_class.get('builder', 0):.1f}"),
        ("client process CPU mean %", f"{client_cpu:.0f}"),
        ("load average at the end (1/5/15 min)", load_during),
    ]
    if args.cluster:
        served: dict[str, int] = {}
        for r in records:
            served[r["backend"]] = served.get(r["backend"], 0) + 1
        reopened = pooled(records, "reopen")
        rows[1:1] = [("students per backend (first page)",
                      " ".join(f"{k.rsplit(':', 1)[-1]}:{n}" for k, n in sorted(served.items(),
                                                                             key=str)))]
        if args.killed:
            victim, students, _ = args.killed
            rows += [("backend killed (its students)", f"{victim.rsplit(':', 1)[-1]} ({students})"),
                     ("pages reopened, median / max s",
                      f"{len(reopened)}: {statistics.median(reopened):.2f} / {max(reopened):.2f}"
                      if reopened else "0"),
                     ("releases lost with the backend", f"{sum(r['lost'] for r in records)}")]
    print()
    for name, value in rows:
        print(f"{name:<40}{value:>24}")
    print("RSS every 5 s after close: " + " ".join(f"{x:.0f}" for x in after))
    # the run in 20 s slices (by time sent, from the first page loaded)
    print("\n  from s   answered   p95 ms   timeouts   server CPU %")
    mono0 = t_start + (t0 - t_perf_start)  # perf_counter -> monotonic
    for a in range(0, int(args.duration + args.ramp + 20), 20):
        part = [x for x, t in zip(lat, sent_at) if a <= t - t0 < a + 20]
        lost = sum(1 for t in error_at if a <= t - t0 < a + 20)
        cpu_part = [c for when, c, _ in during if a <= when - mono0 < a + 20]
        if part or lost:
            print(f"  {a:6d} {len(part):10d} {ms(part, .95):>8} {lost:10d} "
                  f"{statistics.mean(cpu_part) if cpu_part else float('nan'):14.0f}")
    print_error_kinds(errors)
    targets = [("no errors", not errors and server_errors in (0, "-") and len(loads) == args.sessions),
               ("interaction p95 <= 100 ms", bool(lat) and pct(lat, 0.95) <= 0.100),
               ("memory <= 600 MB", bool(rss) and max(rss) <= 600),
               ("memory back to a plateau", len(after) >= 3 and max(after[-3:]) - min(after[-3:]) < 2.0)]
    print("targets:", ", ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets))


if __name__ == "__main__":
    main()
