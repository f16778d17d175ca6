"""A page without a browser: Bokeh's websocket protocol spoken directly, honest or hostile.

Like a browser, :meth:`Page.open` fetches ``GET /app`` (the server builds the session and puts
its token in the page), opens ``/app/ws`` with subprotocols ``["bokeh", token]``, waits for
``ACK``, sends ``PULL-DOC-REQ``, reads the document and sends ``document_ready``. A message is
three text frames (header, metadata, content; see ``bokeh/protocol``). :meth:`Page.release`
sends a slider release as the page does (a ``ModelChanged`` of ``value_throttled``) and waits
for the scene that shows it; :meth:`Page.send_frames` sends anything at all.

Every reply is checked as it arrives for what a client must never read (a traceback, a
server path): :attr:`Page.leaks` lists them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import time

TOKEN = re.compile(r'"token"\s*:\s*"([^"]+)"')
DOCUMENT_READY = {"kind": "MessageSent", "msg_type": "bokeh_event",
                  "msg_data": {"type": "event", "name": "document_ready",
                               "values": {"type": "map", "entries": []}}}
LEAK = re.compile(r"Traceback \(most recent call last\)|File \"/|site-packages|/work/|\.py\", line")


def run(coroutine):
    """``asyncio.run(coroutine)`` in a thread of its own, so that it also works in a test process
    where Playwright's sync API already keeps an event loop running (a browser test ran first in
    the same worker)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def objects(node) -> dict:
    """Every model definition ``{"type": "object", "name", "id", "attributes"}`` in a JSON tree."""
    found, stack = {}, [node]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if x.get("type") == "object" and "id" in x:
                found[x["id"]] = x
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return found


def scene_in(data) -> dict | None:
    """The scene in a ``meta`` data value (``{"type": "map", "entries": [["json", [text]]]}``)."""
    if isinstance(data, dict) and data.get("type") == "map":
        data = dict(data.get("entries", []))
    column = data.get("json") if isinstance(data, dict) else None
    return json.loads(column[0]) if column else None


async def get_token(base: str, path: str = "/app") -> tuple[int, str | None]:
    """``GET base+path``: (HTTP status, the session token in the page or None)."""
    from tornado.httpclient import AsyncHTTPClient, HTTPClientError

    try:
        page = await AsyncHTTPClient().fetch(base + path, request_timeout=60)
    except HTTPClientError as e:
        return e.code, None
    found = TOKEN.search(page.body.decode())
    return page.code, found.group(1) if found else None


