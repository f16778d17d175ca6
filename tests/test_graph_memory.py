"""A Value graph holds no reference cycles: dropped, it is freed by reference counting alone,
so the garbage collector finds nothing to do (and building one wakes it only for its young
generations)."""

from __future__ import annotations

import gc

from graphviz_core import Value, parse, topological_order, trace
from graphviz_core.mlp import ScalarMLP
from graphviz_core.tape import Replay


def garbage_in_cycles(make) -> int:
    """How many of the core's objects the collector finds unreachable after ``make()``'s result
    is dropped (only the core's: threads other tests left in this worker make garbage of their
    own meanwhile, and a cycle of a graph always holds one of its nodes)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        made = make()
        del made
        gc.collect()
        ours = [o for o in gc.garbage
                if (type(o).__module__ or "").startswith("graphviz_core")]
        return len(ours)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_built_and_differentiated_graphs_leave_no_cycles():
    def typed():
        root = parse("(w*x + b - y)**2 + sg(log(w)) * max(x, y)").build(
            {"w": 2.0, "x": 1.5, "b": 0.5, "y": 1.0})
        root.backward()
        root.backward()
        return root, topological_order(root)

    def by_hand():
        a = Value(3.0, "a")
        out = a
        for _ in range(3000):  # deeper than the recursion limit: sorted with a stack
            out = (out * 1.0001).tanh() + a
        out.backward()
        return out

    assert garbage_in_cycles(typed) == 0
    assert garbage_in_cycles(by_hand) == 0


def test_a_replay_leaves_no_cycles():
    net = ScalarMLP(2, (4,), 1)
    graph = trace(net.build({"x0": 0.5, "x1": -0.5}))
    replay = Replay(graph, net.variables)
    assert garbage_in_cycles(lambda: replay.run({"x0": 1.0, "x1": 2.0})) == 0
