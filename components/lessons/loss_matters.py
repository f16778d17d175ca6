"""When does the loss value matter? Monitoring, schedulers, early stopping, precision.

Two equivalent losses, L and L + C (same gradient everywhere): their monitoring
curves, a plateau scheduler and an early-stopping rule reacting to each, and the
squared-error loss evaluated in float16, float32 and float64 beside the exact answer.
"""

from __future__ import annotations

import json

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, CustomJS

from graphviz_core import to_tape, trace

from graphviz_core.examples import SEED
from graphviz_core.training import (PlateauScheduler, gradient_descent, logged_drop,
                                    precision_table, regression_data, regression_graph,
                                    regression_loss)

from .. import later
from ..bundle import entry_code
from ..states import precompute
from ..texts import is_offline, url_key
from ..words import article_heading, lesson_text, ui
from . import LessonPage
from .common import (PALETTE, callout, float_arg, heading, number, plot, prose,
                     stop_phrase, style_legend, table_html, watch_all, write_url_on)

STEPS = 60
START = (-1.0, 2.0)
SMALL_STEP = 0.002  # a late-training step, for the precision table
LIMITS = {"C": (0.0, 2000.0), "lr": (0.01, 0.3), "patience": (0, 20), "rel": (1e-5, 0.01),
          "tau": (0.01, 2.0)}
# patience and threshold start at PyTorch's ReduceLROnPlateau defaults (factor 0.1 too)
DEFAULTS = {"C": 1000.0, "lr": 0.05, "patience": 10, "rel": 1e-4, "tau": 0.1}
FACTOR = 0.1

