"""`backprop-explorer build-site DIR`: every page written, and served by a plain static file
server (`python -m http.server`, no Python of ours behind it) the pages work in Chromium with
no websocket: a slider changes the explorer's numbers (the page's tape replay), and the node
details and written-out passes the page fills itself are what the server writes for the same
values (its own Python, compared as the HTML Panel sends)."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import panel as pn
import pytest

from components.controls import examples
from components.lessons import LESSONS
from components.site import build_site, example_pages, page_file, page_html, site_pages
from components.words import LANGUAGES, ui

from components import display
from components.explorer import NodeDetails, initial_state, level_note
from components.lessons.accumulation import AccumulationLesson
from components.lessons.input_gradients import InputGradientsLesson
from components.lessons.loss_matters import LossMattersLesson
from components.lessons.loss_value import LossValueLesson
from components.lessons.same_gradient import SameGradientLesson
from components.model import ExplorerModel
from graphviz_core import MODES
from components.descent import StepPanel
from components.passes import PassesPanel
from components.pytorch_view import PyTorchView
from components.stats import stats_html

from test_prune import saved_document

from .helpers import (button, expression_input, free_port, js, new_context, number, set_slider,
                      table, wait_counter)

pytestmark = pytest.mark.browser


# the pages the browser opens below are written; the index links every page of the site
OPENED = {"graph-article.en.html", "graph-mlp-2-4-4-1.en.html", "input-gradients.zh.html", "loss-value.en.html",
          "same-gradient.en.html", "accumulation.en.html", "loss-matters.zh.html"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built once, served by ``python -m http.server`` on 127.0.0.1."""
    out = tmp_path_factory.mktemp("site")
    pages = build_site(out, only=OPENED)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1", "--directory", str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                import time
                time.sleep(0.1)
        yield out, pages, url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_every_lesson_and_example_is_linked_from_the_index_and_the_opened_pages_written(site):
    out, pages, _ = site
    names = {page_file(slug, lang, args) for slug, lang, args in site_pages()}
    for lang in LANGUAGES:
        for slug in LESSONS:
            if slug != "graph":
                assert f"{slug}.{lang}.html" in names
        for stem in example_pages():
            assert f"{stem}.{lang}.html" in names
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(f"href='{name}'" in index for name in names)
    assert {p.name for p in pages} == OPENED and all(p.is_file() for p in pages)


def _wait_for_pane(page, html: str) -> None:
    """Wait until one of the page's HTML panes shows exactly ``html`` (what the lesson writes
    on the server for the same values)."""
    page.wait_for_function("(html) => window.__bpxt.all('panel.models.markup.HTML')"
                           ".some((m) => m.text === html)", arg=html, timeout=10_000)


def _wait_for_link(page, key: str, text: str) -> None:
    """Wait until the page's address says ``key=text`` ("": no ``key``): the page writes its
    state there once a control rests (static/golive-load.js)."""
    page.wait_for_function("([k, v]) => (new URLSearchParams(window.location.search).get(k) || '') === v",
                           arg=[key, text], timeout=10_000)


def _open(browser, url: str, drawn: bool = False):
    """A page of the site, the websockets it opens and the files it misses; ``drawn``: once
    its graph is drawn with its values table."""
    context = new_context(browser)
    page = context.new_page()
    sockets, missing = [], []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    page.goto(url)
    if drawn:
        page.wait_for_function("() => { const t = window.__bpxt; const f = t && t.figure();"
                               " return f && t.viewOf(f) && t.rows() > 0 }", timeout=30_000)
        page.wait_for_timeout(300)
    return context, page, sockets, missing


