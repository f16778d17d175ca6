"""Everything the browser draws for one graph, as one JSON document.

The browser modules (``static/explorer/``, joined by ``components/bundle.py``) turn
it into the figure's data sources, replay the tape while a slider moves, and play the pass
schedules.
"""

from __future__ import annotations

import json
import math
import threading
import weakref

import networkx as nx

from graphviz_core.engine import blocks_gradient
from graphviz_core.tape import to_tape

FORMAT_VERSION = 1


def scene_data(graph: nx.MultiDiGraph, positions: dict, steps: dict, mode: str,
               ranges: dict, traced: nx.MultiDiGraph | None = None) -> dict:
    """Plain data for one traced graph: nodes, edges, tape, schedules, mode.

    With ``traced``, ``graph`` is its grouped drawing (:func:`graphviz_core.grouping.
    group_graph`): the tape is the traced graph's, and the scene gains ``nodes.tape``
    (the tape index each drawn node shows), ``nodes.members`` (member count, 0 for a
    plain node), ``nodes.group`` (group id or ``""``), ``nodes.outputs`` (a layer's output
    vector as tape indices, ``[]`` for other nodes: a layer shows its norm), ``edges.via``
    (per drawn edge, the ``[tape child, slot]`` traced edges it stands for), ``edges.tails``
    (the tape parent of each of them) and ``level`` (:mod:`graphviz_core.levels`). Steps
    index drawn nodes and edges; their placeholders index the tape.
    """
    nodes = graph.nodes
    order = list(graph)
    root = graph.graph.get("root", len(order) - 1)
    edges = sorted(graph.edges(keys=True, data=True), key=lambda e: (e[1], e[2]))
    data = {
        "version": FORMAT_VERSION,
        "mode": mode,
        "nodes": {
            "id": order,
            "name": [nodes[n]["name"] for n in order],
            "op": [nodes[n]["op"] for n in order],
            "symbol": [nodes[n]["symbol"] for n in order],
            "kind": ["loss" if n == root and nodes[n]["op"] else
                     "sg" if blocks_gradient(nodes[n]["op"]) else nodes[n]["kind"] for n in order],
            "x": [positions[n][0] for n in order],
            "y": [positions[n][1] for n in order],
            "text": [nodes[n]["text"] for n in order],
            "requires_grad": [bool(nodes[n]["requires_grad"]) for n in order],
            "fault": [nodes[n]["value_fault"] or "" for n in order],
        },
        "edges": {
            "u": [u for u, _, _, _ in edges],
            "v": [v for _, v, _, _ in edges],
            "slot": [k for _, _, k, _ in edges],
            "xs": [[p[0] for p in d["points"]] for _, _, _, d in edges],
            "ys": [[p[1] for p in d["points"]] for _, _, _, d in edges],
            "blocked": [bool(d["blocked"]) for _, _, _, d in edges],
        },
        "tape": to_tape(graph if traced is None else traced),
        # the browser fills the formula templates itself; the filled copies would double the size
        "steps": {mode: page_steps(mode_steps) for mode, mode_steps in steps.items()},
        "ranges": ranges,
        "stats": {k: graph.graph.get(k, 0) for k in ("evaluated", "skipped", "blocked")},
    }
    if traced is not None:
        data["nodes"].update(tape=[nodes[n]["tape"] for n in order],
                             members=[len(nodes[n]["members"]) for n in order],
                             group=[nodes[n]["group"] for n in order],
                             outputs=[nodes[n].get("outputs", []) for n in order])
        data["edges"]["via"] = [[list(e) for e in d["via"]] for _, _, _, d in edges]
        data["edges"]["tails"] = [d["tails"] for _, _, _, d in edges]
        data["level"] = graph.graph.get("level", "neuron")
    return data


def with_numbers(scene: dict, numbers, mode: str, ranges: dict) -> dict:
    """``scene`` at new numbers (a :class:`graphviz_core.tape.Numbers` of its tape), mode and
    slider ranges: what :func:`scene_data` gives when only those changed.

    Every other part of a scene depends on the graph's structure alone, so it is shared
    with ``scene``, not copied.
    """
    nodes = scene["nodes"]
    shows = nodes.get("tape", nodes["id"])  # the tape index each drawn node shows
    value_fault = numbers.value_fault
    return {**scene, "mode": mode, "ranges": ranges,
            "nodes": {**nodes, "fault": [value_fault[t] or "" for t in shows]},
            "tape": {**scene["tape"], "value": numbers.value}}


