"""Reading, validating and indexing registry YAML.

Files are read the way ``yaml.safe_load`` reads them (the safe resolver and ``SafeConstructor``,
nothing else), in two steps: the document is composed into a node tree (composing constructs no
objects), the tree is checked - any non-standard tag (``!!python/object``), a duplicate mapping key
or an impossible date is an error naming the file, line, entry and field - and only then is it
constructed into plain data. Entries are
validated by the pydantic schema, their values get their provenance resolved, names and aliases are
indexed case-insensitively (a clash anywhere in the registry is an error naming both files), and
cross references (node -> hardware, cluster -> node, ...) are resolved.

Every problem is a :class:`~mlsysim_sym.registry.schema.RegistryError` naming the file, the entry and
the field and saying what is allowed.
"""

from __future__ import annotations

import difflib
import typing
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import yaml
from pydantic import BaseModel, ValidationError

from . import names as _names
from .names import DATA_DIR, KINDS
from .objects import Cluster, Datacenter, Fabric, Hardware, Model, Node, RegistryObject
from .schema import (ENTRY_SPECS, FieldError, RegistryError, RegistryLookupError, Source, Value,
                     iter_raw_values, resolve_provenance, short_repr)

__all__ = ["DATA_DIR", "KINDS", "Registry", "RegistryLoadError", "read_yaml", "parse_yaml",
           "build_entry"]

OBJECT_CLASSES: dict[str, type[RegistryObject]] = {
    "hardware": Hardware, "model": Model, "datacenter": Datacenter, "fabric": Fabric,
    "node": Node, "cluster": Cluster,
}
_DIR_KINDS = {"hardware": "hardware", "models": "model", "datacenters": "datacenter",
              "systems": "system", "sources": "source"}
_KIND_WORDS = {"hardware": "hardware", "model": "model", "models": "model",
               "datacenter": "datacenter", "datacenters": "datacenter", "system": "system",
               "systems": "system", "source": "source", "sources": "source"}
_SYSTEM_KEYS = {"fabrics": "fabric", "nodes": "node", "clusters": "cluster"}
_MAX_FILE_BYTES = 5_000_000
_EXPECTED = ("a list of entries or a mapping {kind: hardware|model|datacenter|system, "
             "entries: [...]}")


class RegistryLoadError(RegistryError):
    """Several registry problems at once; ``errors`` holds each :class:`RegistryError`."""

    def __init__(self, errors: list[RegistryError]):
        self.errors = list(errors)
        shown = "\n  ".join(str(e) for e in self.errors[:20])
        more = f"\n  ... and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
        super().__init__(f"{len(self.errors)} registry problems:\n  {shown}{more}")


# ---- YAML ------------------------------------------------------------------------------------

# libyaml's parser when present (same safe resolver, ~10x faster), else the pure-Python one
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SAFE_TAGS = {f"tag:yaml.org,2002:{t}" for t in
              ("str", "int", "float", "bool", "null", "timestamp", "seq", "map", "merge")}


def _node_name(node) -> Optional[str]:
    if isinstance(node, yaml.MappingNode):
        for key, val in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "name" \
                    and isinstance(val, yaml.ScalarNode):
                return val.value
    return None


def _where(trail: list[tuple[Any, Any]]) -> tuple[Optional[str], Optional[str]]:
    """Entry name and field path for a trail of (parent node, key) pairs."""
    entry, start = None, 0
    for i, (parent, key) in enumerate(trail):
        if isinstance(parent, yaml.SequenceNode):
            child = parent.value[key]
            name = _node_name(child)
            if name is not None:
                entry, start = name, i + 1
            elif entry is None:
                entry, start = f"#{key + 1}", i + 1
    if entry is None and trail:  # a sources file: id -> record
        keys = [k for _, k in trail]
        if keys[0] in ("entries", "sources") and len(keys) > 1:
            entry, start = str(keys[1]), 2
        else:
            entry, start = str(keys[0]), 1
    field = ".".join(str(k) for _, k in trail[start:]) or None
    return entry, field


