"""The widgets of the explorer: expression box, sliders, switches, mode and playback.

Every widget is made per session, inside ``__init__``; none is a class attribute.
"""

from __future__ import annotations

import html

import panel as pn
import param

from graphviz_core import MODES

from .graph_view import RUN_PLAYER, GraphView
from .release import RELEASE_WINDOW_MS, ReleaseSlider, Throttle, variable_tags
from .texts import is_offline, server_only, url_key
from .views import ModelView
from .words import error_text, ui

LINK_LIMIT = 1e6  # a variable's value in the explorer's link: |value| up to it (initial_state)
SWITCHES_TAG = "bpx-requires-grad"  # static/explorer/switches.mjs finds the switches by it
# (word in the catalogue's [example] group, source); MLPs are named by shape and size
EXAMPLES = (
    ("article", "(w*x + b - y)**2"),
    ("chain", "tanh(exp(w*x))**2"),
    ("fan_out", "u*v + sin(u)"),
    ("stop_gradient", "sg(u*u)*u"),
    ("neuron", "tanh(w1*x1 + w2*x2 + b)"),
    ("logistic", "-log(sigmoid(w*x + b))"),
    ("ppo", "-min(exp(lp - lpo)*A, clip(exp(lp - lpo), 1 - eps, 1 + eps)*A)"),
    ("faults", "log(x) + sqrt(y) + 1/z"),
    (("mlp", "2-4-4-1", 107), "mlp(2, 4, 4, 1)"),
    (("mlp", "2-16-16-1", 982), "mlp(2, 16, 16, 1)"),
    (("mlp_grouped", "2-60-60-1", 11586), "mlp(2, 60, 60, 1)"),
)


def examples(lang: str) -> dict[str, str]:
    """The examples menu in ``lang``: label -> expression."""
    w = ui(lang)["example"]
    out = {}
    for word, source in EXAMPLES:
        if isinstance(word, tuple):
            key, shape, nodes = word
            out[w[key].format(shape=shape, nodes=f"{nodes:,}")] = source
        else:
            out[f"{w[word]}: {source}"] = source
    return out


def mode_labels(lang: str) -> dict[str, str]:
    """The mode switch's labels in ``lang`` -> mode."""
    w = ui(lang)
    return {w[f"mode_{mode}"]: mode for mode in MODES}


class ExpressionBox(ModelView):
    """Where a student types an expression; Enter applies it; errors show inline."""

    def __init__(self, **params):
        super().__init__(**params)
        w = self.words
        self.choices = examples(self.lang)
        self.input = pn.widgets.TextInput(
            label=w["expression"], value=self.model.expression, max_length=2000,
            placeholder=w["expression_placeholder"], sizing_mode="stretch_width")
        self.examples = pn.widgets.Select(label=w["examples"],
                                          options=[w["choose_example"], *self.choices],
                                          sizing_mode="stretch_width")
        self.message = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bpx-error"])
        self.input.param.watch(lambda e: self.model.set_expression(e.new), "value")
        self.examples.param.watch(self._pick_example, "value")
        self.model.param.watch(self._show_error, ["error", "error_position", "expression"])
        self._show_error()

    def _pick_example(self, event) -> None:
        source = self.choices.get(event.new)
        if source:
            self.input.value = source
            self.examples.value = self.words["choose_example"]

    def _show_error(self, *events) -> None:
        if self.input.value != self.model.expression:
            self.input.value = self.model.expression
        error = self.model.error
        if not error:
            self.message.object = ""
            return
        text = self.model.expression
        pos = self.model.error_position
        pointer = ""
        if pos is not None and len(text) <= 120:
            pos = min(pos, len(text))
            pointer = (f"<pre class='bpx-caret'>{html.escape(text)}\n{' ' * pos}^</pre>")
        w = self.words
        where = "" if pos is None else w["at_position"].format(pos=pos)
        words = self.model.error_words
        if words is not None:
            error = error_text(*words, self.lang)
        self.message.object = (f"<div role='alert'><b>{w['not_applied']}</b> {html.escape(error)}"
                               f"{where}{pointer}"
                               f"<div class='bpx-hint'>{w['last_worked']}</div></div>")

    def __panel__(self):
        return pn.Column(self.input, self.message, self.examples, sizing_mode="stretch_width")