async def connect(base: str, token: str, max_message_size: int = 64 * 2**20):
    """A websocket to ``/app/ws`` for ``token``, as a browser opens it."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    origin = base.split("://", 1)[1].split("/", 1)[0]
    ws = await websocket_connect(
        HTTPRequest(base.replace("http", "ws", 1) + "/app/ws",
                    headers={"Origin": f"http://{origin}"}, request_timeout=60),
        subprotocols=["bokeh", token], max_message_size=max_message_size)
    ws.protocol.set_nodelay(True)  # as browsers do
    return ws


class Page:
    """One open page: its websocket, its sliders (title -> model id) and the scene it shows."""

    def __init__(self, ws):
        self.ws = ws
        self.n = 0
        self.sliders: dict[str, str] = {}
        self.models: dict[str, dict] = {}
        self.meta = self.box = None
        self.values: dict[str, float] = {}
        self.ops: tuple = ()
        self.errors: list[str] = []  # ERROR replies (their text)
        self.recent: list[str] = []  # the last PATCH-DOC contents (each cut to 20 kB)
        self.scenes = 0  # scenes received after the document
        self.leaks: list[str] = []  # replies a client must never read
        self.closed = asyncio.Event()
        self.scene_arrived = asyncio.Event()
        self.reader = None

    @classmethod
    async def open(cls, base: str, path: str = "/app?live=1") -> "Page":
        """A live page (``live=1``: also where the server answers ``GET /app`` with the
        static site's page, components/first_page.py), its handshake done."""
        status, token = await get_token(base, path)
        if token is None:
            raise RuntimeError(f"GET {path} answered {status} without a token")
        page = cls(await connect(base, token))
        header, _ = await page.receive()
        assert header["msgtype"] == "ACK", header
        await page.send("PULL-DOC-REQ", {})
        header, content = await page.receive()
        assert header["msgtype"] == "PULL-DOC-REPLY", header
        page.take(objects(json.loads(content)))
        await page.send("PATCH-DOC", {"events": [DOCUMENT_READY]})
        page.reader = asyncio.ensure_future(page.read())
        return page

    # --- the wire ------------------------------------------------------------------------
    async def send(self, msgtype: str, content) -> None:
        self.n += 1
        header = {"msgid": f"c{self.n}", "msgtype": msgtype}
        await self.send_frames([json.dumps(header), "{}", content if isinstance(content, str)
                                else json.dumps(content, separators=(",", ":"))])

    async def send_frames(self, frames) -> None:
        for frame in frames:
            await self.ws.write_message(frame, binary=isinstance(frame, bytes))

    async def receive(self) -> tuple[dict, str] | None:
        """(header, content text) of the next message; None when the socket closed."""
        frames = []
        for _ in range(3):
            frame = await self.ws.read_message()
            if frame is None:
                return None
            frames.append(frame)
        header = json.loads(frames[0])
        for _ in range(2 * header.get("num_buffers", 0)):
            await self.ws.read_message()
        for frame in frames:
            if isinstance(frame, str) and LEAK.search(frame):
                self.leaks.append(frame[:300])
        return header, frames[2]

    async def read(self) -> None:
        try:
            while (msg := await self.receive()) is not None:
                self.scene_arrived.set()  # any message: conditions are looked at again
                header, content = msg
                if header["msgtype"] == "ERROR":
                    self.errors.append(content[:300])
                if header["msgtype"] == "PATCH-DOC":
                    self.recent = self.recent[-49:] + [content[:20_000]]
                    for event in json.loads(content).get("events", []):
                        self.take(objects(event), replace=event.get("attr") == "children")
                        if (event.get("model", {}).get("id") == self.meta
                                and event.get("attr") == "data"):
                            self.scenes += 1
                            self.take_scene(scene_in(event.get("new", event.get("data"))))
        finally:
            self.closed.set()
            self.scene_arrived.set()

    # --- what the page shows -------------------------------------------------------------
    def take(self, models: dict, replace: bool = False) -> None:
        self.models.update(models)
        found = {m["attributes"]["title"]: m["id"] for m in models.values()
                 if m["name"] == "Slider" and m["attributes"].get("title") not in (None, "Speed")}
        if found:
            self.sliders = found if replace else {**self.sliders, **found}
        for m in models.values():
            if m["name"].endswith("TextInput") and m["attributes"].get("title") == "Expression":
                self.box = m["id"]
            if m["name"] == "ColumnDataSource":
                scene = scene_in(m["attributes"].get("data"))
                if scene is not None:
                    self.meta = m["id"]
                    self.take_scene(scene)

    def take_scene(self, scene: dict | None) -> None:
        if scene is None:
            return
        tape = scene["tape"]
        self.values = {name: tape["value"][i] for name, i in tape["variable"].items()}
        self.ops = tuple(scene["nodes"]["op"])
        self.scene_arrived.set()

    # --- what a student does -------------------------------------------------------------
    def change(self, model_id: str, attr: str, new) -> dict:
        return {"events": [{"kind": "ModelChanged", "model": {"id": model_id}, "attr": attr,
                            "new": new}]}

    async def release(self, name: str, value: float, timeout: float = 10.0) -> float:
        """Release slider ``name`` at ``value``; seconds until a scene shows it."""
        start = time.perf_counter()
        await self.send("PATCH-DOC", self.change(self.sliders[name], "value_throttled", value))
        await self.until(lambda: self.values.get(name) == value, timeout)
        return time.perf_counter() - start

    async def show_later_parts(self) -> None:
        """Say that every part built when first on screen (components/later.py: its marker, a
        Div of class ``bpx-later``) is on screen, as the browser does when the student scrolls
        down; the parts arrive in later PATCH-DOC messages."""
        for m in list(self.models.values()):
            if m.get("name") == "Div" and "bpx-later" in (m.get("attributes", {}).get("css_classes") or []):
                await self.send("PATCH-DOC", self.change(m["id"], "tags", ["bpx-shown"]))

    async def type(self, text: str) -> None:
        """Type ``text`` into the expression box and press Enter."""
        await self.send("PATCH-DOC", self.change(self.box, "value", text))

    def saw(self, text: str) -> bool:
        """Whether one of the last PATCH-DOC messages contains ``text``."""
        return any(text in content for content in self.recent)

    async def until(self, condition, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while not condition():
            left = deadline - time.perf_counter()
            if left <= 0 or self.closed.is_set():
                raise TimeoutError("the page did not show what was expected")
            self.scene_arrived.clear()
            try:
                await asyncio.wait_for(self.scene_arrived.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def close(self) -> None:
        self.ws.close()
        if self.reader is not None:
            try:
                await asyncio.wait_for(self.reader, 5)
            except (asyncio.TimeoutError, Exception):
                self.reader.cancel()


def run_alone(coro):
    """``asyncio.run(coro)`` in a thread of its own: a pytest worker's thread may be running
    Playwright's event loop from an earlier browser test, where asyncio.run would refuse."""
    import asyncio
    import threading

    box = {}

    def main():
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e

    thread = threading.Thread(target=main)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
