"""Typed text -> a graph of :class:`~graphviz_core.engine.Value` s, through an ``ast`` whitelist.

The text is parsed by :func:`ast.parse` (never ``eval``, ``exec`` or ``compile`` of
user text), every node of the syntax tree is checked against a whitelist, and the
tree is turned into a flat postfix program that :meth:`Expression.build` replays
with fresh leaves for each set of values. Anything else is an
:class:`ExpressionError` naming the problem and its character position.
"""

from __future__ import annotations

import ast
import math
import re
import warnings
from typing import Mapping

from .engine import OPS, Value, number_text as _number_text, to_float
from .messages import problem

__all__ = ["ExpressionError", "Expression", "parse", "gradients", "FUNCTIONS",
           "default_kind", "LIMITS"]

LIMITS = {
    "length": 2000,      # characters of source text
    "nodes": 2000,       # nodes of the built graph
    "depth": 200,        # nesting of the syntax tree
    "variables": 24,     # one slider each
    "name": 32,          # characters of a variable name
    "exponent": 100.0,   # constant exponents beyond this only ever overflow
}

# name -> (number of arguments, how to apply it): the functions of the op table
FUNCTIONS = {op.function: (op.arity, op.apply) for op in OPS.values() if op.function}

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_BINARY_APPLY = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "**": lambda a, b: a ** b,
}
# operator -> the key of its message (graphviz_core.messages) and the message's fields
_UNSUPPORTED_OPERATORS = {
    ast.FloorDiv: ("operator_named", {"symbol": "//", "what": "floor division"}),
    ast.Mod: ("operator_named", {"symbol": "%", "what": "remainder"}),
    ast.MatMult: ("operator_named", {"symbol": "@", "what": "matrix product"}),
    ast.LShift: ("operator", {"symbol": "<<"}), ast.RShift: ("operator", {"symbol": ">>"}),
    ast.BitOr: ("operator", {"symbol": "|"}), ast.BitXor: ("xor", {}),
    ast.BitAnd: ("operator", {"symbol": "&"}), ast.Invert: ("operator", {"symbol": "~"}),
    ast.Not: ("operator", {"symbol": "not"}),
}
# syntax -> the key of its message
_UNSUPPORTED_NODES = {
    ast.Attribute: "attribute", ast.Subscript: "subscript", ast.Lambda: "lambda",
    ast.Compare: "comparison", ast.BoolOp: "and_or", ast.IfExp: "if_else",
    ast.NamedExpr: "assignment_short", ast.Starred: "unpacking", ast.JoinedStr: "string",
    ast.List: "list", ast.Tuple: "tuple", ast.Set: "set", ast.Dict: "dict",
    ast.ListComp: "comprehension", ast.SetComp: "comprehension", ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator", ast.Await: "await", ast.Yield: "yield",
    ast.YieldFrom: "yield", ast.Slice: "slice",
}
# look-alike characters students paste from slides; each maps to one character,
# so positions in messages stay those of the text they typed
_NORMALIZE = str.maketrans({"\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u2212": "-",
                            "\u2013": "-", "\u00f7": "/", "\u2009": " ", "\u00a0": " ",
                            # Python also ends a line at a lone CR; we count lines at LF
                            "\r": "\n"})
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_DATA_NAME = re.compile(r"(x|y|t|target|label|data|input)(\d+|_\w*)?\Z")


class ExpressionError(ValueError):
    """A typed expression that cannot be used, with what is wrong and where.

    Attributes
    ----------
    message : str
        What is wrong, for a student to read (English).
    position : int or None
        0-based character index in the source where the problem starts.
    key : str or None
        Which problem it is: a key of :data:`graphviz_core.messages.MESSAGES`, whose
        template ``fields`` fill to ``message`` (a page in another language translates
        by it); None for a message made elsewhere.
    fields : dict
        The template's fields, as text.

    Examples
    --------
    >>> try:
    ...     parse("w * foo(x)")
    ... except ExpressionError as e:
    ...     print(e.position, e.message)
    4 unknown function 'foo'
    """

    def __init__(self, message: str, position: int | None = None, *, key: str | None = None,
                 fields: dict | None = None):
        self.message = message
        self.position = position
        self.key = key
        self.fields = dict(fields or {})
        super().__init__(message if position is None else f"{message} (at position {position})")


