"""What one client may cost the server: message size, page opens, handshakes, error replies.

A teacher starts the app with no flags (``python3 -m panel serve app.py``), so the limits are
set from inside the app: :func:`install` runs in the first session (``page.start_session``)
and adjusts Bokeh's websocket handler and page handler for the whole process.

- **Small messages.** A websocket message above ``BPX_MAX_MESSAGE_BYTES`` (default 64 kB; the
  app's own browser messages are below 2 kB, ``bench/bench_messages.py``) closes that
  connection before it is read: Tornado's ``websocket_max_message_size``, which
  ``--websocket-max-message-size`` also sets, is lowered to it. A Bokeh message spread over
  many fragments counts as their sum. A page reconnecting to a session that already had its
  document re-sends its models in messages of hundreds of kB: the first ``RECONNECTS``
  reconnects of a session may send up to ``BPX_RECONNECT_MESSAGE_BYTES`` (4 MB).
- **Metered page opens.** New sessions per client address: a burst of
  ``BPX_OPENS_PER_MINUTE`` (default 60: a class behind one school NAT address opening the
  link at once), refilled at that rate. Over it, ``GET /app`` answers 429 and a websocket
  asking for a new session is closed. Reloads of an existing session are not counted.
  Pages are built off the event loop, one at a time (:mod:`components.builds`): a flood of
  opens does not hold other students' releases.
- **Handshakes.** A websocket that has not asked for its document (``PULL-DOC-REQ``)
  ``BPX_HANDSHAKE_SECONDS`` (default 5) after the server's ``ACK`` is closed.
- **Idle connections.** An HTTP connection waiting for its next request (or a new one for its
  first) is closed after ``BPX_IDLE_CONNECTION_SECONDS`` (default 60, as common web servers
  do; Tornado's default is an hour). Each such wait leaves a timer in the event loop's heap
  until its deadline, even once the request came and cancelled it: with an hour, the timers
  of an abuse wave's requests (and the contexts they copied) stayed for an hour, scattered
  over the memory the wave's pages had grown, and kept it from going back to the system.
- **Sessions of closed connections.** The session of a connection this module closed is
  discarded at once, not kept for Bokeh's unused-session lifetime (no page comes back to it).
- **Quiet, bounded errors.** A message that cannot be read or applied (a string where a
  number goes, an unknown model id, a 100,000-deep list) gets an ``ERROR`` reply with one
  short sentence, no traceback and no server path; after ``MAX_REFUSALS`` such messages the
  connection is closed. Every log record of the process is cut to one bounded line
  (:class:`BoundedRecords`): no payload is ever echoed in full.

Behind a reverse proxy every client has the proxy's address: start Panel with
``--use-xheaders`` there so the meter sees the students' addresses (docs/deployment.md).
"""

from __future__ import annotations

import logging
import os
import time

from . import first_page, heap
from .builds import page_get

log = logging.getLogger("backprop_explorer.guard")

MAX_MESSAGE_BYTES = int(os.environ.get("BPX_MAX_MESSAGE_BYTES", 64 * 1024))
# A page that reconnects to its session (a Wi-Fi blip) re-sends the models it holds in a few
# messages of hundreds of kB: its connection may read messages up to this, a few times per session.
RECONNECT_MESSAGE_BYTES = int(os.environ.get("BPX_RECONNECT_MESSAGE_BYTES", 4 * 2**20))
RECONNECTS = 3
OPENS_PER_MINUTE = float(os.environ.get("BPX_OPENS_PER_MINUTE", 60))
HANDSHAKE_SECONDS = float(os.environ.get("BPX_HANDSHAKE_SECONDS", 5))
IDLE_CONNECTION_SECONDS = float(os.environ.get("BPX_IDLE_CONNECTION_SECONDS", 60))
ACK_POLL_SECONDS = 0.25  # how often a websocket waiting for its ACK is looked at
MAX_REFUSALS = 20  # refused messages before a connection is closed
MAX_LOG_LINE = 400  # characters of any log record's message
REFUSED = "message refused"  # all a client learns about why


def install() -> None:
    """Install every limit of this module in this process (idempotent)."""
    from bokeh.server.protocol_handler import ProtocolHandler
    from bokeh.server.views.ws import WSHandler
    from panel.io.server import DocHandler

    if getattr(WSHandler, "_bpx_guarded", False):
        return
    WSHandler._bpx_guarded = True
    WSHandler.max_message_size = property(_max_message_size)
    WSHandler.open = _metered_open(WSHandler.open)
    WSHandler.on_message = _on_message
    WSHandler._internal_error = _close_quietly
    WSHandler._protocol_error = _close_quietly
    WSHandler.on_close = _ending_close(WSHandler.on_close)
    ProtocolHandler.handle = _handle_quietly
    DocHandler.get = _metered_get(page_get)  # Panel's, its HTML rendered off the loop
    bound_log_records()


