"""When does the loss value matter? Monitoring, schedulers, early stopping, precision.

Two equivalent losses, L and L + C (same gradient everywhere): their monitoring
curves, a plateau scheduler and an early-stopping rule reacting to each, and the
seed loss evaluated in float16, float32 and float64 beside the exact answer.
"""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource

from graphviz_core.examples import SEED
from graphviz_core.training import (PRECISIONS, PlateauScheduler, first_below, gradient_descent,
                                    logged_drop, precision_table, regression_data,
                                    regression_loss)

from . import LessonPage
from .common import (PALETTE, UrlWriter, callout, float_arg, heading, number, plot, prose,
                     style_legend, table_html)
from .text import HEADINGS, WORDS

STEPS = 60
START = (-1.0, 2.0)
SMALL_STEP = 0.002  # a late-training step, for the precision table
LIMITS = {"C": (0.0, 2000.0), "lr": (0.01, 0.3), "patience": (0, 6), "rel": (0.001, 0.05),
          "tau": (0.01, 2.0)}
DEFAULTS = {"C": 1000.0, "lr": 0.05, "patience": 2, "rel": 0.01, "tau": 0.1}

TEXT = {
    "en": {
        "intro": [
            "<i>L</i> and <i>L + C</i> have the same gradient everywhere, so plain gradient "
            "descent with a fixed learning rate cannot tell them apart. But anything that "
            "<b>reads the loss value</b> can. Below, both are trained from the same start "
            "(w, b) = (−1, 2) on the six points of the previous lesson.",
        ],
        "monitor": "1 · Monitoring",
        "monitor_text": ("The same run, logged two ways. On one axis the curves look nothing alike: "
                         "L + C hardly moves. Comparing curves across implementations that differ "
                         "by a constant is confusing."),
        "sched": "2 · Learning-rate scheduling (ReduceLROnPlateau)",
        "sched_text": ("The scheduler halves η when the loss has not improved by a relative "
                       "{rel}% for more than {patience} steps. A relative bar depends on the value: "
                       "for L + C, an improvement must exceed {rel}% of C."),
        "sched_note": ("η was cut at steps <b>{a}</b> for L and at <b>{b}</b> for L + C. "
                       "After {n} steps the fit L is <b>{fa}</b> for the L run and <b>{fb}</b> for "
                       "the L + C run: same gradients, different training."),
        "stop": "3 · Early stopping",
        "stop_text": ("Stop when the loss falls below τ = {tau}: the L run stops at step <b>{a}</b>; "
                      "the L + C run {b}. The threshold belongs to one formulation."),
        "never": "never stops (L + C ≥ C = {C})", "at": "stops at step <b>{b}</b>",
        "prec": "4 · Mixed precision",
        "prec_text": [
            "The seed's loss at w = {w}, x = {x}, b = {b}, y = {y} (exact value {exact}), "
            "computed in each precision, every operation rounded as in a mixed-precision run.",
            "The gradients through L and through L + C are the same numbers in every precision: the "
            "backward pass never touches C. The <b>values</b> are not: near C = {C}, float16 can "
            "only hold steps of {ulp}, so (L + C) − C loses L's detail, and a small late step of "
            "descent (η = {eta}) may show no progress at all in the logged L + C.",
        ],
        "dtype": "precision", "lc": "L + C", "rec": "(L + C) − C", "err": "error vs exact",
        "gw": "∂L/∂w via L | via L + C", "drop": "drop of L after one step",
        "drop_c": "drop seen in L + C",
        "curve_L": "L (the fit)", "curve_LC": "L + C", "lr_title": "Learning rate η per step",
        "fit_title": "The fit L during each run", "mon_title": "Logged loss (log scale)",
        "step": "step", "loss": "loss", "lr": "η",
        "run_L": "run on L", "run_LC": "run on L + C",
        "w_C": "Constant C", "w_lr": "Learning rate η", "w_pat": "Patience (steps)",
        "w_rel": "Relative threshold", "w_tau": "Early-stopping threshold τ",
        "settings": "Settings", "none": "none",
        "summary": ("For pure gradient descent with a fixed learning rate the loss value is "
                    "irrelevant. When you switch between equivalent formulations, re-check every "
                    "rule that reads the value: logs, schedulers, stopping rules, and precision."),
    },
    "zh": {
        "intro": [
            "<i>L</i> 和 <i>L + C</i> 处处梯度相同,所以固定学习率的普通梯度下降分不出它们。"
            "但任何<b>读取损失值</b>的东西都分得出。下面两者都从同一起点 (w, b) = (−1, 2) 出发,"
            "在上一课的六个数据点上训练。",
        ],
        "monitor": "1 · 监控",
        "monitor_text": ("同一次训练,用两种方式记录。放在同一坐标轴上,两条曲线看起来毫不相同:"
                         "L + C 几乎不动。比较只差一个常数的不同实现的曲线时,很容易被误导。"),
        "sched": "2 · 学习率调度(ReduceLROnPlateau)",
        "sched_text": ("当损失在超过 {patience} 步内没有相对改进 {rel}% 时,调度器把 η 减半。"
                       "相对阈值依赖于数值:对 L + C 而言,改进必须超过 C 的 {rel}%。"),
        "sched_note": ("对 L 的训练在第 <b>{a}</b> 步降低 η,对 L + C 在第 <b>{b}</b> 步。"
                       "{n} 步之后,L 训练的拟合误差 L 为 <b>{fa}</b>,L + C 训练的为 <b>{fb}</b>:"
                       "梯度相同,训练却不同。"),
        "stop": "3 · 提前停止",
        "stop_text": ("当损失低于 τ = {tau} 时停止:L 的训练在第 <b>{a}</b> 步停止;L + C 的训练{b}。"
                      "阈值只属于某一种写法。"),
        "never": "永远不会停止(L + C ≥ C = {C})", "at": "在第 <b>{b}</b> 步停止",
        "prec": "4 · 混合精度",
        "prec_text": [
            "种子损失在 w = {w}、x = {x}、b = {b}、y = {y} 处(精确值 {exact}),分别用各种精度计算,"
            "每一步运算都像混合精度训练那样舍入。",
            "经过 L 和经过 L + C 的梯度在每种精度下都是同样的数:反向传播从不碰 C。但<b>值</b>不同:"
            "在 C = {C} 附近,float16 只能表示间隔为 {ulp} 的数,所以 (L + C) − C 丢失了 L 的细节;"
            "训练后期的一小步(η = {eta})在记录的 L + C 中可能完全看不出进展。",
        ],
        "dtype": "精度", "lc": "L + C", "rec": "(L + C) − C", "err": "与精确值之差",
        "gw": "∂L/∂w 经 L | 经 L + C", "drop": "一步后 L 的下降",
        "drop_c": "L + C 中看到的下降",
        "curve_L": "L(拟合误差)", "curve_LC": "L + C", "lr_title": "每一步的学习率 η",
        "fit_title": "两次训练中的拟合误差 L", "mon_title": "记录的损失(对数坐标)",
        "step": "步数", "loss": "损失", "lr": "η",
        "run_L": "对 L 训练", "run_LC": "对 L + C 训练",
        "w_C": "常数 C", "w_lr": "学习率 η", "w_pat": "耐心(步数)",
        "w_rel": "相对阈值", "w_tau": "提前停止阈值 τ",
        "settings": "设置", "none": "无",
        "summary": ("对固定学习率的纯梯度下降来说,损失值无关紧要。在等价的写法之间切换时,"
                    "要重新检查每一个读取数值的规则:日志、调度器、停止规则和数值精度。"),
    },
}


