"""The explorer's per-session state: one expression, its values, and everything derived.

Widgets change the parameters; a derivation builds and traces the graph and lays it out,
or, while the structure stands (only values or the mode changed: a slider release),
recomputes the numbers over the traced graph's tape (:class:`graphviz_core.tape.Replay`);
views redraw from :attr:`ExplorerModel.scene`. Nothing here imports a view.
"""

from __future__ import annotations

import param

from graphviz_core import (MODES, PASSES, ExpressionError, GraphProgram, Value, parse, schedule,
                           trace)
from graphviz_core.grouping import DrawingNumbers, grouped_schedule
from graphviz_core.levels import LEVELS, drawn_size, layer_members, level_graph
from graphviz_core.layout import layout, widen
from graphviz_core.examples import SEED
from graphviz_core.limits import GROUP_ABOVE, MLP_MAX_DRAWN
from graphviz_core.mlp import builder_from_text
from graphviz_core.rules import same_number, slider_reach  # the page's rules too
from graphviz_core.tape import Replay, constant_variables

from .budget import Deriver
from .loop_first import checkpoint
from .scene import page_steps, scene_data, with_numbers
from .shared_derivations import shared_derivations

SLIDER_SPAN = 3.0  # every slider covers at least -3..3


class ExplorerModel(param.Parameterized):
    """One student's explorer: what they typed, where the sliders are, what they look at.

    ``ExplorerModel(root=value)`` explores a graph built with the ``Value`` API (or brought
    by :func:`~graphviz_core.from_micrograd` / :func:`~graphviz_core.from_torch`) instead
    of typed text: a :class:`~graphviz_core.GraphProgram` rebuilds it for each set of
    slider values, and :attr:`expression` holds its description.
    """

    expression = param.String(default=SEED.source, doc="The expression being explored.")
    values = param.Dict(default={}, doc="Variable name -> value.")
    requires_grad = param.Dict(default={}, doc="Leaf name -> False where it is switched off.")
    kinds = param.Dict(default={}, doc="Leaf name -> role, where it differs from the default.")
    mode = param.Selector(default="graph", objects=list(MODES), doc="A graphviz_core.Mode.")
    selected = param.Integer(default=None, allow_None=True, doc="The clicked node (traced index).")
    expanded = param.List(default=[], doc="Open groups (layers, neurons), oldest first.")
    level = param.Selector(default="", objects=["", *LEVELS], doc=(
        "A network's level of detail: 'layer', 'neuron' or 'op' (graphviz_core.levels); "
        "'' chooses: a node per layer above GROUP_ABOVE traced nodes, else every op."))
    inspected = param.String(default="", doc="The layer or neuron last opened (its details).")

    # derived, read-only for views
    error = param.String(default="", doc="Why the typed expression was not used.")
    error_position = param.Integer(default=None, allow_None=True)
    error_words = param.Parameter(default=None, doc="The error as (key, fields) for the "
                                  "page's language (components.words.error_text); None if "
                                  "it has no key.")
    variables = param.List(default=[], doc="Variable names, in order of first appearance.")
    graph = param.Parameter(default=None, doc="The traced networkx graph.")
    drawn = param.Parameter(default=None, doc="Its grouped drawing (None: drawn as traced).")
    drawn_level = param.String(default="op", doc="The level the drawing shows.")
    scene = param.Dict(default={}, doc="The scene: everything the page draws, as plain data (components/scene.py).")

    def __init__(self, root: Value | GraphProgram | None = None, **params):
        program = root if root is None or isinstance(root, GraphProgram) or hasattr(root, "build") \
            else GraphProgram(root)
        if program is not None:
            params.setdefault("expression", program.source)
        super().__init__(**params)
        self._program = program
        self._expression = None
        self._drawing = (None, {}, {})  # (graph structure, positions, edge -> points)
        self._schedules = (None, {})  # (what the steps depend on, steps)
        # what re-derives the graph shown while its structure stands: (what the structure
        # depends on, the variables drawn as constants, _constants(), Replay and
        # DrawingNumbers - both None until the first re-derivation makes them)
        self._replays = None
        self._sizes = (0, 0, 0)  # the traced graph's nodes, edges, pruned nodes (sizes())
        # the shared derivation (components.shared_derivations) the graph shown is, while it
        # is: other sessions read it too, so the first change of numbers copies it first
        self._shared = None
        # the page is built from the first derivation: it runs at once, later ones may not
        self._deriver = Deriver(self._prepare, self._show, self._estimate, at_once=True)
        self._apply_expression()
        if self._expression is None:  # a bad expression in a link: show the seed and say why
            message, position, words = self.error, self.error_position, self.error_words
            self.expression = SEED.source
            at = "" if position is None else f" at position {position}"
            self.param.update(error=f"the link's expression was not used ({message}{at})",
                              error_position=None,
                              error_words=words and ("link_not_used",
                                                     {"error": words, "pos": position}))
        if self.graph is None:  # applying the expression derived it already, unless unchanged
            self._derive()
        self._deriver.at_once = False

    @param.depends("expression", watch=True)
    def _apply_expression(self) -> None:
        try:
            parsed = self._parse(self.expression)
        except ExpressionError as e:
            self.param.update(error=e.message, error_position=e.position,
                              error_words=(e.key, e.fields) if e.key else None)
            return
        first, self._expression = self._expression is None, parsed
        defaults = getattr(parsed, "defaults", None) or (
            SEED.values if parsed.variables == tuple(SEED.values) else {})
        values = {name: float(self.values.get(name, defaults.get(name, 1.0)))
                  for name in parsed.variables}
        unchanged = list(parsed.variables) == self.variables and values == self.values
        # the first expression keeps what a link opened; a new one starts closed
        reset = {} if first else {"expanded": [], "inspected": ""}
        with param.parameterized.batch_call_watchers(self):
            self.param.update(error="", error_position=None, error_words=None,
                              variables=list(parsed.variables),
                              values=values, selected=None, **reset)
        if unchanged:  # same variables and values (x*2 -> x*3): no watcher re-derives
            self._derive()

    def explore(self, builder) -> None:
        """Explore another graph without text: a :class:`~graphviz_core.GraphProgram` or a
        builder like :class:`~graphviz_core.mlp.ScalarMLP` (``variables``, ``source``,
        ``build``, ``node_count``); :attr:`expression` becomes its description."""
        self._program = builder
        if builder.source == self.expression:
            self._apply_expression()
        else:
            self.expression = builder.source

    def _parse(self, text: str):
        """What ``text`` builds: the model's own graph for its description, else typed text."""
        if self._program is not None and text == self._program.source:
            return self._program
        return builder_from_text(text) or parse(text)

    @param.depends("values", "requires_grad", "kinds", "variables", "mode", "expanded",
                   "level", watch=True)
    def _derive(self) -> None:
        if self._expression is not None:
            self._deriver.request()  # at once, or off the event loop if heavy (budget.py)

    def _estimate(self) -> int:
        """At most how many nodes the next derivation traces, known before building; a
        re-derivation over the tape counts a tenth of its nodes (it costs about a tenth of a
        full one per node: figures in bench/README.md)."""
        count = self._expression.node_count()
        return count // 10 if self._over_tape(self._structure_key()) else count

    def _structure_key(self) -> tuple:
        """What the graph, its drawing and its steps depend on besides the variables' values."""
        return (self._expression, tuple(sorted(self.requires_grad.items())),
                tuple(sorted(self.kinds.items())), tuple(self.expanded), self.level)

    def _over_tape(self, key: tuple) -> bool:
        """Whether the graph shown is re-derived over its tape: ``key`` and the values of the
        variables drawn as constants are those it was made at."""
        if self._replays is None or self._replays[0] != key or not self.scene:
            return False
        values = {name: self.values.get(name, 1.0) for name in self._expression.variables}
        return self._replays[2] == _constants(self._replays[1], values)

    def _prepare(self):
        """The next derivation, on the state of this tick: a function that may run in a
        worker thread (it touches only its own copies, the layout and step caches, and
        computes numbers without writing them into the graph shown)."""
        expression, requires_grad, kinds = self._expression, dict(self.requires_grad), dict(self.kinds)
        mode, expanded, ranges = self.mode, list(self.expanded), self.slider_ranges()
        level = self.level
        values = {name: self.values.get(name, 1.0) for name in expression.variables}
        key = self._structure_key()
        if self._over_tape(key):
            _, _, _, replay, copy = self._replays
            scene, shared_entry, graph, drawn = self.scene, self._shared, self.graph, self.drawn

            def rederive() -> tuple:  # only numbers (or the mode) changed: over the tape
                own_graph, own_drawn, own_replay, own_copy = graph, drawn, replay, copy
                if shared_entry is not None:  # read by other sessions too: write into a copy
                    own_graph, own_drawn = shared_entry.copy()[:2]
                    own_replay = None
                if own_replay is None:  # the tape is read when first replayed, not at open
                    own_replay = Replay(own_graph, expression.variables)
                    own_copy = None if own_drawn is None else DrawingNumbers(own_drawn, own_graph)
                numbers = own_replay.run(values)
                checkpoint()  # the loop's way, as in a full derivation (fresh)
                return (expression, own_replay, own_copy, numbers,
                        with_numbers(scene, numbers, mode, ranges), (own_graph, own_drawn))
            return rederive

        shared = self._shared_key(expression, values, requires_grad, kinds, mode, expanded,
                                  level, ranges)
        opening = self._deriver.at_once  # the page's first derivation: the link's

        def derive() -> tuple:
            cache = shared_derivations() if shared is not None else None
            entry = cache.get(shared) if cache is not None else None
            if entry is None:
                made = fresh()
                if opening and cache is not None:  # shown as it is, by this session too
                    entry = cache.share(shared, made)
            else:
                made = entry.value
            graph, drawn, shown_level, scene, sizes = made
            names = constant_variables(graph, expression.variables)
            replays = (key, names, _constants(names, values), None, None)
            return expression, graph, drawn, shown_level, scene, replays, entry, sizes

        def fresh() -> tuple:
            # a network (anything built with neuron groups, as ScalarMLP) is drawn by levels
            groups = {} if getattr(expression, "neurons", False) else None
            extra = {} if groups is None else {"groups": groups}
            # in a worker thread, each phase gives the event loop way if it has work
            # (components/loop_first.py; nothing elsewhere)
            root = expression.build(values, requires_grad, kinds, **extra)
            checkpoint()
            graph = trace(root, groups=groups)
            checkpoint()
            shown_level = drawing_level(level, len(graph)) if groups else "op"
            drawn = (None if shown_level == "op" else
                     level_graph(graph, shown_level, expanded, limit=MLP_MAX_DRAWN))
            checkpoint()
            shown = graph if drawn is None else drawn
            structure = _structure(shown)
            positions = self._layout(shown, structure)
            steps = self._steps(graph, drawn, structure)
            checkpoint()
            scene = scene_data(shown, positions, steps, mode, ranges,
                               traced=None if drawn is None else graph)
            checkpoint()
            return graph, drawn, shown_level, scene, graph_sizes(graph)
        return derive

    def _shared_key(self, expression, values, requires_grad, kinds, mode, expanded, level,
                    ranges) -> tuple | None:
        """What a full derivation depends on, as a key of :func:`shared_derivations` (the
        same for every session that opens the same link); None for a graph given as a
        program (its description does not determine it)."""
        if expression is self._program:
            return None
        return (type(expression).__name__, expression.source,
                tuple((name, repr(values[name])) for name in expression.variables),
                tuple(sorted(requires_grad.items())), tuple(sorted(kinds.items())), mode,
                tuple(expanded), level, tuple(sorted(ranges.items())))

    def _show(self, derived: tuple) -> None:
        if derived[0] is not self._expression:  # typed over meanwhile: its derivation follows
            return
        if isinstance(derived[1], Replay):  # new numbers for the graph shown
            _, replay, copy, numbers, scene, (graph, drawn) = derived
            self._replays = (*self._replays[:3], replay, copy)
            if graph is not self.graph:  # this session's own copy of a shared derivation, from now on
                self._shared = None
                with param.parameterized.discard_events(self):
                    self.param.update(graph=graph, drawn=drawn)
            replay.write(numbers)
            if copy is not None:
                copy.write()
            self.param.trigger("graph", "drawn")
            self.scene = scene
            return
        _, graph, drawn, shown_level, scene, self._replays, self._shared, self._sizes = derived
        self.graph, self.drawn, self.drawn_level = graph, drawn, shown_level
        self.scene = scene

    def shares_scene(self, scene: dict) -> bool:
        """Whether ``scene`` is the shared derivation's (other sessions show the same object:
        read it, never write it)."""
        return self._shared is not None and scene is self.scene

    def sizes(self) -> tuple[int, int, int]:
        """The traced graph's nodes, edges and pruned nodes (counted where it was derived:
        counting the edges of an 11,586-node graph is ~0.1 s, too long for the event loop)."""
        return self._sizes

    # --- levels of detail: a click on a layer or a neuron opens it ------------------------------
    def tap(self, index: int | None) -> None:
        """A click on drawn node ``index``: a layer or neuron opens, any other node is
        selected."""
        drawn = self.drawn
        if drawn is None or index is None or index not in drawn:
            self.selected = index if drawn is None else None
            return
        node = drawn.nodes[index]
        if node["kind"] in GROUP_KINDS:
            self.expand(node["name"])
        else:
            self.selected = node["tape"]

    def expand(self, group: str) -> None:
        """Draw ``group`` (a layer or a neuron) open; the oldest open groups close when the
        drawing would exceed ``MLP_MAX_DRAWN`` nodes."""
        if self.drawn is None or group in self.expanded:
            return
        if not any(self.drawn.nodes[n]["name"] == group and self.drawn.nodes[n]["kind"] in
                   GROUP_KINDS for n in self.drawn):
            return
        opened = list(self.expanded) + [group]
        while len(opened) > 1 and drawn_size(self.graph, self.drawn_level, opened) > MLP_MAX_DRAWN:
            opened.pop(0)
        if drawn_size(self.graph, self.drawn_level, opened) <= MLP_MAX_DRAWN:
            self.param.update(expanded=opened, selected=None, inspected=group)

    def collapse(self, group: str | None = None) -> None:
        """Draw ``group`` (every group when None) closed again; closing a layer closes
        the neurons open inside it."""
        kept = [] if group is None else [g for g in self.expanded
                                         if g != group and g.partition("[")[0] != group]
        if kept != self.expanded:
            self.param.update(expanded=kept, selected=None,
                              inspected=kept[-1] if kept else "")

    def back(self) -> None:
        """Close the group opened last (the way back, a level up)."""
        if self.expanded:
            self.collapse(self.expanded[-1])

    def set_level(self, level: str) -> None:
        """Draw at ``level`` ('layer', 'neuron', 'op'), everything closed."""
        if level != self.level or self.expanded:
            self.param.update(level=level, expanded=[], selected=None, inspected="")

    def layers(self) -> list[str]:
        """The network's layers in order (``[]`` for a graph without neurons)."""
        return list(layer_members(self.graph)) if self.drawn is not None else []

    def _layout(self, graph, structure: tuple) -> dict:
        """:func:`layout` (widened), reused while only numbers change (a slider release).

        The drawing depends on the graph's structure alone: its nodes and its edges with
        their operand slots. Layout is the largest part of a re-derivation (figures in
        bench/README.md), and a slider release changes numbers only.
        """
        edges = graph.edges(keys=True, data=True)
        cached, positions, points = self._drawing
        if structure != cached:
            positions = widen(graph, layout(graph))
            points = {(u, v, k): d["points"] for u, v, k, d in edges}
            self._drawing = (structure, positions, points)
        else:
            for u, v, k, d in edges:
                d["points"] = list(points[u, v, k])
        return positions

    def _steps(self, graph, drawn, structure: tuple) -> dict:
        """Both passes' steps as the page reads them, reused while only numbers change.

        Without their numbers (:func:`~components.scene.page_steps`) the steps depend on
        what each node is (name, op, exponent, constant, kind, whether the backward pass
        visits it) and on the drawing, so a slider release need not schedule again.
        """
        key = (tuple((d["name"], d["op"], d.get("param"), d["kind"], d["active"],
                      d["value"] if d["kind"] == "constant" else None)
                     for _, d in graph.nodes(data=True)), structure)
        cached, steps = self._schedules
        if key != cached:
            steps = {mode: page_steps(schedule(graph, mode) if drawn is None else
                                      grouped_schedule(graph, drawn, mode))
                     for mode in PASSES}
            self._schedules = (key, steps)
        return steps

    def set_expression(self, text: str) -> None:
        """Apply typed text; a bad expression sets :attr:`error` and keeps the last graph."""
        if text == self.expression and not self.error:
            return
        self.expression = text

    def set_value(self, name: str, value: float) -> None:
        self.set_values({name: value})

    def set_values(self, values: dict[str, float]) -> None:
        """Change several variables at once: one re-derivation."""
        old = self.values
        changed = {k: float(v) for k, v in values.items()
                   if k in old and not same_number(old[k], float(v))}
        if not changed:
            return
        self.values = {**old, **changed}
        if all(old[k] == v for k, v in changed.items()):
            # equal by == but not by bits (0.0 -> -0.0): param sees no change and would call
            # no watcher, yet -0.0 is drawn differently ((-0.0)**-1 = -inf)
            self.param.trigger("values")

    def set_requires_grad(self, name: str, flag: bool) -> None:
        current = dict(self.requires_grad)
        if flag:
            current.pop(name, None)
        else:
            current[name] = False
        self.requires_grad = current

    def slider_ranges(self) -> dict[str, tuple[float, float]]:
        """Slider bounds per variable: -3..3 at least, widened to hold the value."""
        ranges = {}
        for name, value in self.values.items():
            reach = slider_reach(value, SLIDER_SPAN)
            ranges[name] = (-reach, reach)
        return ranges


