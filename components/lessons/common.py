"""Pieces every lesson page uses: query parsing, text blocks, figure style, URL writing.

Nothing here holds state between sessions: each helper makes new objects per call.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

import panel as pn
from bokeh.plotting import figure

from graphviz_core import format_number
from graphviz_core.rules import stopping

from .. import display
from ..urlstate import write_query
from ..words import ui

# Chart lines in Okabe-Ito hues (blue, vermillion, bluish green, reddish purple): told apart
# under deuteranopia and protanopia and 3:1 on white (python3 tools/palette_check.py); a
# second line is also told by its dash and its legend
PALETTE = {"a": "#0072B2", "b": "#D55E00", "c": "#009E73", "d": "#CC79A7", "muted": "#52606D",
           "grid": "#E4E7EB"}


# --- query arguments ---------------------------------------------------------------------------

def float_arg(args: dict, key: str, default: float, lo: float, hi: float) -> float:
    """``args[key]`` as a float inside ``[lo, hi]``, else ``default`` (bad text is ignored)."""
    try:
        value = float(args.get(key, default))
    except (TypeError, ValueError):
        return default
    if not math.isfinite(value):
        return default
    return min(max(value, lo), hi)


def choice_arg(args: dict, key: str, default: str, options: Iterable[str]) -> str:
    value = args.get(key, default)
    return value if value in options else default


def names_arg(args: dict, key: str, allowed: Iterable[str]) -> list[str]:
    """A comma-separated list of names from ``allowed`` (``off=x,y``)."""
    allowed = set(allowed)
    return [n for n in args.get(key, "").split(",") if n in allowed]


def number(x: float, digits: int = 4) -> str:
    return format_number(float(x), digits)


def paren(x: float, digits: int = 4) -> str:
    """A number for the middle of a product: negative ones in parentheses."""
    text = number(x, digits)
    return f"({text})" if text.startswith("-") else text


class UrlWriter:
    """Write a lesson's state into the query whenever ``state()`` changes (never in tests)."""

    def __init__(self, state: Callable[[], dict]):
        self.state = state

    def __call__(self, *events) -> None:
        write_query({k: str(v) for k, v in self.state().items()})


def watch_all(callback: Callable, *watched) -> None:
    """Call ``callback`` whenever one of ``watched`` changes: ``(object, parameter name or
    names)`` pairs, as ``object.param.watch`` takes them."""
    for obj, names in watched:
        obj.param.watch(callback, names)


def write_url_on(state: Callable[[], dict], *watched) -> None:
    """Write ``state()`` into the query whenever one of ``watched`` changes (see :func:`watch_all`)."""
    watch_all(UrlWriter(state), *watched)


# --- text ------------------------------------------------------------------------------------------

def text_pane(markup: str, model: bool = False, **params):
    """Trusted HTML as a ``pn.pane.HTML`` or, with ``model``, as the model Panel would make of
    it, for a display-only block (:mod:`components.display`)."""
    return display.html(markup, **params) if model else pn.pane.HTML(markup, **params)


def heading(text: str, level: int = 2, subtitle: str = "", model: bool = False):
    sub = f"<div class='bpx-lesson-subtitle'>{subtitle}</div>" if subtitle else ""
    return text_pane(f"<h{level} class='bpx-lesson-h{level}'>{text}</h{level}>{sub}", model,
                     sizing_mode="stretch_width", margin=(4, 10, 0, 10))


def prose(paragraphs: Iterable[str], css: str = "bpx-prose", model: bool = False, **kwargs):
    """Paragraphs of (trusted, our own) HTML."""
    body = "".join(p if p.lstrip().startswith(("<p", "<ul", "<ol", "<div", "<table")) else
                   f"<p>{p}</p>" for p in paragraphs)
    return text_pane(f"<div class='{css}'>{body}</div>", model, sizing_mode="stretch_width",
                     **kwargs)


def callout(text: str, kind: str = "cue", model: bool = False):
    return text_pane(f"<div class='bpx-callout bpx-callout-{kind}'>{text}</div>", model,
                     sizing_mode="stretch_width", margin=(6, 10))


def table_html(header: list[str], rows: list[list[str]], css: str = "bpx-num-table",
               caption: str = "") -> str:
    """An HTML table; cells are trusted HTML (numbers and our own words)."""
    cap = f"<caption>{caption}</caption>" if caption else ""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table class='{css}'>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# --- figures ----------------------------------------------------------------------------------------

def plot(title: str, x_label: str, y_label: str, height: int = 300, **kwargs):
    """A line-chart figure in the lessons' style: readable fonts, light grid, no logo."""
    fig = figure(title=title, height=height, sizing_mode="stretch_width",
                 tools="pan,wheel_zoom,box_zoom,reset,save", toolbar_location="right",
                 background_fill_color="#FFFFFF", border_fill_color="#FFFFFF",
                 outline_line_color="#D5DAE0", **kwargs)
    fig.toolbar.logo = None
    fig.title.text_font_size = "15px"
    fig.title.text_color = "#1F2933"
    fig.title.text_font_style = "bold"
    fig.xaxis.axis_label = x_label
    fig.yaxis.axis_label = y_label
    for axis in (fig.xaxis, fig.yaxis):
        axis.axis_label_text_font_size = "14px"
        axis.axis_label_text_font_style = "normal"
        axis.axis_label_text_color = "#334155"
        axis.major_label_text_font_size = "13px"
    fig.grid.grid_line_color = PALETTE["grid"]
    return fig


def style_legend(fig, location: str = "top_right") -> None:
    fig.legend.location = location
    fig.legend.label_text_font_size = "13px"
    fig.legend.background_fill_alpha = 0.9
    fig.legend.border_line_color = "#D5DAE0"
    fig.legend.click_policy = "hide"


# --- reading a traced graph -----------------------------------------------------------------------

def leaf_node(graph, name: str) -> int:
    """The node of the variable ``name`` in a traced graph."""
    return next(n for n in graph if graph.nodes[n]["name"] == name and not graph.nodes[n]["op"])


def contributions(graph, leaf: str) -> list[dict]:
    """What each outgoing edge of ``leaf`` carries back: the terms its gradient adds up."""
    n = leaf_node(graph, leaf)
    return [{"child": graph.nodes[v]["name"], "child_text": graph.nodes[v]["text"], "slot": key,
             "incoming": graph.nodes[v]["grad"], "local": d["local"],
             "contribution": d["contribution"], "blocked": d["blocked"], "pruned": d["pruned"]}
            for _, v, key, d in sorted(graph.out_edges(n, keys=True, data=True),
                                       key=lambda e: (e[1], e[2]))]


# --- early stopping ---------------------------------------------------------------------------------

def stop_phrase(losses, tau: float, lang: str, C: float = 0.0) -> tuple[int | None, str]:
    """When a run with ``losses`` stops on "loss < tau", and that said in ``lang``.

    ``C`` is the constant the run's loss carries (L + C, with L >= 0): a run whose
    C is at least tau can never stop, one whose C is below tau may stop later or not
    within the run, and the phrase says which.
    """
    step, key, steps, low = stopping(losses, tau, C)  # the page's rule too (rules.py)
    return step, ui(lang)["stopping"][key].format(step=step, C=number(C), n=steps,
                                                  low=number(low))