class LossMattersLesson:
    def __init__(self, args: dict, lang: str, sync_url: bool = True):
        self.lang = lang
        t = lesson_text("loss-matters", lang)
        v = {k: float_arg(args, k, d, *LIMITS[k]) for k, d in DEFAULTS.items()}
        self.C = pn.widgets.FloatSlider(label=t["w_C"], start=0, end=2000, step=10, value=v["C"],
                                        sizing_mode="stretch_width")
        self.lr = pn.widgets.FloatSlider(label=t["w_lr"], start=0.01, end=0.3, step=0.01,
                                         value=v["lr"], sizing_mode="stretch_width")
        self.patience = pn.widgets.IntSlider(label=t["w_pat"], start=0, end=20,
                                             value=int(v["patience"]), sizing_mode="stretch_width")
        self.rel = pn.widgets.FloatSlider(label=t["w_rel"], start=1e-5, end=0.01, step=1e-5,
                                          value=v["rel"], format="0.[00000]",
                                          sizing_mode="stretch_width")
        self.tau = pn.widgets.FloatSlider(label=t["w_tau"], start=0.01, end=2.0, step=0.01,
                                          value=v["tau"], sizing_mode="stretch_width")
        self.widgets = {"C": self.C, "lr": self.lr, "patience": self.patience, "rel": self.rel,
                        "tau": self.tau}
        self.xs, self.ys = regression_data()
        # named, for the page's runs (static/explorer/matters.mjs) and tests to find
        self.src = {k: ColumnDataSource({"step": [], "y": []}, name=f"bpx-matters-{k}") for k in
                    ("mon_L", "mon_LC", "lr_L", "lr_LC", "fit_L", "fit_LC")}
        # the schedule's two figures are below the fold: made when first on screen (page())
        self.figures = self._figures(("mon",))
        self.sched_note = pn.pane.HTML("", sizing_mode="stretch_width")
        self.stop_note = pn.pane.HTML("", sizing_mode="stretch_width")
        self.prec_text = pn.pane.HTML("", sizing_mode="stretch_width")
        self.prec_table = pn.pane.HTML("", sizing_mode="stretch_width")
        self.sched_text = pn.pane.HTML("", sizing_mode="stretch_width")
        controls = [(w, "value_throttled") for w in self.widgets.values()]
        watch_all(self._update, *controls)
        self._update()
        if sync_url:
            write_url_on(self.url_state, *controls)

    def url_state(self) -> dict:
        return {k: number(w.value, 6) for k, w in self.widgets.items()}

    # --- numbers -------------------------------------------------------------------------------------
    def runs(self, scheduled: bool) -> dict:
        """Descent on L and on L + C, with a fresh plateau scheduler each when ``scheduled``."""
        C = self.C.value
        out = {}
        for key, shift in (("L", 0.0), ("LC", C)):
            scheduler = (PlateauScheduler(FACTOR, self.patience.value, self.rel.value)
                         if scheduled else None)
            run = gradient_descent(lambda p, s=shift: regression_loss(p, self.xs, self.ys, C=s),
                                   START, self.lr.value, STEPS, scheduler=scheduler)
            out[key] = (run, scheduler)
        return out

    def precision(self) -> list[dict]:
        rows = precision_table(SEED.values, self.C.value)
        for r in rows:
            r.update(logged_drop(SEED.values, self.C.value, SMALL_STEP, r["dtype"]))
        return rows

    # --- views -----------------------------------------------------------------------------------------
    def _figures(self, names) -> dict:
        """The figures ``names`` (of ``mon``, ``lr``, ``fit``), drawing their sources."""
        t = lesson_text("loss-matters", self.lang)
        made = {"mon": lambda: plot(t["mon_title"], t["step"], t["loss"], height=280,
                                    y_axis_type="log"),
                "lr": lambda: plot(t["lr_title"], t["step"], t["lr"], height=260),
                "fit": lambda: plot(t["fit_title"], t["step"], "L", height=260, y_axis_type="log")}
        figs = {name: made[name]() for name in names}
        for name, fig in figs.items():
            for key, color, dash, label in (("L", PALETTE["a"], "solid", t["run_L"]),
                                            ("LC", PALETTE["b"], "dashed", t["run_LC"])):
                src = self.src[f"{name}_{key}"]
                if name == "mon":
                    label = t["curve_L"] if key == "L" else t["curve_LC"]
                if name == "lr":
                    fig.step("step", "y", source=src, line_width=3, line_color=color,
                             line_dash=dash, legend_label=label, mode="after")
                else:
                    fig.line("step", "y", source=src, line_width=3, line_color=color,
                             line_dash=dash, legend_label=label)
            style_legend(fig, "top_right" if name != "mon" else "center_right")
        return figs

    def _update(self, *events) -> None:
        t = lesson_text("loss-matters", self.lang)
        C = self.C.value
        plain = self.runs(scheduled=False)
        steps = np.arange(STEPS + 1)
        self.src["mon_L"].data = {"step": steps, "y": plain["L"][0].losses}
        self.src["mon_LC"].data = {"step": steps, "y": plain["LC"][0].losses}
        sched = self.runs(scheduled=True)
        fits = {}
        for key, (run, scheduler) in sched.items():
            self.src[f"lr_{key}"].data = {"step": np.arange(len(run.lrs)), "y": run.lrs}
            fit = run.losses - (C if key == "LC" else 0.0)
            fits[key] = fit
            self.src[f"fit_{key}"].data = {"step": np.arange(len(fit)), "y": np.maximum(fit, 1e-12)}

        def cuts(s):
            if not s.reductions:
                return t["cut_never"]
            steps = ", ".join(str(c) for c in s.reductions[:6])
            return t["cut_at"].format(steps=steps + (" …" if len(s.reductions) > 6 else ""))
        bar = sched["LC"][1].best * self.rel.value
        self.sched_text.object = prose([t["sched_text"].format(
            rel=number(self.rel.value, 3), patience=self.patience.value,
            bar=number(bar, 3))]).object
        self.sched_note.object = callout(t["sched_note"].format(
            a=cuts(sched["L"][1]), b=cuts(sched["LC"][1]), n=STEPS, fa=number(fits["L"][-1]),
            fb=number(fits["LC"][-1])), "differ").object
        tau = self.tau.value
        a, a_text = stop_phrase(plain["L"][0].losses, tau, self.lang)
        b, b_text = stop_phrase(plain["LC"][0].losses, tau, self.lang, C=C)
        self.stop_note.object = callout(t["stop_text"].format(tau=number(tau), a=a_text, b=b_text),
                                        "differ" if a != b else "same").object
        self._show_precision()

    def _show_precision(self) -> None:
        """The precision table and its text: L + C in float16/32/64 (C alone decides them)."""
        t = lesson_text("loss-matters", self.lang)
        C = self.C.value
        rows = self.precision()
        v = SEED.values
        ulp = float(np.spacing(np.float16(C))) if C < 65504 else float("inf")
        self.prec_text.object = prose([p.format(w=number(v["w"]), x=number(v["x"]),
                                                b=number(v["b"]), y=number(v["y"]),
                                                exact=number(rows[0]["exact"]), C=number(C),
                                                ulp=number(ulp), eta=SMALL_STEP)
                                       for p in t["prec_text"]]).object
        body = []
        for r in rows:
            err = r["error"]
            err_cell = (f"<span class='bpx-no'>{number(err, 3)}</span>" if err else
                        "<span class='bpx-yes'>0</span>")
            same = r["grad"][0] == r["grad_shifted"][0]
            body.append([f"<b>{r['dtype']}</b>", number(r["LC"], 10), number(r["recovered"], 10),
                         err_cell,
                         f"{number(r['grad'][0], 8)} | {number(r['grad_shifted'][0], 8)}"
                         + (" <span class='bpx-yes'>=</span>" if same else " ≠"),
                         number(r["drop"], 6), number(r["drop_shifted"], 6)])
        self.prec_table.object = table_html(
            [t["dtype"], t["lc"], t["rec"], t["err"], t["gw"], t["drop"], t["drop_c"]], body)

    def _offline_runs(self) -> None:
        """For a page with no server behind it: the runs on L and L + C, plain and with the
        plateau scheduler, are replayed in the page (``static/explorer/matters.mjs``) from the
        tape of the loss :func:`regression_loss` differentiates (with a C leaf, 0 for L), at
        every move of a run setting or C, and drawn and written as :meth:`_update` does, from
        the same words (with their placeholders) wrapped as it wraps them."""
        t, lang = lesson_text("loss-matters", self.lang), self.lang
        loss, _, _ = regression_graph((0.0, 0.0), self.xs, self.ys, C=1.0)
        config = {"tape": to_tape(trace(loss)), "steps": STEPS, "start": list(START),
                  "factor": FACTOR, "stopping": dict(ui(lang)["stopping"]),
                  "words": {k: t[k] for k in ("cut_at", "cut_never")},
                  "html": {"sched_text": prose([t["sched_text"]]).object,
                           "sched_note": callout(t["sched_note"], "differ").object,
                           "stop": {kind: callout(t["stop_text"], kind).object
                                    for kind in ("same", "differ")}}}
        runner = CustomJS(code=entry_code("matters.mjs"), module=True, args={
            "config": ColumnDataSource({"json": [json.dumps(config)]}), **self.src})
        notes = {"sched_text": self.sched_text, "sched_note": self.sched_note,
                 "stop_note": self.stop_note}
        code = f"runner.execute(cb_obj, {{{', '.join([*self.widgets, *notes])}}})"
        for widget in self.widgets.values():
            widget.jscallback(args={"runner": runner, **self.widgets, **notes}, value=code)

    # --- page -----------------------------------------------------------------------------------------------
    def _schedule_figures(self) -> list:
        """The learning rate each run used, and the fit's loss, side by side."""
        self.figures.update(self._figures(("lr", "fit")))
        return [pn.Row(*(pn.pane.Bokeh(self.figures[k], sizing_mode="stretch_width")
                         for k in ("lr", "fit")), sizing_mode="stretch_width")]

    def page(self) -> LessonPage:
        if is_offline():  # no server behind the page: the precision table at every C
            precompute([self.C], [self.prec_text, self.prec_table], self._show_precision)
            self._offline_runs()  # and the runs, replayed in the page
        for key, widget in self.widgets.items():
            url_key(key, widget)
        t, lang = lesson_text("loss-matters", self.lang), self.lang
        main = [
            heading(article_heading("loss-matters", lang)),
            prose(t["intro"], margin=(0, 10)),
            heading(t["monitor"], level=3),
            pn.Row(pn.pane.Bokeh(self.figures["mon"], sizing_mode="stretch_width"),
                   pn.Column(prose([t["monitor_text"]]), width=360),
                   sizing_mode="stretch_width"),
            heading(t["sched"], level=3),
            pn.Column(self.sched_text, self.sched_note, margin=(0, 10),
                      sizing_mode="stretch_width"),
            later.column(self._schedule_figures),
            heading(t["stop"], level=3),
            pn.Column(self.stop_note, margin=(0, 10), sizing_mode="stretch_width"),
            heading(t["prec"], level=3),
            pn.Column(self.prec_text, self.prec_table, margin=(0, 10),
                      sizing_mode="stretch_width"),
            callout(t["summary"], "same"),
        ]
        sidebar = [pn.pane.HTML(f"<h3 class='bpx-side-title'>{ui(lang)['settings']}</h3>"),
                   *self.widgets.values()]
        return LessonPage(sidebar=sidebar, main=main)


def build(args: dict, lang: str) -> LessonPage:
    return LossMattersLesson(args, lang).page()
