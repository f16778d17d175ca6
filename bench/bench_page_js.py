"""The page's JavaScript per frame without a browser: ``bench/page_js.mjs`` in Node on the
scenes the server sends (seed, a 204-node sum, mlp(2, 16, 16, 1), mlp(2, 60, 60, 1) by layers,
with a layer and a neuron open, and by neurons), each in the backward mode.

    python bench/bench_page_js.py

What it times is CPU-bound single-threaded JavaScript (Node's V8, as Chromium's): the tape
replay a slider drag runs, the figure's columns and the values table's columns.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_frame import tanh_sum  # noqa: E402
from components.model import ExplorerModel  # noqa: E402
from components.scene import to_json  # noqa: E402

TANH_SUM = tanh_sum()  # bench_frame's ~200-node graph
BIG = "mlp(2, 60, 60, 1)"
SCENES = {
    "seed": {},
    "tanh sum": {"expression": TANH_SUM},
    "mlp 1k": {"expression": "mlp(2, 16, 16, 1)"},
    "11.6k layers": {"expression": BIG, "level": "layer"},
    "11.6k layers+open": {"expression": BIG, "level": "layer", "open": ("h2", "h2[7]")},
    "11.6k neurons": {"expression": BIG, "level": "neuron"},
}


def main() -> None:
    node = shutil.which("node")
    if node is None:
        sys.exit("node is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in SCENES.items():
            kw = dict(kw)
            opened = kw.pop("open", ())
            model = ExplorerModel(mode="backward", **kw)
            for group in opened:
                model.expand(group)
            (Path(tmp) / f"{name}.json").write_text(to_json(model.scene), encoding="utf-8")
        subprocess.run([node, str(REPO / "bench" / "page_js.mjs"), tmp, *SCENES], check=True)


if __name__ == "__main__":
    main()
