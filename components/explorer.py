"""The explorer page: the seed's figure, live, for any expression a student types."""

from __future__ import annotations

import html
import math

import panel as pn
import param

from graphviz_core import format_number
from graphviz_core.schedule import gradient_step

from .controls import ExpressionBox, PlaybackBar, VariableSliders
from .export import standalone_file
from .graph_view import GraphView
from .model import MODES, ExplorerModel
from .release import Throttle
from .stats import stats_html
from .urlstate import query_args, write_query


URL_INTERVAL_MS = 250


class NodeDetails(pn.viewable.Viewer):
    """What a clicked node computes: its local derivatives and the chain rule with numbers."""

    model = param.ClassSelector(class_=ExplorerModel)

    def __init__(self, **params):
        super().__init__(**params)
        self.pane = pn.pane.HTML(self._render(), sizing_mode="stretch_width",
                                 css_classes=["bpx-details"])
        self.model.param.watch(lambda e: setattr(self.pane, "object", self._render()),
                               ["selected", "graph"])

    def _render(self) -> str:
        g, n = self.model.graph, self.model.selected
        if g is None or n is None or n not in g:
            return ("<div class='bpx-hint'>Click a node to see its local derivatives and how "
                    "its gradient is computed.</div>")
        node = g.nodes[n]
        loss = g.nodes[g.graph["root"]]["name"]
        rows = [f"<h4>{html.escape(node['text'])}</h4>",
                f"<div>value = <b>{format_number(node['value'], 6)}</b>"
                f" &nbsp; ∂{loss}/∂{html.escape(node['name'])} = <b>"
                f"{format_number(node['grad'], 6) if node['active'] else 'not computed'}</b></div>"]
        if node["fault"]:
            rows.append(f"<div class='bpx-fault'>⚠ {html.escape(node['fault'])}</div>")
        parents = sorted(g.in_edges(n, keys=True, data=True), key=lambda e: e[2])
        if parents:
            rows.append("<div class='bpx-sub'>Local derivatives</div><ul>")
            for u, _, _, d in parents:
                pname = html.escape(g.nodes[u]["name"])
                note = " (stop-gradient: 0 in the backward pass)" if d["blocked"] else ""
                rows.append(f"<li>∂{html.escape(node['name'])}/∂{pname} = "
                            f"{format_number(d['local'], 6)}{note}</li>")
            rows.append("</ul>")
        step = gradient_step(g, n)
        if step is not None:
            rows.append(f"<div class='bpx-sub'>Chain rule</div><code>{html.escape(step['text'])}</code>")
        elif not node["active"] and node["kind"] != "constant":
            rows.append("<div class='bpx-hint'>The backward pass skips this node: no leaf that "
                        "requires a gradient feeds it, or a stop-gradient cuts it off.</div>")
        return "".join(rows)

    def __panel__(self):
        return self.pane


class GroupBar(pn.viewable.Viewer):
    """For a grouped drawing: what the group nodes are, and buttons that close open ones."""

    model = param.ClassSelector(class_=ExplorerModel)

    def __init__(self, **params):
        super().__init__(**params)
        self.note = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bpx-groups"])
        self.close_one = pn.widgets.Button(label="Collapse", width=170, visible=False,
                                           description="Draw the clicked node's neuron as "
                                           "one node again")
        self.close_all = pn.widgets.Button(label="Collapse all", width=120, visible=False)
        self.close_one.on_click(lambda e: self.model.collapse(self._open_group()))
        self.close_all.on_click(lambda e: self.model.collapse())
        self.row = pn.Row(self.note, self.close_one, self.close_all, visible=False,
                          sizing_mode="stretch_width")
        self.model.param.watch(self._update, ["drawn", "selected"])
        self._update()

    def _open_group(self) -> str:
        """The open group of the selected node ("" if none)."""
        g, n = self.model.graph, self.model.selected
        group = g.nodes[n].get("group", "") if g is not None and n in g else ""
        return group if group in self.model.expanded else ""

    def _update(self, *events) -> None:
        drawn = self.model.drawn
        self.row.visible = drawn is not None
        if drawn is None:
            return
        groups = sum(1 for n in drawn if drawn.nodes[n]["kind"] == "group")
        opened = ", ".join(html.escape(g) for g in self.model.expanded)
        self.note.object = (
            f"<b>{len(self.model.graph):,}</b> nodes, drawn as <b>{len(drawn):,}</b>: each of "
            f"<b>{groups}</b> closed neurons (teal, e.g. <code>h1[0]</code>: its bias, "
            f"weights, products, sums and tanh) is one node that shows its output. "
            f"<b>Click one to open it.</b>" +
            (f" Open: {opened}; click one of their nodes to collapse it." if opened else ""))
        group = self._open_group()
        self.close_one.param.update(visible=bool(group), label=f"Collapse {group}")
        self.close_all.visible = bool(self.model.expanded)

    def __panel__(self):
        return self.row


