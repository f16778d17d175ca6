"""The page's browser module is static/explorer/ joined in memory, and the joiner is strict.

Nothing generated is committed: each process joins the modules (and makes the two generated
ones from their sources) once, in ``components/bundle.py``, for the page, the saved HTML file
and the static site alike.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from components import bundle as joiner
from components.bundle import BundleError, bundle
from node_calls import run_node

ROOT = Path(__file__).resolve().parent.parent


def _node(script: str, cwd: Path) -> str:
    return run_node(["--input-type=module", "-e", script], cwd=cwd)


def test_the_page_runs_the_module_joined_once_per_process():
    from components.graph_view import GraphView
    from components.model import ExplorerModel
    code = joiner.player_code()
    assert code is joiner.player_code()  # one string, made once
    assert code == bundle(joiner.SOURCE, joiner.ENTRY, joiner.generated_texts())
    player = GraphView(model=ExplorerModel()).player
    assert player.code is code and player.module is True


def test_every_module_of_the_folder_and_every_generated_one_is_joined():
    sources = {p.name for p in joiner.SOURCE.glob("*.mjs")} - set(joiner.GENERATED)
    joined = {name for entry in (joiner.ENTRY, *joiner.OTHER_ENTRIES)
              for name in joiner.module_names(entry)}
    assert joined == sources | set(joiner.GENERATED)
    # a module of its own is a page's too: it runs in Node as the bundle does
    for entry in joiner.OTHER_ENTRIES:
        assert "export default function" in joiner.entry_code(entry)


def test_nothing_generated_is_tracked_and_copies_are_ignored():
    tracked = subprocess.run(["git", "ls-files", "static"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert not [path for path in tracked if "generated" in path or "bundle" in path]
    written = [str(p.relative_to(ROOT)) for p in joiner.write_generated()]
    ignored = subprocess.run(["git", "check-ignore", *written, "static/explorer.bundle.mjs"],
                             cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert ignored == [*written, "static/explorer.bundle.mjs"]


def test_the_tool_writes_the_modules_node_imports_and_the_whole_module(tmp_path):
    out = tmp_path / "page.mjs"
    run = subprocess.run([sys.executable, str(ROOT / "tools/build_browser.py"), "--out", str(out)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert out.read_text(encoding="utf-8") == joiner.player_code()
    for name, make in joiner.GENERATED.items():
        assert (joiner.SOURCE / name).read_text(encoding="utf-8") == make()


def test_the_page_module_is_one_es_module_with_a_default_function(tmp_path):
    (tmp_path / "page.mjs").write_text(joiner.player_code(), encoding="utf-8")
    out = _node("const m = await import('./page.mjs');"
                "console.log(JSON.stringify(Object.keys(m).concat(typeof m.default)))", tmp_path)
    assert json.loads(out) == ["default", "function"]


def test_the_joiner_has_its_example():
    import doctest
    result = doctest.testmod(joiner)
    assert result.failed == 0 and result.attempted > 0


def _folder(tmp_path: Path, modules: dict[str, str]) -> Path:
    for name, text in modules.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_modules_run_in_dependency_order_each_in_its_own_scope(tmp_path):
    folder = _folder(tmp_path, {
        "main.mjs": 'import { twice } from "./b.mjs"\nimport { base as start } from "./a.mjs"\n'
                    "export default function () { return twice(start) }\n",
        "b.mjs": 'import { base } from "./a.mjs"\nconst local = 2\n'
                 "export function twice(x) { return local * x + base - base }\n",
        "a.mjs": "const local = 10\nexport const base = local + 11\n",
    })
    text = bundle(folder, "main.mjs")
    assert text.index("a.mjs") < text.index("b.mjs") < text.index("main.mjs")
    (tmp_path / "out.mjs").write_text(text, encoding="utf-8")
    out = _node("const m = await import('./out.mjs'); console.log(m.default())", tmp_path)
    assert out.strip() == "42"


@pytest.mark.parametrize("modules, message", [
    ({"main.mjs": 'import { x } from "./a.mjs"\n', "a.mjs": 'import { y } from "./main.mjs"\nexport const y = 1\n'},
     "import cycle"),
    ({"main.mjs": 'import { x } from "./a.mjs"\n', "a.mjs": "export const y = 1, x = 2\n"},
     "does not export"),
    ({"main.mjs": 'import { x } from "./gone.mjs"\n'}, "does not exist"),
    ({"main.mjs": 'import * as a from "./a.mjs"\n', "a.mjs": "export const x = 1\n"}, "only"),
    ({"main.mjs": 'import { x } from "./a.mjs"\n', "a.mjs": "const x = 1\nexport { x }\n"}, "only"),
    ({"main.mjs": 'import { x } from "./a.mjs"\n', "a.mjs": "export const x = 1\nexport default 2\n"},
     "only"),
])
def test_forms_the_bundler_does_not_join_are_refused(tmp_path, modules, message):
    with pytest.raises(BundleError, match=message):
        bundle(_folder(tmp_path, modules), "main.mjs")


def test_only_bokeh_mjs_touches_bokehjs_and_only_its_public_names():
    """The page reaches BokehJS in one module, by its public names (issue #15)."""
    static = ROOT / "static"
    sources = {p: p.read_text(encoding="utf-8") for p in sorted((static / "explorer").glob("*.mjs"))}
    sources[static / "page-a11y.js"] = (static / "page-a11y.js").read_text(encoding="utf-8")
    for path, text in sources.items():
        assert "_all_models" not in text, path  # Document.all_models is the public getter
        if path.name not in ("bokeh.mjs", "page-a11y.js"):
            assert "Bokeh.index" not in text, f"{path.name}: use bokeh.mjs viewOf/rootViews"


def test_variable_sliders_carry_the_tag_the_page_adopts_them_by():
    from components.controls import VariableSliders
    from components.graph_view import GraphView
    from components.model import ExplorerModel
    from components.release import VARIABLE_TAG

    page_tag = (joiner.SOURCE / "bokeh.mjs").read_text(encoding="utf-8")
    assert f'export const VARIABLE_TAG = "{VARIABLE_TAG}"' in page_tag
    model = ExplorerModel()
    sliders = VariableSliders(model=model, view=GraphView(model=model), lang="en")
    assert {name: s.tags for name, s in sliders.sliders.items()} == {
        name: [VARIABLE_TAG + name] for name in model.variables}
