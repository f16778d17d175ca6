"""Take a step: θ ← θ − η·∂L/∂θ on the explorer's parameters, with the loss after each step.

The step moves the parameters only (leaves drawn as parameters that require a gradient),
never the data; the gradients are the traced graph's, the new loss the next derivation's. A
page with no server behind it (the static site) takes the same step in the page, from its
tape replay (:meth:`StepPanel.offline`).
"""

from __future__ import annotations

import panel as pn
from bokeh.models import ColumnDataSource, Line, Scatter
from bokeh.plotting import figure

from graphviz_core import format_number
from graphviz_core.rules import descent_note, descent_step, same_number, stays

from .lessons.common import PALETTE
from .model import SLIDER_SPAN
from .rows import wrapping_row
from .views import ModelView
from .words import ui

# a choice of η, not a slider: on the explorer every slider is a variable (by its title)
RATES = ("0.01", "0.05", "0.1", "0.3", "1")
# the words under the step button (graphviz_core.rules.descent_note chooses)
DESCENT_NOTES = ("descent_no_parameters", "descent_hint", "descent_overflow", "descent_explodes",
                 "descent_loss")


class StepPanel(ModelView):
    """A choice of learning rate, a step button, a reset, and the loss history as a small plot."""

    def __init__(self, **params):
        super().__init__(**params)
        w = self.words
        self.lr = pn.widgets.RadioButtonGroup(name=w["descent_lr"], options=list(RATES),
                                              value="0.05", button_type="primary",
                                              button_style="outline")
        self.step_button = pn.widgets.Button(name=w["descent_button"], button_type="primary",
                                             width=220)
        self.reset_button = pn.widgets.Button(name=w["descent_reset"], width=170, disabled=True)
        self.step_button.on_click(lambda e: self.step())
        self.reset_button.on_click(lambda e: self.reset())
        self.note = pn.pane.HTML("", sizing_mode="stretch_width")
        self.history: list[float] = []
        self.start: dict | None = None
        # a derivation may land later (budget.Deriver defers it under load or for a big
        # graph): a step is taken from the graph of the values it starts at, and its loss
        # is read off the graph of the values it moved to, so quick clicks wait their turn
        self._queued = 0  # steps clicked and not yet taken
        self._awaiting = False  # a step was taken; its loss comes with the next graph
        self._stepping = False
        self.model.param.watch(self._on_graph, "graph")
        self.source = ColumnDataSource({"step": [], "loss": []})
        # no tools: with its toolbar hidden, a drag (a finger scrolling the page on a phone)
        # would pan the chart away with no reset button to bring it back
        fig = figure(height=170, width=320, toolbar_location=None, tools="",
                     title=w["descent_history"], x_axis_label=w["descent_axis"], y_axis_label="L")
        # renderers of their own: no selection or mute copies of the glyphs (never shown here)
        fig.add_glyph(self.source, Line(x="step", y="loss", line_width=2.5,
                                        line_color=PALETTE["a"]))
        fig.add_glyph(self.source, Scatter(x="step", y="loss", size=6, fill_color=PALETTE["a"],
                                           line_color=PALETTE["a"]))
        fig.title.text_font_size = "13px"
        self.plot = pn.pane.Bokeh(fig)
        self._show()

    @property
    def eta(self) -> float:
        """The learning rate chosen."""
        return float(self.lr.value)

    def parameters(self) -> list[str]:
        """The variables a step moves: parameters whose gradient the backward pass computes."""
        g = self.model.graph
        return [d["name"] for _, d in g.nodes(data=True)
                if not d["op"] and d["kind"] == "parameter" and d["active"]]

    def loss(self) -> float:
        g = self.model.graph
        return g.nodes[g.graph["root"]]["value"]

    def step(self) -> None:
        """θ ← θ − η·∂L/∂θ for every parameter, from the traced graph's gradients at θ."""
        self._queued += 1
        self._advance()

    def reset(self) -> None:
        """Back to the values before the first step; the history starts over."""
        self._queued, self._awaiting = 0, False
        if self.start is not None:
            self.model.set_values(self.start)
        self.start, self.history = None, []
        self._show()

    def _shows_current_values(self) -> bool:
        """Whether the graph shown was derived from the model's values (not an earlier set)."""
        g, values = self.model.graph, self.model.values
        return g is not None and all(
            same_number(d["value"], values[d["name"]]) for _, d in g.nodes(data=True)
            if not d["op"] and d["name"] in values)

    def _advance(self) -> None:
        """Take the clicked steps the graph shown allows: each needs the graph of its start."""
        while self._queued and not self._awaiting and self._shows_current_values():
            self._queued -= 1
            g = self.model.graph
            if self.start is None:
                self.start = dict(self.model.values)
                self.history = [self.loss()]
            grads = {g.nodes[n]["name"]: g.nodes[n]["grad"] for n in g if not g.nodes[n]["op"]}
            eta, values = self.eta, self.model.values
            moved = {name: descent_step(values[name], eta, grads[name])
                     for name in self.parameters()}
            if stays(values, moved, list(moved)):  # the page's rule too (rules.py)
                self.history.append(self.loss())  # a zero gradient: nothing moves
                continue
            self._awaiting, self._stepping = True, True
            try:
                self.model.set_values(moved)
            finally:
                self._stepping = False
        self._show()

    def _on_graph(self, _event=None) -> None:
        if self._awaiting and self._shows_current_values():
            self._awaiting = False
            self.history.append(self.loss())
            if not self._stepping:  # a derivation that landed later: go on from here
                self._advance()

    def offline(self, view) -> None:
        """For a page with no server behind it: the buttons step and reset in the page, from
        its replay's gradients (``static/explorer/descent.mjs``, these words and figures)."""
        w = self.words
        data = {"action": "descend", "rates": list(RATES), "parameters": self.parameters(),
                "span": SLIDER_SPAN,
                "words": {key: w[key] for key in DESCENT_NOTES}}
        args = {"player": view.player, "lr": self.lr, "source": self.source, "note": self.note,
                "reset_button": self.reset_button}
        code = "player.execute(cb_obj, {...data, lr, source, note, reset_button})"
        self.step_button.js_on_click(args={**args, "data": data}, code=code)
        self.reset_button.js_on_click(args={**args, "data": {**data, "reset": True}}, code=code)

    def _show(self) -> None:
        w = ui(self.lang)
        self.source.data = {"step": list(range(len(self.history))), "loss": self.history}
        self.reset_button.disabled = self.start is None
        h = self.history
        key = descent_note(len(self.parameters()), h)  # the page's rule too (rules.py)
        text = w[key].format(lr=format_number(self.eta), n=len(h) - 1,
                             first=format_number(h[0]) if h else "",
                             last=format_number(h[-1]) if h else "")
        self.note.object = f"<div class='bpx-hint'>{text}</div>"

    def __panel__(self):
        w = ui(self.lang)
        return pn.Column(
            pn.pane.HTML(f"<h3 class='bpx-lesson-h3'>{w['descent_title']}</h3>"),
            wrapping_row(pn.Column(pn.pane.HTML(f"<div class='bpx-hint'>{w['descent_lr']}</div>"),
                                   self.lr, self.step_button, self.reset_button, self.note,
                                   width=340), self.plot),
            sizing_mode="stretch_width")
