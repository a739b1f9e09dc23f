"""The registry's index: reading data directories and user files into it, and looking up.

A data directory (``sources/ hardware/ models/ datacenters/ systems/``) is read, validated and
indexed once (:mod:`.validation`: PyYAML and the pydantic schema); names and aliases are indexed
case-insensitively (a clash anywhere in the registry is an error naming both files) and cross
references (node -> hardware, cluster -> node, ...) are resolved. A directory that loads without
a problem is stored in the on-disk cache (:mod:`.store`), and a later process builds the same
objects from it without validating again: no PyYAML, no pydantic, until something asks for a
schema object (an entry's ``spec``, a provenance, a source record), which is then built from the
stored data. A user's file (:meth:`Registry.add_file`) is always validated.

Every problem is a :class:`~mlsysim_sym.registry.errors.RegistryError` naming the file, the
entry and the field and saying what is allowed.
"""

from __future__ import annotations

import difflib
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional

from . import names as _names
from . import store
from .errors import RegistryError, RegistryLoadError, RegistryLookupError
from .names import DATA_DIR, KINDS
from .objects import OBJECT_CLASSES, REFERENCE_FIELDS, RegistryObject
from .value import Value

if TYPE_CHECKING:  # annotations only
    from .schema import Provenance, Source

__all__ = ["DATA_DIR", "KINDS", "OBJECT_CLASSES", "Registry", "RegistryLoadError", "read_yaml",
           "parse_yaml", "build_entry", "CachedEntry", "store_view"]

# the YAML readers and the one-entry builder live in .validation (PyYAML and pydantic), imported
# on first use; these names stay importable from here
_FROM_VALIDATION = ("read_yaml", "parse_yaml", "build_entry")


