"""Beside the live graph: the article's Forward Pass and Backward Pass, with the graph's numbers.

Every number here is the core's: the formulas are :func:`graphviz_core.schedule`'s step
texts and the stored values and local derivatives the traced graph's. The sections follow
the sliders (they are rewritten when a release reaches the server) and any expression
typed in; a graph too big to read step by step is summed up in one line.
"""

from __future__ import annotations

import html
import re


from graphviz_core import ExpressionError, format_number, parse, schedule
from graphviz_core.engine import blocks_gradient
from graphviz_core.gradcheck import agrees, central_difference
from graphviz_core.mlp import builder_from_text
from graphviz_core.schedule import grad_ref, value_ref

from . import display
from .texts import difference_ref, fill_text, if_active, verdict_ref
from .views import ModelView
from .words import article_heading, lesson_text

MAX_WRITTEN = 40  # nodes: beyond this the steps are left to the player
H = 1e-5  # the step of the central differences


def pretty(text: str, lang: str) -> str:
    """A step text of the core for reading: ∂ for d, × for *, and our words for its notes."""
    w = lesson_text("graph", lang)
    text = text.replace("(stop-gradient: blocked)", w["sg_blocked"])
    text = text.replace("(stop-gradient)", w["sg_term"])
    text = re.sub(r"\bd(\w+)/d(\w+)", r"∂\1/∂\2", text)
    return html.escape(text).replace(" * ", " × ")


def _step_list(steps, lang: str, backward: bool = False) -> str:
    """A pass's steps as a numbered list of their formulas (``backward``: each there while
    its node is active, as a requires_grad switch decides: :func:`components.texts.if_active`)."""
    items = (f"<li><code>{pretty(s['text_template'], lang)}</code></li>" for s in steps)
    if backward:
        items = (if_active(s["node"], item) for s, item in zip(steps, items))
    return "<ol>" + "".join(items) + "</ol>"