def _check_nodes(root, file: str) -> None:
    """Reject unsafe tags, duplicate keys and impossible dates in a composed YAML tree."""
    timestamp_ctor = yaml.constructor.SafeConstructor()
    seen: set[int] = set()
    stack = [(root, [])]
    while stack:
        node, trail = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        line = node.start_mark.line + 1
        if node.tag not in _SAFE_TAGS:
            entry, field = _where(trail)
            raise RegistryError(f"the YAML tag {node.tag!r} is not allowed: registry files are "
                                "plain data (strings, numbers, booleans, dates, lists, mappings); "
                                "remove the tag", file=file, entry=entry, field=field, line=line)
        if node.tag.endswith(":timestamp"):
            try:
                timestamp_ctor.construct_yaml_timestamp(node)
            except ValueError:
                entry, field = _where(trail)
                raise RegistryError(f"{node.value!r} is not a calendar date: write an ISO date "
                                    "YYYY-MM-DD, e.g. 2026-11-22", file=file, entry=entry,
                                    field=field, line=line) from None
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, val in node.value:
                k = key.value if isinstance(key, yaml.ScalarNode) else None
                if k is not None and k != "<<":
                    if k in keys:
                        entry, field = _where(trail + [(node, k)])
                        raise RegistryError(f"duplicate key {k!r} (YAML would silently keep the "
                                            "last one)", file=file, entry=entry, field=field,
                                            line=key.start_mark.line + 1)
                    keys.add(k)
                stack.append((key, trail))
                stack.append((val, trail + [(node, k)]))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, trail + [(node, i)]))


def read_yaml(path: Path, file: str | None = None) -> Any:
    """Parse one registry file safely.

    Parameters
    ----------
    path : Path
    file : str, optional
        How to name the file in errors (defaults to ``str(path)``).

    Raises
    ------
    RegistryError
        For unreadable or oversized files, YAML syntax errors, non-standard tags (such as
        ``!!python/object``), duplicate keys and impossible dates.
    """
    file = file or str(path)
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise RegistryError(f"file is larger than {_MAX_FILE_BYTES} bytes", file=file)
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(f"cannot read the file: {exc}", file=file) from None
    return parse_yaml(text, file)


def parse_yaml(text: str, file: str = "<text>") -> Any:
    """Parse registry YAML given as text, exactly as :func:`read_yaml` parses a file.

    Raises
    ------
    RegistryError
        For text that is not a string or is larger than a registry file may be, YAML syntax
        errors, non-standard tags, duplicate keys and impossible dates.
    """
    if not isinstance(text, str):
        raise RegistryError(f"expected YAML text, got {type(text).__name__}", file=file)
    if len(text) > _MAX_FILE_BYTES:
        raise RegistryError(f"text is larger than {_MAX_FILE_BYTES} characters", file=file)
    try:
        root = yaml.compose(text, Loader=_SAFE_LOADER)
    except RecursionError:
        raise RegistryError("the YAML is nested too deeply", file=file) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RegistryError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", file=file,
                            line=mark.line + 1 if mark else None) from None
    if root is None:
        return None
    _check_nodes(root, file)
    # What yaml.safe_load does, from the tree already checked: SafeConstructor builds only
    # str, int, float, bool, None, date, list and dict.
    try:
        return yaml.constructor.SafeConstructor().construct_document(root)
    except RecursionError:
        raise RegistryError("the YAML is nested too deeply", file=file) from None
    except yaml.YAMLError as exc:  # pragma: no cover - _check_nodes catches these first
        mark = getattr(exc, "problem_mark", None)
        raise RegistryError(f"YAML that cannot be loaded safely: {exc}", file=file,
                            line=mark.line + 1 if mark else None) from None


# ---- splitting files into entries ----------------------------------------------------------------

class _RawEntry:
    __slots__ = ("kind", "data", "file", "label")

    def __init__(self, kind, data, file, label):
        self.kind, self.data, self.file, self.label = kind, data, file, label


def _entry_label(data: Any, index: int) -> str:
    if isinstance(data, dict) and isinstance(data.get("name"), str):
        return data["name"]
    return f"#{index + 1}"


def _guess_kind(item: Any) -> Optional[str]:
    if not isinstance(item, dict):
        return None
    for key, kind in (("peak", "hardware"), ("family", "model"), ("architecture", "model"),
                      ("carbon_intensity", "datacenter"), ("link_bandwidth", "fabric"),
                      ("accelerators_per_node", "node"), ("node", "cluster")):
        if key in item:
            return kind
    return None


