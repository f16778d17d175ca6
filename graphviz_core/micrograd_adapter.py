"""A micrograd-style graph -> our :class:`~graphviz_core.engine.Value` graph.

Duck-typed: any object with ``.data``, ``.grad``, ``._prev`` (its operands) and ``._op``
(the op's text) is a node, as in Karpathy's micrograd and its many forks. micrograd keeps
``_prev`` as a *set*, so ``a*a`` has one operand there (we draw both slots) and the order
of two operands is lost (we recover it from the values for ``-`` and ``/``).
"""

from __future__ import annotations

import math

from .adapter_checks import AdapterError, compare_with_source
from .engine import OPS, Value, number_text
from .expression import default_kind
from .rebuild import apply_op

__all__ = ["from_micrograd"]

# micrograd's op text (lower case: its `ReLU` is our relu) -> our op, for ops of one operand:
# every one-operand op of OPS by its own name; the power (`**2`) is read apart (_exponent)
_UNARY = {name: name for name, op in OPS.items() if op.arity == 1 and name != "pow"}
# ops of two operands; `+` and `*` commute, so a lost operand order does not matter
_BINARY = {"+": "add", "*": "mul", "-": "sub", "/": "div"}
_COMMUTES = {"add", "mul"}
SUPPORTED = " ".join([*_BINARY, "**k", *_UNARY])


def _operands(node) -> list:
    prev = getattr(node, "_prev", ())
    return list(prev) if prev is not None else []


def _topological(root) -> list:
    """Every node ``root`` depends on, operands first (iterative: deep graphs work)."""
    order, seen = [], {id(root)}
    stack = [(root, iter(_operands(root)))]
    while stack:
        node, operands = stack[-1]
        for p in operands:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append((p, iter(_operands(p))))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _exponent(op: str) -> float | None:
    """``'**2'`` -> 2.0 (micrograd keeps a constant exponent in the op's text)."""
    if op.startswith("**"):
        try:
            return float(op[2:])
        except ValueError:
            return None
    return None


def _apply(node, operands: list[Value]) -> Value:
    """Our node for the micrograd ``node`` whose operands became ``operands``."""
    op = str(getattr(node, "_op", "") or "")
    key = op.strip().lower()
    exponent = _exponent(key)
    if exponent is not None and len(operands) == 1:
        return apply_op("pow", operands, exponent)
    if key in _UNARY and len(operands) == 1:
        return apply_op(_UNARY[key], operands)
    if key in _BINARY:
        ours = _BINARY[key]
        if len(operands) == 1:  # a set keeps `a*a` as one operand
            return apply_op(ours, operands * 2)
        if len(operands) == 2:
            if ours in _COMMUTES or not isinstance(node._prev, (set, frozenset)):
                return apply_op(ours, operands)
            # a set lost the order: take the one that gives the node's own value, and
            # on a tie (a - b with a == b) ask the node's own backward rule
            straight = apply_op(ours, operands)
            flipped = apply_op(ours, operands[::-1])
            target = float(node.data)
            fits = [math.isclose(v.data, target) for v in (straight, flipped)]
            if fits == [True, True]:
                fits[0] = _first_is_left(node, ours)
            return straight if fits[0] or not fits[1] else flipped
    raise AdapterError(
        f"micrograd op {op!r} with {len(operands)} operand(s) is not one this engine has "
        f"(it has {SUPPORTED})")


def _first_is_left(node, op: str) -> bool:
    """Whether the first of the set ``node._prev`` is the left operand of ``-`` or ``/``:
    run the node's own ``_backward`` once with a unit gradient (grads restored after)."""
    first, second = list(node._prev)
    saved = [(n, n.grad) for n in (node, first, second)]
    try:
        first.grad = second.grad = 0.0
        node.grad = 1.0
        node._backward()
        g = float(first.grad)
    except Exception:
        return True
    finally:
        for n, grad in saved:
            n.grad = grad
    if op == "sub":
        return g > 0  # d(a - b)/da = 1, d(a - b)/db = -1
    return math.isclose(g, 1.0 / float(second.data))  # d(a/b)/da = 1/b