def page_steps(steps: list[dict]) -> list[dict]:
    """The steps as the page reads them: no numbers, only the templates it fills itself.

    The filled texts would double the scene, and numbers (a step's value, a term's
    gradient) go stale as soon as a slider moves; without them a pass's steps depend on the
    graph's structure alone, so the model can reuse them while only numbers change.
    """
    out = []
    for step in steps:
        kept = {k: v for k, v in step.items() if k not in ("text", "latex", "value", "index")}
        if "terms" in kept:
            kept["terms"] = [{"edge": t["edge"], "blocked": t["blocked"]} for t in kept["terms"]]
        out.append(kept)
    return out


def to_json(data) -> str:
    """JSON with inf and nan spelled as strings (JSON has no tokens for them)."""
    try:  # the usual case, all finite: no walk over a big scene in Python
        return json.dumps(data, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_finite(data), separators=(",", ":"))


class SceneJSON:
    """:func:`to_json` for one view's stream of scenes: a part that is the same object as in
    the last scene (a re-derivation shares every part that only depends on the structure,
    see :func:`with_numbers`) is not encoded again. The text is :func:`to_json`'s.

    >>> encode = SceneJSON()
    >>> scene = {"nodes": {"x": [1.0, 2.0], "fault": ["", ""]}, "mode": "graph"}
    >>> encode(scene) == to_json(scene)
    True
    >>> again = {**scene, "nodes": {**scene["nodes"], "fault": ["", "overflow"]}}
    >>> encode(again) == to_json(again)  # nodes.x is taken from the last text
    True
    """

    DEPTH = 2  # parts are the scene's values and, in its sections, their columns

    def __init__(self):
        self._last: dict = {}  # path -> (the part, its text)

    def __call__(self, data: dict) -> str:
        made: dict = {}
        text = self._encode((), data, made)
        self._last = made
        return text

    def _encode(self, path: tuple, value, made: dict) -> str:
        if isinstance(value, dict) and len(path) < self.DEPTH:
            return "{" + ",".join(f"{json.dumps(key)}:{self._encode((*path, key), v, made)}"
                                  for key, v in value.items()) + "}"
        last = self._last.get(path)
        text = last[1] if last is not None and last[0] is value else to_json(value)
        made[path] = (value, text)
        return text


class SharedSceneTexts:
    """The page's text of scenes that many sessions show alike (a shared derivation's scene,
    :mod:`components.shared_derivations`): encoded once per scene and language, not once per
    session (the 11,586-node MLP's scene is ~0.8 MB of JSON).

    An entry lives as long as its ``owner`` (the shared derivation whose scene it is, held
    weakly): when the last session showing it closes, its text goes too. Entries kept until
    newer ones pushed them out (a bounded LRU, before) outlived their scenes - no later page
    could hit them, the next session derives a new scene - and kept those scenes, made while a
    crowd of pages was open, in the interpreter's arenas of that crowd, which could not go back
    to the system (bench/README.md, "Session 13 (guard)"). One entry per owner and language; a
    new scene of the same owner (its copy thawed again) replaces it. Thread-safe (pages are
    built in a worker thread), one per server process (:func:`shared_scene_texts`).

    >>> class Owner: pass
    >>> texts, owner = SharedSceneTexts(), Owner()
    >>> scene = {"nodes": {"x": [1.0]}, "mode": "graph"}
    >>> first, again = SceneJSON(), SceneJSON()
    >>> texts.encode(scene, "en", first, owner) == to_json({**scene, "lang": "en"})
    True
    >>> texts.encode(scene, "en", again, owner) == first({**scene, "lang": "en"}), texts.hits
    (True, 1)
    >>> del owner; len(texts)
    0
    """

    def __init__(self):
        # owner -> {lang: (scene, text, parts)}
        self._entries: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.hits = 0

    def encode(self, scene: dict, lang: str, encoder: SceneJSON, owner) -> str:
        """``encoder({**scene, "lang": lang})``, made once for every encoder while ``owner``
        lives; ``encoder`` learns the parts (its next scene, which shares most of them, reuses
        their text)."""
        with self._lock:
            entry = self._entries.get(owner, {}).get(lang)
            if entry is not None and entry[0] is scene:
                self.hits += 1
                encoder._last = dict(entry[2])
                return entry[1]
        text = encoder({**scene, "lang": lang})
        with self._lock:
            self._entries.setdefault(owner, {})[lang] = (scene, text, dict(encoder._last))
        return text

    def __len__(self) -> int:
        with self._lock:
            return sum(len(texts) for texts in self._entries.values())


def shared_scene_texts() -> SharedSceneTexts:
    """The server process's :class:`SharedSceneTexts` (made on first use, in ``pn.state.cache``)."""
    import panel as pn

    texts = pn.state.cache.get("bpx_scene_texts")
    if texts is None:
        texts = pn.state.cache.setdefault("bpx_scene_texts", SharedSceneTexts())
    return texts


def _finite(x):
    if isinstance(x, float):
        if math.isfinite(x):
            return x
        return "nan" if x != x else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x
