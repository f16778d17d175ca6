"""A compact scalar autograd engine.

Every op is data: an entry of :data:`OPS` holds its forward function and its
local-derivative rule side by side (as in JAX's Autodidax), so the engine, the
trace, the pass schedules and the browser-side replay all read one table.

Unlike micrograd, a :class:`Value` keeps its parents in an ordered tuple (``a*a``
keeps both slots), holds no closure that points back at itself (no reference
cycles, so building a graph does not wake the garbage collector), sorts graphs
deeper than Python's recursion limit (a 10,000-deep chain works) and zeroes every
gradient before a backward pass (calling it twice gives the same result).

Numeric faults never raise: values follow IEEE 754 (inf and nan), and the node
where a fault starts records what happened in :attr:`Value.fault`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

from .ieee import (INF, NAN, abs_, cos_, div_, exp_, is_integer_, log_, pow_, sin_, sqrt_,
                   tanh_)
from .inline import inline, inlined
from .rules import needs_gradient, passed_back

__all__ = [
    "Value", "Op", "OPS", "BackwardReport", "stop_gradient", "minimum", "maximum",
    "clip", "topological_order", "active_nodes", "as_value", "to_float", "number_text",
    "format_number", "blocks_gradient", "contribution", "FAULT_WORDS", "fault_for",
    "grad_fault_for", "backward_pass",
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
    torch : str
        The op in PyTorch, a ``str.format`` template like ``latex`` (``"torch.exp({0})"``):
        how :func:`~graphviz_core.to_pytorch` writes it.
    torch_names : tuple of str
        The torch functions and tensor methods that are this op, one to one
        (``"exp"``, ``"__radd__"``): how :func:`~graphviz_core.from_torch` reads them. A
        name ``__rX__`` or ``rX`` beside ``__X__`` or ``X`` takes its operands reversed
        (``2 - x`` arrives as ``x.__rsub__(2)``). Calls that need more than a name
        (``pow``, ``clamp``, ``square``) are read in :mod:`graphviz_core.torch_adapter`.

    Examples
    --------
    >>> op = OPS["div"]
    >>> op.forward(1.0, -0.0, None), op.local((1.0, 2.0), 0.5, None)
    (-inf, (0.5, -0.25))
    >>> op.fault((1.0, 0.0), None), OPS["sg"].blocks_gradient
    ('division by zero', True)
    >>> OPS["sg"].torch.format("x"), OPS["sub"].torch_names[-1]
    ('x.detach()', 'rsub')
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
    torch: str = ""
    torch_names: tuple[str, ...] = ()

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
       "+", "{0} + {1}", "{0} + {1}",
       torch="{0} + {1}", torch_names=("add", "__add__", "__radd__")),
    Op("sub", 2, lambda a, b, p: a - b, lambda x, out, p: (1.0, -1.0),
       "\u2212", "{0} - {1}", "{0} - {1}",
       torch="{0} - {1}", torch_names=("sub", "subtract", "__sub__", "__rsub__", "rsub")),
    Op("mul", 2, lambda a, b, p: a * b, lambda x, out, p: (x[1], x[0]),
       "\u00d7", "{0} \\cdot {1}", "{0} * {1}",
       torch="{0} * {1}", torch_names=("mul", "multiply", "__mul__", "__rmul__")),
    # d/db (a/b) as -(a/b)/b: no b*b to overflow or underflow first
    Op("div", 2, lambda a, b, p: div_(a, b),
       lambda x, out, p: (div_(1.0, x[1]), -div_(out, x[1])),
       "\u00f7", "\\frac{{{0}}}{{{1}}}", "{0} / {1}",
       fault=lambda x, p: "division by zero" if x[1] == 0.0 else "overflow",
       torch="{0} / {1}", torch_names=("div", "divide", "true_divide", "__truediv__",
                                       "__div__", "__rtruediv__", "__rdiv__")),
    Op("neg", 1, lambda a, p: -a, lambda x, out, p: (-1.0,),
       "\u2212", "-{0}", "-{0}",
       torch="-{0}", torch_names=("neg", "negative", "__neg__")),
    # a constant exponent is a parameter of the op, so `z3**2` draws as one node
    Op("pow", 1, lambda a, p: pow_(a, p),
       lambda x, out, p: (0.0 if p == 0.0 else p * pow_(x[0], p - 1.0),),
       "^", "{0}^{{{p}}}", "{0}**{p}",
       fault=lambda x, p: ("negative base to a fractional power"
                           if x[0] < 0.0 and not is_integer_(p) else
                           "zero to a negative power" if x[0] == 0.0 else "overflow"),
       torch="{0} ** {p}"),
    Op("powv", 2, lambda a, b, p: pow_(a, b),
       lambda x, out, p: (0.0 if x[1] == 0.0 else x[1] * pow_(x[0], x[1] - 1.0),
                          0.0 if x[0] == 0.0 and x[1] >= 0.0 else out * log_(x[0])),
       "^", "{0}^{{{1}}}", "{0}**{1}",
       fault=lambda x, p: ("negative base to a fractional power"
                           if x[0] < 0.0 and not is_integer_(x[1]) else
                           "zero to a negative power" if x[0] == 0.0 else "overflow"),
       torch="{0} ** {1}"),
    Op("exp", 1, lambda a, p: exp_(a), lambda x, out, p: (out,),
       "exp", "e^{{{0}}}", "exp({0})", function="exp",
       torch="torch.exp({0})", torch_names=("exp",)),
    Op("log", 1, lambda a, p: log_(a), lambda x, out, p: (div_(1.0, x[0]),),
       "log", "\\ln {0}", "log({0})", function="log", torch="torch.log({0})", torch_names=("log",),
       fault=lambda x, p: "log of a negative number" if x[0] < 0.0 else "log of zero"),
    Op("sqrt", 1, lambda a, p: sqrt_(a), lambda x, out, p: (div_(0.5, out),),
       "\u221a", "\\sqrt{{{0}}}", "sqrt({0})", function="sqrt",
       torch="torch.sqrt({0})", torch_names=("sqrt",),
       fault=lambda x, p: "square root of a negative number"),
    Op("tanh", 1, lambda a, p: tanh_(a), lambda x, out, p: (1.0 - out * out,),
       "tanh", "\\tanh {0}", "tanh({0})", function="tanh",
       torch="torch.tanh({0})", torch_names=("tanh",)),
    Op("sigmoid", 1,
       lambda a, p: 1.0 / (1.0 + exp_(-a)) if a >= 0.0 else exp_(a) / (1.0 + exp_(a)),
       lambda x, out, p: (out * (1.0 - out),),
       "\u03c3", "\\sigma({0})", "sigmoid({0})", function="sigmoid",
       torch="torch.sigmoid({0})", torch_names=("sigmoid",)),
    # relu(-0.0) is -0.0 and relu'(nan) is 1, as in PyTorch
    Op("relu", 1, lambda a, p: 0.0 if a < 0.0 else a,
       lambda x, out, p: (0.0 if out <= 0.0 else 1.0,),
       "relu", "\\mathrm{{relu}}({0})", "relu({0})", function="relu",
       torch="torch.relu({0})", torch_names=("relu",),
       selects=True),
    Op("abs", 1, lambda a, p: abs_(a),
       lambda x, out, p: (1.0 if x[0] > 0.0 else -1.0 if x[0] < 0.0 else 0.0,),
       "|x|", "\\left|{0}\\right|", "abs({0})", function="abs",
       torch="torch.abs({0})", torch_names=("abs", "absolute", "__abs__")),
    Op("sin", 1, lambda a, p: sin_(a), lambda x, out, p: (cos_(x[0]),),
       "sin", "\\sin {0}", "sin({0})", function="sin",
       torch="torch.sin({0})", torch_names=("sin",)),
    Op("cos", 1, lambda a, p: cos_(a), lambda x, out, p: (-sin_(x[0]),),
       "cos", "\\cos {0}", "cos({0})", function="cos",
       torch="torch.cos({0})", torch_names=("cos",)),
    # a nan input gives nan and the gradient goes to both inputs, as in PyTorch (Python's
    # min would drop the nan)
    Op("min", 2, lambda a, b, p: a if a <= b or a != a else b if b <= a or b != b else NAN,
       lambda x, out, p: (0.0 if x[0] > x[1] else 1.0, 0.0 if x[1] >= x[0] else 1.0),
       "min", "\\min({0}, {1})", "min({0}, {1})", function="min",
       torch="torch.minimum({0}, {1})", torch_names=("minimum", "min"),
       selects=True),
    Op("max", 2, lambda a, b, p: a if a >= b or a != a else b if b >= a or b != b else NAN,
       lambda x, out, p: (0.0 if x[0] < x[1] else 1.0, 0.0 if x[1] <= x[0] else 1.0),
       "max", "\\max({0}, {1})", "max({0}, {1})", function="max",
       torch="torch.maximum({0}, {1})", torch_names=("maximum", "max"),
       selects=True),
    # torch.clamp: hi wins when lo > hi, a nan bound gives nan (and no gradient)
    Op("clip", 3,
       lambda v, lo, hi, p: (NAN if v != v or lo != lo or hi != hi else
                             hi if v > hi or lo > hi else lo if v < lo else v),
       lambda x, out, p: (1.0 if x[0] >= x[1] and x[0] <= x[2] else 0.0,
                          1.0 if x[0] < x[1] and x[1] <= x[2] else 0.0,
                          1.0 if x[0] > x[2] or x[1] > x[2] else 0.0),
       "clip", "\\mathrm{{clip}}({0}, {1}, {2})", "clip({0}, {1}, {2})", function="clip",
       torch="torch.clamp({0}, {1}, {2})",
       selects=True),
    Op("sg", 1, lambda a, p: a, lambda x, out, p: (0.0,),
       "sg", "\\mathrm{{sg}}({0})", "sg({0})", function="sg",
       torch="{0}.detach()", torch_names=("detach",), blocks_gradient=True),
)}

_BLOCKING = frozenset(name for name, op in OPS.items() if op.blocks_gradient)


class _Unknown:
    """A stand-in for a number while :func:`_backward_kind` reads a rule: any arithmetic,
    comparison or truth test on it raises TypeError."""

    __slots__ = ()

    def _refuse(self, *args):
        raise TypeError("the rule computes")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __float__ = _refuse
    __hash__ = object.__hash__


# How backward gets an op's local derivatives: by calling its rule, except where the rule
# only returns constants (add, sub, neg, sg) or, for two inputs, each input's value to the
# other (mul). Two inputs without selection (see Op.selects) take backward's short path;
# (1.0, 1.0) (add) passes the gradient on unchanged. tape.Replay reads the same kinds, so
# the page's server-side replay sums exactly as backward does.
BLOCK, OTHER, CONSTANT2, SUM2, CROSSWISE, CALL2 = range(6)


def _backward_kind(op: Op) -> tuple[int, tuple | None]:
    """How :meth:`Value.backward` treats ``op``, and its constant local derivatives (or
    None): read off the op's rule by calling it on stand-ins that refuse to compute."""
    inputs = tuple(_Unknown() for _ in range(op.arity))
    try:
        locals_ = op.local(inputs, _Unknown(), _Unknown())
    except TypeError:  # it computes
        locals_ = None
    constants = locals_ if locals_ and all(type(x) is float for x in locals_) else None
    if op.blocks_gradient:
        return BLOCK, constants
    if op.arity != 2 or op.selects:
        return OTHER, constants
    if constants == (1.0, 1.0):
        return SUM2, constants
    if constants is not None:
        return CONSTANT2, constants
    if locals_ is not None and locals_[0] is inputs[1] and locals_[1] is inputs[0]:
        return CROSSWISE, None
    return CALL2, None


