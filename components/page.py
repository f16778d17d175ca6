"""The page frame shared by every lesson: template, styles, error handling."""

from __future__ import annotations

import logging
from pathlib import Path

import panel as pn

STATIC = Path(__file__).resolve().parent.parent / "static"
log = logging.getLogger("backprop_explorer")


def start_session() -> None:
    """Once per session, before the page is built: ``/assets`` served, websockets without delay,
    Bokeh's stable defaults looked up once per class (:mod:`components.bokeh_defaults`)."""
    from .bokeh_defaults import install
    from .failover import reload_after_failover
    install()
    reload_after_failover()
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        from .assets import serve_assets
        from .transport import send_without_delay
        send_without_delay()
        if not pn.state.cache.get("backprop_assets"):
            pn.state.cache["backprop_assets"] = serve_assets()


def stylesheet() -> str:
    """The app's styles and the lessons' styles, inlined into the page."""
    return "\n".join((STATIC / name).read_text(encoding="utf-8")
                     for name in ("style.css", "lessons.css"))


def handle_exception(error: BaseException) -> None:
    """Any exception in a session's callback: log it, tell the student briefly, carry on."""
    log.exception("callback failed", exc_info=error)
    notifications = pn.state.notifications
    if notifications is not None:
        notifications.error(f"Something went wrong ({type(error).__name__}); the page keeps "
                            "working with the last good state.", duration=6000)
