"""Derivations that every session would make alike, made once per server process.

A class opens the same link: every student's page derives the same graph at the same values
(the seed expression, a lesson's example, ``mlp(2, 60, 60, 1)`` at its layers). Building,
tracing, laying out and scheduling it is the same work each time, and for a big network the
largest part of opening the page. :class:`SharedDerivations` keeps each derivation once: the
object itself, which every session showing it reads and none writes, and, made from it when a
session first needs a copy of its own, the bytes of its pickle (immutable). A session makes
its own copy from the bytes (:meth:`Shared.copy`) before it first changes its graph (a slider
release writes new numbers into it), so no session ever sees another one's changes.

The session that derives a link first shares what it derived at once (:meth:`SharedDerivations.share`):
nothing is pickled while the page opens. Until a copy is asked for, the cache holds such an
entry weakly: the sessions showing it keep it, and when they are all gone so is the entry.

The cache is bounded (entries and bytes, least recently used first out) and belongs to the
server process (:func:`shared_derivations`, kept in ``pn.state.cache``); nothing here holds
state at module level.
"""

from __future__ import annotations

import io
import pickle
import threading
import weakref
from collections import OrderedDict

import panel as pn

from graphviz_core.engine import OPS, Op

MAX_ENTRIES = 32
MAX_BYTES = 32 * 2**20  # pickles; the 11,586-node MLP at its layers is 4.5 MB
CACHE_KEY = "bpx_shared_derivations"


def _op_named(name: str) -> Op:
    return OPS[name]


def _reduce_op(op: Op):
    # an op is one of the engine's table (its rules are functions): pickled by its name
    return _op_named, (op.name,)


def freeze(value) -> bytes:
    """``value`` as bytes; the engine's ops inside it are kept by name (:data:`OPS`).

    >>> from graphviz_core import parse, trace
    >>> from graphviz_core.tape import Replay
    >>> e = parse("x*x + 1")
    >>> g = trace(e.build({"x": 3.0}))
    >>> copy, replay = thaw(freeze((g, Replay(g, e.variables))))
    >>> replay.graph is copy, copy.nodes[3]["value"]
    (True, 10.0)
    """
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {Op: _reduce_op}
    pickler.dump(value)
    return out.getvalue()


def thaw(data: bytes):
    """A new copy of what :func:`freeze` was given (objects shared inside it stay shared)."""
    return pickle.loads(data)


class Shared:
    """One derivation in the cache: :attr:`value` is read by every session that takes it
    and written by none; :meth:`copy` is a session's own.

    Made from bytes (``Shared(data)``) or from the object itself (``Shared(value=...)``):
    the other one is made from it when first asked for.

    >>> entry = Shared(freeze({"x": [1.0]}))
    >>> mine = entry.copy(); mine["x"].append(2.0)
    >>> entry.value, entry.value is entry.value, mine
    ({'x': [1.0]}, True, {'x': [1.0, 2.0]})
    >>> shown = {"x": [1.0]}
    >>> entry = Shared(value=shown)
    >>> entry.value is shown, entry.copy() == shown, entry.copy() is shown
    (True, True, False)
    """

    __slots__ = ("_data", "_value", "_frozen", "__weakref__")

    def __init__(self, data: bytes | None = None, value=None, frozen=None):
        if data is None and value is None:
            raise ValueError("a shared derivation needs its bytes or its value")
        self._data = data
        self._value = value
        self._frozen = frozen  # called once the bytes are made (the cache counts them)

    @property
    def data(self) -> bytes:
        """The pickle's bytes (made from the value on first use)."""
        data = self._data
        if data is None:  # two threads may both make them: either is right
            data = self._data = freeze(self._value)
            if self._frozen is not None:
                self._frozen(self)
        return data

    @property
    def value(self):
        """The shared copy (made from the bytes on first use): read it, never write it."""
        value = self._value
        if value is None:  # two threads may both make it: either is right
            value = self._value = thaw(self._data)
        return value

    def copy(self):
        """A new copy, the caller's own."""
        return thaw(self.data)


class SharedDerivations:
    """A bounded, thread-safe map from a derivation's inputs to its :class:`Shared` result.

    ``put`` stores a snapshot of a value, ``share`` the value itself, ``get`` returns its
    entry (or None); ``hits``, ``misses`` and ``stored`` count what happened.

    >>> cache = SharedDerivations(max_entries=2)
    >>> cache.put("a", {"x": [1.0]})
    >>> cache.get("a").value, cache.get("b"), (cache.hits, cache.misses)
    ({'x': [1.0]}, None, (1, 1))
    >>> shown = cache.share("b", {"y": [2.0]})   # held while the caller keeps it
    >>> cache.get("b") is shown, len(cache)
    (True, 2)
    >>> del shown
    >>> cache.get("b"), len(cache)
    (None, 1)
    """

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        # key -> Shared with its bytes, or a weak reference to a Shared without them yet
        self._entries: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # heavy derivations run in worker threads (budget.py)
        self.hits = self.misses = self.stored = 0

    def get(self, key) -> Shared | None:
        with self._lock:
            held = self._entries.get(key)
            entry = held() if isinstance(held, weakref.ref) else held
            if entry is None:
                if held is not None:  # every session that showed it is gone
                    del self._entries[key]
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key, value) -> None:
        """Keep a snapshot of ``value`` (pickled now)."""
        self._keep(key, Shared(freeze(value)))

    def share(self, key, value) -> Shared | None:
        """Share ``value`` itself (nothing pickled now): the caller shows it and from now on
        reads it only, as every session that takes it does. The entry lasts while someone
        keeps the returned :class:`Shared`, and for good once its bytes are made (by a
        :meth:`Shared.copy`). None (``value`` stays the caller's own) if the cache keeps
        nothing."""
        if self.max_entries < 1:
            return None
        entry = Shared(value=value, frozen=lambda made: self._keep(key, made, replace=False))
        with self._lock:
            old = self._entries.pop(key, None)
            if isinstance(old, Shared):
                self._bytes -= len(old._data)
            self._entries[key] = weakref.ref(entry)
            self.stored += 1
            self._bound()
        return entry

    def _keep(self, key, entry: Shared, replace: bool = True) -> None:
        data = entry._data
        if len(data) > self.max_bytes or self.max_entries < 1:
            return
        with self._lock:
            old = self._entries.get(key)
            if not replace and not (isinstance(old, weakref.ref) and old() is entry):
                return  # dropped meanwhile (bound), or another derivation took its place
            old = self._entries.pop(key, None)
            if isinstance(old, Shared):
                self._bytes -= len(old._data)
            self._bytes += len(data)
            self._entries[key] = entry
            if replace:
                self.stored += 1
            else:  # what the sessions showing it read stays theirs; a new one thaws the bytes
                entry._value = None
            self._bound()

    def _bound(self) -> None:
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            if isinstance(dropped, Shared):
                self._bytes -= len(dropped._data)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes of pickles held (each entry's shared copy, once made, takes a few times more)."""
        return self._bytes


def shared_derivations() -> SharedDerivations:
    """The server process's cache (made on first use; one per process, in ``pn.state.cache``)."""
    cache = pn.state.cache.get(CACHE_KEY)
    if cache is None:
        cache = pn.state.cache.setdefault(CACHE_KEY, SharedDerivations())
    return cache
