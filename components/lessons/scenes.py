"""The seed's animated figure, one scene per lesson: chain rule, fan-out, stop-gradient.

Each page is the explorer's graph on a small expression chosen to make one
point, opened in backward mode with a cue to press Play, an explanation beside
it, and the point's arithmetic written out with the live numbers.
"""

from __future__ import annotations

import panel as pn

from graphviz_core import gradients, parse
from graphviz_core.examples import EXAMPLES

from ..controls import PlaybackBar, VariableSliders
from ..graph_view import GraphView
from ..model import MODES, ExplorerModel
from . import LessonPage
from ..stats import stats_html
from .common import (UrlWriter, callout, choice_arg, float_arg, heading, names_arg, number,
                     paren, prose, slider_sidebar, table_html, translate_playback,
                     translate_table)
from .text import HEADINGS, WORDS

LIMIT = 3.0  # every scene's sliders span -3..3

TEXT = {
    "chain-rule": {
        "heading": HEADINGS["backward"],
        "subtitle": {"en": "The chain rule: gradients multiply along a path",
                     "zh": "链式法则:梯度沿路径相乘"},
        "en": [
            "The backward pass starts at the loss with <b>∂L/∂L = 1</b> and walks the graph "
            "from right to left.",
            "At every node it does one thing: <b>incoming gradient × local derivative</b>. "
            "The local derivative says how much the node's output moves when one input moves; "
            "it only needs numbers saved in the forward pass.",
            "Here <i>L</i> = tanh(exp(<i>w·x</i>))². Every node has one input on the path from "
            "<i>w</i>, so ∂L/∂w is simply the <b>product</b> of the local derivatives along "
            "the chain. The table below multiplies them step by step.",
            "Each intermediate gradient (∂L/∂z3, ∂L/∂z2, …) is computed once and then reused "
            "for everything further back: no work is repeated.",
            "<b>Try it:</b> set <i>x</i> = 0. One factor becomes 0, so the whole product "
            "∂L/∂w is 0, however large the others are.",
        ],
        "zh": [
            "反向传播从损失出发,先令 <b>∂L/∂L = 1</b>,再从右向左走遍整张图。",
            "每个节点只做一件事:<b>传入的梯度 × 局部导数</b>。局部导数表示输入变一点时该节点的输出变多少;"
            "它只需要前向传播时保存下来的数值。",
            "这里 <i>L</i> = tanh(exp(<i>w·x</i>))²。从 <i>w</i> 出发的路径上每个节点都只有一个输入,"
            "所以 ∂L/∂w 就是沿这条链所有局部导数的<b>乘积</b>。下表一步一步把它们乘起来。",
            "每个中间梯度(∂L/∂z3、∂L/∂z2……)只算一次,然后供更靠前的所有节点重复使用:没有重复劳动。",
            "<b>试一试:</b>把 <i>x</i> 设为 0。其中一个因子变成 0,于是整个乘积 ∂L/∂w 就是 0,"
            "不管其他因子有多大。",
        ],
    },
    "fan-out": {
        "heading": HEADINGS["fan-out"],
        "subtitle": {"en": "Where a variable feeds several paths, the contributions add up",
                     "zh": "一个变量流向多条路径时,各条路径的贡献相加"},
        "en": [
            "Here <i>L</i> = <i>u·v</i> + sin(<i>u</i>): the variable <i>u</i> is used "
            "<b>twice</b>, once in the product and once in the sine.",
            "Nudge <i>u</i> and <i>L</i> moves along both paths at once. So the backward pass "
            "brings one contribution back along each path and <b>adds them</b>: "
            "∂L/∂u = ∂L/∂z1 · ∂z1/∂u + ∂L/∂z2 · ∂z2/∂u.",
            "This is the multivariate chain rule. Press Play and watch the step where the two "
            "contributions meet at <i>u</i>; the sum is written out below the figure.",
            "In a neural network a shared weight (a convolution kernel, an embedding row) "
            "collects a contribution from every place it is used, in exactly this way.",
            "<b>Try it:</b> move <i>v</i>. Only the first contribution changes; the second "
            "(cos <i>u</i>) stays.",
        ],
        "zh": [
            "这里 <i>L</i> = <i>u·v</i> + sin(<i>u</i>):变量 <i>u</i> 被用了<b>两次</b>,"
            "一次在乘法里,一次在正弦里。",
            "稍微改变 <i>u</i>,<i>L</i> 会同时沿两条路径变化。所以反向传播沿每条路径各带回一份贡献,"
            "再把它们<b>相加</b>:∂L/∂u = ∂L/∂z1 · ∂z1/∂u + ∂L/∂z2 · ∂z2/∂u。",
            "这就是多元链式法则。按“播放”,留意两份贡献在 <i>u</i> 处汇合的那一步;图下方写出了这个求和。",
            "在神经网络里,共享的权重(卷积核、词向量的一行)正是这样从它被使用的每一处收集贡献。",
            "<b>试一试:</b>移动 <i>v</i>。只有第一份贡献改变;第二份(cos <i>u</i>)不变。",
        ],
    },
    "stop-gradient": {
        "heading": HEADINGS["stop-gradient"],
        "subtitle": {"en": "The value passes forward; the gradient stops",
                     "zh": "数值照常前传;梯度在此截断"},
        "en": [
            "<b>sg(z)</b> is the identity in the forward pass: it hands on the value of "
            "<i>z</i> unchanged. In the backward pass its derivative is <b>0</b>: any gradient "
            "that reaches it stops there.",
            "Here <i>L</i> = sg(<i>u·u</i>)·<i>u</i>. Forward, that is <i>u</i>³. Backward, "
            "the path through sg carries × 0, so only the direct path to <i>u</i> counts: "
            "∂L/∂u = sg(u·u) = <b>u²</b>, not 3u².",
            "The dashed purple edge is the stopped one; the nodes behind it are greyed out "
            "because the backward pass never visits them.",
            "Use it when a number computed from the parameters should act as a fixed constant "
            "during optimisation, such as the importance weight in reinforcement learning "
            "(see “Same gradient, different graph”).",
        ],
        "zh": [
            "<b>sg(z)</b> 在前向传播中是恒等映射:原样传出 <i>z</i> 的值。在反向传播中它的导数是 "
            "<b>0</b>:到达这里的梯度就此截断。",
            "这里 <i>L</i> = sg(<i>u·u</i>)·<i>u</i>。前向看,它等于 <i>u</i>³。反向看,经过 sg "
            "的路径乘以 0,只有直接连到 <i>u</i> 的路径起作用:∂L/∂u = sg(u·u) = <b>u²</b>,"
            "而不是 3u²。",
            "紫色虚线就是被截断的边;它后面的节点变灰,因为反向传播根本不会访问它们。",
            "当一个由参数算出的量在优化中应当被当作固定常数时就用它,例如强化学习中的重要性权重"
            "(见“相同梯度,不同计算图”)。",
        ],
    },
}

