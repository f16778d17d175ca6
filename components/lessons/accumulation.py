"""Gradients accumulate: += at a fan-out, .grad across backward() calls, micro-batches.

The article's squared error on two data points, live in backward mode, with the two
contributions that add up at ``w``; PyTorch's ``.grad`` buffers driven by two buttons
(:class:`graphviz_core.accumulation.GradBuffer`, fed the engine's gradients); and gradient
accumulation over micro-batches beside one big batch (:func:`graphviz_core.accumulation.
accumulate`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

import panel as pn

from graphviz_core.accumulation import GradBuffer, accumulate
from graphviz_core.rules import buffer_note
from graphviz_core.schedule import grad_ref
from graphviz_core import to_tape, trace
from graphviz_core.training import regression_data, regression_graph

from ..controls import PlaybackBar, VariableSliders
from ..graph_view import RUN_PLAYER, GraphView
from ..model import ExplorerModel
from ..stats import STATS_CLASS, stats_html, stats_template
from ..texts import attach, fill_text, if_active, is_offline, url_key
from ..words import lesson_text, ui
from . import LessonPage
from .common import (callout, choice_arg, float_arg, heading, leaf_node, names_arg, number,
                     prose, table_html, write_url_on)

SOURCE = "(w*x1 + b - y1)**2 + (w*x2 + b - y2)**2"
DEFAULTS = {"w": 2.0, "x1": 1.5, "b": 0.5, "y1": 1.0, "x2": -1.0, "y2": 0.5}
LIMIT = 3.0
MICRO_BATCHES = ("1", "2", "3", "6")  # the six points split evenly
PARAMETERS = ("w", "b")
BUFFER_CLASS = "bpx-grad-buffer"
# the micro-batch controls and table, found by the page's script (static/explorer/micro.mjs)
K_CLASS, DIVIDE_CLASS, MICRO_CLASS = "bpx-micro-k", "bpx-micro-divide", "bpx-micro-table"


@cache
def buffer_template(lang: str, leaves: tuple[int, ...]) -> Mapping:
    """The .grad table's template in ``lang``, the parameters' gradients read off the traced
    graph's nodes ``leaves`` (see :meth:`AccumulationLesson.buffer_template`): made once per
    language and graph, read-only after (its four notes are callout panes' HTML)."""
    t = lesson_text("accumulation", lang)
    rows = [[f"<i>{name}</i>", if_active(leaf, grad_ref(leaf), ui(lang)["not_computed"]),
             f"\u27e8B|{i}\u27e9"]
            for i, (name, leaf) in enumerate(zip(PARAMETERS, leaves))]
    return MappingProxyType({
        "template": table_html(t["buffer_header"], rows) + "\u27e8N\u27e9",
        "parameters": PARAMETERS, "none": t["none"], "some": "<b>{}</b>",
        "notes": MappingProxyType({"zero": callout(t["calls_zero"], "same").object,
                                   "one": callout(t["calls_one"], "same").object,
                                   "many": callout(t["calls"], "differ").object,
                                   "moved": callout(t["calls_moved"], "differ").object})})


class AccumulationLesson:
    """The page's state: the two-point loss, a .grad buffer, the micro-batch settings."""

    def __init__(self, args: dict, lang: str, sync_url: bool = True):
        self.lang = lang
        t = lesson_text("accumulation", lang)
        values = {n: float_arg(args, n, v, -LIMIT, LIMIT) for n, v in DEFAULTS.items()}
        self.model = ExplorerModel(expression=SOURCE, values=values, mode="backward",
                                   requires_grad={n: False for n in names_arg(args, "off", DEFAULTS)})
        self.view = GraphView(model=self.model, height=400, lang=lang)
        self.sliders = VariableSliders(model=self.model, view=self.view, lang=lang,
                                       pruned_in_page=True)
        self.sliders.within({n: (-LIMIT, LIMIT) for n in self.sliders.sliders})
        self.playback = PlaybackBar(model=self.model, view=self.view, lang=lang)
        self.stats = pn.pane.HTML("", css_classes=["bpx-stats-line"], sizing_mode="stretch_width")
        self.fan = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bpx-live"])
        # PyTorch's .grad of the parameters, and the values each backward() saw
        self.buffer = GradBuffer()
        self.seen: list[dict] = []
        self.backward_button = pn.widgets.Button(label=t["backward_button"], button_type="primary",
                                                 width=170)
        self.zero_button = pn.widgets.Button(label=t["zero_button"], width=190)
        self.backward_button.on_click(lambda e: self.backward())
        self.zero_button.on_click(lambda e: self.zero_grad())
        self.buffer_view = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=[BUFFER_CLASS])
        self.k = pn.widgets.RadioButtonGroup(name=t["k_label"], options=list(MICRO_BATCHES),
                                             value=choice_arg(args, "K", "3", MICRO_BATCHES),
                                             button_type="primary", button_style="outline",
                                             css_classes=[K_CLASS])
        self.divide = pn.widgets.Checkbox(name=t["divide"], value=args.get("divide", "1") != "0",
                                          css_classes=[DIVIDE_CLASS])
        self.accum_view = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=[MICRO_CLASS])
        self.xs, self.ys = regression_data()
        self.model.param.watch(self._update, ["graph"])
        self.k.param.watch(self._update_accumulation, "value")
        self.divide.param.watch(self._update_accumulation, "value")
        self._update()
        if sync_url:
            write_url_on(self.url_state, (self.model, ["values", "requires_grad"]), (self.k, "value"),
                         (self.divide, "value"))

    def url_state(self) -> dict:
        off = [n for n in self.model.values if not self.model.requires_grad.get(n, True)]
        return {**{k: number(v, 12) for k, v in self.model.values.items()},
                **({"off": ",".join(off)} if off else {}),
                "K": self.k.value, "divide": "1" if self.divide.value else "0"}

    # --- numbers: all the engine's ------------------------------------------------------------------
    def gradients(self) -> dict[str, float | None]:
        """∂L/∂w and ∂L/∂b of the loss on the sliders' values (the traced graph's; None
        where a requires_grad switch is off: not computed)."""
        g = self.model.graph
        return {g.nodes[n]["name"]: g.nodes[n]["grad"] if g.nodes[n]["active"] else None
                for n in g if not g.nodes[n]["op"] and g.nodes[n]["name"] in PARAMETERS}

    def backward(self) -> None:
        """``loss.backward()``: add the current gradients into the .grad buffer."""
        self.buffer.backward(self.gradients())
        self.seen.append(self.state())
        self._update_buffer()

    def state(self) -> dict:
        """What a backward() call saw: the values, and whether each parameter's gradient was
        computed (its requires_grad switch; static/explorer/buffer.mjs keeps the same)."""
        g = self.model.graph
        return {**self.model.values,
                **{f"requires_grad {name}": bool(g.nodes[leaf_node(g, name)]["active"])
                   for name in PARAMETERS}}

    def zero_grad(self) -> None:
        """``optimizer.zero_grad()``: clear the buffer (to None, as PyTorch does)."""
        self.buffer.zero_grad()
        self.seen = []
        self._update_buffer()

    def micro_batches(self) -> dict:
        v = self.model.values
        return accumulate([v["w"], v["b"]], self.xs, self.ys, int(self.k.value),
                          average=self.divide.value)

    # --- views ----------------------------------------------------------------------------------------
    def fan_html(self) -> str:
        return fill_text(self.fan_template(), self.model.graph, self.lang)

    def fan_template(self) -> str:
        """The terms of ∂L/∂w, the graph's numbers as placeholders (components/texts.py)."""
        t = lesson_text("accumulation", self.lang)
        g = self.model.graph
        w = leaf_node(g, "w")
        # no sg in the loss: every path from w carries its term while w is switched on
        terms = sorted((v, key) for _, v, key in g.out_edges(w, keys=True))
        rows = [[f"{lesson_text('figures', self.lang)['via']} {html.escape(g.nodes[v]['text'])}",
                 f"{grad_ref(v)} × \u27e8pl|{v}|{key}\u27e9 = <b>\u27e8k|{v}|{key}\u27e9</b>"]
                for v, key in terms]
        written = " + ".join(f"\u27e8pk|{v}|{key}\u27e9" for v, key in terms)
        return (f"<div class='bpx-live-title'>{t['fan_title']}</div>"
                + if_active(w, table_html([t["path"], t["contribution"]], rows)
                            + f"<div class='bpx-equation'>"
                              f"{t['sum'].format(terms=written, total=grad_ref(w))}</div>",
                            f"<div class='bpx-hint'>{ui(self.lang)['not_computed']}</div>"))

    def buffer_template(self) -> dict:
        """The .grad table as a template (components/texts.py): the gradients now are the
        graph's placeholders, ``⟨B|i⟩`` the buffer of parameter i (``none``, or ``some`` with
        its number), ``⟨N⟩`` the note (one of ``notes``, chosen by
        :func:`graphviz_core.rules.buffer_note`; ``{n}`` the calls)."""
        g = self.model.graph
        return buffer_template(self.lang, tuple(leaf_node(g, name) for name in PARAMETERS))

    def _update_buffer(self) -> None:
        d = self.buffer_template()
        grad, n, now = self.buffer.grad, self.buffer.calls, self.state()
        cells = [d["none"] if grad.get(name) is None else d["some"].format(number(grad[name]))
                 for name in PARAMETERS]
        # the page's rule too (rules.py): the same choice in static/explorer/buffer.mjs
        note = d["notes"][buffer_note(n, self.seen, now, list(now))]
        text = re.sub("\u27e8B\\|(\\d+)\u27e9", lambda m: cells[int(m.group(1))], d["template"])
        self.buffer_view.object = fill_text(text.replace("\u27e8N\u27e9", note.replace("{n}", str(n))),
                                            self.model.graph, self.lang)

    def _update_accumulation(self, *events) -> None:
        t = lesson_text("accumulation", self.lang)
        r = self.micro_batches()
        rows = []
        for j, row in enumerate(r["rows"], 1):
            points = self.points_cell(row["points"])
            rows.append([str(j), points, number(row["loss"]), number(row["grad"][0]),
                         number(row["grad"][1]),
                         f"({number(row['running'][0])}, {number(row['running'][1])})"])
        rows.append([f"<b>{t['big_row']}</b>", "", number(r["big_loss"]), number(r["big"][0]),
                     number(r["big"][1]), ""])
        K = int(self.k.value)
        if self.divide.value or K == 1:
            note = callout(t["accum_equal"].format(d=number(r["difference"], 3)), "same").object
        else:
            note = callout(t["accum_times"].format(K=K), "differ").object
        self.accum_view.object = table_html(t["accum_header"], rows) + note

    def points_cell(self, points) -> str:
        """The micro-batch table's cell listing the data points ``points`` (indices)."""
        return ", ".join(f"({number(self.xs[i])}, {number(self.ys[i])})" for i in points)

    def micro_config(self) -> dict:
        """For a page with no server behind it: what ``static/explorer/micro.mjs`` needs to
        write the micro-batch table as :meth:`_update_accumulation` does - per K, each
        micro-batch's points (as :func:`accumulate` splits them) and the tape of its loss
        (:func:`regression_graph`, a constant k to pin: 1/K or 1), the big batch's tape, the
        table with one row of marks (one per cell) and the note's words."""
        t = lesson_text("accumulation", self.lang)
        v = self.model.values
        split = {K: [row["points"] for row in accumulate([v["w"], v["b"]], self.xs, self.ys,
                                                           int(K))["rows"]]
                 for K in MICRO_BATCHES}

        def tape(points) -> dict:
            loss, _, _ = regression_graph((0.0, 0.0), self.xs[points], self.ys[points], k=0.5)
            return to_tape(trace(loss))

        return {"tapes": {K: [tape(p) for p in rows] for K, rows in split.items()},
                "points": {K: [self.points_cell(p) for p in rows] for K, rows in split.items()},
                "big": tape(list(range(len(self.xs)))), "big_row": t["big_row"],
                "table": table_html(t["accum_header"], [["\u27ea"] * len(t["accum_header"])]),
                "equal": callout(t["accum_equal"], "same").object,
                "times": callout(t["accum_times"], "differ").object,
                "k": K_CLASS, "divide": DIVIDE_CLASS, "css": MICRO_CLASS}

    def _update(self, *events) -> None:
        self.stats.object = stats_html(self.model, self.lang)
        self.fan.object = self.fan_html()
        self._update_buffer()
        self._update_accumulation()

    # --- page -------------------------------------------------------------------------------------------
    def page(self) -> LessonPage:
        t, lang = lesson_text("accumulation", self.lang), self.lang
        if is_offline():  # no server behind the page: ∂L/∂w's terms written in the page
            # and .grad across backward() calls (static/explorer/buffer.mjs)
            # and the micro-batch table (static/explorer/micro.mjs), at K's and the
            # division's every change too
            attach(self.view, panes=[("bpx-live", self.fan_template()),
                                     (STATS_CLASS, stats_template(self.model, lang))],
                   buffer={**self.buffer_template(), "parameters": list(PARAMETERS),
                           "notes": dict(self.buffer_template()["notes"]), "css": BUFFER_CLASS},
                   micro=self.micro_config())
            for widget in (self.k, self.divide):
                widget.jscallback(args={"player": self.view.player},
                                  value="player.execute(cb_obj, {action: 'redraw'})")
            for button, data in ((self.backward_button, {}), (self.zero_button, {"zero": True})):
                button.js_on_click(args=self.view.player_args("grad-buffer", **data), code=RUN_PLAYER)
        url_key("K", self.k)
        url_key("divide", self.divide)
        figure_column = pn.Column(self.view, self.stats, sizing_mode="stretch_width")
        aside = pn.Column(prose(t["prose"]), self.fan, width=360, css_classes=["bpx-aside"])
        main = [
            heading(t["heading"], subtitle=t["subtitle"]),
            callout(ui(lang)["play_cue"]), self.playback,
            pn.Row(figure_column, aside, sizing_mode="stretch_width"),
            heading(t["twice"], level=3),
            prose(t["twice_text"], margin=(0, 10)),
            pn.Row(self.backward_button, self.zero_button),
            pn.Column(self.buffer_view, margin=(0, 10), sizing_mode="stretch_width"),
            heading(t["accum"], level=3),
            prose(t["accum_text"], margin=(0, 10)),
            pn.Row(pn.pane.HTML(f"<div class='bpx-hint'>{t['k_label']}</div>"), self.k,
                   self.divide),
            pn.Column(self.accum_view, margin=(0, 10), sizing_mode="stretch_width"),
            prose([t["pytorch"], f"<pre class='bpx-code'>{html.escape(t['code'])}</pre>"],
                  margin=(0, 10)),
        ]
        return LessonPage(sidebar=[self.sliders.panel()], main=main)


def build(args: dict, lang: str) -> LessonPage:
    return AccumulationLesson(args, lang).page()
