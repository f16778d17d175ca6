"""Helpers for the browser tests: start the app, launch Chromium, read the page.

Used by ``conftest.py`` (fixtures) and by ``bench/bench_ui_latency.py``. Everything
that reads "numbers in the page" goes through Bokeh's document in the browser
(``Bokeh.documents[0]._all_models``, a Map in Bokeh 3.9) or through the DOM; both
are reached with ``page.evaluate``. Playwright's CSS locators pierce the open
shadow roots Bokeh renders into.
"""

from __future__ import annotations

import atexit
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tools.processes import free_port, stop_group

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# What the tests drive: Chromium's headless shell (Debian's chromium-headless-shell, installed by
# tools/install-test-deps.sh), the same Blink and V8 without the full browser around them. An
# open costs it ~0.7 s less CPU than `chromium --headless` (~3.5 against ~4.2 s of Chromium and
# server CPU per page of tests/ui/test_pages.py, alternating, load 6-8): the page opens are most
# of the suite's time. Where it is missing the tests drive CHROMIUM; `BPX_CHROMIUM=PATH` chooses.
# The benches keep CHROMIUM, so their figures stay comparable with the earlier ones.
HEADLESS_SHELL = "/usr/lib/chromium/chromium-headless-shell"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}
# a phone held upright (an iPhone 12-15's CSS pixels), with touch instead of a mouse
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# what Playwright sends Chromium for a page of a PHONE context (its crPage `_updateViewport` and
# `Emulation.setTouchEmulationEnabled`): emulate_phone sends the same to a page already open
PHONE_METRICS = {"mobile": True, "width": 390, "height": 844, "screenWidth": 390, "screenHeight": 844,
                 "deviceScaleFactor": 1, "screenOrientation": {"angle": 0, "type": "portraitPrimary"}}

# Defined in every page before its own scripts run (context.add_init_script): small
# accessors over the Bokeh document, evaluated lazily so they work once Bokeh is up.
INIT_SCRIPT = r"""
window.__bpxt = {
  models() {
    const doc = window.Bokeh && window.Bokeh.documents && window.Bokeh.documents[0]
    return doc ? [...doc._all_models.values()] : []
  },
  find(type, pred = () => true) { return this.models().find((m) => m.type === type && pred(m)) },
  all(type, pred = () => true) { return this.models().filter((m) => m.type === type && pred(m)) },
  tableModel() { return this.find("DataTable") },
  table() { const t = this.tableModel(); return t ? t.source.data : null },
  // brings the table on screen (off screen, its drawn cells catch up every 250 ms:
  // static/explorer/table.mjs)
  tableOnScreen() { const v = this.viewOf(this.tableModel()); if (v) v.el.scrollIntoView({block: "center"}) },
  rows() { const d = this.table(); return d && d.name ? d.name.length : 0 },
  // sliders on screen (replaced ones can linger in the document until it is cleaned)
  slider(title) { return this.find("Slider", (m) => m.title === title && this.viewOf(m)) },
  sliders() { return this.all("Slider", (m) => this.viewOf(m)).filter((m) => m.title !== "Speed").map((m) => ({title: m.title, value: m.value, start: m.start, end: m.end})) },
  div(cls) { return this.find("Div", (m) => (m.css_classes || []).includes(cls)) },
  meta() { return this.find("ColumnDataSource", (m) => "json" in m.data) },
  // the scene as the page holds it, parsed once per text the server sent (a wait polls it
  // every 50 ms, and the 11.6k MLP's scene is megabytes of JSON): read it, never change it
  scene() {
    const m = this.meta(), text = m ? m.data.json[0] : null
    if (text !== this._sceneText) { this._sceneText = text; this._scene = text ? JSON.parse(text) : null }
    return this._scene
  },
  figure() { return this.find("Figure") },
  source(cols) { return this.find("ColumnDataSource", (m) => cols.every((c) => c in m.data) && Object.keys(m.data).length === cols.length) },
  nodes() { return this.find("ColumnDataSource", (m) => "marker" in m.data && "fill" in m.data) },
  // every label drawn; `role` says what it labels (inner, top, bottom, mark, edge)
  labels() { return this.find("ColumnDataSource", (m) => "role" in m.data && "text" in m.data) },
  // the text under each node ("" where none is drawn), as the drawing shows it
  bottoms() {
    const d = this.labels().data, out = new Array(this.nodes().data.x.length).fill("")
    d.role.forEach((r, k) => { if (r === "bottom") out[d.node[k]] = d.text[k] })
    return out
  },
  edgeLabels() { const d = this.labels().data; return d.text.filter((_, k) => d.role[k] === "edge") },
  labelSizes() { const d = this.labels().data; return d.size.filter((_, k) => d.role[k] === "top" || d.role[k] === "bottom") },
  pulses() { return this.source(["x", "y", "label", "color"]) },
  viewOf(model) {
    for (const root of window.Bokeh.index.roots) {
      const v = root.owner.find_one(model)
      if (v) return v
    }
    return null
  },
  // screen position (CSS px in the viewport) of data point (x, y) of the figure
  toScreen(x, y) {
    const view = this.viewOf(this.figure())
    const r = view.el.getBoundingClientRect()
    return [r.left + view.frame.x_scale.compute(x), r.top + view.frame.y_scale.compute(y)]
  },
  // all text of the page, shadow roots included (innerText does not enter them)
  deepText(root = document.body) {
    const parts = []
    const walk = (node) => {
      if (node.nodeType === 3) { parts.push(node.nodeValue); return }
      if (node.nodeType !== 1 && node.nodeType !== 11) return
      if (node.tagName === "SCRIPT" || node.tagName === "STYLE") return
      if (node.shadowRoot) walk(node.shadowRoot)
      for (const c of node.childNodes) walk(c)
    }
    walk(root)
    return parts.join("")
  },
}
"""