def _split(data: Any, file: str, default_kind: Optional[str]):
    """Split a parsed file into raw entries and raw source records.

    A file is a list of entries, a systems mapping ``{fabrics, nodes, clusters}``, a sources
    mapping ``{id: record}``, or a wrapper ``{kind, entries[, sources]}`` around any of them.
    """
    if data is None:
        return [], {}
    kind, body, sources = default_kind, data, {}
    if isinstance(data, dict) and isinstance(data.get("kind"), str):
        if data["kind"] not in _KIND_WORDS:
            raise RegistryError(f"unknown kind {data['kind']!r}; allowed: hardware, model, "
                                "datacenter, system, source", file=file, field="kind")
        kind = _KIND_WORDS[data["kind"]]
        extra = set(data) - {"kind", "entries", "sources", *_SYSTEM_KEYS}
        if extra:
            raise RegistryError(f"unknown top-level key(s) {sorted(extra)}; allowed: kind, entries, "
                                "sources (and fabrics, nodes, clusters for kind system)", file=file)
        sources = data.get("sources") or {}
        if not isinstance(sources, dict):
            raise RegistryError("'sources' must be a mapping id -> record", file=file,
                                field="sources")
        if kind == "system" and "entries" not in data:
            body = {k: data[k] for k in _SYSTEM_KEYS if k in data}
        else:
            body = data.get("entries", {} if kind == "source" else [])
    elif kind is None and isinstance(data, dict) and data and set(data) <= set(_SYSTEM_KEYS):
        kind = "system"

    if kind == "source":
        if not isinstance(body, dict):
            raise RegistryError("sources must be a mapping id -> record", file=file)
        return [], {**sources, **body}
    if kind == "system":
        if not isinstance(body, dict) or set(body) - set(_SYSTEM_KEYS):
            raise RegistryError("a systems file must be a mapping with keys fabrics, nodes, "
                                "clusters (each a list of entries)", file=file)
        entries = []
        for key, sub_kind in _SYSTEM_KEYS.items():
            items = body.get(key) or []
            if not isinstance(items, list):
                raise RegistryError(f"'{key}' must be a list of entries", file=file, field=key)
            entries += [_RawEntry(sub_kind, item, file, _entry_label(item, i))
                        for i, item in enumerate(items)]
        return entries, sources
    if not isinstance(body, list):
        what = {str: "a text", int: "a number", float: "a number", bool: "a boolean",
                dict: "a mapping without 'kind'"}.get(type(body), type(body).__name__)
        got = ("one entry without a list around it (write it as '- name: ...', or under "
               "'entries:')" if isinstance(body, dict) and "name" in body
               else f"{what} at the top level")
        raise RegistryError(f"expected {_EXPECTED}; the file holds {got}", file=file)
    entries = []
    for i, item in enumerate(body):
        item_kind = kind or _guess_kind(item)
        label = _entry_label(item, i)
        if item_kind is None:
            what = "an entry" if isinstance(item, dict) else f"{type(item).__name__} {item!r:.40}"
            raise RegistryError(f"cannot tell what kind of entry this is ({what} without peak, "
                                "family, carbon_intensity, ...): expected a mapping "
                                "{kind: hardware|model|datacenter|system, entries: [...]}",
                                file=file, entry=label)
        entries.append(_RawEntry(item_kind, item, file, label))
    return entries, sources


# ---- pydantic errors -> RegistryError ----------------------------------------------------------

def _submodel(model: type[BaseModel], loc: Iterable) -> Optional[type[BaseModel]]:
    """The pydantic model class found at ``loc`` inside ``model`` (for 'allowed fields')."""

    def unwrap(tp):
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return tp
        return next((m for m in map(unwrap, typing.get_args(tp)) if m is not None), None)

    cur: Any = model
    for part in loc:  # list indices and dict keys keep the current model
        if isinstance(cur, type) and issubclass(cur, BaseModel) and part in cur.model_fields:
            cur = unwrap(cur.model_fields[part].annotation)
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def _allowed(model: Optional[type[BaseModel]]) -> str:
    if model is None:
        return ""
    required = [k for k, f in model.model_fields.items() if f.is_required() and k != "id"]
    optional = [k for k, f in model.model_fields.items() if not f.is_required()]
    text = f"required: {', '.join(required) or '(none)'}"
    return text + (f"; optional: {', '.join(optional)}" if optional else "")