class LossMattersLesson:
    def __init__(self, args: dict, lang: str, sync_url: bool = True):
        self.lang = lang
        t = TEXT[lang]
        v = {k: float_arg(args, k, d, *LIMITS[k]) for k, d in DEFAULTS.items()}
        self.C = pn.widgets.FloatSlider(label=t["w_C"], start=0, end=2000, step=10, value=v["C"],
                                        sizing_mode="stretch_width")
        self.lr = pn.widgets.FloatSlider(label=t["w_lr"], start=0.01, end=0.3, step=0.01,
                                         value=v["lr"], sizing_mode="stretch_width")
        self.patience = pn.widgets.IntSlider(label=t["w_pat"], start=0, end=6,
                                             value=int(v["patience"]), sizing_mode="stretch_width")
        self.rel = pn.widgets.FloatSlider(label=t["w_rel"], start=0.001, end=0.05, step=0.001,
                                          value=v["rel"], format="0.[000]",
                                          sizing_mode="stretch_width")
        self.tau = pn.widgets.FloatSlider(label=t["w_tau"], start=0.01, end=2.0, step=0.01,
                                          value=v["tau"], sizing_mode="stretch_width")
        self.widgets = {"C": self.C, "lr": self.lr, "patience": self.patience, "rel": self.rel,
                        "tau": self.tau}
        self.xs, self.ys = regression_data()
        self.src = {k: ColumnDataSource({"step": [], "y": []}) for k in
                    ("mon_L", "mon_LC", "lr_L", "lr_LC", "fit_L", "fit_LC")}
        self.figures = self._figures()
        self.sched_note = pn.pane.HTML("", sizing_mode="stretch_width")
        self.stop_note = pn.pane.HTML("", sizing_mode="stretch_width")
        self.prec_text = pn.pane.HTML("", sizing_mode="stretch_width")
        self.prec_table = pn.pane.HTML("", sizing_mode="stretch_width")
        self.sched_text = pn.pane.HTML("", sizing_mode="stretch_width")
        for w in self.widgets.values():
            w.param.watch(self._update, "value_throttled")
        self._update()
        if sync_url:
            write = UrlWriter(self.url_state)
            for w in self.widgets.values():
                w.param.watch(write, "value_throttled")

    def url_state(self) -> dict:
        return {k: number(w.value, 6) for k, w in self.widgets.items()}

    # --- numbers -------------------------------------------------------------------------------------
    def runs(self, scheduled: bool) -> dict:
        """Descent on L and on L + C, with a fresh plateau scheduler each when ``scheduled``."""
        C = self.C.value
        out = {}
        for key, shift in (("L", 0.0), ("LC", C)):
            scheduler = (PlateauScheduler(0.5, self.patience.value, self.rel.value)
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
    def _figures(self) -> dict:
        t = TEXT[self.lang]
        figs = {"mon": plot(t["mon_title"], t["step"], t["loss"], height=280, y_axis_type="log"),
                "lr": plot(t["lr_title"], t["step"], t["lr"], height=260),
                "fit": plot(t["fit_title"], t["step"], "L", height=260, y_axis_type="log")}
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
        t = TEXT[self.lang]
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
            return ", ".join(str(c) for c in s.reductions[:6]) + (" …" if len(s.reductions) > 6
                                                                  else "") or t["none"]
        self.sched_text.object = prose([t["sched_text"].format(
            rel=number(self.rel.value * 100, 3), patience=self.patience.value)]).object
        self.sched_note.object = callout(t["sched_note"].format(
            a=cuts(sched["L"][1]), b=cuts(sched["LC"][1]), n=STEPS, fa=number(fits["L"][-1]),
            fb=number(fits["LC"][-1])), "differ").object
        tau = self.tau.value
        a = first_below(plain["L"][0].losses, tau)
        b = first_below(plain["LC"][0].losses, tau)
        b_text = t["never"].format(C=number(C)) if b is None else t["at"].format(b=b)
        self.stop_note.object = callout(t["stop_text"].format(
            tau=number(tau), a=a if a is not None else "—", b=b_text),
            "differ" if a != b else "same").object
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

    # --- page -----------------------------------------------------------------------------------------------
    def page(self) -> LessonPage:
        t, lang = TEXT[self.lang], self.lang
        f = {k: pn.pane.Bokeh(v, sizing_mode="stretch_width") for k, v in self.figures.items()}
        main = [
            heading(HEADINGS["loss-matters"][lang]),
            prose(t["intro"], margin=(0, 10)),
            heading(t["monitor"], level=3),
            pn.Row(f["mon"], pn.Column(prose([t["monitor_text"]]), width=360),
                   sizing_mode="stretch_width"),
            heading(t["sched"], level=3),
            pn.Column(self.sched_text, self.sched_note, margin=(0, 10),
                      sizing_mode="stretch_width"),
            pn.Row(f["lr"], f["fit"], sizing_mode="stretch_width"),
            heading(t["stop"], level=3),
            pn.Column(self.stop_note, margin=(0, 10), sizing_mode="stretch_width"),
            heading(t["prec"], level=3),
            pn.Column(self.prec_text, self.prec_table, margin=(0, 10),
                      sizing_mode="stretch_width"),
            callout(t["summary"], "same"),
        ]
        sidebar = [pn.pane.HTML(f"<h3 class='bpx-side-title'>{t['settings']}</h3>"),
                   *self.widgets.values()]
        return LessonPage(sidebar=sidebar, main=main)


def build(args: dict, lang: str) -> LessonPage:
    return LossMattersLesson(args, lang).page()
