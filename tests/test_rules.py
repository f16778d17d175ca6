"""The page's decisions are the server's, by construction.

``graphviz_core/rules.py`` holds the rules both sides apply (the descent step, the rising-loss
note, early stopping, the plateau scheduler, the .grad buffer and its note, the gradient check);
``graphviz_core.jsgen.rules_module`` translates them to the page's module ``rules.generated.mjs``. Here: the page's module holds that
translation, the translator refuses what it cannot translate faithfully, and each rule gives
in Node what it gives in Python on the same cases (edge numbers included), so a change to
either side alone fails.
"""

from __future__ import annotations

import ast
import doctest
import itertools
import json
import math
import random

import pytest

from components.bundle import SOURCE, player_code
from extremes import INPUTS, decode, encode, same_float
from graphviz_core import jsgen, rules
from node_calls import call_js, run_node

RULES_MODULE = SOURCE / "rules.generated.mjs"  # written for Node by node_calls.run_node


def test_rules_and_translator_doctests():
    assert doctest.testmod(rules).failed == 0
    assert doctest.testmod(jsgen).failed == 0


def test_the_page_runs_the_translation_of_the_rules_as_they_are():
    text = jsgen.rules_module(rules)
    body = text[text.index("export const RISING"):].replace("export ", "")
    assert body.strip() in player_code()


@pytest.mark.parametrize("rule", ["x[-1]", "range(3)", "sorted(x)", "min()", "all(x)",
                                  "next(x)", "[i for i in x]", "x is 1"])
def test_the_translator_refuses_what_it_cannot_translate(rule):
    with pytest.raises(jsgen.RuleError):
        jsgen.to_js(ast.parse(rule, mode="eval").body, frozenset({"x"}))


@pytest.mark.parametrize("source", [
    "def f(x):\n    for i in x:\n        pass\n    return x\n",
    "def f(x):\n    x = 1\n    return x\n",  # a parameter written over
    "def f(x):\n    y = 1\n",  # no return
    "def f(x=[1]):\n    return x\n",
    "X = [1, 2]\n",
    "import math\n",
])
def test_a_rules_module_holds_rules_the_translator_can_write(tmp_path, source):
    import importlib.util
    path = tmp_path / "some_rules.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("some_rules", path)
    module = importlib.util.module_from_spec(spec)
    with pytest.raises(jsgen.RuleError):
        jsgen.rules_module(module)


def _same(want, have) -> bool:
    if isinstance(want, float) or isinstance(have, float):
        return same_float(float(want), float(have))
    return want == have


def _histories(seed: int, count: int) -> list[list[float]]:
    """Loss histories of every length up to 7, from a few values that tie, rise and fall,
    with inf and nan among them."""
    rng = random.Random(seed)
    pool = [0.0, 1.0, 1.0, 2.0, 3.0, 0.5, 1e308, float("inf"), float("nan"), -0.0]
    return [[rng.choice(pool) for _ in range(rng.randrange(8))] for _ in range(count)]