# --- the server ---------------------------------------------------------------------------
class ServerURL(str):
    """``http://127.0.0.1:<port>/app``, with the server's ``log`` (path) and ``pid``."""

    log: str
    pid: int


@contextmanager
def serve_app(timeout: float = 60.0, extra_args: tuple[str, ...] = (), env: dict | None = None):
    """Run ``panel serve app.py`` on a free port; yield ``http://127.0.0.1:<port>/app``
    (a :class:`ServerURL`); ``env`` adds to the environment.

    The server runs in its own process group, which is killed on exit, whatever
    happened (a failed start included).
    """
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bpx-panel-", suffix=".log", delete=False)
    cmd = [sys.executable, "-m", "panel", "serve", "app.py", "--address", "127.0.0.1",
           "--port", str(port), "--allow-websocket-origin", f"127.0.0.1:{port}", *extra_args]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, **(env or {})})
    url = ServerURL(f"http://127.0.0.1:{port}/app")
    url.log, url.pid = log.name, proc.pid
    atexit.register(stop_group, proc)  # an interpreter that exits without unwinding
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"panel serve exited with {proc.returncode}:\n"
                                   f"{_tail(log.name)}")
            try:
                # the first page builds the first session (imports included): give it time,
                # each retry would be one more page open (metered: components/guard.py)
                with urllib.request.urlopen(url, timeout=30) as response:
                    if response.status == 200:
                        break
            except urllib.error.HTTPError:
                break  # the server answers (e.g. 429: page opens metered)
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"panel serve did not answer on {url} within {timeout:.0f} s:\n"
                                   f"{_tail(log.name)}")
            time.sleep(0.25)
        yield url
    finally:
        stop_group(proc)
        atexit.unregister(stop_group)
        log.close()


