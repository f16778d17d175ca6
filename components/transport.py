"""Small websocket messages leave at once: TCP_NODELAY on every Bokeh websocket.

Tornado leaves Nagle's algorithm on for websockets, so a short message written while
an earlier one is still unacknowledged waits for the acknowledgement (~40 ms on Linux
with delayed ACKs). A slider release and its reply are exactly such short messages.
"""

from __future__ import annotations


def send_without_delay() -> None:
    """Make every websocket Bokeh's server opens from now on set TCP_NODELAY (once per process)."""
    from bokeh.server.views.ws import WSHandler

    if getattr(WSHandler.open, "_bpx_nodelay", False):
        return
    opened = WSHandler.open

    def open(self, *args, **kwargs):
        self.set_nodelay(True)
        return opened(self, *args, **kwargs)

    open._bpx_nodelay = True
    WSHandler.open = open
