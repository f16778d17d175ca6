"""Vanishing and exploding gradients: a deep MLP (depth, initial weight scale, activation),
the gradient norm reaching each layer on a log scale, the local-derivative bound as the
product it is, and the same network drawn a node per layer with the gradient's flow.

Every number is the engine's: :func:`graphviz_core.vanishing.layer_report` of the network on
screen, which the explorer model below draws too.
"""

from __future__ import annotations

import math
from functools import lru_cache
from types import MappingProxyType

import panel as pn
from bokeh.models import ColumnDataSource, FactorRange

from graphviz_core.vanishing import ACTIVATIONS, DERIVATIVE_BOUND, DeepNet, layer_report

from ..graph_view import GraphView
from ..model import ExplorerModel
from ..states import precompute
from ..texts import is_offline, url_key
from ..words import lesson_text
from . import LessonPage
from .common import (PALETTE, choice_arg, float_arg, heading, number, plot, prose, table_html,
                     watch_all, write_url_on)

DEPTHS = (1, 12)
SCALES = (0.25, 3.0)
DEFAULTS = {"depth": 8, "scale": 1.0, "act": "sigmoid"}


@lru_cache(maxsize=128)
def shared_report(depth: int, activation: str, scale: str) -> tuple:
    """``layer_report(DeepNet(depth, activation, scale))`` (``scale`` as ``float.hex``) as
    read-only rows. The network is seeded, so every session with the same settings - a class
    opening the same link - gets the same numbers: they are computed once per process."""
    rows = layer_report(DeepNet(depth, activation, float.fromhex(scale)))
    return tuple(MappingProxyType({**row, "derivatives": tuple(row["derivatives"])})
                 for row in rows)