def from_micrograd(root, *, check: bool = True, strict: bool = False, **names) -> Value:
    """A micrograd-style graph as our graph, its numbers recomputed and checked.

    Parameters
    ----------
    root : object
        The output of a micrograd-style graph: each node has ``.data``, ``.grad``,
        ``._prev`` (its operands, a set or a sequence) and ``._op`` (``'+'``, ``'*'``,
        ``'**2'``, ``'ReLU'``, ``'tanh'``, ``'exp'``, ...; ``''`` for a leaf).
    check : bool, default True
        Zero the graph's gradients, call ``root.backward()`` (its own) and compare
        every value and every gradient with ours. This sets the source graph's ``.grad``.
    strict : bool, default False
        Raise a :class:`~graphviz_core.adapter_checks.GradientMismatch` on a difference
        instead of warning it.
    **names : micrograd nodes
        Names for nodes, ``w=w, x=x``. A leaf is named by a keyword here, else by its
        ``.label`` (as in the lecture's micrograd). Named leaves are variables (a slider
        each in the explorer); unnamed leaves are then constants (micrograd makes the
        ``1`` of ``a + 1`` a leaf too). When no leaf has a name, every leaf is a
        variable, named ``v1, v2, ...``.

    Returns
    -------
    Value
        ``root``'s graph copied node for node into this engine's :class:`Value`, our
        backward pass run on it.

    Raises
    ------
    AdapterError
        For an op this engine lacks (the message names it), or when ``root.backward()``
        fails.

    Warns
    -----
    GradientMismatch
        When a value or gradient differs from micrograd's (unless ``strict``);
        ``differences`` lists them.

    Examples
    --------
    >>> from micrograd.engine import Value as MG   # doctest: +SKIP
    >>> w, x = MG(2.0), MG(1.5)                    # doctest: +SKIP
    >>> L = (w * x + 1).relu() ** 2                # doctest: +SKIP
    >>> root = from_micrograd(L, w=w, x=x)         # doctest: +SKIP
    >>> root.data, w.grad                          # doctest: +SKIP
    (16.0, 12.0)

    Any object with the four attributes works; here a tiny one:

    >>> class Node:
    ...     def __init__(self, data, prev=(), op=""):
    ...         self.data, self.grad, self._prev, self._op = data, 0.0, set(prev), op
    >>> a = Node(3.0)
    >>> out = Node(9.0, (a,), "*")              # a*a: a set keeps a single operand
    >>> from_micrograd(out, check=False, a=a).data
    9.0
    """
    named = {}
    for key, node in names.items():
        if not hasattr(node, "_prev"):
            raise TypeError(f"{key}= is not a micrograd node")
        named[id(node)] = key
    order = _topological(root)
    leaves = [n for n in order if not _operands(n)]

    def label(node) -> str:
        text = named.get(id(node)) or getattr(node, "label", "") or ""
        return text if isinstance(text, str) else ""

    any_named = any(label(n) for n in leaves)
    made: dict[int, Value] = {}
    counter = 0
    for node in order:
        name = label(node)
        operands = _operands(node)
        if operands:
            v = _apply(node, [made[id(p)] for p in operands])
            v.name = name
        elif name or not any_named:
            if not name:
                counter += 1
                name = f"v{counter}"
            v = Value(float(node.data), name, True, default_kind(name))
        else:
            data = float(node.data)
            v = Value(data, number_text(data), False, "constant")
        made[id(node)] = v
    ours = made[id(root)]
    if check:
        for node in order:
            node.grad = 0.0
        try:
            root.backward()
        except Exception as e:
            raise AdapterError(f"the graph's own backward() failed ({type(e).__name__}: {e}); "
                               "pass check=False to convert without comparing") from e
        compare_with_source(ours, ((made[id(n)], n.data, n.grad) for n in order),
                            "micrograd", strict)
    else:
        ours.backward()
    return ours
