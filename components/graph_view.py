"""The computation graph, drawn with Bokeh, with a caption and the values table.

The server sends one JSON scene per change into ``meta``; the page's browser module (the
modules of ``static/explorer/``, joined by ``components/bundle.py``) draws it, replays the
tape while sliders move and plays the passes. This view builds the figure once and only ever replaces ``meta``.
"""

from __future__ import annotations

import panel as pn
import param
from bokeh.models import (Arrow, Button, Column, ColumnDataSource, CustomJS, DataTable,
                          DataRange1d, Div, InlineStyleSheet, MultiLine, Patches, Row, Scatter,
                          StringEditor, StringFormatter, TableColumn, TapTool, Text, TextInput,
                          VeeHead)
from bokeh.plotting import figure

from . import display
from .bundle import player_code
from .model import ExplorerModel
from .scene import SceneJSON, shared_scene_texts
from .words import ui

# The code of every control's callback: the player takes the widget and the action's data
# (see GraphView.player_args and static/explorer/view.mjs, View.handle).
RUN_PLAYER = "player.execute(cb_obj, data)"

NODE_COLUMNS = ("x", "y", "marker", "fill", "line", "width", "size", "alpha")
EDGE_COLUMNS = ("xs", "ys", "color", "dash", "alpha", "width")
# the shaded bands a crowd of edges is drawn as (static/explorer/flow.mjs crowds)
BAND_COLUMNS = ("xs", "ys", "color")
ARROW_COLUMNS = ("x0", "y0", "x1", "y1", "color", "alpha", "head")
# every label drawn (node symbols, names, values, fault marks, edge numbers); node/edge/role
# say what a row labels (for tests and tools), the glyph does not read them
LABEL_COLUMNS = ("x", "y", "text", "color", "size", "style", "baseline", "dx", "dy", "boxed",
                 "alpha", "node", "edge", "role")
FOCUS_COLUMNS = ("x", "y", "marker", "size")
LIT_COLUMNS = ("xs", "ys")
PULSE_COLUMNS = ("x", "y", "label", "color")
TABLE_COLUMNS = ("name", "op", "value", "grad", "fault")


# The caption's and the legend's own rules, for the page and the saved file alike (the Divs'
# stylesheets; `display.styled` keeps them in the page). The formula keeps the caption's height
# from step to step (a new height re-lays the whole page out); the backward pass's fractions
# are taller than the forward pass's lines. Presenting, the page sets --bpx-caption-size
# (static/style.css), which inherits into the Div's shadow root.
CAPTION_CSS = """
:host { font-size: var(--bpx-caption-size, 16px); color: #1F2933; min-height: 64px; }
.bpx-step-kind { font-weight: 650; color: #52606D; font-size: 15px; }
.bpx-formula { font-size: 118%; overflow-x: auto; }
/* a phone: the formula at the caption's own size (at 118% a chain rule with its numbers is
   wider than a 390 px screen's caption) */
@media (max-width: 480px) { .bpx-formula { font-size: 100%; } }
.bpx-formula-forward { min-height: 1.6em; }
.bpx-formula-backward { min-height: 3.1em; }
.bpx-stats { color: #52606D; }
.bpx-step-kind.bpx-blocked { color: #9D2E74; } .bpx-step-kind.bpx-sum { color: #7A5A00; }
"""
# Bokeh's primary blue under white text is below WCAG's 4.5:1; the page's focus blue is not
CHECK_CSS = """
.bk-btn-primary, .bk-btn-primary:hover, .bk-btn-primary:focus, .bk-btn-primary:active {
  background-color: #0B63A8 !important; border-color: #094F86 !important; color: #FFFFFF !important; }
.bk-btn-primary:hover, .bk-btn-primary:active { background-color: #094F86 !important; }
"""
VERDICT_CSS = """
:host { font-size: 15px; color: #1F2933; }
.bpx-verdict-right { color: #006B4F; font-weight: 650; }
.bpx-verdict-wrong { color: #A63D00; font-weight: 650; }
.bpx-score { color: #52606D; margin-top: 2px; }
"""


# a sample line and its number are one unit: a narrow screen wraps between samples, never
# inside one
LEGEND_CSS = """
:host { font-size: 14px; color: #1F2933; }
.bpx-flow-legend { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 14px; }
.bpx-flow-item { display: inline-flex; align-items: center; gap: 4px; white-space: nowrap; }
.bpx-flow-title { font-weight: 600; }
"""


