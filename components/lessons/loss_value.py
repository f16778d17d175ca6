"""Does the gradient depend on L's value? Sliders for a constant C and a scale k.

The seed's loss drawn as ``k*(w*x + b - y)**2 + C`` in backward mode, a table of
the gradients of L, L + C and k*L, then gradient descent on L and on L + C from
the same start: the two paths drawn on top of each other (checked bit for bit),
the two loss curves side by side, and an early-stopping threshold that reacts
to the shift.
"""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, Span
from bokeh.palettes import Blues9

from graphviz_core.examples import EXAMPLES, shifted_and_scaled
from graphviz_core.training import first_below, gradient_descent, regression_data, regression_loss

from ..controls import VariableSliders
from ..graph_view import GraphView
from ..model import ExplorerModel
from . import LessonPage
from .common import (PALETTE, UrlWriter, callout, float_arg, heading, number,
                     plot, prose, slider_sidebar, style_legend, table_html, translate_table)
from .text import HEADINGS, WORDS

EXAMPLE = EXAMPLES["loss-value"]
STEPS = 60
RANGES = {"w": (-3, 3), "x": (-3, 3), "b": (-3, 3), "y": (-3, 3), "k": (0.1, 5), "C": (-50, 50)}

TEXT = {
    "en": {
        "intro": [
            "The graph is the seed's loss, scaled by a constant <i>k</i> and shifted by a "
            "constant <i>C</i>. It is drawn in backward mode: every edge shows the local "
            "derivative and what it carries back.",
            "Look at the node <b>+ C</b>: its local derivative is <b>1</b>, whatever <i>C</i> is. "
            "Nothing in the backward pass ever multiplies by the value of <i>L</i>; it only uses "
            "saved intermediates (z1, z2, z3) and local derivatives. <i>L</i> enters once, as the "
            "seed ∂L/∂L = 1.",
            "<b>Try it:</b> drag <i>C</i>: the loss changes, the gradients do not. Drag <i>k</i>: "
            "every gradient is multiplied by <i>k</i>.",
        ],
        "table_title": "Gradients of the three losses",
        "loss": "loss", "value": "value", "same": "same as L", "scaled": "= k × (L's)",
        "yes": "identical", "no": "differs",
        "descent_intro": [
            "Gradient descent only ever reads the gradient: θ ← θ − η ∇L. If two losses have the "
            "same gradient everywhere, they differ by a constant and descent takes the same path "
            "from the same start.",
            "Below, descent runs on <i>L</i> (the seed's loss averaged over six points) and on "
            "<i>L + C</i>, starting at the <i>w</i>, <i>b</i> of the sliders.",
        ],
        "plane": "Parameter path in (w, b)", "path_L": "descent on L", "path_LC": "descent on L + C",
        "curve_L": "Loss curve of L", "curve_LC": "Loss curve of L + C",
        "step": "step", "loss_axis": "loss",
        "equal": ("<b>The two paths are identical to the last bit</b> "
                  "(numpy.array_equal on all {n} points: True; largest difference 0)."),
        "unequal": ("The two paths differ (largest difference {d}). "
                    "np.array_equal: False."),
        "stop": ("<b>A value-based rule sees a difference.</b> Early stopping at “loss &lt; τ = {tau}”: "
                 "descent on L stops at step <b>{a}</b>; on L + C it {b}."),
        "stop_never": "<b>never stops</b>, because L + C never drops below C = {C}",
        "stop_at": "stops at step <b>{b}</b>",
        "why": [
            "The gradient is the tool; the loss is the target. The two curves above have the "
            "<b>same shape</b>, moved up by <i>C</i>: they carry exactly the same news about "
            "progress, and a falling curve is our evidence that descent is doing its job.",
            "So compare training curves by their shape and their relative change, not by their "
            "absolute height. And a falling training loss is necessary, not sufficient: watch "
            "for overfitting, for a loss that does not match the metric you care about, and "
            "for reward hacking.",
        ],
        "threshold": "Early-stopping threshold τ", "lr": "Learning rate η",
        "plane_note": [
            "Wide blue line: descent on <i>L</i>. Orange crosses on top: descent on <i>L + C</i>. "
            "The white circle is the start (the sliders' <i>w</i>, <i>b</i>); the shaded bowl is "
            "<i>L</i>, lighter where it is smaller.",
            "Below, the two loss curves: the same shape, one lifted by <i>C</i>. The purple "
            "dashed line is the threshold τ; the star marks where early stopping fires.",
        ],
    },
    "zh": {
        "intro": [
            "图中是种子文本中的损失,乘上常数 <i>k</i> 并加上常数 <i>C</i>。它以反向模式绘制:"
            "每条边都标出局部导数以及它带回去的梯度。",
            "看 <b>+ C</b> 这个节点:无论 <i>C</i> 是多少,它的局部导数都是 <b>1</b>。反向传播从不乘以 "
            "<i>L</i> 的值;它只用保存下来的中间量(z1、z2、z3)和局部导数。<i>L</i> 只出现一次,"
            "作为起点 ∂L/∂L = 1。",
            "<b>试一试:</b>拖动 <i>C</i>:损失变了,梯度不变。拖动 <i>k</i>:每个梯度都乘以 <i>k</i>。",
        ],
        "table_title": "三个损失的梯度",
        "loss": "损失", "value": "值", "same": "与 L 相同", "scaled": "= k × (L 的)",
        "yes": "完全相同", "no": "不同",
        "descent_intro": [
            "梯度下降只读取梯度:θ ← θ − η ∇L。如果两个损失处处梯度相同,它们只差一个常数,"
            "从同一起点出发的下降路径也完全一样。",
            "下面分别对 <i>L</i>(种子损失在六个数据点上的平均)和 <i>L + C</i> 做梯度下降,"
            "起点是滑块上的 <i>w</i>、<i>b</i>。",
        ],
        "plane": "(w, b) 中的参数路径", "path_L": "对 L 下降", "path_LC": "对 L + C 下降",
        "curve_L": "L 的损失曲线", "curve_LC": "L + C 的损失曲线",
        "step": "步数", "loss_axis": "损失",
        "equal": ("<b>两条路径逐位完全相同</b>"
                  "(对全部 {n} 个点做 numpy.array_equal:True;最大差值 0)。"),
        "unequal": "两条路径不同(最大差值 {d})。np.array_equal:False。",
        "stop": ("<b>依赖数值的规则会看到差别。</b>以“损失 &lt; τ = {tau}”提前停止:"
                 "对 L 下降在第 <b>{a}</b> 步停止;对 L + C {b}。"),
        "stop_never": "<b>永远不会停止</b>,因为 L + C 永远不会低于 C = {C}",
        "stop_at": "在第 <b>{b}</b> 步停止",
        "why": [
            "梯度是工具,损失是目标。上面两条曲线<b>形状相同</b>,只是整体上移了 <i>C</i>:"
            "它们关于训练进展的信息完全一样;曲线下降,正说明梯度下降在起作用。",
            "所以比较训练曲线时,要看形状和相对变化,而不是绝对高度。训练损失下降是必要条件,"
            "但不是充分条件:还要提防过拟合、损失与真正关心的指标不一致,以及奖励投机(reward hacking)。",
        ],
        "threshold": "提前停止阈值 τ", "lr": "学习率 η",
        "plane_note": [
            "宽的蓝线:对 <i>L</i> 的下降。叠在上面的橙色叉号:对 <i>L + C</i> 的下降。白色圆圈是起点"
            "(滑块上的 <i>w</i>、<i>b</i>);阴影碗形是 <i>L</i>,颜色越浅处越小。",
            "下方是两条损失曲线:形状相同,其中一条被抬高了 <i>C</i>。紫色虚线是阈值 τ;"
            "星号标出提前停止触发的位置。",
        ],
    },
}


