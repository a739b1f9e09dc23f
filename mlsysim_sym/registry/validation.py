"""Reading and validating registry YAML (PyYAML and the pydantic schema).

Files are read the way ``yaml.safe_load`` reads them (the safe resolver and ``SafeConstructor``,
nothing else; libyaml's parser when present), in two steps: the document is composed into a
node tree (composing constructs no objects), the tree is checked - any non-standard tag
(``!!python/object``), a duplicate mapping key or an impossible date is an error naming the
file, line, entry and field - and only then is it constructed into plain data. A file is split
into entries and source records, each entry is validated by the pydantic schema and its values
get their provenance resolved; :class:`~.loader.Registry` indexes the results.

This module is imported on the first validation: a registry read from the on-disk cache
(:mod:`.store`) needs neither PyYAML nor pydantic.

Every problem is a :class:`~mlsysim_sym.registry.errors.RegistryError` naming the file, the
entry and the field and saying what is allowed.
"""

from __future__ import annotations

import difflib
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional

import yaml
from pydantic import BaseModel, ValidationError

from .errors import FieldError, RegistryError, RegistryLoadError, RegistryLookupError
from .objects import OBJECT_CLASSES, REFERENCE_FIELDS
from .schema import (ENTRY_SPECS, RawValue, Source, Value, iter_raw_values, resolve_provenance,
                     short_repr)

if TYPE_CHECKING:  # annotations only
    from .objects import RegistryObject

__all__ = ["read_yaml", "parse_yaml", "RawEntry", "entry_label", "split_file", "EXPECTED",
           "convert_errors", "validate_entry", "validate_source", "build_entry",
           "REFERENCE_FIELDS", "resolve_references", "plain_fields"]

_KIND_WORDS = {"hardware": "hardware", "model": "model", "models": "model",
               "datacenter": "datacenter", "datacenters": "datacenter", "system": "system",
               "systems": "system", "source": "source", "sources": "source"}
_SYSTEM_KEYS = {"fabrics": "fabric", "nodes": "node", "clusters": "cluster"}
_MAX_FILE_BYTES = 5_000_000
#: what a registry file holds (for error messages)
EXPECTED = ("a list of entries or a mapping {kind: hardware|model|datacenter|system, "
            "entries: [...]}")


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

class RawEntry:
    """One entry of a file before validation: its kind, the parsed mapping, the file, a label
    for errors (its name, or ``#index``)."""

    __slots__ = ("kind", "data", "file", "label")

    def __init__(self, kind, data, file, label):
        self.kind, self.data, self.file, self.label = kind, data, file, label


def entry_label(data: Any, index: int) -> str:
    """An entry's name, or ``#index`` (1-based) when it has none."""
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


def split_file(data: Any, file: str, default_kind: Optional[str]):
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
            entries += [RawEntry(sub_kind, item, file, entry_label(item, i))
                        for i, item in enumerate(items)]
        return entries, sources
    if not isinstance(body, list):
        what = {str: "a text", int: "a number", float: "a number", bool: "a boolean",
                dict: "a mapping without 'kind'"}.get(type(body), type(body).__name__)
        got = ("one entry without a list around it (write it as '- name: ...', or under "
               "'entries:')" if isinstance(body, dict) and "name" in body
               else f"{what} at the top level")
        raise RegistryError(f"expected {EXPECTED}; the file holds {got}", file=file)
    entries = []
    for i, item in enumerate(body):
        item_kind = kind or _guess_kind(item)
        label = entry_label(item, i)
        if item_kind is None:
            what = "an entry" if isinstance(item, dict) else f"{type(item).__name__} {item!r:.40}"
            raise RegistryError(f"cannot tell what kind of entry this is ({what} without peak, "
                                "family, carbon_intensity, ...): expected a mapping "
                                "{kind: hardware|model|datacenter|system, entries: [...]}",
                                file=file, entry=label)
        entries.append(RawEntry(item_kind, item, file, label))
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


def convert_errors(exc: ValidationError, model: type[BaseModel], file: str, entry: str):
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
    links = getattr(getattr(spec, "links", None), "scale_up", None)
    for where, peer in (("peer_access", getattr(spec, "peer_access", None)),
                        ("links.scale_up.peer_access", getattr(links, "peer_access", None))):
        if peer is not None and peer.source not in sources:   # the flag carries its provenance
            errors.append(_unknown_source(peer.source, sources, file, entry, f"{where}.source"))
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


def validate_entry(kind: str, data: Any, sources: Mapping[str, Source], file: str, entry: str):
    """Validate one raw entry; return (spec, values, errors)."""
    spec_cls = ENTRY_SPECS[kind]
    if not isinstance(data, dict):
        return None, {}, [RegistryError(f"an entry must be a mapping of fields "
                                        f"({_allowed(spec_cls)})", file=file, entry=entry)]
    try:
        spec = spec_cls.model_validate(data)
    except ValidationError as exc:
        return None, {}, convert_errors(exc, spec_cls, file, entry)
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
    label = entry_label(data, 0)
    spec, values, errors = validate_entry(kind, dict(data), sources, file, label)
    if errors:
        raise errors[0] if len(errors) == 1 else RegistryLoadError(errors)
    if resolve is None and kind in REFERENCE_FIELDS:
        from . import get_registry
        resolve = get_registry().get
    refs, ref_errors = resolve_references(kind, spec, resolve, file, label)
    if ref_errors:
        raise ref_errors[0]
    return OBJECT_CLASSES[kind](spec, values, sources, file, **refs)


def resolve_references(kind, spec, resolve, file, entry):
    refs, errors = {}, []
    for field, ref_kind, _required in REFERENCE_FIELDS.get(kind, ()):
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


def validate_source(sid: str, record: Any, file: str):
    """One source record (``id: record``): ``(Source, [])``, or ``(None, errors)``."""
    if not isinstance(record, dict):
        return None, [RegistryError("a source record must be a mapping (title, publisher or "
                                    "authors, year, url or doi, kind)", file=file,
                                    entry=str(sid))]
    if "id" in record:
        return None, [RegistryError("a source record takes its id from its key; remove 'id'",
                                    file=file, entry=str(sid), field="id")]
    try:
        return Source.model_validate({**record, "id": sid}), []
    except ValidationError as exc:
        return None, convert_errors(exc, Source, file, str(sid))


def plain_fields(x: Any) -> Any:
    """A validated entry as plain data, what the cache keeps (:mod:`.store`): a schema block
    is a mapping of every one of its fields plus ``"__model__"`` (its class name; no field of
    a pydantic model starts with an underscore), a value its quantity string as written."""
    if isinstance(x, RawValue):
        return x.text
    if isinstance(x, BaseModel):
        return {"__model__": type(x).__name__,
                **{k: plain_fields(getattr(x, k)) for k in type(x).model_fields}}
    if isinstance(x, dict):
        return {k: plain_fields(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain_fields(v) for v in x]
    return x