def terminate_gracefully() -> None:
    """Make SIGTERM unwind (finally blocks and fixtures run) instead of exiting at once."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def _raise(signum, frame):
            raise KeyboardInterrupt(f"signal {signum}")
        signal.signal(signal.SIGTERM, _raise)


def _tail(path: str, n: int = 40) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


# --- the browser ----------------------------------------------------------------------------
def chromium_for_tests() -> str:
    """The Chromium the tests drive: ``BPX_CHROMIUM`` if set, else the headless shell where
    it is installed, else CHROMIUM."""
    chosen = os.environ.get("BPX_CHROMIUM", "").strip()
    if chosen:
        return chosen
    return HEADLESS_SHELL if Path(HEADLESS_SHELL).exists() else CHROMIUM


def launch_chromium(playwright, executable: str = CHROMIUM):
    if not Path(executable).exists():
        raise RuntimeError(f"{executable} is missing: install Debian's chromium package "
                           "(`apt-get install chromium chromium-headless-shell`, or `bash "
                           "tools/install-test-deps.sh`); `playwright install` cannot "
                           "download browsers here")
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def new_context(browser, **options):
    """A browser context with the test accessors; ``options`` go to ``browser.new_context``
    (e.g. ``**PHONE``), the desktop viewport unless they name another."""
    context = browser.new_context(**{"viewport": VIEWPORT, **options})
    context.add_init_script(INIT_SCRIPT)
    return context


POLL_MS = 50


def poll_every(page, ms: float = POLL_MS):
    """``page``, whose ``wait_for_function`` tests its condition every ``ms`` milliseconds
    unless told otherwise (``polling="raf"``), instead of on every animation frame.

    Playwright's default polls on each frame: a pending requestAnimationFrame keeps Chromium
    producing frames for as long as the wait lasts. Measured on one open page (2026-11-30,
    load 17-19): Chromium took 0.06 s of CPU a second waiting on a constant condition by
    frame, 0.15-0.2 s a second on one that walks the page's text (``deepText``), against
    0.00 and 0.02-0.04 s polling every 100 ms. A wait is for a state that stays (a test that
    must catch a passing state records it in the page: test_explorer's playback recorder)."""
    wait = page.wait_for_function

    def wait_for_function(expression, *, arg=None, polling=None, timeout=None):
        return wait(expression, arg=arg, polling=ms if polling is None else polling, timeout=timeout)

    page.wait_for_function = wait_for_function
    return page


class Browsers:
    """Where the tests' pages come from: Chromium with a profile on disk, one per kind of device.

    A context of ``browser.new_context`` is off the record: Chromium keeps no compiled code for
    it, so every page open compiles BokehJS and Panel's scripts again (~3 s of Chromium CPU per
    open). A profile on disk keeps V8's code cache from the second open of a script on, which
    halves that. One such browser per (``is_mobile``, ``has_touch``) pair, started when first
    needed; a page's ``viewport`` and ``reduced_motion`` are set on the page itself. Pages of
    one kind share cookies and storage (the app keeps none: each page load is its own Panel
    session); ``new_page(fresh=True)``, or any other ``browser.new_context`` option, gives a
    page a context of its own in ``browser``.
    """

    PER_PAGE = {"viewport", "reduced_motion"}
    KIND = {"is_mobile", "has_touch"}

    def __init__(self, playwright, browser, executable: str = CHROMIUM):
        self.playwright, self.browser, self.executable = playwright, browser, executable
        self.shared: dict[tuple[bool, bool], object] = {}
        self.folder = Path(tempfile.mkdtemp(prefix="bpx-chromium-"))

    def new_page(self, fresh: bool = False, **options):
        """``(page, context)``: ``context`` is the page's own (close it after), or None."""
        if fresh or set(options) - self.PER_PAGE - self.KIND:
            context = new_context(self.browser, **options)
            return poll_every(context.new_page()), context
        kind = (bool(options.get("is_mobile")), bool(options.get("has_touch")))
        if kind not in self.shared:
            context = self.playwright.chromium.launch_persistent_context(
                str(self.folder / f"mobile{int(kind[0])}-touch{int(kind[1])}"),
                executable_path=self.executable, args=CHROMIUM_ARGS, is_mobile=kind[0], has_touch=kind[1],
                viewport=PHONE["viewport"] if kind[0] else VIEWPORT)
            context.add_init_script(INIT_SCRIPT)
            self.shared[kind] = context
        page = poll_every(self.shared[kind].new_page())
        page.set_viewport_size(options.get("viewport") or
                               (PHONE["viewport"] if kind[0] else VIEWPORT))
        if "reduced_motion" in options:
            page.emulate_media(reduced_motion=options["reduced_motion"])
        return page, None

    def close(self) -> None:
        import shutil

        for context in self.shared.values():
            try:
                context.close()
            except Exception:  # a crashed browser: nothing left to close
                pass
        self.shared.clear()
        shutil.rmtree(self.folder, ignore_errors=True)


# --- reading and driving the page --------------------------------------------------------
class Watched:
    """A page with the console errors and uncaught exceptions it produced; ``source`` is a
    :class:`Browsers` (or a Playwright browser: the page gets a context of its own)."""

    def __init__(self, source, **options):
        if isinstance(source, Browsers):
            self.page, self.context = source.new_page(**options)
        else:
            self.context = new_context(source, **options)
            self.page = poll_every(self.context.new_page())
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []
        self.page.on("pageerror", lambda e: self.page_errors.append(f"{e.name}: {e.message}\n{e.stack}"))
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(
            f"{m.text} ({m.location.get('url', '')}:{m.location.get('lineNumber', '')})"))

    def problems(self) -> str:
        """The uncaught exceptions so far (with the console errors beside them), or ""."""
        if not self.page_errors:
            return ""
        return ("uncaught exceptions in the page:\n  " + "\n  ".join(self.page_errors) +
                ("\n console errors:\n  " + "\n  ".join(self.console_errors)
                 if self.console_errors else ""))

    def assert_no_page_errors(self) -> None:
        problems = self.problems()
        assert not problems, problems

    def close(self) -> None:
        try:
            (self.context or self.page).close()
        except Exception:  # the browser may be gone after a crash; report what we have
            pass