def _empty(columns) -> dict:
    return {c: [] for c in columns}


class GraphView(pn.viewable.Viewer):
    """The figure, the step caption and the values table for one :class:`ExplorerModel`."""

    model = param.ClassSelector(class_=ExplorerModel)
    height = param.Integer(default=470)
    interactive = param.Boolean(default=True, doc="Report clicked nodes to the server (off for files).")
    lang = param.String(default="en", doc="The language of the table's headers.")

    def __init__(self, **params):
        super().__init__(**params)
        self._encode = SceneJSON()
        self.meta = ColumnDataSource({"json": [self._json(self.model.scene)]})
        self.nodes = ColumnDataSource(_empty(NODE_COLUMNS))
        self.edges = ColumnDataSource(_empty(EDGE_COLUMNS))
        self.bands = ColumnDataSource(_empty(BAND_COLUMNS))
        self.arrows = ColumnDataSource(_empty(ARROW_COLUMNS))
        self.labels = ColumnDataSource(_empty(LABEL_COLUMNS))
        self.focus = ColumnDataSource(_empty(FOCUS_COLUMNS))
        self.lit = ColumnDataSource(_empty(LIT_COLUMNS))
        # playing: the edges of the next few steps and their heads, drawn on the overlay
        # (static/explorer/stepframes.mjs)
        self.ahead = ColumnDataSource(_empty(EDGE_COLUMNS))
        self.ahead_heads = ColumnDataSource(_empty(ARROW_COLUMNS))
        self.pulses = ColumnDataSource(_empty(PULSE_COLUMNS))
        self.table = ColumnDataSource(_empty(TABLE_COLUMNS))
        self.caption = Div(text="", css_classes=["bpx-caption"], sizing_mode="stretch_width",
                           disable_math=False, stylesheets=[CAPTION_CSS])
        self.counter = Div(text="", css_classes=["bpx-counter"])
        # backward mode: what an edge's width stands for (static/explorer/flow.mjs)
        self.legend = Div(text="", css_classes=["bpx-legend"], visible=False,
                          sizing_mode="stretch_width", stylesheets=[LEGEND_CSS])
        self.figure = self._make_figure()
        w = ui(self.lang)
        # Predict mode: the student's number for the step asked, checked in the browser
        self.guess = TextInput(title=w["predict_label"], placeholder=w["predict_placeholder"],
                               max_length=40, width=200, css_classes=["bpx-guess"])
        self.check = Button(label=w["predict_check"], button_type="primary", width=110,
                            align="end", css_classes=["bpx-check"],
                            stylesheets=[InlineStyleSheet(css=CHECK_CSS)])
        self.verdict = Div(text="", sizing_mode="stretch_width", css_classes=["bpx-verdict"],
                           stylesheets=[InlineStyleSheet(css=VERDICT_CSS)])
        self.quiz = Column(Row(self.guess, self.check), self.verdict, sizing_mode="stretch_width",
                           visible=self.model.mode == "predict", css_classes=["bpx-quiz"])
        titles = w["table"]
        # one formatter and editor (what each column would get by default) for all columns
        text, editor = StringFormatter(), StringEditor()
        self.values_table = DataTable(
            source=self.table, index_position=None, sizing_mode="stretch_width", height=260,
            columns=[TableColumn(field=field, title=title, width=width, formatter=text,
                                 editor=editor) for field, title, width
                     in zip(TABLE_COLUMNS, titles, (70, 130, 100, 100, 190))],
            # no row selection: with it SlickGrid keeps Tab moving between cells, a keyboard trap
            selectable=False, css_classes=["bpx-values"])
        self.player = CustomJS(code=player_code(), module=True, args=dict(
            meta=self.meta, nodes=self.nodes, edges=self.edges, bands=self.bands,
            arrows=self.arrows, labels=self.labels, focus=self.focus, lit=self.lit,
            ahead=self.ahead, ahead_heads=self.ahead_heads,
            pulses=self.pulses, table=self.table, figure=self.figure,
            values_table=self.values_table,
            caption=self.caption, counter=self.counter, guess=self.guess, verdict=self.verdict,
            quiz=self.quiz, legend=self.legend))
        predict = CustomJS(args=self.player_args("predict"), code=RUN_PLAYER)
        self.check.js_on_event("button_click", predict)
        self.guess.js_on_event("value_submit", predict)
        self._layout = None  # the models under the figure, laid out when first shown
        self.pane = None  # the Panel object showing them
        self.meta.js_on_change("data", self.player)
        self.figure.js_on_change("inner_width", self.player)
        self.figure.js_on_change("inner_height", self.player)
        # zooming and panning change which labels are drawn (only those on screen are)
        for axis in (self.figure.x_range, self.figure.y_range):
            axis.js_on_change("start", self.player)
            axis.js_on_change("end", self.player)
        if self.interactive:
            self.nodes.selected.on_change("indices", self._on_tap)
            # every new scene is sent: param's check that it changed walks the whole scene
            # (~2 s of CPU for the 11,586-node MLP's), and a derivation's scene is new
            self.model.param.watch(self._send_scene, "scene", onlychanged=False)

    # --- building ------------------------------------------------------------------------
    def _make_figure(self):
        fig = figure(
            height=self._height_for(self.model.scene), sizing_mode="stretch_width", match_aspect=True,
            tools="pan,wheel_zoom,reset,save", toolbar_location="right",
            x_range=DataRange1d(range_padding_units="absolute"),
            y_range=DataRange1d(range_padding_units="absolute"),
            outline_line_color=None, background_fill_color="#FCFCFD", border_fill_color="#FFFFFF",
            css_classes=["bpx-figure"],
            # no axes and no grids (a graph has no coordinates to read): not made at all,
            # rather than made and hidden (ten models per figure)
            x_axis_type=None, y_axis_type=None,
            # nor a title (an empty one is still laid out, and on every repaint of the edges'
            # canvas it read its colour from the page's computed style: a style recalculation
            # forced in the middle of a drag frame)
            title=None,
        )
        self._fit(fig, self.model.scene)
        fig.toolbar.logo = None
        # glyphs added as renderers of their own: the plotting API (fig.scatter, ...) also
        # makes a "nonselection" and a "muted" copy of each glyph, two more models per
        # renderer for every page; none of these sources is ever selected (but the nodes', whose
        # copies are given) and no legend mutes them, so BokehJS's own defaults never show
        fig.add_glyph(self.bands, Patches(xs="xs", ys="ys", fill_color="color", line_color=None))
        line = dict(xs="xs", ys="ys", line_color="color", line_dash="dash", line_alpha="alpha",
                    line_width="width")
        edges = fig.add_glyph(self.edges, MultiLine(**line))

        def heads(source, **level):
            return Arrow(source=source, x_start="x0", y_start="y0", x_end="x1", y_end="y1",
                         line_alpha=0, line_width=0, **level,
                         end=VeeHead(size="head", fill_color="color", line_color="color",
                                     fill_alpha="alpha", line_alpha="alpha"))
        fig.add_layout(heads(self.arrows))
        node = dict(x="x", y="y", marker="marker", size="size", fill_color="fill",
                    line_color="line", line_width="width", fill_alpha="alpha", line_alpha="alpha")
        # three glyphs made from the same properties (a Bokeh clone() costs twice as much)
        nodes = fig.add_glyph(self.nodes, Scatter(**node), nonselection_glyph=Scatter(**node),
                              selection_glyph=Scatter(**{**node, "line_width": 5,
                                                         "line_color": "#F2B705"}))
        fig.add_tools(TapTool(renderers=[nodes]))
        # one text glyph for every label: Bokeh's cost per text renderer and per row is high,
        # so only the labels shown at this zoom are rows
        fig.add_glyph(self.labels, Text(
            x="x", y="y", text="text", text_color="color", text_font_size="size",
            text_font_style="style", text_align="center", text_baseline="baseline",
            x_offset="dx", y_offset="dy", text_alpha="alpha", background_fill_color="#FFFFFF",
            background_fill_alpha="boxed", padding=2, border_radius=3))
        # playing, the next steps' edges (and heads) on the overlay: their arrivals repaint
        # it, not the graph underneath
        fig.add_glyph(self.ahead, MultiLine(**line), level="overlay")
        fig.add_layout(heads(self.ahead_heads, level="overlay"))
        # the current playback step: what it lights changes without repainting the graph
        fig.add_glyph(self.lit, MultiLine(xs="xs", ys="ys", line_color="#F2B705", line_width=4,
                                          line_alpha=0.95), level="overlay")
        fig.add_glyph(self.focus, Scatter(x="x", y="y", marker="marker", size="size",
                                          fill_alpha=0, line_color="#F2B705", line_width=4.5),
                      level="overlay")
        # the moving pulses live on the overlay layer: a frame of playback repaints them alone,
        # not every node and label of the graph underneath
        fig.add_glyph(self.pulses, Scatter(x="x", y="y", size=16, fill_color="color",
                                           line_color="#FFFFFF", line_width=2), level="overlay")
        fig.add_glyph(self.pulses, Text(
            x="x", y="y", text="label", text_color="color", text_font_size="14px",
            text_font_style="bold", text_align="center", text_baseline="bottom", y_offset=-11,
            background_fill_color="#FFFFFF", background_fill_alpha=0.9, padding=2,
            border_radius=3), level="overlay")
        # the view fits the graph, not where a pulse happens to be
        fig.x_range.renderers = fig.y_range.renderers = [edges, nodes]
        return fig

    # --- server -> browser -----------------------------------------------------------------
    def _send_scene(self, event=None) -> None:
        scene = self.model.scene

        def apply() -> None:
            self.figure.height = self._height_for(scene)
            self._fit(self.figure, scene)
            self.meta.data = {"json": [self._json(scene)]}
            self._push_to_notebook()
        # Widget events can arrive outside the document lock (Enter in a TextInput does),
        # where Bokeh models must not change; on the next tick the lock is held.
        pn.state.execute(apply, schedule=True)

    def _push_to_notebook(self) -> None:
        """In a notebook, send the Bokeh models changed directly here to the page.

        A notebook output's document is held: Panel sends its changes with the next
        update of a Panel object, so without this a new scene would wait for one. Under
        a server, and outside any notebook, this does nothing.
        """
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:
            if self.pane is not None:
                pn.io.push_notebook(self.pane)

    def _json(self, scene: dict) -> str:
        """The scene for the page, naming the language its words are in (a scene that other
        sessions show too is encoded once for them all)."""
        owner = self.model.scene_owner(scene)
        if owner is not None:
            return shared_scene_texts().encode(scene, self.lang, self._encode, owner)
        return self._encode({**scene, "lang": self.lang})

    @staticmethod
    def padding_for(scene: dict) -> list[float]:
        """Room around the graph, x and y: for its labels on a small graph, its edge nodes on
        a big one."""
        nodes = scene.get("nodes", {})
        return [max(room, 0.03 * (max(coords) - min(coords)))
                for coords, room in ((nodes.get("x") or [0.0], 0.9), (nodes.get("y") or [0.0], 0.75))]

    @classmethod
    def _fit(cls, fig, scene: dict) -> None:
        fig.x_range.range_padding, fig.y_range.range_padding = cls.padding_for(scene)

    def _height_for(self, scene: dict) -> int:
        """Taller for tall graphs, so a hundred-node drawing is still legible."""
        ys = scene.get("nodes", {}).get("y") or [0.0]
        return int(min(860, max(self.height, 150 + 30 * (max(ys) - min(ys)))))

    def _on_tap(self, attr, old, new) -> None:
        drawn, expanded = self.model.drawn, self.model.expanded
        self.model.tap(new[0] if new else None)
        # a group opened: the drawing changes (now, or once a deferred derivation lands), and
        # index new[0] will be another node - unselected, so a tap on the node that takes that
        # index is a change the page sends too
        if new and drawn is not None and (self.model.drawn is not drawn
                                          or self.model.expanded != expanded):
            self.nodes.selected.indices = []
            self._push_to_notebook()

    # --- browser actions ---------------------------------------------------------------------
    def player_args(self, action: str, **fields) -> dict:
        """The ``args`` of a widget callback whose code is :data:`RUN_PLAYER`: run ``action``.

        What varies between controls is data (the action and its fields), never code; the
        player reads the rest from the widget (a slider's value, the mode button's index
        into ``modes``, a toggle's state).
        """
        return {"player": self.player, "data": {"action": action, **fields}}

    def layout(self):
        """The figure and what the page's script writes under it (legend, caption, step
        counter, quiz) as one layout of plain models, for :func:`display.block` or a larger
        layout of them (components/display.py)."""
        if self._layout is None:
            # each with the page's styles in its shadow root, then its own (the caption's and
            # the legend's), as a Bokeh pane of its own with them would give it
            display.styled(self.figure, self.legend, self.caption, self.counter, self.quiz)
            self._layout = display.column(
                self.figure, self.legend,
                display.row(self.caption, self.counter, sizing_mode="stretch_width"),
                self.quiz, sizing_mode="stretch_width")
        return self._layout

    def __panel__(self):
        if self.pane is None:
            self.pane = display.block(self.layout(), sizing_mode="stretch_width")
        return self.pane
