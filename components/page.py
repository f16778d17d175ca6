"""The page frame shared by every lesson: template, styles, error handling."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import panel as pn

STATIC = Path(__file__).resolve().parent.parent / "static"
TEMPLATES = Path(__file__).resolve().parent / "templates"
log = logging.getLogger("backprop_explorer")
# the page scales to the device and a student may still zoom it (no maximum-scale: WCAG 1.4.4)
VIEWPORT = "width=device-width, initial-scale=1"


class PageTemplate(pn.template.BootstrapTemplate):
    """Panel's Bootstrap page in the page's language (``templates/page.html`` says what differs).

    ``lang`` is the page's language (``"en"``, ``"zh"``), ``toggle_label`` the accessible
    name of the header button that shows and hides the sidebar, ``toggle_text`` the word written
    on it where the sidebar is a drawer (a narrow screen); the name must contain that word.
    """

    _template = TEMPLATES / "page.html"

    def __init__(self, lang: str = "en", toggle_label: str = "Toggle sidebar", toggle_text: str = "",
                 **params):
        self._page_words = {"page_lang": lang, "toggle_label": toggle_label, "toggle_text": toggle_text,
                            "page_script": page_script(),
                            "page_script_words": page_script_words(lang)}
        params.setdefault("meta_viewport", VIEWPORT)
        super().__init__(**params)

    def _update_vars(self, *args) -> None:
        super()._update_vars(*args)
        self._render_variables.update(self._page_words)


def start_session() -> None:
    """Once per session, before the page is built: the app's changes to Bokeh, Panel and
    Tornado (:mod:`components.server_hooks` lists them all: Bokeh's stable defaults looked up
    once per class, the page's styles sent once per document, and on a server websockets
    without delay, the limits on what one client may cost, ``/assets``), and the page's
    reload if it ever reconnects to another backend (:mod:`components.failover`)."""
    from . import server_hooks
    from .failover import reload_after_failover

    on_server = pn.state.curdoc is not None and pn.state.curdoc.session_context is not None
    server_hooks.install(server=on_server)
    reload_after_failover()


def page_script() -> str:
    """The script every page runs for assistive technology (``static/page-a11y.js``)."""
    return (STATIC / "page-a11y.js").read_text(encoding="utf-8")


def page_script_words(lang: str) -> str:
    """The words ``static/page-a11y.js`` writes, in ``lang``, as JSON for a ``<script>`` element."""
    from .words import ui
    words = {"slider_field": ui(lang)["slider_field"]}
    return json.dumps(words, ensure_ascii=False).replace("</", "<\\/")


def stylesheet() -> str:
    """The app's, the lessons', the responsive layout's and the slider fields' styles, inlined
    into the page."""
    return "\n".join((STATIC / name).read_text(encoding="utf-8")
                     for name in ("style.css", "lessons.css", "responsive.css", "fields.css"))


def field_stylesheet() -> str:
    """The sliders' styles: the number field ``static/page-a11y.js`` puts beside each slider,
    and the track drawn without layers of its own (for a page without the app's stylesheet:
    the saved HTML file)."""
    return (STATIC / "fields.css").read_text(encoding="utf-8")


def handle_exception(error: BaseException) -> None:
    """Any exception in a session's callback: log one line, tell the student briefly, carry on."""
    from .guard import describe
    log.error("callback failed: %s", describe(error))
    notifications = pn.state.notifications
    if notifications is not None:
        notifications.error(f"Something went wrong ({type(error).__name__}); the page keeps "
                            "working with the last good state.", duration=6000)
