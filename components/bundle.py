"""The page's one browser module: the modules of ``static/explorer/`` joined, in memory.

Bokeh runs a ``CustomJS`` module from a string, where relative imports cannot be resolved,
and the offline "Save as HTML" file (and the static site) has no server to fetch modules
from: both need one self-contained ES module. :func:`player_code` joins it once per
process from the sources and hands out the same read-only string; nothing generated is
committed, so nothing can be stale.

Three of the modules are not files of the folder but text made from their one source
(:data:`GENERATED`): the op rules (``ops.generated.mjs``, from ``graphviz_core.engine.OPS``
by :func:`graphviz_core.jsgen.ops_module`), the page's words (``words.generated.mjs``,
from ``components/words/ui.toml`` by :func:`components.words.page_module`) and the
decisions the page makes as the server does (``rules.generated.mjs``, from
``graphviz_core/rules.py`` by :func:`graphviz_core.jsgen.rules_module`). Node, which
imports the modules from disk (the tests, anyone trying a module), gets them from
:func:`write_generated` (``python3 tools/build_browser.py``; git ignores the copies).

Each module is evaluated once, in dependency order, inside its own function scope, so
top-level names of different modules never clash; its imports become destructuring reads
of the modules it imports, and its exports the object its scope returns. The entry module
(``main.mjs``) stays at the top level and keeps its ``export default``.

The modules may use only what this needs, and anything else is an error here (the first
page a server builds, and the tests) rather than a surprise in the page:

- ``import { a, b as c } from "./name.mjs"`` (relative, one module of the folder);
- ``export const|let|function|class|async function NAME`` (one name per declaration);
- ``export default`` in the entry only; no import cycles.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

from graphviz_core import rules
from graphviz_core.jsgen import ops_module, rules_module

from .words import page_module

SOURCE = Path(__file__).resolve().parent.parent / "static" / "explorer"
ENTRY = "main.mjs"
HEADER = "// the modules of static/explorer/, joined by components/bundle.py\n"
# the modules made from their one source, by name: what makes each one's text
# the entries of the modules of their own (entry_code), besides the page's (ENTRY)
OTHER_ENTRIES = ("matters.mjs",)
GENERATED: Mapping[str, Callable[[], str]] = {"ops.generated.mjs": ops_module,
                                              "words.generated.mjs": page_module,
                                              "rules.generated.mjs": lambda: rules_module(rules)}

IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"\./([\w.-]+\.mjs)"[ \t]*;?[ \t]*$', re.M)
ANY_IMPORT = re.compile(r"^import\b", re.M)
EXPORT = re.compile(r"^export\s+(?:async\s+function|function\*?|const|let|class)\s+([\w$]+)", re.M)
EXPORT_PREFIX = re.compile(r"^export\s+(?=(?:async\s+function|function|const|let|class)\b)", re.M)
OTHER_EXPORT = re.compile(r"^export\b(?!\s+(?:async\s+function|function|const|let|class)\b)", re.M)


class BundleError(ValueError):
    """A module uses a form the bundler does not join (see the module docstring)."""


def _imports(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(module, [(exported name, local name), ...]), ...]`` of a module's imports."""
    found = []
    for match in IMPORT.finditer(text):
        names = []
        for part in match.group(1).split(","):
            part = part.strip()
            if not part:
                continue
            bits = part.split()
            if len(bits) == 1:
                names.append((bits[0], bits[0]))
            elif len(bits) == 3 and bits[1] == "as":
                names.append((bits[0], bits[2]))
            else:
                raise BundleError(f"cannot read the import {part!r}")
        found.append((match.group(2), names))
    if len(found) != len(ANY_IMPORT.findall(text)):
        raise BundleError('only `import { a, b } from "./name.mjs"` is joined')
    return found


def _order(read: Callable[[str], str | None], entry: str) -> list[str]:
    """The modules reachable from ``entry``, each after the modules it imports
    (``read(name)``: a module's text, None where there is no such module)."""
    order: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise BundleError("import cycle: " + " -> ".join(visiting[visiting.index(name):] + [name]))
        text = read(name)
        if text is None:
            raise BundleError(f"{visiting[-1] if visiting else '?'} imports {name}, which does not exist")
        visiting.append(name)
        for dependency, _ in _imports(text):
            visit(dependency)
        visiting.pop()
        order.append(name)

    visit(entry)
    return order


