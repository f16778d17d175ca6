"""The explorer page: the seed's figure, live, for any expression a student types."""

from __future__ import annotations

import html
import json
import math

import panel as pn
import param

from graphviz_core import MODES, format_number
from graphviz_core.grouping import group_members
from graphviz_core.levels import LEVELS, layer_norms, layer_outputs
from graphviz_core.limits import GROUP_ABOVE
from graphviz_core.schedule import gradient_step

from . import display, later
from .budget import FirstShown
from .controls import LINK_LIMIT, ExpressionBox, PlaybackBar, VariableSliders
from .export import standalone_file, standalone_html
from .graph_view import RUN_PLAYER, GraphView
from .matrix_view import LayerMatrix
from .descent import StepPanel
from .model import GROUP_KINDS, ExplorerModel
from .passes import PassesPanel
from .pytorch_view import CODE_CLASS, PyTorchView
from .release import Throttle
from .rows import wrapping_row
from .stats import STATS_CLASS, stats_html, stats_template
from .texts import (FAULT_HTML, attach, fault_ref, fill_text, if_active, is_offline, server_only, site_keep,
                    site_link, site_save, url_key)
from .urlstate import query_args, write_query
from .views import ModelView
from .words import ui


URL_INTERVAL_MS = 250
# the static site's examples menu: the page of the example picked
EXAMPLE_JS = "const file = files[cb_obj.value]; if (file) window.location.href = file"


class NodeDetails(ModelView):
    """What a clicked node computes: its local derivatives and the chain rule with numbers."""

    def __init__(self, **params):
        super().__init__(**params)
        # only displays: its model goes into the block with the values table
        self.pane = display.Text(self._render(), sizing_mode="stretch_width",
                                 css_classes=["bpx-details"])
        self.model.param.watch(lambda e: setattr(self.pane, "object", self._render()),
                               ["selected", "graph", "inspected", "mode"])

    def _render(self) -> str:
        g, n = self.model.graph, self.model.selected
        w = ui(self.lang)
        if g is not None and n is None and self.model.inspected:
            return self._group(g, self.model.inspected, w) or f"<div class='bpx-hint'>{w['details_hint']}</div>"
        if g is None or n is None or n not in g:
            return f"<div class='bpx-hint'>{w['details_hint']}</div>"
        return fill_text(self.template(g, n, self.model.mode == "predict"), g, self.lang)

    def template(self, g, n: int, hidden: bool) -> str:
        """Node ``n``'s details with its numbers as placeholders (:mod:`components.texts`);
        ``hidden``: Predict mode, where the gradients are the student's questions."""
        w = ui(self.lang)
        node = g.nodes[n]
        loss = g.nodes[g.graph["root"]]["name"]
        grad = if_active(n, "?" if hidden else f"\u27e8g|{n}~6\u27e9", w["not_computed"])
        rows = [f"<h4>{html.escape(node['text'])}</h4>",
                f"<div>{w['value_word']} = <b>\u27e8v|{n}~6\u27e9</b>"
                f" &nbsp; ∂{loss}/∂{html.escape(node['name'])} = <b>{grad}</b></div>",
                fault_ref(n)]
        parents = sorted(g.in_edges(n, keys=True, data=True), key=lambda e: e[2])
        if parents:
            rows.append(f"<div class='bpx-sub'>{w['local_derivatives']}</div><ul>")
            for u, _, slot, d in parents:
                pname = html.escape(g.nodes[u]["name"])
                note = w["sg_local_note"] if d["blocked"] else ""
                rows.append(f"<li>∂{html.escape(node['name'])}/∂{pname} = "
                            f"\u27e8l|{n}|{slot}~6\u27e9{note}</li>")
            rows.append("</ul>")
        step = None if hidden else gradient_step(g, n)
        if hidden:
            rows.append(f"<div class='bpx-hint'>{w['predict_hidden']}</div>")
            return "".join(rows)
        chain = ("" if step is None else f"<div class='bpx-sub'>{w['chain_rule']}</div>"
                 f"<code>{html.escape(step['text_template'])}</code>")
        skipped = "" if node["kind"] == "constant" else f"<div class='bpx-hint'>{w['node_skipped']}</div>"
        rows.append(if_active(n, chain, skipped))  # a requires_grad switch decides
        return "".join(rows)

    def templates(self) -> dict:
        """For a page with no server behind it: the details of every drawn node a tap
        selects (by its index in the drawing), shown and hidden (Predict), and the hint."""
        g, drawn = self.model.graph, self.model.drawn
        if g is None:
            return {}
        # a tap opens a group on the server: here its details say so
        picks = (list(g) if drawn is None else
                 [None if drawn.nodes[i]["kind"] in GROUP_KINDS else drawn.nodes[i]["tape"]
                  for i in range(len(drawn))])
        group = f"<div class='bpx-hint'>{ui(self.lang)['static_group_open']}</div>"
        return {"shown": [group if n is None else self.template(g, n, False) for n in picks],
                "hidden": [group if n is None else self.template(g, n, True) for n in picks],
                "hint": f"<div class='bpx-hint'>{ui(self.lang)['details_hint']}</div>",
                "fault": FAULT_HTML}

    def _group(self, g, group: str, w) -> str:
        """The layer or neuron opened last: its output (a layer's norms) and gradient."""
        loss = g.nodes[g.graph["root"]]["name"]
        outputs = layer_outputs(g)
        if group in outputs:
            value, grad = layer_norms(g)[group]
            return "<div>" + w["layer_details"].format(
                layer=html.escape(group), n=len(outputs[group]), loss=html.escape(loss),
                value=format_number(value, 6), grad=format_number(grad, 6)) + "</div>"
        members = group_members(g).get(group)
        if not members:
            return ""
        out = g.nodes[members[-1]]
        return (f"<h4>{html.escape(group)}</h4><div>{w['value_word']} = <b>"
                f"{format_number(out['value'], 6)}</b> &nbsp; ∂{html.escape(loss)}/∂"
                f"{html.escape(group)} = <b>{format_number(out['grad'], 6)}</b></div>")

    def __panel__(self):
        return display.block(display.column(self.pane.model, sizing_mode="stretch_width"))


