"""The article's animated figure, one per lesson: chain rule, fan-out, stop-gradient.

Each page is the explorer's graph on a small expression chosen to make one
point, opened in backward mode with a cue to press Play, an explanation beside
it, and the point's arithmetic written out with the live numbers.
"""

from __future__ import annotations


import html

from graphviz_core import MODES, parse, trace
from graphviz_core.examples import EXAMPLES
from graphviz_core.schedule import grad_ref, value_ref
from graphviz_core.tape import to_tape

from .. import display
from ..controls import PlaybackBar, VariableSliders
from ..graph_view import GraphView
from ..model import ExplorerModel
from ..stats import STATS_CLASS, stats_html, stats_template
from ..texts import attach, fill_text, if_active, is_offline
from ..words import article_heading, lesson_text, ui
from . import LessonPage
from .common import (callout, choice_arg, contributions, float_arg, heading,
                     leaf_node, names_arg, number, paren, prose, table_html, write_url_on)

LIMIT = 3.0  # every figure's sliders span -3..3

HEADINGS = {"chain-rule": "backward", "fan-out": "fan-out", "stop-gradient": "stop-gradient"}


class FigureLesson:
    """One animated figure: graph, playback, sliders, explanation and the live arithmetic."""

    def __init__(self, slug: str, args: dict, lang: str, sync_url: bool = True):
        self.slug, self.lang = slug, lang
        example = EXAMPLES[slug]
        values = {n: float_arg(args, n, v, -LIMIT, LIMIT) for n, v in example.values.items()}
        off = names_arg(args, "off", example.values)
        self.model = ExplorerModel(
            expression=example.source, values=values, kinds=dict(example.kinds),
            requires_grad={**example.requires_grad, **{n: False for n in off}},
            mode=choice_arg(args, "mode", "backward", MODES))
        self.view = GraphView(model=self.model, height=430, lang=lang)
        self.sliders = VariableSliders(model=self.model, view=self.view, lang=lang,
                                       pruned_in_page=True)
        self.sliders.within({n: (-LIMIT, LIMIT) for n in self.sliders.sliders})
        self.playback = PlaybackBar(model=self.model, view=self.view, lang=lang)
        self.stats = display.Text("", css_classes=["bpx-stats-line"], sizing_mode="stretch_width")
        self.live = display.Text("", sizing_mode="stretch_width", css_classes=["bpx-live"])
        self.model.param.watch(self._update, ["graph"])
        self._update()
        if sync_url:
            write_url_on(self.url_state, (self.model, ["values", "requires_grad", "mode"]))

    # --- state ---------------------------------------------------------------------------------
    def url_state(self) -> dict:
        state = {k: number(v, 12) for k, v in self.model.values.items()}
        off = [n for n, flag in self.model.requires_grad.items()
               if not flag and n in self.model.values]
        if off:
            state["off"] = ",".join(off)
        state["mode"] = self.model.mode
        return state

    def _update(self, *events) -> None:
        self.stats.object = stats_html(self.model, self.lang)
        self.live.object = {"chain-rule": self.chain_html, "fan-out": self.fan_out_html,
                            "stop-gradient": self.stop_gradient_html}[self.slug]()

    # --- the arithmetic of each point ------------------------------------------------------------
    def _leaf(self, name: str) -> int:
        return leaf_node(self.model.graph, name)

    def chain(self, leaf: str = "w") -> list[dict]:
        """The chain from the loss back to ``leaf``: one row per edge, with the running product."""
        g = self.model.graph
        n, edges = self._leaf(leaf), []
        while g.out_degree(n):
            u, v, key, d = next(iter(g.out_edges(n, keys=True, data=True)))
            edges.append((u, v, d))
            n = v
        rows, grad = [], 1.0
        for u, v, d in reversed(edges):
            grad = grad * d["local"]
            rows.append({"node": g.nodes[u]["name"], "child": g.nodes[v]["name"],
                         "local": d["local"], "grad": grad, "engine": g.nodes[u]["grad"]})
        return rows

    def contributions(self, leaf: str = "u") -> list[dict]:
        """What each outgoing edge of ``leaf`` carries back (the terms of the fan-out sum)."""
        return contributions(self.model.graph, leaf)

    def chain_html(self) -> str:
        return fill_text(self.chain_template(), self.model.graph, self.lang)

    def chain_template(self) -> str:
        """The chain's arithmetic with the graph's numbers as placeholders (components/texts.py):
        along one path each running product is the engine's gradient of that node."""
        t = lesson_text("figures", self.lang)
        g = self.model.graph
        n = start = self._leaf("w")
        edges = []
        while g.out_degree(n):
            u, v, key = next(iter(g.out_edges(n, keys=True)))
            edges.append((u, v, key))
            n = v
        loss = g.nodes[g.graph["root"]]["name"]
        body = []
        for u, v, key in reversed(edges):
            body.append([f"∂{loss}/∂{g.nodes[u]['name']}",
                         f"∂{g.nodes[v]['name']}/∂{g.nodes[u]['name']} = \u27e8l|{v}|{key}\u27e9",
                         f"{grad_ref(v)} × \u27e8pl|{v}|{key}\u27e9 = <b>{grad_ref(u)}</b>"])
        product = " × ".join(f"\u27e8pl|{v}|{key}\u27e9" for _, v, key in reversed(edges))
        total = grad_ref(edges[0][0]) if edges else "0"
        return if_active(start,  # nothing where w is switched off
                         f"<div class='bpx-live-title'>{t['chain_title'].format(leaf='w')}</div>"
                         + table_html([t["node"], t["local"], t["grad"]], body)
                         + f"<div class='bpx-equation'>∂{loss}/∂w = 1 × {product} = "
                           f"<b>{total}</b></div>")

    def fan_out_html(self) -> str:
        return fill_text(self.fan_out_template(), self.model.graph, self.lang)

    def fan_out_template(self) -> str:
        """The fan-out sum with the graph's numbers as placeholders (components/texts.py)."""
        t = lesson_text("figures", self.lang)
        g = self.model.graph
        u = self._leaf("u")
        body, parts = [], []
        for v, key in sorted((v, key) for _, v, key in g.out_edges(u, keys=True)):
            d = g.edges[u, v, key]
            path = f"{t['via']} {g.nodes[v]['text']}"
            if d["blocked"] or d["pruned"]:
                body.append([path, t["stopped"] if d["blocked"] else t["pruned"]])
                continue
            body.append([path, f"{grad_ref(v)} × \u27e8pl|{v}|{key}\u27e9 = "
                               f"<b>\u27e8k|{v}|{key}\u27e9</b>"])
            parts.append(f"\u27e8pk|{v}|{key}\u27e9")
        # nothing where u is switched off; an active u's edges flow or not as its children
        # reach the loss, which no switch changes
        return if_active(u, f"<div class='bpx-live-title'>{t['sum_title'].format(leaf='u')}</div>"
                         + table_html([t["path"], t["contribution"]], body)
                         + f"<div class='bpx-equation'>∂L/∂u = {' + '.join(parts)} = "
                           f"<b>{grad_ref(u)}</b></div>")

    def stop_gradient_html(self) -> str:
        template, variants = self.stop_gradient_template()
        return fill_text(template, self.model.graph, self.lang,
                         variants=[(lambda n, g=g: g.nodes[n]["value"],
                                    lambda n, g=g: g.nodes[n]["grad"])
                                   for g in (self.model.graph, variants[1]["graph"])])

    def stop_gradient_template(self) -> tuple[str, list[dict]]:
        """The stop-gradient arithmetic with the graph's numbers as placeholders
        (components/texts.py), and its variants: the page's graph, and (variant 1) the same
        expression without ``sg`` at the same values, whose ∂L/∂u is 3u² - a graph of its own
        (``graph``) whose tape the page replays (``tape``). A path behind the sg never carries
        anything back; the others do while u is switched on."""
        t, w = lesson_text("figures", self.lang), ui(self.lang)
        g = self.model.graph
        u = self._leaf("u")
        # which paths lie behind the sg is the expression's, not the switches': read it off
        # the graph with every leaf requiring a gradient
        values = self.model.values
        whole = trace(parse(self.model.expression).build(values))
        without = trace(parse(self.model.expression.replace("sg(", "(")).build(values))
        wu = leaf_node(whole, "u")
        behind = {(v, key): whole.edges[wu, v, key]["blocked"] or whole.edges[wu, v, key]["pruned"]
                  for _, v, key in g.out_edges(u, keys=True)}
        not_computed = f"<span class='bpx-blocked'>{w['not_computed']}</span>"
        body, seen = [], set()
        for v, key in sorted(behind):
            path = f"{t['via']} {html.escape(g.nodes[v]['text'])}"
            if path in seen:
                continue
            seen.add(path)
            body.append([path, f"<span class='bpx-blocked'>{t['pruned']}</span>" if behind[v, key]
                         else if_active(u, f"{grad_ref(v)} × \u27e8pl|{v}|{key}\u27e9 = "
                                           f"<b>\u27e8k|{v}|{key}\u27e9</b>", not_computed)])
        root = g.graph["root"]
        text = (f"<div class='bpx-live-title'>{w['live']}</div>"
                + table_html([t["path"], t["contribution"]], body)
                + table_html(["", ""], [
                    [t["forward"], f"L = u³ = {value_ref(u, operand=True)}³ = <b>{value_ref(root)}</b>"],
                    [t["with_sg"], if_active(u, f"u² = <b>{grad_ref(u)}</b>", not_computed)],
                    [t["without_sg"],
                     f"3u² = \u27e8g|{leaf_node(without, 'u')}@1\u27e9"]],
                    css="bpx-num-table bpx-compare"))
        return text, [{}, {"tape": to_tape(without), "graph": without}]

    # --- page -----------------------------------------------------------------------------------------
    def page(self) -> LessonPage:
        lang = self.lang
        text = lesson_text(self.slug, lang)
        if is_offline():  # no server behind the page: the live arithmetic written in the page
            if self.slug == "stop-gradient":  # 3u² replayed from the tape without the sg
                template, variants = self.stop_gradient_template()
                live = ("bpx-live", template, [{k: v for k, v in d.items() if k != "graph"}
                                               for d in variants], [])
            else:
                live = ("bpx-live", (self.chain_template if self.slug == "chain-rule"
                                     else self.fan_out_template)())
            attach(self.view, panes=[live, (STATS_CLASS, stats_template(self.model, lang))])
        # the figure, its numbers and the explanation only display: one block
        figure_column = display.column(self.view.layout(), self.stats.model, self.live.model,
                                       sizing_mode="stretch_width")
        explanation = display.column(prose(text["prose"], model=True), width=340,
                                     css_classes=["bpx-aside"])
        main = [heading(article_heading(HEADINGS[self.slug], lang), subtitle=text["subtitle"]),
                callout(ui(lang)["play_cue"]), self.playback,
                display.block(display.row(figure_column, explanation, sizing_mode="stretch_width"))]
        return LessonPage(sidebar=[self.sliders.panel()], main=main)


def build(slug: str):
    """The builder registered for ``slug``: ``(args, lang) -> LessonPage``."""
    def _build(args: dict, lang: str) -> LessonPage:
        return FigureLesson(slug, args, lang).page()
    return _build