def test_the_explorer_page_replays_slider_changes_with_no_server(site, browser):
    _, _, url = site
    context, page, sockets, missing = _open(browser, url + "graph-article.en.html")
    try:
        # every root drawn (as tests/ui/helpers.open_page waits on the live server)
        page.wait_for_function("() => { const t = window.__bpxt; const f = t && t.figure();"
                               " return f && t.viewOf(f) && t.rows() > 0 &&"
                               " t.deepText().length > 200 }", timeout=30_000)
        page.wait_for_timeout(500)
        before = number(table(page)["L"]["value"])
        set_slider(page, "w", -1.0)
        page.wait_for_function("() => { const d = window.__bpxt.table();"
                               " return d.value[d.name.indexOf('L')] !== '6.25' }", timeout=20_000)
        after = number(table(page)["L"]["value"])
        # (w*x + b - y)**2 at x=1.5, b=0.5, y=1: w=2 -> 6.25, w=-1 -> 4
        assert (before, after) == (6.25, 4.0)
        # what needs the server is greyed out, and the page's note says so
        assert "and the greyed-out controls need the live app" in js(page, "t.deepText()")
        assert js(page, "t.all('panel.models.widgets.TextInput').map((m) => m.disabled)") == [True]
        # the requires_grad switches prune in the page (test_requires_grad_switches_...)
        assert js(page, "t.all('CheckboxGroup').map((m) => m.disabled)") == [False]
        # the node details (a tap on w) and both passes, at w = -1.37, as the server writes them
        set_slider(page, "w", -1.37)
        js(page, "(() => { const d = t.table(); t.nodes().selected.indices = [d.name.indexOf('w')] })()")
        assert _page_texts(page) == _server_texts("(w*x + b - y)**2", {"w": -1.37}, "en", "w", "backward")
        button(page, "Predict").click()  # the gradients become the student's questions
        assert _page_texts(page) == _server_texts("(w*x + b - y)**2", {"w": -1.37}, "en", "w", "predict")
        # and the written-out passes, which show every gradient, are hidden as the server hides them
        assert js(page, "t.all('panel.models.markup.HTML', (m) => (m.css_classes || [])"
                        ".includes('bpx-pass')).map((m) => m.visible)") == [False, False]
        # the PyTorch program opens, shows the sliders' values and downloads what it shows
        button(page, "The same in PyTorch").click()
        program = PyTorchView(model=_server_model("(w*x + b - y)**2", {"w": -1.37}), lang="en")
        program.toggle.value = True  # opened on the server
        _wait_for_pane(page, display.html(program.code.object).text)
        with page.expect_download() as download:
            button(page, "Download as .py").click()
        assert Path(download.value.path()).read_text(encoding="utf-8") == program.program()
        # two steps of descent, taken in the page, are the server's: values, history and note
        steps = StepPanel(model=_server_model("(w*x + b - y)**2", {"w": -1.37}), lang="en")
        for _ in range(2):
            button(page, "Take a step").click()
            steps.step()
        _wait_for_pane(page, display.html(steps.note.object).text)
        assert js(page, "['w', 'b'].map((n) => t.slider(n).value)") == [
            steps.model.values["w"], steps.model.values["b"]]
        assert js(page, "(({step, loss}) => ({step: Array.from(step), loss: Array.from(loss)}))"
                        "(t.all('ColumnDataSource').find((m) => 'loss' in m.data).data)") == {
            "step": [0, 1, 2], "loss": steps.history}
        assert number(table(page)["L"]["value"]) == pytest.approx(steps.loss(), rel=1e-5)
        button(page, steps.reset_button.name).click()  # back where the steps started
        steps.reset()
        _wait_for_pane(page, display.html(steps.note.object).text)
        assert js(page, "['w', 'b'].map((n) => t.slider(n).value)") == [-1.37, 0.5]
        assert sockets == [] and missing == []
        # an example picked from the menu is its page of the site: a network's, whose level
        # switch works in the page, each level drawn as the server draws it after that click
        source = "mlp(2, 4, 4, 1)"
        label = next(k for k, v in examples("en").items() if v == source)
        with page.expect_navigation(url="**" + page_file("graph", "en", {"expr": source})):
            js(page, "t.all('panel.models.widgets.CustomSelect').find((m) => JSON.stringify(m.options).includes(arg)).value = arg", label)
        page.wait_for_function("() => { const t = window.__bpxt; const f = t && t.figure();"
                               " return f && t.viewOf(f) && t.rows() > 0 && t.scene() }", timeout=30_000)
        moved = {"x0": -0.42}
        set_slider(page, "x0", moved["x0"])
        button(page, "Backward").click()
        # the levels not drawn first are files of the site (levels.mjs), fetched on the first
        # switch: meanwhile the note says so and the figure keeps its drawing; a failed fetch
        # says so and puts the switch back at the level shown; a next pick fetches it again
        note_js = ("t.all('panel.models.markup.HTML', (m) => (m.css_classes || [])"
                   ".includes('bpx-groups'))[0].text")
        level_js = ("t.all('panel.models.widgets.RadioButtonGroup').find((m) =>"
                    " m.labels.includes('Layers')).active")
        first = ExplorerModel(expression=source, mode="backward")
        drawn = len(first.scene["nodes"]["id"])
        assert first.drawn_level == "op" and js(page, "t.scene().nodes.id.length") == drawn
        held = []
        page.route("**/files/graph-mlp-2-4-4-1.en.layer.json", lambda route: held.append(route))
        button(page, "Layers").click()
        loading = ui("en")["level_loading"].format(level="Layers")
        page.wait_for_function("([c, w]) => window.__bpxt.all('panel.models.markup.HTML', (m) =>"
                               " (m.css_classes || []).includes(c))[0].text === w",
                               arg=["bpx-groups", loading], timeout=10_000)
        assert len(held) == 1 and js(page, "t.scene().nodes.id.length") == drawn
        held[0].abort()
        failed = ui("en")["level_failed"].format(level="Layers")
        page.wait_for_function("(w) => window.__bpxt.all('panel.models.markup.HTML', (m) =>"
                               " (m.css_classes || []).includes('bpx-groups'))[0].text.startsWith(w)",
                               arg=failed, timeout=10_000)
        assert js(page, level_js) == 2 and js(page, "t.scene().nodes.id.length") == drawn
        assert js(page, note_js).endswith(pn.pane.HTML(level_note(first, ui("en"))).get_root().text)
        page.unroute("**/files/graph-mlp-2-4-4-1.en.layer.json")
        for label, level in (("Layers", "layer"), ("Neurons", "neuron"), ("Operations", "op")):
            button(page, label).click()
            server = ExplorerModel(expression=source, level=level, mode="backward")
            server.values = {**server.values, **moved}
            want = server.scene
            page.wait_for_function("(n) => window.__bpxt.scene().nodes.id.length === n",
                                   arg=len(want["nodes"]["id"]), timeout=10_000)
            shown = js(page, "(() => { const v = t.meta()._bpx_view; return {nodes: v.scene.nodes.id,"
                             " x: v.scene.nodes.x, mode: v.scene.mode, value: Array.from(v.result.value),"
                             " grad: Array.from(v.result.grad)} })()")
            assert shown["nodes"] == want["nodes"]["id"] and shown["x"] == want["nodes"]["x"], level
            assert shown["mode"] == "backward"
            assert shown["value"] == pytest.approx(want["tape"]["value"], rel=1e-12, abs=1e-15)
            g = server.graph  # its nodes are the tape's entries, in order
            assert shown["grad"] == pytest.approx([g.nodes[n]["grad"] for n in sorted(g)],
                                                  rel=1e-12, abs=1e-15)
            note = js(page, note_js)
            assert note == pn.pane.HTML(level_note(server, ui("en"))).get_root().text  # as the live bar's
            assert f"level={level}" in page.url
        # a tapped layer says opening it needs the live app
        button(page, "Layers").click()
        page.wait_for_function("() => window.__bpxt.scene().nodes.id.length < 10", timeout=10_000)
        js(page, "t.nodes().selected.indices = [1]")
        page.wait_for_function("(w) => window.__bpxt.deepText().includes(w)",
                               arg=ui("en")["static_group_open"][:40], timeout=10_000)
        assert sockets == [] and missing == []
    finally:
        context.close()


