"""Does the gradient depend on L's value? Sliders for a constant C and a scale k.

The squared-error loss of the article's example drawn as ``k*(w*x + b - y)**2 + C`` in backward mode, a table of
the gradients of L, L + C and k*L, then gradient descent on L and on L + C from
the same start: the two paths drawn on top of each other (checked bit for bit),
the two loss curves side by side, and an early-stopping threshold that reacts
to the shift.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, Span
from bokeh.palettes import Blues9

from graphviz_core import to_tape, trace
from graphviz_core.examples import EXAMPLES, shifted_and_scaled
from graphviz_core.schedule import value_ref
from graphviz_core.training import (Trajectory, gradient_descent, regression_data,
                                   regression_graph, regression_loss)

from .. import display, later
from ..controls import VariableSliders
from ..graph_view import GraphView
from ..model import ExplorerModel
from ..texts import attach, fill_text, is_offline, url_key
from ..words import article_heading, lesson_text, ui
from . import LessonPage
from .common import (PALETTE, callout, float_arg, heading, number,
                     plot, prose, stop_phrase, style_legend, table_html, watch_all, write_url_on)

EXAMPLE = EXAMPLES["loss-value"]
STEPS = 60
LR_CLASS, TAU_CLASS = "bpx-descent-lr", "bpx-descent-tau"  # found by the page's runs.mjs
RANGES = {"w": (-3, 3), "x": (-3, 3), "b": (-3, 3), "y": (-3, 3), "k": (0.1, 5), "C": (-50, 50)}

@lru_cache(maxsize=256)
def descent_run(w: str, b: str, lr: str, C: str) -> Trajectory:
    """Gradient descent on L + C from (w, b) at rate lr (each number as ``float.hex``: -0.0 is
    not 0.0). The same for every session that asks - a class opens the same link - so it is
    computed once per process; its arrays are read-only."""
    xs, ys = regression_data()
    c = float.fromhex(C)
    run = gradient_descent(lambda p: regression_loss(p, xs, ys, C=c),
                           [float.fromhex(w), float.fromhex(b)], float.fromhex(lr), STEPS)
    for array in (run.params, run.losses, run.grads, run.lrs):
        array.flags.writeable = False
    return run


class LossValueLesson:
    """The loss-value page's state: the graph's model, the descent runs and their views."""

    def __init__(self, args: dict, lang: str, sync_url: bool = True):
        self.lang = lang
        t = lesson_text("loss-value", lang)
        values = {n: float_arg(args, n, v, *RANGES[n]) for n, v in EXAMPLE.values.items()}
        self.model = ExplorerModel(expression=EXAMPLE.source, values=values,
                                   kinds=dict(EXAMPLE.kinds), requires_grad=dict(EXAMPLE.requires_grad),
                                   mode="backward")
        self.view = GraphView(model=self.model, height=360, lang=lang)
        self.sliders = VariableSliders(model=self.model, view=self.view, lang=lang)
        self.sliders.within({n: RANGES[n] for n in self.sliders.sliders},
                            C={"step": 0.5})
        self.lr = pn.widgets.FloatSlider(label=t["lr"], start=0.01, end=0.5, step=0.01,
                                         value=float_arg(args, "lr", 0.05, 0.01, 0.5),
                                         sizing_mode="stretch_width", css_classes=[LR_CLASS])
        self.tau = pn.widgets.FloatSlider(label=t["threshold"], start=0.01, end=2.0, step=0.01,
                                          value=float_arg(args, "tau", 0.1, 0.01, 2.0),
                                          sizing_mode="stretch_width", css_classes=[TAU_CLASS])
        url_key("lr", self.lr)  # a static page's link holds them too
        url_key("tau", self.tau)
        # these only display: their models go into the page's blocks
        self.table = display.Text("", sizing_mode="stretch_width", css_classes=["bpx-loss-table"])
        self.equal_note = display.Text("", sizing_mode="stretch_width")
        self.stop_note = display.Text("", sizing_mode="stretch_width")
        self.xs, self.ys = regression_data()
        self.paths = {k: ColumnDataSource({"w": [], "b": []}) for k in ("L", "LC")}
        self.starts = ColumnDataSource({"w": [], "b": []})
        self.curves = {k: ColumnDataSource({"step": [], "loss": []}) for k in ("L", "LC")}
        self.stops = {k: ColumnDataSource({"step": [], "loss": []}) for k in ("L", "LC")}
        self.spans = {k: Span(location=0.1, dimension="width", line_color=PALETTE["d"],
                              line_dash="dashed", line_width=2) for k in ("L", "LC")}
        # the descent's figures are below the fold: made when first on screen (page())
        self.plane = self.curve_figs = None
        self.runs: dict = {}
        controls = ((self.model, ["values"]), (self.lr, "value_throttled"),
                    (self.tau, "value_throttled"))
        watch_all(self._update, *controls)
        self._update()
        if sync_url:
            write_url_on(self.url_state, *controls)

    def url_state(self) -> dict:
        return {**{k: number(v, 12) for k, v in self.model.values.items()},
                "lr": number(self.lr.value, 6), "tau": number(self.tau.value, 6)}

    # --- numbers ----------------------------------------------------------------------------------
    def gradients(self) -> dict[str, dict]:
        """Value and gradients of L, L + C and k*L at the sliders' values (by the engine)."""
        v = self.model.values
        base = {n: v[n] for n in ("w", "x", "b", "y")}
        return {"L": shifted_and_scaled(base), "L + C": shifted_and_scaled(base, C=v["C"]),
                "k·L": shifted_and_scaled(base, k=v["k"])}

    def descend(self) -> dict:
        """Gradient descent on L and on L + C from the sliders' (w, b)."""
        v = self.model.values
        numbers = [float(x).hex() for x in (v["w"], v["b"], self.lr.value)]
        return {key: descent_run(*numbers, float(C).hex()) for key, C in (("L", 0.0), ("LC", v["C"]))}

    # the table's rows are the page's own graph with C and k pinned (shifted_and_scaled)
    VARIANTS = ({"C": 0.0, "k": 1.0}, {"k": 1.0}, {"C": 0.0})

    def table_template(self) -> tuple[str, list]:
        """The table of L, L + C and k·L with the numbers as placeholders of the page's graph
        with C and k pinned (components/texts.py), and its yes/no words."""
        t = lesson_text("loss-value", self.lang)
        g = self.model.graph
        node = {d["name"]: n for n, d in g.nodes(data=True) if not d["op"]}
        root, w, b = g.graph["root"], node["w"], node["b"]
        rows, choices = [], []
        for i, name in enumerate(("L", "L + C", "k·L")):
            choices.append((f"<span class='bpx-yes'>{t['yes']}</span>",
                            f"<span class='bpx-no'>{t['no']}</span>"
                            + (f" {t['scaled']}" if name == "k·L" else "")))
            rows.append([f"<b>{name}</b>", f"\u27e8v|{root}@{i}\u27e9", f"\u27e8g|{w}@{i}~6\u27e9",
                         f"\u27e8g|{b}@{i}~6\u27e9", f"\u27e8q|{i}|{w},{b}|{i}\u27e9"])
        return table_html([t["loss"], t["value"], "∂/∂w", "∂/∂b", t["same"]], rows,
                          caption=t["table_title"].format(k=value_ref(node["k"]),
                                                          C=value_ref(node["C"]))), choices

    # --- views ----------------------------------------------------------------------------------------
    def _plane(self):
        t = lesson_text("loss-value", self.lang)
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
        t = lesson_text("loss-value", self.lang)
        color = PALETTE["a"] if key == "L" else PALETTE["b"]
        fig = plot(t["curve_" + key], t["step"], t["loss_axis"], height=280)
        fig.line("step", "loss", source=self.curves[key], line_width=3, line_color=color)
        fig.scatter("step", "loss", source=self.stops[key], size=14, marker="star",
                    fill_color=PALETTE["d"], line_color="#FFFFFF")
        fig.add_layout(self.spans[key])
        fig.y_range.range_padding = 0.12
        return fig

    def _update(self, *events) -> None:
        t = lesson_text("loss-value", self.lang)
        grads = self.gradients()
        names = {n: d["name"] for n, d in self.model.graph.nodes(data=True) if not d["op"]}
        variants = [(lambda n, g=g: g["value"] if n not in names else None,
                     lambda n, g=g: g["grads"][names[n]]) for g in grads.values()]
        template, choices = self.table_template()
        self.table.object = fill_text(template, self.model.graph, self.lang,
                                      variants=variants, choices=choices)
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
        stops, phrases = {}, {}
        for key, run in runs.items():
            self.paths[key].data = {"w": run.params[:, 0], "b": run.params[:, 1]}
            steps = np.arange(len(run.losses))
            self.curves[key].data = {"step": steps, "loss": run.losses}
            stop, phrases[key] = stop_phrase(run.losses, tau, self.lang,
                                             C=C if key == "LC" else 0.0)
            stops[key] = stop
            self.stops[key].data = ({"step": [stop], "loss": [run.losses[stop]]} if stop is not None
                                    else {"step": [], "loss": []})
            self.spans[key].location = tau
        self.stop_note.object = callout(t["stop"].format(tau=number(tau), a=phrases["L"],
                                                         b=phrases["LC"]),
                                        "differ" if stops["L"] != stops["LC"] else "same").object

    # --- page -------------------------------------------------------------------------------------------
    def _offline_runs(self) -> None:
        """For a page with no server behind it: the descent on L and L + C is replayed in the
        page from the tape of the loss :func:`regression_loss` differentiates (with a C leaf,
        0 for L), and drawn and written with these sources and words."""
        t = lesson_text("loss-value", self.lang)
        loss, _, _ = regression_graph((0.0, 0.0), self.xs, self.ys, C=1.0)
        config = {"tape": to_tape(trace(loss)), "steps": STEPS, "lr": LR_CLASS, "tau": TAU_CLASS,
                  "words": {"equal": t["equal"], "unequal": t["unequal"], "stop": t["stop"],
                            "stopping": dict(ui(self.lang)["stopping"])},
                  "callout": {kind: callout("\u27ea\u27eb", kind).object for kind in ("same", "differ")}}
        models = {"runs_equal": self.equal_note.model, "runs_stop": self.stop_note.model,
                  "runs_start": self.starts,
                  **{f"runs_{part}_{key}": source for part, sources in
                     (("path", self.paths), ("curve", self.curves), ("stop", self.stops),
                      ("span", self.spans)) for key, source in sources.items()}}
        attach(self.view, runs=config, models=models)
        for widget in (self.lr, self.tau):
            widget.jscallback(args={"player": self.view.player},
                              value="player.execute(cb_obj, {action: 'redraw'})")

    def _figures(self) -> list:
        """The descent's plane beside its notes, and the two loss curves."""
        t = lesson_text("loss-value", self.lang)
        self.plane = self._plane()
        self.curve_figs = {k: self._curve(k) for k in ("L", "LC")}
        display.styled(self.plane, *self.curve_figs.values())  # as a Bokeh pane each styled them
        return [display.block(display.row(
                    self.plane,
                    display.column(self.equal_note.model, self.stop_note.model,
                                   prose(t["plane_note"], model=True), sizing_mode="stretch_width"),
                    sizing_mode="stretch_width")),
                display.block(display.row(*self.curve_figs.values(), sizing_mode="stretch_width"))]

    def page(self) -> LessonPage:
        t, lang = lesson_text("loss-value", self.lang), self.lang
        if is_offline():  # no server behind the page: the table filled from the page's replay
            template, choices = self.table_template()
            attach(self.view, panes=[("bpx-loss-table", template, list(self.VARIANTS), choices)])
            # and the descent: its runs replayed in the page (static/explorer/runs.mjs)
            self._offline_runs()
        # the figures, notes and tables only display: a block per row of them
        main = [
            heading(article_heading("loss-value", lang)),
            display.block(display.row(
                prose(t["intro"], margin=(0, 10), model=True),
                display.column(self.table.model, width=440, css_classes=["bpx-aside"]),
                sizing_mode="stretch_width")),
            self.view,
            heading(article_heading("same-loss", lang), level=3),
            prose(t["descent_intro"], margin=(0, 10)),
            later.column(self._figures, sizing_mode="stretch_width"),
            heading(article_heading("why-decrease", lang), level=3),
            prose(t["why"], margin=(0, 10)),
        ]
        sidebar = [self.sliders.panel(switches=False),
                   pn.pane.HTML(f"<h3 class='bpx-side-title'>{ui(lang)['descent']}</h3>"),
                   self.lr, self.tau]
        return LessonPage(sidebar=sidebar, main=main)


def build(args: dict, lang: str) -> LessonPage:
    return LossValueLesson(args, lang).page()
