"""``backprop-explorer build-site DIR``: the app's pages as a static site, no Python behind it.

Every page is the page the live server builds (:func:`components.navigation.build_page`, the
same template and components), saved as HTML with its Bokeh document inside: what runs in the
browser keeps working from any static file server or CDN - the explorer's sliders, mode switch,
playback and the figure's node numbers (the tape replay of ``static/explorer/``), the
values table, and the node details and written-out passes (built with :func:`texts.offline`:
the page carries their templates and fills them from its replay). Lessons' texts that are the graph's arithmetic are templates the page fills the same way
(:func:`texts.attach`); figures that numpy computes from a lesson's own controls are computed
by the lesson's code over those controls' grid while the site is built
(:mod:`components.states`). The explorer's "Save as HTML" is made in the page from the saved
file of its first state kept under ``DIR/save/`` (:func:`keep_saved`,
``static/explorer/save.mjs``). A network's drawing at each level its switch offers but the
first is a file under ``DIR/files/`` fetched on the first switch to it (:func:`keep_file`,
``static/explorer/levels.mjs``). What needs Python does not work: typed expressions and the
controls that need a derivation or a lesson's numpy work, greyed out on the page
(:func:`texts.server_only`); each page that has them says so in a note that links the same
page on the live app (``--live URL``; UI words ``static_site_note``, ``static_lesson_note``,
and their ``_live`` forms on a page with a live app behind it, where those controls work),
and the figures README's "A static site" lists stay at the values they were built with. The
explorer's examples menu goes to the example's page of the site.

``DIR/index.html`` links every page: the explorer with each example of its menu, and every
lesson, in every language. BokehJS and Panel's files are copied under ``DIR/static/`` (only
those the pages use), at the paths the live server serves them from.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import html
import io
import re
import shutil
import sys
import types
import urllib.parse
from pathlib import Path

PANEL_CDN = re.compile(r"https://cdn\.holoviz\.org/panel/[^/]+/dist/")
STATIC_URL = re.compile(r"""static/(?:js|extensions/panel)/[^"'?\s)\\]+""")


def example_pages() -> dict[str, str]:
    """File stem -> expression, for every example of the explorer's menu."""
    from .controls import EXAMPLES

    pages = {}
    for word, source in EXAMPLES:
        name = "-".join(str(part) for part in word[:2]) if isinstance(word, tuple) else word
        pages["graph-" + name.replace("_", "-")] = source
    return pages


def page_file(slug: str, lang: str, args: dict) -> str:
    """A page's file name: a lesson's, or the explorer's for the example in ``args``."""
    if slug != "graph":
        return f"{slug}.{lang}.html"
    stems = {source: stem for stem, source in example_pages().items()}
    return f"{stems.get(args.get('expr', ''), 'graph-article')}.{lang}.html"


def site_pages(langs: tuple[str, ...] | None = None) -> list[tuple[str, str, dict]]:
    """Every page of the site as ``(slug, lang, args)``: the explorer with each example of its
    menu, then every lesson, for each language (all by default)."""
    from .lessons import LESSONS
    from .words import LANGUAGES

    pages: list[tuple[str, str, dict]] = []
    for lang in tuple(LANGUAGES) if langs is None else langs:
        pages += [("graph", lang, {"expr": source, "lang": lang})
                  for source in example_pages().values()]
        pages += [(slug, lang, {"lesson": slug, "lang": lang}) for slug in LESSONS if slug != "graph"]
    return pages


def build_site(out: Path, langs: tuple[str, ...] | None = None,
               only: set[str] | None = None, live: str | None = None) -> list[Path]:
    """Write every page, the index and the static files they use into ``out``; the pages.

    ``only``: write just the pages of these file names (the index still links every page).
    ``live``: the live app's address; a page's note links the same page there.
    """
    import panel as pn

    from .page import start_session, stylesheet
    from .words import LANGUAGES

    langs = tuple(LANGUAGES) if langs is None else langs
    out.mkdir(parents=True, exist_ok=True)
    pn.extension(raw_css=[stylesheet()], notifications=True)
    start_session()
    pages = site_pages(langs)
    written = []
    for slug, lang, args in pages:
        path = out / page_file(slug, lang, args)
        if only is not None and path.name not in only:
            continue
        path.write_text(page_html(slug, lang, args, live=same_page(live, args),
                                  save=functools.partial(keep_saved, out, path.name),
                                  keep=functools.partial(keep_file, out, path.name)),
                        encoding="utf-8")
        written.append(path)
    (out / "index.html").write_text(_index(pages, langs), encoding="utf-8")
    _copy_static(out, written)
    return written