def _server_model(expression: str, values: dict, off: tuple = ()) -> ExplorerModel:
    model = ExplorerModel(expression=expression, requires_grad={n: False for n in off})
    model.values = {**model.values, **values}
    return model


def _server_texts(expression: str, values: dict, lang: str, name: str, mode: str,
                  off: tuple = ()) -> dict:
    """The live server's node details (of the variable ``name``) and passes for
    ``expression`` at ``values`` in ``mode`` (``off``: leaves switched to requires_grad=False),
    as the HTML Panel sends the page."""
    model = _server_model(expression, values, off)
    node = next(n for n in model.graph if model.graph.nodes[n]["name"] == name)
    model.param.update(selected=node, mode=mode)
    details, passes = NodeDetails(model=model, lang=lang), PassesPanel(model=model, lang=lang)
    return {key: display.html(text.object).text for key, text in
            (("details", details.pane), ("forward", passes.forward), ("backward", passes.backward))}


def _page_texts(page) -> dict:
    """The node details and passes the page shows (its models' text), once they have settled."""
    read = ("(() => { const m = (c) => t.all('panel.models.markup.HTML', (x) => (x.css_classes || []).includes(c));"
            " const p = m('bpx-pass'); return {details: m('bpx-details')[0].text,"
            " forward: p[0].text, backward: p[1].text} })()")
    page.wait_for_timeout(300)
    return js(page, read)