BACKWARD_KIND = {}  # op name -> how backward treats it
LOCAL_CONSTANTS = {}  # op name -> its constant local derivatives
for _name, _op in OPS.items():
    BACKWARD_KIND[_name], _constants = _backward_kind(_op)
    if _constants is not None:
        LOCAL_CONSTANTS[_name] = _constants
del _name, _op, _constants

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
    return passed_back(op.selects, grad, local)  # the page's rule too (rules.py)


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


def fault_for(op: str, inputs, out: float, param) -> str:
    """Why ``op`` on ``inputs`` (and its parameter) produced the non-finite value ``out``.

    Examples
    --------
    >>> fault_for("log", (0.0,), float("-inf"), None)
    'log of zero'
    >>> fault_for("sub", (float("inf"), float("inf")), float("nan"), None)
    'undefined: inf - inf'
    """
    if all(_isfinite(x) for x in inputs):
        rule = OPS[op].fault
        return rule(inputs, param) if rule else FAULT_WORDS["overflow"]
    if out != out and all(x == x for x in inputs):  # inf - inf, 0 * inf
        shown = [format_number(x) for x in inputs]
        p = None if param is None else format_number(param)
        return FAULT_WORDS["undefined"].format(OPS[op].text.format(*shown, p=p))
    return FAULT_WORDS["non_finite_input"]


