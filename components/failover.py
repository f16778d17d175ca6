"""A page whose server went away comes back with its picture, from its URL.

With Panel's ``reconnect=True`` (app.py) a page that lost its websocket opens a new one with
its old session token. If the process that held the session is gone (a backend of
``tools/serve-cluster.sh`` died, a laptop slept past the session's lifetime), the server that
answers builds a new session from the token; but the token carries the query of the link the
page was *first* opened with, not what the student has done since, which the page's URL
holds (``components/urlstate.py`` writes it). So a session that was built for a
reconnecting page reloads that page: the reload opens a session from the current URL, on a
live server, and the picture is back - expression, sliders, mode, lesson and language.

A session built on a page's first connection is left alone: with ``--num-procs`` or a
cluster, a websocket may reach a process that did not serve the page and builds its session
from the token; that is a first connection, not a reconnect.
"""

from __future__ import annotations

import panel as pn
from bokeh.models import CustomJS, Div


def reload_after_failover() -> None:
    """In a session built for a reconnecting page, reload that page (call at session start)."""
    doc = pn.state.curdoc
    context = getattr(doc, "session_context", None)
    request = getattr(context, "request", None)
    # a page's GET builds its session at /app; a session first built at /app/ws is one whose
    # page was served elsewhere (another process, or a server that is gone)
    if request is None or not str(getattr(request, "path", "")).endswith("/ws"):
        return
    trigger = Div(text="", visible=False, tags=["bpx-failover"])
    trigger.js_on_change("text", CustomJS(code="window.location.reload()"))

    def reconnected(event) -> None:
        trigger.text = "reload"

    doc.add_root(trigger)
    doc.on_event("client_reconnected", reconnected)
