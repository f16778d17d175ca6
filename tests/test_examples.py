"""The lesson graphs: examples, PPO beside REINFORCE, the loss under L+C and k*L, glyphs, the MLP."""

from __future__ import annotations

import doctest
import itertools
import math

import numpy as np
import pytest

from expression_strategies import check_fanout_rule
from graphviz_core import parse, topological_order, trace
from graphviz_core import examples, glyphs as glyphs_module, limits, mlp, ppo, scenarios
from graphviz_core.examples import EXAMPLES, SEED, example, seed_loss, shifted_and_scaled
from graphviz_core.glyphs import glyphs, logistic_loss
from graphviz_core.mlp import mlp_loss
from graphviz_core.ppo import ppo_case, ppo_clip_loss, reinforce_loss

EPS = 0.2
# log-ratios that put rho = exp(lp - lpo) below, inside and above [1 - eps, 1 + eps]
LOG_RATIOS = [-0.9, -0.4, -0.25, -0.2, -0.1, -0.01, 0.0, 0.05, 0.15, 0.17, 0.2, 0.5, 1.2]
ADVANTAGES = [-2.0, -0.5, 0.3, 1.0, 3.0]
OLD = [-1.0, 0.0, -2.3]


def _band(rho: float) -> str:
    return "below" if rho < 1 - EPS else "above" if rho > 1 + EPS else "inside"


def test_the_grid_covers_every_case():
    cases = set()
    for d, A in itertools.product(LOG_RATIOS, ADVANTAGES):
        info = ppo_case(d, 0.0, A, EPS)
        cases.add((_band(info["rho"]), A > 0, info["clipped"]))
    assert cases == {("below", True, False), ("below", False, True), ("inside", True, False),
                     ("inside", False, False), ("above", True, True), ("above", False, False)}


@pytest.mark.parametrize("d, A, lpo", list(itertools.product(LOG_RATIOS, ADVANTAGES, OLD)))
def test_ppo_and_reinforce_gradients_agree(d, A, lpo):
    lp = lpo + d
    ppo, leaves_p = ppo_clip_loss(lp, lpo, A, EPS)
    rf, leaves_r = reinforce_loss(lp, lpo, A, EPS)
    ppo.backward()
    rf.backward()
    g_ppo, g_rf = leaves_p["lp"].grad, leaves_r["lp"].grad
    info = ppo_case(lp, lpo, A, EPS)
    rho = math.exp(lp - lpo)
    expected = 0.0 if info["clipped"] else -rho * A
    assert math.isclose(g_ppo, expected, rel_tol=1e-12, abs_tol=1e-15)
    assert math.isclose(g_rf, g_ppo, rel_tol=1e-12, abs_tol=1e-15)
    # the clipped case: no gradient reaches lp in PPO at all
    assert info["clipped"] == (g_ppo == 0.0)
    # data leaves get no gradient
    for name in ("lpo", "A"):
        assert leaves_p[name].grad == 0.0 and leaves_r[name].grad == 0.0
    # loss values: PPO's objective is min(rho A, clip(rho) A)
    clipped_rho = min(max(rho, 1 - EPS), 1 + EPS)
    assert math.isclose(ppo.data, -min(rho * A, clipped_rho * A), rel_tol=1e-12)
    for root in (ppo, rf):
        check_fanout_rule(trace(root))


def test_ppo_gradient_against_finite_differences():
    for d, A in itertools.product([-0.5, -0.1, 0.1, 0.5], [-1.0, 2.0]):
        h = 1e-6
        f = lambda lp: ppo_clip_loss(lp, 0.0, A, EPS)[0].data
        L, leaves = ppo_clip_loss(d, 0.0, A, EPS)
        L.backward()
        assert math.isclose(leaves["lp"].grad, (f(d + h) - f(d - h)) / (2 * h),
                            rel_tol=1e-6, abs_tol=1e-8)


@pytest.mark.parametrize("values", [SEED.values, {"w": -0.7, "x": 2.0, "b": 1.5, "y": -3.0},
                                    {"w": 0.0, "x": 0.0, "b": 0.0, "y": 0.0}])
def test_loss_value_shift_and_scale(values):
    base = shifted_and_scaled(values)
    L = parse(SEED.source).build(values)
    L.backward()
    assert math.isclose(base["value"], L.data, rel_tol=1e-15)
    for C in (-100.0, -1.0, 0.5, 1e6):
        shifted = shifted_and_scaled(values, C=C)
        assert shifted["grads"] == base["grads"]  # identical, not merely close
        assert math.isclose(shifted["value"], base["value"] + C, rel_tol=1e-12, abs_tol=1e-9)
    for k in (0.0, 0.5, 2.0, -3.0, 10.0):
        scaled = shifted_and_scaled(values, k=k)
        for name, g in base["grads"].items():
            assert math.isclose(scaled["grads"][name], k * g, rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(scaled["value"], k * base["value"], rel_tol=1e-12, abs_tol=1e-15)


def test_seed_example():
    L = seed_loss()
    L.backward()
    leaves = {v.name: v for v in topological_order(L) if not v.parents}
    assert L.data == 6.25
    assert {n: leaves[n].grad for n in "wxby"} == {"w": 7.5, "x": 10.0, "b": 5.0, "y": -5.0}
    assert example("seed") is SEED
    with pytest.raises(KeyError, match="known"):
        example("nope")


@pytest.mark.parametrize("slug", list(EXAMPLES))
def test_every_example_builds_and_parses(slug):
    s = EXAMPLES[slug]
    e = parse(s.source)
    assert set(e.variables) <= set(s.values)
    L = s.build()
    L.backward()
    assert math.isfinite(L.data)
    check_fanout_rule(trace(L))


def test_stop_gradient_example_is_u_squared_not_3u_squared():
    L = EXAMPLES["stop-gradient"].build({"u": 1.5})
    L.backward()
    (u,) = [v for v in topological_order(L) if v.name == "u"]
    assert L.data == 1.5 ** 3 and u.grad == 1.5 ** 2


def test_logistic_loss_gradients():
    rng = np.random.default_rng(3)
    weights, pixels = rng.normal(size=16), rng.uniform(size=16)
    for label in (0, 1):
        L, xs = logistic_loss(weights, 0.2, pixels, label)
        L.backward()
        z = 0.2 + float(weights @ pixels)
        p = 1 / (1 + math.exp(-z))
        expected_loss = -math.log(p) if label == 1 else -math.log(1 - p)
        assert math.isclose(L.data, expected_loss, rel_tol=1e-12)
        for x, w in zip(xs, weights):
            assert math.isclose(x.grad, (p - label) * w, rel_tol=1e-9, abs_tol=1e-15)
    assert set(glyphs()) == {"T", "L", "O", "X"}


def test_mlp_loss_is_deterministic_and_sized():
    a, b = mlp_loss(3, (4, 4), 1, seed=7), mlp_loss(3, (4, 4), 1, seed=7)
    assert a.data == b.data
    assert len(topological_order(mlp_loss(2, (2,), 1))) == 28
    a.backward()
    check_fanout_rule(trace(a))


@pytest.mark.parametrize("module", [examples, ppo, glyphs_module, mlp, limits],
                         ids=lambda m: m.__name__)
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


def test_the_old_scenarios_module_still_answers_to_its_names():
    assert scenarios.Scene is examples.Example and scenarios.SCENES is EXAMPLES
    assert scenarios.scene("seed") is SEED
    for name in scenarios.__all__:
        assert getattr(scenarios, name) is not None