def test_requires_grad_switches_prune_the_graph_in_the_page_with_no_server(site, browser):
    """The explorer's switches on a plain static page: a leaf switched off is pruned as the
    live server prunes it (its table, node details, passes, the line under the graph, the
    backward steps), the link says it (``off=``), and a link with ``off=`` opens so."""
    _, _, url = site
    context, page, sockets, missing = _open(browser, url + "graph-article.en.html", drawn=True)
    expr, at = "(w*x + b - y)**2", {"w": -1.37}
    try:
        set_slider(page, "w", -1.37)
        # the player's buttons follow the mode in the page: greyed in Graph, playing in Backward
        assert button(page, "▶ Play").is_disabled() and button(page, "↺ Start").is_disabled()
        button(page, "Backward").click()
        set_slider(page, "Speed", 4)
        button(page, "▶ Play").click()
        n = len(js(page, "t.scene().steps.backward"))
        wait_counter(page, rf"^Step {n} / {n}$", timeout=30_000)
        # the formula typeset: MathJax, not in the page, loaded from the site's own files
        # (static/js/, beside BokehJS: components/assets.py later_files) by the first step
        page.wait_for_function("() => { const t = window.__bpxt, v = t.viewOf(t.div('bpx-caption'))"
                               "; return v && v.el.shadowRoot.querySelector('.bpx-formula mjx-container') }",
                               timeout=30_000)
        button(page, "Predict").click()
        assert button(page, "▶ Play").is_disabled() and not button(page, "↺ Start").is_disabled()
        button(page, "Backward").click()
        js(page, "(() => { const d = t.table(); t.nodes().selected.indices = [d.name.indexOf('w')] })()")
        for off, active in ((("w",), [1, 2, 3]), (("w", "b"), [1, 3]), ((), [0, 1, 2, 3])):
            js(page, "t.all('CheckboxGroup')[0].active = arg", active)
            server = _server_model(expr, at, off)
            _wait_for_pane(page, display.html(stats_html(server, "en")).text)
            assert _page_texts(page) == _server_texts(expr, at, "en", "w", "backward", off)
            shown = table(page)
            for n in server.graph:
                d = server.graph.nodes[n]
                grad = shown[d["name"]]["grad"]
                if d["kind"] == "constant":
                    continue
                assert grad == "not computed" if not d["active"] else number(grad) == \
                    pytest.approx(d["grad"], rel=1e-5), (off, d["name"])
            steps = js(page, "t.all('ColumnDataSource').find((m) => m._bpx_view)._bpx_view"
                             ".scene.steps.backward.map((s) => s.text_template)")
            assert steps == [s["text_template"] for s in server.scene["steps"]["backward"]]
            _wait_for_link(page, "off", ",".join(off))
        # "Save as HTML" works in the page: the live app's file at the page's state (w and b
        # switched off, w at -1.37, Backward), the scene pruned as the server prunes it
        # (tests/test_prune.py compares the whole file with the live app's)
        js(page, "t.all('CheckboxGroup')[0].active = [1, 3]")
        assert js(page, "t.all('panel.models.widgets.FileDownload').map((m) => m.disabled)") == [False]
        with page.expect_download(timeout=30_000) as download:
            page.locator(".bk-btn", has_text="Save as HTML").first.click()
        saved = Path(download.value.path()).read_text(encoding="utf-8")
        found = saved_document(saved)
        scene, sliders = found["scene"], {name: v[0] for name, v in found["sliders"].items()}
        server = _server_model(expr, at, ("w", "b"))
        assert download.value.suggested_filename == "backprop-explorer.html"
        assert scene["mode"] == "backward" and scene["tape"]["active"] == server.scene["tape"]["active"]
        assert scene["tape"]["value"][scene["tape"]["variable"]["w"]] == sliders["w"] == -1.37
        # a link opens where it says, as the live page reads it (initial_state): off= pruned,
        # its switch off, the mode, a value beyond the slider's range widening it (x) and
        # one too large for the live page left out (y)
        page.goto(url + "graph-article.en.html?off=w&w=-0.7&x=9&y=2e6&mode=backward")
        page.wait_for_function("() => { const t = window.__bpxt; return t && t.rows() > 0 &&"
                               " t.table().grad[0] === 'not computed' }", timeout=30_000)
        assert js(page, "t.all('CheckboxGroup')[0].active") == [1, 2, 3]
        query = {"off": "w", "w": "-0.7", "x": "9", "y": "2e6", "mode": "backward"}
        server = ExplorerModel(**initial_state({**query, "expr": expr}))
        _wait_for_pane(page, display.html(stats_html(server, "en")).text)
        shown = table(page)
        for n in server.graph:
            d = server.graph.nodes[n]
            if d["kind"] != "constant":
                assert number(shown[d["name"]]["value"]) == pytest.approx(d["value"], rel=1e-5)
        sliders = js(page, "Object.fromEntries(t.all('Slider').filter((m) => m.tags.some((g) =>"
                           " String(g).startsWith('bpx-variable:'))).map((m) => [m.title, [m.start, m.end, m.value]]))")
        assert sliders == {n: [*server.slider_ranges()[n], v] for n, v in server.values.items()}
        assert js(page, "t.all('panel.models.widgets.RadioButtonGroup').find((m) =>"
                        " m.labels.includes('Backward')).active") == MODES.index("backward")
        # a move is written into the address with the rest (the live page's keys), and the
        # language link (a file of the site) carries it
        set_slider(page, "b", 0.25)
        page.wait_for_url("**b=0.25**", timeout=10_000)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))
        assert {k: v for k, v in query.items() if k != "expr"} == {
            "off": "w", "w": "-0.7", "x": "9", "b": "0.25", "y": "1", "mode": "backward"}
        assert query["expr"] == expr
        other = page.locator("a[hreflang=zh]").first
        other.dispatch_event("contextmenu")  # as the student opens its menu to copy it
        href = other.get_attribute("href")
        assert href == "graph-article.zh.html?" + urllib.parse.urlsplit(page.url).query
        assert sockets == [] and missing == []
    finally:
        context.close()


