"""Same gradient, different graph: PPO-clip beside REINFORCE with a detached weight.

Two graphs side by side, driven by one set of sliders (lp, lpo, A, eps). The
REINFORCE graph's mask ``m`` (1 when PPO's gradient flows, 0 when clipping stops
it) is set from :func:`graphviz_core.ppo.ppo_case`, on the server and live
in the browser. The page fills the seed's comparison table with live numbers.
"""

from __future__ import annotations

import math

import panel as pn

from graphviz_core.ppo import ppo_case

from ..graph_view import GraphView
from ..model import ExplorerModel
from . import LessonPage
from .common import (UrlWriter, callout, float_arg, heading, number, prose,
                     table_html, translate_table)
from .text import HEADINGS, WORDS

PPO = "-min(exp(lp - lpo)*A, clip(exp(lp - lpo), 1 - eps, 1 + eps)*A)"
REINFORCE = "-sg(exp(lp - lpo)*m)*A*lp"
RANGES = {"lp": (-3.0, 0.0), "lpo": (-3.0, 0.0), "A": (-3.0, 3.0), "eps": (0.05, 0.5)}
DEFAULTS = {"lp": -0.9, "lpo": -1.0, "A": 2.0, "eps": 0.2}
DATA = {"lpo": "data", "A": "data"}

# the browser decides m as ppo_case does, so the REINFORCE graph follows while a slider moves
JS_CASE = """
const rho = Math.exp(lp.value - lpo.value), lo = 1 - eps.value, hi = 1 + eps.value
const c = Math.min(Math.max(rho, lo), hi)
const clipped = c !== rho && c * A.value < rho * A.value
ppo.execute(cb_obj, {action: 'slider', name: NAME})
rf.execute(cb_obj, {action: 'slider', name: NAME})
rf.execute({value: clipped ? 0 : 1}, {action: 'slider', name: 'm'})
"""

