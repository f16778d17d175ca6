"""Reliability under hostile input: the expression fuzz, numeric faults, failing callbacks.

Distinct from ``test_expression.py`` (the core's own spec): here the parser is fed
text nobody should type - random text, mutations of valid expressions, the grammar's
own productions pushed past its limits, and known attacks - and is timed. Nothing but
:class:`ExpressionError` may escape, and no call may take long (the target is 50 ms per
rejection; the assertion is a generous 0.5 s so a busy CI machine does not flake; the
max and p99 are printed, see ``pytest -s``).
"""

from __future__ import annotations

import logging
import math
import random
import time

import panel as pn
import pytest
from bokeh.document import Document
from expression_strategies import mutations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from panel.io.state import set_curdoc

from components.controls import ExpressionBox
from components.model import ExplorerModel
from components.page import handle_exception
from components.scene import to_json
from graphviz_core import ExpressionError, parse
from graphviz_core.expression import FUNCTIONS, LIMITS

BOUND = 0.5      # seconds of CPU per parse call, asserted
# CPU time, not wall time: a loaded machine stalls a call for as long as it likes, but cannot
# make it compute more (a 1 ms parse read 0.52 s of wall in a CI run at load 30)
_clock = time.thread_time
TARGET = 0.050   # seconds per rejection, the goal (reported)
MEGABYTE = "x" * (1 << 20)

# --- the timed oracle -------------------------------------------------------------------------

_timings: dict[str, list[float]] = {}


def check(source, family: str) -> None:
    """Parse ``source``: accepted, or an ExpressionError; timed. Accepted ones are built too.

    Timed in CPU time; a call slower than the target is timed twice more and the best time
    counts: a slow input is slow every time, a GC pause is not.
    """
    expression, elapsed = _timed_parse(source)
    if elapsed > TARGET:
        elapsed = min(elapsed, _timed_parse(source)[1], _timed_parse(source)[1])
    if expression is not None:
        assert len(source) <= LIMITS["length"]
        assert len(expression.variables) <= LIMITS["variables"]
        # an accepted expression builds and differentiates without raising, whatever the values
        root = expression.build({name: 1.5 for name in expression.variables})
        root.backward()
        assert isinstance(root.data, float)
    _timings.setdefault(family, []).append(elapsed)
    assert elapsed < BOUND, f"parse took {elapsed:.3f} s on {source[:80]!r}..."


def _timed_parse(source):
    start = _clock()
    try:
        expression = parse(source)
    except ExpressionError as e:
        elapsed = _clock() - start
        assert isinstance(e.message, str) and e.message
        assert e.position is None or 0 <= e.position <= max(len(source), LIMITS["length"])
        return None, elapsed
    return expression, _clock() - start


def _report(family: str, minimum: int) -> None:
    times = sorted(_timings.get(family, []))
    assert len(times) >= minimum, f"{family}: only {len(times)} inputs were tried"
    p99 = times[int(0.99 * (len(times) - 1))]
    print(f"\n[fuzz] {family}: {len(times)} inputs, max {times[-1] * 1e3:.2f} ms, "
          f"p99 {p99 * 1e3:.2f} ms, target {TARGET * 1e3:.0f} ms")


def _run(test, examples: int) -> None:
    settings(max_examples=examples, deadline=None, database=None, derandomize=True,
             suppress_health_check=list(HealthCheck))(test)()


# --- strategies -------------------------------------------------------------------------------

ANY_CHARACTER = st.characters(exclude_categories=("Cs",))
NAMES = st.sampled_from(["w", "x", "b", "y", "u", "v", "x1", "y_true", "lp", "A", "eps"])
NUMBERS = st.one_of(
    st.integers(0, 10**6).map(str),
    st.floats(0, 1e6, allow_nan=False).map(repr),
    st.sampled_from(["0", "0.5", "1e308", "1e309", "1e-320", "2.5e3", "1_000", "0x1f", "1j",
                     "1" * 300, "9" * 1999, "00", ".5", "5."]),
)


# The grammar's own productions, with arities sometimes wrong on purpose: `a op b`, `(a)`, `-a`,
# `+a`, `f(a, ...)` with 0-4 arguments and `f(a)`, over NAMES and NUMBERS, nested at most 5 deep
# and with at most 16 leaves. It draws as `st.recursive(st.one_of(NAMES, NUMBERS), productions,
# max_leaves=16)` did: a node `depth` levels above the leaves is one of the 4 kinds of leaf
# (NAMES and NUMBERS' three) or one of the 6 productions of any lower level, all 4 + 6 * depth
# equally likely; the top has 5 levels below it; past 16 leaves it draws again. Written
# out because Hypothesis flattened st.recursive into one choice among all those branches and
# labelled that choice again on every draw: 12.1 -> 6.5 s of CPU for 1,500 draws (load 14).
LEAVES = [NAMES, *NUMBERS.branches]
OPERATORS = st.sampled_from(["+", "-", "*", "/", "**", " ** -", "//", "%"])
CALLED = st.sampled_from(sorted(FUNCTIONS))
ARGUMENTS = st.integers(0, 4)
LEVELS = 5
MAX_LEAVES = 16
_PICK = [st.sampled_from(range(len(LEAVES) + 6 * depth)) for depth in range(LEVELS + 1)]


