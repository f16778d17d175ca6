"""Big graphs: what the server spends to turn one into a scene, and what the browser needs
to draw it.

Server side (in this process, the same pipeline as ``ExplorerModel._derive`` +
``GraphView._send_scene``): build the Value graph, ``trace``, ``layout``, ``schedule``
(forward and backward), ``scene_data`` and ``to_json``; the JSON's size (raw and gzip).
Server figures are CPU time of this process (``time.process_time``): on a machine shared
with other jobs they stay put where wall time grows.

Browser side (``--browser``): first render in headless Chromium against a served app -
from navigation to the moment the figure's nodes source has rows (a page-side rAF
watcher started by an init script, so polling from Python adds nothing). A graph the
expression box refuses (``mlp(...)`` before the app has it) is measured by handing the
page the scene the server would send (``meta`` set in the page) and timing from there.

    python bench/bench_big_graphs.py              # seed, MLP ~1,000 and ~11,600 nodes (grouped)
    python bench/bench_big_graphs.py --ungrouped  # and the ~11,600-node MLP ungrouped (~15 s)
    python bench/bench_big_graphs.py --browser    # and the first render in Chromium

Drawn by levels (as the app draws MLPs above ``GROUP_ABOVE`` nodes): ``group`` is
``level_graph`` (``layers``: a node per layer, the first picture; ``grouped``: a node per
neuron), layout includes ``widen``, the schedules are ``grouped_schedule`` and the scene
carries the whole traced tape. ``+open`` rows have the second hidden layer and one of its
neurons (or, grouped, the neuron) drawn open.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from components.scene import scene_data, to_json  # noqa: E402
from graphviz_core import parse, schedule, trace  # noqa: E402
from graphviz_core.grouping import grouped_schedule  # noqa: E402
from graphviz_core.levels import level_graph  # noqa: E402
from graphviz_core.layout import layout, widen  # noqa: E402
from graphviz_core.examples import SEED  # noqa: E402
from graphviz_core.mlp import mlp_loss  # noqa: E402
from report import print_table  # noqa: E402
from report import live_app_measured  # noqa: E402

live_app_measured()

MLP_1K = (2, (16, 16), 1)  # 982 nodes
MLP_10K = (2, (60, 60), 1)  # 11,586 nodes


def mlp_expression(n_in: int, hidden: tuple[int, ...], n_out: int) -> str:
    """The app's spelling of an MLP graph, e.g. ``mlp(2, 16, 16, 1)``."""
    return f"mlp({', '.join(str(k) for k in (n_in, *hidden, n_out))})"


def app_accepts(expression: str) -> bool:
    """Whether the expression box would take ``expression`` (same parser as the app)."""
    try:
        from graphviz_core.mlp import builder_from_text  # mlp(...) and friends
    except ImportError:
        builder_from_text = None
    try:
        if builder_from_text is not None and builder_from_text(expression) is not None:
            return True
        parse(expression)
        return True
    except Exception:
        return False


def scene_for(root, mode: str = "backward") -> tuple[str, dict[str, float], int]:
    """The JSON scene the server sends for a Value graph; seconds per stage; node count."""
    times = {}
    t = time.process_time()
    graph = trace(root)
    times["trace"] = time.process_time() - t
    t = time.process_time()
    positions = layout(graph)
    times["layout"] = time.process_time() - t
    t = time.process_time()
    steps = {m: schedule(graph, m) for m in ("forward", "backward")}
    times["schedule"] = time.process_time() - t
    t = time.process_time()
    names = [graph.nodes[n]["name"] for n in graph
             if not graph.nodes[n]["op"] and graph.nodes[n]["kind"] != "constant"]
    data = scene_data(graph, positions, steps, mode, {name: (-3.0, 3.0) for name in names})
    text = to_json(data)
    times["scene"] = time.process_time() - t
    return text, times, graph.number_of_nodes()