def _drawer(page, open_: bool, timeout: float) -> None:
    shown = "() => document.getElementById('sidebar').classList.contains('show')"
    if page.evaluate(shown) != open_:
        page.locator("#sidebar-toggle").click()
    page.wait_for_function("(open) => { const s = document.getElementById('sidebar');"
                           " return s.classList.contains('show') === open && !s.classList.contains('collapsing') }",
                           arg=open_, timeout=timeout)
    page.wait_for_timeout(100)  # the figure's resize after the layout settles


def close_drawer(page, timeout: float = 10_000) -> None:
    """On a narrow screen, close the drawer of inputs and lessons with the header's toggle (if
    it is open) and wait until it has finished closing (Bootstrap's collapse animates: what was
    under it moves until then)."""
    _drawer(page, False, timeout)


def open_drawer(page, timeout: float = 10_000) -> None:
    """On a narrow screen, open the drawer of inputs and lessons (closed when the page opens) with
    the header's toggle, as a student does, and wait until it has opened."""
    _drawer(page, True, timeout)


def open_app(page, app_url: str, query: str = "", timeout: float = 30_000) -> None:
    """Open the app (``query`` with or without its ``?``); wait until the values table has rows."""
    query = query.lstrip("?")
    page.goto(app_url + (f"?{query}" if query else ""))
    page.wait_for_function("() => window.__bpxt && window.__bpxt.rows() > 0", timeout=timeout)


def show_later_parts(page, timeout: float = 30_000) -> None:
    """Scroll to each part of the page that is built when it first comes on screen
    (``components/later.py``: its marker, ``.bpx-later``), as a student scrolling down does,
    until every shown one is built; then back to the top."""
    # every root drawn first: a marker's place is known then
    page.wait_for_function("() => { const B = window.Bokeh, roots = B && B.index ? [...B.index.roots] : [];"
                           " return roots.length > 0 && roots.every((v) => v.is_idle === undefined || v.is_idle) }",
                           timeout=timeout)
    markers = page.locator(".bpx-later:visible")
    deadline = time.monotonic() + timeout / 1000
    while (n := markers.count()) > 0:
        try:  # (the part may be built between the count and the scroll: then count again)
            markers.first.evaluate("(e) => e.scrollIntoView({block: 'center'})", timeout=2_000)
        except PlaywrightTimeout:
            assert time.monotonic() < deadline, f"{n} part(s) never built once on screen"
            continue
        while markers.count() >= n:
            assert time.monotonic() < deadline, f"{n} part(s) never built once on screen"
            page.wait_for_timeout(50)
    page.evaluate("() => window.scrollTo(0, 0)")