class VanishingLesson:
    """The page's state: the network's depth, weight scale and activation, and its views."""

    def __init__(self, args: dict, lang: str, sync_url: bool = True):
        self.lang = lang
        t = self.words = lesson_text("vanishing", lang)
        self.depth = pn.widgets.IntSlider(
            label=t["depth"], start=DEPTHS[0], end=DEPTHS[1], sizing_mode="stretch_width",
            value=int(float_arg(args, "depth", DEFAULTS["depth"], *DEPTHS)))
        self.scale = pn.widgets.FloatSlider(
            label=t["scale"], start=SCALES[0], end=SCALES[1], step=0.05, sizing_mode="stretch_width",
            value=float_arg(args, "scale", DEFAULTS["scale"], *SCALES))
        self.activation = pn.widgets.RadioButtonGroup(
            label=t["activation"], options=list(ACTIVATIONS), color="primary",
            variant="outline", value=choice_arg(args, "act", DEFAULTS["act"], ACTIVATIONS))
        for key, widget in (("depth", self.depth), ("scale", self.scale), ("act", self.activation)):
            url_key(key, widget)  # a static page's link holds them too
        self.net = self._net()
        self.model = ExplorerModel(root=self.net, level="layer", mode="backward")
        self.view = GraphView(model=self.model, height=300, lang=lang)
        self.source = ColumnDataSource({"layer": [], "grad": [], "bottom": []})
        self.chart = plot(t["chart_title"], t["chart_x"], t["chart_y"], height=300,
                          y_axis_type="log", x_range=FactorRange(factors=[]))
        self.chart.vbar(x="layer", top="grad", bottom="bottom", width=0.7, source=self.source,
                        fill_color=PALETTE["a"], line_color=PALETTE["a"])
        self.chart.xgrid.grid_line_color = None
        self.numbers = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bpx-live"])
        self.bound = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bpx-live"])
        controls = [(w, "value") for w in (self.depth, self.scale, self.activation)]
        watch_all(self._update, *controls)
        self._show()
        if sync_url:
            write_url_on(self.url_state, *controls)

    def url_state(self) -> dict:
        return {"depth": self.depth.value, "scale": number(self.scale.value, 6),
                "act": self.activation.value}

    def _net(self) -> DeepNet:
        return DeepNet(self.depth.value, self.activation.value, self.scale.value)

    def _update(self, *events) -> None:
        self._renew()
        self.model.explore(self.net)

    def _renew(self) -> None:
        """The network of the controls' values and the figures of its numbers."""
        self.net = self._net()
        self._show()

    # --- numbers: all the engine's -----------------------------------------------------------------
    def report(self) -> tuple:
        """:func:`layer_report` of the network on screen (read-only rows, shared: see
        :func:`shared_report`)."""
        return shared_report(self.net.depth, self.net.activation, self.net.scale.hex())

    def _show(self) -> None:
        rows = self.report()
        grads = [r["grad"] for r in rows]
        positive = [g for g in grads if g > 0] or [1.0]
        # a log axis has no 0: bars start a decade under the smallest
        floor = 10 ** math.floor(math.log10(min(positive)) - 1)
        self.chart.x_range.factors = [r["layer"] for r in rows]
        self.source.data = {"layer": [r["layer"] for r in rows],
                            "grad": [max(g, floor) for g in grads], "bottom": [floor] * len(rows)}
        t = self.words
        table = table_html(t["table_header"], [
            [r["layer"], number(r["grad"]), number(r["weight_grad"]),
             number(r["mean_derivative"]) if r["derivatives"] else "—"] for r in rows])
        first, last = rows[0]["grad"], rows[-2]["grad"] if len(rows) > 1 else rows[0]["grad"]
        ratio = first / last if last else 0.0
        self.numbers.object = table + f"<p>{t['ratio'].format(first=number(first), last=number(last), ratio=number(ratio), depth=self.net.depth)}</p>"
        self.bound.object = self._bound_html(rows)

    def _bound_html(self, rows: list[dict]) -> str:
        """The product of the layers' local derivatives beside the activation's bound."""
        t, act = self.words, self.net.activation
        hidden = [r for r in rows if r["derivatives"]]
        factors = [r["mean_derivative"] for r in hidden]
        product = math.prod(factors)
        bound = DERIVATIVE_BOUND[act]
        written = " × ".join(number(f, 3) for f in factors[:12])
        parts = [t["bound_rule"][act],
                 t["bound_product"].format(n=len(factors), factors=written, product=number(product),
                                           bound=number(bound), power=number(bound ** len(factors)))]
        return "".join(f"<p>{p}</p>" for p in parts)

    # --- page ------------------------------------------------------------------------------------------
    def page(self) -> LessonPage:
        t = self.words
        # no server behind the page: the figures at every depth, scale and activation; the
        # drawing cannot follow (a new network), and says so once the controls move
        stale = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bpx-hint"])
        if is_offline():
            built = (self.depth.value, self.scale.value, self.activation.value)
            words = t["static_drawing"].format(depth=built[0], scale=number(built[1]), act=built[2])

            def renew() -> None:
                self._renew()
                now = (self.depth.value, self.scale.value, self.activation.value)
                stale.object = "" if now == built else f"<p>{words}</p>"
            precompute([self.depth, self.scale, self.activation],
                       [self.source, self.chart.x_range, self.numbers, self.bound, stale], renew)
        controls = pn.Column(
            pn.pane.HTML(f"<h3 class='bpx-side-title'>{t['network']}</h3>"),
            self.depth, self.scale,
            pn.pane.HTML(f"<div class='bpx-hint'>{t['activation']}</div>"), self.activation,
            pn.pane.HTML(f"<div class='bpx-hint'>{t['presets']}</div>"),
            sizing_mode="stretch_width")
        main = [
            heading(t["heading"], subtitle=t["subtitle"]),
            prose(t["prose"], margin=(0, 10)),
            pn.Row(pn.Column(self.chart, sizing_mode="stretch_width", styles={"flex": "1 1 340px"}),
                   pn.Column(self.numbers, sizing_mode="stretch_width", styles={"flex": "1 1 300px"}),
                   sizing_mode="stretch_width", styles={"flex-wrap": "wrap", "column-gap": "16px"}),
            heading(t["bound_title"], level=3),
            pn.Column(self.bound, margin=(0, 10), sizing_mode="stretch_width"),
            heading(t["graph_title"], level=3),
            prose(t["graph_text"], margin=(0, 10)),
            *([stale] if is_offline() else []),
            self.view,
            heading(t["try_title"], level=3),
            prose(t["try"], margin=(0, 10)),
        ]
        return LessonPage(sidebar=[controls], main=main)


def build(args: dict, lang: str) -> LessonPage:
    return VanishingLesson(args, lang).page()
