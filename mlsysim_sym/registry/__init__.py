"""The registry: accelerators, models, datacenters and systems, every number with its source.

Data lives in YAML under ``registry/data/`` (format: ``docs/registry-format.md``). Nothing is read at
import; the first lookup loads and validates every file once and caches the result.

    >>> from mlsysim_sym import registry
    >>> h100 = registry.hardware("H100")              # case-insensitive name or alias
    >>> h100.peak_flops("bf16"), h100.memory_bandwidth
    >>> registry.provenance(h100, "memory.0.bandwidth").source
    >>> registry.load("my_chip.yaml")                 # a user's own entries, same schema

Unknown names raise :class:`RegistryLookupError` (a ``LookupError`` and ``ValueError``) listing
close matches; malformed data raises :class:`RegistryError` naming the file, entry and field.

Importing this package loads neither pint nor pydantic: the loader, the schema and the object
classes are imported on first use, and :func:`canonical_name` checks a name against the shipped
files' names without loading the registry (what the command line does before anything heavy).
The shipped data validated once is kept in the on-disk cache (:mod:`.store`): a later process
builds the registry from it without PyYAML or pydantic.
"""

from __future__ import annotations

import importlib
import sys as _sys
import types as _types
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional

from . import names as _names
from .errors import PrecisionError, RegistryError, RegistryLoadError, RegistryLookupError
from .names import DATA_DIR, PRECISIONS

if TYPE_CHECKING:  # annotations only; at run time these load on first use (below)
    from .loader import Registry
    from .objects import (Cluster, Datacenter, Fabric, Hardware, Model, Node,
                          RegistryObject)
    from .schema import Provenance, Source

# imported on first use (module __getattr__ below): name -> submodule
_LAZY = {"Registry": "loader",
         "Cluster": "objects", "Datacenter": "objects", "Fabric": "objects",
         "Hardware": "objects", "MemoryTier": "objects", "Model": "objects", "Node": "objects",
         "RegistryObject": "objects", "format_bibtex": "objects",
         "Provenance": "schema", "Source": "schema", "Value": "schema"}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "hardware", "model", "datacenter", "cluster", "node", "fabric", "source",
    "list_hardware", "list_models", "list_datacenters", "list_clusters", "list_nodes",
    "list_fabrics", "list_sources", "describe", "search", "load", "load_text", "provenance",
    "bibtex", "audit", "run_audit", "get_registry", "reload", "canonical_name", "generation",
    "Hardware", "Model", "Datacenter", "Fabric", "Node", "Cluster", "MemoryTier", "Source",
    "Provenance", "Value", "RegistryObject", "Registry",
    "RegistryError", "RegistryLoadError", "RegistryLookupError", "PrecisionError",
    "PRECISIONS", "DATA_DIR",
]

_lock = threading.Lock()
_registry: Optional[Registry] = None


def get_registry() -> Registry:
    """The shipped registry (plus any files given to :func:`load`), loaded once on first use."""
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                from .loader import Registry
                _registry = Registry.from_directory(DATA_DIR)
    return _registry


def reload() -> Registry:
    """Drop the cache (and every :func:`load`-ed file) and read the data files again."""
    global _registry
    with _lock:
        _registry = None
        _names.changed()
    return get_registry()


def generation() -> tuple:
    """A token that compares unequal to every earlier one once registry entries may have
    changed: another registry in use (built, reloaded or swapped in), or entries added or
    replaced in it (:func:`load`, :func:`load_text`). Caches of values derived from entries
    (the task layer's per-(model, chip, precision) inputs) keep the token they were filled at
    and start over when it differs."""
    return (_registry, _names.generation())


# ---- lookups -----------------------------------------------------------------------------------

def hardware(name_or_obj) -> Hardware:
    """An accelerator by name or alias (case-insensitive); a :class:`Hardware` is returned as is."""
    return get_registry().get("hardware", name_or_obj)


def model(name_or_obj) -> Model:
    """A model by name or alias; a :class:`Model` is returned as is."""
    return get_registry().get("model", name_or_obj)


def datacenter(name_or_obj) -> Datacenter:
    """A datacenter / grid region by name or alias."""
    return get_registry().get("datacenter", name_or_obj)


def cluster(name_or_obj) -> Cluster:
    """A cluster by name or alias."""
    return get_registry().get("cluster", name_or_obj)


def node(name_or_obj) -> Node:
    """A node by name or alias."""
    return get_registry().get("node", name_or_obj)


def fabric(name_or_obj) -> Fabric:
    """A fabric by name or alias."""
    return get_registry().get("fabric", name_or_obj)


