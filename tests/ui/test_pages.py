"""Every page (each lesson, in English and Chinese) as a student first sees it: its heading and
prose, no English UI word on a Chinese page, zero serious axe-core findings (WCAG 2.0/2.1/2.2
A and AA), and on a phone held upright nothing scrolls sideways and every control is on screen.

Each page is opened once, on the desktop (1400x1000), and every read-only check runs on that one
page (a module-scoped, parametrized fixture: pytest runs a page's checks together, then closes
it): first the desktop's, then the phone's, on the same page made a phone
(``helpers.emulate_phone``: the viewport and touch Playwright gives a ``PHONE`` context, in
backward mode, as ``&mode=backward`` opens it). A page open is most of this module's CPU
(~3 s of Chromium's each); the phone's checks reopened every page until session 11. The page made
a phone was compared with one opened on a phone (full-page screenshots, 390 px): fan-out (en) and
same-gradient (zh) the same pixels, scroll height and controls' boxes, the drawer closed; the
explorer's ('graph', en) the same but for its values table, whose SlickGrid columns keep the
proportions they had at 1400 px (a few px wider 'Definition', as when a phone turns).
The checks that change a page come last, on the same page (the phone's by then): its sliders and
buttons move its numbers and its URL, and the language link takes the state along (they opened a
page of their own in tests/ui/test_lessons_ui.py until session 13). Other modules' checks that
change a page (modes, playback) open their own.

axe-core comes from npm (``tests/ui/package.json``, installed by ``tools/install-test-deps.sh``
into ``tests/ui/node_modules``); it is injected into the running page and walks Panel's open
shadow roots.
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from components.lessons import LESSONS
from components.words import LANGUAGES, article_heading, lesson_text, ui

from .english import english_on, plain
from .helpers import (Watched, axe_violations, button, close_drawer, controls_off_screen, deep_text,
                      describe_violations, emulate_phone, js, open_drawer, open_page, screenshot,
                      set_slider, show_later_parts, sideways_overflow)

pytestmark = pytest.mark.browser

PAGES = [(slug, lang) for slug in LESSONS for lang in LANGUAGES]
IDS = [f"{slug}-{lang}" for slug, lang in PAGES]
# the lessons that carry one of the article's own headings (its section, by key)
ARTICLE_SECTION = {"chain-rule": "backward", "fan-out": "fan-out", "stop-gradient": "stop-gradient",
                   "loss-value": "loss-value", "input-gradients": "inputs",
                   "same-gradient": "same-gradient", "loss-matters": "loss-matters"}
FIRST_PROSE = ("prose", "intro", "forward_intro")
# BokehJS's MathJax: the bundle's fetches so far, whether its provider has MathJax, and how many
# typeset formulas the caption shows (the page loads it with its first formula: markup.mjs)
MATHJAX = """() => { const t = window.__bpxt, caption = t.viewOf(t.div('bpx-caption'))
  return {fetched: performance.getEntriesByType('resource').filter((e) => e.name.includes('bokeh-mathjax')).length,
          loaded: !!Bokeh.require('models/text/providers').default_provider.MathJax,
          typeset: caption ? caption.el.shadowRoot.querySelectorAll('.bpx-formula mjx-container').length : 0} }"""


def _first_words(slug: str, lang: str) -> str:
    """The first sentence-bearing text of the page (its first prose, else its title)."""
    words = lesson_text(slug, lang)
    key = next((k for k in FIRST_PROSE if k in words), None)
    return plain(words[key][0]) if key else LESSONS[slug].title[lang]


def _open_watched(browsers, app_url, query: str, expect: str, **options) -> Watched:
    watched = Watched(browsers, **options)
    open_page(watched.page, app_url, query)
    _wait_text(watched.page, expect)
    # the whole page is checked: the parts built when first on screen too
    show_later_parts(watched.page)
    watched.page.wait_for_timeout(300)  # the widgets that come after the prose
    return watched


class OnePage:
    """A lesson in one language, opened once for the desktop's checks and the phone's after them
    (:meth:`desktop`, :meth:`phone`: each a :class:`Watched` with its ``slug`` and ``lang``)."""

    def __init__(self, browsers, app_url: str, slug: str, lang: str):
        self.browsers, self.app_url, self.slug, self.lang = browsers, app_url, slug, lang
        self.watched: Watched | None = None
        self.is_phone = False

    def desktop(self) -> Watched:
        if self.watched is None or self.is_phone:  # (a desktop check run after the phone's)
            self.close()
            self.watched = _open_watched(self.browsers, self.app_url, f"lesson={self.slug}&lang={self.lang}",
                                         _first_words(self.slug, self.lang))
            self.watched.slug, self.watched.lang = self.slug, self.lang
        return self.watched

    def phone(self) -> Watched:
        if not self.is_phone:
            page = self.desktop().page
            # the phone's checks read backward mode (a number under each node): as a student
            # switches to it; the lessons open in it, the explorer's ('graph') in graph mode
            backward = button(page, ui(self.lang)["mode_backward"])
            for k in range(backward.count()):
                if "bk-active" not in (backward.nth(k).get_attribute("class") or ""):
                    backward.nth(k).click()
                    # as a page opened in that mode: no focus ring left on the button
                    page.evaluate("() => document.activeElement && document.activeElement.blur()")
            page.wait_for_function("() => window.__bpxt.all('ColumnDataSource', (m) => 'json' in m.data)"
                                   ".every((m) => JSON.parse(m.data.json[0]).mode === 'backward')", timeout=30_000)
            emulate_phone(page)
            self.is_phone = True
        return self.watched

    def current(self) -> Watched:
        """The page as the checks before left it (the phone's, after them), opened if none is."""
        return self.watched if self.watched is not None else self.desktop()

    def close(self) -> None:
        if self.watched is not None:
            self.watched.close()
        self.watched, self.is_phone = None, False


@pytest.fixture(scope="module", params=PAGES, ids=IDS)
def opened(request, browsers, app_url):
    one = OnePage(browsers, app_url, *request.param)
    yield one
    one.close()


@pytest.fixture
def desktop(opened):
    return opened.desktop()


@pytest.fixture
def phone(opened):
    return opened.phone()


def _wait_text(page, expect: str) -> None:
    page.wait_for_function("(s) => window.__bpxt.deepText().replace(/\\s+/g, ' ').includes(s)",
                           arg=expect, timeout=30_000)


def test_page_shows_its_heading_and_prose(desktop):
    if desktop.slug in ARTICLE_SECTION:
        _wait_text(desktop.page, plain(article_heading(ARTICLE_SECTION[desktop.slug], desktop.lang)))
    # no page fetches MathJax with its first load (components/assets.py page_resources)
    assert desktop.page.evaluate(MATHJAX) == {"fetched": 0, "loaded": False, "typeset": 0}
    if desktop.slug == "chain-rule":  # its scene opens in backward mode and says to press Play
        _wait_text(desktop.page, plain(ui(desktop.lang)["play_cue"]))
        assert js(desktop.page, "t.scene().mode") == "backward"
        # its first step's formula loads MathJax, once, and is typeset (the screenshots show it,
        # and the phone's checks read the page with it)
        button(desktop.page, ui(desktop.lang)["step"]).click()
        desktop.page.wait_for_function(f"() => ({MATHJAX})().typeset === 1", timeout=20_000)
        first = js(desktop.page, "t.div('bpx-caption').text")
        button(desktop.page, ui(desktop.lang)["step"]).click()  # the next, typeset as it comes
        desktop.page.wait_for_function("(s) => window.__bpxt.div('bpx-caption').text !== s", arg=first,
                                       timeout=10_000)
        desktop.page.wait_for_function(f"() => ({MATHJAX})().typeset === 1", timeout=10_000)
        assert desktop.page.evaluate(MATHJAX) == {"fetched": 1, "loaded": True, "typeset": 1}
    # on a wide screen the inputs and lessons are a sidebar, open (on a phone, a drawer that
    # starts closed: test_phone.py)
    assert desktop.page.evaluate("() => document.getElementById('sidebar').classList.contains('show')"), \
        "the sidebar is closed on a wide screen"
    text = re.sub(r"\s+", " ", deep_text(desktop.page))
    if desktop.lang == "zh":
        assert "计算图" in text, "the navigation is not in Chinese"
        english = english_on(text)
        assert not english, f"English words on the Chinese page: {english}"
    screenshot(desktop.page, f"lesson-{desktop.slug}-{desktop.lang}")
    desktop.assert_no_page_errors()


def test_no_serious_axe_findings(desktop):
    found = axe_violations(desktop.page)
    assert not found, (f"axe-core on ?lesson={desktop.slug}&lang={desktop.lang}:\n"
                       f"{describe_violations(found)}")
    desktop.assert_no_page_errors()


def test_phone_page_fits_the_width(phone):
    where = f"?lesson={phone.slug}&lang={phone.lang}"
    assert sideways_overflow(phone.page) == 0, f"{where} scrolls sideways"
    off = controls_off_screen(phone.page)
    assert not off, f"controls past the screen's edge on {where}: {off[:5]}"
    screenshot(phone.page, f"phone-{phone.slug}-{phone.lang}")
    phone.assert_no_page_errors()


def test_every_slider_has_a_named_field(phone):
    """A number field beside every slider (WCAG 2.5.7), named in the page's language, on
    screen and a finger's size (test_slider_fields.py: what typing in it does)."""
    from .helpers import open_drawer
    page, where = phone.page, f"?lesson={phone.slug}&lang={phone.lang}"
    open_drawer(page)  # the sliders' drawer, closed when a phone opens the page
    page.wait_for_function("() => window.__bpxt.all('Slider', (m) => window.__bpxt.viewOf(m))"
                           ".every((m) => m._bpx_field && m._bpx_field.isConnected)", timeout=5000)
    titles = js(page, "t.all('Slider', (m) => t.viewOf(m)).map((m) => m.title)")
    assert titles, f"no slider on {where}"
    width = page.evaluate("() => innerWidth")
    for title in titles:
        name = ui(phone.lang)["slider_field"].format(name=title)
        box = page.get_by_role("spinbutton", name=name, exact=True)
        assert box.count() == 1, f"no field named {name!r} on {where}"
        r = box.bounding_box()
        if r:  # a slider in a closed part of the page has no box
            assert 0 <= r["x"] and r["x"] + r["width"] <= width and r["height"] >= 24, (where, title, r)
    phone.assert_no_page_errors()


def test_graph_labels_are_readable_on_a_phone(phone):
    """Every graph figure of every page at 390 px (backward mode): no two labels on top of each
    other, none under 12 px, none that starts in the frame cut off by its edge, and most nodes
    with their number under them (a figure that shows no numbers teaches nothing on a phone)."""
    from .helpers import graph_labels, overlapping
    page, where = phone.page, f"?lesson={phone.slug}&lang={phone.lang}&mode=backward"
    # every rendered graph figure has drawn its scene
    page.wait_for_function("""() => { const t = window.__bpxt
        return t.all('Figure').every((f) => { const v = t.viewOf(f); const l = f.renderers.find((r) =>
          r.data_source && 'role' in r.data_source.data)
          return !l || !v || v.el.getBoundingClientRect().width === 0 || l.data_source.data.text.length > 0 }) }""",
                           timeout=10_000)
    page.wait_for_timeout(200)  # a resize's redraw
    for k, fig in enumerate(graph_labels(page)):  # (loss-matters draws no graph)
        boxes = fig["boxes"]
        small = [(b["text"], b["px"]) for b in boxes if b["px"] < 12]
        assert not small, f"figure {k} of {where}: labels under 12 px {small[:5]}"
        beside = [b for b in boxes if b["role"] in ("top", "bottom", "key", "edge")]
        assert not overlapping(beside), f"figure {k} of {where}: labels overlap {overlapping(beside)[:5]}"
        frame = fig["frame"]
        cut = [b["text"] for b in beside if b["inside"]
               and (b["left"] < frame["left"] - 0.5 or b["right"] > frame["right"] + 0.5)]
        assert not cut, f"figure {k} of {where}: labels cut by the frame's edge {cut[:5]}"
        numbered = {b["node"] for b in boxes if b["role"] == "bottom"}
        assert len(numbered) >= fig["nodes"] / 2, \
            f"figure {k} of {where}: {len(numbered)} of {fig['nodes']} nodes labelled"
    phone.assert_no_page_errors()


# --- the checks that change the page: last, on the page as the read-only checks left it --------

def _wait_url(page, pattern: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while not re.search(pattern, page.url):
        if time.monotonic() > deadline:
            raise AssertionError(f"the URL never matched {pattern!r}: {page.url}")
        page.wait_for_timeout(50)
    return page.url


def _fan_out(page) -> None:
    """A scene slider moves the written sum and the URL."""
    set_slider(page, "u", 0.0, release=True)  # (it opens at u = 1.2: the sum's 1 is cos(u) at 0)
    _wait_text(page, "0.8 + 1 =")
    set_slider(page, "v", 2.0, release=True)
    _wait_text(page, "2 + 1 =")
    _wait_url(page, r"v=2\b")
    assert "lesson=fan-out" in page.url and re.search(r"u=0\b", page.url), page.url


def _loss_value(page) -> None:
    """The constant C changes the values, not the gradients."""
    _wait_text(page, "identical to the last bit")
    set_slider(page, "C", 30.0, release=True)
    _wait_text(page, "C = 30)")
    _wait_text(page, "36.25")  # L + C = 6.25 + 30; the gradients stay 7.5 and 5
    _wait_text(page, "never stops")
    _wait_url(page, r"C=30")


def _input_gradients(page) -> None:
    """The FGSM step ε moves the prediction."""
    set_slider(page, "FGSM step ε", 0.3, release=True)  # (it opens at 0.4)
    _wait_text(page, "0.919")
    set_slider(page, "FGSM step ε", 0.55, release=True)
    _wait_text(page, "flips")
    _wait_text(page, "0.306")
    _wait_url(page, r"eps=0\.55")


def _same_gradient(page) -> None:
    """Its sliders drive both graphs and the case (then the language link: below)."""
    _wait_text(page, "Unclipped")  # it opens at lp=-0.9, lpo=-1, A=2, eps=0.2
    assert "bitwise equal: True" in deep_text(page)
    # (counted in the page: Playwright would copy the models out, each with its whole document,
    # which took 74 s of wall and most of this check's CPU under load, session 13)
    assert js(page, "t.all('ColumnDataSource', (m) => 'json' in m.data).length") == 2
    set_slider(page, "lp", -0.5, release=True)
    _wait_text(page, "Clipped.")
    assert "bitwise equal: True" in deep_text(page)
    # the REINFORCE graph's mask m followed the case
    page.wait_for_function(
        "() => window.__bpxt.all('ColumnDataSource', (m) => 'json' in m.data).some((m) => {"
        " const s = JSON.parse(m.data.json[0]); const i = s.nodes.name.indexOf('m');"
        " return i >= 0 && s.tape.value[i] === 0 })", timeout=30_000)
    _wait_url(page, r"lp=-0\.5")


def _loss_matters(page) -> None:
    """The constant C changes the precision table."""
    _wait_text(page, "1006.25")  # it opens at C = 1000
    set_slider(page, "Constant C", 100.0, release=True)
    _wait_text(page, "106.25")
    _wait_url(page, r"C=100\b")


def _accumulation(page) -> None:
    """backward() twice doubles the gradient, zero_grad() clears it, K micro-batches add up."""
    _wait_text(page, "11.5")
    press = lambda label: page.get_by_role("button", name=label, exact=True).click()
    press("loss.backward()")
    _wait_text(page, "backward() called once")
    press("loss.backward()")
    _wait_text(page, "backward() called 2 times")
    assert "23" in deep_text(page)  # 2 × 11.5
    press("optimizer.zero_grad()")
    _wait_text(page, ".grad is cleared")
    press("6")
    _wait_text(page, "= the big batch's gradient")
    _wait_url(page, r"K=6")


# (slug, language) -> what a student moves on that page, and what it must show
DRIVE = {("fan-out", "en"): _fan_out, ("loss-value", "en"): _loss_value,
         ("input-gradients", "en"): _input_gradients, ("same-gradient", "en"): _same_gradient,
         ("loss-matters", "en"): _loss_matters, ("accumulation", "en"): _accumulation}


def test_its_controls_move_its_numbers_the_url_and_the_language_link(opened):
    """The lessons' sliders and buttons move their numbers and the URL (DRIVE); on every page the
    language link takes the page as it is now (static/page-a11y.js followState rewrites it when
    it is followed, or its menu opened to copy it), and for same-gradient the Chinese page it
    leads to restores that state from its URL (the one page this test opens)."""
    watched = opened.current()
    page = watched.page
    if opened.is_phone:
        close_drawer(page)  # (the slider fields' check opened it: it covers the page's buttons)
    if (opened.slug, opened.lang) in DRIVE:
        DRIVE[opened.slug, opened.lang](page)
    other = next(lang for lang in LANGUAGES if lang != opened.lang)
    link = page.locator("a[hreflang]")
    link.dispatch_event("contextmenu")
    query = parse_qs(urlsplit(page.url).query)
    assert parse_qs(link.get_attribute("href").lstrip("?")) == {**query, "lang": [other]}, \
        (page.url, link.get_attribute("href"))
    watched.assert_no_page_errors()
    if (opened.slug, opened.lang) == ("same-gradient", "en"):
        # the language link takes the page as it is now (the moved lp, not the lp it opened
        # with), and the Chinese page restores that state from its URL
        if opened.is_phone:
            open_drawer(page)
        page.get_by_role("link", name="中文").click()
        _wait_text(page, plain(article_heading("same-gradient", "zh")))
        assert "lp=-0.5" in page.url and "lang=zh" in page.url, page.url
        page.wait_for_function("() => { const s = window.__bpxt.slider('lp'); return s && s.value === -0.5 }",
                               timeout=30_000)
        assert "已裁剪" in deep_text(page)
        watched.assert_no_page_errors()