def grouped_scene_for(size, expanded=(), mode: str = "backward", level: str = "neuron"):
    """As :func:`scene_for`, drawn by levels (the app's path for big MLPs): ``level``
    ``"layer"`` (a node per layer, the first picture) or ``"neuron"``, ``expanded`` open."""
    times = {}
    t = time.process_time()
    groups = {}
    root = mlp_loss(*size, groups=groups)
    times["build"] = time.process_time() - t
    t = time.process_time()
    graph = trace(root, groups=groups)
    times["trace"] = time.process_time() - t
    t = time.process_time()
    drawn = level_graph(graph, level, expanded)
    times["group"] = time.process_time() - t
    t = time.process_time()
    positions = widen(drawn, layout(drawn))
    times["layout"] = time.process_time() - t
    t = time.process_time()
    steps = {m: grouped_schedule(graph, drawn, m) for m in ("forward", "backward")}
    times["schedule"] = time.process_time() - t
    t = time.process_time()
    names = [f"x{i}" for i in range(size[0])]
    data = scene_data(drawn, positions, steps, mode, {name: (-3.0, 3.0) for name in names},
                      traced=graph)
    text = to_json(data)
    times["scene"] = time.process_time() - t
    return text, times, graph.number_of_nodes(), len(drawn)


def server_side(repeats: int, ungrouped_10k: bool = False) -> list[dict]:
    cases = [
        ("seed", lambda: parse(SEED.source).build(SEED.values)),
        (mlp_expression(*MLP_1K), lambda: mlp_loss(*MLP_1K)),
    ]
    if ungrouped_10k:
        cases.append((mlp_expression(*MLP_10K), lambda: mlp_loss(*MLP_10K)))
    rows = []
    for label, level, expanded in (("layers", "layer", ()), ("layers+open h2,h2[7]", "layer", ("h2", "h2[7]")),
                                   ("grouped", "neuron", ()), ("grouped+open", "neuron", ("h2[7]",))):
        runs = []
        for _ in range(repeats):
            text, times, n, shown = grouped_scene_for(MLP_10K, expanded, level=level)
            runs.append({**times})
        best = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        raw = text.encode()
        rows.append({"graph": f"{mlp_expression(*MLP_10K)} {label}", "nodes": n, "drawn": shown,
                     **best, "total": sum(best.values()), "json_kb": len(raw) / 1024,
                     "gzip_kb": len(gzip.compress(raw, 6)) / 1024,
                     "tape_kb": len(to_json(json.loads(text)["tape"]).encode()) / 1024,
                     "runs": len(runs)})
    for label, build in cases:
        runs = []
        for _ in range(1 if "60" in label else repeats):
            t = time.process_time()
            root = build()
            built = time.process_time() - t
            text, times, n = scene_for(root)
            runs.append({"build": built, "group": 0.0, **times})
        best = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        raw = text.encode()
        rows.append({"graph": label, "nodes": n, "drawn": n, **best, "total": sum(best.values()),
                     "json_kb": len(raw) / 1024, "gzip_kb": len(gzip.compress(raw, 6)) / 1024,
                     "tape_kb": len(to_json(json.loads(text)["tape"]).encode()) / 1024,
                     "runs": len(runs)})
    return sorted(rows, key=lambda r: r["nodes"])


# --- the browser ----------------------------------------------------------------------------
FIRST_ROWS = r"""
(() => {
  const rec = window.__bpx_first = {rows: null, table: null}
  const look = () => {
    const t = window.__bpxt
    const nodes = t && t.nodes && t.nodes()
    if (rec.rows === null && nodes && nodes.data.x && nodes.data.x.length) rec.rows = performance.now()
    if (rec.table === null && t && t.rows && t.rows() > 0) rec.table = performance.now()
    if (rec.rows === null || rec.table === null) requestAnimationFrame(look)
  }
  requestAnimationFrame(look)
})()
"""

INJECT = r"""(text) => new Promise((resolve) => {
  const t = window.__bpxt
  const meta = t.meta()
  const t0 = performance.now()
  meta.setv({data: {json: [text]}}, {sync: false, check_eq: false})
  const t1 = performance.now()
  requestAnimationFrame(() => requestAnimationFrame(() => resolve({
    sync: t1 - t0, painted: performance.now() - t0, rows: t.nodes().data.x.length})))
})"""


