"""Backprop explorer: `panel serve app.py`, then open http://localhost:5006/app."""

import panel as pn

from components.navigation import serve_page
from components.page import handle_exception, start_session, stylesheet

# reconnect: a laptop that slept gets its session back (see docs/deployment.md); no browser
# info: nothing reads it, and each page sent its seven properties as seven messages at open
pn.extension(raw_css=[stylesheet()], notifications=True, reconnect=True, browser_info=False,
             exception_handler=handle_exception)

start_session()
serve_page(title="Backprop Explorer")
