"""A page whose server went away comes back with its picture, from its URL.

With Panel's ``reconnect=True`` (app.py) a page that lost its websocket opens a new one with
its old session token. If the process that held the session is still there, the page gets
its session back. If it is gone (a backend of ``tools/serve-cluster.sh`` died, a server
restarted, a laptop slept past the session's lifetime), the server that answers builds a
*new* session from the token; but the token carries the query of the link the page was
first opened with, not what the student did since, which the page's URL holds
(``components/urlstate.py`` writes it). So when a page finds itself reconnected to another
session than its own, it reloads: the reload opens a session from the current URL, on a live
server, and the picture is back (expression, sliders, mode, lesson, language).

How the page tells: each session marks its document's config with a random tag; the page
keeps the JS callback of the document it first loaded (BokehJS keeps a document's event
callbacks when a reconnect replaces its models), which looks for its own tag after the
reconnect. A first connection is never a reconnect, so with ``--num-procs`` (a page served
by one process, its websocket taken by another) nothing reloads.
"""

from __future__ import annotations

import secrets

import panel as pn
from bokeh.models import CustomJS

TAG = "bpx-session-"


def reload_after_failover() -> None:
    """Make this session's page reload if it ever reconnects to another session."""
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return
    mark = TAG + secrets.token_hex(8)
    doc.config.tags = [t for t in doc.config.tags if not str(t).startswith(TAG)] + [mark]
    doc.js_on_event("client_reconnected", CustomJS(
        code=f"if (!(cb_obj.config.tags || []).includes({mark!r})) window.location.reload()"))