class Explorer(pn.viewable.Viewer):
    """Graph / Forward / Backward for one expression, with sliders, playback and the table."""

    model = param.ClassSelector(class_=ExplorerModel)
    sync_url = param.Boolean(default=True)

    def __init__(self, **params):
        if "model" not in params:
            params["model"] = ExplorerModel(**_initial_state(query_args()))
        super().__init__(**params)
        self.view = GraphView(model=self.model)
        self.expression = ExpressionBox(model=self.model)
        self.sliders = VariableSliders(model=self.model, view=self.view)
        self.playback = PlaybackBar(model=self.model, view=self.view)
        self.details = NodeDetails(model=self.model)
        self.groups = GroupBar(model=self.model)
        self.stats = pn.pane.HTML("", css_classes=["bpx-stats-line"], sizing_mode="stretch_width")
        self.save = pn.widgets.FileDownload(
            callback=lambda: standalone_file(self.model), filename="backprop-explorer.html",
            label="Save as HTML", description="One file with sliders and playback that works "
            "offline", width=150, embed=False)
        self.model.param.watch(self._update_stats, ["graph", "mode"])
        self._update_stats()
        if self.sync_url:
            # at most every URL_INTERVAL_MS: a burst of slider releases writes the URL once
            # more at its end instead of once per release (one message to the page each)
            write = Throttle(self._write_url, URL_INTERVAL_MS)
            self.model.param.watch(lambda *events: write(), ["expression", "values", "mode", "error"])

    def _update_stats(self, *events) -> None:
        if self.model.graph is not None:
            self.stats.object = stats_html(self.model)

    def _write_url(self) -> None:
        if self.model.error:
            return
        write_query({"expr": self.model.expression, "mode": self.model.mode,
                     **{k: format_number(v, 12) for k, v in self.model.values.items()}})

    def sidebar(self):
        return pn.Column(self.expression, self.sliders, sizing_mode="stretch_width")

    def main(self):
        return pn.Column(
            self.playback, self.groups, self.view, pn.Row(self.stats, self.save, sizing_mode="stretch_width"),
            pn.Row(pn.Column(pn.pane.HTML("<h3 class='bpx-side-title'>Values</h3>"),
                             pn.pane.Bokeh(self.view.values_table, sizing_mode="stretch_width"),
                             sizing_mode="stretch_width"),
                   pn.Column(pn.pane.HTML("<h3 class='bpx-side-title'>Selected node</h3>"),
                             self.details, width=360),
                   sizing_mode="stretch_width"),
            sizing_mode="stretch_width")

    def __panel__(self):
        return pn.Row(pn.Column(self.sidebar(), width=320), self.main(), sizing_mode="stretch_width")


def _initial_state(args: dict[str, str]) -> dict:
    """Model parameters from URL query arguments (``expr``, ``mode``, one per variable)."""
    state: dict = {}
    if "expr" in args:
        state["expression"] = args["expr"][:4000]
    if args.get("mode") in MODES:
        state["mode"] = args["mode"]
    values = {}
    for key, text in args.items():
        if key in ("expr", "mode", "lesson", "lang"):
            continue
        try:
            value = float(text)
        except ValueError:
            continue
        if math.isfinite(value) and abs(value) <= 1e6:
            values[key] = value
    if values:
        state["values"] = values
    return state
