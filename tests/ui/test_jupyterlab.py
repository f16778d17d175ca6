"""docs/notebook.ipynb live in JupyterLab (on 127.0.0.1, a copy in a temporary folder, so nothing
is saved into the repository): its cells up to the first explorer (the article's example) run
in a real kernel by "Run All", the explorer is drawn in JupyterLab's output, then a slider
released in the browser reaches the kernel, whose new scene comes back to the page.

Every cell of the notebook (the micrograd and PyTorch explorers too) runs in a python3 kernel
in tests/ui/test_notebook.py, which checks each output for errors and each explorer drawn (in
the HTML export); JupyterLab draws each explorer's output the same way, so it is given the
first one only: its kernel imports neither micrograd nor torch, and its page draws one
explorer, not three.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import pytest

from graphviz_core import gradients

from .helpers import ServerURL, free_port, screenshot

ROOT = Path(__file__).resolve().parents[2]
EXPLORER_CELLS = 1


def first_explorer(notebook: Path) -> dict:
    """``notebook`` (JSON) with its cells up to the first that calls ``explore(``."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    last = next(k for k, cell in enumerate(nb["cells"])
                if cell["cell_type"] == "code" and "explore(" in "".join(cell["source"]))
    return {**nb, "cells": nb["cells"][: last + 1]}


