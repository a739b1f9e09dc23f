"""Published measurements: reading and checking a measurement file.

The file format is that of the shipped calibration set (``data/measurements.yaml``, described in
``data/README.md``): a YAML list of entries with ``id``, ``category``, ``tier``, ``source``
(``title``, ``where``, ``table``), ``hardware``, ``model``, ``config``, ``measured`` (``metric``,
``value``, ``unit``), ``measured_extra`` and ``notes``. A user's own file needs only ``id``,
``category`` and ``measured``, plus an ``mlsysim`` block that says how to reproduce the number
with this model (see :mod:`mlsysim_sym.calibration.cases`); the shipped set keeps those blocks in
``data/cases.yaml``, keyed by id, so that the published file stays as it was published.

Files are read with ``yaml.safe_load`` only; sizes are capped; every error names the file, the
entry and the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

__all__ = ["Measurement", "MeasurementError", "load_measurements", "shipped_measurements",
           "external_measurements", "CATEGORIES", "DATA_DIR"]

DATA_DIR = Path(__file__).with_name("data")
CATEGORIES = ("training", "inference", "tinyml", "energy", "other")
_MAX_BYTES = 20_000_000


class MeasurementError(ValueError):
    """A measurement file or entry that cannot be used (says which file, entry and field)."""


@dataclass(frozen=True)
class Measurement:
    """One published measurement and how to reproduce it.

    ``value`` is in ``unit`` (the unit as printed in the source); ``spec`` is the ``mlsysim``
    block (a mapping) or None when no reproduction is given.
    """

    id: str
    category: str
    value: float
    unit: str
    metric: str
    source: str = ""
    where: str = ""
    tier: str = ""
    hardware: Mapping[str, Any] = field(default_factory=dict)
    model: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    notes: str = ""
    spec: Mapping[str, Any] | None = None
    file: str = ""

    @property
    def source_key(self) -> str:
        """The publication the number comes from (the unit left out in cross-validation)."""
        return self.source or self.where or self.id


def _fail(file, entry, fld, msg):
    where = f"{file}: entry {entry!r}" if entry is not None else str(file)
    raise MeasurementError(f"{where}, field {fld!r}: {msg}")


def _entry(raw, file, index, specs) -> Measurement:
    if not isinstance(raw, dict):
        _fail(file, f"#{index}", "-", f"an entry must be a mapping, got {type(raw).__name__}")
    ident = raw.get("id")
    if not isinstance(ident, str) or not ident or len(ident) > 200:
        _fail(file, f"#{index}", "id", "required: a non-empty string of at most 200 characters")
    cat = raw.get("category")
    if cat not in CATEGORIES:
        _fail(file, ident, "category", f"got {cat!r}; allowed: {', '.join(CATEGORIES)}")
    meas = raw.get("measured")
    if not isinstance(meas, dict):
        _fail(file, ident, "measured", "required: a mapping with metric, value and unit")
    value = meas.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        _fail(file, ident, "measured.value", f"must be a positive finite number, got {value!r}")
    unit = meas.get("unit")
    if not isinstance(unit, str) or len(unit) > 200:
        _fail(file, ident, "measured.unit", f"must be a string, got {unit!r}")
    metric = meas.get("metric", "")
    if not isinstance(metric, str):
        _fail(file, ident, "measured.metric", f"must be a string, got {metric!r}")
    src = raw.get("source") or {}
    if not isinstance(src, dict):
        _fail(file, ident, "source", "must be a mapping (title, where, table)")
    spec = raw.get("mlsysim", specs.get(ident))
    if spec is not None and not isinstance(spec, dict):
        _fail(file, ident, "mlsysim", "must be a mapping (see mlsysim_sym.calibration.cases)")
    sections = {}
    for key in ("hardware", "model", "config"):
        sec = raw.get(key) or {}
        if not isinstance(sec, dict):
            _fail(file, ident, key, "must be a mapping")
        sections[key] = sec
    return Measurement(id=ident, category=cat, value=float(value), unit=unit, metric=metric,
                       source=str(src.get("title", "")), where=str(src.get("where", "")),
                       tier=str(raw.get("tier", "")), notes=str(raw.get("notes", "") or ""),
                       spec=spec, file=str(file), **sections)


#: libyaml's safe loader where PyYAML has it (the same documents, 5-10x faster), as the
#: registry and the defaults read theirs
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path):
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MeasurementError(f"{path}: cannot read ({exc.strerror})") from None
    if size > _MAX_BYTES:
        raise MeasurementError(f"{path}: {size} bytes is larger than the {_MAX_BYTES} allowed")
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise MeasurementError(f"{path}: not valid YAML (only plain YAML is read, no tags): "
                               f"{exc}") from None


def load_measurements(source, *, specs: Mapping[str, Mapping] | None = None) -> list[Measurement]:
    """Measurements from a YAML file (path) or from a list of entries (mappings).

    Parameters
    ----------
    source : str, Path, or list of dict
        A measurement file in the format of the shipped calibration set, or its entries.
    specs : mapping, optional
        ``id -> mlsysim block`` for entries that do not carry their own.

    Raises
    ------
    MeasurementError
        Naming the file, the entry and the field that is wrong.
    """
    specs = dict(specs or {})
    if isinstance(source, (str, Path)):
        path = Path(source)
        raw, file = _read_yaml(path), path
    elif isinstance(source, Iterable) and not isinstance(source, (bytes, dict)):
        raw, file = list(source), "<list>"
    else:
        raise MeasurementError(f"measurements must be a file path or a list of entries, got "
                               f"{type(source).__name__}")
    if isinstance(raw, dict) and "measurements" in raw:
        raw = raw["measurements"]
    if not isinstance(raw, list):
        raise MeasurementError(f"{file}: expected a list of measurement entries")
    out, seen = [], set()
    for i, item in enumerate(raw):
        if isinstance(item, Measurement):
            m = item
        else:
            m = _entry(item, file, i, specs)
        if m.id in seen:
            _fail(file, m.id, "id", "appears twice; ids must be unique")
        seen.add(m.id)
        out.append(m)
    return out


SHIPPED_FILES = ("measurements.yaml", "measurements_more.yaml")


def _shipped_specs() -> dict:
    """``id -> mlsysim block`` from ``data/cases.yaml`` and every ``data/cases_more/*.yaml``
    (one file per group of sources, so that each group's reproductions stay together)."""
    specs = dict(_read_yaml(DATA_DIR / "cases.yaml") or {})
    for path in sorted((DATA_DIR / "cases_more").glob("*.yaml")):
        for key, spec in (_read_yaml(path) or {}).items():
            if key in specs:
                raise MeasurementError(f"{path}: {key!r} already has a reproduction in another "
                                       f"cases file; each id has one")
            specs[key] = spec
    return specs


def shipped_measurements() -> list[Measurement]:
    """The published measurements shipped with the package (``data/measurements.yaml``, 145,
    and its extension ``data/measurements_more.yaml``, 134), with their reproductions."""
    specs = _shipped_specs()
    out: list[Measurement] = []
    for name in SHIPPED_FILES:
        out.extend(load_measurements(DATA_DIR / name, specs=specs))
    if len({m.id for m in out}) != len(out):
        raise MeasurementError("the shipped measurement files repeat an id")
    return out


def external_measurements() -> list[Measurement]:
    """Published measurements outside the calibration set (``data/external.yaml``): no fit, no
    default and no fold ever sees them; the harness predicts them with the shipped defaults."""
    return load_measurements(DATA_DIR / "external.yaml")