# --- values -----------------------------------------------------------------------------

_new = object.__new__  # a Value without __init__: made by the ops, which set every slot

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
        Why this node's value is not finite.
    grad_fault : str or None
        Why its gradient is not finite (read-only, derived from ``grad``: a backward pass
        gives every node it does not reach ``grad = 0.0``).

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

    # _mark: a graph walk's mark (_sorted, backward). The slots a backward pass reads and
    # writes come first: with the object's header they share one 64-byte cache line.
    __slots__ = ("data", "grad", "parents", "op", "_mark", "param", "requires_grad",
                 "name", "kind", "fault")

    def __init__(self, data, name: str = "", requires_grad: bool = True,
                 kind: str | None = None):
        try:  # to_float, without its call for the usual argument
            self.data = data = float(data)
        except OverflowError:
            self.data = data = to_float(data)
        self.grad = 0.0
        self.name = name
        self.op = ""
        self.parents: tuple[Value, ...] = ()
        self.param = None
        self.requires_grad = True if requires_grad else False
        self.kind = kind or ("parameter" if requires_grad else "data")
        self.fault = None if data - data == 0.0 else FAULT_WORDS["not_finite"]  # _isfinite
        self._mark = None

    @staticmethod  # not a classmethod: no bound method is made per node
    def _apply(op_name: str, parents: tuple, param=None) -> "Value":
        n = len(parents)
        if n == 2:  # no list of inputs made (a call less) for one or two inputs
            out = OPS[op_name].forward(parents[0].data, parents[1].data, param)
        elif n == 1:
            out = OPS[op_name].forward(parents[0].data, param)
        else:
            out = OPS[op_name].forward(*[p.data for p in parents], param)
        v = _new(Value)
        v.data = out
        v.grad = 0.0
        v.name = ""
        v.op = op_name
        v.parents = parents
        v.param = param
        v.requires_grad = True
        v.kind = "op"
        v.fault = (None if out - out == 0.0 else
                   fault_for(op_name, [p.data for p in parents], out, param))
        v._mark = None
        return v

    # arithmetic ---------------------------------------------------------------------
    # + - * / and their reflected forms are made below the class (_binary_method)
    def __neg__(self): return Value._apply("neg", (self,))
    def __pos__(self): return self

    def __pow__(self, other):
        if isinstance(other, Value):
            return Value._apply("powv", (self, other))
        try:  # to_float, without its call for the usual argument
            p = float(other)
        except OverflowError:
            p = to_float(other)
        return Value._apply("pow", (self,), p)

    def __rpow__(self, other):
        return Value._apply("powv", (as_value(other), self))

    # a method per function of one argument in OPS (exp, log, ...), made below the class

    def __repr__(self) -> str:
        label = f"{self.name}=" if self.name else ""
        return f"Value({label}{self.data:.6g}, grad={self.grad:.6g}, op={self.op!r})"

    @property
    def grad_fault(self) -> str | None:
        """Why the gradient is not finite, or None (see :func:`grad_fault_for`).

        Derived from :attr:`grad`, not stored: the backward pass writes no fault, and a
        node it does not reach has ``grad = 0.0``.

        Examples
        --------
        >>> a = Value(0.0, "a")
        >>> L = a.log()
        >>> _ = L.backward(); a.grad_fault, L.grad_fault
        ('gradient overflows to infinity', None)
        """
        g = self.grad
        return None if g - g == 0.0 else grad_fault_for(g)

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
        return backward_pass(self, [])