def _var(name: str) -> str:
    return "__bpx_" + re.sub(r"\W", "_", name.removesuffix(".mjs"))


def _reader(folder: Path, generated: Mapping[str, str]) -> Callable[[str], str | None]:
    def read(name: str) -> str | None:
        if name in generated:
            return generated[name]
        path = folder / name
        return path.read_text(encoding="utf-8") if path.is_file() else None
    return read


def bundle(folder: Path, entry: str = ENTRY, generated: Mapping[str, str] | None = None) -> str:
    """The text of one ES module joining ``folder``'s modules reachable from ``entry``;
    a module named in ``generated`` is that text rather than a file.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "main.mjs").write_text('import { x } from "./a.mjs"\\nexport default () => x\\n')
    >>> print(bundle(folder, generated={"a.mjs": "export const x = 1\\n"}))
    // the modules of static/explorer/, joined by components/bundle.py
    <BLANKLINE>
    // ==== static/explorer/a.mjs
    const __bpx_a = (() => {
    const x = 1
    return { x }
    })()
    <BLANKLINE>
    // ==== static/explorer/main.mjs (the entry)
    const { x } = __bpx_a
    export default () => x
    <BLANKLINE>
    """
    read = _reader(folder, generated or {})
    order = _order(read, entry)
    texts = {name: read(name) for name in order}
    exports = {name: EXPORT.findall(text) for name, text in texts.items()}
    parts = [HEADER]
    for name in order:
        text = texts[name]
        reads = []
        for dependency, names in _imports(text):
            for exported, _ in names:
                if exported not in exports[dependency]:
                    raise BundleError(f"{name} imports {exported!r}, which {dependency} does not export"
                                      " (one name per export declaration)")
            fields = ", ".join(e if e == local else f"{e}: {local}" for e, local in names)
            reads.append(f"const {{ {fields} }} = {_var(dependency)}")
        body = IMPORT.sub(lambda _m, it=iter(reads): next(it), text).strip("\n")
        if name == entry:
            parts.append(f"// ==== static/explorer/{name} (the entry)\n{body}\n")
            continue
        if OTHER_EXPORT.search(body):
            raise BundleError(f"{name}: only `export const|let|function|class NAME` is joined"
                              " (`export default` in the entry only)")
        body = EXPORT_PREFIX.sub("", body)
        names = ", ".join(exports[name])
        parts.append(f"// ==== static/explorer/{name}\nconst {_var(name)} = (() => {{\n{body}\n"
                     f"return {{ {names} }}\n}})()\n")
    return "\n".join(parts)


def generated_texts() -> dict[str, str]:
    """The text of each generated module (:data:`GENERATED`), made now from its source."""
    return {name: make() for name, make in GENERATED.items()}


@cache
def entry_code(entry: str) -> str:
    """A module of its own for a page part with no graph view, joined as :func:`player_code`
    is, from ``entry`` (a module of the folder with an ``export default``): e.g.
    ``matters.mjs``, loss-matters' runs on a static page (components/lessons/loss_matters.py)."""
    return bundle(SOURCE, entry, generated_texts())


@cache
def player_code() -> str:
    """The page's browser module (``static/explorer/`` from ``main.mjs``, the generated modules
    made from their sources): joined once per process, the same read-only string after."""
    return bundle(SOURCE, ENTRY, generated_texts())


def module_names(entry: str = ENTRY) -> list[str]:
    """The modules in the page's module (or in :func:`entry_code`'s of ``entry``), in the
    order they are evaluated."""
    return _order(_reader(SOURCE, generated_texts()), entry)


def write_generated(folder: Path = SOURCE) -> list[Path]:
    """Write the generated modules into ``folder`` for Node, which imports the modules from
    disk (git ignores them); a file already holding its text is left alone. Each is
    written whole under another name and then renamed, so a test process running at the
    same time never reads half a file. Returns the paths."""
    paths = []
    for name, text in generated_texts().items():
        path = folder / name
        if not (path.is_file() and path.read_text(encoding="utf-8") == text):
            part = path.with_name(f".{name}.{os.getpid()}")
            part.write_text(text, encoding="utf-8")
            os.replace(part, path)
        paths.append(path)
    return paths
