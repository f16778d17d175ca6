"""Static-first page opens on plain ``panel serve app.py`` (components/first_page.py): the
explorer's default link and a lesson are the static site's page, sent from the server's cache
with no session (no token in the page, no websocket), and work in Chromium from their tape
replay; their note links the same page with ``live=1``, which is live, as is any link the
static site has no page for. A class opening one link at once waits for one build."""

from __future__ import annotations

import gzip
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from .helpers import js, new_context, number, serve_app, set_slider, table

pytestmark = pytest.mark.browser
TOKEN = re.compile(r'"token"\s*:\s*"([^"]+)"')


def _env(pages: Path, prebuild: str = "0") -> dict:
    # opens wait for a build however long it takes here (a loaded machine): every open of
    # a class below gets the static page; pages on disk in a directory of the test's own
    return {"BPX_STATIC_FIRST": "1", "BPX_OPENS_PER_MINUTE": "100000",
            "BPX_FIRST_PAGE_WAIT": "300", "BPX_FIRST_PAGE_DIR": str(pages),
            "BPX_FIRST_PAGE_PREBUILD": prebuild}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server of its own, static-first on (the tests' servers have it off:
    tests/conftest.py); its first open (serve_app's) is live and installs the app's hooks,
    which build the explorer's default page in English and Chinese before anyone asks. Its
    pages on disk (``server.pages``) are the other servers' of this module too: one machine."""
    pages = tmp_path_factory.mktemp("pages")
    with serve_app(timeout=90, env=_env(pages, "graph:en,graph:zh")) as url:
        url.pages = pages
        yield url


def _get(url: str, **headers) -> tuple[int, dict, bytes]:
    """Status, headers and the (unzipped) body of ``GET url``."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            body = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return response.status, dict(response.headers), body
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), b""


def _builds(server, slug: str) -> int:
    return Path(server.log).read_text(errors="replace").count(f"static-first page {slug} ")


def _drawn(page) -> None:
    page.wait_for_function("() => { const t = window.__bpxt; const f = t && t.figure();"
                           " return f && t.viewOf(f) && t.rows() > 0 && t.deepText().length > 200 }",
                           timeout=60_000)
    page.wait_for_timeout(300)


def test_the_default_link_is_the_static_page_and_its_note_goes_live(server, browser):
    _wait_for_log(server, "static-first page graph en built")  # built at start, not here
    context = new_context(browser)
    try:
        page = context.new_page()
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.goto(server)
        _drawn(page)
        # the page's own replay: (w*x + b - y)**2 at x=1.5, b=0.5, y=1: w=2 -> 6.25, w=-1 -> 4
        assert number(table(page)["L"]["value"]) == 6.25
        set_slider(page, "w", -1.0)
        page.wait_for_function("() => { const d = window.__bpxt.table();"
                               " return d.value[d.name.indexOf('L')] !== '6.25' }", timeout=20_000)
        assert number(table(page)["L"]["value"]) == 4.0
        assert sockets == []  # no session: nothing to connect to
        # the moved slider is written into the address, with the live page's keys
        # (static/golive.js): a reload opens it there, and the language link takes it along
        page.wait_for_function("() => new URLSearchParams(location.search).get('w') === '-1'",
                               timeout=10_000)
        assert urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)["mode"] == ["graph"]
        other = page.locator("a[hreflang=zh]").first
        other.dispatch_event("contextmenu")  # (static/page-a11y.js) as a right click: no navigation
        query = urllib.parse.parse_qs(other.get_attribute("href").lstrip("?"))
        assert (query["lang"], query["w"]) == (["zh"], ["-1"])
        # typing an expression needs the server: the note links the live page
        live = page.evaluate("() => document.querySelector('meta[name=bpx-live]').content")
        assert live == "?expr=%28w%2Ax+%2B+b+-+y%29%2A%2A2&lang=en&live=1"
        note = page.locator(".bpx-static-note a")  # Playwright's CSS enters shadow roots
        # (the sidebar's note, and the main column's for a narrow screen: components/site.py)
        assert {note.nth(i).get_attribute("href") for i in range(note.count())} == {live}
        # and the expression box, usable on a page with a live app behind it, goes there with
        # the typed text and the page's state (static/golive.js): the live page opens there
        box = page.locator(".bk-panel-models-widgets-TextInput input")
        assert not box.is_disabled()
        box.fill("w*x")
        box.press("Enter")
        page.wait_for_url("**live=1**")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
        assert (query["expr"], query["w"], query["live"]) == (["w*x"], ["-1"], ["1"])
        page.wait_for_function("() => window.__bpxt && window.__bpxt.rows() > 0", timeout=60_000)
        assert sockets and js(page, "t.all('panel.models.widgets.TextInput').map((m) => [m.disabled, m.value])") == [[False, "w*x"]]
        # w*x at w=-1, x=1.5: the slider's value the student left
        page.wait_for_function("() => window.__bpxt.table().name.length === 3", timeout=30_000)
        assert js(page, "t.slider('w').value") == -1
        assert sorted(number(row["value"]) for row in table(page).values()) == [-1.5, -1, 1.5]
    finally:
        context.close()


def test_a_lesson_is_sent_zipped_once_and_revalidated_and_other_links_are_live(server):
    link = server + "?lesson=chain-rule&lang=zh"
    status, headers, body = _get(link, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    text = body.decode("utf-8")
    assert TOKEN.search(text) is None and 'lang="zh"' in text
    assert '<meta name="bpx-live" content="?lesson=chain-rule&amp;lang=zh&amp;live=1">' in text
    # a reload of a page the browser has: 304, nothing sent; a client without gzip: plain HTML
    assert _get(link, **{"If-None-Match": headers["Etag"]})[0] == 304
    assert _get(link)[2] == body
    # the same page asked in another spelling is the same cached page
    assert _get(server + "?lang=zh&lesson=chain-rule")[2] == body
    # live: the live page asked for, values in the link, a typed expression, an unknown key
    for query in ("?lesson=chain-rule&lang=zh&live=1", "?w=-1", "?expr=x*y", "?lang=en&mode=backward"):
        status, headers, body = _get(server + query)
        assert status == 200 and "ETag" not in headers and TOKEN.search(body.decode()), query
    assert _builds(server, "chain-rule") == 1


def test_a_class_opening_a_new_link_at_once_waits_for_one_build(server):
    results = _class_opens([server + "?lesson=fan-out&lang=en"] * 12, timeout=180)
    assert {status for status, _, _ in results} == {200}
    assert len({body for _, _, body in results}) == 1 and TOKEN.search(results[0][2].decode()) is None
    assert _builds(server, "fan-out") == 1


def _class_opens(urls: list[str], timeout: float = 240) -> list[tuple[int, dict, bytes]]:
    """Each of ``urls`` opened by a student of its own (gzip accepted), all at the same moment:
    every student's status, headers and body."""
    results: list[tuple[int, dict, bytes]] = []
    start = threading.Barrier(len(urls))

    def student(url):
        start.wait()
        results.append(_get(url, **{"Accept-Encoding": "gzip"}))

    students = [threading.Thread(target=student, args=(url,)) for url in urls]
    for s in students:
        s.start()
    for s in students:
        s.join(timeout=timeout)
    assert len(results) == len(urls)
    return results


def _same_page_to_all(urls: list[str]) -> list[tuple[str, bytes]]:
    """:func:`_class_opens`, asserting every student got one page with an ETag: its
    (ETag, body) per student."""
    results = [(headers.get("Etag", ""), body) for _, headers, body in _class_opens(urls)]
    assert len(set(results)) == 1 and results[0][0]
    return results


def _wait_for_log(server, text: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while text not in Path(server.log).read_text(errors="replace"):
        assert time.monotonic() < deadline, f"no {text!r} in the server's log"
        time.sleep(0.5)


def test_the_default_pages_are_built_when_the_server_starts(server):
    _wait_for_log(server, "static-first page graph zh built")  # nobody asked for it
    status, headers, body = _get(server + "?lang=zh")
    assert status == 200 and "Etag" in headers and TOKEN.search(body.decode()) is None
    assert _builds(server, "graph") == 2  # en and zh, once each


def test_two_server_processes_build_a_page_once(server):
    """Two processes of one machine (as ``--num-procs 2`` forks, or serve-cluster.sh's
    backends) on one directory of pages: a class opening a lesson on both at once gets one
    build."""
    link = "?lesson=loss-value&lang=zh"
    with serve_app(timeout=90, env=_env(server.pages)) as two:
        results = _same_page_to_all([url + link for url in (server, two) * 6])
        assert TOKEN.search(results[0][1].decode()) is None
        assert _builds(server, "loss-value") + _builds(two, "loss-value") == 1


def test_with_two_forked_processes_the_teachers_first_open_readies_both(server):
    """``panel serve --num-procs 2``: the processes share one socket, and the app's hooks
    install in a process with its first page open. The teacher's first open (serve_app's)
    reaches one; that one has the other run the app too; then a class opening the link at
    once gets the static page from either. The default page was built by the module's
    server, of the same code, on this machine: these processes build none and send that one."""
    _wait_for_log(server, "static-first page graph en built")
    headers, body = _get(server, **{"Accept-Encoding": "gzip"})[1:]
    env = {**_env(server.pages, "graph:en"), "BOKEH_SECRET_KEY": "x" * 43,
           "BOKEH_SIGN_SESSIONS": "true"}
    with serve_app(timeout=120, env=env,
                   extra_args=("--num-procs", "2", "--session-ids", "signed")) as url:
        _wait_for_log(url, "1 of 1 other server processes woken")
        results = _same_page_to_all([url] * 12)
        assert results[0] == (headers["Etag"], body)
        assert _builds(url, "graph") == 0