def js(page, expression: str, arg=None):
    """Evaluate ``expression`` with ``t`` bound to the page's test accessors."""
    return page.evaluate(f"(arg) => {{ const t = window.__bpxt; return ({expression}) }}", arg)


def table(page) -> dict[str, dict[str, str]]:
    """The values table's data source: node name -> {op, value, grad, fault} (text)."""
    data = js(page, "t.table()")
    return {name: {"op": data["op"][i], "value": data["value"][i], "grad": data["grad"][i],
                   "fault": data["fault"][i]} for i, name in enumerate(data["name"])}


def table_names(page) -> list[str]:
    return list(js(page, "t.table().name"))


def number(text: str) -> float:
    """A number as the page prints it (``fmt``: 6 significant digits, inf, nan)."""
    text = text.strip().lstrip("⚠").strip()
    special = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
    return special[text] if text in special else float(text)


def table_cells(page) -> list[list[str]]:
    """The rendered cells of the values table (what a student sees), row by row."""
    rows = page.locator(".bpx-values .slick-row")
    out = []
    for i in range(rows.count()):
        out.append([c.strip() for c in rows.nth(i).locator(".slick-cell").all_inner_texts()])
    # SlickGrid positions rows absolutely; order them as they appear on screen
    return out


def sliders(page) -> dict[str, dict]:
    return {s["title"]: s for s in js(page, "t.sliders()")}


def wait_sliders(page, names: list[str], timeout: float = 20_000) -> None:
    """Wait until the variable sliders on screen are exactly ``names``, in order."""
    page.wait_for_function(
        "(names) => JSON.stringify(window.__bpxt.sliders().map((s) => s.title)) === JSON.stringify(names)",
        arg=names, timeout=timeout)


def slider_handle(page, name: str):
    """The noUiSlider handle of the variable slider titled ``name``."""
    title = page.locator(".bk-slider-title", has_text=re.compile(rf"^\s*{re.escape(name)}:"))
    return page.locator(".bk-Slider").filter(has=title).locator(".noUi-handle")


def set_slider(page, name: str, value: float, release: bool = False) -> None:
    """Set a slider's value in the browser as a drag does (``release``: also value_throttled)."""
    js(page, "(() => { const s = t.slider(arg.name); s.value = arg.value;"
             " if (arg.release) s.value_throttled = arg.value })()",
       {"name": name, "value": value, "release": release})


def text(page, selector: str) -> str:
    """Text of the first element matching ``selector``, its shadow root included.

    Bokeh and Panel render a model's content into the shadow root of the element
    that carries its ``css_classes``, where ``innerText`` does not reach.
    """
    raw = page.locator(selector).first.evaluate("(e) => window.__bpxt.deepText(e)")
    return re.sub(r"\s+", " ", raw).strip()


def wait_text(page, selector: str, substring: str, timeout: float = 20.0) -> str:
    """Wait until :func:`text` of ``selector`` contains ``substring``; return the text."""
    deadline = time.monotonic() + timeout
    while True:
        current = text(page, selector)
        if substring in current:
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector!r} never showed {substring!r}; it shows {current!r}")
        page.wait_for_timeout(50)


def div_text(page, css_class: str) -> str:
    """Text of the Bokeh Div or Panel pane with this CSS class (caption, counter, ...)."""
    return text(page, f".{css_class}")


def counter(page) -> str:
    return div_text(page, "bpx-counter")