def test_each_rule_gives_in_node_what_it_gives_in_python():
    calls, expected = [], []
    for x, lr, g in itertools.product(INPUTS[::3], [0.01, 0.3, 1.0, 1e300], INPUTS[::4]):
        calls.append(("descent_step", [x, lr, g]))
        expected.append(rules.descent_step(x, lr, g))
    for h in _histories(1, 400):
        for parameters in (0, 2):
            calls.append(("descent_note", [parameters, h]))
            expected.append(rules.descent_note(parameters, h))
        for steps in (1, 3):
            calls.append(("rising", [h, steps]))
            expected.append(rules.rising(h, steps))
        if h:
            for tau, C in itertools.product([0.1, 1.0, 2.0], [0.0, 1.5, 5.0]):
                calls.append(("stopping", [h, tau, C]))
                expected.append(list(rules.stopping(h, tau, C)))
    for h in _histories(2, 300):  # a plateau scheduler reading each history, as training's
        for patience, threshold in itertools.product([0, 1, 3], [1e-4, 0.01, 0.5]):
            best, bad = None, 0
            for loss in h:
                calls.append(("plateau_step", [best, bad, loss, patience, threshold]))
                expected.append(list(rules.plateau_step(best, bad, loss, patience, threshold)))
                best, bad, _ = expected[-1]
    for loss, threshold in itertools.product(INPUTS[::3], [0.1, 0.0, float("inf")]):
        calls.append(("below", [loss, threshold]))
        expected.append(rules.below(loss, threshold))
    for g, d in itertools.product(INPUTS[::2], [*INPUTS[::5], 7.500000000038, 7.5]):
        for tol in (1e-5, 0.5):
            calls.append(("agrees", [g, d, tol]))
            expected.append(rules.agrees(g, d, tol))
    for grad, g in itertools.product([None, *INPUTS[::3]], INPUTS[::3]):
        calls.append(("accumulated", [grad, g]))
        expected.append(rules.accumulated(grad, g))
    for up, down, h in itertools.product(INPUTS[::3], INPUTS[::3], [1e-5, 0.5]):
        calls.append(("central", [up, down, h]))
        expected.append(rules.central(up, down, h))
    for a, b in itertools.product(INPUTS[::2], INPUTS[::2]):
        calls.append(("same_number", [a, b]))
        expected.append(rules.same_number(a, b))
        # Object.is: nan is itself, 0.0 and -0.0 differ
        assert expected[-1] == ((a != a and b != b) or (a == b and math.copysign(1, a) == math.copysign(1, b)))
    for v, span in itertools.product([*INPUTS, 2.5, -3.0, 3.000001, 1e6 + 0.5], [3.0, 0.0]):
        calls.append(("slider_reach", [v, span]))
        expected.append(rules.slider_reach(v, span))
    notes = {w for (name, _), w in zip(calls, expected) if name == "descent_note"}
    assert notes == {"descent_no_parameters", "descent_hint", "descent_overflow",
                     "descent_explodes", "descent_loss"}  # every branch is taken
    assert {w[1] for (name, _), w in zip(calls, expected) if name == "stopping"} == {
        "at", "never_C", "not_within"}
    cuts = [w for (name, _), w in zip(calls, expected) if name == "plateau_step"]
    assert {w[2] for w in cuts} == {True, False} and any(w[1] > 0 for w in cuts)
    got = call_js(RULES_MODULE, calls)
    assert len(got) == len(expected)
    for (name, args), want, have in zip(calls, expected, got):
        if isinstance(want, list):
            assert len(want) == len(have) and all(map(_same, want, have)), (name, args, want, have)
        else:
            assert _same(want, have), (name, args, want, have)


def test_the_buffer_note_in_node_is_pythons():
    rng = random.Random(2)
    names = ["w", "b", "x1"]
    cases = []
    for _ in range(300):
        now = {n: rng.choice([0.0, -0.0, 1.5, 2.0]) for n in names}
        seen = [{n: rng.choice([now[n], now[n], 1.5]) for n in names}
                for _ in range(rng.randrange(4))]
        calls = len(seen) if rng.random() < 0.9 else 0
        cases.append([calls, seen, now, names])
    script = ("import { buffer_note } from './static/explorer/rules.generated.mjs';"
              "import { readFileSync } from 'node:fs';"
              "const cases = JSON.parse(readFileSync(0, 'utf8'));"
              "process.stdout.write(JSON.stringify(cases.map((c) => buffer_note(...c))))")
    payload = json.dumps([[c[0], [{k: encode(v) for k, v in s.items()} for s in c[1]],
                           {k: encode(v) for k, v in c[2].items()}, c[3]] for c in cases])
    # -0 travels as a string; Node compares what Python compares: numbers
    script = script.replace("cases.map((c) => buffer_note(...c))",
                            "cases.map(([n, seen, now, names]) => { const d = (o) => Object.fromEntries("
                            "Object.entries(o).map(([k, v]) => [k, v === '-0' ? -0 : v]));"
                            " return buffer_note(n, seen.map(d), d(now), names) })")
    got = json.loads(run_node(["--input-type=module", "-e", script], stdin=payload))
    want = [rules.buffer_note(*c) for c in cases]
    assert got == want
    assert set(want) == {"zero", "one", "many", "moved"}


def test_a_buffer_never_filled_is_a_cleared_one_in_the_page():
    """The page's buffer starts with no key for a parameter (undefined): ``grad is None``
    holds for it as for null, as for Python's missing key (``dict.get``)."""
    script = ("import { accumulated } from './static/explorer/rules.generated.mjs';"
              "process.stdout.write(JSON.stringify([accumulated(undefined, 2.5), accumulated(null, 2.5),"
              " accumulated({}.w, -0)]))")
    assert json.loads(run_node(["--input-type=module", "-e", script])) == [2.5, 2.5, 0]