class _TooManyLeaves(Exception):
    pass


@st.composite
def _grammar_text(draw) -> str:
    leaves = 0

    def node(depth: int) -> str:
        nonlocal leaves
        pick = draw(_PICK[depth])
        if pick < len(LEAVES):
            leaves += 1
            if leaves > MAX_LEAVES:
                raise _TooManyLeaves
            return draw(LEAVES[pick])
        level, production = divmod(pick - len(LEAVES), 6)  # children `level` levels up
        if production == 0:
            return f"{node(level)}{draw(OPERATORS)}{node(level)}"
        if production == 1:
            return f"({node(level)})"
        if production == 2:
            return f"-{node(level)}"
        if production == 3:
            return f"+{node(level)}"
        if production == 4:
            name = draw(CALLED)
            return f"{name}({', '.join(node(level) for _ in range(draw(ARGUMENTS)))})"
        return f"{draw(CALLED)}({node(level)})"

    while True:  # drawn again past 16 leaves, as st.recursive does
        leaves = 0
        try:
            return node(LEVELS)
        except _TooManyLeaves:
            pass


GRAMMAR = _grammar_text()

# what students paste and what attackers try; each is also embedded in valid expressions
ATTACKS = [
    "__import__('os').system('echo pwned')", "__import__", "().__class__.__bases__[0]",
    "x.__class__", "w.__dict__", "x.real", "(lambda: 1)()", "lambda x: x", "9**9**9",
    "x**9**9**9", "2**10**10", "(-8)**(1/3)", "1e999", "-1e999", "1" * 5000, "9" * 4301,
    "(" * 10000 + "x" + ")" * 10000, "-" * 10000 + "x", "sin(" * 5000 + "x" + ")" * 5000,
    "x" + "+x" * 2500, "x\x00", "\x00", "w*x\x00+1", "a" * (1 << 20), MEGABYTE,
    "exec('1')", "eval('1')", "open('/etc/passwd')", "globals()", "breakpoint()", "x if x else y",
    "[x for x in (1,)]", "{}", "x[0]", "x; import os", "import os", "x = 1", "x := 1",
    "f'{x}'", "'x'", "b'x'", "...", "None", "True", "await x", "yield x", "*x", "sin(*x)",
    "exp(x=1)", "sg(x, y)", "clip(x)", "x @ y", "x // y", "~x", "not x", "x and y",
    "x < y", "# comment", "x # comment", "\\\nx", "x\r\ny", "x\ry", "\u202ex", "x\u2028y",
    "\ud800", "ｘ", "𝑥*2", "x\t*\ty", "\u00d7", "2\u00d73", "\ufeffx", " " * 3000,
    "_x", "__x__", "x" * 33, "a1+a2+a3+a4+a5+a6+a7+a8+a9+a10+a11+a12+a13+a14+a15+a16+a17+"
    "a18+a19+a20+a21+a22+a23+a24+a25",
]
PIECES = list("()+-*/.,_'\"[]{}:;=@%&|^~<>!?#\\ \t\n\r\x00\x7f\u00d7\u2212ｘé中\ud7ff\U0001d465") + [
    "__", "**", "lambda", "import", "exp(", "sg(", "9" * 50]


def mutate(text: str, rng: random.Random) -> str:
    """``text`` with 1-6 characters inserted, deleted or replaced, or a tail repeated."""
    for _ in range(rng.randint(1, 6)):
        i = rng.randint(0, len(text))
        what = rng.choice(["insert", "delete", "replace", "replace", "repeat"])
        piece = rng.choice(PIECES)
        if what == "insert":
            text = text[:i] + piece + text[i:]
        elif what == "delete":
            text = text[:i] + text[i + 1:]
        elif what == "replace":
            text = text[:i] + piece + text[i + 1:]
        else:
            text = text + text[i:] * rng.randint(1, 60)
    return text


# --- the fuzz ---------------------------------------------------------------------------------