def wait_counter(page, pattern: str, timeout: float = 20_000) -> str:
    page.wait_for_function(
        "(re) => { const t = window.__bpxt.div('bpx-counter'); return t && new RegExp(re).test(t.text) }",
        arg=pattern, timeout=timeout)
    return js(page, "t.div('bpx-counter').text")


def deep_text(page) -> str:
    return js(page, "t.deepText()")


def button(page, label: str):
    return page.get_by_role("button", name=label, exact=True)


def expression_input(page):
    return page.locator(".bk-panel-models-widgets-TextInput input")


def type_expression(page, text: str) -> None:
    box = expression_input(page)
    box.fill(text)
    box.press("Enter")


def node_position(page, name: str) -> tuple[float, float]:
    """Viewport coordinates of the node called ``name`` in the figure."""
    return tuple(js(page, "(() => { const d = t.table(); const i = d.name.indexOf(arg);"
                          " const n = t.nodes().data; return t.toScreen(n.x[i], n.y[i]) })()", name))


# pages turned into phones by emulate_phone -> the DevTools session that holds the emulation
_PHONES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def emulate_phone(page, timeout: float = 10_000) -> None:
    """Turn a page open on the desktop into the phone of ``PHONE``, as if a phone had opened it:
    the same viewport (390x844 CSS px, a mobile one: no scrollbar, the page's meta viewport) and
    touch (``pointer: coarse``, ``hover: none``: the larger targets of static/responsive.css and
    fields.css), sent to Chromium as Playwright sends them for a page of a ``PHONE`` context. The
    page relayouts as it does when a window narrows (the sidebar becomes the closed drawer:
    static/page-a11y.js). Checked against a page opened on a phone (tests/ui/test_pages.py's
    module notes): the same pixels, sizes and controls. Not the same: ``'ontouchstart' in
    window`` stays false (set when the document is made; the app reads pointer events only),
    and Playwright's ``page.tap`` and ``page.viewport_size`` still see the desktop context;
    :func:`screenshot` takes the phone's picture. The emulation lasts until the page closes."""
    session = page.context.new_cdp_session(page)
    session.send("Emulation.setDeviceMetricsOverride", PHONE_METRICS)
    session.send("Emulation.setTouchEmulationEnabled", {"enabled": True})
    _PHONES[page] = session
    page.wait_for_function("(w) => innerWidth === w && matchMedia('(pointer: coarse)').matches"
                           " && !document.getElementById('sidebar').classList.contains('show')",
                           arg=PHONE_METRICS["width"], timeout=timeout)
    # every root laid out again at the new width (Bokeh redraws its figures on a resize)
    page.wait_for_function("() => [...window.Bokeh.index.roots].every((v) => v.is_idle === undefined || v.is_idle)",
                           timeout=timeout)
    page.wait_for_timeout(300)


def resize(page, width: int, height: int) -> None:
    """``page.set_viewport_size``, also for a page made a phone by :func:`emulate_phone` (which
    stays a touch screen: turned, or a tablet's size; the screen's orientation as Playwright
    gives a phone's context of that size)."""
    phone = _PHONES.get(page)
    if phone is None:
        page.set_viewport_size({"width": width, "height": height})
        return
    turned = {"angle": 90, "type": "landscapePrimary"} if width > height else PHONE_METRICS["screenOrientation"]
    phone.send("Emulation.setDeviceMetricsOverride", {**PHONE_METRICS, "width": width, "height": height,
                                                      "screenWidth": width, "screenHeight": height,
                                                      "screenOrientation": turned})


