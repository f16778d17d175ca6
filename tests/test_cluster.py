"""Several backends behind nginx on loopback (``tools/serve-cluster.sh``).

Pages opened through the balancer land on different backends and work there (each page's
websocket reaches the backend that built its session); a backend killed mid-class leaves its
students' pages reconnecting to another backend, which brings their picture back from the
page's URL; SIGTERM stops nginx and every backend.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from bokeh_client import run

from ui.helpers import (button, free_port, new_context, open_app, table_names,
                        terminate_gracefully, type_expression)

REPO = Path(__file__).resolve().parents[1]
TOKEN = re.compile(r'"token"\s*:\s*"([^"]+)"')


class Cluster:
    """``tools/serve-cluster.sh`` in its own process group; the PIDs it reports."""

    def __init__(self, backends: int):
        self.port = free_ports(backends + 1)
        self.dir = tempfile.mkdtemp(prefix="bpx-cluster-test-")
        self.state = os.path.join(self.dir, "state")
        self.log = open(os.path.join(self.dir, "script.log"), "w")
        self.proc = subprocess.Popen(
            ["bash", "tools/serve-cluster.sh", "--backends", str(backends), "--port",
             str(self.port), "--state", self.state],
            cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}/app"
        self.nginx = 0
        self.backends: dict[str, int] = {}  # "127.0.0.1:port" -> pid
        self.left: list[int] = []  # PIDs still running after the script exited

    def wait_ready(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.state):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve-cluster.sh did not start:\n{self.output()}")
            time.sleep(0.25)
        for line in Path(self.state).read_text().splitlines():
            kind, pid, port = line.split()
            if kind == "nginx":
                self.nginx = int(pid)
            else:
                self.backends[f"127.0.0.1:{port}"] = int(pid)

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def pids(self) -> list[int]:
        return [self.nginx, *self.backends.values()]

    def stop(self) -> int | None:
        """SIGTERM to the script (as Ctrl-C or a service manager would); its exit code (once
        stopped, a second call changes nothing and gives the same code)."""
        if self.log.closed:
            return self.proc.poll()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        code = self.proc.poll()
        self.left = [pid for pid in self.pids() if alive(pid)]
        for pid in self.left:  # whatever happened, nothing of it stays running
            os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.final_output = self.output()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return code


def free_ports(n: int) -> int:
    """A port P with P .. P+n-1 all free on 127.0.0.1 (the balancer and its backends)."""
    for _ in range(50):
        port = free_port()
        if port + n > 65535:
            continue
        try:
            for p in range(port, port + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no {n} consecutive free ports")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child of the script counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def cluster():
    terminate_gracefully()
    c = Cluster(backends=3)
    try:
        c.wait_ready()
        yield c
    finally:
        c.stop()


async def open_page(url: str) -> tuple[str, str, dict]:
    """A first visit over Bokeh's protocol: (backend of the page, backend of its websocket,
    the document's models by type)."""
    client = AsyncHTTPClient(force_instance=True)
    try:
        page = await client.fetch(url, request_timeout=120)
        backend = page.headers["X-Backend"]
        cookie = page.headers["Set-Cookie"].split(";")[0]
        token = TOKEN.search(page.body.decode()).group(1)
        base = url.rsplit("/app", 1)[0]
        ws = await websocket_connect(
            HTTPRequest(base.replace("http", "ws", 1) + "/app/ws", request_timeout=120,
                        headers={"Origin": base, "Cookie": cookie}),
            subprotocols=["bokeh", token], max_message_size=64 * 2**20)
        try:
            ws_backend = ws.headers.get("X-Backend", "")
            header = json.loads(await ws.read_message())
            await ws.read_message(), await ws.read_message()
            assert header["msgtype"] == "ACK"
            for frame in ({"msgid": "1", "msgtype": "PULL-DOC-REQ"}, {}, {}):
                await ws.write_message(json.dumps(frame))
            header = json.loads(await ws.read_message())
            await ws.read_message()
            content = json.loads(await ws.read_message())
            assert header["msgtype"] == "PULL-DOC-REPLY"
        finally:
            ws.close()
    finally:
        client.close()
    models: dict = {}
    stack = [content]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if x.get("type") == "object" and "name" in x:
                models.setdefault(x["name"], []).append(x.get("attributes", {}))
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return backend, ws_backend, models


# starting three servers takes 30 s on a quiet machine and minutes on a crowded one
pytestmark = pytest.mark.timeout(900)


def test_pages_land_on_different_backends_and_work(cluster):
    seen = set()
    # each first visit gets a random route; 12 visits all on one of 3 backends: p = 3**-11
    for _ in range(12):
        backend, ws_backend, models = run(open_page(cluster.url))
        assert backend in cluster.backends
        assert ws_backend == backend  # sticky: the websocket reaches the session's builder
        titles = {m.get("title") for m in models.get("Slider", [])}
        assert {"w", "x", "b", "y"} <= titles
        assert any("json" in str(m.get("data", ""))[:200] for m in models["ColumnDataSource"])
        seen.add(backend)
    assert len(seen) >= 2


def test_static_files_are_gzipped_and_cached_by_nginx(cluster):
    request = urllib.request.Request(cluster.url.replace("/app", "/static/js/bokeh.min.js"),
                                     headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        zipped = len(response.read())
    assert zipped < 600_000  # ~1.3 MB of BokehJS


@pytest.mark.browser
def test_a_killed_backend_leaves_a_page_that_comes_back_from_its_url(cluster, browser):
    # a context of its own, not the `page` fixture: the failover reload may leave the old
    # page's errors behind, which is the point of the test, not a fault
    context = new_context(browser)
    try:
        page = context.new_page()
        served: list[str] = []
        page.on("response", lambda r: served.append(r.headers.get("x-backend", ""))
                if r.url.split("?")[0].endswith("/app") else None)
        open_app(page, cluster.url)
        # the student's own picture, which only the URL holds from now on
        type_expression(page, "u*v + sin(u)")
        page.wait_for_function("() => new URLSearchParams(location.search).get('expr')"
                               " === 'u*v + sin(u)'", timeout=30_000)
        button(page, "Backward").click()
        page.wait_for_function("() => new URLSearchParams(location.search).get('mode')"
                               " === 'backward'", timeout=30_000)
        page.evaluate("() => { window.__bpx_before_failover = true }")
        dead = served[-1]
        os.kill(cluster.backends[dead], signal.SIGKILL)
        # the page reconnects, is told to reload, and opens on a live backend
        page.wait_for_function("() => window.__bpx_before_failover === undefined"
                               " && window.__bpxt && window.__bpxt.rows() > 0",
                               timeout=90_000)
        assert served[-1] in cluster.backends and served[-1] != dead
        assert table_names(page) == ["u", "v", "z1", "z2", "L"]
        page.wait_for_function("() => { const s = window.__bpxt.scene();"
                               " return s && s.mode === 'backward' }", timeout=30_000)
        # and it works there: a new expression is answered by the live backend
        type_expression(page, "tanh(w*x)")
        page.wait_for_function("() => window.__bpxt.table().name.includes('w')",
                               timeout=30_000)
    finally:
        context.close()


def test_sigterm_stops_nginx_and_every_backend(cluster):
    # the module's cluster, last: nginx and the backends still running (the test above killed
    # one backend as a crash would; the others and nginx must stop on SIGTERM)
    running = [pid for pid in cluster.pids() if alive(pid)]
    assert cluster.nginx in running and len(running) >= 3, (cluster.pids(), running)
    code = cluster.stop()
    assert code == 143, cluster.final_output
    assert cluster.left == [] and not any(alive(pid) for pid in running)