def test_a_lesson_page_in_chinese_follows_its_own_controls_with_no_server(site, browser):
    """input-gradients: FGSM's numbers and images at the glyph and ε chosen are the lesson's
    own (precomputed over the controls' grid by components/states.py), and the leaves'
    gradients after a slider moves are what the lesson writes on the server."""
    _, _, url = site
    context, page, sockets, missing = _open(browser, url + "input-gradients.zh.html")
    try:
        page.wait_for_function("() => window.__bpxt && window.__bpxt.deepText().length > 200",
                               timeout=30_000)
        assert "输入的梯度" in js(page, "t.deepText()")
        # its requires_grad switches prune in the page: nothing greyed out, and no note
        assert "灰色的控件需要" not in js(page, "t.deepText()")
        assert js(page, "t.all('CheckboxGroup').map((m) => m.disabled)") == [False]
        page.wait_for_timeout(300)
        js(page, "(() => { t.all('Slider').find((m) => m.title.includes('ε')).value = 0.23;"
                 " t.all('panel.models.widgets.RadioButtonGroup').find((m) => m.labels.includes('L'))"
                 ".active = 1 })()")
        lesson = InputGradientsLesson({"eps": "0.23", "glyph": "L"}, "zh", sync_url=False)
        result = display.html(lesson.result.object).text
        _wait_for_pane(page, result)
        shown = js(page, "t.all('ColumnDataSource').filter((m) => 'image' in m.data)"
                         ".map((m) => Array.from(m.data.image[0]))")
        assert shown == [np.asarray(source.data["image"][0]).ravel().tolist()
                         for source in lesson.sources.values()]
        # the leaves' gradients follow the graph's sliders (filled from the page's replay)
        set_slider(page, "w", -1.37)
        lesson.model.values = {**lesson.model.values, "w": -1.37}
        leaves = display.html(lesson.leaves.object).text
        _wait_for_pane(page, leaves)
        # w and x switched off: the leaves' gradients and the line under the graph are the
        # lesson's on the server with the same switches
        js(page, "t.all('CheckboxGroup')[0].active = [2, 3]")  # w, x, b, y: b and y stay on
        lesson.model.requires_grad = {"w": False, "x": False}
        for pane in (lesson.leaves, lesson.stats):
            _wait_for_pane(page, display.html(pane.object).text)
        assert sockets == [] and missing == []
    finally:
        context.close()


