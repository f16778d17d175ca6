"""The line under a graph: how big it is and what the backward pass computed and skipped."""

from __future__ import annotations

from .model import ExplorerModel

WORDS = {
    "en": {
        "stats": ("<b>{nodes}</b> nodes · <b>{edges}</b> edges · backward: <b>{evaluated}</b> "
                  "local derivatives evaluated, <b>{skipped}</b> skipped"),
        "pruned": lambda n: f" ({n} node{'s' if n > 1 else ''} pruned)",
    },
    "zh": {
        "stats": ("<b>{nodes}</b> 个节点 · <b>{edges}</b> 条边 · 反向传播:计算了 <b>{evaluated}</b> "
                  "个局部导数,跳过 <b>{skipped}</b> 个"),
        "pruned": lambda n: f"(剪掉 {n} 个节点)",
    },
}


def stats_html(model: ExplorerModel, lang: str = "en") -> str:
    """Nodes, edges, local derivatives evaluated and skipped, and pruned nodes if any."""
    g = model.graph
    if g is None:
        return ""
    w = WORDS[lang]
    pruned = sum(1 for n in g if not g.nodes[n]["active"] and g.nodes[n]["kind"] != "constant")
    text = w["stats"].format(nodes=g.number_of_nodes(), edges=g.number_of_edges(),
                             evaluated=g.graph.get("evaluated", 0), skipped=g.graph.get("skipped", 0))
    return text + (w["pruned"](pruned) if pruned else "")
