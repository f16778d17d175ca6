"""The requires_grad switches of a page with no server behind it: the page prunes the graph
it has (its tape, built with every variable requiring a gradient) as the server prunes a
graph built with those leaves switched off - the same active nodes, backward steps, counts
and written texts (static/explorer/replay.mjs activeFlags, view.mjs prune, texts.mjs
withActive; components/texts.py if_active)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from components.model import ExplorerModel
from components.scene import to_json
from components.stats import stats_template
from components.texts import _with_active
from graphviz_core import parse, trace
from graphviz_core.tape import to_tape
from node_calls import run_node

ROOT = Path(__file__).resolve().parent.parent
REPLAY = ROOT / "static/explorer/replay.mjs"
TEXTS = ROOT / "static/explorer/texts.mjs"

EXPRESSIONS = ["(w*x + b - y)**2", "sg(u*u)*u", "u*v + sin(u)", "tanh(exp(w*x))**2",
               "-min(exp(lp - lpo)*A, clip(exp(lp - lpo), 1 - eps, 1 + eps)*A)",
               "a*2 + 3*4 + sg(b)*c", "x"]


def _cases():
    for source in EXPRESSIONS:
        e = parse(source)
        values = {n: 0.5 + k for k, n in enumerate(e.variables)}
        n = len(e.variables)  # none, one, two and all off (PPO's 32 subsets would be slow)
        for r in sorted({0, 1, min(2, n), n}):
            for off in itertools.combinations(e.variables, r):
                yield source, e, values, list(off)


def _page(cases: list, script: str) -> list:
    return json.loads(run_node(["--input-type=module", "-e", script], stdin=json.dumps(cases)))


def test_the_page_prunes_as_the_engine_does():
    cases, want = [], []
    for source, e, values, off in _cases():
        full = trace(e.build(values))
        pruned = trace(e.build(values, {n: False for n in off}))
        cases.append({"tape": json.loads(to_json(to_tape(full))), "off": off})
        want.append([1 if d["active"] else 0 for _, d in pruned.nodes(data=True)])
    got = _page(cases, f"import {{ activeFlags }} from {json.dumps(REPLAY.as_uri())};"
                "import {{ readFileSync }} from 'node:fs';"
                "const cases = JSON.parse(readFileSync(0, 'utf8'));"
                "process.stdout.write(JSON.stringify(cases.map((c) => activeFlags(c.tape, new Set(c.off)))))"
                .replace("{{", "{").replace("}}", "}"))
    assert got == want
    assert any(0 in w for w in want) and any(all(w) for w in want)


@pytest.fixture(scope="module")
def models() -> list[tuple[ExplorerModel, ExplorerModel, list]]:
    """Each case's model with none off (one per expression, shared by its cases) and the
    model with its leaves switched off, for the tests in every language."""
    full, out = {}, []
    for source, e, values, off in _cases():
        if source not in full:
            full[source] = ExplorerModel(expression=source, values=values, mode="backward")
        out.append((full[source], ExplorerModel(expression=source, values=values, mode="backward",
                                                requires_grad={n: False for n in off}), off))
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_pages_backward_steps_counts_and_texts_are_the_servers(lang, models):
    """The server's scene and texts for a model with leaves switched off, against the page's
    pruning of the model with none off: steps, replayed counts, every template filled."""
    from components.explorer import NodeDetails
    from components.passes import PassesPanel

    script = (f"import {{ activeFlags, replay }} from {json.dumps(REPLAY.as_uri())};"
              f"import {{ withActive }} from {json.dumps(TEXTS.as_uri())};"
              "import { readFileSync } from 'node:fs';"
              "const cases = JSON.parse(readFileSync(0, 'utf8'));"
              "process.stdout.write(JSON.stringify(cases.map((c) => {"
              "  const active = activeFlags(c.tape, new Set(c.off));"
              "  const tape = { ...c.tape, active }, r = replay(tape);"
              "  return { steps: c.steps.filter((s) => active[s.node]).map((s) => s.text_template),"
              "           evaluated: r.evaluated, skipped: r.skipped,"
              "           texts: c.templates.map((t) => withActive(t, tape, r)) } })))")
    cases, want, written = [], [], {}

    def texts(model: ExplorerModel) -> list:
        """The model's node details, backward pass and stats line, as templates."""
        if id(model) not in written:
            details = NodeDetails(model=model, lang=lang)
            passes = PassesPanel(model=model, lang=lang)
            written[id(model)] = [details.template(model.graph, n, hidden) for n in model.graph
                                  for hidden in (False, True)] + [
                passes.template("backward") + passes.check_template()[0],
                stats_template(model, lang)]
        return written[id(model)]

    for full, pruned, off in models:
        g = pruned.graph
        templates, servers = texts(full), texts(pruned)
        cases.append({"tape": full.scene["tape"], "off": off, "templates": templates,
                      "steps": full.scene["steps"]["backward"]})
        # what the server writes, its numbers still placeholders
        want.append({"steps": [s["text_template"] for s in pruned.scene["steps"]["backward"]],
                     "evaluated": g.graph["evaluated"], "skipped": g.graph["skipped"],
                     "texts": [_with_active(t, g) for t in servers]})
    got = _page(json.loads(to_json(cases)), script)
    assert len(got) == len(want)
    for c, w, h in zip(cases, want, got):
        assert h == w, c["off"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_stop_gradients_live_numbers_in_the_page_are_the_servers(lang):
    """stop-gradient's live arithmetic on a page with no server: the page's template (built
    with u switched on), pruned and replayed in the page at other values of u - and 3u² from
    the tape of the expression without sg - is what the lesson writes on the server with u
    switched on or off at those values (FigureLesson.stop_gradient_template)."""
    from components.lessons.figures import FigureLesson

    page = FigureLesson("stop-gradient", {}, lang, sync_url=False)
    template, variants = page.stop_gradient_template()
    cases, want = [], []
    for u in (1.5, -0.7, 0.0, 2.25, -3.0):
        for off in ([], ["u"]):
            server = FigureLesson("stop-gradient", {"u": repr(u), "off": ",".join(off)}, lang,
                                  sync_url=False)
            cases.append({"u": u, "off": off})
            want.append(server.live.object)
    script = (f"import {{ activeFlags, replay }} from {json.dumps(REPLAY.as_uri())};"
              f"import {{ Texts }} from {json.dumps(TEXTS.as_uri())};"
              "import { readFileSync } from 'node:fs';"
              "const { tape, template, variants, cases } = JSON.parse(readFileSync(0, 'utf8'));"
              "const texts = new Texts();"
              "process.stdout.write(JSON.stringify(cases.map((c) => {"
              "  const pruned = { ...tape, active: activeFlags(tape, new Set(c.off)) };"
              "  const view = { scene: { tape: pruned }, overrides: { u: c.u }, args: { texts: {} },"
              "    values: () => ({ u: c.u }) };"
              "  view.result = replay(pruned, view.overrides);"
              "  return texts.fill(texts.variants(template, view, variants, []), view) })))")
    got = _page(json.loads(to_json({
        "tape": page.model.scene["tape"], "template": template, "cases": cases,
        "variants": [{k: v for k, v in d.items() if k != "graph"} for d in variants]})), script)
    assert got == want
    assert any("6.75" in w for w in want) and any("not computed" in w or "未计算" in w for w in want)


SAVE = ROOT / "static/explorer/save.mjs"


def saved_document(page: str) -> dict:
    """What a saved file's Bokeh document holds: its sliders (title -> value, start, end),
    the mode buttons' active index and the scene (tests/ui/test_site.py reads it too)."""
    import html
    import re

    docs = json.loads(html.unescape(re.search(
        r'<script type="application/json" id="[^"]+">(.*?)</script>', page, re.S).group(1)))
    found = {"sliders": {}, "active": None, "scene": None}

    def walk(x):
        if isinstance(x, list):
            for y in x:
                walk(y)
        elif isinstance(x, dict):
            a = x.get("attributes", {})
            if x.get("name") == "Slider":
                found["sliders"][a["title"]] = (a["value"], a["start"], a["end"])
            elif x.get("name") == "RadioButtonGroup":
                found["active"] = a["active"]
            elif x.get("name") == "ColumnDataSource":
                for key, column in a.get("data", {}).get("entries", []):
                    if key == "json" and column:
                        found["scene"] = json.loads(column[0])
            for y in x.values():
                walk(y)
    walk(docs)
    return found


def test_the_pages_saved_file_is_the_live_apps_save_at_the_same_state():
    """The static site's "Save as HTML" (save.mjs savedFile): the saved file of the page's
    first state with the page's state written in - values, mode, leaves switched off - has
    the live app's saved file's head, sliders and mode, and a scene whose replay (the numbers
    the saved page shows), active nodes, backward steps and mode are those of the live app's
    file made at that state (components/export.py standalone_html)."""
    from graphviz_core import MODES
    from components.export import split_saved, standalone_html
    from components.scene import to_json as scene_json

    source, first = "(w*x + b - y)**2", {"w": 2.0, "x": 1.5, "b": 0.5, "y": 1.0}
    head, rest = split_saved(standalone_html(ExplorerModel(expression=source, values=first), "en"))
    states = [({"w": -1.37, "x": 1.5, "b": 0.5, "y": 1.0}, "backward", ["w"]),
              ({"w": 0.25, "x": -2.0, "b": 0.0, "y": 3.0}, "predict", ["w", "b"]),
              ({"w": 2.0, "x": 1.5, "b": -0.5, "y": 1.0}, "forward", [])]
    cases, servers = [], []
    for values, mode, off in states:
        model = ExplorerModel(expression=source, values=values, mode=mode,
                              requires_grad={n: False for n in off})
        servers.append(standalone_html(model, "en"))
        cases.append({"values": values, "mode": mode, "off": off,
                      "bounds": {n: list(r) for n, r in model.slider_ranges().items()}})
    script = (f"import {{ savedFile }} from {json.dumps(SAVE.as_uri())};"
              "import { readFileSync } from 'node:fs';"
              "const { head, rest, cases, modes } = JSON.parse(readFileSync(0, 'utf8'));"
              "process.stdout.write(JSON.stringify(cases.map((c) => savedFile(head, rest, c, modes))))")
    saved = _page({"head": head, "rest": rest, "cases": cases, "modes": list(MODES)}, script)
    replayed = (f"import {{ replay }} from {json.dumps(REPLAY.as_uri())};"
                "import { readFileSync } from 'node:fs';"
                "const tapes = JSON.parse(readFileSync(0, 'utf8'));"
                "process.stdout.write(JSON.stringify(tapes.map((t) => { const r = replay(t);"
                " return [Array.from(r.value), Array.from(r.grad)] })))")
    for page, server, (values, mode, off) in zip(saved, servers, states):
        assert split_saved(page)[0] == split_saved(server)[0] == head
        ours, theirs = saved_document(page), saved_document(server)
        assert ours["sliders"] == theirs["sliders"] and ours["active"] == theirs["active"] == MODES.index(mode)
        a, b = ours["scene"], theirs["scene"]
        assert a["mode"] == b["mode"] == mode
        assert a["tape"]["active"] == b["tape"]["active"]
        assert [s["text_template"] for s in a["steps"]["backward"]] == \
            [s["text_template"] for s in b["steps"]["backward"]]
        numbers = _page(json.loads(scene_json([a["tape"], b["tape"]])), replayed)
        assert numbers[0] == numbers[1], (values, off)
