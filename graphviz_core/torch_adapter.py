"""A PyTorch scalar function -> our :class:`~graphviz_core.engine.Value` graph.

A tensor's ``grad_fn`` graph is not enough: an addition saves neither its constant nor a
detached addend, so neither could be drawn. Instead :func:`from_torch` runs the function
under a :class:`torch.overrides.TorchFunctionMode` that sees every torch call it makes -
operators, functions, methods - with its operands, so constants, intermediate values and
``.detach()`` ed operands are all known. PyTorch is optional: it is imported here only.
"""

from __future__ import annotations

from .adapter_checks import AdapterError, compare_with_source
from .engine import OPS, Value, number_text, stop_gradient
from .expression import default_kind
from .rebuild import apply_op

__all__ = ["from_torch"]



def _reversed(name: str, names: tuple[str, ...]) -> bool:
    """Whether torch's ``name`` takes its operands reversed: ``__rsub__`` beside ``__sub__``,
    ``rsub`` beside ``sub`` (``2 - x`` arrives as ``x.__rsub__(2)``)."""
    plain = "__" + name[3:] if name.startswith("__r") else name[1:] if name.startswith("r") else ""
    return plain in names


# torch name -> our op, and for two operands whether they come reversed: the op table's
# Op.torch_names (calls needing more than a name are read in _Recorder.convert)
_UNARY = {name: op.name for op in OPS.values() if op.arity == 1 for name in op.torch_names}
_BINARY = {name: (op.name, _reversed(name, op.torch_names))
           for op in OPS.values() if op.arity == 2 for name in op.torch_names}
_POW = {"pow": False, "__pow__": False, "__rpow__": True, "float_power": False}
_SAME = {"clone", "contiguous", "double", "to", "__pos__", "positive", "requires_grad_"}
KNOWN = {*_UNARY, *_BINARY, *_POW, *_SAME, "square", "clamp", "clip", "clamp_min", "clamp_max"}
SUPPORTED = ("+ - * / ** (pow, square), neg, exp, log, sqrt, tanh, sigmoid, relu, abs, sin, "
             "cos, minimum/maximum (min/max of two tensors), clamp/clip, detach")


def _take(args: tuple, kwargs: dict, names: tuple[str, ...]) -> list:
    """The call's arguments by position or by keyword, in ``names`` order (None if absent)."""
    out = list(args[:len(names)])
    out += [kwargs.get(name) for name in names[len(out):]]
    return out


class _Recorder:
    """Our Value for every tensor the function computes from the leaves."""

    def __init__(self, torch, leaves: dict):
        self.torch = torch
        self.made: dict[int, tuple] = {}   # id(tensor) -> (tensor, Value); holds the tensor
        self.pairs: list[tuple] = []       # (tensor, Value) for each new node: compared later
        for tensor, value in leaves.values():
            self.made[id(tensor)] = (tensor, value)
            self.pairs.append((tensor, value))

    def tracked(self, x) -> bool:
        return isinstance(x, self.torch.Tensor) and id(x) in self.made

    def value(self, x) -> Value:
        """Our node for an operand: a tracked tensor's Value, else a constant leaf."""
        if self.tracked(x):
            return self.made[id(x)][1]
        if isinstance(x, self.torch.Tensor):
            if x.numel() != 1:
                raise AdapterError(f"an operand of shape {tuple(x.shape)}: only scalars are "
                                   "supported")
            x = x.item()
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise AdapterError(f"an operand of type {type(x).__name__} is not a number")
        return Value(float(x), number_text(x), False, "constant")

    def handle(self, func, args: tuple, kwargs: dict, result):
        torch = self.torch
        name = getattr(func, "__name__", "") or str(func)
        if name == "__get__":  # a property: `t.data` is a detached view of t
            if getattr(getattr(func, "__self__", None), "__name__", "") != "data":
                return
            name = "detach"
        flat = [a for arg in (*args, *kwargs.values())
                for a in (arg if isinstance(arg, (tuple, list)) else (arg,))]  # torch.stack([x, y])
        inputs = [a for a in flat if self.tracked(a)]
        if not inputs:
            return  # computed from constants only: a constant where it is used
        tensors = [result] if isinstance(result, torch.Tensor) else (
            [r for r in result if isinstance(r, torch.Tensor)]
            if isinstance(result, (tuple, list)) else [])
        if not tensors:
            return  # item(), float(), repr(): a plain Python value leaves the graph
        if name.endswith("_") and not name.endswith("__") and name != "requires_grad_" \
                or name.startswith("__i"):
            raise AdapterError(f"in-place torch op {name!r} is not supported: write "
                               f"`y = y + ...` instead of `y += ...`")
        if isinstance(result, torch.Tensor) and self.tracked(result):
            return  # the op returned its operand itself (requires_grad_, ...)
        if not isinstance(result, torch.Tensor) or name not in KNOWN:
            raise AdapterError(f"torch op {name!r} is not one this engine has "
                               f"(it has {SUPPORTED})")
        if result.dim() != 0:
            raise AdapterError(f"torch op {name!r} gave a tensor of shape {tuple(result.shape)}: "
                               "only scalars (0-d tensors) are supported")
        if result.dtype != torch.float64:
            raise AdapterError(f"torch op {name!r} gave {result.dtype}: the graph must stay in "
                               "float64 to be compared with ours")
        value, new = self.convert(name, args, kwargs)
        if new and not torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
            value = stop_gradient(value)  # computed under torch.no_grad(): a constant for torch
        self.made[id(result)] = (result, value)
        if new:
            self.pairs.append((result, value))
            if result.requires_grad:
                result.retain_grad()

    def convert(self, name: str, args: tuple, kwargs: dict) -> tuple[Value, bool]:
        """Our node for torch op ``name``, and whether it is a new node (not an alias)."""
        V = self.value
        if name in _SAME:
            return V(args[0] if args else kwargs.get("input")), False
        if name in _UNARY:
            if kwargs.get("inplace"):
                raise AdapterError(f"in-place torch op {name!r} (inplace=True) is not supported")
            return apply_op(_UNARY[name], [V(_take(args, kwargs, ("input",))[0])]), True
        if name in _BINARY:
            op, reverse = _BINARY[name]
            a, b = _take(args, kwargs, ("input", "other"))
            if b is None:
                raise AdapterError(f"torch op {name!r} with one operand is not one this engine "
                                   f"has (it has {SUPPORTED})")
            if kwargs.get("rounding_mode") is not None:
                raise AdapterError(f"torch op {name!r} with rounding_mode is not supported")
            x, y = (V(b), V(a)) if reverse else (V(a), V(b))
            alpha = kwargs.get("alpha", 1)
            if alpha != 1:  # torch.add(a, b, alpha=2) is a + 2*b
                y = y * V(alpha)
            return apply_op(op, [x, y]), True
        if name in _POW:
            base, exponent = _take(args, kwargs, ("input", "exponent"))
            if _POW[name]:
                base, exponent = exponent, base
            if self.tracked(exponent):
                return V(base) ** V(exponent), True
            return V(base) ** V(exponent).data, True  # a constant exponent: part of the node
        if name == "square":
            return V(args[0]) ** 2, True
        if name in ("clamp", "clip", "clamp_min", "clamp_max"):
            names = {"clamp_min": ("input", "min"), "clamp_max": ("input", "max")}.get(
                name, ("input", "min", "max"))
            given = dict(zip(names, _take(args, kwargs, names)))
            x, lo, hi = V(given["input"]), given.get("min"), given.get("max")
            lo = None if lo is None else V(lo)
            hi = None if hi is None else V(hi)
            if lo is not None and hi is not None:
                # torch clamps as min(max(x, lo), hi); our clip is that while lo <= hi
                if lo.data <= hi.data:
                    return apply_op("clip", [x, lo, hi]), True
                return apply_op("min", [apply_op("max", [x, lo]), hi]), True
            if lo is not None:
                return apply_op("max", [x, lo]), True
            if hi is not None:
                return apply_op("min", [x, hi]), True
            raise AdapterError(f"torch op {name!r} without min or max")
        raise AdapterError(f"torch op {name!r} is not one this engine has (it has {SUPPORTED})")