def source(source_id) -> Source:
    """A source record by id (a :class:`Source` is returned as is)."""
    from .schema import Source
    if isinstance(source_id, Source):
        return source_id
    reg = get_registry()
    if source_id in reg.sources:
        return reg.sources[source_id]
    import difflib
    close = difflib.get_close_matches(str(source_id), list(reg.sources), n=5, cutoff=0.6)
    did = f"; did you mean: {', '.join(close)}?" if close else ""
    raise RegistryLookupError(f"unknown source id {source_id!r}{did} (list them all with "
                              "mlsysim_sym.registry.list_sources())", name=str(source_id),
                              kind="source", suggestions=tuple(close))


# ---- listings ------------------------------------------------------------------------------------

def _choice(what: str, value, known) -> Optional[str]:
    """``value`` lower-cased if it is one of ``known`` (None passes); else a RegistryLookupError
    naming the close matches and every known value."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string such as {sorted(known)[0]!r}, got "
                        f"{type(value).__name__}")
    v = value.strip().lower()
    if v in known:
        return v
    import difflib
    close = difflib.get_close_matches(v, sorted(known), n=3, cutoff=0.6)
    did = f"; did you mean: {', '.join(close)}?" if close else ""
    raise RegistryLookupError(f"unknown {what} {value!r}{did} (known: {', '.join(sorted(known))})",
                              name=value, kind=what, suggestions=tuple(close))


def list_hardware(vendor: str | None = None, tier: str | None = None) -> list[Hardware]:
    """Accelerators sorted by name, optionally of one ``vendor`` and/or ``tier``.

    Raises
    ------
    RegistryLookupError
        For a vendor no loaded entry has, or a tier the format does not define (the message
        lists close matches and every known value); a known value with no entry gives ``[]``.
    """
    from .names import HARDWARE_TIERS
    chips = get_registry().objects("hardware")
    vendor = _choice("vendor", vendor, {h.vendor for h in chips})
    tier = _choice("tier", tier, HARDWARE_TIERS)
    return [h for h in chips
            if (vendor is None or h.vendor == vendor) and (tier is None or h.tier == tier)]


def list_models(family: str | None = None) -> list[Model]:
    """Models sorted by name, optionally of one ``family`` (decoder, moe, encoder, ...).

    Raises
    ------
    RegistryLookupError
        For a family the format does not define (the message lists them).
    """
    from .names import FAMILIES
    family = _choice("family", family, FAMILIES)
    return [m for m in get_registry().objects("model")
            if family is None or m.family == family]


def list_datacenters() -> list[Datacenter]:
    """Datacenters / grid regions sorted by name."""
    return get_registry().objects("datacenter")


def list_clusters() -> list[Cluster]:
    """Clusters sorted by name."""
    return get_registry().objects("cluster")


def list_nodes() -> list[Node]:
    """Nodes sorted by name."""
    return get_registry().objects("node")


def list_fabrics() -> list[Fabric]:
    """Fabrics sorted by name."""
    return get_registry().objects("fabric")


def list_sources() -> list[str]:
    """Ids of all source records, sorted."""
    return sorted(get_registry().sources)


def describe(name_or_obj) -> str:
    """A readable multi-line description of any entry: its fields, every value with its unit and
    source, and derived quantities (parameter counts, device counts)."""
    from .objects import RegistryObject, describe_source
    if isinstance(name_or_obj, RegistryObject):
        return name_or_obj.describe()
    reg = get_registry()
    try:
        return reg.find(name_or_obj).describe()
    except RegistryLookupError:
        if isinstance(name_or_obj, str) and name_or_obj.strip() in reg.sources:
            return describe_source(reg.sources[name_or_obj.strip()],
                                   reg.source_file(name_or_obj.strip()))
        raise


def canonical_name(kind: str, name: str) -> str:
    """The canonical name of the ``kind`` entry called ``name`` (a name or alias, any case).

    Before the registry is loaded this reads only the shipped files' names (no pint, no
    pydantic, no validation: a few hundredths of a second), so a wrong name is reported at once;
    once it is loaded (or a user file was), it asks the loaded registry.

    Raises
    ------
    RegistryLookupError
        The error :func:`hardware` / :func:`model` would raise: close matches, how to list all.
    """
    if kind not in _names.KINDS:
        raise ValueError(f"unknown kind {kind!r}; allowed: {', '.join(_names.KINDS)}")
    if not isinstance(name, str):
        raise TypeError(f"expected a {kind} name, got {type(name).__name__}")
    if _registry is not None:
        return get_registry().get(kind, name).name
    index = _names.shipped_index()
    hit = index.get(_names.key(name))
    if hit is None:
        raise _names.unknown(index, kind, name)
    if hit[0] != kind:
        raise _names.wrong_kind(name, hit[0], hit[1], kind)
    return hit[1]


def search(text: str) -> list[RegistryObject]:
    """Entries of any kind matching ``text`` (name, alias, display name, vendor, family), best
    first."""
    return get_registry().search(text)


def load(path, override: bool = False) -> list[RegistryObject]:
    """Validate a user's YAML file (same format as the shipped data) and add its entries.

    The file is a mapping ``{kind: hardware|model|datacenter|system, entries: [...]}`` (a top-level
    list also works) and may carry its own ``sources: {id: record}``. Afterwards its entries are
    found by name like shipped ones. Loading is all or nothing.

    Parameters
    ----------
    path : str or Path
    override : bool
        If False (default), a name or alias that is already taken is an error; if True, the
        user's entry replaces the existing one. Reloading the same file replaces its own entries.

    Returns
    -------
    list of RegistryObject
        The validated entries, in file order.
    """
    reg = get_registry()
    with _lock:
        return reg.add_file(Path(path), override=override)


def load_text(text: str, name: str = "<text>", override: bool = False,
              kind: str | None = None) -> list[RegistryObject]:
    """Validate registry YAML given as text and add its entries, as :func:`load` does a file.

    Parameters
    ----------
    text : str
        The YAML, in the format of a user's file (``docs/registry-format.md``).
    name : str
        Names the text in errors and as the entries' ``file``; loading text under the same
        name again replaces the entries it defined before.
    override : bool
        As in :func:`load`.
    kind : str, optional
        Kind of the entries of a bare list (``hardware``, ``model``, ``datacenter``,
        ``system``); default: guessed per entry. A mapping's own ``kind`` always wins.

    Returns
    -------
    list of RegistryObject
        The validated entries, in text order.
    """
    reg = get_registry()
    with _lock:
        return reg.add_file(name, override=override, text=text, kind=kind)


# ---- provenance and citations --------------------------------------------------------------------

def provenance(obj, field_path: str) -> Provenance:
    """The :class:`Provenance` of ``obj``'s value at ``field_path`` (``"peak.bf16"``,
    ``"memory.0.bandwidth"``, ``"carbon_intensity"``, ...)."""
    return obj.provenance(field_path)


def _collect(item, used: dict, lookup: dict) -> None:
    from .objects import RegistryObject
    from .schema import Provenance, Source, Value
    if isinstance(item, str):
        used.setdefault(item, [set(), None])
    elif isinstance(item, Source):
        lookup[item.id] = item
        used.setdefault(item.id, [set(), None])
    elif isinstance(item, Value):
        _collect(item.provenance, used, lookup)
    elif isinstance(item, Provenance):
        slot = used.setdefault(item.source, [set(), None])
        slot[0].add(item.locator)
        if slot[1] is None or item.retrieved > slot[1]:
            slot[1] = item.retrieved
    elif isinstance(item, RegistryObject):
        lookup.update(item.sources)
        for prov in item.provenance_map().values():
            _collect(prov, used, lookup)
        if getattr(item.spec, "provenance", None) is not None:
            _collect(item.spec.provenance, used, lookup)
        for ref in item._referenced():
            _collect(ref, used, lookup)
    elif isinstance(item, Iterable):
        for sub in item:
            _collect(sub, used, lookup)
    else:
        raise TypeError(f"cannot cite a {type(item).__name__}: pass source ids, Source, "
                        "Provenance or Value records, or registry objects")


def bibtex(items) -> str:
    """BibTeX for the given sources.

    Parameters
    ----------
    items
        A source id, :class:`Source`, :class:`Provenance`, :class:`Value` or registry object, or
        an iterable of them. Provenance records add their locators as ``note`` and the latest
        retrieval date as ``urldate``; a registry object contributes every source it depends on.

    Returns
    -------
    str
        One entry per source, sorted by id (``@article`` for papers, ``@manual`` for datasheets,
        ``@misc`` for web pages and repositories).
    """
    from .objects import RegistryObject, format_bibtex
    from .schema import Provenance, Source, Value
    used: dict = {}
    lookup: dict = {}
    _collect([items] if isinstance(items, (str, Source, Value, Provenance, RegistryObject))
             else items, used, lookup)
    entries = []
    for sid in sorted(used):
        record = lookup.get(sid) or source(sid)
        locators, retrieved = used[sid]
        entries.append(format_bibtex(record, locators, retrieved))
    return "\n\n".join(entries) + ("\n" if entries else "")


# ---- audit ---------------------------------------------------------------------------------------

def audit(path=None, warnings: bool = False):
    """Check the registry (or a data directory / user file); see :func:`.audit.audit`."""
    from .audit import audit as _audit
    return _audit(path, warnings=warnings)


def run_audit(argv=None) -> int:
    """Command-line audit: print the problems, return the exit code (0 clean, 1 problems)."""
    from .audit import main
    return main(argv)


class _RegistryPackage(_types.ModuleType):
    """The package module: ``registry.audit`` stays the function.

    Importing the submodule ``mlsysim_sym.registry.audit`` (as the audit command and the tests
    do) binds it as an attribute of this package, which would replace the function
    :func:`audit` ("'module' object is not callable"). That binding is skipped here; the
    submodule stays in ``sys.modules`` and ``from mlsysim_sym.registry.audit import ...`` works.
    """

    def __setattr__(self, name, value):
        if name == "audit" and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _RegistryPackage
