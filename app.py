"""Backprop explorer: `panel serve app.py`, then open http://localhost:5006/app."""

import panel as pn

from components.explorer import Explorer
from components.page import handle_exception, stylesheet

pn.extension("mathjax", raw_css=[stylesheet()], notifications=True,
             exception_handler=handle_exception)

explorer = Explorer()

pn.template.BootstrapTemplate(
    title="Backprop Explorer",
    sidebar=[explorer.sidebar()],
    main=[explorer.main()],
    sidebar_width=340,
    header_background="#16324F",
).servable(title="Backprop Explorer")
