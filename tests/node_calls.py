"""Calling the browser's modules from the tests: functions of a module run in Node.

Node imports the modules of ``static/explorer/`` from disk, the two generated ones too:
:func:`run_node` writes those from their sources first (once per test process; git
ignores them), so a test never reads a copy older than the sources.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from components.bundle import write_generated
from extremes import decode, encode

ROOT = Path(__file__).resolve().parent.parent


@cache
def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed to run the browser modules (apt-get install nodejs)")
    write_generated()
    return node


def run_node(args: list[str], stdin: str | None = None, cwd: Path = ROOT) -> str:
    """What Node prints running ``args`` (a script and its arguments, or ``-e ...``) with
    the generated modules on disk; a failure of Node fails the test with its stderr."""
    run = subprocess.run([_node(), *args], input=stdin, cwd=cwd, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


def call_js(module: Path, calls: list, numbers: bool = True) -> list:
    """Run ``[[name, [args...]], ...]`` against ``module`` in Node (tests/js/call_module.mjs).

    ``numbers``: the results are numbers (``"nan"``, ``"-0"``, ... are decoded), else text.
    """
    payload = [[name, [[encode(x) for x in a] if isinstance(a, (list, tuple)) else encode(a)
                       for a in args]] for name, args in calls]
    results = json.loads(run_node([str(ROOT / "tests/js/call_module.mjs"), str(module)],
                                  json.dumps(payload)))
    if not numbers:
        return results
    return [[decode(x) for x in r] if isinstance(r, list) else decode(r) for r in results]
