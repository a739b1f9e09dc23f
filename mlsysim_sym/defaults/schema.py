"""The schema of ``defaults.yaml``: the fields an entry may have, checked when it is read.

The file as parsed (plain data: text, numbers, dates, lists and mappings) is kept in the
on-disk cache (:mod:`mlsysim_sym.cache`), keyed by a hash of its bytes, so that a later process
reads it as JSON without importing PyYAML or parsing the YAML (about 30 ms); the table is
validated from it the same way either way.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path

from .. import cache
from ..symbols import info
from ..units import parse_quantity
from .keys import split_name

__all__ = ["load_file", "load_table", "check_row"]


#: the fields an entry (or a variant) of defaults.yaml may have
_FIELDS = {"value", "basis", "source", "locator", "note", "fit", "spread", "retrieved"}
_BASES = {"fitted", "assumption", "vendor_spec", "paper", "measured", "derived"}
_FIT_FIELDS = {"method", "measurements", "rms_log_error", "ci95"}


def check_row(where: str, row, variant: bool) -> None:
    """The schema of one entry of defaults.yaml; a clear error naming the entry otherwise."""
    if not isinstance(row, dict):
        raise ValueError(f"defaults.yaml: {where} must be a mapping, got {type(row).__name__}")
    allowed = _FIELDS if variant else _FIELDS | {"variants"}
    extra = set(row) - allowed
    if extra:
        raise ValueError(f"defaults.yaml: {where} has unknown field(s) {sorted(extra)}; "
                         f"allowed: {sorted(allowed)}")
    for need in ("value", "basis", "source"):
        if need not in row:
            raise ValueError(f"defaults.yaml: {where} has no {need!r}")
    if not isinstance(row["value"], str):
        raise ValueError(f"defaults.yaml: {where}: value must be a quoted quantity string")
    if row["basis"] not in _BASES:
        raise ValueError(f"defaults.yaml: {where}: basis {row['basis']!r} is not one of "
                         f"{sorted(_BASES)}")
    fit = row.get("fit")
    if fit is not None and (not isinstance(fit, dict) or set(fit) - _FIT_FIELDS):
        raise ValueError(f"defaults.yaml: {where}: fit must be a mapping of {sorted(_FIT_FIELDS)}")
    if "spread" in row and not isinstance(row["spread"], (int, float)):
        raise ValueError(f"defaults.yaml: {where}: spread must be a number (sd of ln value)")


#: parameters the physics no longer has, skipped when a defaults file still lists them (the next
#: refit of ``defaults.yaml`` drops them): name -> why
RETIRED = {
    "elementwise_traffic_factor": "issue 17: the memory-bound kernels' time comes from their "
                                  "bytes (equations/memory_kernels.py), not a fitted factor",
}


def load_table(raw) -> dict:
    if not isinstance(raw, dict) or not raw:
        raise ValueError("defaults.yaml must be a non-empty mapping of symbol name -> entry")
    out = {}
    for name, row in raw.items():
        if name in RETIRED:
            continue
        check_row(name, row, variant=False)
        unit = info(name).unit                   # an unknown symbol name is a KeyError here
        meta = {k: v for k, v in row.items() if k not in ("value", "variants")}
        out[name] = (parse_quantity(row["value"], unit), meta)
        variants_ = row.get("variants") or {}
        if not isinstance(variants_, dict):
            raise ValueError(f"defaults.yaml: {name}.variants must be a mapping")
        for var, vrow in variants_.items():
            full = f"{name}[{var}]"
            split_name(full)                          # the variant is a well-formed name
            check_row(full, vrow, variant=True)
            vmeta = {k: v for k, v in vrow.items() if k != "value"}
            out[full] = (parse_quantity(vrow["value"], unit), vmeta)
    return out




def load_file(path) -> dict:
    """``{name or name[variant]: (quantity, provenance)}`` of a defaults file, validated (the
    file as parsed from the disk cache when it holds it for these bytes)."""
    with open(path, "rb") as fh:
        data = fh.read()
    identity = f"defaults:{Path(path).resolve()}"     # one entry per file, keyed by its bytes
    key = cache.fingerprint(f"{identity}\0{hashlib.sha256(data).hexdigest()}",
                            patterns=("defaults/schema.py",),
                            files=cache.installed_file("yaml", "__init__.py"))
    stored = cache.read("defaults", identity, key)
    raw = _decoded(stored) if isinstance(stored, str) else None
    if raw is None:
        raw = _parse_yaml(data)
        text = _encoded(raw)
        if text is not None:
            cache.write("defaults", identity, key, text)
    return load_table(raw)


def _parse_yaml(data: bytes):
    """The YAML ``data`` as plain data (a safe loader: libyaml's when present, several times
    faster, else PyYAML's)."""
    import yaml
    return yaml.load(data.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


_DATE, _DATETIME = "\0date", "\0datetime"


def _encoded(raw):
    """``raw`` (a parsed YAML document) as JSON text that :func:`_decoded` turns back into an
    equal document, or None when it holds something else (then it is not cached)."""
    def tag(x):
        if isinstance(x, _dt.datetime):
            return {_DATETIME: x.isoformat()}
        if isinstance(x, _dt.date):
            return {_DATE: x.isoformat()}
        raise TypeError(type(x).__name__)
    try:
        text = json.dumps(raw, default=tag, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return text if _decoded(text) == raw else None


def _decoded(text):
    """The document :func:`_encoded` wrote as ``text`` (None when it is not such text)."""
    def untag(d):
        if len(d) == 1 and _DATE in d:
            return _dt.date.fromisoformat(d[_DATE])
        if len(d) == 1 and _DATETIME in d:
            return _dt.datetime.fromisoformat(d[_DATETIME])
        return d
    try:
        return json.loads(text, object_hook=untag)
    except (ValueError, TypeError):
        return None
