"""A page's events (a button's click, Enter in a text box) handled under the document lock.

Panel handles an event at once, under the lock of the message that carried it - unless a
property change of the same page is still waiting (Panel debounces them by 50 ms: a radio
button clicked a moment before, the text an Enter commits). Then Panel runs the waiting
changes and the event later, in a task *without* the document lock
(``Syncable._server_event`` -> ``state.execute`` of a coroutine -> ``nolock``). There,
Bokeh refuses any change of a plain Bokeh model - the graph's glyphs, a chart's
``ColumnDataSource`` - with "_pending_writes should be non-None ...": the handler stops
half-way and the page keeps showing what it showed before (fresh-clone runs 26 and 32: four
quick "Take a step" clicks after "η = 1" moved the parameters, and the note never said that
L grows). :func:`install` makes Panel run that task on the document's next tick, which Bokeh
runs under the lock, in the order the events came.
"""

from __future__ import annotations

from functools import partial


def _server_event(self, doc, event) -> None:
    """Panel's ``Syncable._server_event``, the deferred case scheduled with the lock."""
    from panel.io.state import state

    if doc.session_context and (not state._unblocked(doc) or doc in state._change_callbacks):
        # a coroutine scheduled by Bokeh itself (not Panel's nolock executor): Bokeh awaits
        # it holding the lock; it runs the waiting changes first, then the event
        doc.add_next_tick_callback(partial(self._event_coroutine, doc, event))
    else:
        self._comm_event(doc, event)


def install() -> None:
    """Handle every deferred Panel event under its document's lock, in this process
    (idempotent; a server's, where sessions have locks)."""
    from panel.reactive import Syncable

    Syncable._server_event = _server_event