def __getattr__(name):
    if name in _FROM_VALIDATION:
        return getattr(importlib.import_module(".validation", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_key = _names.key


# ---- objects read from the cache -----------------------------------------------------------------

class _SourceTable:
    """The source records and value provenances of a registry read from the cache, built into
    schema objects (pydantic) on first use and shared by every object of that registry."""

    def __init__(self, sources: list, provenances: list):
        self._records, self._rows = sources, provenances
        self._sources: Optional[dict[str, Source]] = None
        self._provenances: dict[int, Provenance] = {}

    def sources(self) -> dict[str, Source]:
        """Every source record by id, in the order the directory defined them."""
        if self._sources is None:
            from .schema import Source
            self._sources = {sid: Source.model_validate(store.decode(record))
                             for sid, _file, record in self._records}
        return self._sources

    def provenance(self, number: int) -> Provenance:
        """The value provenance stored as row ``number``."""
        prov = self._provenances.get(number)
        if prov is None:
            import datetime as dt

            from .schema import Provenance
            source, locator, retrieved, basis, note, currency_year = self._rows[number]
            prov = Provenance.model_validate({
                "source": source, "locator": locator,
                "retrieved": dt.date.fromisoformat(retrieved), "basis": basis, "note": note,
                "currency_year": currency_year})
            self._provenances[number] = prov
        return prov


class CachedEntry:
    """What an object read from the cache builds on first use (see ``RegistryObject``'s
    ``spec``, values and sources): its schema entry validated from the stored mapping, its
    values' provenances and its source records."""

    __slots__ = ("kind", "raw", "values", "source_ids", "table")

    def __init__(self, kind: str, raw, values: list, source_ids: list, table: _SourceTable):
        self.kind, self.raw, self.values = kind, raw, values
        self.source_ids, self.table = source_ids, table

    def spec(self):
        """The entry's schema object: the stored mapping validated as the file was."""
        from .schema import ENTRY_SPECS
        return ENTRY_SPECS[self.kind].model_validate(store.decode(self.raw))

    def value_records(self, quantities: Mapping) -> dict[str, Value]:
        """Each value with its quantity (the object's own) and provenance, by field path."""
        return {path: Value(quantity=quantities[path], provenance=self.table.provenance(number),
                            text=text)
                for path, text, number in self.values}

    def sources(self) -> dict[str, Source]:
        """The source records the entry's values cite, by id."""
        table = self.table.sources()
        return {sid: table[sid] for sid in self.source_ids if sid in table}


class _View:
    """A stored schema block read by attribute, as the object constructors read a spec
    (``spec.architecture.layers``); ``store_view`` makes one."""

    __slots__ = ("_data",)

    def __init__(self, data: dict):
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name):
        try:
            return store_view(self._data[name])
        except KeyError:
            raise AttributeError(f"{self._data.get('__model__', 'block')} has no field "
                                 f"{name!r}") from None

    def __setattr__(self, key, value):
        raise AttributeError("a stored block is read-only")


def store_view(x):
    """A value of :func:`~.validation.plain_fields` as the constructors read it: a schema block
    as an object with its fields as attributes, a date as a date."""
    if isinstance(x, dict):
        if "__model__" in x:
            return _View(x)
        return {k: store_view(v) for k, v in x.items()}
    if isinstance(x, list):
        return [store_view(v) for v in x]
    if isinstance(x, str):
        return store.decode(x)
    return x


# ---- the registry --------------------------------------------------------------------------------

class Registry:
    """An index of registry objects by kind and case-insensitive name or alias.

    Attributes
    ----------
    sources : dict of str to Source
    """

    def __init__(self):
        self._sources: Optional[dict[str, Source]] = {}
        self._source_table: Optional[_SourceTable] = None  # a registry read from the cache
        self._source_files: dict[str, str] = {}
        self._objects: dict[str, dict[str, RegistryObject]] = {k: {} for k in KINDS}
        self._index: dict[str, tuple[str, str]] = {}
        self._files: dict[str, str] = {}  # index key -> file that defined it
        self.user_files: list[str] = []  # files given to add_file, in load order

    @property
    def sources(self) -> dict[str, Source]:
        """Source records by id (of a registry read from the cache: built on first access)."""
        if self._sources is None:
            self._sources = dict(self._source_table.sources())
        return self._sources

    @sources.setter
    def sources(self, value: dict[str, Source]) -> None:
        self._sources = value

    # ---- building --------------------------------------------------------------------------------
    @classmethod
    def from_directory(cls, root: Path = DATA_DIR, collect: bool = False):
        """Load a data directory laid out as ``sources/ hardware/ models/ datacenters/ systems/``.

        Parameters
        ----------
        root : Path
        collect : bool
            If True return ``(registry, errors)`` with every problem found instead of raising.
        """
        root = Path(root)
        files = store.data_files(root)
        reg = cls._from_cache(root, files)
        if reg is not None:
            return (reg, []) if collect else reg
        reg = cls()
        raws: dict = {}
        errors = reg._add(files, override=False, raws=raws)
        if not errors:
            payload = reg._payload(raws)
            if payload is not None:
                store.write(root, files, payload)
        if collect:
            return reg, errors
        if errors:
            raise errors[0] if len(errors) == 1 else RegistryLoadError(errors)
        return reg

    # ---- the on-disk cache (store.py) ----------------------------------------------------------
    def _payload(self, raws: Mapping) -> Optional[dict]:
        """What :mod:`.store` keeps of this registry, just loaded from a directory without a
        problem (``raws``: each entry's mapping as parsed, by (kind, name)), or None when some
        of it cannot be stored exactly.

        ``sources``: ``[id, file, record]``; ``provenances``: the distinct value provenances
        ``[source, locator, retrieved, basis, note, currency_year]``; ``objects``, in the order
        they were registered: ``[kind, file, fields (validation.plain_fields), [[path, quantity
        string, provenance number], ...], {reference field: [kind, name] or None}, source ids,
        the entry as parsed]``; ``index``: name or alias key -> [kind, name].
        """
        from .validation import plain_fields
        provenances: dict[tuple, int] = {}
        objects = []
        try:
            sources = [[sid, self._source_files[sid],
                        store.encode(src.model_dump(exclude_unset=True))]
                       for sid, src in self.sources.items()]
            for kind in KINDS:  # _add registers kind by kind, in this order
                for obj in self._objects[kind].values():
                    values = []
                    for path, v in obj._values.items():
                        p = v.provenance
                        row = (p.source, p.locator, p.retrieved.isoformat(), p.basis, p.note,
                               p.currency_year)
                        values.append([path, v.text, provenances.setdefault(row,
                                                                            len(provenances))])
                    refs = {field: (None if getattr(obj, field) is None else
                                    [ref_kind, getattr(obj, field).name])
                            for field, ref_kind, _ in REFERENCE_FIELDS.get(kind, ())}
                    objects.append([kind, obj.file, store.encode(plain_fields(obj.spec)), values,
                                    refs, sorted(obj._sources),
                                    store.encode(raws[(kind, obj.name)])])
        except (store.Unencodable, KeyError, AttributeError):
            return None
        return {"sources": sources, "provenances": [list(p) for p in provenances],
                "objects": objects, "index": {k: list(v) for k, v in self._index.items()}}

    @classmethod
    def _from_cache(cls, root: Path, files) -> Optional["Registry"]:
        """The registry :meth:`_payload` stored for ``files``, or None (not cached, or an entry
        that does not read back: the caller validates the YAML)."""
        payload = store.read(root, files)
        if payload is None:
            return None
        try:
            return cls._from_payload(payload)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, LookupError):
            return None

    @classmethod
    def _from_payload(cls, payload: dict) -> "Registry":
        from ..units import parse_quantity
        reg = cls()
        table = _SourceTable(payload["sources"], payload["provenances"])
        reg._sources, reg._source_table = None, table
        reg._source_files = {sid: file for sid, file, _ in payload["sources"]}
        for kind, file, fields, values, refs, source_ids, raw in payload["objects"]:
            quantities = {path: parse_quantity(text) for path, text, _ in values}
            ref_objects = {field: None if ref is None else reg._objects[ref[0]][ref[1]]
                           for field, ref in refs.items()}
            cached = CachedEntry(kind, raw, values, source_ids, table)
            obj = OBJECT_CLASSES[kind].from_cache(store_view(fields), quantities, file, cached,
                                                  **ref_objects)
            reg._register(obj)
        if {k: list(v) for k, v in reg._index.items()} != payload["index"]:
            raise ValueError("the cached index does not match its entries")
        return reg

    def add_file(self, path, override: bool = False, *, text: str | None = None,
                 kind: str | None = None) -> list[RegistryObject]:
        """Load a user's file into this registry (all or nothing) and return its objects.

        With ``text``, the YAML is that text and ``path`` only names it (in errors and as the
        entries' ``file``); loading text under the same name again replaces what it defined.
        ``kind`` is the kind of the entries of a bare list (default: guessed per entry).

        Raises
        ------
        RegistryError
            For any problem, including a name or alias that clashes with an existing entry
            (unless ``override``, in which case the existing entry is replaced).
        """
        path = Path(path)
        item = (path, str(path), kind) if text is None else (path, str(path), kind, text)
        snapshot = (dict(self.sources), dict(self._source_files),
                    {k: dict(v) for k, v in self._objects.items()}, dict(self._index),
                    dict(self._files))
        created: list[RegistryObject] = []
        for k in KINDS:  # reloading a file replaces what it defined before
            for name in [n for n, o in self._objects[k].items() if o.file == str(path)]:
                self._unregister(k, name)
        errors = self._add([item], override=override, created=created)
        if errors:
            (self.sources, self._source_files, self._objects, self._index, self._files) = snapshot
            raise errors[0] if len(errors) == 1 else RegistryLoadError(errors)
        if str(path) not in self.user_files:
            self.user_files.append(str(path))
        return created

    def _user_note(self) -> str:
        """Which user files were loaded and what they define (for unknown-name errors)."""
        if not self.user_files:
            return ""
        parts = []
        for file in self.user_files:
            defined = [f"{kind} {name}" for kind in KINDS for name, obj in
                       self._objects[kind].items() if obj.file == file]
            shown = ", ".join(defined[:5]) + (f", ... ({len(defined)} in all)"
                                               if len(defined) > 5 else "")
            parts.append(f"{file} ({shown or 'sources only'})")
        return "your files loaded: " + "; ".join(parts)

    def _add(self, files, override: bool, created: Optional[list] = None,
             raws: Optional[dict] = None) -> list[RegistryError]:
        """Validate ``files`` (``(path, display name, kind[, text])``) and register their
        entries; the problems found. ``created`` collects the new objects, ``raws`` each one's
        parsed mapping by (kind, name)."""
        from .validation import (EXPECTED, parse_yaml, read_yaml, resolve_references,
                                 split_file, validate_entry)
        errors: list[RegistryError] = []
        raw_entries: list = []
        failed_sources: set[str] = set()
        for path, display, kind, *text in files:
            try:
                data = parse_yaml(text[0], display) if text else read_yaml(path, display)
                entries, sources = split_file(data, display, kind)
                if not entries and not sources:
                    what = "is empty" if data is None else "holds no entries"
                    raise RegistryError(f"the file {what}: expected {EXPECTED} (or a sources "
                                        "file {kind: source, entries: {id: record}})",
                                        file=display)
            except RegistryError as exc:
                errors.append(exc)
                continue
            raw_entries += entries
            errors += self._add_sources(sources, display, override, failed_sources)
        order = {k: i for i, k in enumerate(KINDS)}
        raw_entries.sort(key=lambda e: order.get(e.kind, 99))  # stable: file order within a kind
        failed: set[str] = set()
        for raw in raw_entries:
            spec, values, entry_errors = validate_entry(raw.kind, raw.data, self.sources,
                                                        raw.file, raw.label)
            # an unknown source that failed validation itself is reported once, there
            secondary = [e for e in entry_errors
                         if getattr(e, "source_id", None) in failed_sources]
            if secondary:
                entry_errors = [e for e in entry_errors if e not in secondary]
                if not entry_errors:
                    failed.add(_key(raw.label))
                    continue
            if spec is not None and not entry_errors:
                entry_errors = self._check_names(spec, raw, override)
            refs: dict = {}
            if spec is not None and not entry_errors:
                refs, ref_errors = resolve_references(raw.kind, spec, self._resolve_ref,
                                                      raw.file, raw.label)
                entry_errors = [e for e in ref_errors
                                if _key(str(getattr(spec, e.field))) not in failed]
                if ref_errors and not entry_errors:
                    failed.add(_key(spec.name))  # refers to an entry that failed: reported there
                    continue
            if entry_errors or spec is None:
                errors += entry_errors
                failed.add(_key(raw.label))
                if isinstance(raw.data, dict):
                    failed.update(_key(a) for a in raw.data.get("aliases") or []
                                  if isinstance(a, str))
                continue
            obj = OBJECT_CLASSES[raw.kind](spec, values, self.sources, raw.file, **refs)
            self._register(obj)
            if created is not None:
                created.append(obj)
            if raws is not None:
                raws[(obj.entry_kind, obj.name)] = raw.data
        return errors

    def _add_sources(self, records: Mapping[str, Any], file: str, override: bool,
                     failed: set[str]):
        from .validation import validate_source
        errors = []
        for sid, record in records.items():
            failed.add(sid)
            source, problems = validate_source(sid, record, file)
            if source is None:
                errors += problems
                continue
            if sid in self.sources and self.sources[sid] != source and not override \
                    and self._source_files[sid] != file:
                errors.append(RegistryError(f"source id {sid!r} is already defined in "
                                            f"{self._source_files[sid]} with different fields; "
                                            "source ids must be unique", file=file, entry=str(sid)))
                continue
            if sid not in self.sources or self.sources[sid] != source:
                self._source_files[sid] = file
            self.sources[sid] = source
            failed.discard(sid)
        return errors

    def _check_names(self, spec, raw, override: bool):
        errors = []
        names = [spec.name] + list(spec.aliases)
        seen = set()
        for i, name in enumerate(names):
            key = _key(name)
            if key in seen:
                continue
            seen.add(key)
            hit = self._index.get(key)
            if hit is None:
                continue
            other_file = self._files[key]
            other_kind, other_name = hit
            if override and other_file != raw.file:
                self._unregister(other_kind, other_name)
                continue
            what = "name" if i == 0 else "alias"
            errors.append(RegistryError(
                f"{what} '{name}' clashes with {other_kind} '{other_name}' in {other_file}: names "
                "and aliases must be unique across the registry (case-insensitive)"
                + ("" if raw.file == other_file else "; load(..., override=True) replaces it"),
                file=raw.file, entry=raw.label, field="name" if i == 0 else "aliases"))
        return errors

    def _register(self, obj: RegistryObject) -> None:
        _names.changed()   # caches derived from entries (registry.generation()) start over
        self._objects[obj.entry_kind][obj.name] = obj
        for name in (obj.name, *obj.aliases):
            self._index[_key(name)] = (obj.entry_kind, obj.name)
            self._files[_key(name)] = obj.file

    def _unregister(self, kind: str, name: str) -> None:
        obj = self._objects[kind].pop(name, None)
        if obj is None:
            return
        _names.changed()
        for alias in (obj.name, *obj.aliases):
            self._index.pop(_key(alias), None)
            self._files.pop(_key(alias), None)

    def _resolve_ref(self, kind: str, name: str) -> Optional[RegistryObject]:
        return self.get(kind, name)

    # ---- access ----------------------------------------------------------------------------------
    def get(self, kind: str, name_or_obj):
        """The object of ``kind`` named ``name_or_obj`` (an object of that kind is returned as is).

        Raises
        ------
        RegistryLookupError
            For an unknown name (with close matches) or a name of another kind.
        TypeError
            For something that is neither a name nor an object of this kind.
        """
        cls = OBJECT_CLASSES[kind]
        if isinstance(name_or_obj, cls):
            return name_or_obj
        if not isinstance(name_or_obj, str):
            raise TypeError(f"expected a {kind} name or a {cls.__name__}, got "
                            f"{type(name_or_obj).__name__}")
        hit = self._index.get(_key(name_or_obj))
        if hit is not None:
            hit_kind, canonical = hit
            if hit_kind == kind:
                return self._objects[kind][canonical]
            raise _names.wrong_kind(name_or_obj, hit_kind, canonical, kind)
        raise self._unknown(kind, name_or_obj)

    def find(self, name: str) -> RegistryObject:
        """The object of any kind named ``name`` (case-insensitive name or alias)."""
        hit = self._index.get(_key(str(name)))
        if hit is not None:
            return self._objects[hit[0]][hit[1]]
        raise _names.unknown_any(self._index, name, self._user_note())

    def _unknown(self, kind: str, name: str) -> RegistryLookupError:
        return _names.unknown(self._index, kind, name, self._user_note())

    def objects(self, kind: str) -> list[RegistryObject]:
        """All objects of ``kind``, sorted by name."""
        return [self._objects[kind][n] for n in sorted(self._objects[kind])]

    def source_file(self, source_id: str) -> Optional[str]:
        """The file that defines source record ``source_id``."""
        return self._source_files.get(source_id)

    def file_of(self, name: str) -> Optional[str]:
        """The file that defines ``name`` (a canonical name or alias)."""
        return self._files.get(_key(name))

    def search(self, text: str) -> list[RegistryObject]:
        """Objects of any kind matching ``text``, best first: an exact name or alias, then a name
        starting with it, then entries where every word occurs in the name, an alias, the display
        name, vendor or family. Only when nothing matches so: names within a small edit distance.
        """
        query = " ".join(_key(text).split())
        if not query:
            return []
        words = query.split()
        scored, fuzzy = [], []
        for kind in KINDS:
            for obj in self._objects[kind].values():
                names = [_key(n) for n in (obj.name, *obj.aliases)]
                hay = " ".join(names + [_key(obj.display_name),
                                        _key(str(getattr(obj, "vendor", "") or "")),
                                        _key(str(getattr(obj, "family", "") or ""))])
                if query in names:
                    scored.append((0, kind, obj.name, obj))
                elif any(n.startswith(query) for n in names):
                    scored.append((1, kind, obj.name, obj))
                elif all(w in hay for w in words):
                    scored.append((2, kind, obj.name, obj))
                else:
                    ratio = max(difflib.SequenceMatcher(None, query, n).ratio() for n in names)
                    if ratio >= 0.75:
                        fuzzy.append((-ratio, kind, obj.name, obj))
        return [t[3] for t in sorted(scored or fuzzy, key=lambda t: t[:3])]