def from_torch(fn, /, *, check: bool = True, strict: bool = False, **leaves) -> Value:
    """Run a PyTorch scalar function and return its graph as ours.

    ``fn(**leaves)`` runs once, with each leaf a 0-d float64 tensor with
    ``requires_grad=True``, while every torch op it performs is recorded (operators,
    ``torch.*`` functions, tensor methods, ``torch.nn.functional``). Constants become
    constant leaves, ``.detach()`` (and ``.data``) a stop-gradient node that carries its
    value, and ops done under ``torch.no_grad()`` a stop-gradient too.

    Parameters
    ----------
    fn : callable
        Takes the leaves as keywords and returns a 0-d tensor.
    check : bool, default True
        Call ``backward()`` on the result (torch's own) and compare every value and every
        gradient - of the leaves and of each intermediate tensor - with ours.
    strict : bool, default False
        Raise a :class:`~graphviz_core.adapter_checks.GradientMismatch` on a difference
        instead of warning it.
    **leaves : float
        The leaves' values, named by their keywords (``w=2.0, x=1.5``); ``x``, ``y``,
        ``t``, ... are drawn as data, others as parameters.

    Returns
    -------
    Value
        The ops ``fn`` performed, recorded as this engine's :class:`Value` graph, our
        backward pass run on it.

    Raises
    ------
    AdapterError
        For a torch op this engine lacks (the message names it), an in-place op, a
        non-scalar or non-float64 result, or a result that does not depend on the leaves.
    ImportError
        When PyTorch is not installed.

    Warns
    -----
    GradientMismatch
        When a value or gradient differs from PyTorch's (unless ``strict``).

    Examples
    --------
    >>> import torch                                                       # doctest: +SKIP
    >>> L = from_torch(lambda w, x: (w * x + 0.5 - x.detach()) ** 2, w=2.0, x=1.5)  # doctest: +SKIP
    >>> [v.op for v in topological_order(L)]                               # doctest: +SKIP
    ['', '', 'mul', '', 'add', 'sg', 'sub', 'pow']
    """
    import torch
    from torch.overrides import TorchFunctionMode

    made = {}
    for name, value in leaves.items():
        number = float(value)
        made[name] = (torch.tensor(number, dtype=torch.float64, requires_grad=True),
                      Value(number, name, True, default_kind(name)))
    recorder = _Recorder(torch, made)

    class Record(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            result = func(*args, **kwargs)
            recorder.handle(func, args, kwargs, result)
            return result

    with Record():
        out = fn(**{name: tensor for name, (tensor, _) in made.items()})
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        raise AdapterError(f"fn returned {type(out).__name__}, not a scalar tensor")
    if not recorder.tracked(out):
        raise AdapterError("fn's result does not depend on its leaves")
    root = recorder.made[id(out)][1]
    if check:
        if out.requires_grad:
            out.backward()
        leaf_ids = {id(tensor) for tensor, _ in made.values()}
        # torch keeps no gradient for a tensor off the path to the result (None); for a
        # leaf that means 0, for an intermediate (detached, unused) there is none to compare
        compare_with_source(root, ((v, t.detach().item(),
                                    t.grad.item() if t.grad is not None else
                                    0.0 if id(t) in leaf_ids else None)
                                   for t, v in recorder.pairs), "PyTorch", strict)
    else:
        root.backward()
    return root
