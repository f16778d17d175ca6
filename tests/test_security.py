"""The LAN settings of docs/deployment.md, checked against a real ``panel serve``.

Served as the docs say (exact ``--allow-websocket-origin``, ``--session-ids signed`` with
``BOKEH_SECRET_KEY``): a websocket from a foreign origin is refused at the handshake and a
forged session token is rejected. Served plainly (``panel serve app.py``, as a teacher on
one laptop does), the page still loads and its websocket opens.

Every server binds 127.0.0.1, runs in its own process group and is killed at the end.
Bokeh 3.9 sends the session token as the websocket's second subprotocol (``["bokeh",
token]``, bokeh/server/views/ws.py); tokens are made with bokeh/util/token.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from bokeh.util.token import (generate_jwt_token, generate_secret_key, generate_session_id,
                              get_session_id)
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from bokeh_client import run
from tools.processes import free_port, stop_group

REPO = Path(__file__).resolve().parents[1]
SECRET = generate_secret_key()


@contextmanager
def panel_serve(*flags: str, env: dict | None = None, timeout: float = 60.0):
    """``panel serve app.py --address 127.0.0.1 --port <free> *flags``; yields the port."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bpx-security-", suffix=".log", delete=False)
    cmd = [sys.executable, "-m", "panel", "serve", "app.py", "--address", "127.0.0.1",
           "--port", str(port), *[f.format(port=port) for f in flags]]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"panel serve exited: {Path(log.name).read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("panel serve did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        stop_group(proc)
        log.close()
        os.unlink(log.name)


def _get(url: str, origin: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Origin": origin} if origin else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""


def _token_of(page: str) -> str:
    match = re.search(r'"token"\s*:\s*"([A-Za-z0-9_\-.]+)"', page)
    assert match, "no session token in the page"
    return match.group(1)


async def _ws(port: int, token: str, origin: str) -> str:
    """Open /app/ws with ``token``; 'ack' if the server answers, 'closed', or 'http <code>'."""
    request = HTTPRequest(f"ws://127.0.0.1:{port}/app/ws", headers={"Origin": origin},
                          request_timeout=30)
    try:
        conn = await websocket_connect(request, subprotocols=["bokeh", token])
    except HTTPClientError as e:
        return f"http {e.code}"
    try:
        header = await asyncio.wait_for(conn.read_message(), 30)
    finally:
        conn.close()
    if header is None:
        return "closed"
    return "ack" if json.loads(header).get("msgtype") == "ACK" else f"other {header[:80]}"


def ws(port: int, token: str, origin: str) -> str:
    return run(_ws(port, token, origin))


@pytest.fixture(scope="module")
def lan_server():
    flags = ("--allow-websocket-origin", "127.0.0.1:{port}", "--session-ids", "signed",
             "--unused-session-lifetime", "60000", "--keep-alive", "10000")
    with panel_serve(*flags, env={"BOKEH_SECRET_KEY": SECRET, "BOKEH_SIGN_SESSIONS": "true"}) as port:
        yield port


def test_lan_page_loads_and_own_origin_connects(lan_server):
    port = lan_server
    status, page = _get(f"http://127.0.0.1:{port}/app")
    assert status == 200
    assert ws(port, _token_of(page), f"http://127.0.0.1:{port}") == "ack"


@pytest.fixture(scope="module")
def lan_token(lan_server) -> str:
    """The session token of one page of the LAN server: a websocket refused at its handshake
    never reaches the session, so each foreign origin below tries the same token."""
    status, page = _get(f"http://127.0.0.1:{lan_server}/app")
    assert status == 200
    return _token_of(page)


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:1",
                                    "http://localhost:{port}", "null"])
def test_foreign_origin_websocket_is_refused(lan_server, lan_token, origin):
    port = lan_server
    assert ws(port, lan_token, origin.format(port=port)) == "http 403"


def test_forged_session_tokens_are_rejected(lan_server):
    port = lan_server
    origin = f"http://127.0.0.1:{port}"
    wrong = generate_secret_key()
    forged_id = generate_session_id(secret_key=wrong.encode(), signed=True)
    forgeries = {
        "signed with another key": generate_jwt_token(forged_id, secret_key=wrong.encode(),
                                                      signed=True, expiration=300),
        "unsigned": generate_jwt_token(generate_session_id(signed=False), signed=False,
                                       expiration=300),
    }
    # a real token whose payload is swapped for another session id (hijack attempt)
    status, page = _get(f"http://127.0.0.1:{port}/app")
    real = _token_of(page)
    body, signature = real.rsplit(".", 1)
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["session_id"] = forged_id
    swapped = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    forgeries["real signature, other session id"] = f"{swapped}.{signature}"
    assert get_session_id(forgeries["real signature, other session id"]) == forged_id
    results = {name: ws(port, token, origin) for name, token in forgeries.items()}
    assert results == {name: "closed" for name in forgeries}, results
    # and the page cannot be opened on a made-up session id either
    assert _get(f"http://127.0.0.1:{port}/app?bokeh-session-id=made-up")[0] == 403
    assert _get(f"http://127.0.0.1:{port}/app?bokeh-session-id={forged_id}")[0] == 403
    # the real token still works: the server was not broken by the attempts
    assert ws(port, real, origin) == "ack"


def test_plain_panel_serve_still_works_for_one_laptop():
    # `panel serve app.py`: no origin list, no signing (only bound to 127.0.0.1 for the test)
    with panel_serve() as port:
        status, page = _get(f"http://127.0.0.1:{port}/app")
        assert status == 200 and "Backprop Explorer" in page
        assert ws(port, _token_of(page), f"http://localhost:{port}") == "ack"