def grad_fault_for(grad: float) -> str:
    """What a non-finite gradient is called.

    Examples
    --------
    >>> grad_fault_for(float("inf"))
    'gradient overflows to infinity'
    """
    return FAULT_WORDS["grad_nan"] if grad != grad else FAULT_WORDS["grad_inf"]


@inlined
def backward_pass(root: Value, order: list, live=None, kinds=BACKWARD_KIND,
                  constants=LOCAL_CONSTANTS, crosswise=CROSSWISE, sum2=SUM2, constant2=CONSTANT2,
                  call2=CALL2, block=BLOCK) -> BackwardReport:
    """:meth:`Value.backward` of ``root``, leaving ``order`` filled with the graph in
    topological order and every active node (as :func:`active_nodes` says) marked with
    ``live`` (``v._mark is live``; a new object when None): what
    :func:`~graphviz_core.trace.trace` reads instead of walking the graph again. The
    keyword arguments are the op table's backward kinds as locals (bound once, not loaded
    per call).

    Examples
    --------
    >>> w, x = Value(2.0, "w"), Value(3.0, "x", requires_grad=False)
    >>> order, live = [], object()
    >>> backward_pass(w * x, order, live)
    BackwardReport(evaluated=1, skipped=1, blocked=0)
    >>> [v.name for v in order], [v._mark is live for v in order], w.grad
    (['w', 'x', ''], [True, False, True], 3.0)
    """
    # One walk sorts the graph and marks each node, as it is placed (its parents are placed
    # before it), ``need`` when a leaf that requires a gradient feeds it, else ``spare``.
    # One reverse loop then passes the gradients on: a node is active (as in active_nodes)
    # when it needs a gradient and a child that passes gradients on reaches it. Nothing per
    # node is allocated but the gradients' floats, so the pass never wakes the collector.

    @inline  # put in place at each call when the module is imported (graphviz_core/inline.py)
    def pass_on(p, c):
        """``p``'s share ``c`` of a child's gradient: the fan-out rule's sum (each input
        is counted as evaluated before it is passed on)."""
        nonlocal evaluated, skipped
        m = p._mark
        if m is need:  # the first child: set (-0.0 + c is c bit for bit: the sum starts
            p._mark = live  # from IEEE's additive identity, as in PyTorch)
            p.grad = c
        elif m is live:  # another child came first: add
            p.grad += c
        else:  # it needs no gradient
            evaluated -= 1
            skipped += 1

    need, spare = object(), object()
    if live is None:
        live = object()
    try:  # as _placed(root, need, spare), without a call more on small graphs
        if root.parents:
            _place(root, need, spare, order)
        else:
            root._mark = need if root.requires_grad else spare
            order.append(root)
    except RecursionError:
        order[:] = _placed(root, need, spare)
    if root._mark is need:  # only nodes that need a gradient are live: the mark says it
        root._mark = live
    root.grad = 1.0
    evaluated = skipped = blocked = 0
    for v in reversed(order):
        parents = v.parents
        if v._mark is not live:  # no gradient reached it, or it needs none
            v.grad = 0.0
            skipped += len(parents)
            continue
        if not parents:  # a leaf
            continue
        g = v.grad  # final here: its children came first
        kind = kinds[v.op]
        # the common cases, two inputs and no selection, first and without a loop
        if kind is crosswise:
            a, b = parents
            ca = g * b.data
            cb = g * a.data
        elif kind is sum2:  # local derivatives (1.0, 1.0): g * 1.0 is g, bit for bit
            a, b = parents
            ca = cb = g
        elif kind is constant2:
            a, b = parents
            la, lb = constants[v.op]
            ca = g * la
            cb = g * lb
        elif kind is call2:
            a, b = parents
            la, lb = OPS[v.op].local((a.data, b.data), v.data, v.param)
            ca = g * la
            cb = g * lb
        elif kind is block:
            blocked += 1
            continue
        else:
            op = OPS[v.op]
            selects = op.selects
            evaluated += len(parents)
            for p, local in zip(parents, constants.get(v.op) or op.local(
                    tuple([p.data for p in parents]), v.data, v.param)):
                c = 0.0 if selects and local == 0.0 else g * local  # contribution()
                pass_on(p, c)
            continue
        evaluated += 2
        pass_on(a, ca)
        pass_on(b, cb)
    if root._mark is not live:  # the loop gave it 0.0: it needs no gradient
        root.grad = 1.0
    # tuple.__new__ makes the named tuple without its Python-level __new__
    return tuple.__new__(BackwardReport, (evaluated, skipped, blocked))


