"""Why a typed expression cannot be used: every :class:`~graphviz_core.ExpressionError`'s
words, by key.

The core speaks English; a page in another language translates an error by its ``key`` and
``fields`` (the UI catalogue ``components/words/ui.toml`` has ``[parse_error.<key>]`` with
these English templates beside the other languages, and a test keeps the two equal).

Examples
--------
>>> problem("unknown_function", 4, name="foo").message
"unknown function 'foo'"
>>> problem("unknown_function", 4, name="foo").fields
{'name': 'foo'}
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["MESSAGES", "problem"]

MESSAGES = MappingProxyType({
    "not_text": "the expression must be text",
    "too_long": "the expression is too long ({length} characters; at most {limit})",
    "control_character": "unexpected control character {char}",
    "empty": "the expression is empty",
    "unreadable_detail": "cannot read this expression: {detail}",
    "unreadable": "cannot read this expression ({kind})",
    "several_statements": "write a single expression, not several statements",
    "assignment": ("assignments are not supported: type only the right-hand side, "
                   "e.g. (w*x + b - y)**2"),
    "statement": "statements are not supported: type an expression",
    "string": "strings are not supported",
    "unexpected_character": "unexpected character {char}",
    "syntax_unclosed": "syntax error: a '(' is never closed",
    "syntax_unmatched": "syntax error: unmatched '{bracket}'",
    "syntax": "syntax error: {detail}",
    "too_deep": "the expression is too deeply nested",
    "nested_limit": "the expression is nested too deeply (more than {limit} levels)",
    "operator_named": "'{symbol}' ({what}) is not supported",
    "operator": "'{symbol}' is not supported",
    "xor": "'^' (use ** for powers) is not supported",
    "attribute": "attributes (a '.' after a name) are not allowed",
    "subscript": "indexing with [...] is not supported",
    "lambda": "lambdas are not supported",
    "comparison": "comparisons are not supported",
    "and_or": "'and' / 'or' are not supported",
    "if_else": "'if ... else' is not supported",
    "assignment_short": "assignments are not supported",
    "unpacking": "'*' unpacking is not supported",
    "list": "lists are not supported",
    "tuple": "tuples are not supported",
    "set": "sets are not supported",
    "dict": "dictionaries are not supported",
    "comprehension": "comprehensions are not supported",
    "generator": "generators are not supported",
    "await": "'await' is not supported",
    "yield": "'yield' is not supported",
    "slice": "slices are not supported",
    "call_not_builtin": "only the built-in functions can be called",
    "unknown_function": "unknown function '{name}'",
    "keywords": "{name}() takes no keyword arguments",
    "arity_one": "{name}() takes 1 argument, got {got}",
    "arity": "{name}() takes {arity} arguments, got {got}",
    "unsupported_syntax": "unsupported syntax ({kind})",
    "too_many_nodes": "the expression has too many nodes (at most {limit})",
    "too_large": "this number is too large",
    "is_function": "'{name}' is a function: call it as {name}(...)",
    "underscore_name": "unknown name '{name}': names may not start with '_'",
    "bad_name": "unknown name '{name}': use letters, digits and '_' only",
    "long_name": "the name '{name}...' is too long (at most {limit} characters)",
    "too_many_variables": "too many variables (at most {limit})",
    "exponent_too_large": ("the exponent {exponent} is too large: constant exponents must lie "
                           "within ±{limit}"),
    "complex": "complex numbers are not supported",
    "not_a_number": "'{value}' is not a number",
    "unsupported_constant": "unsupported constant",
    "negative_fractional": "a negative number to a fractional power has no real value",
    "exponent_division": "division by zero in a constant exponent",
    "missing_value": "missing value for variable '{name}'",
    "value_not_number": "the value of '{name}' is not a number",
    "mlp_sizes": "mlp(n_in, h1, ..., n_out) takes two or more sizes from 1 to 1000",
    "mlp_inputs": "mlp(...) takes at most {limit} inputs (a slider each), not {n}",
    "mlp_nodes": "{call} would have {n} nodes; at most {limit} are drawn",
    "mlp_drawn": "{call} would draw {n} nodes even with a node per neuron; at most {limit} are drawn",
})


def problem(key: str, position: int | None = None, **fields):
    """The :class:`~graphviz_core.ExpressionError` of ``key`` (a key of :data:`MESSAGES`),
    its template filled with ``fields`` (already text: numbers written as they are shown)."""
    from .expression import ExpressionError
    fields = {k: str(v) for k, v in fields.items()}
    return ExpressionError(MESSAGES[key].format(**fields), position, key=key, fields=fields)