LIVE = {
    "en": {"chain_title": "∂L/∂{leaf}: multiply along the chain",
           "node": "gradient", "local": "local derivative", "grad": "incoming × local",
           "sum_title": "∂L/∂{leaf}: add the contributions of every path",
           "path": "path", "contribution": "incoming × local = contribution",
           "total": "sum", "stopped": "stopped by sg: × 0", "pruned": "behind sg: not computed",
           "forward": "Forward value", "with_sg": "∂L/∂u with sg", "without_sg": "∂L/∂u without sg",
           "via": "via"},
    "zh": {"chain_title": "∂L/∂{leaf}:沿链相乘",
           "node": "梯度", "local": "局部导数", "grad": "传入 × 局部",
           "sum_title": "∂L/∂{leaf}:把每条路径的贡献相加",
           "path": "路径", "contribution": "传入 × 局部 = 贡献",
           "total": "求和", "stopped": "被 sg 截断:× 0", "pruned": "在 sg 之后:不计算",
           "forward": "前向值", "with_sg": "有 sg 时的 ∂L/∂u", "without_sg": "没有 sg 时的 ∂L/∂u",
           "via": "经由"},
}


class SceneLesson:
    """One animated scene: graph, playback, sliders, explanation and the live arithmetic."""

    def __init__(self, slug: str, args: dict, lang: str, sync_url: bool = True):
        self.slug, self.lang = slug, lang
        scene = EXAMPLES[slug]
        values = {n: float_arg(args, n, v, -LIMIT, LIMIT) for n, v in scene.values.items()}
        off = names_arg(args, "off", scene.values)
        self.model = ExplorerModel(
            expression=scene.source, values=values, kinds=dict(scene.kinds),
            requires_grad={**scene.requires_grad, **{n: False for n in off}},
            mode=choice_arg(args, "mode", "backward", MODES))
        self.view = GraphView(model=self.model, height=430)
        translate_table(self.view, lang)
        self.sliders = VariableSliders(model=self.model, view=self.view)
        for slider in self.sliders.sliders.values():
            slider.param.update(start=-LIMIT, end=LIMIT)
        self.playback = PlaybackBar(model=self.model, view=self.view)
        translate_playback(self.playback, lang)
        self.stats = pn.pane.HTML("", css_classes=["bpx-stats-line"], sizing_mode="stretch_width")
        self.live = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bpx-live"])
        self.model.param.watch(self._update, ["graph"])
        self._update()
        if sync_url:
            self.model.param.watch(UrlWriter(self.url_state), ["values", "requires_grad", "mode"])

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
        g = self.model.graph
        return next(n for n in g if g.nodes[n]["name"] == name and not g.nodes[n]["op"])

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
        g = self.model.graph
        n = self._leaf(leaf)
        return [{"child": g.nodes[v]["name"], "child_text": g.nodes[v]["text"], "slot": key,
                 "incoming": g.nodes[v]["grad"], "local": d["local"],
                 "contribution": d["contribution"], "blocked": d["blocked"],
                 "pruned": d["pruned"]}
                for _, v, key, d in sorted(g.out_edges(n, keys=True, data=True),
                                           key=lambda e: (e[1], e[2]))]

    def chain_html(self) -> str:
        t = LIVE[self.lang]
        rows = self.chain("w")
        g = self.model.graph
        if not g.nodes[self._leaf("w")]["active"]:
            return ""
        loss = g.nodes[g.graph["root"]]["name"]
        body, incoming = [], 1.0
        for r in rows:
            body.append([f"∂{loss}/∂{r['node']}", f"∂{r['child']}/∂{r['node']} = {number(r['local'])}",
                         f"{number(incoming)} × {paren(r['local'])} = <b>{number(r['grad'])}</b>"])
            incoming = r["grad"]
        product = " × ".join(paren(r["local"]) for r in rows)
        total = rows[-1]["grad"] if rows else 0.0
        return (f"<div class='bpx-live-title'>{t['chain_title'].format(leaf='w')}</div>"
                + table_html([t["node"], t["local"], t["grad"]], body)
                + f"<div class='bpx-equation'>∂{loss}/∂w = 1 × {product} = "
                  f"<b>{number(total)}</b></div>")

    def fan_out_html(self) -> str:
        t = LIVE[self.lang]
        terms = self.contributions("u")
        g = self.model.graph
        if not g.nodes[self._leaf("u")]["active"]:
            return ""
        body, parts = [], []
        for term in terms:
            path = f"{t['via']} {term['child_text']}"
            if term["blocked"] or term["pruned"]:
                body.append([path, t["stopped"] if term["blocked"] else t["pruned"]])
                continue
            body.append([path, f"{number(term['incoming'])} × {paren(term['local'])} = "
                               f"<b>{number(term['contribution'])}</b>"])
            parts.append(term["contribution"])
        total = g.nodes[self._leaf("u")]["grad"]
        written = " + ".join(paren(p) for p in parts)
        return (f"<div class='bpx-live-title'>{t['sum_title'].format(leaf='u')}</div>"
                + table_html([t["path"], t["contribution"]], body)
                + f"<div class='bpx-equation'>∂L/∂u = {written} = <b>{number(total)}</b></div>")

    def stop_gradient_html(self) -> str:
        t = LIVE[self.lang]
        g = self.model.graph
        u = self.model.values["u"]
        root = g.nodes[g.graph["root"]]
        with_sg = g.nodes[self._leaf("u")]["grad"]
        source = self.model.expression.replace("sg(", "(")
        without = gradients(source, self.model.values)[1]["u"]
        body, seen = [], set()
        for term in self.contributions("u"):
            path = f"{t['via']} {term['child_text']}"
            if path in seen:
                continue
            seen.add(path)
            if term["blocked"] or term["pruned"]:
                body.append([path, f"<span class='bpx-blocked'>{t['pruned']}</span>"])
            else:
                body.append([path, f"{number(term['incoming'])} × {paren(term['local'])} = "
                                   f"<b>{number(term['contribution'])}</b>"])
        return (f"<div class='bpx-live-title'>{WORDS[self.lang]['live']}</div>"
                + table_html([t["path"], t["contribution"]], body)
                + table_html(["", ""], [
                    [t["forward"], f"L = u³ = {number(u)}³ = <b>{number(root['value'])}</b>"],
                    [t["with_sg"], f"u² = <b>{number(with_sg)}</b>"],
                    [t["without_sg"], f"3u² = {number(without)}"]], css="bpx-num-table bpx-compare"))

    # --- page -----------------------------------------------------------------------------------------
    def page(self) -> LessonPage:
        text = TEXT[self.slug]
        lang = self.lang
        figure_column = pn.Column(self.view, self.stats, self.live, sizing_mode="stretch_width")
        explanation = pn.Column(prose(text[lang]), width=340, css_classes=["bpx-aside"])
        main = [heading(text["heading"][lang], subtitle=text["subtitle"][lang]),
                callout(WORDS[lang]["play_cue"]), self.playback,
                pn.Row(figure_column, explanation, sizing_mode="stretch_width")]
        return LessonPage(sidebar=[slider_sidebar(self.sliders, lang)], main=main)


def build(slug: str):
    """The builder registered for ``slug``: ``(args, lang) -> LessonPage``."""
    def _build(args: dict, lang: str) -> LessonPage:
        return SceneLesson(slug, args, lang).page()
    return _build
