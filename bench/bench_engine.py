"""Benchmark of graphviz_core.engine per phase, against micrograd 0.1.0 and a lean closure engine.

Run from the repository root::

    python bench/bench_engine.py             # --repeat N (default 7), --points N (default 60)
    python bench/bench_engine.py --profile   # cProfile of our backward on the MLP, top lines

Engines, each building the same graphs with its own ``Value`` class:

- ``ours``: :class:`graphviz_core.Value` (every feature on: zeroing, requires_grad pruning,
  the report counts, faults, stop-gradient);
- ``micrograd``: Karpathy's micrograd 0.1.0 (``pip install micrograd==0.1.0``, in the
  ``bench`` and ``test`` extras; the rows are left out, and the benchmark says so, without it);
- ``lean``: a slotted closure engine written below: ``__slots__``, parents in a tuple, one
  closure per node that takes the output's gradient as its argument (so it holds no reference
  back to its output: no reference cycle), an iterative topological sort. The fastest plain
  Python engine we could write in a few lines; it does none of our extra work.

Graphs: micrograd's demo network, a 2-16-16-1 relu MLP, with its squared error summed over
``--points`` random points (60: ~40,000 nodes, 337 parameters), and the article's seed graph
``L = (w*x + b - y)**2`` per call. Phases: build, backward, and for ours also trace (the
networkx graph the views read, as the app makes it: ``trace(root)``, its own backward pass
included, whose walk gives the order and the active nodes), JSON (the tape the page replays) and the server's
re-derivation of a slider release over the tape (:class:`graphviz_core.tape.Replay`: made
once per structure, then run and written into the graph per release). Last, a release as the
server pays it (``ExplorerModel.set_values`` and the scene's JSON) on ``mlp(2, 16, 16, 1)``
(982 nodes) and the grouped ``mlp(2, 60, 60, 1)`` (11,586 nodes). Times are CPU
seconds of this process (``time.process_time``: the machine is shared), median of
``--repeat`` rounds (each round runs every engine once, in turn), a ``gc.collect()`` before
each run; "gc on" is the app's setting.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from graphviz_core import Value, parse, to_tape, topological_order, trace  # noqa: E402
from graphviz_core.tape import Replay  # noqa: E402
from components.model import ExplorerModel  # noqa: E402
from components.scene import SceneJSON, to_json  # noqa: E402

try:
    from micrograd.engine import Value as MValue
except ImportError:  # the bench extra is not installed
    MValue = None


# --- the lean closure engine ------------------------------------------------------------------

class LValue:
    __slots__ = ("data", "grad", "_back", "_prev")

    def __init__(self, data, _prev=(), _back=None):
        self.data = data
        self.grad = 0.0
        self._prev = _prev
        self._back = _back

    def __add__(self, other):
        other = other if isinstance(other, LValue) else LValue(other)

        def back(g):
            self.grad += g
            other.grad += g
        return LValue(self.data + other.data, (self, other), back)

    def __mul__(self, other):
        other = other if isinstance(other, LValue) else LValue(other)

        def back(g):
            self.grad += other.data * g
            other.grad += self.data * g
        return LValue(self.data * other.data, (self, other), back)

    def __pow__(self, k):
        def back(g):
            self.grad += k * self.data ** (k - 1) * g
        return LValue(self.data ** k, (self,), back)

    def relu(self):
        def back(g):
            if self.data > 0:
                self.grad += g
        return LValue(0.0 if self.data < 0 else self.data, (self,), back)

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other if isinstance(other, LValue) else -other)

    __radd__ = __add__
    __rmul__ = __mul__

    def backward(self):
        order, seen, stack = [], {self}, [(self, iter(self._prev))]
        while stack:
            v, it = stack[-1]
            for p in it:
                if p not in seen:
                    seen.add(p)
                    stack.append((p, iter(p._prev)))
                    break
            else:
                stack.pop()
                order.append(v)
        for v in order:
            v.grad = 0.0
        self.grad = 1.0
        for v in reversed(order):
            if v._back is not None:
                v._back(v.grad)


# --- graphs -------------------------------------------------------------------------------------

SIZES = (2, 16, 16, 1)


def mlp_loss(V, points: int, seed: int = 0):
    """Squared error of a relu MLP (``SIZES``, linear output) summed over ``points`` random
    points, built with the engine class ``V``; inputs and targets are plain floats."""
    rng = random.Random(seed)
    layers = [[([V(rng.uniform(-1, 1)) for _ in range(fan_in)], V(0.0))
               for _ in range(fan_out)] for fan_in, fan_out in zip(SIZES, SIZES[1:])]
    loss = None
    for _ in range(points):
        acts = [rng.uniform(-2, 2) for _ in range(SIZES[0])]
        target = rng.choice((-1.0, 1.0))
        for depth, layer in enumerate(layers):
            outs = []
            for weights, bias in layer:
                total = bias  # micrograd's Neuron: sum((wi*xi for ...), self.b)
                for w, a in zip(weights, acts):
                    total = total + w * a
                outs.append(total.relu() if depth < len(layers) - 1 else total)
            acts = outs
        term = (acts[0] - target) ** 2
        loss = term if loss is None else loss + term
    return loss


SEED_SOURCE = "(w*x + b - y)**2"
SEED_VALUES = {"w": 2.0, "x": 1.5, "b": 0.5, "y": 1.0}


def seed_loss(V):
    w, x, b, y = V(2.0), V(1.5), V(0.5), V(1.0)
    return (w * x + b - y) ** 2


# --- timing -------------------------------------------------------------------------------------

def cpu() -> float:
    return time.process_time()


def median_phases(runs: dict, repeat: int, gc_on: bool) -> dict[str, dict[str, float]]:
    """Median CPU seconds of each phase each engine's ``run()`` reports ({phase: seconds}),
    over ``repeat`` rounds; each round runs every engine once, in turn (starting with the
    next engine each round), so a change of the machine's load falls on all of them alike."""
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in runs}
    was = gc.isenabled()
    try:
        names = list(runs)
        for round_ in range(repeat):
            # each round in another order: no engine always runs after another's garbage
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                run = runs[name]
                gc.enable()
                gc.collect()
                gc.enable() if gc_on else gc.disable()
                for phase, seconds in run().items():
                    samples[name].setdefault(phase, []).append(seconds)
    finally:
        gc.enable() if was else gc.disable()
    return {name: {phase: statistics.median(s) for phase, s in phases.items()}
            for name, phases in samples.items()}