def test_loss_values_table_follows_its_sliders_with_no_server(site, browser):
    """loss-value: L, L + C and k·L are the page's graph with C and k pinned, replayed in the
    page; the table is what the lesson writes on the server for the same values."""
    _, _, url = site
    # its link read as the lesson reads it (k beyond its range: clamped, float_arg)
    context, page, sockets, missing = _open(browser, url + "loss-value.en.html?k=9&C=12.5&w=-1.37",
                                            drawn=True)
    try:
        lesson = LossValueLesson({"k": "9", "C": "12.5", "w": "-1.37"}, "en", sync_url=False)
        _wait_for_pane(page, display.html(lesson.table.object).text)
        set_slider(page, "k", 2.37)
        lesson = LossValueLesson({"k": "2.37", "C": "12.5", "w": "-1.37"}, "en", sync_url=False)
        table = display.html(lesson.table.object).text
        _wait_for_pane(page, table)
        # the descent on L and L + C, replayed in the page, is the server's: its paths,
        # curves, stops and notes, at another rate and threshold too
        for lr, tau in ((None, None), (0.2, 0.5)):
            if lr is not None:
                js(page, "(() => { const s = (c) => t.all('Slider').find((m) => m.css_classes.includes(c));"
                         " s('bpx-descent-lr').value = arg[0]; s('bpx-descent-tau').value = arg[1] })()",
                   [lr, tau])
            lesson = LossValueLesson({"k": "2.37", "C": "12.5", "w": "-1.37",
                                      **({"lr": str(lr), "tau": str(tau)} if lr else {})}, "en",
                                     sync_url=False)
            for note in (lesson.equal_note, lesson.stop_note):
                _wait_for_pane(page, display.html(note.object).text)
            sources = {"runs_start": lesson.starts, **{
                f"runs_{part}_{key}": source for part, kind in
                (("path", lesson.paths), ("curve", lesson.curves), ("stop", lesson.stops))
                for key, source in kind.items()}}
            # the sources the graph's page script writes (its arguments, by these names)
            shown = js(page, "(() => { const a = t.all('ColumnDataSource').find((m) => m._bpx_view)"
                             "._bpx_view.args; return Object.fromEntries(arg.map((k) => [k,"
                             " Object.fromEntries(Object.entries(a[k].data).map(([c, v]) => [c, Array.from(v)]))])) })()",
                       list(sources))
            # the paths bit for bit; a loss may differ in its last bit, as the page's replay of
            # x**2 (Math.pow) from C's pow (L = 0.6242648432266981 / ...82 at step 17 here)
            assert shown == {name: {k: (np.asarray(v).tolist() if k != "loss" else
                                        pytest.approx(np.asarray(v).tolist(), rel=1e-15, abs=0))
                                    for k, v in source.data.items()}
                             for name, source in sources.items()}
        # the page's address holds its state as the live lesson writes it (url_state)
        page.wait_for_url("**tau=0.5**", timeout=10_000)
        assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query)) == lesson.url_state()
        assert "greyed-out controls" not in js(page, "t.deepText()")  # nothing needs the server
        assert sockets == [] and missing == []
    finally:
        context.close()


def test_loss_matters_runs_follow_their_settings_with_no_server(site, browser):
    """loss-matters (zh): the runs on L and L + C - the monitoring curves, the plateau
    scheduler's learning rates, the fits, the schedule and stopping notes - replayed in the
    page at other run settings and C are what the lesson draws and writes on the server."""
    _, _, url = site
    context, page, sockets, missing = _open(browser, url + "loss-matters.zh.html")
    try:
        page.wait_for_function("() => window.__bpxt && window.__bpxt.all('Slider').length >= 5",
                               timeout=30_000)
        page.wait_for_timeout(500)
        built = LossMattersLesson({}, "zh", sync_url=False)
        titles = {key: w.name for key, w in built.widgets.items()}
        # nothing greyed out: every run setting is usable
        assert js(page, "t.all('Slider').filter((m) => Object.values(arg).includes(m.title))"
                        ".map((m) => m.disabled)", titles) == [False] * 5
        for settings in ({"lr": 0.2, "patience": 3, "rel": 0.001, "tau": 0.5},
                         {"C": 50.0, "lr": 0.1, "patience": 0, "rel": 0.01, "tau": 1.5},
                         {"C": 0.0, "lr": 0.3, "patience": 20, "rel": 1e-5, "tau": 0.01}):
            js(page, "Object.entries(arg[0]).forEach(([k, v]) => t.all('Slider')"
                     ".find((m) => m.title === arg[1][k]).value = v)", [settings, titles])
            lesson = LossMattersLesson({k: str(v) for k, v in settings.items()}, "zh",
                                       sync_url=False)
            for note in (lesson.sched_text, lesson.sched_note, lesson.stop_note):
                _wait_for_pane(page, display.html(note.object).text)
            shown = js(page, "Object.fromEntries(t.all('ColumnDataSource').filter((m) =>"
                             " (m.name || '').startsWith('bpx-matters-')).map((m) => [m.name.slice(12),"
                             " {step: Array.from(m.data.step), y: Array.from(m.data.y)}]))")
            # a loss may differ from the engine's in its last bit (the replay's Math.pow)
            assert shown == {key: {"step": np.asarray(source.data["step"]).tolist(),
                                   "y": pytest.approx(np.asarray(source.data["y"]).tolist(),
                                                      rel=1e-13, abs=0)}
                             for key, source in lesson.src.items()}
        assert "灰色的控件" not in js(page, "t.deepText()")  # nothing needs the server
        assert sockets == [] and missing == []
    finally:
        context.close()


