"""Parts of a page built when they first come on screen, not when the page opens.

Every Panel object of a page costs the server 2-4 ms at each open, and a figure's models
more. A part far down the page that many students never scroll to (the explorer's descent
panel, a lesson's figures below its prose) is built here the first time its place comes on screen: the page
holds an empty marker there (a Bokeh ``Div``); once the document is drawn
(``document_ready``) the browser watches the marker with an ``IntersectionObserver`` and,
the first time it is within :data:`MARGIN` of the screen, adds :data:`SHOWN` to the
marker's ``tags``; that change reaches the server, which builds the part and puts it in the
marker's place.

A marker in a hidden layout is not on screen: it is seen when the layout shows and the
student scrolls to it. Outside a server session (a notebook, a saved file, a test building
the page) there is no browser to ask, and :func:`seen` says so at once: the part is built
with the page, as it always was.
"""

from __future__ import annotations

from typing import Callable

import panel as pn
from bokeh.models import CustomJS, Div

from . import display

SHOWN = "bpx-shown"
# built a little before it scrolls into view (the server's answer takes a round trip)
MARGIN = "0px 0px 160px 0px"
# the browser's side: `spot` is the marker (args); its view from Bokeh's index of views
# (`cb_context.index`, BokehJS's public one); no view or no IntersectionObserver: seen now
WATCH = f"""
const index = (cb_context && cb_context.index) || (window.Bokeh && window.Bokeh.index)
const view = index ? index.find_one(spot) : null
const seen = () => {{ if (!spot.tags.includes({SHOWN!r})) spot.tags = [...spot.tags, {SHOWN!r}] }}
if (view == null || typeof IntersectionObserver === "undefined") seen()
else {{
  const watch = new IntersectionObserver((entries) => {{
    if (entries.some((e) => e.isIntersecting)) {{ watch.disconnect(); seen() }}
  }}, {{rootMargin: {MARGIN!r}}})
  watch.observe(view.el)
}}
"""


class Marker:
    """The place of a part not yet built: :attr:`block` goes where the part will be (in a
    Panel layout); ``on_seen`` is called once, when the part is first near the screen, in
    the session (its document current and locked)."""

    def __init__(self, on_seen: Callable[[], None]):
        self._on_seen = on_seen
        self.seen = False
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:
            self.seen = True  # no browser to ask: built at once
            self.block = None
            return
        # a pixel high: a part of the page's own height (an empty element is "not visible"
        # to tools that look for what a page shows, Playwright's checks among them)
        self.spot = Div(text="", css_classes=["bpx-later"], height=1, sizing_mode="stretch_width")
        self.block = display.block(self.spot)
        self.spot.on_change("tags", self._tags)
        doc.js_on_event("document_ready", CustomJS(args={"spot": self.spot}, code=WATCH))

    def _tags(self, attr, old, new) -> None:
        if self.seen or SHOWN not in new:
            return
        self.seen = True
        from panel.io.state import set_curdoc
        with set_curdoc(self.spot.document):
            self._on_seen()



def column(build: Callable[[], list], **params) -> pn.Column:
    """A ``pn.Column(**params)`` that holds ``build()``'s objects from the first time it is
    near the screen (at once outside a server session)."""
    holder = pn.Column(**params)

    def fill() -> None:
        holder.objects = list(build())
    marker = Marker(fill)
    if marker.block is None:
        fill()
    else:
        holder.objects = [marker.block]
    return holder