class Expression:
    """A parsed expression, ready to be built into a graph for any values.

    Use :func:`parse` to make one.

    Attributes
    ----------
    source : str
        The text as typed.
    variables : tuple of str
        Variable names in order of first appearance.

    Examples
    --------
    >>> e = parse("(w*x + b - y)**2")
    >>> e.variables
    ('w', 'x', 'b', 'y')
    >>> L = e.build({"w": 2, "x": 1.5, "b": 0.5, "y": 1})
    >>> L.data
    6.25
    """

    def __init__(self, source: str, variables: tuple[str, ...], program: tuple):
        self.source = source
        self.variables = variables
        self._program = program

    def __repr__(self) -> str:
        return f"parse({self.source!r})"

    def node_count(self) -> int:
        """At most how many nodes :meth:`build` makes: known before building (a cost estimate).

        Examples
        --------
        >>> parse("(w*x + b - y)**2").node_count() >= 8
        True
        """
        return len(self._program)

    def build(self, values: Mapping[str, float], requires_grad: Mapping[str, bool] | None = None,
              kinds: Mapping[str, str] | None = None) -> Value:
        """Build the graph for ``values`` and return its root.

        Parameters
        ----------
        values : mapping of str to float
            A value for every variable.
        requires_grad : mapping of str to bool, optional
            Per variable; missing names require a gradient.
        kinds : mapping of str to str, optional
            Per variable, ``"parameter"`` or ``"data"``; missing names get
            :func:`default_kind`.

        Returns
        -------
        Value
            The root; each variable is one leaf named after it, shared by all its uses.

        Raises
        ------
        ExpressionError
            When a variable has no value or its value is not a number.
        """
        return self._build(values, requires_grad, kinds)[0]

    def _build(self, values, requires_grad=None, kinds=None) -> tuple[Value, dict[str, Value]]:
        requires_grad = requires_grad or {}
        kinds = kinds or {}
        leaves = {}
        for name in self.variables:
            if name not in values:
                raise problem("missing_value", name=name)
            try:
                number = to_float(values[name])
            except (TypeError, ValueError):
                raise problem("value_not_number", name=name) from None
            leaves[name] = Value(number, name, requires_grad.get(name, True),
                                 kinds.get(name) or default_kind(name))
        stack: list = []
        for instruction in self._program:
            kind = instruction[0]
            if kind == "var":
                stack.append(leaves[instruction[1]])
            elif kind == "const":
                stack.append(Value(instruction[1], instruction[2], False, "constant"))
            elif kind == "pow":
                stack.append(stack.pop() ** instruction[1])
            elif kind == "neg":
                stack.append(-stack.pop())
            elif kind == "bin":
                b = stack.pop()
                stack.append(_BINARY_APPLY[instruction[1]](stack.pop(), b))
            else:  # call
                n = FUNCTIONS[instruction[1]][0]
                args = stack[-n:]
                del stack[-n:]
                stack.append(FUNCTIONS[instruction[1]][1](*args))
        return stack[0], leaves


def default_kind(name: str) -> str:
    """The role a variable plays by its name: ``"data"`` for x, y, x1, y_true, ...

    Examples
    --------
    >>> default_kind("x"), default_kind("w")
    ('data', 'parameter')
    """
    return "data" if _DATA_NAME.match(name) else "parameter"


def parse(source: str) -> Expression:
    """Parse a typed expression through an ``ast`` whitelist.

    The language: numbers, variable names, ``+ - * / **``, unary ``-``/``+``,
    parentheses, and calls of ``exp log sqrt tanh sigmoid relu abs sin cos``
    (one argument), ``min max`` (two), ``clip`` (three) and ``sg``
    (stop-gradient, one). A constant exponent (``z**2``) becomes a parameter of
    the power node.

    Parameters
    ----------
    source : str

    Returns
    -------
    Expression

    Raises
    ------
    ExpressionError
        For anything else; no other exception escapes.

    Examples
    --------
    >>> parse("sg(x) * x").variables
    ('x',)
    >>> parse("x // 2")
    Traceback (most recent call last):
    ...
    graphviz_core.expression.ExpressionError: '//' (floor division) is not supported (at position 0)
    """
    try:
        return _parse(source)
    except ExpressionError:
        raise
    except (RecursionError, MemoryError):
        raise problem("too_deep") from None
    except Exception as e:  # a fault of ours must still reach the student as a message
        raise problem("unreadable", kind=type(e).__name__) from None


