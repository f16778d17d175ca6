"""A built :class:`~graphviz_core.engine.Value` graph as a program that builds it again.

The explorer re-derives its picture whenever a slider is released: for typed text it
builds the graph again from the text (:meth:`~graphviz_core.expression.Expression.build`).
A graph handed over as a root ``Value`` (built with our API, or converted by
:func:`~graphviz_core.from_micrograd` / :func:`~graphviz_core.from_torch`) has no text:
:class:`GraphProgram` records its nodes in topological order - leaves with their values,
ops with their operand slots and constant parameter - and replays them with new leaf
values, through the public ``Value`` API only.
"""

from __future__ import annotations

from typing import Callable, Mapping

from .engine import OPS, Value, number_text, topological_order

__all__ = ["GraphProgram", "APPLY", "apply_op", "is_variable"]

# op name -> how to apply it: f(*operands, param) -> Value, the op table's own Op.apply
APPLY: dict[str, Callable[..., Value]] = {
    name: (lambda *args, _op=op: _op.apply(*args[:-1], param=args[-1])) for name, op in OPS.items()}


def apply_op(op: str, operands, param=None) -> Value:
    """Apply the op named ``op`` (a key of :data:`~graphviz_core.engine.OPS`) to ``operands``.

    Parameters
    ----------
    op : str
        ``"add"``, ``"pow"``, ``"sg"``, ...
    operands : sequence of Value
        One per operand slot.
    param : float, optional
        The op's constant parameter (the exponent of ``"pow"``).

    Examples
    --------
    >>> a = Value(3.0, "a")
    >>> apply_op("pow", [a], 2).data, apply_op("max", [a, Value(5.0)]).data
    (9.0, 5.0)
    """
    try:
        rule = APPLY[op]
    except KeyError:
        raise ValueError(f"no op named {op!r}") from None
    return rule(*operands, param)


def is_variable(name: str, kind: str) -> bool:
    """Whether a leaf gets a slider: every non-constant leaf, and a constant with a name
    (``eps``, ``k``) rather than a number (``2``, ``0.5``).

    Examples
    --------
    >>> is_variable("w", "parameter"), is_variable("eps", "constant"), is_variable("2", "constant")
    (True, True, False)
    """
    return kind != "constant" or name.isidentifier()


class GraphProgram:
    """A Value graph that builds itself again for new leaf values.

    It answers like :class:`~graphviz_core.expression.Expression` (``source``,
    ``variables``, ``build``) plus ``defaults`` (each variable's value in the graph it
    was made from), so the explorer can take a graph instead of text.

    Every leaf that gets a slider (:func:`is_variable`) is a variable; an unnamed one is
    named ``v1, v2, ...`` and a repeated name gets a suffix (``x``, ``x_2``), so each
    slider drives exactly one leaf. Names and kinds of op nodes are kept too.

    Parameters
    ----------
    root : Value
        The output of the graph.
    source : str, optional
        What the explorer shows in place of typed text; by default ``"a graph of N nodes"``.

    Examples
    --------
    >>> w, x = Value(2.0, "w"), Value(1.5, "x", kind="data")
    >>> program = GraphProgram((w * x - 1) ** 2)
    >>> program.variables, program.defaults
    (('w', 'x'), {'w': 2.0, 'x': 1.5})
    >>> program.build({"w": 1.0, "x": 3.0}).data
    4.0
    """

    def __init__(self, root: Value, source: str | None = None):
        if not isinstance(root, Value):
            raise TypeError(f"expected a Value, got {type(root).__name__}")
        order = topological_order(root)
        index = {v: i for i, v in enumerate(order)}  # Values hash by identity
        taken = {v.name for v in order if v.name}
        used: set[str] = set()
        counter = 0
        steps: list[tuple] = []
        variables: list[str] = []
        defaults: dict[str, float] = {}
        for v in order:
            if v.parents:
                steps.append(("op", v.op, tuple(index[p] for p in v.parents), v.param, v.name))
                continue
            name = v.name
            if not is_variable(name, v.kind):
                steps.append(("const", v.data, name))
                continue
            if not name:
                counter += 1
                while f"v{counter}" in taken:
                    counter += 1
                name = f"v{counter}"
            elif name in used:
                suffix = 2
                while f"{name}_{suffix}" in taken or f"{name}_{suffix}" in used:
                    suffix += 1
                name = f"{name}_{suffix}"
            used.add(name)
            variables.append(name)
            defaults[name] = v.data
            steps.append(("leaf", name, v.requires_grad, v.kind))
        self._steps = tuple(steps)
        self.variables = tuple(variables)
        self.defaults = defaults
        self.node_count = len(order)
        self.source = source if source is not None else f"a graph of {len(order):,} nodes"

    def __repr__(self) -> str:
        return f"GraphProgram({self.source!r}, variables={self.variables!r})"

    def build(self, values: Mapping[str, float], requires_grad: Mapping[str, bool] | None = None,
              kinds: Mapping[str, str] | None = None) -> Value:
        """The graph again with each variable set to ``values[name]`` (its old value when missing).

        Parameters
        ----------
        values : mapping of str to float
        requires_grad : mapping of str to bool, optional
            Per variable; missing names keep their leaf's flag.
        kinds : mapping of str to str, optional
            Per variable; missing names keep their leaf's kind.

        Returns
        -------
        Value
            The new root.
        """
        return self._build(values, requires_grad, kinds)[0]

    def _build(self, values, requires_grad=None, kinds=None) -> tuple[Value, dict[str, Value]]:
        requires_grad = requires_grad or {}
        kinds = kinds or {}
        made: list[Value] = []
        leaves: dict[str, Value] = {}
        for step in self._steps:
            if step[0] == "op":
                _, op, inputs, param, name = step
                v = apply_op(op, [made[i] for i in inputs], param)
                v.name = name
            elif step[0] == "leaf":
                _, name, flag, kind = step
                v = Value(values.get(name, self.defaults[name]), name,
                          requires_grad.get(name, flag), kinds.get(name) or kind)
                leaves[name] = v
            else:
                _, data, name = step
                v = Value(data, name or number_text(data), False, "constant")
            made.append(v)
        return made[-1], leaves
