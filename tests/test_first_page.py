"""Static-first page opens (components/first_page.py), without a server: which queries are a
page of the static site, one build for every open that waits for it, a cache bounded in bytes.
The server's side (what Chromium gets) is tests/ui/test_first_page.py."""

from __future__ import annotations

import asyncio
import doctest
import os
from urllib.parse import parse_qs, urlsplit

from bokeh_client import run_alone
from components import first_page
from components.first_page import FirstPages, Page, Shelf, canonical
from components.navigation import query_link
from components.site import site_pages


def _query(link: str) -> dict[str, list[bytes]]:
    """Tornado's ``request.query_arguments`` for a link's query."""
    return {k: [v.encode() for v in vs] for k, vs in parse_qs(urlsplit(link).query).items()}


def test_every_page_of_the_site_and_the_servers_own_links_to_it_are_canonical():
    for slug, lang, args in site_pages():
        assert canonical({k: [v.encode()] for k, v in args.items()}) == (slug, lang, args)
        # the navigation's links (lesson=graph included) and the examples menu's go there too
        assert canonical(_query(query_link(slug, lang, {}))) in (
            (slug, lang, args), canonical({"lang": [lang.encode()]}))
        assert canonical(_query(query_link(slug, lang, args))) == (slug, lang, args)


def test_a_query_with_anything_a_static_page_cannot_show_is_live():
    live = ["?w=2", "?live=1", "?lesson=chain-rule&live=1", "?expr=x*y", "?lesson=nope",
            "?lang=fr", "?lesson=chain-rule&expr=x", "?expr=mlp(2,60,60,1)&level=layer",
            "?lesson=chain-rule&lesson=fan-out", "?mode=backward", "?lesson=same-gradient&A=3"]
    assert [canonical(_query(q)) for q in live] == [None] * len(live)
    assert canonical({}) == canonical(_query("?lang=en")) == canonical(_query("?lesson=graph"))


def test_the_modules_examples_hold():
    assert doctest.testmod(first_page).failed == 0


def _page(n: int) -> Page:
    return Page(bytes(n), f'"{n}"')


def test_opens_that_come_while_a_page_is_built_wait_for_that_one_build():
    calls = []

    async def crowd():
        release = asyncio.Event()

        async def build(slug, lang, args):  # held until all have asked
            calls.append(slug)
            await release.wait()
            return _page(100)

        pages = FirstPages(limit=1000, build=build)
        page = site_pages(("en",))[0]
        opens = [asyncio.ensure_future(pages.page(page)) for _ in range(30)]
        await asyncio.sleep(0.2)
        release.set()
        got = await asyncio.gather(*opens)
        again = await pages.page(page)
        return pages, got, again

    pages, got, again = run_alone(crowd())
    assert calls == ["graph"] and pages.builds == 1
    assert all(p is got[0] for p in got) and again is got[0]


def test_an_open_waits_for_a_long_build_only_so_long_and_the_next_gets_its_page():
    async def opens():
        async def build(slug, lang, args):
            await asyncio.sleep(0.5)
            return _page(100)

        pages = FirstPages(limit=1000, build=build, wait=0.1)
        page = site_pages(("en",))[0]
        first = await pages.page(page)  # gave up waiting: the live page
        await asyncio.sleep(0.6)
        return first, await pages.page(page), pages.builds

    first, later, builds = run_alone(opens())
    assert first is None and later == _page(100) and builds == 1


def test_a_refused_or_failed_build_is_no_page_and_a_failed_one_is_not_tried_again():
    async def failing(slug, lang, args):
        failing.calls += 1
        raise ValueError("no page")
    failing.calls = 0

    async def opens():
        pages = FirstPages(limit=1000, build=failing)
        page = site_pages(("en",))[0]
        refused = await pages.page(page, charge=lambda: False)  # the meter says no: no build
        first, second = await pages.page(page), await pages.page(page)
        return refused, first, second

    assert run_alone(opens()) == (None, None, None) and failing.calls == 1