def screenshot(page, name: str, full_page: bool = True) -> Path | None:
    """Save what the page shows as ``tests/ui/screenshots/<name>.png`` when the environment
    variable ``BPX_SCREENSHOTS`` is set (to anything but ``0``), for a person to look at; no
    test reads them, and a full-page picture costs Chromium ~0.5 s of CPU, so a plain run
    takes none. ``BPX_SCREENSHOTS=DIR`` writes them into DIR instead."""
    where = os.environ.get("BPX_SCREENSHOTS", "").strip()
    if where in ("", "0"):
        return None
    folder = SCREENSHOTS if where == "1" else Path(where)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.wait_for_timeout(300)  # a redraw or scroll that is still settling
    phone = _PHONES.get(page)
    if phone is None:
        page.screenshot(path=str(path), full_page=full_page)
        return path
    # a page made a phone by emulate_phone: Playwright's own capture would restore its desktop
    # viewport, so the phone's session takes it (and turns touch back on after a full-page
    # capture, which turns it off, as Playwright does after its own)
    import base64
    width, height = page.evaluate("(full) => [innerWidth, full ? document.documentElement.scrollHeight"
                                  " : innerHeight]", full_page)
    shot = phone.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": full_page,
                                                 "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    if full_page:
        phone.send("Emulation.setTouchEmulationEnabled", {"enabled": True})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def open_page(page, app_url: str, query: str = "", timeout: float = 30_000) -> None:
    """Open any page of the app (``query`` with or without its ``?``); wait until its first
    figure is drawn and its text is in (the explorer and every lesson have a figure)."""
    query = query.lstrip("?")
    page.goto(app_url + (f"?{query}" if query else ""))
    page.wait_for_function("() => { const t = window.__bpxt; const f = t && t.figure();"
                           " return f && t.viewOf(f) && t.deepText().length > 200 }",
                           timeout=timeout)
    page.wait_for_timeout(300)  # the rest of the page's roots render in the same task burst


# --- accessibility -------------------------------------------------------------------------
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's WCAG 2.x A/AA findings on the page as it stands (Panel's open shadow roots
    included), those of the given impacts: ``[{id, impact, help, nodes: [{target, html}]}]``."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `bash tools/install-test-deps.sh` (it installs "
                           "axe-core from npm into tests/ui/node_modules)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async (tags) => {
          // only the violations are written out in full (each found node with its selector);
          // of the rules that pass, axe keeps one node each: the same findings, less work.
          // preload: axe copies every stylesheet of the page and of each shadow root (Panel's:
          // hundreds) into a CSSOM of its own, and waits on every <audio>/<video>, before any rule
          // runs; only css-orientation-lock reads that CSSOM (an 'experimental' rule, which a run
          // by tags leaves out) and only no-autoplay-audio the media (audio/video with autoplay).
          // Without it an audit costs Chromium about half the CPU (chain-rule: 1.74, 1.34, 1.54
          // -> 0.93, 0.63, 0.59 s, alternating, load 14), with the same findings; a page with
          // audio or video keeps it.
          const media = document.querySelector('audio, video') !== null
          const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                             resultTypes: ['violations'], preload: media})
          return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => ({target: n.target, html: n.html.slice(0, 160),
                                        impact: n.impact, summary: n.failureSummary}))}))
        }""", AXE_TAGS)
    return [v for v in found if v["impact"] in impacts]


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']}")
        for n in v["nodes"][:4]:
            lines.append(f"    {n['target']}: {n['html']}")
    return "\n".join(lines)


# every control a student can operate, deep in the shadow roots, as visible boxes
CONTROL_BOXES = r"""() => {
  const out = []
  const sel = 'input, button, select, textarea, a[href], [role="slider"], [role="button"], [tabindex="0"]'
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.matches(sel)) {
        const r = el.getBoundingClientRect(), s = getComputedStyle(el)
        if (r.width > 0 && r.height > 0 && s.visibility !== 'hidden')
          out.push({tag: el.tagName, text: (el.getAttribute('aria-label') || el.textContent || el.value || '').trim().slice(0, 40),
                    left: r.left, right: r.right, top: r.top, width: r.width, height: r.height})
      }
      if (el.shadowRoot) walk(el.shadowRoot)
    }
  }
  walk(document)
  return out
}"""


def sideways_overflow(page) -> int:
    """How many CSS px the page scrolls sideways (0: none)."""
    return page.evaluate("() => Math.max(0, document.documentElement.scrollWidth - innerWidth)")


def controls_off_screen(page) -> list[dict]:
    """Controls that stick out of the viewport's width (a student could not reach them)."""
    width = page.evaluate("() => innerWidth")
    return [c for c in page.evaluate(CONTROL_BOXES) if c["left"] < -0.5 or c["right"] > width + 0.5]


