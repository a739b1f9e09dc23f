"""Caches of what the task layer derives from registry entries, dropped when the registry changes.

A task's hot path (``predict``, ``train``, ``size_fleet``) memoises per (model, chip,
precision, ...) the part of its inputs that does not depend on the call's knobs: base-unit
magnitudes, machines, links. Those values come from registry entries, so they are valid only
while the entries are: :func:`fresh` compares :func:`mlsysim_sym.registry.generation` (it moves
on ``registry.reload()``, ``registry.load()`` / ``load_text()``, and whenever a registry is
built) with the number the tables were filled at, and empties every table made by
:func:`table` (and runs every function given to :func:`on_change`) when it moved.
"""

from __future__ import annotations

from ... import registry

__all__ = ["table", "put", "on_change", "on_change_clear", "fresh", "clear", "MAX_ENTRIES"]

#: entries a table holds before :func:`put` starts it over (a table keyed by object identity
#: pins its objects: a loop over many what-if chips must not grow it without bound)
MAX_ENTRIES = 4096

_TABLES: list = []
_CLEARERS: list = []
_seen = [None]


def table() -> dict:
    """A new dict that :func:`fresh` empties when the registry changes."""
    t: dict = {}
    _TABLES.append(t)
    return t


def put(t: dict, key, value):
    """``t[key] = value`` (emptying ``t`` first when it holds :data:`MAX_ENTRIES`); returns
    ``value``."""
    if len(t) >= MAX_ENTRIES:
        t.clear()
    t[key] = value
    return value


def on_change(fn):
    """Run ``fn()`` whenever the registry changed (a decorator-friendly registration of a
    cache's ``clear``, e.g. an ``lru_cache``'s ``cache_clear``); returns ``fn``."""
    _CLEARERS.append(fn)
    return fn


def on_change_clear(cached):
    """Register an ``functools.lru_cache``-wrapped function's ``cache_clear`` (a decorator,
    applied above ``@lru_cache``); returns the cached function."""
    _CLEARERS.append(cached.cache_clear)
    return cached


def clear() -> None:
    """Empty every table and run every registered clearer now."""
    for t in _TABLES:
        t.clear()
    for fn in _CLEARERS:
        fn()


def fresh() -> None:
    """Empty the tables if the registry changed since they were filled (a cheap check: one
    integer comparison per call)."""
    g = registry.generation()
    if g != _seen[0]:
        clear()
        _seen[0] = g