def test_fuzz_random_text():
    # any text up to 400 characters (test_expression.py fuzzes the language's own characters):
    # every character but the surrogates, as st.text()'s default alphabet, characters(codec=
    # "utf-8"), draws them; that one first encodes all 1.1M code points to find its set, ~6 s
    # of CPU in each process of a fresh clone (no .hypothesis/unicode_data to read it from)
    @given(st.one_of(st.text(ANY_CHARACTER, max_size=400),
                     st.text(alphabet="wxyb()+-*/.0123456789e ", max_size=400)))
    def run(text):
        check(text, "random text")

    _run(run, 3000)
    _report("random text", 3000)


def test_fuzz_grammar_productions():
    @given(GRAMMAR)
    def run(text):
        check(text, "grammar")
        check(text[: len(text) // 2], "grammar")  # cut short: unbalanced, dangling operators

    _run(run, 1500)
    _report("grammar", 3000)


def test_fuzz_mutations_of_valid_expressions():
    @given(GRAMMAR, st.randoms(use_true_random=False), mutations())
    def run(text, rng, typo):
        for _ in range(3):
            check(mutate(text, rng), "mutations")
        check(typo, "mutations")  # an everyday expression with 1-6 characters changed

    _run(run, 1000)
    _report("mutations", 4000)


def test_fuzz_attacks():
    for attack in ATTACKS:
        check(attack, "attacks")
        check(f"w*x + {attack}", "attacks")

    @given(st.sampled_from(ATTACKS), GRAMMAR, st.sampled_from(["{a}", "{g} + {a}", "{a} * {g}",
                                                                "exp({a})", "({g})**({a})"]))
    def run(attack, valid, shape):
        check(shape.format(a=attack, g=valid), "attacks")

    _run(run, 1200)
    _report("attacks", 1200)


def test_fuzz_total_inputs_and_rejection_time():
    """Runs after the four above (file order): at least 10,000 inputs, all fast."""
    times = sorted(t for family in _timings.values() for t in family)
    if len(times) < 10_000:
        pytest.skip("run the whole module for the total")
    p99 = times[int(0.99 * (len(times) - 1))]
    print(f"\n[fuzz] total {len(times)} inputs: max {times[-1] * 1e3:.2f} ms, "
          f"p99 {p99 * 1e3:.2f} ms")
    assert times[-1] < BOUND


@pytest.mark.parametrize("attack", ["9**9**9", "1" * 5000, "(" * 10000 + "x" + ")" * 10000,
                                    "-" * 1999 + "x", "x**-" + "-" * 1990 + "x", MEGABYTE,
                                    "x\x00", "__import__('os')", "x.__class__", "lambda: 0"])
def test_named_attacks_are_refused_quickly(attack):
    start = _clock()
    with pytest.raises(ExpressionError):
        parse(attack)
    assert _clock() - start < BOUND


# --- the server-side cap on length -------------------------------------------------------------

def test_model_refuses_a_megabyte_and_keeps_working():
    model = ExplorerModel(expression="w*x")
    start = time.process_time()  # (every thread of the process: the model may use others)
    model.set_expression(MEGABYTE)
    assert time.process_time() - start < BOUND
    assert "too long" in model.error
    assert [model.graph.nodes[n]["text"] for n in model.graph] == ["w", "x", "L = w * x"]
    model.set_expression("w*x + 1")
    assert model.error == ""
    assert model.graph.number_of_nodes() == 5


def test_expression_box_shows_too_long_for_a_megabyte_whatever_the_browser_sends():
    # max_length=2000 on the widget is enforced only by the browser; a client can send more
    model = ExplorerModel(expression="w*x")
    box = ExpressionBox(model=model)
    box.input.value = MEGABYTE
    assert "too long" in box.message.object and "Not applied" in box.message.object
    assert len(box.message.object) < 1000  # the message does not echo the text
    box.input.value = "w*x*2"
    assert box.message.object == "" and model.error == ""


def test_an_expression_with_the_same_variables_redraws():
    # regression: x*2 -> x*3 left the old graph (no watcher fired: same variables and values)
    model = ExplorerModel(expression="x*2")
    model.set_expression("x*3")
    assert [model.graph.nodes[n]["text"] for n in model.graph] == ["x", "3", "L = x * 3"]


# --- numeric faults ----------------------------------------------------------------------------

# (fault term over x/y/t, values, op of the node where the fault starts, expected words)
FAULTS = [
    ("exp(x)", {"x": 1000}, "exp", "overflow"),
    ("x*x", {"x": 1e200}, "mul", "overflow"),
    ("log(x)", {"x": -1}, "log", "log of a negative number"),
    ("log(x)", {"x": 0}, "log", "log of zero"),
    ("sqrt(x)", {"x": -4}, "sqrt", "square root of a negative number"),
    ("1/x", {"x": 0}, "div", "division by zero"),
    ("exp(x) - exp(y)", {"x": 1000, "y": 1000}, "sub", "inf - inf"),
    ("y*exp(x)", {"x": 1000, "y": 0}, "mul", "0 * inf"),
    ("x**0.5", {"x": -1}, "pow", "negative base to a fractional power"),
    ("x**t", {"x": -2, "t": 0.5}, "powv", "negative base to a fractional power"),
    ("x**-1", {"x": 0}, "pow", "zero to a negative power"),
]


@pytest.mark.parametrize("term, values, op, words", FAULTS, ids=[f[3] for f in FAULTS])
def test_numeric_fault_is_marked_and_the_rest_stays_right(term, values, op, words):
    w, u = 0.75, -2.0
    model = ExplorerModel(expression=f"({term}) + (w*u - 1)**2",
                          values={**values, "w": w, "u": u})
    assert model.error == ""
    g, nodes = model.graph, model.scene["nodes"]
    faults = dict(zip(nodes["id"], nodes["fault"]))
    origin = [n for n in g if g.nodes[n]["op"] == op and faults[n]]
    assert origin, f"no fault on a {op} node: {faults}"
    assert any(words in faults[n] for n in origin), faults
    for n in g:
        value, grad = g.nodes[n]["value"], g.nodes[n]["grad"]
        assert isinstance(value, float) and isinstance(grad, float)  # never complex
        if not math.isfinite(value):
            assert faults[n], f"silent {value} at {g.nodes[n]['text']}"
    # the unaffected part: w, u and the square keep their values and exact gradients
    by_name = {g.nodes[n]["name"]: n for n in g}
    assert g.nodes[by_name["w"]]["grad"] == pytest.approx(2 * (w * u - 1) * u)
    assert g.nodes[by_name["u"]]["grad"] == pytest.approx(2 * (w * u - 1) * w)
    assert not faults[by_name["w"]] and not faults[by_name["u"]]
    text = to_json(model.scene)  # what goes to the browser: valid JSON, no complex, no NaN token
    assert "NaN" not in text and "Infinity" not in text and "j)" not in text


def test_a_hostile_slider_value_is_a_fault_not_a_crash():
    model = ExplorerModel(expression="w*w*x")
    for value in (math.nan, math.inf, -math.inf, 1e308, -1e308):
        model.set_value("w", value)
        faults = model.scene["nodes"]["fault"]
        assert model.error == "" and any(faults), (value, faults)
    model.set_value("w", 2.0)
    assert not any(model.scene["nodes"]["fault"])


# --- errors in callbacks -----------------------------------------------------------------------

def test_handle_exception_logs_and_notifies_briefly(caplog):
    pn.config.notifications = True
    try:
        with set_curdoc(Document()):
            with caplog.at_level(logging.ERROR, logger="backprop_explorer"):
                handle_exception(RuntimeError("secret internals /etc/passwd"))
            shown = [(n.notification_type, n.message) for n in pn.state.notifications.notifications]
    finally:
        pn.config.notifications = False
    assert "callback failed" in caplog.text and "RuntimeError" in caplog.text
    assert len(shown) == 1 and shown[0][0] == "error"
    message = shown[0][1]
    assert "RuntimeError" in message and "keeps working" in message
    assert "secret" not in message and "/etc" not in message and len(message) < 160


def test_handle_exception_without_a_session_does_not_raise(caplog):
    with caplog.at_level(logging.ERROR, logger="backprop_explorer"):
        handle_exception(ValueError("no session"))
    assert "callback failed" in caplog.text


def test_a_failing_callback_goes_to_the_handler_and_the_box_keeps_working():
    """Panel's own path for a change from the browser: the Bokeh model's property changes,
    Panel runs the watchers, an exception goes to ``pn.config.exception_handler``."""
    seen = []
    previous = pn.config.exception_handler
    pn.config.exception_handler = seen.append
    try:
        model = ExplorerModel(expression="w*x")
        box = ExpressionBox(model=model)

        def flaky(event):  # stands in for any bug in a callback
            if event.new == "w*x + 1":
                raise RuntimeError("callback failed on purpose")

        box.input.param.watch(flaky, "value")
        doc = Document()
        with set_curdoc(doc):
            root = box.input.get_root(doc)
            root.value = "w*x + 1"   # as a message from the browser sets it
            root.value = "w*x*3"
    finally:
        pn.config.exception_handler = previous
    assert [str(e) for e in seen] == ["callback failed on purpose"]
    assert box.input.value == "w*x*3" and model.expression == "w*x*3" and model.error == ""
    assert [model.graph.nodes[n]["text"] for n in model.graph][-1] == "L = z1 * 3"
