"""Hypothesis profiles: deterministic in CI, exploring on a developer's machine.

- ``ci`` (chosen when the environment variable ``CI`` is set, as ``.ci/run`` does):
  examples derived from each test's own code (``derandomize``), no example database,
  no deadline, and a failure prints the blob that reproduces it. The same clone gives
  the same examples on every run, so the README's test command never fails by luck.
- ``dev`` (otherwise): a fresh random seed on every run and the local example
  database (``.hypothesis/``, not committed) that replays earlier failures first.

``HYPOTHESIS_PROFILE=ci|dev`` overrides the choice. A failure found while exploring is
kept as an explicit ``@example`` in its test.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
# tests assert behaviour, never timings: no deadline on a shared machine either
settings.register_profile("dev", deadline=None, print_blob=True)


def _profile() -> str:
    chosen = os.environ.get("HYPOTHESIS_PROFILE", "").strip()
    if chosen:
        return chosen
    ci = os.environ.get("CI", "").strip().lower()
    return "ci" if ci not in ("", "0", "false", "no") else "dev"


settings.load_profile(_profile())


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller (or the one process of `-n 0`)
        compile_once(config)


# The project's code: the test processes and every server or kernel they start import it.
_CODE = ("app.py", "graphviz_core", "components", "tools", "bench", "tests")


def compile_once(config) -> None:
    """Write the bytecode of the project and the tests' assert-rewritten bytecode once, here,
    before pytest-xdist starts its workers (in ``pytest_sessionstart``, after this).

    Where ``PYTHONDONTWRITEBYTECODE`` is set (this machine), no process writes ``.pyc`` files,
    but every one reads them: without this each worker compiles the project and rewrites the
    asserts of every test module from source (~4 s of CPU), and each server, kernel and cluster
    backend compiles the project again (~1 s). Elsewhere the workers, all collecting at the
    same moment in a fresh clone, would each still do it once. The dependencies' ``.pyc`` come
    with their installation. Up-to-date files are skipped (``compileall`` and pytest check the
    source's mtime and size); a file that cannot be written leaves its process compiling it as
    before, so nothing depends on this."""
    import compileall
    import re

    root = config.rootpath
    skip = re.compile(r"[/\\](node_modules|__pycache__|\.[^/\\]*)[/\\]")
    for name in _CODE:
        path = root / name
        if path.is_dir():
            compileall.compile_dir(str(path), quiet=2, rx=skip)
        elif path.is_file():
            compileall.compile_file(str(path), quiet=2)
    if config.getoption("assertmode") == "rewrite":
        _rewrite_tests_once(config, root / "tests")


def _rewrite_tests_once(config, tests) -> None:
    """pytest's own bytecode of each test module and conftest (asserts rewritten), as a worker
    would write it (``_pytest.assertion.rewrite``: same code, same file name and check); a
    pytest whose internals differ is left to rewrite them itself."""
    from fnmatch import fnmatch

    try:
        from _pytest.assertion import rewrite
        state = config.stash[rewrite.assertstate_key]
        patterns = config.getini("python_files")
        for fn in sorted(tests.rglob("*.py")):
            if "node_modules" in fn.parts or not (
                    fn.name == "conftest.py" or any(fnmatch(fn.name, p) for p in patterns)):
                continue
            pyc = rewrite.get_cache_dir(fn) / (fn.name[:-3] + rewrite.PYC_TAIL)
            if rewrite._read_pyc(fn, pyc) is None and rewrite.try_makedirs(pyc.parent):
                stat, code = rewrite._rewrite_test(fn, config)
                rewrite._write_pyc(state, code, stat, pyc)
    except (ImportError, AttributeError, KeyError, TypeError):
        pass

# Every server a test starts (they inherit this environment) serves each page live, as the
# tests drive the live session; a page of the static site served from the cache instead
# (components/first_page.py, on by default) is tested with its own server, with it turned on.
os.environ.setdefault("BPX_STATIC_FIRST", "0")


# One Chromium per test process, for tests/ui and for the few tests outside it that drive a
# page (the cluster's failover). Playwright's sync API keeps an event loop running in this
# thread while it is open: code that needs asyncio.run uses bokeh_client.run.
@pytest.fixture(scope="session")
def _playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(_playwright):
    from ui.helpers import chromium_for_tests, launch_chromium

    try:
        browser = launch_chromium(_playwright, chromium_for_tests())
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def browsers(_playwright, browser):
    """Where ``new_page`` and ``page`` come from (tests/ui/helpers.py ``Browsers``): Chromium
    with a profile on disk per kind of device, so compiled scripts are reused between opens."""
    from ui.helpers import Browsers, chromium_for_tests

    pool = Browsers(_playwright, browser, chromium_for_tests())
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def app_server():
    """``http://127.0.0.1:<port>/app`` of the process's one ``panel serve app.py`` (a
    ``ui.helpers.ServerURL``: its ``log`` and ``pid``), started when first asked for: the browser
    tests' server, and that of any test that needs a running app but not a fresh one."""
    from ui.helpers import serve_app, terminate_gracefully

    terminate_gracefully()  # a CI timeout's SIGTERM still stops the server
    # page opens are metered per address (components/guard.py); the tests open pages from one
    # address as fast as they run, which is not what the meter is for (tests/test_abuse.py
    # checks the meter on a server of its own)
    # tests/render_thread_setup.py writes one line to the server's log per page it renders,
    # naming the thread (tests/test_page_render.py reads them; it changes nothing else)
    with serve_app(timeout=60, extra_args=("--setup", "tests/render_thread_setup.py"),
                   env={"BPX_OPENS_PER_MINUTE": "100000"}) as url:
        yield url