# --- log records ---------------------------------------------------------------------------
class BoundedRecords(logging.Filter):
    """Cut a log record to one line of at most ``MAX_LOG_LINE`` characters of message, with
    an exception's type, its message's start and where it was raised instead of the traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_bpx_bounded", False):
            return True
        message = _short(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            message += " [" + describe(record.exc_info[1]) + "]"
        record.msg, record.args = message, None
        record.exc_info = record.exc_text = record.stack_info = None
        record._bpx_bounded = True
        return True


def bound_log_records() -> None:
    """Put :class:`BoundedRecords` on every handler of the root logger and the app's loggers."""
    bounded = BoundedRecords()
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in
                                       list(logging.root.manager.loggerDict)
                                       if name.startswith("backprop_explorer")]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, BoundedRecords) for f in handler.filters):
                handler.addFilter(bounded)


def describe(error: BaseException) -> str:
    """``Type: start of the message (at file:line in function)`` - one bounded line.

    Where it was raised is read from the traceback's last frame, not with
    ``traceback.extract_tb``: that reads each frame's whole source file into ``linecache``
    for the lines it shows, and keeps them for the process's life - ~5,000 strings (Tornado's
    and Bokeh's sources) made the first time an attacker's message was refused, which then
    pinned a dozen pymalloc arenas (~1 MB each) that the abuse wave's pages had grown.

    >>> try:
    ...     {}["missing"]
    ... except KeyError as e:
    ...     describe(e).split(" (at ")[0]
    "KeyError: 'missing'"
    """
    last = error.__traceback__
    while last is not None and last.tb_next is not None:
        last = last.tb_next
    where = ""
    if last is not None:
        code = last.tb_frame.f_code
        where = f" (at {os.path.basename(code.co_filename)}:{last.tb_lineno} in {code.co_name})"
    return f"{type(error).__name__}: {_short(str(error), 160)}{where}"


def _short(text: str, limit: int = MAX_LOG_LINE) -> str:
    text = " ".join(text.split()) if len(text) < 4 * limit else " ".join(text[:4 * limit].split())
    return text if len(text) <= limit else text[:limit] + f"... [{len(text):,}+ chars cut]"


# --- websocket messages --------------------------------------------------------------------
def _max_message_size(self) -> int:
    configured = self.settings.get("websocket_max_message_size", MAX_MESSAGE_BYTES)
    if getattr(self, "_bpx_limit", None) is None:
        self._bpx_limit = RECONNECT_MESSAGE_BYTES if _reconnecting(self) else MAX_MESSAGE_BYTES
    return min(configured, self._bpx_limit)


def _reconnecting(ws) -> bool:
    """Whether this websocket (still in its handshake) reattaches to a session whose document
    a page has already pulled, within that session's allowance of reconnects."""
    try:
        token = ws.request.headers.get("Sec-WebSocket-Protocol", "").split(",")[1].strip()
    except Exception:
        return False
    session = _session_of(ws, token)
    pulls = getattr(session, "_bpx_pulls", 0)
    return 0 < pulls <= RECONNECTS


async def _on_message(self, fragment) -> None:
    """Bokeh's ``WSHandler.on_message``, with the size of a whole message bounded and
    every failure answered quietly."""
    heap.touch()  # a student is here: not a moment for the collector's long pass
    self._bpx_bytes = getattr(self, "_bpx_bytes", 0) + len(fragment)
    limit = getattr(self, "_bpx_limit", None) or MAX_MESSAGE_BYTES
    if self._bpx_bytes > limit:
        _refuse(self, f"message over {limit:,} bytes", close=True)
        return
    if self.receiver is None:  # before the ACK: no real client speaks yet
        _refuse(self, "message before the handshake", close=True)
        return
    try:
        message = await self.receiver.consume(fragment)
    except Exception as e:
        self.receiver._current_consumer = self.receiver._HEADER  # the next message starts anew
        self._bpx_bytes = 0
        _refuse(self, "unreadable message", e)
        return
    if message is None:
        return
    self._bpx_bytes = 0
    if message.msgtype == "PULL-DOC-REQ" and not getattr(self, "_bpx_pulled", False):
        self._bpx_pulled = True
        session = self.connection.session
        session._bpx_pulls = getattr(session, "_bpx_pulls", 0) + 1
    try:
        work = await self._handle(message)
        if work:
            await self._schedule(work)
    except Exception as e:
        _refuse(self, "message not handled", e, close=True)