def mlp_phases(V, points: int):
    """A run on the MLP: build, backward (and for ours trace, re-derive, JSON)."""
    def run():
        t0 = cpu()
        root = mlp_loss(V, points)
        t1 = cpu()
        root.backward()
        t2 = cpu()
        out = {"build": t1 - t0, "backward": t2 - t1, "build+backward": t2 - t0}
        if V is Value:
            graph = trace(root)  # as the app calls it: the backward pass gives its order
            t3 = cpu()
            tape = to_tape(graph)
            text = to_json(tape)
            t4 = cpu()
            replay = Replay(graph, ())
            t5 = cpu()
            replay.write(replay.run({}))
            t6 = cpu()
            out.update({"trace (with its backward)": t3 - t2, "JSON (tape)": t4 - t3,
                        "Replay(graph)": t5 - t4, "replay: run + write": t6 - t5})
            del graph, tape, text, replay
        del root
        return out
    return run


def seed_phases(V, calls: int):
    def run():
        t0 = cpu()
        for _ in range(calls):
            seed_loss(V)
        t1 = cpu()
        for _ in range(calls):
            seed_loss(V).backward()
        t2 = cpu()
        build = (t1 - t0) / calls
        total = (t2 - t1) / calls
        return {"build": build, "backward": total - build, "build+backward": total}
    return run


