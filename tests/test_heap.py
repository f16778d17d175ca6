"""components/heap.py and budget.walks_deferred: what a server does so that the collector's
full passes and Bokeh's walks of a document's models stay out of students' way."""

from __future__ import annotations

import gc
import json
import pathlib
import subprocess
import sys
import weakref

import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import Column, Div

from components import heap
from components.budget import walks_deferred


class Cycle:
    """Garbage only the cyclic collector frees."""

    def __init__(self):
        self.me = self


@pytest.fixture
def server_heap(monkeypatch):
    """heap installed as on a server, undone after; scheduled reclaims recorded, not run."""
    from panel.io import document

    scheduled = []
    monkeypatch.setattr(document, "_garbage_collect", document._garbage_collect)
    monkeypatch.setattr(pn.state, "schedule_task",
                        lambda name, callback, at=None, **kw: scheduled.append((name, callback)))
    pn.state.cache.pop(heap.CACHE_KEY, None)
    heap.install()
    try:
        yield scheduled
    finally:
        gc.unfreeze()
        pn.state.cache.pop(heap.CACHE_KEY, None)


def test_what_settled_dies_uncollected_until_the_server_is_idle(server_heap):
    garbage = Cycle()
    alive = weakref.ref(garbage)
    heap.settle()
    del garbage
    gc.collect()
    assert alive() is not None  # frozen: out of every collection

    heap.activity().touch()  # a student just asked for something: the reclaim waits
    heap.reclaim()
    assert alive() is not None and server_heap == [("gc.collect", heap.reclaim)]

    heap.activity().touch(now=heap.activity().at - heap.IDLE_SECONDS)  # quiet since a while
    heap.reclaim()
    assert alive() is None


def test_a_busy_server_collects_within_the_longest_deferral(server_heap):
    garbage = Cycle()
    alive = weakref.ref(garbage)
    heap.settle()
    del garbage
    state = heap.activity()
    state.building(+1)  # a page is being built, and stays so
    heap.reclaim()
    assert alive() is not None
    state.due_since -= heap.MAX_DEFER_SECONDS
    heap.reclaim()
    assert alive() is None
    state.building(-1)


def test_nothing_is_frozen_outside_a_server():
    garbage = Cycle()
    alive = weakref.ref(garbage)
    heap.settle()
    heap.touch()
    del garbage
    gc.collect()
    assert alive() is None and gc.get_freeze_count() == 0


def counting_walks(doc, monkeypatch) -> list:
    walks = []
    recompute = doc.models.recompute
    monkeypatch.setattr(doc.models, "recompute", lambda: walks.append(1) or recompute())
    return walks


def test_a_change_of_numbers_walks_no_model_and_new_models_are_walked_once(monkeypatch):
    doc = Document()
    column = Column(children=[Div(text="a")])
    doc.add_root(column)
    walks = counting_walks(doc, monkeypatch)
    with walks_deferred(doc):
        column.children[0].text = "b"  # numbers and text: the models stay the same
    assert walks == []

    with walks_deferred(doc):
        column.children = [Div(text="c")]
        column.children = [*column.children, Div(text="d")]
    assert walks == [1]
    assert {m.text for m in doc.models if isinstance(m, Div)} == {"c", "d"}


def test_walks_deferred_inside_bokehs_freeze_leave_the_walk_to_it(monkeypatch):
    doc = Document()
    column = Column()
    doc.add_root(column)
    walks = counting_walks(doc, monkeypatch)
    with doc.models.freeze():
        with walks_deferred(doc):
            column.children = [Div(text="e")]
        assert walks == []
    assert walks == [1] and len(doc.models) == 2


def test_the_session_census_counts_frozen_documents(server_heap):
    from components import lifecycle

    before = lifecycle.census()["documents"]
    doc = Document()
    heap.settle()
    assert gc.is_tracked(doc) and lifecycle.census()["documents"] == before + 1
    del doc
    assert lifecycle.census()["documents"] == before  # closed: collected, frozen or not


def test_a_root_added_while_walks_are_deferred_is_walked(monkeypatch):
    doc = Document()
    doc.add_root(Column())
    walks = counting_walks(doc, monkeypatch)
    with walks_deferred(doc):
        doc.add_root(Div(text="f"))
    assert walks == [1] and any(isinstance(m, Div) for m in doc.models)


def test_the_census_waits_for_the_page_being_built(server_heap, monkeypatch):
    # gc.get_objects() beside a build in another thread made that build's tuple() fail
    from components import lifecycle

    taken, later = [], []
    monkeypatch.setattr(lifecycle, "census", lambda: taken.append(1))
    loop = type("Loop", (), {"call_later": lambda self, *a: later.append(a)})()
    state = heap.activity()
    state.building(+1)
    lifecycle._census_between_builds(loop)
    assert taken == [] and len(later) == 1  # looked at again soon
    state.building(-1)
    _, again, *args = later[0]
    again(*args)
    assert taken == [1]


def test_a_reclaim_gives_the_c_allocators_free_memory_back(server_heap, monkeypatch):
    trims = []
    monkeypatch.setattr(heap, "trim", lambda: trims.append(1) or True)
    heap.activity().touch()  # busy: the reclaim waits, and so does the trim
    heap.reclaim()
    assert trims == []
    heap.activity().touch(now=heap.activity().at - heap.IDLE_SECONDS)
    heap.reclaim()
    assert trims == [1]