def browser_side(samples: int) -> list[dict]:
    from playwright.sync_api import sync_playwright

    from tests.ui.helpers import INIT_SCRIPT, VIEWPORT, launch_chromium, open_app, serve_app

    big = mlp_expression(*MLP_1K)
    accepted = app_accepts(big)
    cases = [("seed", ""), ("mlp 1k", f"expr={big}&mode=backward" if accepted else None)]
    rows = []
    with serve_app(timeout=60) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            for label, query in cases:
                if query is None:
                    continue
                firsts, tables = [], []
                for _ in range(samples):
                    context = browser.new_context(viewport=VIEWPORT)
                    context.add_init_script(INIT_SCRIPT)
                    context.add_init_script(FIRST_ROWS)
                    page = context.new_page()
                    open_app(page, url, query, timeout=120_000)
                    page.wait_for_function("() => window.__bpx_first.rows !== null"
                                           " && window.__bpx_first.table !== null", timeout=60_000)
                    rec = page.evaluate("() => window.__bpx_first")
                    n = page.evaluate("() => window.__bpxt.nodes().data.x.length")
                    firsts.append(rec["rows"])
                    tables.append(rec["table"])
                    context.close()
                rows.append({"graph": label, "nodes": n, "how": "navigation", "samples": samples,
                             "first_ms": statistics.median(firsts), "max_ms": max(firsts),
                             "table_ms": statistics.median(tables)})
            if not accepted:  # the scene the server would send, handed to a loaded page
                text, _, n = scene_for(mlp_loss(*MLP_1K))
                context = browser.new_context(viewport=VIEWPORT)
                context.add_init_script(INIT_SCRIPT)
                page = context.new_page()
                open_app(page, url, "mode=backward")
                results = [page.evaluate(INJECT, text) for _ in range(samples)]
                assert results[-1]["rows"] == n, results[-1]
                context.close()
                rows.append({"graph": f"{big} (injected)", "nodes": n, "how": "meta set in page",
                             "samples": samples,
                             "first_ms": statistics.median(r["painted"] for r in results),
                             "max_ms": max(r["painted"] for r in results),
                             "table_ms": statistics.median(r["sync"] for r in results)})
        finally:
            browser.close()
    return rows, accepted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs per small graph (median)")
    ap.add_argument("--browser", action="store_true", help="also the first render in Chromium")
    ap.add_argument("--samples", type=int, default=5, help="page loads per graph (--browser)")
    ap.add_argument("--ungrouped", action="store_true",
                    help="also the ~11,600-node MLP drawn ungrouped (~15 s)")
    args = ap.parse_args()
    print(f"# {datetime.date.today()}  python {' '.join(sys.argv)}")
    rows = server_side(args.repeats, args.ungrouped)
    head = (f"{'graph':<33}{'nodes':>7}{'drawn':>7}{'build s':>9}{'trace s':>9}{'group s':>9}"
            f"{'layout s':>10}{'sched s':>9}{'scene s':>9}{'total s':>9}{'JSON KB':>9}"
            f"{'tape KB':>9}{'gzip KB':>9}")
    print_table(head, (f"{r['graph']:<33}{r['nodes']:>7}{r['drawn']:>7}{r['build']:>9.3f}"
                       f"{r['trace']:>9.3f}{r['group']:>9.3f}{r['layout']:>10.3f}{r['schedule']:>9.3f}"
                       f"{r['scene']:>9.3f}{r['total']:>9.3f}{r['json_kb']:>9.0f}{r['tape_kb']:>9.0f}"
                       f"{r['gzip_kb']:>9.0f}" for r in rows),
                f"(median of {args.repeats} runs; the ungrouped ~11,600-node graph once. scene = "
                "scene_data + to_json. build = the Value graph: mlp_loss, or parse + build for the seed; "
                "tape KB = the scene's tape alone)")
    if args.browser:
        rows, accepted = browser_side(args.samples)
        print()
        if not accepted:
            print(f"note: the app refuses {mlp_expression(*MLP_1K)!r} in its expression box; "
                  "the 1k graph is measured by setting `meta` to its scene in a loaded page")
        head = (f"{'graph':<26}{'nodes':>7}  {'measured from':<18}{'first draw ms':>14}"
                f"{'max ms':>8}{'table ms':>10}")
        print_table(head, (f"{r['graph']:<26}{r['nodes']:>7}  {r['how']:<18}{r['first_ms']:>14.0f}"
                           f"{r['max_ms']:>8.0f}{r['table_ms']:>10.0f}" for r in rows))
        print("first draw = navigation start (or meta set) -> the nodes source has rows (median of "
              f"{args.samples}); with 'meta set in page': until two frames later, and table ms = "
              "the synchronous part (JSON parse, replay, every source written)")


if __name__ == "__main__":
    main()