class GroupBar(ModelView):
    """For a network drawn by levels: the level switch, what the drawing shows, and the way
    back (close the group opened last, or everything)."""

    def __init__(self, **params):
        super().__init__(**params)
        self.labels = {self.words[f"level_{level}"]: level for level in LEVELS}
        # empty until a network is shown (most pages never show one): its widgets are made
        # and become models of the page then (:meth:`_build`)
        self.level = None
        # its widgets made on a turn of the loop of their own (the derivation's result is
        # applied in another), then the bar shown as the model is now
        self._first = FirstShown(self._build_if_shown, then=self._update)
        self.row = pn.Column(visible=False, sizing_mode="stretch_width")
        self.model.param.watch(self._update, ["drawn", "selected", "graph"])
        self._update()

    def _build_if_shown(self) -> None:
        if self.level is None and self._network():
            self._build()

    def _build(self) -> None:
        """The bar's widgets, the first time a network is shown."""
        w = self.words
        self.level = pn.widgets.RadioButtonGroup(
            name=w["level"], options=list(self.labels), button_type="default",
            description=w["level_hint"], css_classes=["bpx-level"])
        self.level.param.watch(lambda e: self.model.set_level(self.labels[e.new]), "value")
        self.note = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bpx-groups"])
        self.back = pn.widgets.Button(label=w["level_back"].format(group=""), visible=False,
                                      css_classes=["bpx-level-back"])
        self.close_one = pn.widgets.Button(label=w["collapse"].format(group=""), width=170,
                                           visible=False, description=w["collapse_hint"])
        self.close_all = pn.widgets.Button(label=w["collapse_all"], width=120, visible=False)
        self.back.on_click(lambda e: self.model.back())
        self.close_one.on_click(lambda e: self.model.collapse(self._open_group()))
        self.close_all.on_click(lambda e: self.model.collapse())
        # the way back joins the bar when first shown: a layer's drawing needs none
        self.bar = pn.Row(pn.pane.HTML(f"<span class='bpx-level-label'>{w['level']}</span>"),
                          self.level, css_classes=["bpx-inline"], styles={"flex-wrap": "wrap"})
        self.row.objects = [self.bar, self.note]

    def _open_group(self) -> str:
        """The open group of the selected node ("" if none)."""
        g, n = self.model.graph, self.model.selected
        group = g.nodes[n].get("group", "") if g is not None and n in g else ""
        return group if group in self.model.expanded else ""

    def _network(self) -> bool:
        model = self.model
        return model.graph is not None and bool(model.layers() or model.drawn_level == "op"
                                                and _is_network(model))

    def _update(self, *events) -> None:
        model = self.model
        network = self._network()
        if network and self.level is None:  # the first network shown: the widgets first
            self._first.ask()
            return
        self.row.visible = network
        if not network:
            return
        w = self.words
        small = len(model.graph) <= GROUP_ABOVE
        options = [label for label, level in self.labels.items() if level != "op" or small]
        label = next(k for k, v in self.labels.items() if v == model.drawn_level)
        with param.parameterized.discard_events(self.level):
            self.level.param.update(options=options, value=label)
        self.note.object = level_note(model, w)
        last = model.expanded[-1] if model.expanded else ""
        self.back.param.update(visible=bool(last), label=w["level_back"].format(group=last))
        group = self._open_group()
        self.close_one.param.update(visible=bool(group) and group != last,
                                    label=w["collapse"].format(group=group))
        self.close_all.visible = len(model.expanded) > 1
        ways_back = (self.back, self.close_one, self.close_all)
        if len(self.bar.objects) == 2 and any(b.visible for b in ways_back):
            self.bar.extend(ways_back)

    def __panel__(self):
        return self.row