def test_a_reclaim_forgets_the_template_roots_of_closed_pages_only(server_heap):
    """Panel lists each page's template root in ``pn.state._fake_roots`` and never takes it
    out: one string per page opened stayed for good, pinning the arenas of an abuse wave."""
    import types

    from panel.io.document import _destroy_document

    def page():
        doc = Document()
        pn.template.BootstrapTemplate(main=[pn.pane.Markdown("x")]).server_doc(doc)
        return doc, [ref for ref in pn.state._fake_roots if pn.state._views[ref][2] is doc]

    (closed, closed_roots), (alive, alive_roots) = page(), page()
    context = types.SimpleNamespace(_document=closed, id="closed")
    for callback in list(closed.session_destroyed_callbacks):  # as a server's session end
        try:  # (outside a server, a root's location was never registered: KeyError)
            callback(context)
        except KeyError:
            pass
    closed.destroy = None  # Panel's destroy deletes it when done
    _destroy_document(closed, None)
    assert closed_roots and alive_roots and set(closed_roots) <= set(pn.state._fake_roots)
    heap.activity().touch(now=heap.activity().at - heap.IDLE_SECONDS)
    heap.reclaim()
    assert not set(closed_roots) & set(pn.state._fake_roots)
    assert set(alive_roots) <= set(pn.state._fake_roots)  # a live page keeps its root


ARENAS_OF_A_CROWD = """
import json
from components import heap
before = heap.allocator_figures()
crowd = [(k, float(k)) for k in range(200_000)]  # ~20 MB of small blocks
during = heap.allocator_figures()
del crowd
after = heap.allocator_figures()
print(json.dumps([before, during, after, heap.trim()]))
"""


def test_allocator_figures_see_the_interpreters_arenas_grow_and_empty():
    # in an interpreter of its own: in this worker, free blocks that earlier tests left in
    # the arenas would take the crowd without a new arena
    out = subprocess.run([sys.executable, "-c", ARENAS_OF_A_CROWD], capture_output=True,
                         text=True, check=True, timeout=300,
                         cwd=pathlib.Path(heap.__file__).resolve().parents[1])
    before, during, after, trimmed = json.loads(out.stdout)
    assert during["arenas"] >= before["arenas"] + 10
    assert after["arenas"] - after["free_pools"] < during["arenas"] - during["free_pools"]
    assert trimmed in (True, False)


def test_heap_doctests():
    import doctest

    assert doctest.testmod(heap).failed == 0


def test_the_loop_watch_logs_a_stall_with_where_the_loop_was(caplog):
    import asyncio
    import logging
    import threading
    import time

    from components import lifecycle

    def holds_the_loop():
        time.sleep(0.4)

    watches = []

    async def main():
        watches.append(lifecycle.LoopWatch(asyncio.get_running_loop(), threshold=0.15))
        await asyncio.sleep(0.1)
        asyncio.get_running_loop().call_soon(holds_the_loop)
        await asyncio.sleep(0)  # the loop is held here
        await asyncio.sleep(0.2)  # turning again: the watch sees the stall end

    lifecycle.log.propagate = True  # caplog listens at the root logger
    try:
        with caplog.at_level(logging.INFO, logger=lifecycle.log.name):
            # a loop of its own thread: this worker's thread may be running one already
            # (a browser test's Playwright, before this test in the same worker)
            runner = threading.Thread(target=asyncio.run, args=(main(),))
            runner.start()
            runner.join()
        watches[0].thread.join()  # it ends with its loop, and stops watching the collector
    finally:
        lifecycle.log.propagate = False
    stalls = [r.getMessage() for r in caplog.records if r.getMessage().startswith("bpx-stall ")]
    assert len(stalls) == 1 and "holds_the_loop" in stalls[0], stalls
    assert stalls[0].endswith(" holds_the_loop"), stalls  # via: the callback the loop ran
    assert int(stalls[0].split("ms=")[1].split()[0]) >= 300
    assert watches[0]._collector not in gc.callbacks


def test_a_first_network_shown_in_a_session_is_built_on_turns_of_the_loop_of_its_own():
    # the level bar's and the weight matrix's widgets and figures, made the first time a
    # network is shown (~300 ms of one turn for the first MLP), come each in a turn of the
    # loop of its own after the derivation's result: other students' events run between
    from panel.io.state import set_curdoc

    from components.explorer import Explorer
    from components.model import ExplorerModel

    doc, ticks = Document(), []
    from types import SimpleNamespace
    context = SimpleNamespace(id="test", request=SimpleNamespace(arguments={}, cookies={},
                                                                 headers={}))
    doc._session_context = lambda: context  # a server session's document
    doc.add_next_tick_callback = ticks.append
    with set_curdoc(doc):
        explorer = Explorer(model=ExplorerModel(expression="x*y"), lang="en", sync_url=False)
        doc.add_root(pn.panel(explorer).get_root(doc))
        explorer.model.expression = "mlp(2, 3, 1)"  # small: derived and applied at once
    groups, matrix = explorer.groups, explorer.matrix
    assert explorer.model.scene and matrix._layers() == ["h1", "out"]
    assert groups.level is None and matrix.weights is None  # nothing of them in that turn
    assert not groups.row.visible and not matrix.layout.visible
    turns = 0
    while ticks:
        turns += 1
        ticks.pop(0)()  # (the tick runs as Bokeh runs a session's callback: no curdoc set)
        assert turns < 20
    assert turns >= 5  # the bar; the matrix's figures, head, heatmaps, fill
    assert groups.row.visible and groups.level.value
    assert matrix.layout.visible and matrix.pick.value == "h1" and len(matrix.source.data["weight"]) == 6
    for fig in (matrix.weights[0], matrix.grads[0]):  # in the page (walked once added)
        assert doc.get_model_by_id(fig.id) is fig
    assert all(doc.get_model_by_id(m.id) is m for m, _ in (*groups.level._models.values(),
                                                         *matrix.pick._models.values()))
    with set_curdoc(doc):  # a second network: updated in the turn of its result, as before
        explorer.model.expression = "mlp(2, 4, 1)"
    assert len(matrix.source.data["weight"]) == 8