class PassesPanel(ModelView):
    """The forward and backward pass of the model's graph, written out with its numbers."""

    def __init__(self, **params):
        super().__init__(**params)
        self.forward = display.Text("", sizing_mode="stretch_width", css_classes=["bpx-pass"])
        self.backward = display.Text("", sizing_mode="stretch_width", css_classes=["bpx-pass"])
        self.model.param.watch(self._update, ["graph"])
        self._update()

    # --- what the sections say ------------------------------------------------------------------
    def html(self, which: str) -> str:
        """The ``"forward"`` or ``"backward"`` section, its numbers filled in."""
        return fill_text(self.template(which), self.model.graph, self.lang)

    def template(self, which: str) -> str:
        """The ``"forward"`` or ``"backward"`` section: its heading and introduction, then the
        pass written out with the graph's numbers as placeholders (:mod:`components.texts`);
        a line instead where there is no graph to walk or it is too big to write out."""
        g, lang = self.model.graph, self.lang
        w = lesson_text("graph", lang)
        text = (f"<h3 class='bpx-lesson-h3'>{article_heading(which, lang)}</h3>"
                + "".join(f"<p>{p}</p>" for p in w[f"{which}_intro"]))
        if g is None:
            return text
        if len(g) > MAX_WRITTEN:
            return text + f"<p>{w['too_big'].format(n=f'{len(g):,}')}</p>"
        write = self._forward if which == "forward" else self._backward
        return text + write(g, w, lang)

    @staticmethod
    def _forward(g, w, lang: str) -> str:
        steps = [s for s in schedule(g, "forward") if s["kind"] == "op"]
        order = " → ".join(html.escape(g.nodes[s["node"]]["name"]) for s in steps)
        rows = []
        for n in g:
            node = g.nodes[n]
            if not node["op"]:
                continue
            locals_ = w["list_sep"].join(
                f"∂{html.escape(node['name'])}/∂{html.escape(g.nodes[u]['name'])} = "
                f"\u27e8l|{n}|{slot}\u27e9"
                for u, _, slot in sorted(g.in_edges(n, keys=True), key=lambda e: e[2]))
            rows.append(f"<tr><td><b>{html.escape(node['name'])}</b></td>"
                        f"<td>{value_ref(n)}</td><td>{locals_}</td></tr>")
        header = "".join(f"<th>{h}</th>" for h in w["stores_table"])
        return (f"<p>{w['order'].format(order=order)}</p>{_step_list(steps, lang)}"
                f"<p>{w['stores']}</p><table class='bpx-num-table'><thead><tr>{header}</tr>"
                f"</thead><tbody>{''.join(rows)}</tbody></table><p>{w['running']}</p>")

    @staticmethod
    def _backward(g, w, lang: str) -> str:
        loss = html.escape(g.nodes[g.graph["root"]]["name"])
        leaves: dict[str, list[str]] = {}
        for n in g:
            node = g.nodes[n]
            if node["op"] or node["kind"] == "constant":
                continue
            grad = if_active(n, f"<b>{grad_ref(n)}</b>", w["not_computed"])
            leaves.setdefault(node["kind"], []).append(
                f"∂{loss}/∂{html.escape(node['name'])} = {grad}")
        result = "".join(f"<p>{w[key].format(list=w['list_sep'].join(leaves[kind]))}</p>"
                         for kind, key in (("parameter", "params_line"), ("data", "data_line"))
                         if kind in leaves)
        return (f"<p>{w['walk']}</p>{_step_list(schedule(g, 'backward'), lang, True)}"
                f"<p>{w['reuse']}</p>" + result)

    def check(self) -> list[dict]:
        """Per variable: backpropagation's gradient, the central difference, and whether they agree."""
        g = self.model.graph
        try:
            expression = builder_from_text(self.model.expression) or parse(self.model.expression)
        except ExpressionError:
            return []
        values = dict(self.model.values)
        rows = []
        for n in g:
            node = g.nodes[n]
            if node["op"] or node["name"] not in values:
                continue
            grad = node["grad"] if node["active"] else None
            diff = central_difference(expression, values, node["name"], H)
            rows.append({"node": n, "name": node["name"], "grad": grad, "difference": diff,
                         "agrees": grad is not None and agrees(grad, diff)})
        return rows

    def check_template(self) -> tuple[str, dict]:
        """The gradient check with its numbers as placeholders, and what fills them here:
        variable node -> (central difference, the words for agreeing, for differing)."""
        g, w = self.model.graph, lesson_text("graph", self.lang)
        checked = self.check()
        if not checked:
            return "", {}
        differ = w["differ_sg"] if any(blocks_gradient(op) for _, op in g.nodes(data="op")) else w["differ"]
        rows, checks = [], {}
        for r in checked:
            n = r["node"]
            checks[n] = (r["difference"], w["agree"], differ)
            grad = if_active(n, f"\u27e8g|{n}~8\u27e9", w["not_computed"])
            rows.append(f"<tr><td><i>{html.escape(r['name'])}</i></td><td>{grad}"
                        f"</td><td>{difference_ref(n)}</td><td>{if_active(n, verdict_ref(n))}"
                        "</td></tr>")
        header = "".join(f"<th>{h}</th>" for h in w["check_header"])
        return (f"<h4>{w['check_title']}</h4><p>{w['check_text'].format(h=format_number(H))}</p>"
                f"<table class='bpx-num-table'><thead><tr>{header}</tr></thead><tbody>"
                f"{''.join(rows)}</tbody></table>", checks)

    def check_html(self) -> str:
        template, checks = self.check_template()
        return fill_text(template, self.model.graph, self.lang, checks)

    def templates(self) -> dict:
        """For a page with no server behind it: both sections' templates, and what the
        browser needs to redo the gradient check (components/texts.py)."""
        g = self.model.graph
        check, checks = ("", {}) if g is None or len(g) > MAX_WRITTEN else self.check_template()
        agree, differ = next(iter(checks.values()))[1:] if checks else ("", "")
        return {"forward": self.template("forward"), "backward": self.template("backward") + check,
                "check": {"h": H, "agree": agree, "differ": differ}}

    def _update(self, *events) -> None:
        self.forward.object = self.html("forward")
        backward = self.html("backward")
        g = self.model.graph
        if g is not None and len(g) <= MAX_WRITTEN:
            backward += self.check_html()
        self.backward.object = backward

    def __panel__(self):
        # both sections only display: one block, side by side where they fit
        side = {"flex": "1 1 420px", "min-width": "min(420px, 100%)"}
        return display.block(display.row(
            display.column(self.forward.model, styles=side),
            display.column(self.backward.model, styles=side),
            styles={"flex-wrap": "wrap"}, css_classes=[], sizing_mode="stretch_width"))
