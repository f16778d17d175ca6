"""The page for the lesson in the URL (``lesson=<slug>``, ``lang=en|zh``), with navigation."""

from __future__ import annotations

import html
from urllib.parse import urlencode

import panel as pn

from .lessons import LESSONS
from .urlstate import query_args

LANGUAGES = {"en": "English", "zh": "中文"}


def build_page() -> pn.template.BaseTemplate:
    args = query_args()
    slug = args.get("lesson", "graph")
    if slug not in LESSONS:
        slug = "graph"
    lang = args.get("lang", "en")
    if lang not in LANGUAGES:
        lang = "en"
    lesson = LESSONS[slug]
    page = lesson.build(args, lang)
    nav = pn.pane.HTML(_navigation(slug, lang, args), sizing_mode="stretch_width",
                       css_classes=["bpx-nav"])
    return pn.template.BootstrapTemplate(
        title=f"Backprop Explorer · {lesson.title[lang]}",
        sidebar=[nav, *page.sidebar],
        main=page.main,
        sidebar_width=340,
        header_background="#16324F",
    )


def _navigation(current: str, lang: str, args: dict) -> str:
    links = []
    for slug, lesson in LESSONS.items():
        label = html.escape(lesson.title[lang])
        cls = "bpx-nav-current" if slug == current else ""
        links.append(f"<li class='{cls}'><a href='?{urlencode({'lesson': slug, 'lang': lang})}'>"
                     f"{label}</a></li>")
    # switching language keeps the whole state of the page
    other = "zh" if lang == "en" else "en"
    switched = urlencode({**args, "lesson": current, "lang": other})
    return (f"<nav aria-label='Lessons'><div class='bpx-lang'><a href='?{switched}' "
            f"hreflang='{other}'>{LANGUAGES[other]}</a></div><ol class='bpx-lessons'>"
            f"{''.join(links)}</ol></nav>")
