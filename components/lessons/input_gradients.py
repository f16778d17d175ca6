"""Gradients that reach the data: dL/dx on the seed graph, then saliency and FGSM on glyphs.

The seed graph with its requires_grad switches shows the work a framework skips
for data leaves. A logistic classifier over 8x8 glyphs (trained in numpy when
the page is built, from zeros, so always the same) shows what input gradients
are good for: a saliency map |dL/dx| and a fast-gradient-sign step.
"""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, LinearColorMapper
from bokeh.palettes import Greys256, RdBu11, YlOrRd9
from bokeh.plotting import figure

from graphviz_core.examples import SEED
from graphviz_core.glyphs import glyphs
from graphviz_core.training import fgsm, glyph_dataset, input_gradient, predict, train_logistic

from ..controls import VariableSliders
from ..graph_view import GraphView
from ..model import ExplorerModel
from . import LessonPage
from ..stats import stats_html
from .common import (UrlWriter, callout, choice_arg, float_arg, heading, names_arg, number,
                     prose, slider_sidebar, table_html, translate_table)
from .text import HEADINGS, WORDS

LIMIT = 3.0
CLASSES = ("T", "L")  # T is the positive class (label 1)
EPS_MAX = 0.6

TEXT = {
    "en": {
        "intro": [
            "The backward pass gives a gradient for <b>every leaf</b>, not only the parameters. "
            "For <i>L</i> = (<i>wx</i> + <i>b</i> − <i>y</i>)² it yields ∂L/∂w and ∂L/∂b, which "
            "the optimiser uses, and also ∂L/∂x and ∂L/∂y.",
            "In ordinary training on fixed data those two are thrown away, so frameworks do not "
            "even compute them: data leaves have <code>requires_grad = False</code>. Untick "
            "<i>x</i> and <i>y</i> on the left and watch the skipped count go up.",
            "Gradients at <i>inner</i> nodes (∂L/∂z1, ∂L/∂z2, …) are never waste: they are the "
            "messengers that carry the chain rule back to <i>w</i> and <i>b</i>.",
        ],
        "leaf_title": "Gradients at the leaves", "leaf": "leaf", "role": "role",
        "grad": "∂L/∂leaf", "used": "used by",
        "roles": {"w": "parameter", "b": "parameter", "x": "data", "y": "label"},
        "uses": {"w": "the optimiser", "b": "the optimiser", "x": "attacks, saliency, upstream modules",
                 "y": "rarely anything"},
        "skipped": "not computed (requires_grad off)",
        "classifier": "When the input gradient is the whole point",
        "classifier_text": [
            "A tiny classifier: <i>p</i> = σ(Σ w<sub>i</sub>x<sub>i</sub> + b) over 8×8 images, "
            "trained when this page was built (numpy, from zeros) to tell <b>T</b> (p → 1) from "
            "<b>L</b> (p → 0). Its loss is built with the engine, with the 64 pixels as leaves, "
            "so ∂L/∂x comes from the same backward pass as everything else.",
            "<b>Saliency</b>: |∂L/∂x| per pixel. Dark pixels are the ones whose change moves the "
            "loss most: the starting point of attribution methods.",
            "<b>FGSM</b> (fast gradient sign method): move every pixel by ε in the direction "
            "sign(∂L/∂x), where the loss rises fastest, and clip to [0, 1]. The prediction moves "
            "away from the true class.",
            "On 8×8 pixels a linear model needs a large ε. On a photo with 150,000 pixels, nudges "
            "too small to see add up to the same push. Input gradients also drive feature "
            "visualisation, end-to-end training of stacked modules and physics-informed networks.",
        ],
        "glyph": "Image", "eps": "FGSM step ε",
        "image": "Input x", "saliency": "Saliency |∂L/∂x|", "step": "Step ε·sign(∂L/∂x)",
        "perturbed": "Perturbed x′",
        "before": "before", "after": "after FGSM", "prob": "p(T)", "loss": "loss",
        "label": "true class", "moved": ("The step {dir} p(T) by {d}: the prediction moves away "
                                         "from the true class {c}."),
        "up": "raises", "down": "lowers",
        "flipped": " <b>The predicted class flips.</b>",
    },
    "zh": {
        "intro": [
            "反向传播为<b>每一个叶子</b>都给出梯度,而不只是参数。对 <i>L</i> = (<i>wx</i> + <i>b</i> − "
            "<i>y</i>)²,它得到优化器要用的 ∂L/∂w 和 ∂L/∂b,也得到 ∂L/∂x 和 ∂L/∂y。",
            "在固定数据上的普通训练中,后两者会被丢弃,所以框架干脆不计算它们:数据叶子的 "
            "<code>requires_grad = False</code>。在左侧取消勾选 <i>x</i> 和 <i>y</i>,看跳过的数量增加。",
            "<i>内部</i>节点的梯度(∂L/∂z1、∂L/∂z2……)从不浪费:它们是把链式法则传回 <i>w</i> 和 "
            "<i>b</i> 的信使。",
        ],
        "leaf_title": "叶子上的梯度", "leaf": "叶子", "role": "角色", "grad": "∂L/∂叶子",
        "used": "用途",
        "roles": {"w": "参数", "b": "参数", "x": "数据", "y": "标签"},
        "uses": {"w": "优化器", "b": "优化器", "x": "对抗攻击、显著性图、上游模块", "y": "很少使用"},
        "skipped": "不计算(requires_grad 已关闭)",
        "classifier": "输入梯度本身就是目的的时候",
        "classifier_text": [
            "一个很小的分类器:在 8×8 图像上 <i>p</i> = σ(Σ w<sub>i</sub>x<sub>i</sub> + b),"
            "在构建本页时训练(numpy,从零开始),用来区分 <b>T</b>(p → 1)和 <b>L</b>(p → 0)。"
            "它的损失用引擎构建,64 个像素都是叶子,所以 ∂L/∂x 和其他梯度一样来自同一次反向传播。",
            "<b>显著性图</b>:每个像素的 |∂L/∂x|。颜色越深的像素,改变它对损失的影响越大:"
            "这是各种归因方法的起点。",
            "<b>FGSM</b>(快速梯度符号法):把每个像素沿 sign(∂L/∂x) 方向(损失上升最快的方向)移动 ε,"
            "再裁剪到 [0, 1]。预测随之偏离真实类别。",
            "在 8×8 的图像上,线性模型需要较大的 ε。在有 15 万像素的照片上,小到看不见的扰动累加起来"
            "也能产生同样的推力。输入梯度还用于特征可视化、堆叠模块的端到端训练和物理信息神经网络。",
        ],
        "glyph": "图像", "eps": "FGSM 步长 ε",
        "image": "输入 x", "saliency": "显著性 |∂L/∂x|", "step": "扰动 ε·sign(∂L/∂x)",
        "perturbed": "扰动后的 x′",
        "before": "之前", "after": "FGSM 之后", "prob": "p(T)", "loss": "损失",
        "label": "真实类别", "moved": "这一步使 p(T) {dir}了 {d}:预测偏离了真实类别 {c}。",
        "up": "升高", "down": "降低",
        "flipped": " <b>预测的类别翻转了。</b>",
    },
}


