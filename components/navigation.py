"""The page for the lesson in the URL (``lesson=<slug>``, ``lang=en|zh``), with navigation."""

from __future__ import annotations

import html
from contextlib import nullcontext
from urllib.parse import urlencode

import panel as pn

from .lessons import LESSONS
from .page import PageTemplate
from .urlstate import query_args
from .words import LANGUAGES, language, ui


def serve_page(title: str) -> None:
    """Build this session's page and add it to the session's document.

    Bokeh re-walks every model of the document whenever a root or a JS callback is added to
    it, many times per page. With the document's model graph frozen while the page is
    built, it is walked once at the end (figures: bench/README.md, "A class on one server").
    """
    doc = pn.state.curdoc
    with doc.models.freeze() if doc is not None else nullcontext():
        build_page().servable(title=title)


def query_link(slug: str, lang: str, args: dict) -> str:
    """The live server's link to lesson ``slug`` in ``lang`` with query ``args`` (URL-quoted:
    safe in an attribute, as every ``link`` must be)."""
    return "?" + urlencode({**args, "lesson": slug, "lang": lang})


def build_page(args: dict | None = None, link=query_link) -> pn.template.BaseTemplate:
    """The page for query ``args`` (the session's URL query by default); ``link(slug, lang,
    args)`` makes the navigation's links (the live server's queries, or a static site's files)."""
    args = query_args() if args is None else args
    slug = args.get("lesson", "graph")
    if slug not in LESSONS:
        slug = "graph"
    lang = language(args.get("lang"))
    lesson = LESSONS[slug]
    page = lesson.build(args, lang)
    nav = pn.pane.HTML(_navigation(slug, lang, args, link), sizing_mode="stretch_width",
                       css_classes=["bpx-nav"])
    return PageTemplate(
        lang=lang, toggle_label=ui(lang)["sidebar_toggle"], toggle_text=ui(lang)["sidebar_toggle_text"],
        title=f"{ui(lang)['app_title']} · {lesson.title[lang]}",
        sidebar=[nav, *page.sidebar],
        main=page.main,
        sidebar_width=340,
        header_background="#16324F",
        # Panel's busy spinner follows one process-wide flag: every event of any session
        # would turn on, then off, the spinner of every open page (two messages per page per
        # event, the main cost of a slider release with 30 students). The explorer draws
        # while dragging in the page itself and needs no spinner.
        busy_indicator=None,
    )


def _navigation(current: str, lang: str, args: dict, link=query_link) -> str:
    links = []
    for slug, lesson in LESSONS.items():
        label = html.escape(lesson.title[lang])
        cls = "bpx-nav-current" if slug == current else ""
        here = " aria-current='page'" if slug == current else ""
        links.append(f"<li class='{cls}'><a href='{link(slug, lang, {})}'"
                     f"{here}>{label}</a></li>")
    # switching language keeps the whole state of the page: a link per other language
    switches = " ".join(f"<a href='{link(current, other, args)}' hreflang='{other}' "
                        f"lang='{other}'>{name}</a>"
                        for other, name in LANGUAGES.items() if other != lang)
    return (f"<nav aria-label='{ui(lang)['nav_label']}'><div class='bpx-lang'>{switches}</div>"
            f"<ol class='bpx-lessons'>{''.join(links)}</ol></nav>")