class LossValueLesson:
    """The loss-value page's state: the graph's model, the descent runs and their views."""

    def __init__(self, args: dict, lang: str, sync_url: bool = True):
        self.lang = lang
        t = TEXT[lang]
        values = {n: float_arg(args, n, v, *RANGES[n]) for n, v in EXAMPLE.values.items()}
        self.model = ExplorerModel(expression=EXAMPLE.source, values=values,
                                   kinds=dict(EXAMPLE.kinds), requires_grad=dict(EXAMPLE.requires_grad),
                                   mode="backward")
        self.view = GraphView(model=self.model, height=360)
        translate_table(self.view, lang)
        self.sliders = VariableSliders(model=self.model, view=self.view)
        for name, slider in self.sliders.sliders.items():
            lo, hi = RANGES[name]
            slider.param.update(start=lo, end=hi, step=0.5 if name == "C" else 0.01)
        self.lr = pn.widgets.FloatSlider(label=t["lr"], start=0.01, end=0.5, step=0.01,
                                         value=float_arg(args, "lr", 0.05, 0.01, 0.5),
                                         sizing_mode="stretch_width")
        self.tau = pn.widgets.FloatSlider(label=t["threshold"], start=0.01, end=2.0, step=0.01,
                                          value=float_arg(args, "tau", 0.1, 0.01, 2.0),
                                          sizing_mode="stretch_width")
        self.table = pn.pane.HTML("", sizing_mode="stretch_width")
        self.equal_note = pn.pane.HTML("", sizing_mode="stretch_width")
        self.stop_note = pn.pane.HTML("", sizing_mode="stretch_width")
        self.xs, self.ys = regression_data()
        self.paths = {k: ColumnDataSource({"w": [], "b": []}) for k in ("L", "LC")}
        self.starts = ColumnDataSource({"w": [], "b": []})
        self.curves = {k: ColumnDataSource({"step": [], "loss": []}) for k in ("L", "LC")}
        self.stops = {k: ColumnDataSource({"step": [], "loss": []}) for k in ("L", "LC")}
        self.spans = {k: Span(location=0.1, dimension="width", line_color=PALETTE["d"],
                              line_dash="dashed", line_width=2) for k in ("L", "LC")}
        self.plane = self._plane()
        self.curve_figs = {k: self._curve(k) for k in ("L", "LC")}
        self.runs: dict = {}
        self.model.param.watch(self._update, ["values"])
        self.lr.param.watch(self._update, "value_throttled")
        self.tau.param.watch(self._update, "value_throttled")
        self._update()
        if sync_url:
            write = UrlWriter(self.url_state)
            self.model.param.watch(write, ["values"])
            self.lr.param.watch(write, "value_throttled")
            self.tau.param.watch(write, "value_throttled")

    def url_state(self) -> dict:
        return {**{k: number(v, 12) for k, v in self.model.values.items()},
                "lr": number(self.lr.value, 6), "tau": number(self.tau.value, 6)}

    # --- numbers ----------------------------------------------------------------------------------
    def gradients(self) -> dict[str, dict]:
        """Value and gradients of L, L + C and k*L at the sliders' values (by the engine)."""
        v = self.model.values
        seed = {n: v[n] for n in ("w", "x", "b", "y")}
        return {"L": shifted_and_scaled(seed), "L + C": shifted_and_scaled(seed, C=v["C"]),
                "k·L": shifted_and_scaled(seed, k=v["k"])}

    def descend(self) -> dict:
        """Gradient descent on L and on L + C from the sliders' (w, b)."""
        v = self.model.values
        start = [v["w"], v["b"]]
        runs = {}
        for key, C in (("L", 0.0), ("LC", v["C"])):
            runs[key] = gradient_descent(lambda p, C=C: regression_loss(p, self.xs, self.ys, C=C),
                                         start, self.lr.value, STEPS)
        return runs

    # --- views ----------------------------------------------------------------------------------------
    def _plane(self):
        t = TEXT[self.lang]
        fig = plot(t["plane"], "w", "b", height=430, match_aspect=True,
                   x_range=(-3.2, 3.2), y_range=(-3.2, 3.2))
        ws = np.linspace(-3.2, 3.2, 81)
        W, B = np.meshgrid(ws, ws)
        Z = ((W[..., None] * self.xs + B[..., None] - self.ys) ** 2).mean(axis=-1)
        levels = [0.02, 0.1, 0.3, 0.7, 1.5, 3, 5, 8, 12, 17, 24]
        fig.contour(ws, ws, Z, levels=levels, fill_color=list(reversed(Blues9))[:len(levels) - 1],
                    fill_alpha=0.55, line_color="#FFFFFF", line_width=1)
        fig.line("w", "b", source=self.paths["L"], line_width=9, line_alpha=0.35,
                 line_color=PALETTE["a"], legend_label=t["path_L"])
        fig.scatter("w", "b", source=self.paths["L"], size=9, fill_color=PALETTE["a"],
                    fill_alpha=0.35, line_color=None, legend_label=t["path_L"])
        fig.line("w", "b", source=self.paths["LC"], line_width=2, line_dash="dashed",
                 line_color=PALETTE["b"], legend_label=t["path_LC"])
        fig.scatter("w", "b", source=self.paths["LC"], size=5, marker="x", line_width=2,
                    line_color=PALETTE["b"], legend_label=t["path_LC"])
        fig.scatter("w", "b", source=self.starts, size=13, marker="circle", fill_color="#FFFFFF",
                    line_color="#1F2933", line_width=2.5)
        style_legend(fig, "bottom_right")
        return fig

    def _curve(self, key: str):
        t = TEXT[self.lang]
        color = PALETTE["a"] if key == "L" else PALETTE["b"]
        fig = plot(t["curve_" + key], t["step"], t["loss_axis"], height=280)
        fig.line("step", "loss", source=self.curves[key], line_width=3, line_color=color)
        fig.scatter("step", "loss", source=self.stops[key], size=14, marker="star",
                    fill_color=PALETTE["d"], line_color="#FFFFFF")
        fig.add_layout(self.spans[key])
        fig.y_range.range_padding = 0.12
        return fig

    def _update(self, *events) -> None:
        t = TEXT[self.lang]
        grads = self.gradients()
        base = grads["L"]["grads"]
        k = self.model.values["k"]
        rows = []
        for name, g in grads.items():
            same = all(g["grads"][n] == base[n] for n in ("w", "b"))
            mark = (f"<span class='bpx-yes'>{t['yes']}</span>" if same else
                    f"<span class='bpx-no'>{t['no']}</span>"
                    + (f" {t['scaled']}" if name == "k·L" else ""))
            rows.append([f"<b>{name}</b>", number(g["value"]), number(g["grads"]["w"], 6),
                         number(g["grads"]["b"], 6), mark])
        self.table.object = table_html([t["loss"], t["value"], "∂/∂w", "∂/∂b", t["same"]], rows,
                                       caption=t["table_title"] + f" (k = {number(k)}, "
                                       f"C = {number(self.model.values['C'])})")
        self.runs = runs = self.descend()
        a, b = runs["L"], runs["LC"]
        equal = bool(np.array_equal(a.params, b.params))
        if equal:
            self.equal_note.object = callout(t["equal"].format(n=len(a.params)), "same").object
        else:
            d = float(np.max(np.abs(a.params - b.params)))
            self.equal_note.object = callout(t["unequal"].format(d=number(d)), "differ").object
        self.starts.data = {"w": [a.params[0, 0]], "b": [a.params[0, 1]]}
        tau = self.tau.value
        C = self.model.values["C"]
        stops = {}
        for key, run in runs.items():
            self.paths[key].data = {"w": run.params[:, 0], "b": run.params[:, 1]}
            steps = np.arange(len(run.losses))
            self.curves[key].data = {"step": steps, "loss": run.losses}
            stop = first_below(run.losses, tau)
            stops[key] = stop
            self.stops[key].data = ({"step": [stop], "loss": [run.losses[stop]]} if stop is not None
                                    else {"step": [], "loss": []})
            self.spans[key].location = tau
        never = t["stop_never"].format(C=number(C))
        b_text = never if stops["LC"] is None else t["stop_at"].format(b=stops["LC"])
        a_text = stops["L"] if stops["L"] is not None else "—"
        self.stop_note.object = callout(t["stop"].format(tau=number(tau), a=a_text, b=b_text),
                                        "differ" if stops["L"] != stops["LC"] else "same").object

    # --- page -------------------------------------------------------------------------------------------
    def page(self) -> LessonPage:
        t, lang = TEXT[self.lang], self.lang
        main = [
            heading(HEADINGS["loss-value"][lang]),
            pn.Row(prose(t["intro"], margin=(0, 10)),
                   pn.Column(self.table, width=440, css_classes=["bpx-aside"]),
                   sizing_mode="stretch_width"),
            self.view,
            heading(HEADINGS["same-loss"][lang], level=3),
            prose(t["descent_intro"], margin=(0, 10)),
            pn.Row(pn.pane.Bokeh(self.plane, width=470),
                   pn.Column(self.equal_note, self.stop_note, prose(t["plane_note"]),
                             sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            pn.Row(pn.pane.Bokeh(self.curve_figs["L"], sizing_mode="stretch_width"),
                   pn.pane.Bokeh(self.curve_figs["LC"], sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            heading(HEADINGS["why-decrease"][lang], level=3),
            prose(t["why"], margin=(0, 10)),
        ]
        sidebar = [slider_sidebar(self.sliders, lang, switches=False),
                   pn.pane.HTML(f"<h3 class='bpx-side-title'>{WORDS[lang]['descent']}</h3>"),
                   self.lr, self.tau]
        return LessonPage(sidebar=sidebar, main=main)


def build(args: dict, lang: str) -> LessonPage:
    return LossValueLesson(args, lang).page()
