"""Gradients that reach the data: dL/dx on the article's example, then saliency and FGSM.

The article's example with its requires_grad switches shows the work a framework skips
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
from graphviz_core.schedule import grad_ref
from graphviz_core.training import fgsm, glyph_dataset, input_gradient, predict, train_logistic

from .. import later
from ..controls import VariableSliders
from ..graph_view import GraphView
from ..model import ExplorerModel
from ..states import precompute
from ..stats import STATS_CLASS, stats_html, stats_template
from ..texts import attach, fill_text, if_active, is_offline, url_key
from ..words import article_heading, lesson_text
from . import LessonPage
from .common import (callout, choice_arg, float_arg, heading, names_arg, number,
                     prose, table_html, write_url_on)

LIMIT = 3.0
CLASSES = ("T", "L")  # T is the positive class (label 1)
EPS_MAX = 0.6

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
        t = lesson_text("input-gradients", lang)
        values = {n: float_arg(args, n, v, -LIMIT, LIMIT) for n, v in SEED.values.items()}
        off = names_arg(args, "off", SEED.values)
        self.model = ExplorerModel(expression=SEED.source, values=values, mode="backward",
                                   requires_grad={n: False for n in off})
        self.view = GraphView(model=self.model, height=360, lang=lang)
        self.sliders = VariableSliders(model=self.model, view=self.view, lang=lang,
                                       pruned_in_page=True)
        self.sliders.within({n: (-LIMIT, LIMIT) for n in self.sliders.sliders})
        self.stats = pn.pane.HTML("", css_classes=["bpx-stats-line"], sizing_mode="stretch_width")
        self.leaves = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bpx-leaves"])
        self.classifier = Classifier()
        self.glyph = pn.widgets.RadioButtonGroup(
            label=t["glyph"], options=list(CLASSES), color="primary", variant="outline",
            value=choice_arg(args, "glyph", "T", CLASSES))
        self.eps = pn.widgets.FloatSlider(label=t["eps"], start=0.0, end=EPS_MAX, step=0.01,
                                          value=float_arg(args, "eps", 0.4, 0.0, EPS_MAX),
                                          sizing_mode="stretch_width")
        self.sources = {k: ColumnDataSource({"image": [np.zeros((8, 8))]})
                        for k in ("x", "saliency", "step", "adv")}
        self.figures = None  # below the fold: made when first on screen (page())
        self.result = pn.pane.HTML("", sizing_mode="stretch_width")
        self.model.param.watch(self._update_graph, ["graph"])
        self.glyph.param.watch(self._update_attack, "value")
        self.eps.param.watch(self._update_attack, "value_throttled")
        self._update_graph()
        self._update_attack()
        if sync_url:
            write_url_on(self.url_state, (self.model, ["values", "requires_grad"]),
                         (self.glyph, "value"), (self.eps, "value_throttled"))

    def url_state(self) -> dict:
        state = {k: number(v, 12) for k, v in self.model.values.items()}
        off = [n for n, flag in self.model.requires_grad.items() if not flag]
        if off:
            state["off"] = ",".join(off)
        return {**state, "glyph": self.glyph.value, "eps": number(self.eps.value, 6)}

    # --- the article's example -------------------------------------------------------------------------
    def leaf_gradients(self) -> dict[str, float | None]:
        """Each leaf's gradient, None where the backward pass did not compute it."""
        g = self.model.graph
        return {g.nodes[n]["name"]: (g.nodes[n]["grad"] if g.nodes[n]["active"] else None)
                for n in g if not g.nodes[n]["op"]}

    def _update_graph(self, *events) -> None:
        self.stats.object = stats_html(self.model, self.lang)
        self.leaves.object = fill_text(self.leaves_template(), self.model.graph, self.lang)

    def leaves_template(self) -> str:
        """The leaves' gradients, the graph's numbers as placeholders (components/texts.py)."""
        t = lesson_text("input-gradients", self.lang)
        g = self.model.graph
        nodes = {g.nodes[n]["name"]: n for n in g if not g.nodes[n]["op"]}
        rows = []
        for name in ("w", "b", "x", "y"):
            n = nodes.get(name)
            skipped = f"<span class='bpx-blocked'>{t['skipped']}</span>"
            cell = skipped if n is None else if_active(n, f"<b>{grad_ref(n)}</b>", skipped)
            rows.append([f"<i>{name}</i>", t["roles"][name], cell, t["uses"][name]])
        return table_html([t["leaf"], t["role"], t["grad"], t["used"]], rows,
                          caption=t["leaf_title"])

    # --- the classifier ---------------------------------------------------------------------------------
    def attack(self) -> dict:
        return self.classifier.attack(self.glyph.value, self.eps.value)

    def _update_attack(self, *events) -> None:
        t = lesson_text("input-gradients", self.lang)
        r = self.attack()
        for key in ("x", "saliency", "step", "adv"):
            self.sources[key].data = {"image": [np.asarray(r[key], dtype=float)[::-1].copy()]}
        d = r["p_adv"] - r["p"]
        flipped = (r["p"] > 0.5) != (r["p_adv"] > 0.5)
        rows = [[t["label"], f"<b>{self.glyph.value}</b>", ""],
                [t["prob"], f"<span class='bpx-prob'>{number(r['p'], 3)}</span>",
                 f"<span class='bpx-prob'>{number(r['p_adv'], 3)}</span>"],
                [t["loss_word"], number(r["loss"]), number(r["loss_adv"])]]
        note = t["moved"].format(dir=t["up"] if d > 0 else t["down"], d=number(abs(d), 3),
                                 c=self.glyph.value) + (t["flipped"] if flipped else "")
        self.result.object = (table_html(["", t["before"], t["after"]], rows)
                              + callout(note, "differ" if abs(d) > 0 else "same").object)

    # --- page -------------------------------------------------------------------------------------------
    def _images(self) -> list:
        """The glyph, its saliency, the FGSM step and the perturbed glyph, side by side."""
        t = lesson_text("input-gradients", self.lang)
        self.figures = [
            _image_figure(t["image"], self.sources["x"], list(reversed(Greys256)), 0, 1),
            _image_figure(t["saliency"], self.sources["saliency"], list(reversed(YlOrRd9)), 0, None),
            _image_figure(t["step"], self.sources["step"], list(reversed(RdBu11)), -EPS_MAX, EPS_MAX),
            _image_figure(t["perturbed"], self.sources["adv"], list(reversed(Greys256)), 0, 1),
        ]
        return [pn.Row(*[pn.pane.Bokeh(f) for f in self.figures], css_classes=["bpx-inline"])]

    def page(self) -> LessonPage:
        t, lang = lesson_text("input-gradients", self.lang), self.lang
        if is_offline():  # no server behind the page: the attack at every glyph and ε
            precompute([self.glyph, self.eps], [*self.sources.values(), self.result],
                       self._update_attack)
            attach(self.view, panes=[("bpx-leaves", self.leaves_template()),
                                     (STATS_CLASS, stats_template(self.model, self.lang))])
            url_key("glyph", self.glyph)
            url_key("eps", self.eps)
        main = [
            heading(article_heading("inputs", lang)),
            pn.Row(prose(t["intro"], margin=(0, 10)),
                   pn.Column(self.leaves, width=470, css_classes=["bpx-aside"]),
                   sizing_mode="stretch_width"),
            self.view, self.stats,
            heading(t["classifier"], level=3),
            pn.Row(prose(t["classifier_text"], margin=(0, 10)),
                   pn.Column(self.result, width=420), sizing_mode="stretch_width"),
            later.column(self._images),
        ]
        sidebar = [self.sliders.panel(),
                   pn.pane.HTML(f"<h3 class='bpx-side-title'>FGSM</h3>"),
                   pn.pane.HTML(f"<div class='bpx-hint'>{t['glyph']}</div>"), self.glyph,
                   self.eps]
        return LessonPage(sidebar=sidebar, main=main)


def build(args: dict, lang: str) -> LessonPage:
    return InputGradientsLesson(args, lang).page()