TEXT = {
    "en": {
        "intro": [
            "PPO's clipped loss and a REINFORCE loss with a detached weight look nothing alike: "
            "different formulas, different graphs, different values. Yet their gradients with "
            "respect to <b>lp = ln π<sub>θ</sub></b> are the same number, in every case.",
            "Why: ρ = exp(lp − lpo), so ∂ρ/∂lp = ρ. When PPO's unclipped term wins, its gradient "
            "is −A·ρ. REINFORCE with w = sg(ρ) has gradient −w·A = −A·ρ. When the clipped term "
            "wins, PPO's gradient is 0, and REINFORCE gives 0 too by using w = 0.",
            "We write both as <b>losses to minimise</b>: L<sub>PPO</sub> = −min(ρA, "
            "clip(ρ, 1−ε, 1+ε)A) and L<sub>RF</sub> = −sg(ρ·m)·A·lp, where the constant m is 1 "
            "or 0 as the case demands. With the signs matched this way the two gradients are "
            "<b>exactly</b> equal, bit for bit, not just proportional.",
            "<b>Try it:</b> move lp until ρ leaves [1−ε, 1+ε]. The case box switches, m flips, "
            "and the two gradients stay equal.",
        ],
        "ppo_title": "PPO-clip: L<sub>PPO</sub>", "rf_title": "REINFORCE, detached weight: L<sub>RF</sub>",
        "inside": ("<b>Unclipped.</b> ρ = {rho} lies inside [1−ε, 1+ε] = [{lo}, {hi}]. PPO's "
                   "gradient flows through ρ; REINFORCE uses w = ρ (m = 1)."),
        "outside": ("<b>Unclipped.</b> ρ = {rho} is outside [{lo}, {hi}], but with A = {A} the "
                    "unclipped term ρA is the smaller one, so min keeps it and the gradient flows; "
                    "REINFORCE uses w = ρ (m = 1)."),
        "clipped_hi": ("<b>Clipped.</b> ρ = {rho} &gt; 1+ε = {hi} with A = {A} &gt; 0: min picks the "
                       "flat clipped term, so PPO's gradient is 0. REINFORCE matches it with "
                       "w = 0 (m = 0)."),
        "clipped_lo": ("<b>Clipped.</b> ρ = {rho} &lt; 1−ε = {lo} with A = {A} &lt; 0: min picks the "
                       "flat clipped term, so PPO's gradient is 0. REINFORCE matches it with "
                       "w = 0 (m = 0)."),
        "table_caption": "The seed's comparison, with the numbers of the sliders",
        "value": "Value", "path": "Gradient path", "inter": "Intermediate variables",
        "grad": "∂L/∂lp",
        "path_ppo": "through ρ = π<sub>θ</sub>/π<sub>old</sub> (the exp node)",
        "path_rf": "through ln π<sub>θ</sub> = lp; w is detached",
        "equal": "∂L<sub>PPO</sub>/∂lp = ∂L<sub>RF</sub>/∂lp = <b>{g}</b> · bitwise equal: <b>{eq}</b>",
        "play": "▶ Play", "sg": "stop-gradient",
    },
    "zh": {
        "intro": [
            "PPO 的截断损失和带分离权重的 REINFORCE 损失看起来毫不相干:公式不同、计算图不同、值也不同。"
            "但它们对 <b>lp = ln π<sub>θ</sub></b> 的梯度在任何情况下都是同一个数。",
            "原因:ρ = exp(lp − lpo),所以 ∂ρ/∂lp = ρ。当 PPO 的未截断项胜出时,梯度是 −A·ρ。"
            "使用 w = sg(ρ) 的 REINFORCE 梯度是 −w·A = −A·ρ。当截断项胜出时,PPO 的梯度为 0,"
            "REINFORCE 取 w = 0 同样得到 0。",
            "我们把两者都写成<b>要最小化的损失</b>:L<sub>PPO</sub> = −min(ρA, clip(ρ, 1−ε, 1+ε)A),"
            "L<sub>RF</sub> = −sg(ρ·m)·A·lp,其中常数 m 按情况取 1 或 0。符号这样对齐之后,"
            "两个梯度<b>严格</b>相等,逐位相同,而不只是成比例。",
            "<b>试一试:</b>移动 lp,让 ρ 离开 [1−ε, 1+ε]。情况框随之切换,m 翻转,两个梯度仍然相等。",
        ],
        "ppo_title": "PPO 截断:L<sub>PPO</sub>", "rf_title": "REINFORCE,分离权重:L<sub>RF</sub>",
        "inside": ("<b>未截断。</b>ρ = {rho} 位于 [1−ε, 1+ε] = [{lo}, {hi}] 之内。PPO 的梯度经过 ρ 流动;"
                   "REINFORCE 使用 w = ρ(m = 1)。"),
        "outside": ("<b>未截断。</b>ρ = {rho} 在 [{lo}, {hi}] 之外,但 A = {A} 时未截断项 ρA 更小,"
                    "min 保留它,梯度照常流动;REINFORCE 使用 w = ρ(m = 1)。"),
        "clipped_hi": ("<b>截断。</b>ρ = {rho} &gt; 1+ε = {hi} 且 A = {A} &gt; 0:min 选中平坦的截断项,"
                       "所以 PPO 的梯度为 0。REINFORCE 用 w = 0(m = 0)与之一致。"),
        "clipped_lo": ("<b>截断。</b>ρ = {rho} &lt; 1−ε = {lo} 且 A = {A} &lt; 0:min 选中平坦的截断项,"
                       "所以 PPO 的梯度为 0。REINFORCE 用 w = 0(m = 0)与之一致。"),
        "table_caption": "种子文本中的对比表,填入滑块上的数值",
        "value": "值", "path": "梯度路径", "inter": "中间变量", "grad": "∂L/∂lp",
        "path_ppo": "经过 ρ = π<sub>θ</sub>/π<sub>old</sub>(exp 节点)",
        "path_rf": "经过 ln π<sub>θ</sub> = lp;w 被分离",
        "equal": "∂L<sub>PPO</sub>/∂lp = ∂L<sub>RF</sub>/∂lp = <b>{g}</b> · 逐位相等:<b>{eq}</b>",
        "play": "▶ 播放", "sg": "stop-gradient",
    },
}


