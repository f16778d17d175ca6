"""A row whose items wrap onto the next line when they do not fit: the page's one flex layout.

Panel's ``FlexBox`` is a ``ReactiveHTML`` (a template rendered per page, its children
re-parented in the browser): about three times a ``Row``'s cost on the server for every page
opened. A Bokeh ``Row`` is a CSS flex container already; with ``flex-wrap`` it wraps the same
way.
"""

from __future__ import annotations

import panel as pn


def wrapping_row(*objects, inline: bool = False, gap: str | None = None,
                 align_items: str | None = None, css_classes=(), styles=None,
                 **params) -> pn.Row:
    """A ``Row`` of ``objects`` that wraps; ``inline`` marks a row of small controls, which on
    a phone wraps as it is instead of stacking its items one per line (``static/responsive.css``,
    ``bpx-inline``); ``gap`` and ``align_items`` are CSS values.

    >>> row = wrapping_row(pn.pane.HTML("a"), pn.pane.HTML("b"), inline=True, gap="4px")
    >>> row.styles["flex-wrap"], row.styles["gap"], row.css_classes
    ('wrap', '4px', ['bpx-inline'])
    """
    styles = {**(styles or {}), "flex-wrap": "wrap"}
    if gap:
        styles["gap"] = gap
    if align_items:
        styles["align-items"] = align_items
    classes = [*css_classes, *(["bpx-inline"] if inline else [])]
    params.setdefault("sizing_mode", "stretch_width")
    return pn.Row(*objects, styles=styles, css_classes=classes, **params)
