"""The lesson pages' numbers, read from the pages' own objects (no browser)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import panel as pn
import pytest

from components.lessons import LESSONS, LessonPage
from components.lessons.accumulation import AccumulationLesson
from components.lessons.input_gradients import InputGradientsLesson
from components.lessons.loss_matters import LossMattersLesson
from components.lessons.loss_value import LossValueLesson
from components.lessons.same_gradient import SameGradientLesson, mask_for
from components.lessons.figures import FigureLesson
from components.lessons.vanishing import VanishingLesson
from components.words import article_heading
from graphviz_core.ppo import ppo_case
from graphviz_core import format_number
from graphviz_core.training import (PlateauScheduler, ThresholdStopper, fgsm, first_below,
                                    gradient_descent, logged_drop, precision_table,
                                    regression_data, regression_loss, seed_loss_in_dtype)

SLUGS = ["graph", "chain-rule", "fan-out", "stop-gradient", "loss-value", "input-gradients",
         "same-gradient", "loss-matters", "accumulation", "vanishing"]


# --- registry -------------------------------------------------------------------------------------

def test_lessons_registered_in_teaching_order():
    assert list(LESSONS) == SLUGS
    for lesson in LESSONS.values():
        assert set(lesson.title) == {"en", "zh"}


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_lesson_builds(slug, lang):
    page = LESSONS[slug].build({}, lang)
    assert isinstance(page, LessonPage)
    assert page.sidebar and page.main
    for part in page.sidebar + page.main:  # every view makes its Bokeh models
        pn.panel(part).get_root()


def _html(objects) -> str:
    out = []
    for o in objects:
        if hasattr(o, "objects"):
            out.append(_html(o.objects))
        elif isinstance(getattr(o, "object", None), str):
            out.append(o.object)
    return "".join(out)


@pytest.mark.parametrize("slug, key", [("chain-rule", "backward"), ("fan-out", "fan-out"),
                                       ("stop-gradient", "stop-gradient"),
                                       ("loss-value", "loss-value"), ("input-gradients", "inputs"),
                                       ("same-gradient", "same-gradient"),
                                       ("loss-matters", "loss-matters")])
def test_seed_headings_in_both_languages(slug, key):
    for lang in ("en", "zh"):
        assert article_heading(key, lang) in _html(LESSONS[slug].build({}, lang).main)
    assert "前向" not in article_heading(key, "en")


# --- the three figures------------------------------------------------------------------------------

def test_chain_rule_product_is_the_engine_gradient():
    lesson = FigureLesson("chain-rule", {"w": "0.7", "x": "-1.3"}, "en", sync_url=False)
    rows = lesson.chain("w")
    assert [r["node"] for r in rows] == ["z3", "z2", "z1", "w"]
    assert math.prod(r["local"] for r in rows) == pytest.approx(rows[-1]["engine"], rel=1e-12)
    lesson.model.set_value("x", 0.0)
    assert lesson.chain("w")[-1]["grad"] == 0.0


def test_fan_out_contributions_sum_to_the_gradient():
    lesson = FigureLesson("fan-out", {"u": "0.4", "v": "-2"}, "en", sync_url=False)
    terms = lesson.contributions("u")
    assert len(terms) == 2
    u = lesson.model.graph.nodes[lesson._leaf("u")]["grad"]
    assert sum(t["contribution"] for t in terms) == pytest.approx(u)
    assert u == pytest.approx(-2 + math.cos(0.4))
    assert "=" in lesson.live.object and "+" in lesson.live.object


def test_stop_gradient_keeps_the_value_and_kills_the_path():
    lesson = FigureLesson("stop-gradient", {"u": "1.5"}, "en", sync_url=False)
    g = lesson.model.graph
    assert g.nodes[g.graph["root"]]["value"] == pytest.approx(1.5 ** 3)
    assert g.nodes[lesson._leaf("u")]["grad"] == pytest.approx(1.5 ** 2)
    assert "6.75" in lesson.live.object  # 3u^2, what it would be without sg


def test_scene_restores_query_state_and_ignores_bad_values():
    lesson = FigureLesson("fan-out", {"u": "2.5", "v": "oops", "off": "v,zzz", "mode": "forward"},
                         "en", sync_url=False)
    assert lesson.model.values == {"u": 2.5, "v": 0.8}
    assert lesson.model.requires_grad.get("v") is False
    assert lesson.model.mode == "forward"
    assert lesson.url_state() == {"u": "2.5", "v": "0.8", "off": "v", "mode": "forward"}
    assert FigureLesson("chain-rule", {"w": "1e9"}, "en", sync_url=False).model.values["w"] == 3.0
    assert FigureLesson("chain-rule", {}, "en", sync_url=False).model.mode == "backward"


# --- loss-value -----------------------------------------------------------------------------------

@pytest.mark.parametrize("C", [0.5, -7.0, 20.0, 50.0])
def test_descent_on_L_and_L_plus_C_identical_to_the_last_bit(C):
    lesson = LossValueLesson({"C": str(C), "w": "-2", "b": "2.5"}, "en", sync_url=False)
    runs = lesson.descend()
    assert np.array_equal(runs["L"].params, runs["LC"].params)
    assert np.array_equal(runs["L"].grads, runs["LC"].grads)
    assert np.allclose(runs["LC"].losses - runs["L"].losses, C)
    assert "identical to the last bit" in lesson.equal_note.object


def test_descent_runs_are_the_cores_whichever_session_asks_and_read_only():
    """The runs are shared by every session that opens the same values (a process-wide
    cache): each is the core's gradient descent from the sliders' (w, b), and none can be
    changed by a session."""
    first = LossValueLesson({"C": "3", "w": "-0.0", "b": "1"}, "en", sync_url=False).descend()
    second = LossValueLesson({"C": "3", "w": "-0.0", "b": "1"}, "en", sync_url=False).descend()
    xs, ys = regression_data()
    for key, C in (("L", 0.0), ("LC", 3.0)):
        fresh = gradient_descent(lambda p: regression_loss(p, xs, ys, C=C), [-0.0, 1.0], 0.05, 60)
        for field in ("params", "losses", "grads", "lrs"):
            assert np.array_equal(getattr(first[key], field), getattr(fresh, field))
            assert not getattr(second[key], field).flags.writeable
        assert np.signbit(first[key].params[0, 0])  # -0.0 starts at -0.0, not at a cached 0.0
    with pytest.raises(ValueError):
        first["L"].params[0, 0] = 5.0


def test_gradient_table_constant_and_scale():
    lesson = LossValueLesson({"C": "37", "k": "2.5"}, "en", sync_url=False)
    g = lesson.gradients()
    assert g["L + C"]["grads"] == g["L"]["grads"]
    assert g["L + C"]["value"] == pytest.approx(g["L"]["value"] + 37)
    for n in ("w", "b"):
        assert g["k·L"]["grads"][n] == pytest.approx(2.5 * g["L"]["grads"][n])
    # the page's graph is the same loss: its gradients match the table's k*L + C
    graph = lesson.model.graph
    w = next(graph.nodes[n]["grad"] for n in graph if graph.nodes[n]["name"] == "w")
    assert w == pytest.approx(2.5 * g["L"]["grads"]["w"])


def test_early_stopping_reacts_to_the_shift():
    lesson = LossValueLesson({"C": "20", "tau": "0.1"}, "en", sync_url=False)
    runs = lesson.runs
    assert first_below(runs["L"].losses, 0.1) is not None
    assert first_below(runs["LC"].losses, 0.1) is None
    assert "never stops" in lesson.stop_note.object
    assert lesson.url_state()["C"] == "20"


# --- input-gradients ----------------------------------------------------------------------------------

def test_fgsm_moves_the_prediction_away_from_the_true_class():
    lesson = InputGradientsLesson({"eps": "0.3"}, "en", sync_url=False)
    t = lesson.attack()
    assert t["label"] == 1 and t["p"] > 0.9 and t["p_adv"] < t["p"] and t["loss_adv"] > t["loss"]
    lesson.glyph.value = "L"
    l = lesson.attack()
    assert l["label"] == 0 and l["p"] < 0.1 and l["p_adv"] > l["p"]
    big = lesson.classifier.attack("T", 0.55)
    assert big["p_adv"] < 0.5  # a large enough step flips the class
    assert np.array_equal(lesson.classifier.attack("T", 0.0)["adv"], t["x"])


def test_input_gradient_comes_from_backward_and_matches_the_formula():
    lesson = InputGradientsLesson({}, "en", sync_url=False)
    r = lesson.attack()
    c = lesson.classifier
    expected = (r["p"] - 1.0) * c.weights.reshape(8, 8)  # dL/dx = (p - y) w
    assert np.allclose(r["grad"], expected, atol=1e-12)
    assert np.array_equal(r["saliency"], np.abs(r["grad"]))
    assert np.array_equal(r["adv"], fgsm(r["x"], r["grad"], lesson.eps.value))


def test_requires_grad_switches_skip_the_data_leaves():
    on = InputGradientsLesson({}, "en", sync_url=False)
    off = InputGradientsLesson({"off": "x,y"}, "en", sync_url=False)
    assert on.leaf_gradients()["x"] == 10.0 and on.leaf_gradients()["y"] == -5.0
    assert off.leaf_gradients()["x"] is None and off.leaf_gradients()["y"] is None
    assert off.leaf_gradients()["w"] == 7.5
    assert off.model.graph.graph["skipped"] > on.model.graph.graph["skipped"]
    assert off.url_state()["off"] == "x,y"


# --- same-gradient --------------------------------------------------------------------------------------

def test_ppo_and_reinforce_gradients_equal_in_clipped_and_unclipped_cases():
    """Over a 324-point grid of lp, lpo, A, eps, the engine's dL/dlp of PPO's loss and of
    REINFORCE's (its mask m set as the lesson sets it) are the same number, 0 where PPO clips
    and -A*exp(lp - lpo) where it does not. The lesson's two traced graphs give those numbers
    (its sliders' path: set_values, m, both graphs re-derived) at a point of every kind of the
    grid: each case of the callout, with each sign of A."""
    from components.lessons.same_gradient import PPO, REINFORCE
    from graphviz_core import gradients

    lesson = SameGradientLesson({}, "en", sync_url=False)
    cases, kinds = {True: 0, False: 0}, set()
    for lp, lpo, A, eps in itertools.product(np.linspace(-3, 0, 9), (-1.5, -1.0, -0.3),
                                             (-2.0, -0.5, 0.7, 2.5), (0.1, 0.2, 0.4)):
        values = {"lp": lp, "lpo": lpo, "A": A, "eps": eps}
        case = ppo_case(lp, lpo, A, eps)
        clipped = case["clipped"]
        cases[clipped] += 1
        m = mask_for(values)
        assert m == (0.0 if clipped else 1.0)
        g_ppo = gradients(PPO, values)[1]["lp"]
        g_rf = gradients(REINFORCE, {"lp": lp, "lpo": lpo, "A": A, "m": m})[1]["lp"]
        assert g_ppo == g_rf, (lp, lpo, A, eps)
        if clipped:
            assert g_ppo == 0.0
        else:
            assert g_ppo == pytest.approx(-A * math.exp(lp - lpo))
        rho, lo, hi = case["rho"], 1 - eps, 1 + eps
        kind = (clipped, rho > hi if clipped else lo <= rho <= hi, A > 0)
        if kind not in kinds:
            kinds.add(kind)
            lesson.set_values(**values)
            assert lesson.gradients() == (g_ppo, g_rf), (lp, lpo, A, eps)
            assert lesson.rf.values["m"] == m
    assert cases[True] > 10 and cases[False] > 10
    assert len(kinds) >= 6, kinds  # both cases of each side of the clip, both signs of A


def test_same_gradient_values_differ_and_page_names_the_case():
    lesson = SameGradientLesson({"lp": "-0.9", "lpo": "-1", "A": "2", "eps": "0.2"}, "en",
                                sync_url=False)
    ppo_value = lesson._root(lesson.ppo)["value"]
    rf_value = lesson._root(lesson.rf)["value"]
    assert ppo_value != pytest.approx(rf_value)
    assert "Unclipped" in lesson.case.object
    assert "bitwise equal: <b>True</b>" in lesson.table.object
    lesson.set_values(lp=-0.5)
    assert "Clipped" in lesson.case.object and lesson.rf.values["m"] == 0.0
    assert lesson.sliders["lp"].value == -0.5
    assert lesson.url_state()["lp"] == "-0.5"
    assert mask_for({"lp": -0.5, "lpo": -1.0, "A": -2.0, "eps": 0.2}) == 1.0



def test_same_gradients_case_is_ppo_cases_and_fills_from_both_graphs():
    """The case callout is a template over the PPO graph (components/texts.py ⟨s|...⟩ choices,
    so a page with no server fills it too); it names ppo_case's case with its numbers."""
    from components.lessons.common import callout, number
    from components.words import lesson_text
    lesson = SameGradientLesson({}, "en", sync_url=False)
    t, seen = lesson_text("same-gradient", "en"), set()
    for lp, lpo, A, eps in itertools.product((-3.0, -2.0, -1.0, -0.9, 0.0), (-1.0, -0.3),
                                             (-2.0, 0.0, 1.5), (0.05, 0.2)):
        lesson.set_values(lp=lp, lpo=lpo, A=A, eps=eps)
        case = ppo_case(lp, lpo, A, eps)
        rho, lo, hi = case["rho"], 1 - eps, 1 + eps
        key = (("clipped_hi" if rho > hi else "clipped_lo") if case["clipped"] else
               "inside" if lo <= rho <= hi else "outside")
        seen.add(key)
        text = t[key].format(rho=number(rho), lo=number(lo), hi=number(hi), A=number(A))
        assert lesson.case.object == callout(text, "clipped" if case["clipped"] else "same").object
        assert ("bitwise equal: <b>True</b>" in lesson.table.object) == (
            lesson.gradients()[0] == lesson.gradients()[1])
    assert seen == {"clipped_hi", "clipped_lo", "inside", "outside"}

# --- loss-matters and the training helpers ----------------------------------------------------------------

def test_precision_float16_loses_L_float64_exact():
    lesson = LossMattersLesson({"C": "1000"}, "en", sync_url=False)
    rows = {r["dtype"]: r for r in lesson.precision()}
    assert rows["float16"]["error"] != 0.0
    assert rows["float64"]["error"] == 0.0 and rows["float64"]["recovered"] == rows["float64"]["exact"]
    for r in rows.values():  # the backward pass never sees C, in any precision
        assert r["grad"] == r["grad_shifted"]
    assert rows["float16"]["drop_shifted"] == 0.0 < rows["float16"]["drop"]
    assert rows["float64"]["drop_shifted"] == pytest.approx(rows["float64"]["drop"], rel=1e-9)


def test_scheduler_and_early_stopping_react_differently():
    lesson = LossMattersLesson({"C": "1000", "tau": "0.1"}, "en", sync_url=False)
    plain = lesson.runs(scheduled=False)
    assert np.array_equal(plain["L"][0].params, plain["LC"][0].params)
    sched = lesson.runs(scheduled=True)
    assert sched["L"][1].reductions != sched["LC"][1].reductions
    assert not np.array_equal(sched["L"][0].params, sched["LC"][0].params)
    assert first_below(plain["L"][0].losses, 0.1) is not None
    assert first_below(plain["LC"][0].losses, 0.1) is None
    assert lesson.url_state()["C"] == "1000"


def test_plateau_scheduler_follows_reduce_lr_on_plateau():
    s = PlateauScheduler(factor=0.5, patience=1, threshold=0.1)
    lrs = [s.step(v, 1.0) for v in (10.0, 8.0, 7.9, 7.8, 7.7, 5.0)]
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    assert s.reductions == [3]


def test_descent_with_stopper_and_precision_helpers():
    xs, ys = regression_data()
    run = gradient_descent(lambda p: regression_loss(p, xs, ys), [0.0, 0.0], 0.1, 100,
                           stopper=ThresholdStopper(0.5))
    assert run.stopped is not None and run.losses[-1] < 0.5 and len(run.lrs) == run.stopped
    v = {"w": 2.0, "x": 1.5, "b": 0.5, "y": 1.0}
    assert seed_loss_in_dtype(v, 0.0, np.float64)["L"] == 6.25
    assert [r["error"] for r in precision_table(v, 1000.0)] == [-0.25, 0.0, 0.0]
    assert logged_drop(v, 1000.0, 0.002, np.float16)["drop_shifted"] == 0.0


# --- accumulation ------------------------------------------------------------------------------------

def test_accumulation_fan_out_adds_the_engines_contributions():
    from components.lessons.accumulation import AccumulationLesson
    from components.lessons.common import contributions
    lesson = AccumulationLesson({"w": "0.3", "x2": "-2"}, "en", sync_url=False)
    terms = contributions(lesson.model.graph, "w")
    assert len(terms) == 2
    assert sum(t["contribution"] for t in terms) == pytest.approx(lesson.gradients()["w"])
    assert f"<b>{format_number(lesson.gradients()['w'])}</b>" in lesson.fan.object


def test_backward_twice_without_zero_grad_doubles_and_zero_grad_clears():
    from components.lessons.accumulation import AccumulationLesson
    lesson = AccumulationLesson({}, "en", sync_url=False)
    once = lesson.gradients()
    lesson.backward()
    lesson.backward()
    assert lesson.buffer.grad == {name: 2 * g for name, g in once.items()}
    assert "backward() called <b>2</b> times" in lesson.buffer_view.object
    lesson.zero_grad()
    assert lesson.buffer.grad == {"w": None, "b": None}
    lesson.backward()
    assert lesson.buffer.grad == once


@pytest.mark.parametrize("K", ["1", "2", "3", "6"])
def test_micro_batches_add_up_to_the_big_batch_and_k_times_without_division(K):
    from components.lessons.accumulation import AccumulationLesson
    lesson = AccumulationLesson({"K": K, "w": "-0.7", "b": "1.2"}, "en", sync_url=False)
    r = lesson.micro_batches()
    xs, ys = regression_data()
    big = regression_loss([-0.7, 1.2], xs, ys)[1]
    assert np.allclose(r["accumulated"], big, rtol=1e-14, atol=1e-15)
    lesson.divide.value = False
    r = lesson.micro_batches()
    assert np.allclose(r["accumulated"], int(K) * big, rtol=1e-14, atol=1e-15)
    assert ("= the big batch's gradient" if K == "1" else f"= {K} × the big batch") \
        in lesson.accum_view.object


@pytest.mark.parametrize("lesson, change", [
    (AccumulationLesson, lambda lesson: setattr(lesson.k, "value", "6")),
    (VanishingLesson, lambda lesson: setattr(lesson.depth, "value", 7)),
    (LossValueLesson, lambda lesson: lesson.model.set_values({"w": 1.5})),
], ids=["accumulation", "vanishing", "loss-value"])
def test_a_lesson_writes_its_state_into_the_query_when_a_watched_control_changes(
        monkeypatch, lesson, change):
    from components.lessons import common
    written = []
    monkeypatch.setattr(common, "write_query", written.append)
    page = lesson({}, "en")
    change(page)
    assert written and written[-1] == {k: str(v) for k, v in page.url_state().items()}
