"""Check the graph's and the lessons' colours for colour-blind students and for contrast.

Reads the colours of ``static/explorer/style.mjs`` (node kinds' outlines, the passes' edges,
fault and label inks) and the lessons' chart palette (``PALETTE`` in
``components/lessons/common.py``: its lines and markers), simulates deuteranopia and protanopia (Machado, Oliveira & Fernandes
2009, severity 1.0, applied in linear sRGB), and prints:

- the smallest CIELAB distance (Delta E 1976) between any two colours that must be told
  apart, for normal vision and each simulation;
- each colour's contrast ratio (WCAG 2.x relative luminance) against its figure's
  background: marks need 3:1, text 4.5:1.

    python3 tools/palette_check.py           # exit 1 if a contrast is below its minimum
"""

from __future__ import annotations

import ast
import itertools
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
STYLE = ROOT / "static" / "explorer" / "style.mjs"
LESSONS = ROOT / "components" / "lessons" / "common.py"
BACKGROUND = "#FCFCFD"  # the graph figure's background (components/graph_view.py)
CHART_BACKGROUND = "#FFFFFF"  # the lessons' charts (components/lessons/common.py, plot)
CHARTS = "lesson charts"

# Machado et al. 2009, severity 1.0 (linear RGB)
MACHADO = {
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}


def hex_rgb(h: str) -> np.ndarray:
    h = h.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)]) / 255.0


def linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def gamma(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0, 1)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def lab(c: np.ndarray) -> np.ndarray:
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = m @ linear(c) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def simulate(c: np.ndarray, kind: str | None) -> np.ndarray:
    return c if kind is None else gamma(MACHADO[kind] @ linear(c))


def contrast(a: np.ndarray, b: np.ndarray) -> float:
    la, lb = (float(np.dot([0.2126, 0.7152, 0.0722], linear(x))) for x in (a, b))
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def lesson_palette() -> dict[str, str]:
    """``PALETTE`` of components/lessons/common.py (read as data, without importing Panel)."""
    for node in ast.parse(LESSONS.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PALETTE" for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"no PALETTE in {LESSONS}")


def colours() -> dict[str, dict[str, str]]:
    """{group: {name: hex}}: from style.mjs the node outlines, pass colours and inks; from the
    lessons' PALETTE the chart lines (its grid is meant to recede, its muted ink is text)."""
    text = STYLE.read_text(encoding="utf-8")
    kinds = dict(re.findall(r'^\s*(\w+): \{ marker: "\w+", fill: "#\w+", line: "(#\w+)"', text, re.M))
    flows = dict(re.findall(r'(\w+): "(#[0-9A-Fa-f]{6})"', re.search(r"FLOW = \{([^}]*)\}", text).group(1)))
    single = dict(re.findall(r'^export const (\w+) = "(#[0-9A-Fa-f]{6})"', text, re.M))
    return {"node kinds (outlines)": kinds,
            "edges": {**{f"flow.{k}": v for k, v in flows.items()},
                      **{k: single[k] for k in ("BLOCKED", "PRUNED", "FAULT") if k in single}},
            # inks, and the colours that also write text: "× 0" on a stop-gradient edge, ⚠
            "text": {k: v for k, v in single.items() if k.endswith("INK") or k in ("BLOCKED", "FAULT")},
            CHARTS: {k: v for k, v in lesson_palette().items() if k not in ("grid", "muted")}}


def main() -> int:
    groups = colours()
    failed = False
    for group, named in groups.items():
        bg = hex_rgb(CHART_BACKGROUND if group == CHARTS else BACKGROUND)
        print(f"\n{group}:")
        for vision in (None, "deuteranopia", "protanopia"):
            pairs = [(float(np.linalg.norm(lab(simulate(hex_rgb(a), vision)) - lab(simulate(hex_rgb(b), vision)))), na, nb)
                     for (na, a), (nb, b) in itertools.combinations(named.items(), 2)]
            if pairs and group != "text":
                d, na, nb = min(pairs)
                print(f"  {vision or 'normal vision':13s} smallest Delta E76 {d:5.1f} ({na} / {nb})")
        need = 4.5 if group == "text" else 3.0
        for name, h in named.items():
            ratio = contrast(hex_rgb(h), bg)
            # a pruned edge is meant to recede: it is told by its dots, not by contrast
            exempt = name == "PRUNED"
            flag = "" if ratio >= need else (" (exempt: drawn dotted, meant to recede)" if exempt else "  < minimum")
            failed |= ratio < need and not exempt
            print(f"  {name:12s} {h}  contrast {ratio:4.1f}:1 (needs {need}:1){flag}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