def test_same_gradients_case_and_table_follow_both_graphs_with_no_server(site, browser):
    """same-gradient: the case callout and the comparison table read both graphs (PPO's and
    REINFORCE's replays in the page); they are what the lesson writes on the server, in a
    clipped case and in one outside [1-ε, 1+ε] that is not clipped."""
    _, _, url = site
    context, page, sockets, missing = _open(browser, url + "same-gradient.en.html")
    try:
        page.wait_for_function("() => { const f = window.__bpxt && window.__bpxt.all('Figure');"
                               " return f && f.length === 2 && f.every((m) => window.__bpxt.viewOf(m)) }",
                               timeout=30_000)
        page.wait_for_timeout(300)
        for values in ({"lp": 0.0, "A": 2.0}, {"lp": -2.0, "A": 1.5}):
            for name, value in values.items():
                set_slider(page, name, value)
            lesson = SameGradientLesson({k: str(v) for k, v in values.items()}, "en",
                                        sync_url=False)
            _wait_for_pane(page, display.html(lesson.case.object).text)
            _wait_for_pane(page, display.html(lesson.table.object).text)
        assert "Unclipped" in lesson.case.object and "outside" in lesson.case.object
        assert sockets == [] and missing == []
    finally:
        context.close()


def test_accumulations_grad_buffer_adds_and_clears_with_no_server(site, browser):
    """accumulation: backward() and zero_grad() act on the page's .grad buffer, from its
    replay's gradients; the table and its note are what the lesson writes on the server after
    the same clicks and slider moves (twice at the start, then once after a move, cleared).
    Its requires_grad switches prune in the page (w off: the line under the graph, ∂L/∂w's
    terms, backward() leaving w's .grad alone). Its micro-batch table follows K, the division
    and the sliders (the page's replay of each micro-batch's loss), as the server writes it."""
    _, _, url = site
    context, page, sockets, missing = _open(browser, url + "accumulation.en.html", drawn=True)
    try:
        lesson = AccumulationLesson({}, "en", sync_url=False)
        backward, zero = lesson.backward_button.name, lesson.zero_button.name
        for step in ("backward", "backward", "move", "backward", "zero"):
            if step == "move":
                set_slider(page, "w", -1.37)
                lesson.model.values = {**lesson.model.values, "w": -1.37}
            else:
                button(page, backward if step == "backward" else zero).click()
                lesson.backward() if step == "backward" else lesson.zero_grad()
            _wait_for_pane(page, display.html(lesson.buffer_view.object).text)
        # w's requires_grad switched off in the page (no server): the line under the graph,
        # ∂L/∂w's terms and the .grad table are the lesson's with w off; backward() leaves
        # w's .grad alone; switched on again, the note says the calls differ; the link has off=
        for step in ("w off", "backward", "w on", "backward"):
            if step == "backward":
                button(page, backward).click()
                lesson.backward()
            else:
                on = step == "w on"
                js(page, "t.all('CheckboxGroup')[0].active = arg", [0, 1, 2, 3, 4, 5][0 if on else 1:])
                lesson.model.requires_grad = {} if on else {"w": False}
                for pane in (lesson.stats, lesson.fan):
                    _wait_for_pane(page, display.html(pane.object).text)
                _wait_for_link(page, "off", "" if on else "w")
            _wait_for_pane(page, display.html(lesson.buffer_view.object).text)
        # the micro-batch table follows K, the division and the sliders, written in the page
        # as the lesson writes it on the server
        _wait_for_pane(page, display.html(lesson.accum_view.object).text)
        for K, divide, w in (("6", True, None), ("2", False, None), ("6", False, 0.25),
                             ("1", False, None)):
            if w is not None:
                set_slider(page, "w", w)
                lesson.model.values = {**lesson.model.values, "w": w}
            js(page, "(() => { const [K, divide] = arg;"
                     " const g = t.all('panel.models.widgets.RadioButtonGroup', (m) =>"
                     " m.labels.join() === '1,2,3,6')[0]; g.active = g.labels.indexOf(K);"
                     " const d = [...window.Bokeh.documents[0]._all_models.values()]"
                     ".find((m) => (m.css_classes || []).includes('bpx-micro-divide'));"
                     " d.active = Array.isArray(d.active) ? (divide ? [0] : []) : divide })()", [K, divide])
            lesson.k.value, lesson.divide.value = K, divide
            _wait_for_pane(page, display.html(lesson.accum_view.object).text)
        assert js(page, "t.all('panel.models.widgets.RadioButtonGroup', (m) =>"
                        " m.labels.join() === '1,2,3,6').map((m) => m.disabled)") == [False]
        assert sockets == [] and missing == []
    finally:
        context.close()


