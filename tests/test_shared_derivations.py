"""Sessions that open the same link share one derivation, and never each other's changes."""

from __future__ import annotations

import panel as pn
import pytest

from expression_strategies import numbers_of
from components import shared_derivations as shared
from components.model import ExplorerModel
from components.scene import to_json
from graphviz_core import Value
from graphviz_core.examples import SEED


@pytest.fixture
def cache(derivations):
    return derivations


def test_a_second_session_of_the_same_link_takes_the_first_ones_derivation(cache):
    first = ExplorerModel()
    assert (cache.hits, cache.stored, cache.size) == (0, 1, 0)  # shared as it is: no pickle
    second = ExplorerModel()
    assert cache.hits == 1
    # the very objects the first session shows (read by both, written by neither)
    assert second.graph is first.graph and second.scene is first.scene
    assert first.shares_scene(first.scene) and second.shares_scene(second.scene)
    own = shared.SharedDerivations(max_entries=0)  # keeps nothing: every derivation fresh
    pn.state.cache[shared.CACHE_KEY] = own
    third = ExplorerModel()
    assert own.hits == 0
    assert to_json(third.scene) == to_json(second.scene)
    assert numbers_of(third.graph) == numbers_of(second.graph)


def test_a_derivation_no_session_shows_and_none_copied_is_not_kept(cache):
    import gc

    a = ExplorerModel()
    assert ExplorerModel().graph is a.graph
    del a
    gc.collect()  # the sessions that showed it are gone and none made a copy: not kept
    b = ExplorerModel()
    assert (cache.hits, cache.stored, cache.size) == (1, 2, 0)
    b.set_values({"w": -1.0})  # a copy of its own: the bytes it was made from are kept
    del b
    gc.collect()
    later = ExplorerModel()
    assert (cache.hits, cache.stored) == (2, 2) and later.shares_scene(later.scene)
    pn.state.cache[shared.CACHE_KEY] = shared.SharedDerivations(max_entries=0)
    assert to_json(later.scene) == to_json(ExplorerModel().scene)  # as a fresh derivation


def test_other_values_modes_or_switches_are_other_derivations(cache):
    ExplorerModel()
    ExplorerModel(values={**SEED.values, "w": -1.0})
    ExplorerModel(mode="backward")
    ExplorerModel(requires_grad={"w": False})
    ExplorerModel(values={**SEED.values, "w": -0.0})  # -0.0 is drawn otherwise than 0.0
    ExplorerModel(values={**SEED.values, "w": 0.0})
    assert (cache.hits, cache.stored) == (0, 6)


def test_a_release_in_one_session_changes_nothing_another_session_sees(cache):
    a, b, c = ExplorerModel(), ExplorerModel(), ExplorerModel()  # b and c read a's derivation
    assert (cache.stored, cache.hits) == (1, 2) and a.graph is b.graph is c.graph
    before = numbers_of(c.graph), to_json(c.scene)
    graph_a = a.graph
    a.set_values({"w": -2.5, "b": 1.25})
    assert a.graph is not graph_a  # the session that derived it copies it first too
    assert numbers_of(a.graph) != before[0] and cache.size > 0  # the copy's bytes are kept
    graph_a = a.graph
    a.set_values({"w": -2.0})
    assert a.graph is graph_a  # from then on its own: re-derived in place, over its own tape
    graph_b = b.graph
    b.set_values({"w": 1.75})
    assert b.graph is not graph_b  # a copy of its own first ...
    moved = numbers_of(b.graph)
    b.set_values({"x": -1.0})
    assert numbers_of(b.graph) != moved
    b.set_values({"w": 1.75, "x": SEED.values["x"]})
    assert numbers_of(b.graph) == moved  # ... then in place, as a session that derived it
    assert (numbers_of(c.graph), to_json(c.scene)) == before
    assert (numbers_of(graph_b), c.graph is graph_b) == (before[0], True)
    # nor what a session opened afterwards gets
    d = ExplorerModel()
    assert (numbers_of(d.graph), to_json(d.scene)) == before
    fresh = ExplorerModel(values=b.values)
    assert (numbers_of(fresh.graph), to_json(fresh.scene)) == (moved, to_json(b.scene))


def test_a_network_drawn_by_layers_is_shared_and_stays_each_sessions_own(cache):
    def model(**values):
        return ExplorerModel(expression="mlp(2, 4, 4, 1)", level="layer", mode="backward",
                             **({"values": values} if values else {}))
    a, b = model(), model()
    assert cache.hits == 1 and a.drawn is b.drawn
    before = numbers_of(a.graph), numbers_of(a.drawn), to_json(a.scene)
    drawn_b = b.drawn
    b.set_values({"x0": 2.0, "x1": -1.5})
    assert b.drawn is not drawn_b and numbers_of(b.drawn) != before[1]
    assert (numbers_of(a.graph), numbers_of(a.drawn), to_json(a.scene)) == before
    assert numbers_of(drawn_b) == before[1]  # what the next session takes is unchanged
    fresh = model(**b.values)
    assert numbers_of(fresh.graph) == numbers_of(b.graph)
    assert numbers_of(fresh.drawn) == numbers_of(b.drawn)
    assert to_json(fresh.scene) == to_json(b.scene)


def test_only_a_pages_first_derivation_is_kept(cache):
    model = ExplorerModel()
    model.set_expression("u*v + sin(u)")  # typed: this student's, not a link's
    model.mode = "backward"
    assert (cache.stored, len(cache)) == (1, 1)


def test_a_graph_given_as_values_is_not_shared(cache):
    w = Value(0.5, "w")
    ExplorerModel((w * 3).tanh())
    ExplorerModel((w * 3).tanh())
    assert (cache.hits, cache.stored, len(cache)) == (0, 0, 0)


def test_the_cache_is_bounded_and_forgets_the_least_recently_used():
    cache = shared.SharedDerivations(max_entries=2)
    for key in "abc":
        cache.put(key, [key])
    assert cache.get("a") is None and cache.get("c").value == ["c"]
    cache.get("b")
    cache.put("d", ["d"])  # c is now the least recently used
    assert cache.get("c") is None and cache.get("b").value == ["b"] and len(cache) == 2
    small = shared.SharedDerivations(max_bytes=len(shared.freeze(["x" * 100])) + 10)
    small.put("one", ["x" * 100])
    small.put("two", ["y" * 100])
    assert small.get("one") is None and small.get("two").value == ["y" * 100]
    assert small.size <= small.max_bytes


def test_sessions_showing_a_shared_scene_send_the_text_encoded_once(cache):
    from components.graph_view import GraphView
    from components.scene import SharedSceneTexts

    texts = SharedSceneTexts()
    pn.state.cache["bpx_scene_texts"] = texts
    try:
        first = GraphView(model=ExplorerModel())  # derives the scene and shares it
        second, third = (GraphView(model=ExplorerModel()) for _ in range(2))
        assert second.model.shares_scene(second.model.scene) and texts.hits == 2
        sent = [view.meta.data["json"][0] for view in (first, second, third)]
        assert sent[0] == sent[1] == sent[2]
        zh = GraphView(model=ExplorerModel(), lang="zh")  # another language: another text
        assert '"lang":"zh"' in zh.meta.data["json"][0] and texts.hits == 2
        # a release gives the session its own graph and scene: encoded for it alone
        second.model.set_values({**SEED.values, "w": -1.25})
        assert not second.model.shares_scene(second.model.scene)
        assert texts.hits == 2
    finally:
        del pn.state.cache["bpx_scene_texts"]
