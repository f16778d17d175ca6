"""Benchmark of the adapters on ~1,000-node graphs: from_micrograd and from_torch.

Run from the repository root (micrograd and torch installed)::

    python bench/bench_adapters.py

The graph is a scalar MLP 2-16-16-1 with a squared-error loss, written as a learner writes
it: with micrograd's own ``Value`` and ``nn.MLP`` (relu), and as a PyTorch function of 0-d
float64 tensors (tanh). Each figure is the median CPU time (``time.process_time``) of
several runs, so it holds on a loaded machine; "with check" includes the library's own
``backward()`` and the node-by-node comparison, "without" only the conversion and our
backward pass. For scale, the library's own build + backward of the same graph.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from graphviz_core import from_micrograd, from_torch, topological_order  # noqa: E402

REPEATS = 7
SIZES = (2, 16, 16, 1)


def cpu(fn) -> float:
    """Median CPU seconds of ``fn()`` over REPEATS runs."""
    times = []
    for _ in range(REPEATS):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def micrograd_graph():
    from micrograd.engine import Value
    from micrograd.nn import MLP
    random.seed(0)
    net = MLP(SIZES[0], list(SIZES[1:]))
    xs = [Value(0.5), Value(-1.0)]
    loss = (net(xs) - Value(0.25)) ** 2
    return loss, xs


def torch_loss(**leaves):
    import torch
    rng = random.Random(0)
    xs = [leaves["x0"], leaves["x1"]]
    for fan_out in SIZES[1:]:
        xs = [torch.tanh(sum((rng.uniform(-1, 1) * x for x in xs), rng.uniform(-1, 1)))
              for _ in range(fan_out)]
    return (xs[0] - 0.25) ** 2


def main() -> None:
    import torch  # fail early without it; torch_own uses it

    warnings.simplefilter("error")  # a GradientMismatch would end the benchmark
    rows = []

    loss, xs = micrograd_graph()
    nodes = len(topological_order(from_micrograd(loss, check=False)))

    def micrograd_own():
        loss, _ = micrograd_graph()
        loss.backward()
    rows.append(("micrograd", nodes, cpu(lambda: from_micrograd(loss)),
                 cpu(lambda: from_micrograd(loss, check=False)), cpu(micrograd_own)))

    leaves = {"x0": 0.5, "x1": -1.0}
    nodes = len(topological_order(from_torch(torch_loss, check=False, **leaves)))

    def torch_own():
        ts = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in leaves.items()}
        torch_loss(**ts).backward()
    rows.append(("torch", nodes, cpu(lambda: from_torch(torch_loss, **leaves)),
                 cpu(lambda: from_torch(torch_loss, check=False, **leaves)), cpu(torch_own)))

    print(f"MLP {'-'.join(map(str, SIZES))} + squared error; median CPU time of {REPEATS} runs")
    print(f"{'source':10} {'nodes':>6} {'with check ms':>14} {'without ms':>11} "
          f"{'us/node':>8} {'library build+backward ms':>26}")
    for name, n, checked, unchecked, own in rows:
        print(f"{name:10} {n:6d} {checked * 1e3:14.1f} {unchecked * 1e3:11.1f} "
              f"{checked / n * 1e6:8.1f} {own * 1e3:26.1f}")


if __name__ == "__main__":
    main()