async def _handle_quietly(self, message, connection):
    """Bokeh's ``ProtocolHandler.handle`` without the traceback in the reply or the log."""
    from bokeh.protocol.exceptions import ProtocolError

    handler = self._handlers.get(message.msgtype)
    if handler is None:
        raise ProtocolError("unexpected message type")
    try:
        return await handler(message, connection)
    except Exception as e:
        failure = e
    # outside the except block: Bokeh's ERROR message would copy sys.exc_info()'s traceback
    _refuse(connection._socket, f"{message.msgtype} not applied", failure)
    return connection.protocol.create("ERROR", message.header["msgid"], REFUSED)


def _refuse(ws, what: str, error: BaseException | None = None, close: bool = False) -> None:
    """One log line for a refused message; close the connection after too many."""
    ws._bpx_refused = getattr(ws, "_bpx_refused", 0) + 1
    close = close or ws._bpx_refused >= MAX_REFUSALS
    ip = getattr(getattr(ws, "request", None), "remote_ip", "?")
    detail = f": {describe(error)}" if error is not None else ""
    log.warning("refused from %s: %s%s%s", ip, what, detail,
                ", connection closed" if close else "")
    if close:
        _close(ws, 1008, "policy violation")


def _close_quietly(self, message: str) -> None:
    log.warning("closing a connection from %s: %s",
                getattr(self.request, "remote_ip", "?"), _short(message, 160))
    _close(self, 1008, "policy violation")


def _close(ws, code: int, reason: str) -> None:
    ws._bpx_ended = True  # its session goes with it (_ending_close)
    try:
        ws.close(code, reason)
    except Exception:  # already closed
        pass


def _ending_close(on_close):
    """Bokeh's ``WSHandler.on_close``; the session of a connection the guard closed (refused
    messages, no document asked for) is then discarded at once.

    Bokeh keeps a session whose connections are gone for its unused-session lifetime (15 s,
    looked at every 17 s) so that a page that lost its network can come back to it. A
    connection closed for what it sent, or for sending nothing, has no page coming back; its
    session would hold a page's memory (~3 MB) for up to half a minute, and a client opening
    such connections at the meter's rate could keep dozens alive at once.

    A connection may also have been counted lost already: Bokeh's keep-alive pings every
    client (every 37 s) and, when a ping finds the connection closing (a close handshake the
    client does not answer, e.g. after the handshake deadline), detaches it from its session
    (``client_lost``). Bokeh's own ``on_close`` then fails on the detached session
    (``AssertionError`` in ``ServerConnection.session``, logged as an uncaught exception) and
    never tells the document that its connection was lost; here it is told, once.
    """
    def closed(self) -> None:
        connection = self.connection
        session = getattr(connection, "_session", None)  # before Bokeh detaches it
        if connection is not None and session is None:  # already lost, by a keep-alive ping
            session = _session_of(self)
            self.connection = None  # Bokeh's on_close: only its log line
            on_close(self)
            if session is not None:
                session.notify_connection_lost()
        else:
            on_close(self)
        if session is None or not getattr(self, "_bpx_ended", False):
            return
        session.request_expiration()
        if session.connection_count == 0:
            self.application.io_loop.add_callback(self.application._cleanup_sessions)
    return closed


def _session_of(ws, token: str | None = None):
    """The session ``token`` (by default ``ws``'s own) names, if the server still holds it."""
    from bokeh.util.token import get_session_id

    try:
        return ws.application_context._sessions.get(get_session_id(token or ws._token))
    except Exception:
        return None