def _binary_method(op: Op, reflected: bool):
    """``self <op> other`` (reflected: ``other <op> self``) as a new node: what
    :meth:`Value._apply` makes, without its calls (the arithmetic operators are most of
    building a graph)."""
    name, forward, new = op.name, op.forward, _new

    def method(self, other):
        if not isinstance(other, Value):
            other = as_value(other)
        if reflected:  # a branch, not a conditional pair: no tuple made and unpacked
            a = other
            b = self
        else:
            a = self
            b = other
        x = a.data
        y = b.data
        out = forward(x, y, None)
        v = new(Value)
        v.data = out
        v.grad = 0.0
        v.name = ""
        v.op = name
        v.parents = (a, b)
        v.param = None
        v.requires_grad = True
        v.kind = "op"
        v.fault = None if out - out == 0.0 else fault_for(name, (x, y), out, None)
        v._mark = None
        return v

    method.__name__ = method.__qualname__ = f"__{'r' if reflected else ''}{_DUNDER[name]}__"
    return method


_DUNDER = {"add": "add", "sub": "sub", "mul": "mul", "div": "truediv"}
for _name in _DUNDER:
    for _reflected in (False, True):
        _method = _binary_method(OPS[_name], _reflected)
        setattr(Value, _method.__name__, _method)
