"""The page's state in its URL query, so a teacher can hand out a link to an exact picture."""

from __future__ import annotations

from urllib.parse import urlencode

import panel as pn

MAX_ARG_LENGTH = 4000


def query_args() -> dict[str, str]:
    """The query arguments this session was opened with, as text (the first of each key)."""
    args = {}
    for key, values in (pn.state.session_args or {}).items():
        if not values:
            continue
        raw = values[0]
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        args[key] = text[:MAX_ARG_LENGTH]
    return args


def write_query(state: dict[str, str], keep: tuple[str, ...] = ("lesson", "lang", "live")) -> None:
    """Replace the page's query with ``state`` (plus the kept keys already there)."""
    location = pn.state.location
    if location is None:
        return
    current = query_args()
    merged = {k: current[k] for k in keep if k in current and k not in state}
    merged.update(state)
    search = "?" + urlencode(merged)
    if location.search != search:
        location.search = search