class Classifier:
    """The glyph classifier of one session: trained once, then asked for gradients."""

    def __init__(self):
        self.images = glyphs()
        X, labels = glyph_dataset(self.images, *CLASSES, noise=0.3)
        self.weights, self.bias = train_logistic(X, labels)

    def label(self, name: str) -> int:
        return 1 if name == CLASSES[0] else 0

    def attack(self, name: str, eps: float) -> dict:
        """Saliency and FGSM for glyph ``name`` at step ``eps``."""
        x = self.images[name]
        label = self.label(name)
        loss, grad = input_gradient(self.weights, self.bias, x, label)
        adv = fgsm(x, grad, eps)
        adv_loss, _ = input_gradient(self.weights, self.bias, adv, label)
        return {"x": x, "grad": grad, "saliency": np.abs(grad), "step": adv - x, "adv": adv,
                "p": float(predict(self.weights, self.bias, x)),
                "p_adv": float(predict(self.weights, self.bias, adv)),
                "loss": loss, "loss_adv": adv_loss, "label": label}


def _image_figure(title: str, source: ColumnDataSource, palette, low: float, high: float):
    fig = figure(title=title, width=220, height=240, x_range=(0, 8), y_range=(0, 8),
                 tools="save", toolbar_location=None, match_aspect=True,
                 outline_line_color="#CBD2D9")
    mapper = LinearColorMapper(palette=palette, low=low, high=high)
    fig.image(image="image", x=0, y=0, dw=8, dh=8, source=source, color_mapper=mapper,
              level="image")
    fig.axis.visible = False
    fig.grid.visible = False
    fig.title.text_font_size = "14px"
    fig.title.text_font_style = "bold"
    fig.min_border = 4
    return fig


