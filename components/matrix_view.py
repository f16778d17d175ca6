"""A layer's weights and their gradients as two heatmaps, linked to the graph.

Rows are the layer's neurons, columns their inputs (the previous layer's outputs); a
diverging scale centred at 0 (blue negative, white 0, orange positive: Okabe-Ito ends,
told apart by lightness as well as hue). Pointing at a cell, or tapping it, lights the
edge of the graph that carries that weight's input (static/explorer/view.mjs, action
``cell``). Every number is the core's (:func:`graphviz_core.levels.layer_matrix`).
"""

from __future__ import annotations

import html

import panel as pn
import param
from bokeh.models import (ColorBar, ColumnDataSource, CustomJS, FactorRange, HoverTool,
                          LinearColorMapper, Rect, TapTool)
from bokeh.plotting import figure

from graphviz_core.levels import INPUT_LAYER, LOSS_LAYER, layer_matrix, layer_members

from . import display
from .budget import FirstShown
from .graph_view import GraphView
from .views import ModelView

# blue (Okabe-Ito #0072B2) -> white -> orange (#D55E00): 11 steps, white in the middle
DIVERGING = ("#0072B2", "#3389C0", "#66A1CD", "#99B9DB", "#CCD0E8", "#FFFFFF",
             "#F6D5C2", "#EEB299", "#E6906F", "#DD7246", "#D55E00")
LABELLED = 16  # an axis names its rows or columns up to this many
CELL_COLUMNS = ("col", "row", "weight", "grad", "input", "neuron", "u", "v", "slot")
# a cell's pointer or tap reaches the graph's page module (no server round trip)
CELL_HOVER = ("const i = cb_data.index.indices;"
              " player.execute(source, {action: 'cell', index: i.length ? i[0] : -1})")
CELL_TAP = ("const i = source.selected.indices;"
            " player.execute(source, {action: 'cell', index: i.length ? i[0] : -1})")