def _describe(err: dict, model: type[BaseModel]) -> tuple[str, str]:
    """(field path, message) for one pydantic error dict."""
    loc = [p for p in err["loc"] if p != "[key]"]
    kind, raw_input = err["type"], err.get("input")
    inp = short_repr(raw_input)
    inner = err.get("ctx", {}).get("error")
    if isinstance(inner, FieldError) and inner.field:
        loc = loc + inner.field.split(".")
    field = ".".join(str(p) for p in loc)
    if kind == "missing":
        return field, f"required field '{loc[-1]}' is missing ({_allowed(_submodel(model, loc[:-1]))})"
    if kind == "extra_forbidden":
        parent = _submodel(model, loc[:-1])
        names = list(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(loc[-1]), names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return field, f"unknown field '{loc[-1]}'{hint}; allowed fields here: {', '.join(names)}"
    if kind == "value_error" and inner is not None:
        return field, str(inner)
    if kind in ("int_type", "int_parsing"):
        return field, f"{inp} is not an integer: write a plain YAML integer, e.g. 32"
    if kind == "bool_type":
        return field, f"{inp} is not a boolean: write true or false"
    if kind == "string_type":
        hint = (" (YAML 1.1 reads unquoted yes/no/on/off as booleans: write \"NO\")"
                if isinstance(raw_input, bool) else "")
        return field, f"{inp} is not a string: write text (quote it){hint}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        sub = _submodel(model, loc)
        return field, f"{inp} is not a mapping: write a mapping ({_allowed(sub)})" if sub \
            else f"{inp} is not a mapping"
    if kind == "list_type":
        return field, f"{inp} is not a list: write a YAML list"
    if kind == "literal_error":
        return field, f"{inp} is not allowed: {err['msg'].replace('Input should be', 'write')}"
    if kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern", "")
        return field, f"{inp} does not have the required form (pattern {pattern})"
    return field, f"{err['msg']} (got {inp})"


def _convert(exc: ValidationError, model: type[BaseModel], file: str, entry: str):
    errors = []
    for err in exc.errors(include_url=False):
        field, message = _describe(err, model)
        errors.append(RegistryError(message, file=file, entry=entry, field=field or None))
    return errors


# ---- building entries ----------------------------------------------------------------------------

def _resolve_values(spec, sources: Mapping[str, Source], file: str, entry: str):
    """Resolve the provenance of every value; return (values, errors)."""
    values: dict[str, Value] = {}
    errors: list[RegistryError] = []
    entry_prov = getattr(spec, "provenance", None)
    if entry_prov is not None and entry_prov.source not in sources:
        errors.append(_unknown_source(entry_prov.source, sources, file, entry, "provenance.source"))
    for path, raw in iter_raw_values(spec):
        try:
            prov = resolve_provenance(raw, entry_prov)
        except FieldError as exc:
            sub = f"{path}.{exc.field}" if exc.field else path
            errors.append(RegistryError(str(exc), file=file, entry=entry, field=sub))
            continue
        if prov.source not in sources:
            if raw.spec is not None and raw.spec.source is not None:
                errors.append(_unknown_source(prov.source, sources, file, entry, f"{path}.source"))
            continue
        values[path] = Value(quantity=raw.quantity, provenance=prov, text=raw.text)
    return values, errors


def _unknown_source(sid, sources, file, entry, field) -> RegistryError:
    close = difflib.get_close_matches(sid, list(sources), n=3, cutoff=0.6)
    hint = f"; close ids: {', '.join(close)}" if close else ""
    err = RegistryError(f"unknown source id {sid!r}: define it in sources/*.yaml (or in the "
                        f"file's 'sources' mapping){hint}", file=file, entry=entry, field=field)
    err.source_id = sid
    return err


def _validate(kind: str, data: Any, sources: Mapping[str, Source], file: str, entry: str):
    """Validate one raw entry; return (spec, values, errors)."""
    spec_cls = ENTRY_SPECS[kind]
    if not isinstance(data, dict):
        return None, {}, [RegistryError(f"an entry must be a mapping of fields "
                                        f"({_allowed(spec_cls)})", file=file, entry=entry)]
    try:
        spec = spec_cls.model_validate(data)
    except ValidationError as exc:
        return None, {}, _convert(exc, spec_cls, file, entry)
    values, errors = _resolve_values(spec, sources, file, entry)
    return spec, values, errors


def build_entry(kind: str, data: Mapping[str, Any], sources: Mapping[str, Source],
                file: str = "<dict>", resolve=None) -> RegistryObject:
    """Validate one entry mapping and build its object (without registering it).

    Parameters
    ----------
    kind : str
        ``hardware``, ``model``, ``datacenter``, ``fabric``, ``node`` or ``cluster``.
    data : mapping
        The entry, as it would be written in YAML.
    sources : mapping of str to Source
    file : str
        How to name the origin in errors.
    resolve : callable(kind, name) -> RegistryObject, optional
        Resolves references of nodes and clusters (defaults to the global registry).

    Raises
    ------
    RegistryError
    """
    label = _entry_label(data, 0)
    spec, values, errors = _validate(kind, dict(data), sources, file, label)
    if errors:
        raise errors[0] if len(errors) == 1 else RegistryLoadError(errors)
    if resolve is None and kind in _REFERENCE_FIELDS:
        from . import get_registry
        resolve = get_registry().get
    refs, ref_errors = _references(kind, spec, resolve, file, label)
    if ref_errors:
        raise ref_errors[0]
    return OBJECT_CLASSES[kind](spec, values, sources, file, **refs)


_REFERENCE_FIELDS = {
    "node": (("accelerator", "hardware", True), ("scale_up_fabric", "fabric", False),
             ("scale_out_fabric", "fabric", False)),
    "cluster": (("node", "node", True), ("fabric", "fabric", False),
                ("datacenter", "datacenter", False)),
}


def _references(kind, spec, resolve, file, entry):
    refs, errors = {}, []
    for field, ref_kind, _required in _REFERENCE_FIELDS.get(kind, ()):
        name = getattr(spec, field)
        if name is None:
            refs[field] = None
            continue
        try:
            refs[field] = resolve(ref_kind, name)
        except RegistryLookupError as exc:
            errors.append(RegistryError(f"unknown {ref_kind} reference: {exc}", file=file,
                                        entry=entry, field=field))
    return refs, errors


_key = _names.key


# ---- the registry --------------------------------------------------------------------------------

class Registry:
    """An index of registry objects by kind and case-insensitive name or alias.

    Attributes
    ----------
    sources : dict of str to Source
    """

    def __init__(self):
        self.sources: dict[str, Source] = {}
        self._source_files: dict[str, str] = {}
        self._objects: dict[str, dict[str, RegistryObject]] = {k: {} for k in KINDS}
        self._index: dict[str, tuple[str, str]] = {}
        self._files: dict[str, str] = {}  # index key -> file that defined it
        self.user_files: list[str] = []  # files given to add_file, in load order

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
        reg = cls()
        files = []
        root = Path(root)
        label_root = root.parent.parent if root == DATA_DIR else root.parent
        for sub, kind in _DIR_KINDS.items():
            folder = root / sub
            if folder.is_dir():
                for path in sorted(folder.glob("*.y*ml")):
                    try:
                        display = str(path.relative_to(label_root))
                    except ValueError:
                        display = str(path)
                    files.append((path, display, kind))
        errors = reg._add(files, override=False)
        if collect:
            return reg, errors
        if errors:
            raise errors[0] if len(errors) == 1 else RegistryLoadError(errors)
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

    def _add(self, files, override: bool, created: Optional[list] = None) -> list[RegistryError]:
        errors: list[RegistryError] = []
        raw_entries: list[_RawEntry] = []
        failed_sources: set[str] = set()
        for path, display, kind, *text in files:
            try:
                data = parse_yaml(text[0], display) if text else read_yaml(path, display)
                entries, sources = _split(data, display, kind)
                if not entries and not sources:
                    what = "is empty" if data is None else "holds no entries"
                    raise RegistryError(f"the file {what}: expected {_EXPECTED} (or a sources "
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
            spec, values, entry_errors = _validate(raw.kind, raw.data, self.sources, raw.file,
                                                   raw.label)
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
                refs, ref_errors = _references(raw.kind, spec, self._resolve_ref, raw.file,
                                               raw.label)
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
        return errors

    def _add_sources(self, records: Mapping[str, Any], file: str, override: bool,
                     failed: set[str]):
        errors = []
        for sid, record in records.items():
            failed.add(sid)
            if not isinstance(record, dict):
                errors.append(RegistryError("a source record must be a mapping (title, publisher "
                                            "or authors, year, url or doi, kind)", file=file,
                                            entry=str(sid)))
                continue
            if "id" in record:
                errors.append(RegistryError("a source record takes its id from its key; remove "
                                            "'id'", file=file, entry=str(sid), field="id"))
                continue
            try:
                source = Source.model_validate({**record, "id": sid})
            except ValidationError as exc:
                errors += _convert(exc, Source, file, str(sid))
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

    def _check_names(self, spec, raw: _RawEntry, override: bool):
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
    for field, ref_kind, _required in _REFERENCE_FIELDS.get(kind, ()):
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