GROUP_KINDS = ("group", "layer")  # drawn nodes that open on a click


def drawing_level(level: str, traced: int) -> str:
    """The level a network of ``traced`` nodes is drawn at when ``level`` is asked for:
    ``''`` chooses (layers above ``GROUP_ABOVE`` nodes, else every op), and ops are drawn
    only up to ``GROUP_ABOVE`` nodes.

    Examples
    --------
    >>> drawing_level("", 11586), drawing_level("", 107), drawing_level("op", 11586)
    ('layer', 'op', 'layer')
    """
    if traced > GROUP_ABOVE and level in ("", "op"):
        return "layer"
    return level or "op"


def graph_sizes(graph) -> tuple[int, int, int]:
    """Nodes, edges, and nodes the backward pass skips (pruned; constants aside) of a traced
    graph: its structure only, so a re-derivation over the tape keeps them.

    >>> from graphviz_core import parse, trace
    >>> graph_sizes(trace(parse("x*x + sg(y)").build({"x": 2.0, "y": 1.0}, {}, {})))
    (5, 5, 1)
    """
    edges = sum(len(keys) for _, neighbours in graph.adjacency() for keys in neighbours.values())
    pruned = sum(1 for _, d in graph.nodes(data=True) if not d["active"] and d["kind"] != "constant")
    return len(graph), edges, pruned


def _constants(names: tuple, values: dict) -> tuple:
    """The values of the variables drawn as constants (``names``): the steps' formulas show
    them, so a change of one is a change of structure (``repr`` tells -0.0 from 0.0)."""
    return tuple((name, repr(values[name])) for name in names)


def _structure(graph) -> tuple:
    """What a drawing depends on: the nodes, and the edges with their operand slots."""
    return (tuple(graph), tuple((u, v, k, d.get("slot")) for u, v, k, d in
                                graph.edges(keys=True, data=True)))