def page_html(slug: str, lang: str, args: dict, link=page_file, live: str | None = None,
              save=None, keep=None) -> str:
    """The static page ``(slug, lang, args)`` of :func:`site_pages` as HTML text.

    ``link(slug, lang, args)``: where the page's links go (the site's files by default; the
    live server's queries for a page it serves static-first, :mod:`components.first_page`).
    ``live``: the address of this same page on the live app, or None; a page that has one
    knows it (:func:`with_live`), and its note about what needs the live app links there.
    ``save``: keeps the explorer's saved file beside the page (:func:`keep_saved`), so that its
    "Save as HTML" works in the page; None: that button needs the live app.
    ``keep``: keeps the page's own data files beside it (:func:`keep_file`: a network's
    drawing at each level but the first, fetched on the first switch to it); None: the page
    carries them inline (a page the live server answers static-first is one file).
    """
    import panel as pn
    from bokeh.resources import Resources

    from .assets import page_resources
    from .lessons import LESSONS
    from .navigation import build_page
    from .page import stylesheet
    from .texts import offline
    from .words import ui

    saved = io.StringIO()
    with saved_only():  # the page is text once saved: nothing of it stays alive (saved_only)
        with offline(link=link, save=save, keep=keep) as built:  # texts carry their templates (texts.py)
            page = build_page(args, link=link)
        css = stylesheet()
        if css not in pn.config.raw_css:  # a server's page-building thread: no session's config
            page.config.raw_css = [*page.config.raw_css, css]
        if slug == "graph" or built["greyed"]:  # what needs the live app, and a link there
            # with a live app behind the page its controls that need Python are usable: they
            # open the page live (static/golive.js), and the note says that instead of "greyed out"
            key = "static_site_note" if slug == "graph" else "static_lesson_note"
            note = ui(lang)[key + ("_live" if live else "")]
            place_note(page, built["greyed"], note.format(live=live_words(live, lang)))
        title = f"{ui(lang)['app_title']} · {LESSONS[slug].title[lang]}"
        # without MathJax: the first formula the page typesets loads it (assets.page_resources)
        page.save(saved, resources=page_resources(Resources(mode="server", root_url="")), title=title)
        del page
    text = _local(saved.getvalue())
    return with_live(text, live) if live else text


SAVED = "save"  # the folder of the site holding the explorer pages' saved files


def keep_saved(out: Path, name: str, page: str) -> dict:
    """Keep the saved file ``page`` of the explorer page ``name`` (the live app's "Save as
    HTML" of the page's first state) under ``out/save/``: its head shared by every page
    (``head-<hash>.html``, the inline BokehJS), its rest as ``name``; what the page's script
    fetches to make the file at the state it shows (``static/explorer/save.mjs``), relative
    to the page."""
    from .export import split_saved

    head, rest = split_saved(page)
    folder = out / SAVED
    folder.mkdir(exist_ok=True)
    head_name = f"head-{hashlib.sha256(head.encode('utf-8')).hexdigest()[:16]}.html"
    if not (folder / head_name).exists():
        (folder / head_name).write_text(head, encoding="utf-8")
    (folder / name).write_text(rest, encoding="utf-8")
    return {"head": f"{SAVED}/{head_name}", "body": f"{SAVED}/{name}"}


FILES = "files"  # the folder of the site holding the pages' own data files


def keep_file(out: Path, page: str, name: str, text: str) -> str:
    """Keep ``text``, a data file of the page ``page`` (a file name of the site) called
    ``name``, as ``out/files/<page's stem>.<name>`` (e.g. ``graph-mlp-2-4-4-1.en.neuron.json``,
    the network's drawing at the neuron level: ``static/explorer/levels.mjs`` fetches it on
    the first switch to that level); its address relative to the page."""
    folder = out / FILES
    folder.mkdir(exist_ok=True)
    file = f"{Path(page).stem}.{name}"
    (folder / file).write_text(text, encoding="utf-8")
    return f"{FILES}/{file}"


def _unchanged(event) -> None:
    """A document change callback that does nothing (:func:`saved_only`'s stand-in session)."""


