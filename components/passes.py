"""Beside the live graph: the article's Forward Pass and Backward Pass, with the graph's numbers.

Every number here is the core's: the formulas are :func:`graphviz_core.schedule`'s step
texts and the stored values and local derivatives the traced graph's. The sections follow
the sliders (they are rewritten when a release reaches the server) and any expression
typed in; a graph too big to read step by step is summed up in one line.
"""

from __future__ import annotations

import html
import re

import panel as pn
import param

from graphviz_core import format_number, schedule

from .model import ExplorerModel
from .words import article_heading, lesson_text

MAX_WRITTEN = 40  # nodes: beyond this the steps are left to the player


def pretty(text: str, lang: str) -> str:
    """A step text of the core for reading: ∂ for d, × for *, and our words for its notes."""
    w = lesson_text("graph", lang)
    text = text.replace("(stop-gradient: blocked)", w["sg_blocked"])
    text = text.replace("(stop-gradient)", w["sg_term"])
    text = re.sub(r"\bd(\w+)/d(\w+)", r"∂\1/∂\2", text)
    return html.escape(text).replace(" * ", " × ")


class PassesPanel(pn.viewable.Viewer):
    """The forward and backward pass of the model's graph, written out with its numbers."""

    model = param.ClassSelector(class_=ExplorerModel)
    lang = param.String(default="en")

    def __init__(self, **params):
        super().__init__(**params)
        self.forward = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bpx-pass"])
        self.backward = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bpx-pass"])
        self.model.param.watch(self._update, ["graph"])
        self._update()

    # --- what the sections say ------------------------------------------------------------------
    def forward_html(self) -> str:
        g, lang = self.model.graph, self.lang
        w = lesson_text("graph", lang)
        head = f"<h3 class='bpx-lesson-h3'>{article_heading('forward', lang)}</h3>"
        intro = "".join(f"<p>{p}</p>" for p in w["forward_intro"])
        if g is None:
            return head + intro
        if len(g) > MAX_WRITTEN:
            return head + intro + f"<p>{w['too_big'].format(n=f'{len(g):,}')}</p>"
        steps = [s for s in schedule(g, "forward") if s["kind"] == "op"]
        order = " → ".join(html.escape(g.nodes[s["node"]]["name"]) for s in steps)
        items = "".join(f"<li><code>{pretty(s['text'], lang)}</code></li>" for s in steps)
        rows = []
        for n in g:
            node = g.nodes[n]
            if not node["op"]:
                continue
            locals_ = w["list_sep"].join(
                f"∂{html.escape(node['name'])}/∂{html.escape(g.nodes[u]['name'])} = "
                f"{format_number(d['local'])}"
                for u, _, _, d in sorted(g.in_edges(n, keys=True, data=True), key=lambda e: e[2]))
            rows.append(f"<tr><td><b>{html.escape(node['name'])}</b></td>"
                        f"<td>{format_number(node['value'])}</td><td>{locals_}</td></tr>")
        header = "".join(f"<th>{h}</th>" for h in w["stores_table"])
        return (head + intro + f"<p>{w['order'].format(order=order)}</p><ol>{items}</ol>"
                f"<p>{w['stores']}</p><table class='bpx-num-table'><thead><tr>{header}</tr>"
                f"</thead><tbody>{''.join(rows)}</tbody></table><p>{w['running']}</p>")

    def backward_html(self) -> str:
        g, lang = self.model.graph, self.lang
        w = lesson_text("graph", lang)
        head = f"<h3 class='bpx-lesson-h3'>{article_heading('backward', lang)}</h3>"
        intro = "".join(f"<p>{p}</p>" for p in w["backward_intro"])
        if g is None:
            return head + intro
        if len(g) > MAX_WRITTEN:
            return head + intro + f"<p>{w['too_big'].format(n=f'{len(g):,}')}</p>"
        steps = schedule(g, "backward")
        items = "".join(f"<li><code>{pretty(s['text'], lang)}</code></li>" for s in steps)
        loss = html.escape(g.nodes[g.graph["root"]]["name"])
        leaves: dict[str, list[str]] = {}
        for n in g:
            node = g.nodes[n]
            if node["op"] or node["kind"] == "constant":
                continue
            grad = f"<b>{format_number(node['grad'])}</b>" if node["active"] else w["not_computed"]
            leaves.setdefault(node["kind"], []).append(
                f"∂{loss}/∂{html.escape(node['name'])} = {grad}")
        result = "".join(f"<p>{w[key].format(list=w['list_sep'].join(leaves[kind]))}</p>"
                         for kind, key in (("parameter", "params_line"), ("data", "data_line"))
                         if kind in leaves)
        return (head + intro + f"<p>{w['walk']}</p><ol>{items}</ol><p>{w['reuse']}</p>"
                + result)

    def _update(self, *events) -> None:
        self.forward.object = self.forward_html()
        self.backward.object = self.backward_html()

    def __panel__(self):
        return pn.FlexBox(
            pn.Column(self.forward, styles={"flex": "1 1 420px", "min-width": "min(420px, 100%)"}),
            pn.Column(self.backward, styles={"flex": "1 1 420px", "min-width": "min(420px, 100%)"}),
            flex_wrap="wrap", sizing_mode="stretch_width")