# What JupyterLab does beside running the notebook, turned off: checking whether its
# JavaScript needs building again (reads every extension's package.json), the language servers'
# scan, the terminals, the extension manager's PyPI listing, the news feed and the update check.
QUIET_LAB = ["--ServerApp.tornado_settings={'page_config_data': {'buildCheck': False, 'buildAvailable': False}}",
             "--ServerApp.jpserver_extensions={'jupyter_lsp': False, 'jupyter_server_terminals': False}",
             "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
             "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pytest.importorskip("jupyterlab")
    folder = tmp_path_factory.mktemp("lab")
    notebook = first_explorer(ROOT / "docs" / "notebook.ipynb")
    (folder / "notebook.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PANEL_INLINE": "1",  # offline: BokehJS inlined
           "JUPYTER_RUNTIME_DIR": str(folder / "runtime")}
    log = open(folder / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", "--ServerApp.token=", "--ServerApp.password=",
         f"--ServerApp.root_dir={folder}", f"--LabApp.workspaces_dir={folder / 'workspaces'}",
         f"--LabApp.user_settings_dir={folder / 'settings'}", *QUIET_LAB],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = ServerURL(f"http://127.0.0.1:{port}")
    url.log, url.pid = str(folder / "lab.log"), proc.pid
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{url}/lab", timeout=5)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((folder / "lab.log").read_text()[-3000:])
                time.sleep(1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its kernels
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


SEED_DOC = """() => Bokeh.documents.findIndex((d) => { const t = [...d._all_models.values()]
  .find((m) => m.type === "DataTable"); return t && t.source.data.name.length === 8 })"""
# Panel's CommManager of a document, as the page holds it. Panel's page-side comm sends a change
# (after 50 ms) only when no earlier message of it waits for the kernel's ack, or that wait is
# older than its `timeout` (5 s); otherwise the change waits in `_event_buffer` for the ack, or
# for the next change after the timeout: nothing sends it when the timeout passes. Seen after
# "Run All" (2026-11-30): blocked, no ack 8.7 s after its last send, 5 changes waiting. A
# release made within 5 s of such an unanswered send waits for a change that never comes: the
# likely cause of the lost releases of fresh-clone runs 41 and 47. Why the ack does not come is
# not known yet.
COMM_STATE = """(i) => { const m = [...Bokeh.documents[i]._all_models.values()].find((m) =>
  m.type.endsWith("CommManager")); if (!m) return null
  return {blocked: m._blocked, timeout_in_ms: m._timeout - Date.now(), waiting: m._event_buffer.length,
          connected: !!(m._client_comm && m._client_comm.connected)} }"""
META_ROOT_VALUE = """(index) => { const m = [...Bokeh.documents[index]._all_models.values()]
  .find((m) => m.type === "ColumnDataSource" && "json" in m.data)
  const tape = JSON.parse(m.data.json[0]).tape; return tape.value[tape.root] }"""


@pytest.mark.browser
@pytest.mark.timeout(900)  # JupyterLab's start and a fresh kernel take minutes on a loaded machine
def test_jupyterlab_runs_the_notebook_and_a_release_reaches_the_kernel(lab, page):
    page.goto(f"{lab}/lab/tree/notebook.ipynb?reset")
    page.wait_for_selector(".jp-Notebook", timeout=120_000)
    # cells run only once the kernel is connected: "Run All" before that does nothing
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=180_000)
    page.get_by_role("menuitem", name="Run").click()
    page.get_by_text("Run All Cells", exact=True).click()
    try:
        page.wait_for_function(
            "(n) => window.Bokeh && Bokeh.documents.filter((d) => [...d._all_models.values()]"
            ".some((m) => m.type === 'DataTable')).length === n", arg=EXPLORER_CELLS,
            timeout=300_000)
    finally:
        screenshot(page, "jupyterlab-notebook")
    # the outputs are drawn as each cell ends; the kernel may still be finishing the last one
    # (and the page connecting its outputs' comms): a release sent before that can be lost
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=180_000)
    seed = page.evaluate(SEED_DOC)
    assert page.evaluate(META_ROOT_VALUE, seed) == 6.25
    # a drag to 3 and its release: the page replays at once, the kernel answers with a scene.
    # The release is made again every 15 s while no answer came (fresh-clone runs 41 and 47, and
    # CI on c57a06b, saw a first release after "Run All" get no answer within 60 s, the kernel
    # idle, nothing in JupyterLab's log: see COMM_STATE); a later try is reported as a warning
    release = ("(i) => { const s = [...Bokeh.documents[i]._all_models.values()].find((m) =>"
               " m.type === 'Slider' && m.title === 'w'); s.value = 3; s.value_throttled = 3 }")
    loss = gradients("(w*x + b - y)**2", {"w": 3, "x": 1.5, "b": 0.5, "y": 1})[0]
    # the release goes out only once Panel's comm sends at once (not waiting for an ack that is
    # not coming): until then a release is held, as a student's would be
    page.wait_for_function(f"(i) => {{ const s = ({COMM_STATE})(i);"
                           " return !s || !s.blocked || s.timeout_in_ms < 0 }", arg=seed,
                           timeout=15_000)
    states = []  # Panel's comm before each release
    try:
        for attempt in range(4):
            states.append(page.evaluate(COMM_STATE, seed))
            page.evaluate(release, seed)
            try:
                page.wait_for_function(f"(i) => ({META_ROOT_VALUE})(i) === {loss}", arg=seed,
                                       timeout=15_000)
                break
            except Exception:
                if attempt == 3:
                    raise
        if len(states) > 1:  # passed on a later try: say so in the run's warnings, with the evidence
            warnings.warn(f"JupyterLab: the kernel answered release {len(states)}, not the first; "
                          f"Panel's comm before each release: {states}")
    except Exception:  # what the kernel and JupyterLab said, for the failure's report
        screenshot(page, "jupyterlab-release")
        outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
        status = page.locator(".jp-StatusBar-Widget").all_inner_texts()
        log = Path(lab.log).read_text(errors="replace")[-4000:]
        pytest.fail(f"the kernel's scene for w = 3 did not arrive in 4 x 15 s\n"
                    f"Panel's comm before each release: {states}\n"
                    f"cell outputs: {[o[:300] for o in outputs]}\nstatus bar: {status}\n"
                    f"lab.log (end):\n{log}")
    errors = [o for o in page.locator(".jp-OutputArea-output[data-mime-type="
                                      "'application/vnd.jupyter.stderr']").all_inner_texts()
              if "Traceback" in o or "Mismatch" in o]
    assert not errors, errors