# --- page opens and handshakes -------------------------------------------------------------
class OpenMeter:
    """Token bucket per client address: ``burst`` new sessions at once, refilled at ``per_minute``.

    >>> m = OpenMeter(per_minute=2, burst=2)
    >>> [m.take("a", now=0.0) for _ in range(3)], m.take("b", now=0.0), m.take("a", now=30.0)
    ([True, True, False], True, True)
    """

    MAX_ADDRESSES = 10_000

    def __init__(self, per_minute: float = OPENS_PER_MINUTE, burst: float | None = None):
        self.rate = per_minute / 60.0
        self.burst = per_minute if burst is None else burst
        self.buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, at)

    def take(self, address: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, at = self.buckets.get(address, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1:
            self.buckets[address] = (tokens, now)
            return False
        if len(self.buckets) >= self.MAX_ADDRESSES and address not in self.buckets:
            self._forget_full(now)
        self.buckets[address] = (tokens - 1, now)
        return True

    def _forget_full(self, now: float) -> None:
        """Drop addresses whose bucket has refilled (they would start full anyway)."""
        full = [a for a, (t, at) in self.buckets.items()
                if t + (now - at) * self.rate >= self.burst]
        for address in full or list(self.buckets)[: len(self.buckets) // 2]:
            del self.buckets[address]


def meter(application) -> OpenMeter:
    """The server's page-open meter (one per Bokeh server application, made on first use)."""
    found = getattr(application, "_bpx_open_meter", None)
    if found is None:
        found = application._bpx_open_meter = OpenMeter()
    return found


def bound_idle_connections(request) -> None:
    """Lower the wait of the server's HTTP connections for a request to
    ``IDLE_CONNECTION_SECONDS`` (Tornado's ``idle_connection_timeout``, which ``panel serve``
    has no flag for): the connection parameters ``request`` came with are the server's own,
    shared by every connection it accepts.

    >>> from tornado.http1connection import HTTP1ConnectionParameters
    >>> request = type("Request", (), {})()
    >>> request.connection = type("Connection", (), {})()
    >>> request.connection.params = HTTP1ConnectionParameters(header_timeout=3600)
    >>> bound_idle_connections(request); request.connection.params.header_timeout
    60.0
    """
    params = getattr(getattr(request, "connection", None), "params", None)
    if params is not None and (params.header_timeout is None
                               or params.header_timeout > IDLE_CONNECTION_SECONDS):
        params.header_timeout = IDLE_CONNECTION_SECONDS


def _metered_get(get):
    async def metered_get(self, *args, **kwargs):
        bound_idle_connections(self.request)
        if await first_page.answer(self):  # a page of the static site: no session (first_page.py)
            return
        if not meter(self.application).take(self.request.remote_ip or "?"):
            log.warning("refused from %s: page opens over %g a minute",
                        self.request.remote_ip, OPENS_PER_MINUTE)
            self.set_status(429)
            self.set_header("Retry-After", "10")
            self.finish("Too many pages opened from this address; try again in a minute.")
            return
        return await get(self, *args, **kwargs)
    return metered_get


def _metered_open(opened):
    def open(self, *args, **kwargs):
        from bokeh.util.token import get_session_id

        bound_idle_connections(self.request)

        try:
            session_id = get_session_id(self._token)
            context = self.application_context
            new = session_id not in context._sessions and session_id not in context._pending_sessions
        except Exception:
            new = False  # a bad token: Bokeh's own open refuses it
        if new and not meter(self.application).take(self.request.remote_ip or "?"):
            log.warning("refused from %s: new sessions over %g a minute",
                        self.request.remote_ip, OPENS_PER_MINUTE)
            _close(self, 1013, "try again later")
            return None
        self.application.io_loop.call_later(ACK_POLL_SECONDS, _check_handshake, self)
        return opened(self, *args, **kwargs)
    return open


def _check_handshake(ws) -> None:
    """Close ``ws`` if it has not asked for its document ``HANDSHAKE_SECONDS`` after the ACK.

    The deadline runs from the ACK, not from the websocket's open: a new session is built
    before its ACK is sent, seconds on a loaded server, and a page cannot ask for its document
    before it has the ACK. Until the ACK (Bokeh's connection made) this looks again every
    ``ACK_POLL_SECONDS``.
    """
    if getattr(ws, "_bpx_pulled", False) or ws.ws_connection is None:
        return
    loop = ws.application.io_loop
    if ws.connection is None:  # no ACK yet (its session is being built): look again soon
        loop.call_later(ACK_POLL_SECONDS, _check_handshake, ws)
        return
    acked = getattr(ws, "_bpx_acked_at", None)
    if acked is None:
        acked = ws._bpx_acked_at = time.monotonic()
    waited = time.monotonic() - acked
    if waited < HANDSHAKE_SECONDS:
        loop.call_later(HANDSHAKE_SECONDS - waited, _check_handshake, ws)
        return
    log.warning("closing a connection from %s: no document asked for %g s after the handshake",
                getattr(ws.request, "remote_ip", "?"), HANDSHAKE_SECONDS)
    _close(ws, 1008, "handshake timeout")