del _name, _reflected, _method


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
    >>> a, b = Value(1.0, "a"), Value(1.0, "b")
    >>> m = minimum(a, b)
    >>> _ = m.backward()
    >>> m.data, a.grad, b.grad
    (1.0, 1.0, 0.0)
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

    Depth-first in parent-slot order, with an explicit stack: the order is the same
    on every run, and a 10,000-deep chain needs no recursion.

    Examples
    --------
    >>> a = Value(1.0, "a"); b = a * 2
    >>> [v.name or v.op for v in topological_order(b)]
    ['a', '2', 'mul']
    """
    return _sorted(root)


def _sorted(root: Value) -> list[Value]:
    """:func:`topological_order`.

    Recursion is the fastest walk in Python 3.11; a graph deeper than the interpreter's
    recursion limit allows is sorted with an explicit stack instead. Each call marks nodes
    with a fresh object (``_mark``), so no mark needs resetting.
    """
    order: list[Value] = []
    try:
        _visit(root, object(), order)
    except RecursionError:
        order = _sorted_with_a_stack(root)
    return order


def _visit(v: Value, done: object, order: list) -> None:
    """Place ``v`` in ``order`` after everything its parents lead to (depth first, in slot
    order)."""
    v._mark = done
    for p in v.parents:
        if p._mark is not done:
            _visit(p, done, order)
    order.append(v)


def _place(v: Value, need: object, spare: object, order: list) -> None:
    """:func:`_visit` for a backward pass: ``v`` (an op) and every unplaced node it depends
    on placed in ``order``, each marked ``need`` when a leaf that requires a gradient feeds
    it (or it is one), else ``spare``. Marked as placed, not as entered: a graph has no
    cycle, so no node is reached again while its parents are being placed."""
    needs = False
    for p in v.parents:
        m = p._mark
        if m is need:
            needs = True
        elif m is not spare:  # not placed yet
            if p.parents:
                _place(p, need, spare, order)
                if p._mark is need:
                    needs = True
            else:  # a leaf, placed without a call
                order.append(p)
                if p.requires_grad:
                    p._mark = need
                    needs = True
                else:
                    p._mark = spare
    v._mark = need if needs else spare
    order.append(v)


def _placed(root: Value, need: object, spare: object) -> list[Value]:
    """:func:`_place` of ``root`` without recursion (for graphs deeper than the recursion
    limit): sorted with a stack, then marked in that order (each node's parents first)."""
    order = _sorted_with_a_stack(root)
    for v in order:
        parents = v.parents
        if parents:
            v._mark = need if any(p._mark is need for p in parents) else spare
        else:
            v._mark = need if v.requires_grad else spare
    return order


def _sorted_with_a_stack(root: Value) -> list[Value]:
    """:func:`topological_order` without recursion: a node is pushed, then its parents in
    reverse slot order; it is placed when it comes off the stack a second time."""
    order: list[Value] = []
    place = order.append
    opened, done = object(), object()
    stack = [root]
    push, pop = stack.append, stack.pop
    while stack:
        v = pop()
        mark = v._mark
        if mark is opened:  # its parents are placed
            v._mark = done
            place(v)
        elif mark is not done:  # not reached earlier through another child
            v._mark = opened
            push(v)
            stack += v.parents[::-1]
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
    needs: dict[Value, bool] = {}  # the page's requires_grad switches decide alike (rules.py)
    for v in order:
        needs[v] = needs_gradient(v.requires_grad, v.parents, needs)
    live: set[Value] = {root}
    for v in reversed(order):
        if v in live and v.op not in _BLOCKING:
            live.update(v.parents)
    return {v for v in live if needs[v]}
