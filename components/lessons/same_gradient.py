"""Same gradient, different graph: PPO-clip beside REINFORCE with a detached weight.

Two graphs side by side, driven by one set of sliders (lp, lpo, A, eps). The
REINFORCE graph's mask ``m`` (1 when PPO's gradient flows, 0 when clipping stops
it) is set from :func:`graphviz_core.ppo.ppo_case`, on the server and live
in the browser. The page fills the article's comparison table with live numbers.
"""

from __future__ import annotations

import panel as pn

from graphviz_core.engine import blocks_gradient
from graphviz_core.ppo import ppo_case

from .. import display
from ..graph_view import RUN_PLAYER, GraphView
from ..model import ExplorerModel
from ..release import variable_tags
from ..texts import attach, fill_text, is_offline, url_key
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
            url_key(name, slider)  # a static page's link holds them too
        self.case = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bpx-ppo-case"])
        # in a block of its own
        self.table = display.Text("", sizing_mode="stretch_width", css_classes=["bpx-ppo-table"])
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
    # the texts are templates over both graphs (components/texts.py): variant 0 is the
    # REINFORCE graph, variant 1 the PPO graph (on a page with no server, the PPO view's
    # numbers as it last drew them: the argument OTHER of the REINFORCE view's page script)
    OTHER = "bpx_ppo"
    VARIANTS = ({}, {"view": OTHER})

    def templates(self) -> tuple[str, str, list]:
        """The case callout and the comparison table with the numbers as placeholders, and
        the choices between their words."""
        t = lesson_text("same-gradient", self.lang)
        p, r = _nodes(self.ppo.graph), _nodes(self.rf.graph)
        v = lambda n, i=1, digits="": f"\u27e8v|{n}@{i}{digits}\u27e9"
        g = lambda n, i: f"\u27e8g|{n}@{i}~6\u27e9"
        words = {"rho": v(p["rho"]), "lo": v(p["lo"]), "hi": v(p["hi"]), "A": v(p["A"])}
        said = {key: callout(t[key].format(**words), kind).object
                for key, kind in (("clipped_hi", "clipped"), ("clipped_lo", "clipped"),
                                  ("inside", "same"), ("outside", "same"))}
        below = lambda a, b, k: f"\u27e8s|v{a}@1<v{b}@1|{k}\u27e9"
        # ppo_case: clipped when clip(ρ)·A < ρ·A; then by which side of [1-ε, 1+ε] ρ is on
        choices = [(below(p["hi"], p["rho"], 1), below(p["rho"], p["lo"], 2)),
                   (said["clipped_hi"], said["clipped_lo"]),
                   (said["outside"], below(p["hi"], p["rho"], 3)),
                   (said["outside"], said["inside"]),
                   (t["true"], t["false"])]
        case = below(p["clipA"], p["rhoA"], 0)
        rows = [
            [t["value"], f"−min(ρA, clip(ρ)A) = <b>{v(p['root'])}</b>",
             f"−w·A·lp = <b>{v(r['root'], 0)}</b>"],
            [t["path"], t["path_ppo"], t["path_rf"]],
            [t["inter"], f"ρ = {v(p['rho'])}, clip(ρ) = {v(p['clip'])}, min(·) = {v(p['min'])}",
             f"w = sg(ρ·m) = {v(r['w'], 0)} ({t['sg']}, m = {v(r['m'], 0)}), "
             f"ln π<sub>θ</sub> = lp = {v(r['lp'], 0)}"],
            [t["grad"], f"<b>{g(p['lp'], 1)}</b>", f"<b>{g(r['lp'], 0)}</b>"],
        ]
        equal = t["equal"].format(g=g(p["lp"], 1),
                                  eq=f"\u27e8s|g{p['lp']}@1=g{r['lp']}@0|4\u27e9")
        table = (table_html(["", "L<sub>PPO</sub>", "L<sub>RF</sub>"], rows,
                            caption=t["table_caption"], css="bpx-num-table bpx-seed-table")
                 + f"<div class='bpx-equation'>{equal}</div>")
        return case, table, choices

    def _update(self, *events) -> None:
        if self.rf.graph is None or self.ppo.graph is None:
            return
        case, table, choices = self.templates()
        variants = [(lambda n, g=m.graph: g.nodes[n]["value"], lambda n, g=m.graph: g.nodes[n]["grad"])
                    for m in (self.rf, self.ppo)]
        self.case.object, self.table.object = (
            fill_text(text, self.rf.graph, self.lang, variants=variants, choices=choices)
            for text in (case, table))

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
        if is_offline():  # no server behind the page: both texts filled from the two replays
            case, table, choices = self.templates()
            attach(self.rf_view, panes=[(css, text, list(self.VARIANTS), choices) for css, text
                                        in (("bpx-ppo-case", case), ("bpx-ppo-table", table))],
                   models={self.OTHER: self.ppo_view.meta})
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


def _nodes(g) -> dict[str, int]:
    """The nodes the texts read, by role: the leaves by name, the root; in the PPO graph ρ
    (the exp beside A), clip(ρ) and its bounds 1 - ε and 1 + ε, both terms of min and min;
    in the REINFORCE graph w = sg(ρ·m)."""
    nodes = {d["name"]: n for n, d in g.nodes(data=True) if not d["op"]}
    nodes["root"] = g.graph["root"]
    for n, d in g.nodes(data=True):
        parents = {slot: u for u, _, slot in g.in_edges(n, keys=True)}
        if d["op"] == "clip":
            nodes.update(clip=n, lo=parents[1], hi=parents[2])
        elif d["op"] == "min":
            nodes.update(min=n, rhoA=parents[0], clipA=parents[1])
            nodes["rho"] = next(u for u, _, slot in g.in_edges(parents[0], keys=True) if slot == 0)
        elif blocks_gradient(d["op"]):  # the detached weight
            nodes["w"] = n
    return nodes


def build(args: dict, lang: str) -> LessonPage:
    return SameGradientLesson(args, lang).page()