def level_note(model: ExplorerModel, w: dict) -> str:
    """What a network's drawing shows at its level (GroupBar's note; "" drawn op by op)."""
    drawn = model.drawn
    if drawn is None:
        return ""
    groups = sum(1 for n in drawn if drawn.nodes[n]["kind"] == "group")
    opened = ", ".join(html.escape(g) for g in drawn.graph.get("open", []))
    note = w["layers_note"] if model.drawn_level == "layer" else w["groups_note"]
    return (note.format(nodes=f"{len(model.graph):,}", drawn=f"{len(drawn):,}", groups=groups)
            + (w["groups_open"].format(opened=opened) if opened else ""))


def _is_network(model: ExplorerModel) -> bool:
    """Whether the model's graph has neurons (a network drawn op by op can be drawn by layer)."""
    return any(g for _, g in model.graph.nodes(data="group", default=""))


class Explorer(ModelView):
    """Graph / Forward / Backward for one expression, with sliders, playback and the table."""

    sync_url = param.Boolean(default=True)
    editable = param.Boolean(default=True, doc="Show the expression box (off for a graph "
                             "handed over as a Value: it has no text to edit).")

    def __init__(self, **params):
        if "model" not in params:
            params["model"] = ExplorerModel(**initial_state(query_args()))
        super().__init__(**params)
        lang = self.lang
        w = self.words
        self.view = GraphView(model=self.model, lang=lang)
        self.expression = ExpressionBox(model=self.model, lang=lang)
        self.sliders = VariableSliders(model=self.model, view=self.view, lang=lang,
                                       pruned_in_page=True)
        self.playback = PlaybackBar(model=self.model, view=self.view, lang=lang)
        self.details = NodeDetails(model=self.model, lang=lang)
        self.groups = GroupBar(model=self.model, lang=lang)
        self.matrix = LayerMatrix(model=self.model, view=self.view, lang=lang)
        self.passes = PassesPanel(model=self.model, lang=lang)
        self.pytorch = PyTorchView(model=self.model, lang=lang)
        # a step of descent is far down the page: built when first on screen
        self.descent = None
        self.descent_place = later.column(self._descent, sizing_mode="stretch_width")
        self.stats = pn.pane.HTML("", css_classes=["bpx-stats-line"], sizing_mode="stretch_width")
        self.save = pn.widgets.FileDownload(
            callback=lambda: standalone_file(self.model, lang), filename="backprop-explorer.html",
            label=w["save_html"], description=w["save_html_hint"], width=150, embed=False)
        self.model.param.watch(self._update_stats, ["graph", "mode"])
        self._update_stats()
        # the written-out passes show every gradient: not while the student predicts them
        self.reveals = pn.Column(self.passes, sizing_mode="stretch_width",
                                 visible=self.model.mode != "predict")
        self.model.param.watch(lambda e: setattr(self.reveals, "visible", e.new != "predict"),
                               "mode")
        if is_offline():
            self._offline()
        if self.sync_url:
            # at most every URL_INTERVAL_MS: a burst of slider releases writes the URL once
            # more at its end instead of once per release (one message to the page each)
            write = Throttle(self._write_url, URL_INTERVAL_MS)
            self.model.param.watch(lambda *events: write(),
                                   ["expression", "values", "mode", "error", "drawn"])

    def _levels(self) -> list[dict]:
        """A network's drawing at each level its switch offers (in the switch's order), for a
        page with no server behind it (``static/explorer/levels.mjs``): everything closed,
        at the page's values, mode and switches, as the server draws it after the same
        click (``ExplorerModel.set_level``) - its scene, the figure's height and padding
        (``GraphView``), its nodes' details and the bar's note. The page's replay moves the
        numbers from there as on any scene. On a page of the static site each level but the
        one drawn first is a file beside the page (``{"url": ...}``, :func:`texts.site_keep`),
        fetched on the first switch to it: a big network's neuron drawing would triple its
        page; a page with no keeper (the live server's static-first page) carries them all."""
        model, groups, view = self.model, self.groups, self.view
        keep = site_keep()
        out = []
        for label in groups.level.options:
            level = groups.labels[label]
            first = level == model.drawn_level and not model.expanded
            other = model if first else ExplorerModel(
                expression=model.expression, values=dict(model.values), mode=model.mode,
                requires_grad=dict(model.requires_grad), kinds=dict(model.kinds), level=level)
            scene = other.scene
            # the first drawing's scene is the page's own (levels.mjs takes it from there)
            entry = {"scene": None if first else view._encode({**scene, "lang": self.lang}),
                     "height": view._height_for(scene),
                     "padding": view.padding_for(scene),
                     "details": NodeDetails(model=other, lang=self.lang).templates(),
                     "note": level_note(other, self.words)}
            # the site's page: the other levels are files beside it, fetched on a first switch
            out.append(entry if first or keep is None else
                       {"url": keep(f"{level}.json", json.dumps(entry, separators=(",", ":")))})
        return out

    def _descent(self) -> list:
        self.descent = StepPanel(model=self.model, lang=self.lang)
        if is_offline():  # no server behind the page: the step is taken in the page
            self.descent.offline(self.view)
        return [self.descent]

    def _offline(self) -> None:
        """A page with no server behind it (the static site) writes the node details and
        the passes itself, from these templates and its tape replay (components/texts.py)."""
        box = self.expression
        # typed text needs the parser, the rest a new derivation: the page's note says so
        groups = self.groups  # its bar is made only for a network
        # the level switch works in the page (every level's drawing made now: _levels); the
        # ways back close opened groups, which only the server opens
        bar = () if groups.level is None else (groups.back, groups.close_one, groups.close_all)
        save = site_save()
        if save is None:  # the file is the server's
            server_only(box.input, *bar, self.save)
        else:  # the page makes it: the saved file of its first state, at the page's state now
            server_only(box.input, *bar)
            self.save.jscallback(args=self.view.player_args(
                "save", modes=list(MODES), filename=self.save.filename,
                **save(standalone_html(self.model, self.lang))), _clicks=RUN_PLAYER)
        url_key("expr", box.input)
        if groups.level is not None:
            url_key("level", groups.level, [groups.labels[label] for label in groups.level.options])
            groups.level.jscallback(args=self.view.player_args(
                "level", levels=self._levels(), loading=self.words["level_loading"],
                failed=self.words["level_failed"]), value=RUN_PLAYER)
        # an example of the menu is a page of the site
        files = {label: site_link("graph", self.lang, {"expr": source, "lang": self.lang})
                 for label, source in box.choices.items()}
        box.examples.jscallback(args={"files": files}, value=EXAMPLE_JS)
        program = self.pytorch.offline()
        attach(self.view, details=self.details.templates(), passes=self.passes.templates(),
               panes=[(STATS_CLASS, stats_template(self.model, self.lang))]
               + ([] if program is None else [(CODE_CLASS, program)]),
               models={"details": self.details.pane.model, "forward": self.passes.forward.model,
                       "backward": self.passes.backward.model})

    def _update_stats(self, *events) -> None:
        if self.model.graph is not None:
            self.stats.object = stats_html(self.model, self.lang)

    def _write_url(self) -> None:
        if self.model.error:
            return
        off = [n for n, flag in self.model.requires_grad.items() if not flag]
        write_query({"expr": self.model.expression, "mode": self.model.mode,
                     **{k: format_number(v, 12) for k, v in self.model.values.items()},
                     **level_query(self.model), **({"off": ",".join(off)} if off else {})})

    def sidebar(self):
        if not self.editable:
            title = pn.pane.HTML(f"<h3 class='bpx-side-title'>{html.escape(self.model.expression)}"
                                 "</h3>", sizing_mode="stretch_width")
            return pn.Column(title, self.sliders, sizing_mode="stretch_width")
        return pn.Column(self.expression, self.sliders, sizing_mode="stretch_width")

    def main(self):
        return pn.Column(
            self.playback, self.groups, self.view,
            wrapping_row(self.stats, self.save, align_items="center"),
            self.matrix,
            self.reveals, self.descent_place,
            # side by side where there is room, the details under the table on a phone (a Row
            # that wraps: in a FlexBox the values table fails to render, SlickGrid finding no
            # stylesheet)
            # (all of it only displays: one block)
            self._values_and_details(),
            self.pytorch,
            sizing_mode="stretch_width")

    def _values_and_details(self):
        title = "<h3 class='bpx-side-title'>{}</h3>"
        display.styled(self.view.values_table)
        self.view.values_table.sizing_mode = "stretch_width"
        return display.block(display.row(
            display.column(display.html(title.format(self.words["values"])),
                           self.view.values_table, sizing_mode="stretch_width",
                           styles={"flex": "2 1 340px"}),
            display.column(display.html(title.format(self.words["selected_node"])),
                           self.details.pane.model, sizing_mode="stretch_width",
                           styles={"flex": "1 1 280px", "max-width": "460px"}),
            sizing_mode="stretch_width", styles={"flex-wrap": "wrap", "column-gap": "16px"}))

    def __panel__(self):
        return pn.Row(pn.Column(self.sidebar(), width=320), self.main(), sizing_mode="stretch_width")


