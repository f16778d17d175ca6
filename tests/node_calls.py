"""Calling the browser's modules from the tests: functions of a module run in Node."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from extremes import decode, encode

ROOT = Path(__file__).resolve().parent.parent


def call_js(module: Path, calls: list, numbers: bool = True) -> list:
    """Run ``[[name, [args...]], ...]`` against ``module`` in Node (tests/js/call_module.mjs).

    ``numbers``: the results are numbers (``"nan"``, ``"-0"``, ... are decoded), else text.
    """
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed to run the browser modules (apt-get install nodejs)")
    payload = [[name, [[encode(x) for x in a] if isinstance(a, (list, tuple)) else encode(a)
                       for a in args]] for name, args in calls]
    run = subprocess.run([node, str(ROOT / "tests/js/call_module.mjs"), str(module)],
                         input=json.dumps(payload), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    if not numbers:
        return results
    return [[decode(x) for x in r] if isinstance(r, list) else decode(r) for r in results]