# ---- what-if entries built in Python ------------------------------------------------------------

#: the source id of values a user states in Python (:meth:`RegistryObject.from_spec`)
USER_SOURCE_ID = "user"


def user_source() -> Source:
    """The source record of a design stated in Python: the user's own assumption."""
    import datetime as dt

    from .schema import Source
    return Source(id=USER_SOURCE_ID, title="User assumption: a what-if design stated in Python "
                  "(RegistryObject.from_spec)", publisher="user", year=dt.date.today().year,
                  url=Path.cwd().resolve().as_uri(), kind="report")


def what_if_entry(kind: str, spec: Mapping[str, Any], *, note: str | None = None,
                  locator: str = "from_spec() in the user's Python session") -> RegistryObject:
    """Build a ``kind`` entry from a mapping written as in YAML, through the same strict
    validator as the registry files (units checked), with provenance ``source: user, basis:
    assumption`` unless the mapping gives its own (see :meth:`RegistryObject.from_spec`).

    References (a node's ``accelerator``, a cluster's ``node``, ``fabric``, ``datacenter``) may
    be registry names or objects, including other what-if objects. The object is not added to
    the registry.
    """
    import datetime as dt

    from .schema import ENTRY_SPECS
    from .validation import build_entry
    if kind not in ENTRY_SPECS:
        raise ValueError(f"unknown entry kind {kind!r}; allowed: {', '.join(ENTRY_SPECS)}")
    if not isinstance(spec, Mapping):
        raise TypeError(f"from_spec takes a mapping of fields as written in YAML, got "
                        f"{type(spec).__name__}")
    data = dict(spec)
    data.setdefault("provenance", {
        "source": USER_SOURCE_ID, "locator": locator, "retrieved": dt.date.today(),
        "basis": "assumption",
        "note": note or f"a speculative {kind} stated by the user (what-if design), not a "
                        "published or measured value"})
    local = {}
    for field, ref_kind, _required in REFERENCE_FIELDS.get(kind, ()):
        ref = data.get(field)
        if isinstance(ref, RegistryObject):
            if ref.entry_kind != ref_kind:
                raise ValueError(f"{field} must be a {ref_kind}, got the {ref.entry_kind} "
                                 f"{ref.name!r}")
            local[(ref_kind, ref.name)] = ref
            data[field] = ref.name

    def resolve(ref_kind, name):
        if (ref_kind, name) in local:
            return local[(ref_kind, name)]
        from . import get_registry
        return get_registry().get(ref_kind, name)

    from . import get_registry
    sources = dict(get_registry().sources)  # a value may cite a shipped source by its id
    sources[USER_SOURCE_ID] = user_source()
    return build_entry(kind, data, sources, file="<from_spec>", resolve=resolve)