class InputGradientsLesson:
    def __init__(self, args: dict, lang: str, sync_url: bool = True):
        self.lang = lang
        t = TEXT[lang]
        values = {n: float_arg(args, n, v, -LIMIT, LIMIT) for n, v in SEED.values.items()}
        off = names_arg(args, "off", SEED.values)
        self.model = ExplorerModel(expression=SEED.source, values=values, mode="backward",
                                   requires_grad={n: False for n in off})
        self.view = GraphView(model=self.model, height=360)
        translate_table(self.view, lang)
        self.sliders = VariableSliders(model=self.model, view=self.view)
        self.stats = pn.pane.HTML("", css_classes=["bpx-stats-line"], sizing_mode="stretch_width")
        self.leaves = pn.pane.HTML("", sizing_mode="stretch_width")
        self.classifier = Classifier()
        self.glyph = pn.widgets.RadioButtonGroup(
            label=t["glyph"], options=list(CLASSES), color="primary", variant="outline",
            value=choice_arg(args, "glyph", "T", CLASSES))
        self.eps = pn.widgets.FloatSlider(label=t["eps"], start=0.0, end=EPS_MAX, step=0.01,
                                          value=float_arg(args, "eps", 0.4, 0.0, EPS_MAX),
                                          sizing_mode="stretch_width")
        self.sources = {k: ColumnDataSource({"image": [np.zeros((8, 8))]})
                        for k in ("x", "saliency", "step", "adv")}
        self.figures = [
            _image_figure(t["image"], self.sources["x"], list(reversed(Greys256)), 0, 1),
            _image_figure(t["saliency"], self.sources["saliency"], list(reversed(YlOrRd9)), 0, None),
            _image_figure(t["step"], self.sources["step"], list(reversed(RdBu11)), -EPS_MAX, EPS_MAX),
            _image_figure(t["perturbed"], self.sources["adv"], list(reversed(Greys256)), 0, 1),
        ]
        self.result = pn.pane.HTML("", sizing_mode="stretch_width")
        self.model.param.watch(self._update_graph, ["graph"])
        self.glyph.param.watch(self._update_attack, "value")
        self.eps.param.watch(self._update_attack, "value_throttled")
        self._update_graph()
        self._update_attack()
        if sync_url:
            write = UrlWriter(self.url_state)
            self.model.param.watch(write, ["values", "requires_grad"])
            self.glyph.param.watch(write, "value")
            self.eps.param.watch(write, "value_throttled")

    def url_state(self) -> dict:
        state = {k: number(v, 12) for k, v in self.model.values.items()}
        off = [n for n, flag in self.model.requires_grad.items() if not flag]
        if off:
            state["off"] = ",".join(off)
        return {**state, "glyph": self.glyph.value, "eps": number(self.eps.value, 6)}

    # --- the seed graph -------------------------------------------------------------------------
    def leaf_gradients(self) -> dict[str, float | None]:
        """Each leaf's gradient, None where the backward pass did not compute it."""
        g = self.model.graph
        return {g.nodes[n]["name"]: (g.nodes[n]["grad"] if g.nodes[n]["active"] else None)
                for n in g if not g.nodes[n]["op"]}

    def _update_graph(self, *events) -> None:
        t = TEXT[self.lang]
        self.stats.object = stats_html(self.model, self.lang)
        rows = []
        for name in ("w", "b", "x", "y"):
            grad = self.leaf_gradients().get(name)
            cell = (f"<b>{number(grad)}</b>" if grad is not None else
                    f"<span class='bpx-blocked'>{t['skipped']}</span>")
            rows.append([f"<i>{name}</i>", t["roles"][name], cell, t["uses"][name]])
        self.leaves.object = table_html([t["leaf"], t["role"], t["grad"], t["used"]], rows,
                                        caption=t["leaf_title"])

    # --- the classifier ---------------------------------------------------------------------------------
    def attack(self) -> dict:
        return self.classifier.attack(self.glyph.value, self.eps.value)

    def _update_attack(self, *events) -> None:
        t = TEXT[self.lang]
        r = self.attack()
        for key in ("x", "saliency", "step", "adv"):
            self.sources[key].data = {"image": [np.asarray(r[key], dtype=float)[::-1].copy()]}
        d = r["p_adv"] - r["p"]
        flipped = (r["p"] > 0.5) != (r["p_adv"] > 0.5)
        rows = [[t["label"], f"<b>{self.glyph.value}</b>", ""],
                [t["prob"], f"<span class='bpx-prob'>{number(r['p'], 3)}</span>",
                 f"<span class='bpx-prob'>{number(r['p_adv'], 3)}</span>"],
                [t["loss"], number(r["loss"]), number(r["loss_adv"])]]
        note = t["moved"].format(dir=t["up"] if d > 0 else t["down"], d=number(abs(d), 3),
                                 c=self.glyph.value) + (t["flipped"] if flipped else "")
        self.result.object = (table_html(["", t["before"], t["after"]], rows)
                              + callout(note, "differ" if abs(d) > 0 else "same").object)

    # --- page -------------------------------------------------------------------------------------------
    def page(self) -> LessonPage:
        t, lang = TEXT[self.lang], self.lang
        images = pn.Row(*[pn.pane.Bokeh(f) for f in self.figures])
        main = [
            heading(HEADINGS["inputs"][lang]),
            pn.Row(prose(t["intro"], margin=(0, 10)),
                   pn.Column(self.leaves, width=470, css_classes=["bpx-aside"]),
                   sizing_mode="stretch_width"),
            self.view, self.stats,
            heading(t["classifier"], level=3),
            pn.Row(prose(t["classifier_text"], margin=(0, 10)),
                   pn.Column(self.result, width=420), sizing_mode="stretch_width"),
            images,
        ]
        sidebar = [slider_sidebar(self.sliders, lang),
                   pn.pane.HTML(f"<h3 class='bpx-side-title'>FGSM</h3>"),
                   pn.pane.HTML(f"<div class='bpx-hint'>{t['glyph']}</div>"), self.glyph,
                   self.eps]
        return LessonPage(sidebar=sidebar, main=main)


def build(args: dict, lang: str) -> LessonPage:
    return InputGradientsLesson(args, lang).page()
