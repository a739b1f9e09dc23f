"""Default values of the empirical symbols (efficiencies, overheads), each with provenance.

Values live in ``defaults.yaml`` (read once, with PyYAML's safe loader), never as constants in code.
An entry may hold ``variants`` (``name[variant]``: for example one MAC efficiency per
microcontroller software stack); a variant without an entry of its own falls back to the base
value. Fitted entries record how they were fitted (``fit``: data, method, residual) and their
spread (``spread``: standard deviation of the natural log, for uncertainty bands).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import yaml

from .symbols import info
from .vocabulary import NATIVE_16BIT
from .units import parse_quantity

__all__ = ["default", "defaults", "provenance", "spread", "variants", "parent", "variant_name",
           "VariantKey", "Resolved", "resolve", "stacks", "check_stack"]

_NAME = re.compile(r"^([a-z_][a-z0-9_]*)(?:\[([a-z0-9][a-z0-9._+_-]*)\])?$")
#: precisions a chip's GEMMs run at their "native" 16-bit efficiency; others get their own
#: variant under the generation (``compute_efficiency[hopper-fp8]``)
_NATIVE = NATIVE_16BIT
#: efficiencies that differ per hardware generation (and, for GEMMs, per precision)
GENERATION = ("compute_efficiency", "attention_efficiency")


def parent(name: str):
    """The next value up a variant chain: ``x[hopper-fp8]`` -> ``x[hopper]`` -> ``x`` -> None."""
    base, var = _split(name)
    if var is None:
        return None
    if "-" in var:
        return f"{base}[{var.rsplit('-', 1)[0]}]"
    return base


#: efficiencies that differ between training frameworks and serving engines (and the start-up
#: latency of a scale-up collective: training frameworks run NCCL on large messages, serving
#: engines their own small-message all-reduce kernels)
REGIME = ("compute_efficiency", "memory_efficiency", "communication_efficiency",
          "scale_up_latency")


#: attention kernels with a variant of their own under the generation (None: the fused,
#: FlashAttention-class kernel the generation's value describes)
ATTENTION_KERNELS = ("eager", "fa2")


@dataclass(frozen=True)
class VariantKey:
    """What a default can vary by, as fields rather than a hand-built string.

    ``regime`` ("serve" for a serving engine; None for a training framework), ``generation``
    (the chip's architecture, e.g. "hopper"), ``precision``, ``kernel`` (attention kernel:
    "eager", "fa2" or None for the fused default) and ``stack`` (a software stack with values of
    its own: serving engines for ``fixed_overhead``, MCU stacks for ``tinyml_mac_efficiency``).
    :meth:`name` renders the most specific entry name of a symbol; :func:`resolve` finds the
    entry that exists and says which.
    """

    regime: Optional[str] = None
    generation: Optional[str] = None
    precision: Optional[str] = None
    kernel: Optional[str] = None
    stack: Optional[str] = None

    @classmethod
    def for_chip(cls, hardware=None, precision=None, regime=None, kernel=None, stack=None):
        return cls(regime, getattr(hardware, "architecture", None), precision, kernel, stack)

    def name(self, symbol: str) -> str:
        """The most specific entry name of ``symbol`` under this key (``x[serve-hopper-fp8]``);
        a stack replaces the hierarchy for the symbols that vary by stack (``x[vllm]``)."""
        if self.stack is not None and symbol in STACK_SYMBOLS:
            return f"{symbol}[{check_stack(self.stack, symbol)}]"
        parts = [self.regime] if self.regime and symbol in REGIME else []
        if symbol in GENERATION and self.generation:
            parts.append(self.generation)
            if symbol == "compute_efficiency" and self.precision and \
                    self.precision not in _NATIVE:
                parts.append(self.precision)
        if symbol == "attention_efficiency" and self.kernel:
            if self.kernel not in ATTENTION_KERNELS:
                raise ValueError(f"unknown attention kernel {self.kernel!r}; allowed: "
                                 f"{', '.join(ATTENTION_KERNELS)} (or None: the fused default)")
            parts.append(self.kernel)
        return f"{symbol}[{'-'.join(parts)}]" if parts else symbol


@dataclass(frozen=True)
class Resolved:
    """A default and where it came from: ``requested`` is the most specific name asked for,
    ``variant`` the entry that holds the value (the same, or a parent up the chain),
    ``provenance`` its record (source, basis, fit)."""

    requested: str
    variant: str
    value: Any
    provenance: dict

    @property
    def fitted(self) -> bool:
        return "fit" in self.provenance

    def describe(self) -> str:
        """One line: ``compute_efficiency[serve-hopper] = 0.62 (fitted: 133 measurements ...)``."""
        p = self.provenance
        how = p.get("basis", "?")
        fit = p.get("fit") or {}
        if fit:
            how += f" on {fit.get('measurements', '?')} measurements"
        src = p.get("source")
        via = "" if self.variant == self.requested else f" (no {self.requested}: its parent)"
        return (f"{self.variant} = {self.value:~P}{via}; {how}"
                + (f"; {src}" if src else ""))


#: symbols whose values vary by software stack (a stack's own entry, ``symbol[stack]``)
STACK_SYMBOLS = ("fixed_overhead", "tinyml_mac_efficiency")


def stacks(symbol: str = "fixed_overhead") -> list:
    """The software stacks with a value of their own for ``symbol``."""
    return variants(symbol)


def check_stack(stack, symbol: str = "fixed_overhead"):
    """``stack`` if ``symbol`` has a value for it, else a ValueError listing the known stacks.

    A stack is a name, not a path in the variant hierarchy: ``"tensorrt-llm"`` is not
    ``"tensorrt"`` (which the hyphen would otherwise fall back to)."""
    if stack is None:
        return None
    known = stacks(symbol)
    if not isinstance(stack, str) or stack not in known:
        import difflib
        close = difflib.get_close_matches(str(stack).lower(), known, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"unknown stack {stack!r} for {symbol}{hint}; known stacks: "
                         f"{', '.join(known)} (or None: the pooled default)")
    return stack


def resolve(symbol: str, key: Optional[VariantKey] = None) -> Resolved:
    """The default of ``symbol`` under ``key`` (the most specific entry that exists) and which
    entry that was, with its provenance."""
    requested = (key or VariantKey()).name(symbol)
    table = _table()
    look = requested
    while look is not None:
        if look in table:
            value, meta = table[look]
            return Resolved(requested, look, value, dict(meta))
        look = parent(look)
    raise KeyError(f"no default for {requested!r}; defaults exist for "
                   f"{', '.join(k for k in table if '[' not in k)}")


def variant_name(symbol: str, hardware=None, precision=None, regime=None,
                 attention_kernel=None) -> str:
    """The most specific default name of ``symbol`` for a chip, precision and regime.

    ``compute_efficiency`` on a Hopper chip at fp8 is ``compute_efficiency[hopper-fp8]`` in
    training (falling back to ``[hopper]``, then to the base) and
    ``compute_efficiency[serve-hopper-fp8]`` in a serving engine (``[serve-hopper]``,
    ``[serve]``, base); attention varies by generation and, under it, by kernel: the fused
    kernel of the generation's current stacks (cuDNN / Transformer Engine, FlashAttention) is
    the generation's value; unfused ("eager") batched GEMMs plus softmax are
    ``attention_efficiency[ampere-eager]``, FlashAttention-2 (published utilization)
    ``attention_efficiency[hopper-fa2]``.
    """
    return VariantKey.for_chip(hardware, precision, regime, attention_kernel).name(symbol)


#: libyaml's parser when present (the same safe loader, several times faster), else PyYAML's
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


#: the fields an entry (or a variant) of defaults.yaml may have
_FIELDS = {"value", "basis", "source", "locator", "note", "fit", "spread", "retrieved"}
_BASES = {"fitted", "assumption", "vendor_spec", "paper", "measured", "derived"}
_FIT_FIELDS = {"method", "measurements", "rms_log_error", "ci95"}


def _check_row(where: str, row, variant: bool) -> None:
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


def _load(raw) -> dict:
    if not isinstance(raw, dict) or not raw:
        raise ValueError("defaults.yaml must be a non-empty mapping of symbol name -> entry")
    out = {}
    for name, row in raw.items():
        _check_row(name, row, variant=False)
        unit = info(name).unit                   # an unknown symbol name is a KeyError here
        meta = {k: v for k, v in row.items() if k not in ("value", "variants")}
        out[name] = (parse_quantity(row["value"], unit), meta)
        variants_ = row.get("variants") or {}
        if not isinstance(variants_, dict):
            raise ValueError(f"defaults.yaml: {name}.variants must be a mapping")
        for var, vrow in variants_.items():
            full = f"{name}[{var}]"
            _split(full)                          # the variant is a well-formed name
            _check_row(full, vrow, variant=True)
            vmeta = {k: v for k, v in vrow.items() if k != "value"}
            out[full] = (parse_quantity(vrow["value"], unit), vmeta)
    return out


@lru_cache(maxsize=1)
def _table() -> dict:
    with open(Path(__file__).with_name("defaults.yaml"), encoding="utf-8") as fh:
        raw = yaml.load(fh, Loader=_SAFE_LOADER)   # a safe loader: plain data only
    return _load(raw)


def _split(name: str):
    m = _NAME.match(name) if isinstance(name, str) and len(name) <= 120 else None
    if m is None:
        raise KeyError(f"{name!r} is not a symbol name (optionally followed by [variant])")
    return m.group(1), m.group(2)


def _row(name: str):
    table = _table()
    look = name
    while look is not None:
        if look in table:
            return table[look]
        look = parent(look)
    raise KeyError(f"no default for {name!r}; defaults exist for "
                   f"{', '.join(k for k in table if '[' not in k)}")


def default(name: str):
    """The default value of empirical symbol ``name`` (or ``name[variant]``) as a quantity."""
    return _row(name)[0]


def defaults() -> dict:
    """Every default (variants included) as a quantity."""
    return {k: v[0] for k, v in _table().items()}


def provenance(name: str) -> dict:
    """Where the default of ``name`` comes from (source, locator, basis, note, fit)."""
    return dict(_row(name)[1])


def spread(name: str) -> float:
    """Standard deviation of ln(value) the default carries (0 when none is recorded)."""
    return float(_row(name)[1].get("spread", 0.0) or 0.0)


def variants(name: str) -> list[str]:
    """The variants recorded for ``name`` (``["plumerai", ...]``)."""
    return [k[len(name) + 1:-1] for k in _table() if k.startswith(name + "[")]
