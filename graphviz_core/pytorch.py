"""The same graph in PyTorch: a complete program a student can run beside the explorer.

:func:`to_pytorch` writes one line of ``torch`` per node of the traced graph (float64,
the variables as leaf tensors with ``requires_grad``), calls ``.backward()`` and prints,
as its last line, a JSON object ``{variable: gradient}``: what our engine computes, as
autograd computes it. ``sg`` becomes ``.detach()``, ``clip`` ``torch.clamp``.

Where the two differ by design: at a tie of ``min``/``max`` PyTorch splits the gradient
in halves while our engine gives it to the first input, and ``relu``/``abs`` at exactly 0
follow PyTorch's own conventions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from .engine import OPS
from .expression import parse
from .trace import trace

__all__ = ["to_pytorch", "literal", "TORCH"]

# each op as a torch expression (the op table's Op.torch); inputs {0}, {1}, {2}, the op's
# constant parameter {p}
TORCH = {name: op.torch for name, op in OPS.items()}
# names a program of ours defines or reads itself
RESERVED = {"torch", "json", "print", "float", "None", "True", "False"}


def literal(x: float) -> str:
    """``x`` as a Python literal that reads back as the same float.

    Examples
    --------
    >>> literal(2), literal(-1.37), literal(1e-5), literal(float("-inf"))
    ('2.0', '-1.37', '1e-05', "float('-inf')")
    """
    x = float(x)
    return repr(x) if math.isfinite(x) else f"float({str(x)!r})"


def to_pytorch(source: str, values: dict[str, float],
               requires_grad: dict[str, bool] | None = None,
               leaf_text: Callable[[str, float], str] = lambda name, x: literal(x)) -> str:
    """A runnable PyTorch program that builds ``source`` at ``values`` and differentiates it.

    Parameters
    ----------
    source : str
        An expression of the explorer's language (parsed by :func:`~graphviz_core.parse`).
    values : dict
        Variable name -> value; a missing variable is 1.0, as in the explorer.
    requires_grad : dict, optional
        Variable name -> False for leaves whose gradient is not wanted (their JSON entry
        is ``null``).
    leaf_text : callable, optional
        (variable name, value) -> how its value is written (default :func:`literal`; a
        page with no server behind it writes a placeholder its replay fills).

    Returns
    -------
    str
        Python source. Its last printed line is ``{"variable": gradient, ...}`` in JSON
        (``NaN`` and ``Infinity`` as Python's ``json`` writes them).

    Examples
    --------
    >>> program = to_pytorch("(w*x + b - y)**2", {"w": 2, "x": 1.5, "b": 0.5, "y": 1})
    >>> print(program.split("one line per node of the graph")[1].split("# the backward pass")[0].strip())
    z1 = w * x
    z2 = z1 + b
    z3 = z2 - y
    L = z3 ** 2.0
    >>> program.strip().splitlines()[-1]
    'print(json.dumps({"w": _grad(w), "x": _grad(x), "b": _grad(b), "y": _grad(y)}))'
    """
    expression = parse(source)
    flags = requires_grad or {}
    full = {name: float(values.get(name, 1.0)) for name in expression.variables}
    graph = trace(expression.build(full, flags))
    nodes = graph.nodes
    root = graph.graph["root"]
    taken: set[str] = set(RESERVED)
    names: dict[int, str] = {}

    def identifier(n: int) -> str:
        name = nodes[n]["name"]
        while name in taken:
            name += "_"
        taken.add(name)
        return name

    leaves, lines = [], []
    for n in graph:
        node = nodes[n]
        if node["op"]:
            continue
        if node["kind"] == "constant":
            names[n] = f"_c({literal(node['value'])})"
            continue
        names[n] = identifier(n)
        leaves.append(
            f"{names[n]} = torch.tensor({leaf_text(node['name'], node['value'])}, dtype=torch.float64, "
            f"requires_grad={bool(node['requires_grad'])})")
    for n in graph:
        node = nodes[n]
        if not node["op"]:
            continue
        inputs = [names[u] for u, _, _ in sorted(graph.in_edges(n, keys=True), key=lambda e: e[2])]
        names[n] = identifier(n)
        param = "" if node["param"] is None else literal(node["param"])
        lines.append(f"{names[n]} = " + TORCH[node["op"]].format(*inputs, p=param))
    loss = names[root]
    gradients = ", ".join(f"{json.dumps(name)}: _grad({names[n]})"
                          for name in expression.variables
                          for n in graph if not nodes[n]["op"] and nodes[n]["name"] == name)
    return "\n".join([
        f"# {source}",
        "# built with PyTorch in float64 and differentiated by autograd",
        "import json",
        "",
        "import torch",
        "",
        "",
        "def _c(value):",
        "    \"\"\"A constant of the expression.\"\"\"",
        "    return torch.tensor(value, dtype=torch.float64)",
        "",
        "",
        "def _grad(leaf):",
        "    \"\"\"dL/dleaf as a number (0.0 where no path reaches L), None without requires_grad.\"\"\"",
        "    if not leaf.requires_grad:",
        "        return None",
        "    return 0.0 if leaf.grad is None else leaf.grad.item()",
        "",
        "",
        "# the variables: leaf tensors",
        *leaves,
        "",
        "# the forward pass, one line per node of the graph",
        *lines,
        "",
        "# the backward pass (nothing to do when every path to the variables is detached)",
        f"if {loss}.requires_grad:",
        f"    {loss}.backward()",
        f"print(\"{nodes[root]['name']} =\", {loss}.item())",
        f"print(json.dumps({{{gradients}}}))",
        "",
    ])