def gradients(source: str, values: Mapping[str, float]) -> tuple[float, dict[str, float]]:
    """Value of ``source`` at ``values`` and its gradient with respect to every variable.

    Examples
    --------
    >>> gradients("(w*x + b - y)**2", {"w": 2, "x": 1.5, "b": 0.5, "y": 1})
    (6.25, {'w': 7.5, 'x': 10.0, 'b': 5.0, 'y': -5.0})
    >>> gradients("sg(x) * y", {"x": 3, "y": 2})[1]
    {'x': 0.0, 'y': 3.0}
    """
    expression = parse(source)
    root, leaves = expression._build(values)
    root.backward()
    return root.data, {name: leaf.grad for name, leaf in leaves.items()}


# --- parsing --------------------------------------------------------------------------

def _parse(source) -> Expression:
    if not isinstance(source, str):
        raise problem("not_text")
    if len(source) > LIMITS["length"]:
        raise problem("too_long", LIMITS["length"], length=f"{len(source):,}",
                      limit=f"{LIMITS['length']:,}")
    text = source.translate(_NORMALIZE)
    for i, ch in enumerate(text):
        if (ch < " " and ch not in "\t\n\r") or ch == "\x7f":
            raise problem("control_character", i, char=repr(ch))
    if not text.strip():
        raise problem("empty", 0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = ast.parse(text, mode="exec")
    except SyntaxError as e:
        raise _syntax_error(text, e) from None
    except ValueError as e:  # e.g. integer literals beyond Python's digit limit
        raise problem("unreadable_detail", detail=e) from None
    body = module.body
    if not body:  # only comments
        raise problem("empty", 0)
    if len(body) != 1:
        raise problem("several_statements", _position(text, body[1]) if len(body) > 1 else 0)
    statement = body[0]
    if isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        raise problem("assignment", _position(text, statement))
    if not isinstance(statement, ast.Expr):
        raise problem("statement", _position(text, statement))
    return _Compiler(text).compile(source, statement.value)


def _syntax_error(text: str, error: SyntaxError) -> ExpressionError:
    position = None
    if error.lineno is not None and error.offset is not None:
        lines = text.split("\n")
        line = max(1, min(error.lineno, len(lines)))
        position = sum(len(l) + 1 for l in lines[:line - 1]) + max(0, error.offset - 1)
        position = min(position, len(text))
    for i, ch in enumerate(text):
        if ch in "'\"":
            return problem("string", i)
        if not (ch.isascii() and (ch.isalnum() or ch in " \t\r\n+-*/()._,")):
            return problem("unexpected_character", i, char=repr(ch))
    message = error.msg or "invalid syntax"
    if message == "'(' was never closed":
        return problem("syntax_unclosed", position)
    unmatched = re.fullmatch(r"unmatched '(.)'", message)
    if unmatched:
        return problem("syntax_unmatched", position, bracket=unmatched.group(1))
    return problem("syntax", position, detail=message)


def _position(text: str, node: ast.AST) -> int:
    """Character index of ``node`` (ast gives UTF-8 byte columns per line)."""
    lines = text.split("\n")
    line = getattr(node, "lineno", 1) - 1
    column_bytes = getattr(node, "col_offset", 0)
    column = len(lines[line].encode("utf-8")[:column_bytes].decode("utf-8", "ignore"))
    return sum(len(l) + 1 for l in lines[:line]) + column


class _Compiler:
    """Whitelist check and post-order flattening of a syntax tree, without recursion."""

    def __init__(self, text: str):
        self.text = text
        self.program: list[tuple] = []
        self.variables: dict[str, None] = {}
        self.nodes = 0
        self._folded: dict[int, float | str | None] = {}  # constant subtrees, folded once
        self._not_constant: set[int] = set()

    def is_constant(self, node: ast.AST) -> bool:
        """``_constant_number(node) is not None``, walking each chain of signs only once.

        Without the memo, ``-----...x`` costs a walk per sign: quadratic in the text.
        """
        if id(node) in self._not_constant:
            return False
        if _constant_number(node) is not None:
            return True
        while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            self._not_constant.add(id(node))
            node = node.operand
        return False

    def error(self, key: str, node: ast.AST, **fields) -> ExpressionError:
        return problem(key, _position(self.text, node), **fields)

    def compile(self, source: str, tree: ast.AST) -> Expression:
        stack: list[tuple[ast.AST, bool, int]] = [(tree, False, 1)]
        while stack:
            node, children_done, depth = stack.pop()
            if depth > LIMITS["depth"]:
                raise self.error("nested_limit", node, limit=LIMITS["depth"])
            if children_done:
                self.emit(node)
                continue
            children = self.children(node)
            stack.append((node, True, depth))
            for i, child in reversed(list(enumerate(children))):
                # a left operand continues its chain (a + b + c + ...), it does not nest
                nests = not (i == 0 and isinstance(node, ast.BinOp))
                stack.append((child, False, depth + nests))
        return Expression(source, tuple(self.variables), tuple(self.program))

    def children(self, node: ast.AST) -> list[ast.AST]:
        """Check ``node`` against the whitelist; return the children to compile first."""
        if isinstance(node, ast.Constant):
            return []
        if isinstance(node, ast.Name):
            return []
        if isinstance(node, ast.UnaryOp):
            if type(node.op) in _UNSUPPORTED_OPERATORS:
                raise self.error(*_UNSUPPORTED_OPERATORS[type(node.op)][:1], node,
                                 **_UNSUPPORTED_OPERATORS[type(node.op)][1])
            if self.is_constant(node):
                return []
            return [node.operand]
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise self.error(*_UNSUPPORTED_OPERATORS[type(node.op)][:1], node,
                                 **_UNSUPPORTED_OPERATORS[type(node.op)][1])
            if isinstance(node.op, ast.Pow) and self.constant_exponent(node) is not None:
                return [node.left]
            return [node.left, node.right]
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise self.error("call_not_builtin", node)
            name = node.func.id
            if name not in FUNCTIONS:
                raise self.error("unknown_function", node, name=name)
            if node.keywords:
                raise self.error("keywords", node.keywords[0].value, name=name)
            arity = FUNCTIONS[name][0]
            if any(isinstance(a, ast.Starred) for a in node.args):
                raise self.error("unpacking", node)
            if len(node.args) != arity:
                raise self.error("arity_one" if arity == 1 else "arity", node, name=name,
                                 arity=arity, got=len(node.args))
            return list(node.args)
        for kind, key in _UNSUPPORTED_NODES.items():
            if isinstance(node, kind):
                raise self.error(key, node)
        raise self.error("unsupported_syntax", node, kind=type(node).__name__)

    def emit(self, node: ast.AST) -> None:
        self.nodes += 1
        if self.nodes > LIMITS["nodes"]:
            raise self.error("too_many_nodes", node, limit=LIMITS["nodes"])
        if isinstance(node, ast.Constant) or (isinstance(node, ast.UnaryOp)
                                              and self.is_constant(node)):
            number = self.number(node)
            self.program.append(("const", number, _number_text(number)))
        elif isinstance(node, ast.Name):
            self.program.append(("var", self.variable(node)))
        elif isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                self.program.append(("neg",))
        elif isinstance(node, ast.BinOp):
            symbol = _BINARY[type(node.op)]
            exponent = self.constant_exponent(node) if symbol == "**" else None
            if exponent is not None:
                self.program.append(("pow", exponent))
            else:
                self.program.append(("bin", symbol))
        else:  # ast.Call, checked in children()
            self.program.append(("call", node.func.id))

    def number(self, node: ast.AST) -> float:
        value = _constant_number(node)
        if value is None:
            raise _at(_constant_problem(node), self.text, node)
        if not math.isfinite(value):
            raise self.error("too_large", node)
        return value

    def variable(self, node: ast.Name) -> str:
        name = node.id
        if name in FUNCTIONS:
            raise self.error("is_function", node, name=name)
        if name.startswith("_"):
            raise self.error("underscore_name", node, name=name)
        if not _NAME.match(name):
            raise self.error("bad_name", node, name=name)
        if len(name) > LIMITS["name"]:
            raise self.error("long_name", node, name=name[:12], limit=LIMITS["name"])
        if name not in self.variables and len(self.variables) >= LIMITS["variables"]:
            raise self.error("too_many_variables", node, limit=LIMITS["variables"])
        self.variables.setdefault(name, None)
        return name

    def constant_exponent(self, node: ast.BinOp) -> float | None:
        """The exponent of ``a ** c`` when ``c`` is made of numbers only, else None."""
        exponent = _fold_constant(node.right, self._folded)
        if exponent is None:
            return None
        if isinstance(exponent, ExpressionError):
            raise _at(exponent, self.text, node.right)
        if not abs(exponent) <= LIMITS["exponent"]:
            raise _exponent_too_large(exponent, _position(self.text, node.right))
        return exponent


def _constant_number(node: ast.AST) -> float | None:
    """The number of a literal, or of ``-literal``/``+literal``; None for anything else."""
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        if isinstance(node.op, ast.USub):
            sign = -sign
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        try:
            return sign * float(node.value)
        except OverflowError:
            return math.inf
    return None


def _at(error: ExpressionError, text: str, node: ast.AST) -> ExpressionError:
    """``error`` (found without a place) at ``node``'s position."""
    return problem(error.key, _position(text, node), **error.fields)


def _exponent_too_large(exponent: float, position: int | None = None) -> ExpressionError:
    return problem("exponent_too_large", position, exponent=_number_text(exponent),
                   limit=f"{LIMITS['exponent']:g}")


def _constant_problem(node: ast.AST) -> ExpressionError:
    while isinstance(node, ast.UnaryOp):
        node = node.operand
    value = getattr(node, "value", None)
    if isinstance(value, (str, bytes)):
        return problem("string")
    if isinstance(value, complex):
        return problem("complex")
    if isinstance(value, bool) or value is None or value is Ellipsis:
        return problem("not_a_number", value=value)
    return problem("unsupported_constant")


def _fold_constant(node: ast.AST, memo: dict | None = None) -> float | ExpressionError | None:
    """Evaluate a subtree made only of numbers and + - * / ** (for exponents).

    Returns the number, None when the subtree has a name or a call, or the error (without
    a position) when it is a constant that cannot be used. Iterative, and each power is
    checked before it is computed, so ``9**9**9`` costs nothing. With ``memo``
    (one dict per expression) each subtree is folded once: a power tower such as
    ``1**1**...**x`` costs linear time, not a walk of its tail per level.
    """
    memo = {} if memo is None else memo
    stack: list[tuple[ast.AST, bool]] = [(node, False)]
    while stack:
        sub, children_done = stack.pop()
        if id(sub) in memo:
            continue
        children = ([sub.operand] if isinstance(sub, ast.UnaryOp) else
                    [sub.left, sub.right] if isinstance(sub, ast.BinOp) else [])
        if children and not children_done:
            stack.append((sub, True))
            stack.extend((child, False) for child in children)
            continue
        memo[id(sub)] = _fold_one(sub, [memo[id(child)] for child in children])
    return memo[id(node)]


def _fold_one(sub: ast.AST, operands: list) -> float | ExpressionError | None:
    """One step of :func:`_fold_constant`, given the folded operands of ``sub``."""
    if isinstance(sub, ast.Constant):
        if type(sub.value) not in (int, float):
            return _constant_problem(sub)
        try:
            return float(sub.value)
        except OverflowError:
            return problem("too_large")
    if not (isinstance(sub, ast.UnaryOp) and isinstance(sub.op, (ast.USub, ast.UAdd))
            or isinstance(sub, ast.BinOp) and type(sub.op) in _BINARY):
        return None  # a name, a call or other syntax: not a constant (the whitelist reports it)
    if any(v is None for v in operands):
        return None
    for v in operands:
        if isinstance(v, ExpressionError):
            return v
    if isinstance(sub, ast.UnaryOp):
        return -operands[0] if isinstance(sub.op, ast.USub) else operands[0]
    a, b = operands
    symbol = _BINARY[type(sub.op)]
    if symbol == "**":
        if abs(b) > LIMITS["exponent"]:
            return _exponent_too_large(b)
        if a < 0 and b != int(b):
            return problem("negative_fractional")
    try:
        result = _BINARY_APPLY[symbol](a, b)
    except ZeroDivisionError:
        return problem("exponent_division")
    except OverflowError:
        return problem("too_large")
    if isinstance(result, complex) or not math.isfinite(result):
        return problem("too_large")
    return float(result)