def test_the_pages_step_note_is_the_step_panels(monkeypatch):
    """static/explorer/descent.mjs's note (Descent.show, in Node) is StepPanel's on the same
    histories, η and parameters, in English and Chinese: a change to either side alone (its
    threshold, its order of checks, its words' fill) fails here."""
    import html

    from components.descent import RATES, StepPanel
    from components.model import ExplorerModel
    histories = [h for h in _histories(3, 120)] + [[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 5.0, 6.0, 7.0]]
    cases, want = [], []
    for lang in ("en", "zh"):
        model = ExplorerModel(expression="(w*x + b - y)**2", values={"w": 2, "x": 1.5, "b": 0.5, "y": 1})
        panel = StepPanel(model=model, lang=lang)
        for i, h in enumerate(histories):
            parameters = [] if i % 7 == 0 else ["w", "b"]
            monkeypatch.setattr(panel, "parameters", lambda p=parameters: p)
            panel.lr.value = RATES[i % len(RATES)]
            panel.history = list(h)
            panel._show()
            words = {key: panel.words[key] for key in
                     ("descent_no_parameters", "descent_hint", "descent_overflow",
                      "descent_explodes", "descent_loss")}
            cases.append({"history": [encode(x) for x in h], "parameters": parameters,
                          "rates": list(RATES), "active": RATES.index(panel.lr.value),
                          "words": words})
            want.append(panel.note.object)
    script = ("import { Descent } from './static/explorer/descent.mjs';"
              "import { readFileSync } from 'node:fs';"
              "const dec = (x) => x === 'nan' ? NaN : x === 'inf' ? Infinity : x === '-inf' ? -Infinity"
              " : x === '-0' ? -0 : x;"
              "const out = JSON.parse(readFileSync(0, 'utf8')).map((c) => {"
              " const d = new Descent({}); d.history = c.history.map(dec); d.start = {};"
              " const data = {words: c.words, parameters: c.parameters, rates: c.rates,"
              "  lr: {active: c.active}, source: {}, reset_button: {}, note: {}};"
              " d.show(data); return data.note.text });"
              "process.stdout.write(JSON.stringify(out))")
    got = json.loads(run_node(["--input-type=module", "-e", script], stdin=json.dumps(cases)))
    # Panel's HTML model shows the page's text unescaped once (words.mjs escape)
    assert [html.unescape(text) for text in got] == want


def test_the_pages_runs_with_a_plateau_scheduler_are_the_servers():
    """loss-matters' runs on a static page (static/explorer/runs.mjs descend, replaying the
    tape of the loss with C pinned, the scheduler's rule translated) are
    ``training.gradient_descent`` with a ``PlateauScheduler``: the same path, learning rates,
    cuts and best loss, at many rates, patiences, thresholds and constants C."""
    import numpy as np

    from components.bundle import SOURCE as FOLDER
    from graphviz_core import to_tape, trace
    from graphviz_core.training import (PlateauScheduler, gradient_descent, regression_data,
                                        regression_graph, regression_loss)

    xs, ys = regression_data()
    tape = to_tape(trace(regression_graph((0.0, 0.0), xs, ys, C=1.0)[0]))
    cases = list(itertools.product([0.01, 0.05, 0.3], [0, 3, 10], [1e-5, 1e-3, 0.01],
                                   [0.0, 10.0, 1000.0]))
    calls = [("descend", [tape, [-1.0, 2.0], lr, 60, C,
                          {"factor": 0.1, "patience": patience, "threshold": rel}])
             for lr, patience, rel, C in cases]
    got = call_js(FOLDER / "runs.mjs", calls, numbers=False)
    cut = 0
    for (lr, patience, rel, C), have in zip(cases, got):
        scheduler = PlateauScheduler(0.1, patience, rel)
        run = gradient_descent(lambda p: regression_loss(p, xs, ys, C=C), (-1.0, 2.0), lr, 60,
                               scheduler=scheduler)
        case = (lr, patience, rel, C)
        assert have["params"] == run.params.tolist(), case  # bit for bit
        assert have["lrs"] == run.lrs.tolist() and have["cuts"] == scheduler.reductions, case
        # a loss may differ in its last bit (the replay's Math.pow), the decisions do not
        assert have["losses"] == pytest.approx(run.losses.tolist(), rel=1e-14, abs=0), case
        assert have["best"] == pytest.approx(scheduler.best, rel=1e-14, abs=0), case
        cut += bool(scheduler.reductions)
    assert 0 < cut < len(cases)  # runs cut and runs not