class VariableSliders(ModelView):
    """A slider per variable, titled with its name; the browser redraws while it moves."""

    view = param.ClassSelector(class_=GraphView)
    pruned_in_page = param.Boolean(default=False, doc=(
        "With no server behind the page (the static site), the requires_grad switches prune "
        "the graph in the page (static/explorer/view.mjs requiresGrad): where every text the "
        "page shows follows them (components/texts.py if_active). Else they need the server."))

    def __init__(self, **params):
        super().__init__(**params)
        self.sliders: dict[str, pn.widgets.FloatSlider] = {}
        self._pending: dict[str, float] = {}
        # a release derives on the next tick; releases that arrive within the window after a
        # derivation (a flood of them) wait for its end and re-derive the graph once
        self._flush_soon = Throttle(self._flush, RELEASE_WINDOW_MS)
        self._applying = False
        self.switches = pn.widgets.CheckBoxGroup(label="requires_grad", inline=True)
        self.column = pn.Column(sizing_mode="stretch_width")
        self.switches.param.watch(self._on_switches, "value")
        self.model.param.watch(self._rebuild, ["variables"])
        self.model.param.watch(self._sync_values, ["values"])
        self._rebuild()

    def _rebuild(self, *events) -> None:
        ranges = self.model.slider_ranges()
        self.sliders = {}
        for name in self.model.variables:
            lo, hi = ranges[name]
            slider = ReleaseSlider(label=name, start=lo, end=hi, step=0.01,
                                   value=self.model.values[name], format="0[.]00",
                                   tags=variable_tags(name),
                                   sizing_mode="stretch_width")
            slider.param.watch(lambda e, n=name: self._released(n, e.new), "value_throttled")
            self.sliders[name] = slider
            # a static page opens at its link's value, as the live explorer (initial_state)
            url_key(name, slider, bounds=(-LINK_LIMIT, LINK_LIMIT), clamp=False, widen=True)
        on = [n for n in self.model.variables if self.model.requires_grad.get(n, True)]
        self.switches.param.update(options=list(self.model.variables), value=on)
        self.column.objects = list(self.sliders.values())

    def within(self, ranges: dict[str, tuple[float, float]], **params) -> None:
        """A lesson's sliders: each variable's range fixed to ``ranges[name]`` (and
        ``params``, e.g. a step), where the lesson clamps its link's values too
        (``float_arg``): a static page reads its link so (:func:`url_key`)."""
        for name, (lo, hi) in ranges.items():
            slider = self.sliders[name]
            slider.param.update(start=lo, end=hi, **params.get(name, {}))
            url_key(name, slider)

    def _released(self, name: str, value: float) -> None:
        # While dragging, the browser keeps `value` to itself (static/explorer/view.mjs, adoptSliders).
        # Record the released value without sending it back: an echo that arrives after a
        # newer drag would put an old value on screen.
        slider = self.sliders.get(name)
        if slider is not None:
            with param.discard_events(slider):
                slider.value = value
        self._pending[name] = value
        self._flush_soon()

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        self._applying = True  # the sliders already stand there: nothing to send back
        try:
            self.model.set_values(pending)
        finally:
            self._applying = False

    def _sync_values(self, event) -> None:
        if self._applying:
            return
        ranges = self.model.slider_ranges()
        for name, slider in self.sliders.items():
            value = self.model.values.get(name)
            if value is None or slider.value == value:
                continue
            lo, hi = ranges[name]
            slider.param.update(start=min(slider.start, lo), end=max(slider.end, hi), value=value)

    def _on_switches(self, event) -> None:
        on = set(event.new)
        flags = {n: False for n in self.model.variables if n not in on}
        if flags != self.model.requires_grad:
            self.model.requires_grad = flags

    def panel(self, switches: bool = True) -> pn.Column:
        """The sliders under an "Inputs" title, and (``switches``) the requires_grad switches."""
        w = ui(self.lang)
        parts = [pn.pane.HTML(f"<h3 class='bpx-side-title'>{w['inputs']}</h3>"), self.column]
        if switches:
            if self.pruned_in_page and is_offline():
                self.switches.tags = [*self.switches.tags, SWITCHES_TAG]
                self.switches.jscallback(args=self.view.player_args(
                    "requires-grad", names=list(self.model.variables)), value=RUN_PLAYER)
            else:
                server_only(self.switches)  # what the page's texts cannot follow
            url_key("off", self.switches, list(self.model.variables))
            parts += [pn.pane.HTML("<h3 class='bpx-side-title'>requires_grad</h3>"
                                   f"<div class='bpx-hint'>{w['requires_grad_hint']}</div>"),
                      self.switches]
        return pn.Column(*parts, sizing_mode="stretch_width")

    def __panel__(self):
        return self.panel()


