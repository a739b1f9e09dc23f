"""Names in the registry, and the vocabularies of its fields, without loading the registry.

Loading and validating the registry imports pint and pydantic and checks every value (about half
a second); a command that only needs to know whether ``h1000`` is a chip should answer at once.
:func:`shipped_index` reads the names and aliases of the shipped entries straight from the YAML
(libyaml's parser when present, nothing validated: the full loader and the tests check the same
files), and :func:`unknown` / :func:`wrong_kind` build the error the full registry raises, so
both paths say the same thing. This module imports only the standard library (and PyYAML when
the index is first read; the cached index through :mod:`.store`, standard library only).
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

from ..vocabulary import FAMILIES, HARDWARE_TIERS, PRECISION_BITS
from .errors import RegistryLookupError

__all__ = ["DATA_DIR", "KINDS", "PRECISIONS", "FAMILIES", "HARDWARE_TIERS", "DERIVED_FAMILIES",
           "key", "shipped_index", "unknown", "unknown_any", "wrong_kind", "generation", "changed"]

DATA_DIR = Path(__file__).with_name("data")
KINDS = ("hardware", "model", "datacenter", "fabric", "node", "cluster")

_generation = 0


def generation() -> int:
    """A number that changes whenever registry entries change (a registry built or reloaded, a
    user's file or text loaded, an entry replaced): caches of values derived from entries keep
    the number they were filled at and drop their contents when it moved."""
    return _generation


def changed() -> None:
    """Record that registry entries changed (see :func:`generation`)."""
    global _generation
    _generation += 1


#: precisions with a peak rate in the registry, widest first (from ``mlsysim_sym.vocabulary``)
PRECISIONS = tuple(PRECISION_BITS)
#: model families whose parameter count is derived from the architecture block (the schema
#: requires its fields, :mod:`.params` counts them)
DERIVED_FAMILIES = ("decoder", "encoder", "moe", "ssm")

_LISTERS = {"hardware": "list_hardware", "model": "list_models", "datacenter": "list_datacenters",
            "cluster": "list_clusters", "node": "list_nodes", "fabric": "list_fabrics"}
_DIRS = (("hardware", "hardware"), ("models", "model"), ("datacenters", "datacenter"),
         ("systems", None))
_SYSTEM_KEYS = {"fabrics": "fabric", "nodes": "node", "clusters": "cluster"}
_KIND_WORDS = {"hardware": "hardware", "model": "model", "models": "model",
               "datacenter": "datacenter", "datacenters": "datacenter"}


def key(name: str) -> str:
    """The index key of a name or alias (case-insensitive, surrounding blanks ignored)."""
    return name.strip().casefold()


def _entries(data: Any, kind: Optional[str]) -> Iterator[tuple[str, Any]]:
    """(kind, raw entry) pairs of one parsed data file (the layouts ``loader._split`` reads)."""
    if isinstance(data, dict) and isinstance(data.get("kind"), str):
        kind = _KIND_WORDS.get(data["kind"], None if data["kind"] in ("system", "systems")
                               else "")
        if kind == "":
            return
        if kind is None and "entries" not in data:
            data = {k: data[k] for k in _SYSTEM_KEYS if k in data}
        else:
            data = data.get("entries") or []
    if isinstance(data, dict):
        for sub, sub_kind in _SYSTEM_KEYS.items():
            for item in data.get(sub) or []:
                yield sub_kind, item
    elif isinstance(data, list) and kind:
        for item in data:
            yield kind, item


@lru_cache(maxsize=1)
def shipped_index() -> dict[str, tuple[str, str]]:
    """Index key -> (kind, canonical name) of every shipped entry's name and aliases.

    Read from the registry's cache when it holds the shipped data (:mod:`.store`), else from
    ``registry/data`` without validating anything (a few hundredths of a second); it equals the
    loaded registry's index (a test checks it).
    """
    from . import store
    cached = store.shipped_index()
    if cached is not None:
        return cached
    import yaml
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    index: dict[str, tuple[str, str]] = {}
    for sub, kind in _DIRS:
        for path in sorted((DATA_DIR / sub).glob("*.y*ml")):
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
            for entry_kind, item in _entries(data, kind):
                if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                    continue
                aliases = [a for a in item.get("aliases") or [] if isinstance(a, str)]
                for name in (item["name"], *aliases):
                    index.setdefault(key(name), (entry_kind, item["name"]))
    return index


def wrong_kind(name: str, hit_kind: str, canonical: str, kind: str) -> RegistryLookupError:
    """``name`` names a ``hit_kind`` entry where a ``kind`` was asked for."""
    return RegistryLookupError(f"{name!r} is a {hit_kind} ({canonical}), not a {kind}: use "
                               f"mlsysim_sym.registry.{hit_kind}({name!r})", name=name, kind=kind)


def unknown(index: Mapping[str, tuple[str, str]], kind: str, name: str,
            note: str = "") -> RegistryLookupError:
    """The error for an unknown ``kind`` name: close matches first, then how to list them all.

    ``note`` (for example which user files were loaded) is appended to the message.
    """
    k = key(name)
    keys = [n for n, (kk, _) in index.items() if kk == kind]
    extra = f"; {note}" if note else ""
    if not keys:
        return RegistryLookupError(f"unknown {kind} {name!r}: no {kind} entries are loaded "
                                   f"(load your own with mlsysim_sym.registry.load(path)){extra}",
                                   name=name, kind=kind)
    close = difflib.get_close_matches(k, keys, n=8, cutoff=0.6)
    close += sorted(n for n in keys if k and k in n and n not in close)
    shown, suggestions = [], []
    for n in close:
        canonical = index[n][1]
        if canonical in suggestions:
            continue
        suggestions.append(canonical)
        shown.append(canonical if key(canonical) == n else f"{n} ({canonical})")
        if len(suggestions) == 8:
            break
    did = f"; did you mean: {', '.join(shown)}?" if shown else ""
    hint = f"list them all with mlsysim_sym.registry.{_LISTERS[kind]}()"
    return RegistryLookupError(f"unknown {kind} {name!r}{did} ({hint}{extra})", name=name,
                               kind=kind, suggestions=tuple(suggestions))


def unknown_any(index: Mapping[str, tuple[str, str]], name: str,
                note: str = "") -> RegistryLookupError:
    """The error for a name that is no entry of any kind."""
    k = key(str(name))
    close = difflib.get_close_matches(k, list(index), n=8, cutoff=0.6)
    names = list(dict.fromkeys(index[n][1] for n in close))
    did = f"; did you mean: {', '.join(names)}?" if names else ""
    extra = f"; {note}" if note else ""
    return RegistryLookupError(f"no registry entry is named {name!r}{did} (search with "
                               f"mlsysim_sym.registry.search(text){extra})", name=str(name),
                               kind="any", suggestions=tuple(names))
