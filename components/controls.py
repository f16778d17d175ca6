"""The widgets of the explorer: expression box, sliders, switches, mode and playback.

Every widget is made per session, inside ``__init__``; none is a class attribute.
"""

from __future__ import annotations

import html
import time

import panel as pn
import param

from .graph_view import GraphView
from .model import ExplorerModel

EXAMPLES = {
    "Seed: (w*x + b - y)**2": "(w*x + b - y)**2",
    "Chain: tanh(exp(w*x))**2": "tanh(exp(w*x))**2",
    "Fan-out: u*v + sin(u)": "u*v + sin(u)",
    "Stop-gradient: sg(u*u)*u": "sg(u*u)*u",
    "Neuron: tanh(w1*x1 + w2*x2 + b)": "tanh(w1*x1 + w2*x2 + b)",
    "Logistic: -log(sigmoid(w*x + b))": "-log(sigmoid(w*x + b))",
    "PPO-clip: -min(exp(lp-lpo)*A, clip(exp(lp-lpo), 1-eps, 1+eps)*A)":
        "-min(exp(lp - lpo)*A, clip(exp(lp - lpo), 1 - eps, 1 + eps)*A)",
    "Faults: log(x) + sqrt(y) + 1/z": "log(x) + sqrt(y) + 1/z",
    "MLP 2-4-4-1 (107 nodes)": "mlp(2, 4, 4, 1)",
    "MLP 2-16-16-1 (982 nodes)": "mlp(2, 16, 16, 1)",
    "MLP 2-60-60-1 (11,586 nodes, a node per neuron)": "mlp(2, 60, 60, 1)",
}
MODE_LABELS = {"Graph": "graph", "Forward": "forward", "Backward": "backward"}
RELEASE_WINDOW_MS = 40  # slider releases within this window of the last one cost one re-derivation


class Throttle:
    """Call ``fn`` on the next tick, but at most once per ``interval_ms``.

    Calls that come while a call is scheduled merge into it; a call within ``interval_ms``
    after the last run waits for the end of that interval. Outside a server session ``fn``
    runs at once.
    """

    def __init__(self, fn, interval_ms: float):
        self.fn = fn
        self.interval = interval_ms / 1000
        self._scheduled = False
        self._ran_at = float("-inf")  # time.monotonic() at the end of the last run

    def __call__(self) -> None:
        if self._scheduled:
            return
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:
            self._run()
            return
        self._scheduled = True
        wait = self._ran_at + self.interval - time.monotonic()
        doc.add_timeout_callback(self._run, round(1000 * max(0.0, wait)))

    def _run(self) -> None:
        self._scheduled = False
        try:
            self.fn()
        finally:
            self._ran_at = time.monotonic()


class ReleaseSlider(pn.widgets.FloatSlider):
    """A FloatSlider whose releases (``value_throttled``) are handled on the next tick.

    Panel otherwise waits 50 ms (``Reactive._debounce``) before it handles a browser change;
    :class:`VariableSliders` batches releases itself, so the wait only added latency. A
    release does not count as "busy" either: that bookkeeping (a process-wide flag, shown by
    no spinner on these pages) was ~40% of Panel's cost of taking a release in.
    """

    _priority_changes = ("value_throttled",)
    _busy__ignore = ("value", "value_throttled")


class ExpressionBox(pn.viewable.Viewer):
    """Where a student types an expression; Enter applies it; errors show inline."""

    model = param.ClassSelector(class_=ExplorerModel)

    def __init__(self, **params):
        super().__init__(**params)
        self.input = pn.widgets.TextInput(
            label="Expression", value=self.model.expression, max_length=2000,
            placeholder="e.g. (w*x + b - y)**2", sizing_mode="stretch_width")
        self.examples = pn.widgets.Select(label="Examples", options=["Choose an example…", *EXAMPLES],
                                          sizing_mode="stretch_width")
        self.message = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bpx-error"])
        self.input.param.watch(lambda e: self.model.set_expression(e.new), "value")
        self.examples.param.watch(self._pick_example, "value")
        self.model.param.watch(self._show_error, ["error", "error_position", "expression"])
        self._show_error()

    def _pick_example(self, event) -> None:
        source = EXAMPLES.get(event.new)
        if source:
            self.input.value = source
            self.examples.value = "Choose an example…"

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
        self.message.object = (f"<div role='alert'><b>Not applied:</b> {html.escape(error)}"
                               f"{'' if pos is None else f' (position {pos})'}{pointer}"
                               f"<div class='bpx-hint'>The graph shows the last expression that worked.</div></div>")

    def __panel__(self):
        return pn.Column(self.input, self.message, self.examples, sizing_mode="stretch_width")