def focused(page) -> dict:
    """The element that has the keyboard focus, found through the open shadow roots."""
    return page.evaluate("""() => {
      let el = document.activeElement
      while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement
      if (!el) return {}
      const host = (e) => { let r = e.getRootNode(); const hosts = []
        while (r && r.host) { hosts.push((r.host.className || '').toString()); r = r.host.getRootNode() } return hosts }
      return {tag: el.tagName, role: el.getAttribute('role'), label: el.getAttribute('aria-label'),
              text: (el.textContent || el.value || '').trim().slice(0, 60), hosts: host(el)}
    }""")


def touch_drag(page, x0: float, y0: float, x1: float, y1: float, steps: int = 8) -> None:
    """A finger drag from (x0, y0) to (x1, y1), as real touch events (Chrome DevTools Protocol)."""
    cdp = page.context.new_cdp_session(page)
    try:
        point = lambda x, y: [{"x": x, "y": y, "id": 1}]  # noqa: E731
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": point(x0, y0)})
        for k in range(1, steps + 1):
            x, y = x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": point(x, y)})
            page.wait_for_timeout(16)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()


# --- the labels of the graph figures, as drawn -----------------------------------------------
# Every graph figure of the page (a figure whose label source has a `role` column) that is
# rendered: its frame on screen (CSS px) and the screen box of each label, measured with the
# font the figure draws in (Bokeh's "helvetica"); `inside`: the label's anchor is in the frame.
GRAPH_LABELS = r"""() => {
  const t = window.__bpxt, ctx = document.createElement('canvas').getContext('2d')
  const out = []
  t.all('Figure').forEach((f) => {
    const labels = f.renderers.find((r) => r.data_source && 'role' in r.data_source.data && 'text' in r.data_source.data)
    const view = labels && t.viewOf(f)
    if (!view) return
    const rect = view.el.getBoundingClientRect()
    if (rect.width === 0 || rect.height === 0) return
    const fr = view.frame, xs = fr.x_scale, ys = fr.y_scale
    const left = rect.left + fr.bbox.left, top = rect.top + fr.bbox.top
    const frame = {left, right: left + fr.bbox.width, top, bottom: top + fr.bbox.height}
    const nodes = f.renderers.find((r) => r.data_source && 'marker' in r.data_source.data && 'fill' in r.data_source.data)
    const d = labels.data_source.data, boxes = []
    d.text.forEach((text, k) => {
      if (text === null) return  // a blank row (static/explorer/sources.mjs, Written.updateText)
      const px = parseFloat(d.size[k]); ctx.font = `${d.style[k]} ${d.size[k]} helvetica`
      const w = ctx.measureText(text).width, h = px * 1.15
      const ax = rect.left + xs.compute(d.x[k]), ay = rect.top + ys.compute(d.y[k])
      const x = ax + d.dx[k], y = ay + d.dy[k]
      const top = d.baseline[k] === 'top' ? y : d.baseline[k] === 'bottom' ? y - h : y - h / 2
      boxes.push({text, role: d.role[k], node: d.node[k], px, left: x - w / 2, right: x + w / 2, top, bottom: top + h,
                  inside: ax >= frame.left && ax <= frame.right && ay >= frame.top && ay <= frame.bottom})
    })
    out.push({frame, boxes, nodes: nodes ? nodes.data_source.data.x.length : 0})
  })
  return out
}"""


def graph_labels(page) -> list[dict]:
    """The graph figures on the page with their labels' screen boxes (see GRAPH_LABELS)."""
    return page.evaluate(GRAPH_LABELS)


def overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    """The pairs of label boxes that meet (their texts)."""
    return [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]]
