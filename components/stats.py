"""The line under a graph: how big it is and what the backward pass computed and skipped."""

from __future__ import annotations

from .model import ExplorerModel
from .texts import counts_template, fill_text
from .words import ui

STATS_CLASS = "bpx-stats-line"  # the line's pane (a static page fills its template: texts.mjs)


def stats_template(model: ExplorerModel, lang: str = "en") -> str:
    """The line with the backward pass's counts as placeholders (a requires_grad switch
    changes them: :func:`components.texts.counts_template`)."""
    g = model.graph
    if g is None:
        return ""
    w = ui(lang)
    nodes, edges, _ = model.sizes()
    text = w["stats"].format(nodes=nodes, edges=edges, evaluated="{evaluated}", skipped="{skipped}")
    return counts_template(text, g, w["pruned_one"], w["pruned_many"])


def stats_html(model: ExplorerModel, lang: str = "en") -> str:
    """Nodes, edges, local derivatives evaluated and skipped, and pruned nodes if any."""
    g = model.graph
    return "" if g is None else fill_text(stats_template(model, lang), g, lang)
