"""A compact scalar autograd engine.

Every op is data: an entry of :data:`OPS` holds its forward function and its
local-derivative rule side by side (as in JAX's Autodidax), so the engine, the
trace, the pass schedules and the browser-side replay all read one table.

Unlike micrograd, a :class:`Value` keeps its parents in an ordered tuple (``a*a``
keeps both slots), holds no closure that points back at itself (no reference
cycles, so building a graph does not wake the garbage collector), sorts the
graph iteratively (a 10,000-deep chain works) and zeroes every gradient before
a backward pass (calling it twice gives the same result).

Numeric faults never raise: values follow IEEE 754 (inf and nan), and the node
where a fault starts records what happened in :attr:`Value.fault`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

from .ieee import (INF, NAN, abs_, cos_, div_, exp_, is_integer_, log_, pow_, sin_, sqrt_,
                   tanh_)

__all__ = [
    "Value", "Op", "OPS", "BackwardReport", "stop_gradient", "minimum", "maximum",
    "clip", "topological_order", "active_nodes", "as_value", "to_float", "number_text",
    "format_number", "blocks_gradient", "contribution", "FAULT_WORDS",
]

def _isfinite(x: float) -> bool:
    return x - x == 0.0  # false for inf and nan, and faster than math.isfinite here


def to_float(x) -> float:
    """``float(x)``, with an int too large for a float becoming +-inf (IEEE) instead of raising.

    Examples
    --------
    >>> to_float(3), to_float(10**400), to_float(-10**400)
    (3.0, inf, -inf)
    """
    try:
        return float(x)
    except OverflowError:
        return INF if x > 0 else -INF


# --- the op table ---------------------------------------------------------------------

@dataclass(frozen=True)
class Op:
    """One primitive: how to compute it, differentiate it, write it and name its faults.

    ``forward``, ``local`` and ``fault`` are written in a small subset of Python over the
    IEEE primitives of :mod:`graphviz_core.ieee` (numbers, the arguments, arithmetic,
    comparisons, ``and``/``or``/``not``, ``x if c else y``, tuples, ``x[i]``, calls of
    those primitives): :mod:`graphviz_core.jsgen` translates them to the browser's
    replay, so the page computes what the engine computes by construction.

    Attributes
    ----------
    name : str
        Key in :data:`OPS` and the value of :attr:`Value.op`.
    arity : int
        Number of :class:`Value` inputs.
    forward : callable
        ``forward(*input_values, param)`` -> output value (floats).
    local : callable
        ``local(input_values, output_value, param)`` -> tuple with one local
        derivative d(output)/d(input) per input slot.
    symbol : str
        Short label drawn on the op node.
    latex : str
        ``str.format`` template for the op in LaTeX, inputs as ``{0}, {1}, ...``
        and the parameter as ``{p}``.
    text : str
        The same as plain text.
    fault : callable or None
        ``fault(input_values, param)`` -> why finite inputs gave a non-finite output
        (``"log of zero"``); None: ``"overflow"``.
    function : str or None
        Its name in the expression language (``"exp"``, ``"min"``); None for an operator.
        A function of one argument is also a method of :class:`Value`, unless it blocks
        the gradient.
    blocks_gradient : bool
        A stop-gradient: the backward pass passes nothing through it.
    selects : bool
        The op returns one of its inputs (min, max, clip, relu): a zero local derivative
        means that input was not used, and its contribution is ``+0.0`` whatever the
        incoming gradient, inf and nan included, as PyTorch's backward masks it
        (``nan * 0`` would be nan). See :func:`contribution`.

    Examples
    --------
    >>> op = OPS["div"]
    >>> op.forward(1.0, -0.0, None), op.local((1.0, 2.0), 0.5, None)
    (-inf, (0.5, -0.25))
    >>> op.fault((1.0, 0.0), None), OPS["sg"].blocks_gradient
    ('division by zero', True)
    """

    name: str
    arity: int
    forward: Callable[..., float]
    local: Callable[[tuple, float, float | None], tuple]
    symbol: str
    latex: str
    text: str
    fault: Callable[[tuple, float | None], str] | None = None
    function: str | None = None
    blocks_gradient: bool = False
    selects: bool = False

    def apply(self, *inputs, param=None) -> "Value":
        """The op on ``inputs`` (Values or numbers) as a new node.

        Examples
        --------
        >>> OPS["max"].apply(Value(1.0), 2).data
        2.0
        """
        return Value._apply(self.name, tuple([as_value(x) for x in inputs]),
                            None if param is None else to_float(param))


# The rules follow IEEE 754 as PyTorch's float64 does (C99's pow, signed zeros, inf and nan
# where Python's math raises); tests/test_torch.py checks every op on an extreme set of
# inputs. One deliberate difference: at a tie, min and max give the gradient to the input
# they return (the first), where PyTorch splits it in halves.
OPS: dict[str, Op] = {op.name: op for op in (
    Op("add", 2, lambda a, b, p: a + b, lambda x, out, p: (1.0, 1.0),
       "+", "{0} + {1}", "{0} + {1}"),
    Op("sub", 2, lambda a, b, p: a - b, lambda x, out, p: (1.0, -1.0),
       "\u2212", "{0} - {1}", "{0} - {1}"),
    Op("mul", 2, lambda a, b, p: a * b, lambda x, out, p: (x[1], x[0]),
       "\u00d7", "{0} \\cdot {1}", "{0} * {1}"),
    # d/db (a/b) as -(a/b)/b: no b*b to overflow or underflow first
    Op("div", 2, lambda a, b, p: div_(a, b),
       lambda x, out, p: (div_(1.0, x[1]), -div_(out, x[1])),
       "\u00f7", "\\frac{{{0}}}{{{1}}}", "{0} / {1}",
       fault=lambda x, p: "division by zero" if x[1] == 0.0 else "overflow"),
    Op("neg", 1, lambda a, p: -a, lambda x, out, p: (-1.0,),
       "\u2212", "-{0}", "-{0}"),
    # a constant exponent is a parameter of the op, so `z3**2` draws as one node
    Op("pow", 1, lambda a, p: pow_(a, p),
       lambda x, out, p: (0.0 if p == 0.0 else p * pow_(x[0], p - 1.0),),
       "^", "{0}^{{{p}}}", "{0}**{p}",
       fault=lambda x, p: ("negative base to a fractional power"
                           if x[0] < 0.0 and not is_integer_(p) else
                           "zero to a negative power" if x[0] == 0.0 else "overflow")),
    Op("powv", 2, lambda a, b, p: pow_(a, b),
       lambda x, out, p: (0.0 if x[1] == 0.0 else x[1] * pow_(x[0], x[1] - 1.0),
                          0.0 if x[0] == 0.0 and x[1] >= 0.0 else out * log_(x[0])),
       "^", "{0}^{{{1}}}", "{0}**{1}",
       fault=lambda x, p: ("negative base to a fractional power"
                           if x[0] < 0.0 and not is_integer_(x[1]) else
                           "zero to a negative power" if x[0] == 0.0 else "overflow")),
    Op("exp", 1, lambda a, p: exp_(a), lambda x, out, p: (out,),
       "exp", "e^{{{0}}}", "exp({0})", function="exp"),
    Op("log", 1, lambda a, p: log_(a), lambda x, out, p: (div_(1.0, x[0]),),
       "log", "\\ln {0}", "log({0})", function="log",
       fault=lambda x, p: "log of a negative number" if x[0] < 0.0 else "log of zero"),
    Op("sqrt", 1, lambda a, p: sqrt_(a), lambda x, out, p: (div_(0.5, out),),
       "\u221a", "\\sqrt{{{0}}}", "sqrt({0})", function="sqrt",
       fault=lambda x, p: "square root of a negative number"),
    Op("tanh", 1, lambda a, p: tanh_(a), lambda x, out, p: (1.0 - out * out,),
       "tanh", "\\tanh {0}", "tanh({0})", function="tanh"),
    Op("sigmoid", 1,
       lambda a, p: 1.0 / (1.0 + exp_(-a)) if a >= 0.0 else exp_(a) / (1.0 + exp_(a)),
       lambda x, out, p: (out * (1.0 - out),),
       "\u03c3", "\\sigma({0})", "sigmoid({0})", function="sigmoid"),
    # relu(-0.0) is -0.0 and relu'(nan) is 1, as in PyTorch
    Op("relu", 1, lambda a, p: 0.0 if a < 0.0 else a,
       lambda x, out, p: (0.0 if out <= 0.0 else 1.0,),
       "relu", "\\mathrm{{relu}}({0})", "relu({0})", function="relu",
       selects=True),
    Op("abs", 1, lambda a, p: abs_(a),
       lambda x, out, p: (1.0 if x[0] > 0.0 else -1.0 if x[0] < 0.0 else 0.0,),
       "|x|", "\\left|{0}\\right|", "abs({0})", function="abs"),
    Op("sin", 1, lambda a, p: sin_(a), lambda x, out, p: (cos_(x[0]),),
       "sin", "\\sin {0}", "sin({0})", function="sin"),
    Op("cos", 1, lambda a, p: cos_(a), lambda x, out, p: (-sin_(x[0]),),
       "cos", "\\cos {0}", "cos({0})", function="cos"),
    # a nan input gives nan and the gradient goes to both inputs, as in PyTorch (Python's
    # min would drop the nan)
    Op("min", 2, lambda a, b, p: a if a <= b or a != a else b if b <= a or b != b else NAN,
       lambda x, out, p: (0.0 if x[0] > x[1] else 1.0, 0.0 if x[1] >= x[0] else 1.0),
       "min", "\\min({0}, {1})", "min({0}, {1})", function="min",
       selects=True),
    Op("max", 2, lambda a, b, p: a if a >= b or a != a else b if b >= a or b != b else NAN,
       lambda x, out, p: (0.0 if x[0] < x[1] else 1.0, 0.0 if x[1] <= x[0] else 1.0),
       "max", "\\max({0}, {1})", "max({0}, {1})", function="max",
       selects=True),
    # torch.clamp: hi wins when lo > hi, a nan bound gives nan (and no gradient)
    Op("clip", 3,
       lambda v, lo, hi, p: (NAN if v != v or lo != lo or hi != hi else
                             hi if v > hi or lo > hi else lo if v < lo else v),
       lambda x, out, p: (1.0 if x[0] >= x[1] and x[0] <= x[2] else 0.0,
                          1.0 if x[0] < x[1] and x[1] <= x[2] else 0.0,
                          1.0 if x[0] > x[2] or x[1] > x[2] else 0.0),
       "clip", "\\mathrm{{clip}}({0}, {1}, {2})", "clip({0}, {1}, {2})", function="clip",
       selects=True),
    Op("sg", 1, lambda a, p: a, lambda x, out, p: (0.0,),
       "sg", "\\mathrm{{sg}}({0})", "sg({0})", function="sg", blocks_gradient=True),
)}

_BLOCKING = frozenset(name for name, op in OPS.items() if op.blocks_gradient)

# what a non-finite number is called where no op rule names it better
FAULT_WORDS = {
    "overflow": "overflow",
    "non_finite_input": "non-finite input",
    "undefined": "undefined: {}",
    "not_finite": "not a finite number",
    "grad_nan": "gradient is nan",
    "grad_inf": "gradient overflows to infinity",
}


def contribution(op: Op, grad: float, local: float) -> float:
    """What an input receives through ``op``: ``grad * local``, or ``+0.0`` where ``op``
    selects and did not use the input (``local == 0``).

    Examples
    --------
    >>> nan = float("nan")
    >>> contribution(OPS["mul"], nan, 0.0), contribution(OPS["max"], nan, 0.0)
    (nan, 0.0)
    """
    return 0.0 if op.selects and local == 0.0 else grad * local


def blocks_gradient(op: str) -> bool:
    """Whether the op named ``op`` (``""`` for a leaf) passes no gradient back.

    Examples
    --------
    >>> blocks_gradient("sg"), blocks_gradient("mul"), blocks_gradient("")
    (True, False, False)
    """
    return op in _BLOCKING


def format_number(x: float, digits: int = 4) -> str:
    """A value as shown in formulas: ``digits`` significant digits, ``inf``/``nan`` spelled out.

    Examples
    --------
    >>> format_number(-5.3216), format_number(2.0), format_number(float("nan"))
    ('-5.322', '2', 'nan')
    """
    if x != x:
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return "0" if text == "-0" else text


def _fault_for(op: str, inputs: tuple, out: float, param) -> str:
    """Say why ``op`` produced the non-finite value ``out``."""
    if all(_isfinite(x) for x in inputs):
        rule = OPS[op].fault
        return rule(inputs, param) if rule else FAULT_WORDS["overflow"]
    if out != out and all(x == x for x in inputs):  # inf - inf, 0 * inf
        shown = [format_number(x) for x in inputs]
        p = None if param is None else format_number(param)
        return FAULT_WORDS["undefined"].format(OPS[op].text.format(*shown, p=p))
    return FAULT_WORDS["non_finite_input"]


# --- values -----------------------------------------------------------------------------

class Value:
    """A scalar in a computation graph: its value, its gradient and where it came from.

    Parameters
    ----------
    data : float
        The value.
    name : str, optional
        A label for drawings and tables (``"w"``); intermediate nodes are named
        ``z1, z2, ...`` by :func:`~graphviz_core.trace.trace` when left empty.
    requires_grad : bool, default True
        Whether the backward pass should compute this leaf's gradient. Nodes fed
        only by leaves that do not require a gradient are skipped too.
    kind : {"parameter", "data", "constant"}, optional
        The role of a leaf in drawings; defaults to ``"parameter"`` when
        ``requires_grad`` else ``"data"``.

    Attributes
    ----------
    data, grad : float
    name : str
    op : str
        Key into :data:`OPS`, ``""`` for a leaf.
    parents : tuple of Value
        The inputs in slot order (``a*a`` has ``(a, a)``).
    param : float or None
        The op's constant parameter (the exponent of ``pow``).
    requires_grad : bool
    fault : str or None
        Why this node's value (or, after backward, its gradient) is not finite.

    Examples
    --------
    >>> w, x, b, y = Value(2.0, "w"), Value(1.5, "x"), Value(0.5, "b"), Value(1.0, "y")
    >>> L = (w * x + b - y) ** 2
    >>> L.data
    6.25
    >>> report = L.backward()
    >>> w.grad, b.grad, x.grad, y.grad
    (7.5, 5.0, 10.0, -5.0)
    """

    __slots__ = ("data", "grad", "name", "op", "parents", "param", "requires_grad",
                 "kind", "fault", "grad_fault", "locals")

    def __init__(self, data, name: str = "", requires_grad: bool = True,
                 kind: str | None = None):
        self.data = to_float(data)
        self.grad = 0.0
        self.name = name
        self.op = ""
        self.parents: tuple[Value, ...] = ()
        self.param = None
        self.requires_grad = bool(requires_grad)
        self.kind = kind or ("parameter" if requires_grad else "data")
        self.fault = None if _isfinite(self.data) else FAULT_WORDS["not_finite"]
        self.grad_fault = None
        self.locals: tuple[float, ...] | None = None

    @classmethod
    def _apply(cls, op_name: str, parents: tuple, param=None) -> "Value":
        inputs = [p.data for p in parents]
        out = OPS[op_name].forward(*inputs, param)
        v = cls.__new__(cls)
        v.data = out
        v.grad = 0.0
        v.name = ""
        v.op = op_name
        v.parents = parents
        v.param = param
        v.requires_grad = True
        v.kind = "op"
        v.fault = None if out - out == 0.0 else _fault_for(op_name, inputs, out, param)
        v.grad_fault = None
        v.locals = None
        return v

    # arithmetic ---------------------------------------------------------------------
    def __add__(self, other): return Value._apply("add", (self, as_value(other)))
    def __radd__(self, other): return Value._apply("add", (as_value(other), self))
    def __sub__(self, other): return Value._apply("sub", (self, as_value(other)))
    def __rsub__(self, other): return Value._apply("sub", (as_value(other), self))
    def __mul__(self, other): return Value._apply("mul", (self, as_value(other)))
    def __rmul__(self, other): return Value._apply("mul", (as_value(other), self))
    def __truediv__(self, other): return Value._apply("div", (self, as_value(other)))
    def __rtruediv__(self, other): return Value._apply("div", (as_value(other), self))
    def __neg__(self): return Value._apply("neg", (self,))
    def __pos__(self): return self

    def __pow__(self, other):
        if isinstance(other, Value):
            return Value._apply("powv", (self, other))
        return Value._apply("pow", (self,), to_float(other))

    def __rpow__(self, other):
        return Value._apply("powv", (as_value(other), self))

    # a method per function of one argument in OPS (exp, log, ...), made below the class

    def __repr__(self) -> str:
        label = f"{self.name}=" if self.name else ""
        return f"Value({label}{self.data:.6g}, grad={self.grad:.6g}, op={self.op!r})"

    # backward -------------------------------------------------------------------------
    def backward(self) -> "BackwardReport":
        """Compute d(self)/d(node) for every node that needs it.

        Seeds ``self.grad = 1``, walks the graph in reverse topological order and at
        each node adds ``incoming gradient x local derivative`` to each parent.
        Gradients of the whole graph are zeroed first, so calling it twice gives
        the same result. Nodes that need no gradient (leaves with
        ``requires_grad=False``, everything fed only by them, and everything whose
        every path to ``self`` passes a stop-gradient) are skipped.

        Returns
        -------
        BackwardReport
            How many local derivatives were evaluated, skipped, and blocked by a
            stop-gradient.

        Examples
        --------
        >>> a = Value(3.0, "a")
        >>> c = (a + a) * (a + a)   # a fans out: gradients add up
        >>> c.backward().evaluated
        6
        >>> a.grad
        24.0
        """
        order = topological_order(self)
        active = active_nodes(order, self)
        for v in order:
            # sums start at -0.0, the identity of IEEE addition, so a gradient made of -0.0
            # contributions stays -0.0 (as in PyTorch); nodes that get none show 0.0
            v.grad = -0.0 if v in active else 0.0
            v.grad_fault = None
            v.locals = None
        self.grad = 1.0
        evaluated = skipped = blocked = 0
        for v in reversed(order):
            parents = v.parents
            if not parents:
                continue
            if v not in active:
                skipped += len(parents)
                continue
            op = OPS[v.op]
            if op.blocks_gradient:
                blocked += 1
                v.locals = (0.0,) * len(parents)
                continue
            if len(parents) == 2:
                inputs = (parents[0].data, parents[1].data)
            elif len(parents) == 1:
                inputs = (parents[0].data,)
            else:
                inputs = tuple([p.data for p in parents])
            locals_ = op.local(inputs, v.data, v.param)
            v.locals = locals_
            g = v.grad
            selects = op.selects
            for p, local in zip(parents, locals_):
                if p in active:
                    evaluated += 1
                    p.grad += 0.0 if selects and local == 0.0 else g * local  # contribution()
                else:
                    skipped += 1
        for v in order:
            g = v.grad
            if g - g != 0.0 and v in active:  # not finite, and computed
                v.grad_fault = _grad_fault(v)
        return BackwardReport(evaluated, skipped, blocked)


def _grad_fault(v: Value) -> str:
    return FAULT_WORDS["grad_nan"] if v.grad != v.grad else FAULT_WORDS["grad_inf"]


def _unary_method(op: Op):
    name = op.name

    def method(self):
        return Value._apply(name, (self,))

    method.__name__ = method.__qualname__ = op.function
    method.__doc__ = f"``{op.text.format('self')}`` as a new node (:data:`OPS` ``[{name!r}]``)."
    return method


for _op in OPS.values():
    if _op.function and _op.arity == 1 and not _op.blocks_gradient:
        setattr(Value, _op.function, _unary_method(_op))
Value.__abs__ = Value.abs
del _op


class BackwardReport(NamedTuple):
    """What one :meth:`Value.backward` call did.

    Attributes
    ----------
    evaluated : int
        Local derivatives (one per parent slot) that were computed and used.
    skipped : int
        Local derivatives not computed because their parent needs no gradient.
    blocked : int
        Stop-gradient nodes that cut the flow.
    """

    evaluated: int
    skipped: int
    blocked: int


def as_value(x) -> Value:
    """Wrap a plain number as a constant leaf; return a :class:`Value` unchanged.

    Examples
    --------
    >>> as_value(2).kind
    'constant'
    """
    if isinstance(x, Value):
        return x
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"expected a number or a Value, got {type(x).__name__}")
    return Value(x, name=number_text(x), requires_grad=False, kind="constant")


def number_text(x) -> str:
    """A number as a short label: ``2`` rather than ``2.0``, ``1e-05`` when small.

    Examples
    --------
    >>> number_text(2.0), number_text(0.25)
    ('2', '0.25')
    """
    x = to_float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:g}"


def stop_gradient(v) -> Value:
    """Identity in the forward pass, zero derivative in the backward pass.

    The result stays a node of the graph (it is drawn), so the backward pass can
    show the gradient arriving at it and stopping there.

    Examples
    --------
    >>> x = Value(3.0, "x")
    >>> y = stop_gradient(x) * x
    >>> _ = y.backward(); x.grad
    3.0
    """
    return Value._apply("sg", (as_value(v),))


def minimum(a, b) -> Value:
    """``min(a, b)``; the gradient goes to the smaller input (the first on a tie).

    Examples
    --------
    >>> minimum(Value(1.0), 2).data
    1.0
    """
    return Value._apply("min", (as_value(a), as_value(b)))


def maximum(a, b) -> Value:
    """``max(a, b)``; the gradient goes to the larger input (the first on a tie).

    Examples
    --------
    >>> maximum(Value(1.0), 2).data
    2.0
    """
    return Value._apply("max", (as_value(a), as_value(b)))


def clip(v, lo, hi) -> Value:
    """``v`` limited to ``[lo, hi]``; the gradient goes to whichever input is returned.

    Examples
    --------
    >>> clip(Value(1.5), 0.8, 1.2).data
    1.2
    """
    return Value._apply("clip", (as_value(v), as_value(lo), as_value(hi)))


def topological_order(root: Value) -> list[Value]:
    """All nodes that ``root`` depends on, parents before children, ``root`` last.

    Iterative depth-first search in parent-slot order, so the order is the same
    on every run and a 10,000-deep chain needs no recursion.

    Examples
    --------
    >>> a = Value(1.0, "a"); b = a * 2
    >>> [v.name or v.op for v in topological_order(b)]
    ['a', '2', 'mul']
    """
    order: list[Value] = []
    seen = {root}  # Values hash by identity
    stack = [(root, iter(root.parents))]
    while stack:
        v, parents = stack[-1]
        for p in parents:
            if p not in seen:
                seen.add(p)
                stack.append((p, iter(p.parents)))
                break
        else:
            stack.pop()
            order.append(v)
    return order


def active_nodes(order: list[Value], root: Value) -> set[Value]:
    """The nodes whose gradient the backward pass must compute (Values hash by identity).

    A node is active when it needs a gradient (a leaf that requires one, or an op
    with such a leaf upstream) and reaches ``root`` along a path with no
    stop-gradient before its end (a stop-gradient node itself receives its gradient;
    it just passes none on). ``order`` is :func:`topological_order` of ``root``.

    Examples
    --------
    >>> w, x = Value(2.0, "w"), Value(3.0, "x", requires_grad=False)
    >>> L = w * x
    >>> sorted(v.name for v in active_nodes(topological_order(L), L) if v.name)
    ['w']
    """
    needs: set[Value] = set()
    for v in order:
        parents = v.parents
        if parents:
            for p in parents:
                if p in needs:
                    needs.add(v)
                    break
        elif v.requires_grad:
            needs.add(v)
    live: set[Value] = {root}
    for v in reversed(order):
        if v in live and v.op not in _BLOCKING:
            live.update(v.parents)
    return needs & live