MAX_OPEN = 64  # names in a link's `open`: far more than a drawing can hold open


def level_query(model: ExplorerModel) -> dict[str, str]:
    """The URL's ``level`` and ``open`` for a network (none for other graphs): the level
    drawn and the groups drawn open, oldest first, comma-separated."""
    if model.graph is None or not (model.drawn is not None or _is_network(model)):
        return {}
    query = {"level": model.drawn_level}
    opened = model.drawn.graph.get("open", []) if model.drawn is not None else []
    if opened:
        query["open"] = ",".join(opened)
    return query


def initial_state(args: dict[str, str]) -> dict:
    """Model parameters from URL query arguments (``expr``, ``mode``, ``level``, ``open``,
    ``off``: leaves switched to requires_grad=False, comma-separated; one per variable;
    ``live`` is the static-first server's, not a variable)."""
    state: dict = {}
    if "expr" in args:
        state["expression"] = args["expr"][:4000]
    if args.get("mode") in MODES:
        state["mode"] = args["mode"]
    if args.get("level") in LEVELS:
        state["level"] = args["level"]
    if args.get("open"):
        state["expanded"] = [name.strip() for name in args["open"].split(",")[:MAX_OPEN]
                             if name.strip()]
        state["inspected"] = state["expanded"][-1] if state["expanded"] else ""
    off = [name.strip() for name in args.get("off", "").split(",") if name.strip()]
    if off:
        state["requires_grad"] = {name: False for name in off[:MAX_OPEN]}
    values = {}
    for key, text in args.items():
        if key in ("expr", "mode", "lesson", "lang", "level", "open", "off", "live"):
            continue
        try:
            value = float(text)
        except ValueError:
            continue
        if math.isfinite(value) and abs(value) <= LINK_LIMIT:
            values[key] = value
    if values:
        state["values"] = values
    return state
