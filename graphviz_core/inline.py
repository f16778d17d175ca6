"""Helpers written once and put in place where they are called, when a module is imported.

Python has no inline functions: in a loop run once per node of a graph, a loop over a
node's two inputs costs a third more than the same lines written out for each, a call more
(bench/README.md, "the fan-out rule written once"). :func:`inlined` lets such a loop be written once anyway: inside
the decorated function, a nested function decorated with :func:`inline` is a helper, and each
statement ``helper(x, y)`` becomes the helper's body with its parameters renamed to the
call's arguments. The function's source is rewritten once, at import, as
:func:`collections.namedtuple` and :mod:`dataclasses` write theirs: only this program's own
source is read, never a user's text.

Without the rewrite the function computes the same: the helper is then an ordinary nested
function (its ``nonlocal`` line, dropped when it is put in place, makes it so). The rewritten
function keeps the plain one as ``.plain``, and the tests hold the two alike.

What a helper may be, so that putting it in place changes nothing (else :class:`InlineError`):

- a ``def`` of the function's own body, decorated ``@inline``, called only as a statement
  ``helper(name, ...)`` whose arguments are plain names (nothing evaluated twice or late);
- its body (past its docstring and one ``nonlocal`` line) assigns none of its parameters,
  has no ``return``, ``yield``, ``continue``, ``break`` (not even in a loop of its own),
  ``nonlocal``, ``global``, nested ``def``, ``lambda`` or class, and every name it assigns
  but does not declare ``nonlocal`` is its own: the rest of the function does not use it.
"""

from __future__ import annotations

import __future__

import ast
import copy
import inspect
import textwrap
import types
from collections.abc import Callable

__all__ = ["inline", "inlined", "InlineError"]


class InlineError(ValueError):
    """A helper that cannot be put in place without changing what the function does."""


def inline(helper: Callable) -> Callable:
    """Mark a nested function as a helper :func:`inlined` puts in place.

    Parameters
    ----------
    helper : callable
        A function defined in the body of a function decorated with :func:`inlined`.

    Returns
    -------
    callable
        ``helper`` itself: without the rewrite it is an ordinary nested function.

    Examples
    --------
    >>> inline(len) is len
    True
    """
    return helper


def _is_inline(node: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "inline" for d in node.decorator_list)


def _helper_body(helper: ast.FunctionDef) -> tuple[list[ast.stmt], list[str], set[str]]:
    """The helper's statements to put in place (its ``nonlocal`` line dropped), its
    parameters and the names it declares ``nonlocal``; refused where putting it in place would change what it does."""
    args = helper.args
    if args.posonlyargs or args.vararg or args.kwonlyargs or args.kwarg or args.defaults:
        raise InlineError(f"{helper.name}: plain parameters only")
    params = [a.arg for a in args.args]
    body = helper.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # its docstring
    declared: set[str] = set()
    if body and isinstance(body[0], ast.Nonlocal):
        declared = set(body[0].names)
        body = body[1:]
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom, ast.Continue, ast.Break,
                             ast.Nonlocal, ast.Global, ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.Lambda, ast.ClassDef)):
            raise InlineError(f"{helper.name}: no {type(node).__name__.lower()} in a helper")
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in params:
            raise InlineError(f"{helper.name} assigns its parameter {node.id!r}")
    return body, params, declared


def _assigned(body: list[ast.stmt]) -> set[str]:
    return {n.id for s in body for n in ast.walk(s)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


class _PutInPlace(ast.NodeTransformer):
    """Each statement ``helper(a, b)`` -> the helper's body, its parameters renamed."""

    def __init__(self, helpers: dict[str, tuple[list[ast.stmt], list[str]]]):
        self.helpers = helpers

    def visit_Expr(self, node: ast.Expr):
        call = node.value
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                and call.func.id in self.helpers):
            return self.generic_visit(node)
        body, params = self.helpers[call.func.id]
        if call.keywords or len(call.args) != len(params) or not all(
                isinstance(a, ast.Name) for a in call.args):
            raise InlineError(f"line {node.lineno}: call {call.func.id} with one plain name"
                              " per parameter")
        names = {p: a.id for p, a in zip(params, call.args)}
        copies = [copy.deepcopy(s) for s in body]
        for s in copies:
            for n in ast.walk(s):
                if isinstance(n, ast.Name) and n.id in names:
                    n.id = names[n.id]
        return copies


def inlined(function: Callable) -> Callable:
    """``function`` rewritten with its ``@inline`` helpers put in place (see the module's
    docstring for what a helper may be).

    Parameters
    ----------
    function : callable
        A function defined in a source file (its source is read with :mod:`inspect`).

    Returns
    -------
    callable
        The same function, compiled again from its source with each call statement of a
        helper replaced by the helper's body; the unchanged function is its ``.plain``.

    Raises
    ------
    InlineError
        Where putting a helper in place would change what the function does.

    Examples
    --------
    >>> @inlined
    ... def total(xs):
    ...     @inline
    ...     def add(x):
    ...         nonlocal s
    ...         s += x
    ...     s = 0
    ...     for x in xs:
    ...         add(x)
    ...     return s
    >>> total([1, 2, 3]), total.plain([1, 2, 3])
    (6, 6)
    >>> import dis
    >>> "CALL" in {i.opname for i in dis.get_instructions(total)}  # no call left
    False
    """
    if function.__closure__:  # compiled alone, its enclosing function's names would be lost
        raise InlineError(f"{function.__name__}: reads names of an enclosing function")
    source = textwrap.dedent(inspect.getsource(function))
    tree = ast.parse(source)
    ast.increment_lineno(tree, function.__code__.co_firstlineno - 1)
    definition = tree.body[0]
    definition.decorator_list = []  # this decorator, not applied again
    helpers, kept = {}, []
    for statement in definition.body:
        if isinstance(statement, ast.FunctionDef) and _is_inline(statement):
            body, params, declared = _helper_body(statement)
            helpers[statement.name] = (body, params, declared)
        else:
            kept.append(statement)
    definition.body = kept
    rest = _assigned(kept) | {n.id for s in kept for n in ast.walk(s) if isinstance(n, ast.Name)}
    for name, (body, params, declared) in helpers.items():
        own = _assigned(body) - declared
        if own & rest:
            raise InlineError(f"{name}: the function uses its name(s) {sorted(own & rest)}")
    _PutInPlace({name: (body, params) for name, (body, params, _) in helpers.items()}).visit(
        definition)
    left = [n.lineno for n in ast.walk(definition)
            if isinstance(n, ast.Name) and n.id in helpers]
    if left:
        raise InlineError(f"line {left[0]}: a helper is used other than as a call statement")
    ast.fix_missing_locations(tree)
    # our own source, rewritten (see above): the function is made from its compiled code
    # object, with the plain one's globals and defaults; nothing is run
    module = compile(tree, function.__code__.co_filename, "exec",
                     flags=__future__.annotations.compiler_flag, dont_inherit=True)
    code = next(c for c in module.co_consts
                if isinstance(c, types.CodeType) and c.co_name == definition.name)
    rewritten = types.FunctionType(code, function.__globals__, function.__name__,
                                   function.__defaults__)
    rewritten.__kwdefaults__ = function.__kwdefaults__
    rewritten.__annotations__ = function.__annotations__
    rewritten.__doc__ = function.__doc__
    rewritten.__qualname__ = function.__qualname__
    rewritten.plain = function
    return rewritten
