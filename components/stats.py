"""The line under a graph: how big it is and what the backward pass computed and skipped."""

from __future__ import annotations

from .model import ExplorerModel
from .words import ui


def stats_html(model: ExplorerModel, lang: str = "en") -> str:
    """Nodes, edges, local derivatives evaluated and skipped, and pruned nodes if any."""
    g = model.graph
    if g is None:
        return ""
    w = ui(lang)
    nodes, edges, pruned = model.sizes()
    text = w["stats"].format(nodes=nodes, edges=edges,
                             evaluated=g.graph.get("evaluated", 0), skipped=g.graph.get("skipped", 0))
    if pruned:
        text += w["pruned_one"] if pruned == 1 else w["pruned_many"].format(n=pruned)
    return text