def seed_parsed(calls: int):
    expression = parse(SEED_SOURCE)

    def run():
        t0 = cpu()
        for _ in range(calls):
            expression.build(SEED_VALUES).backward()
        t1 = cpu()
        for _ in range(calls):
            trace(expression.build(SEED_VALUES))
        t2 = cpu()
        return {"parsed once: build+backward": (t1 - t0) / calls,
                "parsed once: build+trace": (t2 - t1) / calls}
    return run


def releases(text: str, repeat: int) -> tuple[int, float, float]:
    """(nodes, median CPU seconds of a slider release, of its scene's JSON) on ``text``."""
    model = ExplorerModel(expression=text)
    encode = SceneJSON()  # as GraphView encodes the scenes it sends
    encode(model.scene)
    derive, send = [], []
    for i in range(repeat):
        values = {name: value + 0.01 * (i + 1) for name, value in model.values.items()}
        t0 = cpu()
        model.set_values(values)
        t1 = cpu()
        encode(model.scene)
        t2 = cpu()
        derive.append(t1 - t0)
        send.append(t2 - t1)
    return len(model.graph), statistics.median(derive), statistics.median(send)


def profile_backward(points: int) -> None:
    import cProfile
    import pstats

    root = mlp_loss(Value, points)
    profiler = cProfile.Profile()
    profiler.enable()
    root.backward()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--points", type=int, default=60)
    parser.add_argument("--calls", type=int, default=5000, help="seed graph calls per run")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.profile:
        profile_backward(args.points)
        return
    engines = {"ours": Value, "micrograd": MValue, "lean": LValue}
    if MValue is None:
        print("micrograd 0.1.0 is not installed (pip install -e '.[bench]'): its columns are empty")
        engines.pop("micrograd")
    nodes = len(topological_order(mlp_loss(Value, args.points)))
    print(f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}, "
          f"median of {args.repeat}, CPU time")
    names = list(engines)
    header = f"{'graph / phase':<38}{'gc':>4}" + "".join(f"{n:>12}" for n in names) + \
        "".join(f"{'ours/' + n:>16}" for n in names[1:])
    for title, unit, scale, runs in (
            (f"MLP {'-'.join(map(str, SIZES))} relu, {args.points} points, {nodes} nodes: "
             "per node", "us", 1e6 / nodes,
             {n: mlp_phases(V, args.points) for n, V in engines.items()}),
            ("seed L = (w*x + b - y)**2: per call", "us", 1e6,
             {n: seed_phases(V, args.calls) for n, V in engines.items()})):
        print()
        print(title)
        print(header)
        print("-" * len(header))
        for gc_on in (True, False):
            results = median_phases(runs, args.repeat, gc_on)
            for phase in results["ours"]:
                cells = [results[n].get(phase) for n in names]
                line = f"{phase:<38}{'on' if gc_on else 'off':>4}"
                line += "".join(f"{c * scale:>9.3f} {unit}" if c is not None else f"{'':>12}"
                                for c in cells)
                line += "".join(f"{cells[0] / c:>16.2f}" if c else f"{'':>16}" for c in cells[1:])
                print(line)
    extra = median_phases({"ours": seed_parsed(args.calls)}, args.repeat, True)["ours"]
    print()
    for phase, seconds in extra.items():
        print(f"seed, {phase:<40} gc on {seconds * 1e6:9.2f} us per call")
    print()
    for text in ("mlp(2, 16, 16, 1)", "mlp(2, 60, 60, 1)"):
        nodes, derive, send = releases(text, args.repeat)
        print(f"release on {text} ({nodes} nodes): re-derive {derive * 1e3:.1f} ms + scene JSON "
              f"{send * 1e3:.1f} ms = {(derive + send) * 1e3:.1f} ms CPU (median of {args.repeat})")
    print()
    print("per node: CPU seconds / nodes of the graph (every engine builds the same ops).")
    print("ours/x < 1: ours is faster.")


if __name__ == "__main__":
    main()
