"""Serve ``static/`` under ``/assets`` even when the app is started as plain ``panel serve app.py``.

``panel serve --static-dirs assets=static`` does this from the command line; a teacher
who types only ``panel serve app.py`` should not need to know. The first session finds
the running Tornado application and adds the route once (Panel reserves ``/static``).
The page itself does not depend on it: styles and the player module are inlined, so the
same page also works as a standalone file.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

from tornado.web import StaticFileHandler

STATIC = Path(__file__).resolve().parent.parent / "static"
ROUTE = r"/assets/(.*)"
log = logging.getLogger("backprop_explorer")


def serve_assets() -> bool:
    """Add ``/assets/`` to every running Bokeh server in this process that lacks it.

    Returns True when a server has the route (added now or before).
    """
    try:
        from bokeh.server.tornado import BokehTornado
    except ImportError:  # pragma: no cover - bokeh is a dependency
        return False
    served = False
    for app in (obj for obj in gc.get_objects() if isinstance(obj, BokehTornado)):
        if not getattr(app, "_backprop_assets", False):
            prefix = getattr(app, "_prefix", "") or ""
            app.add_handlers(r".*", [(prefix + ROUTE, StaticFileHandler, {"path": str(STATIC)})])
            app._backprop_assets = True
            log.info("serving %s under %s/assets", STATIC, prefix)
        served = True
    return served