@pytest.fixture
def derivations():
    """A new, empty process cache of shared derivations for one test (the one before it is
    put back after): see components/shared_derivations.py."""
    from components.shared_derivations import SharedDerivations
    with swapped_derivations(SharedDerivations()) as cache:
        yield cache


def swapped_derivations(cache):
    """``cache`` as the process's shared derivations while the ``with`` block runs."""
    from contextlib import contextmanager

    import panel as pn

    from components.shared_derivations import CACHE_KEY

    @contextmanager
    def swapped():
        before = pn.state.cache.pop(CACHE_KEY, None)
        pn.state.cache[CACHE_KEY] = cache
        try:
            yield cache
        finally:
            pn.state.cache.pop(CACHE_KEY, None)
            if before is not None:
                pn.state.cache[CACHE_KEY] = before
    return swapped()


# --- spreading the suite over the workers (pytest-xdist `--dist loadgroup`, pyproject.toml) ------
# A unit of work runs whole on one worker, in the order given here (`--no-loadscope-reorder`).
# - A browser test that shares nothing with its neighbours but the worker's server and Chromium
#   (session fixtures) is a unit of its own.
# - Tests that share a module-scoped fixture go together: one unit per parameter of it (each page
#   of tests/ui/test_pages.py on each viewport is a unit) or per module.
# - Any other module is one unit: some add up over their tests (test_reliability's total).
# Units start longest first, so the last ones to finish are short and the workers end together.
# COST: CPU seconds per module, servers and browsers included (tools/suite_cpu.py); a module
# not listed counts 3 s per browser test and 0.05 s per other test. A stale figure only
# changes the order, never what runs.
COST: dict[str, float] = {
    # CPU s per module, Chromium's renderers included (`tools/suite_cpu.py` of the fresh-clone
    # CI run 80, main 6cf33ae, 2026-12-01, `-n 3`, under load (other work ran beside it: ~1.5x
    # the quiet CPU); a guide to the order, not a benchmark). test_predict, test_keyboard and
    # test_phone less the page open session 12 cut from each; test_levels_ui, test_notebook,
    # test_layout and test_prune less session 13's cuts (test_prune: its backward-steps test
    # shares its models, 23.1 -> 19.1 s, -n 0, load 27-40). test_jupyterlab.py is one test
    # with ~60-85 s of wall (a Jupyter server and a kernel start): it starts early. test_pages
    # plus its session-13 checks that change a page (test_lessons_ui's, which it replaced).
    "tests/test_abuse.py": 45, "tests/test_reliability.py": 44, "tests/test_lessons.py": 35,
    "tests/test_cluster.py": 32, "tests/test_expression.py": 26, "tests/test_components.py": 26,
    "tests/test_prune.py": 20, "tests/test_levels.py": 23, "tests/test_layout.py": 17,
    "tests/test_adapters.py": 20, "tests/test_examples.py": 15, "tests/test_grouping.py": 15,
    "tests/test_engine.py": 15, "tests/test_page_open.py": 12, "tests/test_security.py": 12,
    "tests/test_torch.py": 12, "tests/test_tape_replay.py": 12, "tests/test_heap.py": 11,
    "tests/test_server_hooks.py": 11, "tests/test_trace_schedule.py": 11,
    "tests/test_vanishing.py": 7.8, "tests/test_rules.py": 6.5, "tests/test_session_lock.py": 5.5,
    "tests/test_first_page.py": 5.5, "tests/test_page_render.py": 5.1, "tests/test_ieee.py": 5.0,
    "tests/test_replay.py": 4.9, "tests/test_browser_bundle.py": 4.4, "tests/test_words.py": 4.0,
    "tests/test_notebook_api.py": 3.4, "tests/test_graph_memory.py": 3.0,
    "tests/test_shared_derivations.py": 2.9, "tests/test_display.py": 2.8,
    "tests/test_pytorch.py": 2.5, "tests/test_export.py": 2.1, "tests/test_inline.py": 1.6,
    "tests/test_palette.py": 1.0, "tests/test_predict_quiz.py": 0.9,
    "tests/test_collector.py": 0.7,
    "tests/ui/test_pages.py": 190, "tests/ui/test_levels_ui.py": 86, "tests/ui/test_site.py": 85,
    "tests/ui/test_explorer.py": 64,
    "tests/ui/test_phone.py": 52, "tests/ui/test_notebook.py": 39,
    "tests/ui/test_first_page.py": 45, "tests/ui/test_jupyterlab.py": 43,
    "tests/ui/test_predict.py": 33, "tests/ui/test_groups.py": 26,
    "tests/ui/test_vanishing_ui.py": 25, "tests/ui/test_standalone.py": 23,
    "tests/ui/test_words_ui.py": 18, "tests/ui/test_hostile_ui.py": 18,
    "tests/ui/test_keyboard.py": 17, "tests/ui/test_a11y.py": 16,
    "tests/ui/test_slider_fields.py": 12, "tests/ui/test_assets.py": 5.2,
}


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker per core and one more (PYTEST_XDIST_AUTO_NUM_WORKERS overrides).

    A browser test's worker waits while its page and server work; the extra worker fills those
    waits. Fresh-clone runs of the whole suite on this 2-core machine, quiet (main 759dbdd):
    2 workers 367 s of pytest, 3 workers 327 s, 4 workers 329 s."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist reads it
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) + EXTRA_WORKERS