# the modes in which each of the player's buttons is greyed out: nothing plays in the graph
# mode; Predict plays no steps (the student's answers move it on, ↺ Start begins again)
IDLE_IN = {"first": ("graph",), "back": ("graph", "predict"), "play": ("graph", "predict"),
           "step": ("graph", "predict")}
ENABLE_JS = """
const mode = modes[cb_obj.active], buttons = {first, back, play, step}
for (const name in buttons) buttons[name].disabled = idle[name].includes(mode)
"""


class PlaybackBar(ModelView):
    """Mode toggle and the player: play, pause, step back and forth, speed.

    Playback runs in the browser (no server callback per frame); the buttons only
    call the player module.
    """

    view = param.ClassSelector(class_=GraphView)

    def __init__(self, **params):
        super().__init__(**params)
        w = self.words
        self.mode = pn.widgets.RadioButtonGroup(
            label=w["mode"], options=mode_labels(self.lang), value=self.model.mode,
            color="primary", variant="outline", css_classes=["bpx-mode", "bpx-player"])
        self.mode.link(self.model, value="mode", bidirectional=True)
        url_key("mode", self.mode, list(MODES))
        wide = self.lang != "en"  # the Chinese labels are a little wider
        tight = (5, 3)  # small margins: on a phone the four buttons share one row
        big = ["bpx-player"]  # grows in Presentation (static/responsive.css)
        step = [*big, "bpx-step"]  # on a phone as wide as its words (two rows for the player)
        self.first = pn.widgets.Button(label=w["start"], description=w["start_hint"],
                                       width=104 if wide else 84, margin=tight, css_classes=step)
        self.back = pn.widgets.Button(label=w["back"], description=w["back_hint"],
                                      width=90 if wide else 80, margin=tight, css_classes=step)
        self.play = pn.widgets.Button(label=w["play"], description=w["play_hint"],
                                      color="success", width=100, margin=tight, css_classes=step)
        self.forward = pn.widgets.Button(label=w["step"], description=w["step_hint"],
                                         width=90 if wide else 80, margin=tight, css_classes=step)
        self.speed = pn.widgets.FloatSlider(label=w["speed"], start=0.25, end=4, step=0.25,
                                            value=1, width=150, css_classes=[*big, "bpx-speed"])
        for button, action in ((self.first, "first"), (self.back, "back"), (self.play, "play"),
                               (self.forward, "step")):
            button.js_on_click(args=self.view.player_args(action), code=RUN_PLAYER)
        self.speed.jscallback(args=self.view.player_args("speed"), value=RUN_PLAYER)
        self.present = pn.widgets.Toggle(label=w["present"], color="light", width=120,
                                         css_classes=["bpx-present-toggle"])
        self.present.jscallback(args=self.view.player_args("present"), value=RUN_PLAYER)
        self.mode.jscallback(args=self.view.player_args("mode", modes=list(MODES)),
                             value=RUN_PLAYER)
        # the page greys the player's buttons as the mode changes: a static page has no
        # server to do it, and on a live one the server's answer comes later (_enable)
        buttons = self._buttons()
        self.mode.jscallback(args={**buttons, "idle": {k: list(v) for k, v in IDLE_IN.items()},
                                   "modes": list(MODES)}, value=ENABLE_JS)
        self.model.param.watch(self._enable, "mode")
        self._enable()

    def _buttons(self) -> dict:
        return {"first": self.first, "back": self.back, "play": self.play, "step": self.forward}

    def _enable(self, *events) -> None:
        for name, button in self._buttons().items():
            button.disabled = self.model.mode in IDLE_IN[name]

    def __panel__(self):
        # wraps on a narrow screen: every button stays on it, a row of its own if need be
        # a FlexBox (not a wrapping_row): its items keep their own widths on a phone, two
        # rows of the player there (static/responsive.css)
        return pn.FlexBox(self.mode, self.first, self.back, self.play, self.forward, self.speed,
                          self.present, flex_wrap="wrap", align_items="center", gap="4px 8px",
                          css_classes=["bpx-playbar"], sizing_mode="stretch_width")