def test_the_cache_keeps_at_most_its_bytes_dropping_the_least_recently_opened():
    sizes = {slug: 400 for slug, _, _ in site_pages(("en",))}
    sizes["chain-rule"] = 2000  # larger than the whole cache: served, never kept

    async def opens():
        async def build(slug, lang, args):
            return _page(sizes[slug])

        pages = FirstPages(limit=1000, build=build)
        en = {slug: page for page in site_pages(("en",)) for slug in [page[0]]}
        for slug in ("graph", "fan-out", "graph", "loss-value", "chain-rule"):
            assert len((await pages.page(en[slug])).gz) == sizes[slug]
            assert pages.size <= pages.limit
        return pages

    pages = run_alone(opens())
    # graph was opened again after fan-out: fan-out went when loss-value came
    assert [key[0] for key in pages.pages] == ["graph", "loss-value"] and pages.size == 800
    assert pages.builds == 4


# --- pages shared on disk by a machine's server processes (first_page.Shelf) -----------------
def _shared_class(shelves, calls):
    """Each shelf a server process's FirstPages; 15 opens of one page on each at once."""
    async def crowd():
        async def build(slug, lang, args):
            calls.append(slug)
            await asyncio.sleep(0.3)
            return _page(100)

        processes = [FirstPages(limit=1000, build=build, shelf=s, poll=0.05) for s in shelves]
        page = site_pages(("en",))[0]
        opens = [asyncio.ensure_future(p.page(page)) for p in processes for _ in range(15)]
        return processes, await asyncio.gather(*opens)

    return run_alone(crowd())


def test_two_processes_opening_one_page_at_once_build_it_once(tmp_path):
    calls = []
    # two Shelf objects on one directory: two open files, two flocks, as two processes have
    processes, got = _shared_class([Shelf(tmp_path, "code1"), Shelf(tmp_path, "code1")], calls)
    assert calls == ["graph"] and sorted(p.builds for p in processes) == [0, 1]
    assert all(page == _page(100) for page in got)
    # both keep it, and neither asks the disk again
    assert all(len(p.pages) == 1 for p in processes)


def test_pages_on_disk_serve_a_restart_of_the_same_code_only(tmp_path):
    calls = []
    _shared_class([Shelf(tmp_path, "code1")], calls)
    _shared_class([Shelf(tmp_path, "code1")], calls)  # a restart: nothing built
    assert calls == ["graph"]
    _shared_class([Shelf(tmp_path, "code2")], calls)  # other code: built again
    assert calls == ["graph", "graph"]


def test_the_code_key_changes_with_any_file_that_shapes_a_page(tmp_path, monkeypatch):
    (tmp_path / "components" / "words").mkdir(parents=True)
    (tmp_path / "app.py").write_text("x = 1\n")
    words = tmp_path / "components" / "words" / "ui.en.toml"
    words.write_text('a = "b"\n')
    monkeypatch.setattr(first_page, "ROOT", tmp_path)

    def key():
        first_page.code_key.cache_clear()
        return first_page.code_key()

    try:
        first = key()
        (tmp_path / "components" / "__pycache__").mkdir()
        (tmp_path / "components" / "__pycache__" / "x.pyc").write_bytes(b"\0")
        assert key() == first  # compiled files are not code
        words.write_text('a = "c"\n')
        assert key() != first
    finally:
        first_page.code_key.cache_clear()


def test_a_process_that_dies_while_building_leaves_the_build_to_another(tmp_path):
    held = Shelf(tmp_path, "k").lock(FirstPages.key(site_pages(("en",))[0]))
    assert held is not None  # "another process" is building

    async def opens():
        calls = []

        async def build(slug, lang, args):
            calls.append(slug)
            return _page(7)

        pages = FirstPages(limit=1000, build=build, shelf=Shelf(tmp_path, "k"), poll=0.05, wait=0.2)
        page = site_pages(("en",))[0]
        waited = await pages.page(page)  # the other's build: not here within 0.2 s
        held.close()  # it died (the system releases its lock): this process builds
        await asyncio.sleep(0.3)
        return waited, await pages.page(page), calls

    assert run_alone(opens()) == (None, _page(7), ["graph"])