def test_with_a_live_app_behind_it_a_server_only_control_opens_the_page_live_where_it_was(site, browser):
    """A static page that knows its live app (the meta tag ``--live`` and the static-first
    server give it): the controls greyed out on a plain site are usable, and using one opens
    the same page live (``live=1``) with the page's state in the query - what the live
    server's ``initial_state`` reads is the picture the student left."""
    out, _, url = site
    args = {"expr": "(w*x + b - y)**2", "lang": "en"}
    (out / "graph-article.live.en.html").write_text(
        page_html("graph", "en", args, live="/app?expr=%28w%2Ax+%2B+b+-+y%29%2A%2A2&lang=en"),
        encoding="utf-8")
    context, page, sockets, missing = _open(browser, url + "graph-article.live.en.html", drawn=True)
    try:
        # its note says what those controls do here (not that they are greyed out)
        text = js(page, "t.deepText()")
        assert "greyed-out" not in text and "open this same page on the live app" in text
        page.route("**/app?**", lambda route: route.fulfill(body="live", content_type="text/plain"))
        page.wait_for_function("() => window.__bpxt.all('panel.models.widgets.TextInput')"
                               ".every((m) => !m.disabled)", timeout=10_000)
        assert js(page, "t.all('CheckboxGroup').map((m) => m.disabled)") == [False]
        set_slider(page, "w", -1.37)
        button(page, "Backward").click()
        # w's requires_grad switched off: pruned in the page (no server needed), in its link
        page.locator("input[type=checkbox]").first.click()
        page.wait_for_function("() => window.__bpxt.table().grad[0] === 'not computed'",
                               timeout=10_000)
        _wait_for_link(page, "off", "w")
        assert "live=1" not in page.url
        # a typed expression needs the parser: it opens live, with the page's state
        expression_input(page).fill("x*y + w")
        expression_input(page).press("Enter")
        page.wait_for_url("**live=1**", timeout=10_000)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))
        assert query["live"] == "1" and query["lang"] == "en"
        assert initial_state(query) == {
            "expression": "x*y + w", "mode": "backward", "requires_grad": {"w": False},
            "values": {"w": -1.37, "x": 1.5, "b": 0.5, "y": 1.0}}
        assert sockets == [] and missing == []
    finally:
        context.close()


def test_the_static_note_sits_above_the_greyed_out_controls_it_explains():
    """accumulation, were its micro-batch settings (main column) greyed out beside a
    control of the sidebar: the note is above the sliders in the sidebar, and right above the
    micro-batch settings in the main column (for a narrow screen, where the sidebar is a
    closed drawer: components/site.py place_note)."""
    import panel as pn

    from components.navigation import build_page
    from components.site import place_note
    from components.texts import offline

    with offline(link=page_file):
        page = build_page({"lesson": "accumulation", "lang": "en"}, link=page_file)
    def find(parts, kind):
        return next(w for part in parts if hasattr(part, "select") for w in part.select(kind))

    k = find(page.main, lambda w: isinstance(w, pn.widgets.RadioButtonGroup)
             and list(w.options) == ["1", "2", "3", "6"])
    side = find(page.sidebar, pn.widgets.FloatSlider)
    place_note(page, [k, side], "NOTE")

    def is_note(part) -> bool:
        return isinstance(part, pn.pane.HTML) and "NOTE" in str(part.object)

    assert is_note(page.sidebar[1]) and page.sidebar[1].css_classes == []

    def holds(part) -> bool:
        return part is k or (hasattr(part, "select") and bool(part.select(lambda x: x is k)))

    def above(parts) -> list:
        """The parts right above a part holding K, in every column holding one."""
        found = []
        for i, part in enumerate(parts):
            if holds(part):
                found += [parts[i - 1]] if i else []
                if isinstance(part, pn.layout.ListLike):
                    found += above(part.objects)
        return found

    notes = [part for part in above(page.main) if is_note(part)]
    assert [note.css_classes for note in notes] == [["bpx-narrow-only"]]
