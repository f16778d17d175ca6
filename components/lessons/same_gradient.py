"""Same gradient, different graph: PPO-clip beside REINFORCE with a detached weight.

Two graphs side by side, driven by one set of sliders (lp, lpo, A, eps). The
REINFORCE graph's mask ``m`` (1 when PPO's gradient flows, 0 when clipping stops
it) is set from :func:`graphviz_core.ppo.ppo_case`, on the server and live
in the browser. The page fills the article's comparison table with live numbers.
"""

from __future__ import annotations

import math

import panel as pn

from graphviz_core.ppo import ppo_case

from .. import display
from ..graph_view import RUN_PLAYER, GraphView
from ..model import ExplorerModel
from ..release import variable_tags
from ..words import article_heading, lesson_text, ui
from . import LessonPage
from .common import callout, float_arg, heading, number, prose, table_html, write_url_on

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
ppo.execute(cb_obj, {action: 'slider', name})
rf.execute(cb_obj, {action: 'slider', name})
rf.execute({value: clipped ? 0 : 1}, {action: 'slider', name: 'm'})
"""

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
        self.ppo_view = GraphView(model=self.ppo, height=440, lang=lang)
        self.rf_view = GraphView(model=self.rf, height=440, lang=lang)
        self.sliders = {n: pn.widgets.FloatSlider(label=n, start=RANGES[n][0], end=RANGES[n][1],
                                                  step=0.01, value=values[n], format="0[.]00",
                                                  tags=variable_tags(n), sizing_mode="stretch_width")
                        for n in DEFAULTS}
        for name, slider in self.sliders.items():
            slider.jscallback(args={"ppo": self.ppo_view.player, "rf": self.rf_view.player,
                                    **self.sliders, "name": name},
                              value=JS_CASE)
            slider.param.watch(self._on_slider, "value_throttled")
        self.case = pn.pane.HTML("", sizing_mode="stretch_width")
        self.table = display.Text("", sizing_mode="stretch_width")  # in a block of its own
        self.ppo.param.watch(self._update, ["graph"])
        self.rf.param.watch(self._update, ["graph"])
        self._update()
        if sync_url:
            write_url_on(self.url_state, (self.rf, ["values"]), (self.ppo, ["values"]))

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
        t = lesson_text("same-gradient", self.lang)
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
        t = lesson_text("same-gradient", self.lang)
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
        equal = t["equal"].format(g=number(g_ppo, 6), eq=t["true"] if g_ppo == g_rf else t["false"])
        return (table_html(["", "L<sub>PPO</sub>", "L<sub>RF</sub>"], rows,
                           caption=t["table_caption"], css="bpx-num-table bpx-seed-table")
                + f"<div class='bpx-equation'>{equal}</div>")

    def _update(self, *events) -> None:
        if self.rf.graph is None or self.ppo.graph is None:
            return
        self.case.object = self.case_html()
        self.table.object = self.table_html()

    # --- page ---------------------------------------------------------------------------------------
    def _graph_column(self, title: str, view: GraphView):
        """A graph's title, its player's buttons (run in the browser) and the graph, as one
        layout of plain models (components/display.py)."""
        w = ui(self.lang)
        buttons = [display.button(label, view.player_args(action), RUN_PLAYER, color=kind,
                                  width=92, margin=(2, 3))
                   for label, action, kind in ((w["start"], "first", "light"),
                                               (w["back"], "back", "light"),
                                               (w["play"], "play", "success"),
                                               (w["step"], "step", "light"))]
        # side by side where there is room for both, one above the other on a narrow screen
        return display.column(
            display.html(f"<h3 class='bpx-lesson-h3'>{title}</h3>", margin=(0, 10)),
            display.row(*buttons, css_classes=["bpx-inline"]), view.layout(),
            sizing_mode="stretch_width", styles={"flex": "1 1 660px", "min-width": "min(660px, 100%)"})

    def page(self) -> LessonPage:
        t, lang = lesson_text("same-gradient", self.lang), self.lang
        main = [
            heading(article_heading("same-gradient", lang)),
            display.block(display.row(prose(t["intro"][:3], margin=(0, 10), model=True),
                                      prose(t["intro"][3:], margin=(0, 10), model=True),
                                      sizing_mode="stretch_width")),
            self.case,
            display.block(display.row(self._graph_column(t["ppo_title"], self.ppo_view),
                                      self._graph_column(t["rf_title"], self.rf_view),
                                      sizing_mode="stretch_width", styles={"flex-wrap": "wrap"})),
            display.block(display.column(self.table.model, margin=(0, 10),
                                         sizing_mode="stretch_width")),
        ]
        sidebar = [pn.pane.HTML(f"<h3 class='bpx-side-title'>{ui(lang)['inputs']}</h3>"),
                   *self.sliders.values()]
        return LessonPage(sidebar=sidebar, main=main)


def build(args: dict, lang: str) -> LessonPage:
    return SameGradientLesson(args, lang).page()
