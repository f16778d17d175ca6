"""``panel serve app.py --setup tests/render_thread_setup.py``: one ``bpx-render thread=NAME``
line on stdout for each page whose HTML the server renders (Panel's
``server_html_page_for_session``), naming the thread it ran in. Used by
tests/test_page_render.py; changes nothing else."""

import threading

import panel.io.server as panel_server

_render = panel_server.server_html_page_for_session


def _recorded(*args, **kwargs):
    print(f"bpx-render thread={threading.current_thread().name}", flush=True)
    return _render(*args, **kwargs)


panel_server.server_html_page_for_session = _recorded
