"""Backprop explorer: `panel serve app.py`, then open http://localhost:5006/app."""

import panel as pn

from components.navigation import build_page
from components.page import handle_exception, start_session, stylesheet

pn.extension(raw_css=[stylesheet()], notifications=True,
             exception_handler=handle_exception)

start_session()
build_page().servable(title="Backprop Explorer")