@contextlib.contextmanager
def saved_only():
    """Around a page built and saved with Panel's ``save``: forget the page once it is text.

    Two of Panel's registries keep such a page alive for good, which a served page leaves
    when its session is destroyed: ``save`` registers the page's Bokeh document and root
    models in ``pn.state._views`` (and the template's root in ``pn.state._fake_roots``), and
    each ``jscallback``/``js_on_click`` of a Panel widget is kept in
    ``pn.links.Callback.registry``, a weak-keyed map whose values (the callback's ``args``:
    the page's widgets) lead back to their key, so it is never dropped. Each page built here
    stayed alive (its Document, its ``ExplorerModel``, ~3 MB): in the static-first builder
    process one per page built. Here the session's end is done as the server does it: the
    document's session-destroyed callbacks (Panel's ``_server_destroy`` of every root: its
    models cleaned up, its view entry removed) are called with a stand-in session context,
    and what was added to those registries meanwhile is dropped. Run it on one thread at a
    time per process (the builder process and ``build-site`` each build one page at a time):
    it tells the page's entries by those present before.

    >>> import panel as pn
    >>> before = len(pn.state._views)
    >>> with saved_only():
    ...     pn.Column(pn.pane.Markdown("x")).save(io.StringIO())
    >>> len(pn.state._views) == before
    True
    """
    import panel as pn

    callbacks = pn.links.Callback.registry
    views, fake, linked = set(pn.state._views), set(pn.state._fake_roots), set(callbacks)
    try:
        yield
    finally:
        added = [ref for ref in list(pn.state._views) if ref not in views]
        documents = {id(entry[2]): entry[2] for ref in added
                     if (entry := pn.state._views.get(ref)) and entry[2] is not None}
        for doc in documents.values():
            end = types.SimpleNamespace(_document=doc, id=None)  # what _server_destroy reads
            doc.on_change(_unchanged)  # Document.destroy(session) removes the session's change
            doc.destroy(_unchanged)  # callback, then frees every model (Bokeh's order)
            ends = doc.session_destroyed_callbacks
            doc.session_destroyed_callbacks = set()
            for callback in ends:
                try:  # as Bokeh's DocumentLifecycleHandler: one failing does not stop the rest
                    callback(end)
                except Exception:  # (a root already cleaned up by another's: KeyError)
                    pass
        for ref in added:
            pn.state._views.pop(ref, None)
        pn.state._fake_roots[:] = [ref for ref in pn.state._fake_roots if ref in fake]
        for source in [source for source in list(callbacks) if source not in linked]:
            callbacks.pop(source, None)
        del views, linked, documents

def same_page(live: str | None, args: dict) -> str | None:
    """The address of the page of query ``args`` on the live app at ``live`` (None if none).

    >>> same_page("https://example.org/app", {"lesson": "chain-rule", "lang": "zh"})
    'https://example.org/app?lesson=chain-rule&lang=zh'
    """
    return f"{live}?{urllib.parse.urlencode(args)}" if live else None


def with_live(text: str, url: str) -> str:
    """A page's HTML ``text`` that knows the same page live is at ``url``: a meta tag named
    ``bpx-live`` in its head (its server-only controls go there: ``static/golive.js``)."""
    meta = f'<meta name="bpx-live" content="{html.escape(url, quote=True)}">'
    return text.replace("<head>", f"<head>\n{meta}", 1)


def place_note(page, greyed: list, text: str) -> None:
    """Put the note ``text`` (what on the page needs the live app) where it is seen beside the
    controls it explains: above the sliders in the sidebar, and in the main column right above
    the first greyed-out control there (in the innermost column holding it). On a narrow
    screen the sidebar is a closed drawer (static/responsive.css): the main column's note is
    then shown there too, at its top when no greyed-out control is in it; on a wide screen
    only when the sidebar has none to explain."""
    import panel as pn

    def holds(part) -> bool:
        return any(part is w or (hasattr(part, "select") and part.select(lambda x, w=w: x is w))
                   for w in greyed)

    def spot(column: list) -> tuple[list, int] | None:
        """The innermost column (list of parts) and the index above the first greyed part."""
        for i, part in enumerate(column):
            if holds(part):
                inner = (spot(part.objects) if isinstance(part, pn.Column) else
                         next(filter(None, (spot(o.objects) for o in part.objects
                                            if isinstance(o, pn.Column))), None)
                         if isinstance(part, pn.layout.ListLike) else None)
                return inner or (column, i)
        return None

    def note(*classes: str):
        return pn.pane.HTML(f"<div class='bpx-hint bpx-static-note'>{text}</div>",
                            sizing_mode="stretch_width", css_classes=list(classes))

    side = any(holds(part) for part in page.sidebar)
    page.sidebar.insert(1, note())
    found = spot(page.main)
    column, index = found or (page.main, min(1, len(page.main)))  # under the heading
    column.insert(index, note(*(["bpx-narrow-only"] if side or found is None else [])))


def live_words(url: str | None, lang: str) -> str:
    """The words for the live app in a page's note: a link to ``url`` (the same page on the
    live server), or how to start one."""
    from .words import ui

    if not url:
        return ui(lang)["static_serve"]
    return f"<a href=\"{html.escape(url, quote=True)}\">{ui(lang)['static_live']}</a>"