def mask_for(values: dict) -> float:
    """``m``: 0 when PPO's clipped term takes over (no gradient), else 1."""
    return 0.0 if ppo_case(values["lp"], values["lpo"], values["A"], values["eps"])["clipped"] else 1.0


class SameGradientLesson:
    """Both losses as explorer models, the shared sliders and the live comparison."""

    def __init__(self, args: dict, lang: str, sync_url: bool = True):
        self.lang = lang
        values = {n: float_arg(args, n, d, *RANGES[n]) for n, d in DEFAULTS.items()}
        self.ppo = ExplorerModel(
            expression=PPO, values=dict(values), mode="backward",
            kinds={**DATA, "eps": "constant"},
            requires_grad={"lpo": False, "A": False, "eps": False})
        self.rf = ExplorerModel(
            expression=REINFORCE, mode="backward",
            values={n: values[n] for n in ("lp", "lpo", "A")} | {"m": mask_for(values)},
            kinds={**DATA, "m": "constant"}, requires_grad={"lpo": False, "A": False, "m": False})
        self.ppo_view = GraphView(model=self.ppo, height=440)
        self.rf_view = GraphView(model=self.rf, height=440)
        for view in (self.ppo_view, self.rf_view):
            translate_table(view, lang)
        self.sliders = {n: pn.widgets.FloatSlider(label=n, start=RANGES[n][0], end=RANGES[n][1],
                                                  step=0.01, value=values[n], format="0[.]00",
                                                  sizing_mode="stretch_width")
                        for n in DEFAULTS}
        for name, slider in self.sliders.items():
            slider.jscallback(args={"ppo": self.ppo_view.player, "rf": self.rf_view.player,
                                    **self.sliders},
                              value=JS_CASE.replace("NAME", repr(name)))
            slider.param.watch(self._on_slider, "value_throttled")
        self.case = pn.pane.HTML("", sizing_mode="stretch_width")
        self.table = pn.pane.HTML("", sizing_mode="stretch_width")
        self.ppo.param.watch(self._update, ["graph"])
        self.rf.param.watch(self._update, ["graph"])
        self._update()
        if sync_url:
            self.rf.param.watch(UrlWriter(self.url_state), ["values"])
            self.ppo.param.watch(UrlWriter(self.url_state), ["values"])

    # --- state ---------------------------------------------------------------------------------
    @property
    def values(self) -> dict:
        return {n: self.ppo.values[n] for n in DEFAULTS}

    def url_state(self) -> dict:
        return {n: number(v, 12) for n, v in self.values.items()}

    def set_values(self, **changes: float) -> None:
        """Move some of lp, lpo, A, eps: both models follow, and m follows the case."""
        values = {**self.values, **{k: float(v) for k, v in changes.items()}}
        with pn.io.hold():
            self.ppo.values = dict(values)
            self.rf.values = {n: values[n] for n in ("lp", "lpo", "A")} | {"m": mask_for(values)}
            for name, slider in self.sliders.items():
                if slider.value != values[name]:
                    slider.value = values[name]

    def _on_slider(self, event) -> None:
        name = next(n for n, s in self.sliders.items() if s is event.obj)
        self.set_values(**{name: event.new})

    def gradients(self) -> tuple[float, float]:
        """``dL_PPO/dlp`` and ``dL_RF/dlp`` read from the two traced graphs."""
        return self._node(self.ppo, "lp")["grad"], self._node(self.rf, "lp")["grad"]

    @staticmethod
    def _node(model: ExplorerModel, name: str) -> dict:
        g = model.graph
        return next(g.nodes[n] for n in g if g.nodes[n]["name"] == name)

    @staticmethod
    def _root(model: ExplorerModel) -> dict:
        g = model.graph
        return g.nodes[g.graph["root"]]

    # --- text -------------------------------------------------------------------------------------
    def case_html(self) -> str:
        t = TEXT[self.lang]
        v = self.values
        case = ppo_case(v["lp"], v["lpo"], v["A"], v["eps"])
        rho, lo, hi = case["rho"], 1 - v["eps"], 1 + v["eps"]
        if case["clipped"]:
            key, kind = ("clipped_hi" if rho > hi else "clipped_lo"), "clipped"
        else:
            key, kind = ("inside" if lo <= rho <= hi else "outside"), "same"
        text = t[key].format(rho=number(rho), lo=number(lo), hi=number(hi), A=number(v["A"]))
        return callout(text, kind).object

    def table_html(self) -> str:
        t = TEXT[self.lang]
        v = self.values
        rho = math.exp(v["lp"] - v["lpo"])
        clipped_rho = min(max(rho, 1 - v["eps"]), 1 + v["eps"])
        objective = min(rho * v["A"], clipped_rho * v["A"])
        w = rho * self.rf.values["m"]
        g_ppo, g_rf = self.gradients()
        rows = [
            [t["value"], f"−min(ρA, clip(ρ)A) = <b>{number(self._root(self.ppo)['value'])}</b>",
             f"−w·A·lp = <b>{number(self._root(self.rf)['value'])}</b>"],
            [t["path"], t["path_ppo"], t["path_rf"]],
            [t["inter"], f"ρ = {number(rho)}, clip(ρ) = {number(clipped_rho)}, "
                         f"min(·) = {number(objective)}",
             f"w = sg(ρ·m) = {number(w)} ({t['sg']}, m = {number(self.rf.values['m'])}), "
             f"ln π<sub>θ</sub> = lp = {number(v['lp'])}"],
            [t["grad"], f"<b>{number(g_ppo, 6)}</b>", f"<b>{number(g_rf, 6)}</b>"],
        ]
        equal = t["equal"].format(g=number(g_ppo, 6), eq=str(g_ppo == g_rf))
        return (table_html(["", "L<sub>PPO</sub>", "L<sub>RF</sub>"], rows,
                           caption=t["table_caption"], css="bpx-num-table bpx-seed-table")
                + f"<div class='bpx-equation'>{equal}</div>")

    def _update(self, *events) -> None:
        if self.rf.graph is None or self.ppo.graph is None:
            return
        self.case.object = self.case_html()
        self.table.object = self.table_html()

    # --- page ---------------------------------------------------------------------------------------
    def _graph_column(self, title: str, view: GraphView) -> pn.Column:
        w = WORDS[self.lang]
        args = {"player": view.player}
        buttons = []
        for label, action, kind in ((w["start"], "first", "light"), (w["back"], "back", "light"),
                                    (w["play"], "play", "success"), (w["step"], "step", "light")):
            button = pn.widgets.Button(label=label, color=kind, width=92, margin=(2, 3))
            button.js_on_click(args=args, code=view.js_action(action))
            buttons.append(button)
        # side by side where there is room for both, one above the other on a narrow screen
        return pn.Column(pn.pane.HTML(f"<h3 class='bpx-lesson-h3'>{title}</h3>", margin=(0, 10)),
                         pn.Row(*buttons), view, sizing_mode="stretch_width",
                         styles={"flex": "1 1 660px", "min-width": "min(660px, 100%)"})

    def page(self) -> LessonPage:
        t, lang = TEXT[self.lang], self.lang
        main = [
            heading(HEADINGS["same-gradient"][lang]),
            pn.Row(prose(t["intro"][:2], margin=(0, 10)), prose(t["intro"][2:], margin=(0, 10)),
                   sizing_mode="stretch_width"),
            self.case,
            pn.FlexBox(self._graph_column(t["ppo_title"], self.ppo_view),
                       self._graph_column(t["rf_title"], self.rf_view), flex_wrap="wrap",
                       sizing_mode="stretch_width"),
            pn.Column(self.table, margin=(0, 10), sizing_mode="stretch_width"),
        ]
        sidebar = [pn.pane.HTML(f"<h3 class='bpx-side-title'>{WORDS[lang]['inputs']}</h3>"),
                   *self.sliders.values()]
        return LessonPage(sidebar=sidebar, main=main)


def build(args: dict, lang: str) -> LessonPage:
    return SameGradientLesson(args, lang).page()
