"""``explore(...)``: the whole explorer for one graph, as a Panel object.

It renders inline in JupyterLab and Jupyter Notebook (after ``pn.extension()``, which
``explore`` calls itself when it has not run) and serves like any Panel object
(``explore(...).servable()``, ``pn.serve(explore(...))``). Each call makes its own model
and views, so several explorers in one notebook do not share state.
"""

from __future__ import annotations

import panel as pn

from graphviz_core import GraphProgram, Value, from_micrograd, from_torch, parse
from graphviz_core.expression import LIMITS
from graphviz_core.mlp import builder_from_text

from .explorer import Explorer
from .model import ExplorerModel
from .page import start_session, stylesheet

__all__ = ["explore"]


def explore(source, /, **values) -> Explorer:
    """The explorer - modes, sliders, playback, node details, values table - for one graph.

    Parameters
    ----------
    source : str, Value, GraphProgram, callable or micrograd-style node
        - typed text in the explorer's language, ``"(w*x + b - y)**2"``;
        - the root :class:`~graphviz_core.Value` of a graph built with our API, or one
          returned by :func:`~graphviz_core.from_micrograd` / :func:`~graphviz_core.from_torch`;
        - a PyTorch function of scalar tensors: ``explore(fn, w=2.0, x=1.5)`` is
          ``explore(from_torch(fn, w=2.0, x=1.5))``;
        - a micrograd-style node (``.data``, ``.grad``, ``._prev``, ``._op``):
          ``explore(from_micrograd(node))``.
    **values : float
        Values of the variables (one slider each); the others keep their value in the
        graph (for text: the seed's, else 1).

    Returns
    -------
    Explorer
        A Panel viewer: display it in a notebook cell, or ``.servable()`` it.

    Raises
    ------
    ExpressionError
        For text outside the language.
    AdapterError
        For a PyTorch function or micrograd graph with an op the engine lacks.
    ValueError
        For a graph of more than ``LIMITS["nodes"]`` nodes, or a value for a variable the
        graph does not have.

    Examples
    --------
    >>> explorer = explore("(w*x + b - y)**2", w=2, x=1.5, b=0.5, y=1)
    >>> explorer.model.values
    {'w': 2.0, 'x': 1.5, 'b': 0.5, 'y': 1.0}
    >>> w = Value(0.5, "w")
    >>> explore((w * 3).tanh()).model.variables
    ['w']
    """
    if isinstance(source, str):
        parsed = builder_from_text(source) or parse(source)
        _check_names(parsed.variables, values, source)
        model = ExplorerModel(expression=source, values=_floats(values))
        editable = True
    else:
        program = source if isinstance(source, GraphProgram) else GraphProgram(
            _as_root(source, values), source=_title(source))
        if program.node_count > LIMITS["nodes"]:
            raise ValueError(f"the graph has {program.node_count:,} nodes; the explorer draws "
                             f"at most {LIMITS['nodes']:,}")
        if not callable(source):
            _check_names(program.variables, values, program.source)
        model = ExplorerModel(root=program, values=_floats(values))
        editable = False
    _prepare_page()
    return Explorer(model=model, sync_url=False, editable=editable)


def _as_root(source, values: dict) -> Value:
    if isinstance(source, Value):
        return source
    if all(hasattr(source, a) for a in ("data", "grad", "_prev", "_op")):
        return from_micrograd(source)
    if callable(source):
        root = from_torch(source, **values)
        values.clear()  # they are the leaves' values already
        return root
    raise TypeError(f"explore() takes text, a Value, a PyTorch function or a micrograd node, "
                    f"not {type(source).__name__}")


def _title(source) -> str | None:
    if isinstance(source, Value):
        return None  # GraphProgram's own: "a graph of N nodes"
    if all(hasattr(source, a) for a in ("data", "_prev", "_op")):
        return "a micrograd graph"
    name = getattr(source, "__name__", "")
    return f"PyTorch: {name}" if name and name != "<lambda>" else "a PyTorch function"


def _check_names(variables, values: dict, what: str) -> None:
    unknown = [name for name in values if name not in variables]
    if unknown:
        raise ValueError(f"{what!r} has no variable {unknown[0]!r} (its variables: "
                         f"{', '.join(variables) or 'none'})")


def _floats(values: dict) -> dict[str, float]:
    return {name: float(v) for name, v in values.items()}


def _prepare_page() -> None:
    """The explorer's styles in every Panel component, the extension loaded in a notebook
    that did not load it, and, under ``panel serve``, the session set up as the app does."""
    css = stylesheet()
    from panel.config import panel_extension
    if not panel_extension._loaded:
        pn.extension(raw_css=[css])
    elif css not in pn.config.raw_css:
        pn.config.raw_css = [*pn.config.raw_css, css]
    start_session()
