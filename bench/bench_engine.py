"""Benchmark of graphviz_core.engine against a textbook closure-based scalar engine.

Run from the repository root::

    python bench/bench_engine.py

The baseline is micrograd-style: each op stores a ``_backward`` closure that points back at
its output (a reference cycle per node), parents in a ``set`` and a recursive topological
sort. Times are the best of several repeats (robust on a shared, loaded machine), with the garbage collector on (as in the app) and off
(for reference).
"""

from __future__ import annotations

import gc
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from graphviz_core import Value, parse, topological_order  # noqa: E402


# --- the baseline: a textbook closure engine ------------------------------------------------

class CValue:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __add__(self, other):
        other = other if isinstance(other, CValue) else CValue(other)
        out = CValue(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, CValue) else CValue(other)
        out = CValue(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other):
        out = CValue(self.data ** other, (self,), f"**{other}")

        def _backward():
            self.grad += (other * self.data ** (other - 1)) * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = CValue(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rmul__(self, other):
        return self * other

    def backward(self):
        topo, visited = [], set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()


# --- graphs ----------------------------------------------------------------------------------

def mlp(V, n_in: int, hidden: tuple, n_out: int, seed: int = 0):
    """Squared error of a scalar tanh MLP, built with the engine class ``V``: each neuron is
    ``tanh(b + sum_i w_i x_i)``, as in micrograd's demo. Returns the loss."""
    rng = random.Random(seed)
    acts = [V(rng.uniform(-1, 1)) for _ in range(n_in)]
    sizes = [n_in, *hidden, n_out]
    for layer, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        outs = []
        for _ in range(fan_out):
            total = V(rng.uniform(-1, 1))
            for a in acts:
                total = total + V(rng.uniform(-1, 1)) * a
            outs.append(total.tanh() if layer < len(sizes) - 2 else total)
        acts = outs
    loss = None
    for out in acts:
        term = (out - V(rng.uniform(-1, 1))) ** 2
        loss = term if loss is None else loss + term
    return loss


def count_nodes_ours(root) -> int:
    return len(topological_order(root))


SEED_SOURCE = "(w*x + b - y)**2"
SEED_VALUES = {"w": 2.0, "x": 1.5, "b": 0.5, "y": 1.0}
SEED_EXPRESSION = parse(SEED_SOURCE)


def seed_ours():
    w, x, b, y = Value(2.0, "w"), Value(1.5, "x"), Value(0.5, "b"), Value(1.0, "y")
    L = (w * x + b - y) ** 2
    L.backward()
    return L


def seed_parsed():
    L = SEED_EXPRESSION.build(SEED_VALUES)
    L.backward()
    return L


def seed_parse_each_time():
    L = parse(SEED_SOURCE).build(SEED_VALUES)
    L.backward()
    return L


def seed_closure():
    w, x, b, y = CValue(2.0), CValue(1.5), CValue(0.5), CValue(1.0)
    L = (w * x + b - y) ** 2
    L.backward()
    return L


# --- timing ----------------------------------------------------------------------------------

def timed(fn, repeat: int, gc_on: bool) -> float:
    """Best seconds of ``fn()`` over ``repeat`` runs, the collector on or off."""
    times = []
    was = gc.isenabled()
    try:
        for _ in range(repeat):
            gc.collect()
            gc.enable() if gc_on else gc.disable()
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
            gc.enable()
    finally:
        gc.enable() if was else gc.disable()
    return min(times)


def bench_mlp(V, size, gc_on: bool, repeat: int):
    """(build s, backward s, nodes) for one MLP graph with engine ``V``."""
    builds, backs = [], []
    nodes = 0
    was = gc.isenabled()
    for _ in range(repeat):
        gc.collect()
        gc.enable() if gc_on else gc.disable()
        t0 = time.perf_counter()
        root = mlp(V, *size)
        t1 = time.perf_counter()
        root.backward()
        t2 = time.perf_counter()
        gc.enable()
        builds.append(t1 - t0)
        backs.append(t2 - t1)
        if V is Value:
            nodes = count_nodes_ours(root)
        del root
    gc.enable() if was else gc.disable()
    return min(builds), min(backs), nodes


def per_call(fn, gc_on: bool, calls: int = 20000, repeat: int = 7) -> float:
    def loop():
        for _ in range(calls):
            fn()
    return timed(loop, repeat, gc_on) / calls


def main() -> None:
    sys.setrecursionlimit(100_000)  # the baseline's recursive topological sort
    size = (2, (140, 140), 1)  # micrograd's demo MLP shape, widened to ~60,000 nodes
    repeat = 5
    print(f"python {sys.version.split()[0]}, MLP n_in={size[0]} hidden={size[1]} "
          f"n_out={size[2]}, best of {repeat}")
    rows = []
    for gc_on in (True, False):
        ob, ok, nodes = bench_mlp(Value, size, gc_on, repeat)
        cb, ck, _ = bench_mlp(CValue, size, gc_on, repeat)
        rows.append((gc_on, nodes, ob, ok, cb, ck))
    header = (f"{'graph':<40}{'gc':>4}{'ours':>12}{'closure':>12}{'ours/closure':>14}")
    print()
    print(header)
    print("-" * len(header))
    for gc_on, nodes, ob, ok, cb, ck in rows:
        label = "on" if gc_on else "off"
        print(f"{f'MLP build ({nodes} nodes), per node':<40}{label:>4}{ob / nodes * 1e6:>9.2f} us"
              f"{cb / nodes * 1e6:>9.2f} us{ob / cb:>14.2f}")
        print(f"{'MLP backward, per node':<40}{label:>4}{ok / nodes * 1e6:>9.2f} us"
              f"{ck / nodes * 1e6:>9.2f} us{ok / ck:>14.2f}")
        print(f"{'MLP build+backward, per node':<40}{label:>4}{(ob + ok) / nodes * 1e6:>9.2f} us"
              f"{(cb + ck) / nodes * 1e6:>9.2f} us{(ob + ok) / (cb + ck):>14.2f}")
    for gc_on in (True, False):
        label = "on" if gc_on else "off"
        closure = per_call(seed_closure, gc_on)
        for name, fn in (("seed: Value API", seed_ours), ("seed: parsed once, build", seed_parsed),
                         ("seed: parse+build each call", seed_parse_each_time)):
            ours = per_call(fn, gc_on, calls=20000 if fn is not seed_parse_each_time else 5000)
            print(f"{name + ' + backward':<40}{label:>4}{ours * 1e6:>9.2f} us"
                  f"{closure * 1e6:>9.2f} us{ours / closure:>14.2f}")
    print()
    print("per node: seconds / nodes of our traced graph (the closure graph has the same ops")
    print("and leaves); seed rows: per call of build + backward on L = (w*x + b - y)**2.")


if __name__ == "__main__":
    main()
