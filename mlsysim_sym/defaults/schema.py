"""The schema of ``defaults.yaml``: the fields an entry may have, checked when it is read."""

from __future__ import annotations

import yaml

from ..symbols import info
from ..units import parse_quantity
from .keys import split_name

__all__ = ["load_file", "load_table", "check_row"]

#: libyaml's parser when present (the same safe loader, several times faster), else PyYAML's
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    """``{name or name[variant]: (quantity, provenance)}`` of a defaults file, validated."""
    with open(path, encoding="utf-8") as fh:
        raw = yaml.load(fh, Loader=_SAFE_LOADER)   # a safe loader: plain data only
    return load_table(raw)