BOOTSTRAP_JS = "static/extensions/panel/bundled/bootstrap5/js/bootstrap.bundle.min.js"
# the page's state in its link, read and written; with a live app behind the page, its
# greyed-out controls become usable (static/golive-load.js)
LIVE_CONTROLS = Path(__file__).resolve().parent.parent / "static" / "golive-load.js"
FAVICON = "static/extensions/panel/images/favicon.ico"


def _local(text: str) -> str:
    """Panel's and BokehJS's files from the site's own ``static/``, relative to the page.

    A saved template leaves out the Bootstrap script its page's code calls (the live server's
    page has it) and names a favicon at the server's root: both come from ``static/`` too.
    A page with a URL state, or controls that need the server, gets the script that reads
    and writes its link and makes those controls usable when a live app is behind it
    (``static/golive-load.js``).
    """
    from .texts import URL_TAG

    text = PANEL_CDN.sub("static/extensions/panel/", text)
    text = text.replace('"/static/', '"static/').replace('href="./favicon.ico"', f'href="{FAVICON}"')
    if "bootstrap.bundle" not in text:
        text = text.replace("</head>", f'<script src="{BOOTSTRAP_JS}"></script>\n</head>', 1)
    if "bpx-server-only" in text or URL_TAG in text:
        script = LIVE_CONTROLS.read_text(encoding="utf-8")
        text = text.replace("</head>", f"<script>\n{script}</script>\n</head>", 1)
    return text


def _copy_static(out: Path, pages: list[Path]) -> None:
    """Copy the static files the pages (and the stylesheets they load) refer to."""
    import bokeh
    import panel

    from .assets import later_files

    roots = {"static/js/": Path(bokeh.__file__).parent / "server" / "static" / "js",
             "static/extensions/panel/": Path(panel.__file__).parent / "dist"}
    todo = {url for page in pages for url in STATIC_URL.findall(page.read_text(encoding="utf-8"))}
    todo |= later_files(todo)  # MathJax, loaded by a page's first formula from beside BokehJS
    done: set[str] = set()
    while todo:
        url = todo.pop()
        done.add(url)
        prefix = next((p for p in roots if url.startswith(p)), None)
        source = roots[prefix] / url[len(prefix):] if prefix else None
        if source is None or not source.is_file():
            continue
        target = out / url
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        if source.suffix == ".css":  # fonts and images a stylesheet names, relative to it
            for ref in re.findall(r"url\(['\"]?([^'\")?#]+)", source.read_text(errors="replace")):
                if not ref.startswith(("data:", "http")):
                    rel = (Path(url).parent / ref).as_posix()
                    normal = re.sub(r"[^/]+/\.\./", "", rel)
                    if normal not in done:
                        todo.add(normal)


def _index(pages: list[tuple[str, str, dict]], langs: tuple[str, ...]) -> str:
    from .controls import examples
    from .lessons import LESSONS
    from .words import LANGUAGES, ui

    sections = []
    for lang in langs:
        labels = {source: label for label, source in examples(lang).items()}
        items = []
        for slug, page_lang, args in pages:
            if page_lang != lang:
                continue
            label = (f"{LESSONS['graph'].title[lang]}: {labels.get(args.get('expr'), '')}"
                     if slug == "graph" else LESSONS[slug].title[lang])
            items.append(f"<li><a href='{page_file(slug, lang, args)}'>{html.escape(label)}</a></li>")
        sections.append(f"<section lang='{lang}'><h2>{html.escape(LANGUAGES[lang])}</h2>"
                        f"<ul>{''.join(items)}</ul></section>")
    title = html.escape(ui("en")["app_title"])
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width, initial-scale=1'><title>{title}</title></head><body>"
            f"<h1>{title}</h1>{''.join(sections)}</body></html>")


def main(argv: list[str] | None = None) -> int:
    """The console script: ``backprop-explorer build-site DIR``."""
    parser = argparse.ArgumentParser(prog="backprop-explorer")
    commands = parser.add_subparsers(dest="command", required=True)
    site = commands.add_parser("build-site", help="write the pages as a static site into DIR")
    site.add_argument("dir", type=Path)
    site.add_argument("--lang", nargs="*", help="only these languages (default: all)")
    site.add_argument("--live", metavar="URL", help="the live app's address (e.g. "
                      "https://example.org/app): each page's note links the same page there")
    args = parser.parse_args(argv)
    pages = build_site(args.dir, tuple(args.lang) if args.lang else None, live=args.live)
    print(f"{len(pages)} pages and index.html in {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