def test_the_builder_process_ends_when_idle_and_starts_again_on_demand():
    import os

    async def use():
        builder = first_page.Builder(idle=0.2, initializer=None)
        first = await builder.run(os.getpid)
        running = builder.pool is not None
        await asyncio.sleep(0.6)
        ended = builder.pool is None
        second = await builder.run(os.getpid)
        builder.end()
        return first, running, ended, second, builder.started

    first, running, ended, second, started = run_alone(use())
    assert first != os.getpid() and second != first and running and ended and started == 2


def test_the_pages_built_at_start_are_named_by_an_environment_variable(monkeypatch):
    monkeypatch.setenv("BPX_FIRST_PAGE_PREBUILD", "chain-rule:zh, graph:en,nope:en")
    assert [p[:2] for p in first_page.prebuild_pages()] == [("chain-rule", "zh"), ("graph", "en")]
    monkeypatch.setenv("BPX_FIRST_PAGE_PREBUILD", "0")
    assert first_page.prebuild_pages() == []
    monkeypatch.delenv("BPX_FIRST_PAGE_PREBUILD")
    pages = first_page.prebuild_pages()
    assert {p[1] for p in pages} == {"en", "zh"} and len(pages) == len(set(map(FirstPages.key, pages)))
    assert all(slug != "graph" or args == canonical({"lang": [lang.encode()]})[2]
               for slug, lang, args in pages)


def test_a_page_saved_as_text_leaves_nothing_of_it_alive():
    # Panel's save registers the page in pn.state._views (with its document), and a widget's
    # js callback stays in pn.links.Callback.registry, whose values lead back to their key:
    # each page the static-first builder process built stayed alive (~3 MB each)
    import gc
    import io
    import weakref

    import panel as pn
    import param

    from components import site

    class Model(param.Parameterized):  # a session model behind the page's widgets
        w = param.Number(1.0)

    def saved() -> tuple[str, list]:
        model = Model()
        slider = pn.widgets.FloatSlider.from_param(model.param.w)
        button = pn.widgets.Button(name="go")
        button.js_on_click(args={"s": slider}, code="s.value = 2")
        page = pn.template.BootstrapTemplate(title="t", main=[pn.Column(button, slider)])
        out = io.StringIO()
        with site.saved_only():
            page.save(out, title="t")
        return out.getvalue(), [weakref.ref(x) for x in (button, page)]

    views, fake = len(pn.state._views), len(pn.state._fake_roots)
    text, alive = saved()
    gc.collect()
    assert "<html" in text.lower()
    assert [ref() for ref in alive] == [None] * 2  # the js callback's source, the template
    assert (len(pn.state._views), len(pn.state._fake_roots)) == (views, fake)
    assert doctest.testmod(site).failed == 0


class _Quiet:
    """An :class:`first_page.Activity` whose quiet the test sets."""

    def __init__(self):
        self.is_quiet = False

    def quiet(self) -> bool:
        return self.is_quiet


def test_prebuild_builds_the_explorers_pages_at_once_and_lessons_only_while_no_live_work():
    """The class's link first, even while the server is busy; a lesson only once it is quiet,
    its build held while the server is busy again, unless an open waits for a build."""
    lesson, = [p for p in site_pages(("en",)) if p[0] == "chain-rule"]
    graph = site_pages(("en",))[0]
    assert graph[0] == "graph"

    async def start():
        built, held = [], []
        go_on = asyncio.Event()

        async def build(slug, lang, args):
            built.append(slug)
            if slug != "graph":
                await go_on.wait()
            return _page(len(built))

        pages, activity = FirstPages(limit=10_000, build=build, wait=5), _Quiet()
        run = asyncio.ensure_future(first_page.prebuild(pages, [lesson, graph], activity,
                                                        held.append, poll=0.01))
        await asyncio.sleep(0.1)
        busy = list(built)  # the server busy from the start: the explorer's page only
        activity.is_quiet = True
        await asyncio.sleep(0.1)
        quiet = list(built)
        activity.is_quiet = False  # live work while the lesson is built: held
        await asyncio.sleep(0.1)
        was_held = held[-1]
        waiting = asyncio.ensure_future(pages.page(lesson))  # an open waits: goes on
        await asyncio.sleep(0.1)
        on_for_open = held[-1]
        go_on.set()
        await run
        return busy, quiet, was_held, on_for_open, held[-1], await waiting

    busy, quiet, was_held, on_for_open, last, opened = run_alone(start())
    assert busy == ["graph"] and quiet == ["graph", "chain-rule"]
    assert was_held is True and on_for_open is False and last is False
    assert opened == _page(2)