class VariableSliders(pn.viewable.Viewer):
    """A slider per variable, titled with its name; the browser redraws while it moves."""

    model = param.ClassSelector(class_=ExplorerModel)
    view = param.ClassSelector(class_=GraphView)

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
                                   sizing_mode="stretch_width")
            slider.param.watch(lambda e, n=name: self._released(n, e.new), "value_throttled")
            self.sliders[name] = slider
        on = [n for n in self.model.variables if self.model.requires_grad.get(n, True)]
        self.switches.param.update(options=list(self.model.variables), value=on)
        self.column.objects = list(self.sliders.values())

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

    def __panel__(self):
        return pn.Column(
            pn.pane.HTML("<h3 class='bpx-side-title'>Inputs</h3>"), self.column,
            pn.pane.HTML("<h3 class='bpx-side-title'>requires_grad</h3>"
                         "<div class='bpx-hint'>Switch a leaf off: the backward pass skips "
                         "everything that only it feeds.</div>"),
            self.switches, sizing_mode="stretch_width")


class PlaybackBar(pn.viewable.Viewer):
    """Mode toggle and the player: play, pause, step back and forth, speed.

    Playback runs in the browser (no server callback per frame); the buttons only
    call the player module.
    """

    model = param.ClassSelector(class_=ExplorerModel)
    view = param.ClassSelector(class_=GraphView)

    def __init__(self, **params):
        super().__init__(**params)
        self.mode = pn.widgets.RadioButtonGroup(
            label="Mode", options=MODE_LABELS, value=self.model.mode, color="primary",
            variant="outline", css_classes=["bpx-mode"])
        self.mode.link(self.model, value="mode", bidirectional=True)
        args = {"player": self.view.player}
        self.first = pn.widgets.Button(label="↺ Start", description="Back to the start (Home)", width=84)
        self.back = pn.widgets.Button(label="◀ Step", description="Step back (←)", width=80)
        self.play = pn.widgets.Button(label="▶ Play", description="Play or pause (space)",
                                      color="success", width=100)
        self.forward = pn.widgets.Button(label="Step ▶", description="Step forward (→)", width=80)
        self.speed = pn.widgets.FloatSlider(label="Speed", start=0.25, end=4, step=0.25, value=1,
                                            width=150)
        for button, action in ((self.first, "first"), (self.back, "back"), (self.play, "play"),
                               (self.forward, "step")):
            button.js_on_click(args=args, code=self.view.js_action(action))
        self.speed.jscallback(args=args, value=self.view.js_action("speed"))
        self.present = pn.widgets.Toggle(label="Presentation",
                                         color="light", width=120)
        self.present.jscallback(args=args, value="player.execute(cb_obj, {action: 'present', "
                                "on: cb_obj.active})")
        self.mode.jscallback(args=args, value="player.execute(cb_obj, {action: 'mode', "
                             "mode: ['graph', 'forward', 'backward'][cb_obj.active]})")
        self.model.param.watch(self._enable, "mode")
        self._enable()

    def _enable(self, *events) -> None:
        off = self.model.mode == "graph"
        for w in (self.first, self.back, self.play, self.forward):
            w.disabled = off

    def __panel__(self):
        return pn.Row(self.mode, pn.Spacer(width=18), self.first, self.back, self.play,
                      self.forward, self.speed, pn.HSpacer(), self.present,
                      css_classes=["bpx-playbar"],
                      sizing_mode="stretch_width")