EXTRA_WORKERS = 1


def _unit(item) -> str:
    module = item.nodeid.split("::", 1)[0]
    if item.get_closest_marker("browser") is None:
        return module
    shared = sorted(name for name, defs in item._fixtureinfo.name2fixturedefs.items()
                    if defs and defs[-1].scope in ("module", "class", "package"))
    if not shared:
        return ""  # a unit of its own
    callspec = getattr(item, "callspec", None)
    params = [f"{name}={callspec.indices[name]}" for name in shared
              if callspec is not None and name in callspec.indices]
    # no "]" or "@" in a group name: pytest-xdist splits the node id at its last "@" after "]"
    return ":".join([module, *params])


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist turns the marks into node ids
def pytest_collection_modifyitems(config, items):
    for item in items:
        unit = _unit(item)
        if unit and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(unit))
        item.stash[_UNIT] = unit or item.nodeid


_UNIT = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)  # before a pytest-xdist worker sends its list of tests
def pytest_collection_finish(session):
    """Longest units first (each unit's tests stay together, in their order)."""
    if not hasattr(session.config, "workerinput"):
        return
    items = session.items
    module_of = {}
    guess: dict[str, float] = {}
    units_of: dict[str, set[str]] = {}
    first: dict[str, int] = {}
    for k, item in enumerate(items):
        unit = item.stash[_UNIT]
        module_of[unit] = module = item.nodeid.split("::", 1)[0]
        guess[unit] = guess.get(unit, 0.0) + (3.0 if item.get_closest_marker("browser") else 0.05)
        units_of.setdefault(module, set()).add(unit)
        first.setdefault(unit, k)
    cost = {unit: COST[module] / len(units_of[module]) if module in COST else guess[unit]
            for unit, module in module_of.items()}
    items.sort(key=lambda item: (-cost[item.stash[_UNIT]], first[item.stash[_UNIT]]))