def test_a_held_builder_process_goes_on_when_a_page_is_asked_and_when_it_ends():
    import os

    async def use():
        builder = first_page.Builder(idle=5, initializer=None)
        pid = await builder.run(os.getpid)
        builder.hold(True)
        state = _state(pid)
        again = await builder.run(os.getpid)  # a new build: it goes on
        builder.hold(True)
        builder.end()
        return pid, state, again, builder.held

    pid, state, again, held = run_alone(use())
    assert state == "T" and again == pid and held is False


def _state(pid: int) -> str:
    """A process's state letter (/proc: ``T`` stopped)."""
    import time

    for _ in range(50):
        text = open(f"/proc/{pid}/stat").read()
        state = text.rsplit(")", 1)[1].split()[0]
        if state == "T":
            return state
        time.sleep(0.02)
    return state


def test_other_code_versions_pages_are_removed_unless_a_server_uses_them(tmp_path):
    import os
    import time

    mine = Shelf(tmp_path, "a" * 16)
    unused, used, new = (Shelf(tmp_path, c * 16) for c in "bcd")
    for shelf in (unused, used, new):
        shelf.put(FirstPages.key(site_pages(("en",))[0]), _page(3))
    unused.in_use.close()  # its server ended
    new.in_use.close()  # ended too, but its pages were written a moment ago
    (tmp_path / "notes").mkdir()  # not a code version's
    day = time.time() - 86400
    for shelf in (unused, used):
        os.utime(shelf.dir, (day, day))
    assert first_page.prune(tmp_path, mine.dir.name) == ["b" * 16]
    used.in_use.close()
    assert first_page.prune(tmp_path, mine.dir.name) == ["c" * 16]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a" * 16, "d" * 16, "notes"]


def test_a_forked_server_process_counts_its_siblings_cpu_as_live_work(monkeypatch):
    """With ``--num-procs N`` a process's live work is also its siblings' (the parent's other
    children): the test process plays the parent, and one of two children burning CPU the
    process asking; the other child's CPU counts, the asking one's is its own (not added)."""
    import os
    import subprocess
    import sys

    import pytest
    import tornado.process

    code = ("import sys, time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n"
            "print('burnt', flush=True)\nsys.stdin.readline()\n")
    kids = [subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE) for _ in range(2)]
    asking, sibling = kids
    me = os.getpid()
    try:
        for kid in kids:
            kid.stdout.readline()
        assert first_page.server_work() == pytest.approx(first_page.work_of(me), abs=0.05)
        monkeypatch.setattr(tornado.process, "task_id", lambda: 0)
        monkeypatch.setattr(os, "getppid", lambda: me)
        monkeypatch.setattr(os, "getpid", lambda: asking.pid)
        own = first_page.work_of(asking.pid)  # idle now: it stays so

        def every_other() -> float:  # the test process's other children (a worker's servers too)
            children = open(f"/proc/{me}/task/{me}/children").read().split()
            return sum(first_page.work_of(int(pid)) for pid in children) - own

        before = every_other()
        others = first_page.server_work() - own
        after = every_other()
    finally:
        for kid in kids:
            kid.kill()
            kid.wait()
    assert others >= 0.35 and own >= 0.35  # the sibling's burn counted, not the asker's
    assert before - 0.01 <= others <= after + 0.01


def test_a_builder_whose_server_died_while_it_started_knows_it(monkeypatch):
    # a server stopped within seconds of its start left its builder process running: the
    # death signal is asked for in the builder's start, too late for a server already gone
    import multiprocessing

    class Server:
        pid = os.getppid()

    monkeypatch.setattr(multiprocessing, "parent_process", lambda: Server)
    assert not first_page.server_gone()
    Server.pid = os.getppid() + 1  # the process was handed to another parent
    assert first_page.server_gone()
    monkeypatch.setattr(multiprocessing, "parent_process", lambda: None)  # not a builder
    assert not first_page.server_gone()