class LayerMatrix(ModelView):
    """Weights and gradients of one layer of a network, as heatmaps linked to the graph."""

    view = param.ClassSelector(class_=GraphView)

    def __init__(self, **params):
        super().__init__(**params)
        self.source = ColumnDataSource({c: [] for c in CELL_COLUMNS})
        self._picking = False  # the layers offered change: one fill after, not one per change
        # the heatmaps, the layer pick and the parts around them are made when a network is
        # first shown: most pages never show one. A page that opens with a network builds
        # them with the page: the matrix sits right under the graph, on screen at once on
        # most screens, where building it in an update of its own after the open (as a part
        # built when first on screen, components/later.py) cost each first open ~80 ms more
        self.pick = self.title = self.weights = self.grads = None
        # made on turns of the loop of their own (budget.FirstShown): figures, head, maps, fill
        self._figures = None
        self._first = FirstShown(self._make_figures, self._make_head, self._make_maps,
                                 then=self._update)
        self.layout = pn.Column(visible=False, sizing_mode="stretch_width",
                                css_classes=["bpx-matrix"])
        self.source.selected.js_on_change("indices", CustomJS(
            args={"player": self.view.player, "source": self.source}, code=CELL_TAP))
        self.model.param.watch(self._update, ["graph", "inspected"])
        self._update()

    def _heatmap(self, field: str, title: str):
        mapper = LinearColorMapper(palette=list(DIVERGING), low=-1, high=1)
        fig = figure(width=340, height=300, toolbar_location=None, tools="", title=title,
                     x_range=FactorRange(), y_range=FactorRange(), min_border_left=4,
                     css_classes=["bpx-heatmap"])
        fig.add_glyph(self.source, Rect(x="input", y="neuron", width=1, height=1,
                                        fill_color={"field": field, "transform": mapper},
                                        line_color=None))
        fig.axis.major_label_text_font_size = "10px"
        fig.xaxis.major_label_orientation = 1.0
        fig.grid.visible = False
        fig.outline_line_color = None
        fig.add_layout(ColorBar(color_mapper=mapper, width=10, label_standoff=4,
                                major_label_text_font_size="10px"), "right")
        renderer = fig.renderers[0]
        args = {"player": self.view.player, "source": self.source}
        fig.add_tools(HoverTool(renderers=[renderer], callback=CustomJS(args=args, code=CELL_HOVER),
                                tooltips=[("", "@neuron ← @input"), ("w", "@weight{0.0000}"),
                                          ("∂L/∂w", "@grad{0.0000e}")]),
                      TapTool(renderers=[renderer]))
        return fig, mapper

    def _layers(self) -> list[str]:
        g = self.model.graph
        if g is None or not any(gid for _, gid in g.nodes(data="group", default="")):
            return []
        return [layer for layer in layer_members(g) if layer not in (INPUT_LAYER, LOSS_LAYER)]

    def _make_figures(self) -> None:
        """The first network's heatmaps (Bokeh models not yet in the page)."""
        w = self.words
        self._figures = (self._heatmap("weight", w["matrix_weights"]),
                         self._heatmap("grad", w["matrix_grads"].format(loss="L")))

    def _make_head(self) -> None:
        """The matrix's title, layer pick and hint, in the page (hidden until filled)."""
        w = self.words
        self.pick = pn.widgets.Select(name=w["matrix_pick"], options=[], width=110)
        self.pick.param.watch(lambda e: self._picking or self._fill(), "value")
        self.title = pn.pane.HTML("", sizing_mode="stretch_width")
        self.layout.objects = [
            pn.Row(self.title, self.pick, sizing_mode="stretch_width", css_classes=["bpx-inline"]),
            pn.pane.HTML(f"<div class='bpx-hint'>{w['matrix_hint']}</div>",
                         sizing_mode="stretch_width")]

    def _make_maps(self) -> None:
        """The heatmaps put in the page, under the head."""
        self.weights, self.grads = self._figures
        # the two figures only display: one block (a wrapping row of them)
        figures = (self.weights[0], self.grads[0])
        display.styled(*figures)
        self.layout.append(display.block(display.row(*figures, sizing_mode="stretch_width",
                                                     styles={"flex-wrap": "wrap"})))

    def _update(self, *events) -> None:
        layers = self._layers()
        if layers and self.weights is None:
            # the first network shown: its parts made on turns of the loop of their own (the
            # derivation's result is applied in another), the figures first
            self._first.ask()
            return
        self.layout.visible = bool(layers)
        if not layers:
            return
        inspected = self.model.inspected.partition("[")[0]
        wanted = inspected if inspected in layers else (
            self.pick.value if self.pick.value in layers else layers[0])
        # (the pick's own events still run: Panel sends its new options and value to the page
        # through them, also to a pick already on it)
        self._picking = True
        try:
            self.pick.param.update(options=layers, value=wanted)
        finally:
            self._picking = False
        self._fill()

    def _fill(self) -> None:
        g, layer = self.model.graph, self.pick.value
        if g is None or not layer or self.weights is None:
            return
        m = layer_matrix(g, layer)
        self.title.object = f"<h3 class='bpx-side-title'>{html.escape(self.words['matrix_title'].format(layer=layer))}</h3>"
        columns, rows = m["columns"], m["rows"]
        across = range(len(columns))

        def cells(matrix):  # row by row, a value per column
            return [line[i] for line in matrix for i in across]
        edges = cells(m["edge"])
        data = {"col": [i for _ in rows for i in across],
                "row": [j for j in range(len(rows)) for _ in across],
                "weight": cells(m["weight"]), "grad": cells(m["grad"]),
                "input": [columns[i] for _ in rows for i in across],
                "neuron": [neuron for neuron in rows for _ in across],
                "u": [e[0] for e in edges], "v": [e[1] for e in edges],
                "slot": [e[2] for e in edges]}
        for (fig, mapper), field in ((self.weights, "weight"), (self.grads, "grad")):
            reach = max((abs(x) for x in data[field] if x == x and abs(x) != float("inf")),
                        default=0.0) or 1.0
            mapper.update(low=-reach, high=reach)  # centred at 0
            fig.x_range.factors = list(m["columns"])
            fig.y_range.factors = list(reversed(m["rows"]))  # neuron 0 on top
            # sixty names to an axis run into each other: the tooltip names each cell then
            for axis, names in ((fig.xaxis, m["columns"]), (fig.yaxis, m["rows"])):
                axis.major_label_text_font_size = "10px" if len(names) <= LABELLED else "0px"
                axis.major_tick_line_color = "black" if len(names) <= LABELLED else None
        self.source.selected.indices = []
        self.source.data = data

    def __panel__(self):
        return self.layout
