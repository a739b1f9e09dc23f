"""Default values of the empirical symbols (efficiencies, overheads), each with provenance.

Values live in ``defaults.yaml`` (read once, with PyYAML's safe loader), never as constants in code.
An entry may hold ``variants`` (``name[variant]``: for example one MAC efficiency per
microcontroller software stack); a variant without an entry of its own falls back to the base
value. Fitted entries record how they were fitted (``fit``: data, method, residual) and their
spread (``spread``: standard deviation of the natural log, for uncertainty bands).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from .symbols import info
from .vocabulary import NATIVE_16BIT
from .units import parse_quantity

__all__ = ["default", "defaults", "provenance", "spread", "variants", "parent", "variant_name"]

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


#: efficiencies that differ between training frameworks and serving engines
REGIME = ("compute_efficiency", "memory_efficiency", "communication_efficiency")


#: attention kernels with a variant of their own under the generation (None: the fused,
#: FlashAttention-class kernel the generation's value describes)
ATTENTION_KERNELS = ("eager", "fa2")


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
    parts = [regime] if regime and symbol in REGIME else []
    arch = getattr(hardware, "architecture", None)
    if symbol in GENERATION and arch:
        parts.append(arch)
        if symbol == "compute_efficiency" and precision and precision not in _NATIVE:
            parts.append(precision)
    if symbol == "attention_efficiency" and attention_kernel:
        if attention_kernel not in ATTENTION_KERNELS:
            raise ValueError(f"unknown attention kernel {attention_kernel!r}; allowed: "
                             f"{', '.join(ATTENTION_KERNELS)} (or None: the fused default)")
        parts.append(attention_kernel)
    return f"{symbol}[{'-'.join(parts)}]" if parts else symbol


#: libyaml's parser when present (the same safe loader, several times faster), else PyYAML's
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=1)
def _table() -> dict:
    with open(Path(__file__).with_name("defaults.yaml"), encoding="utf-8") as fh:
        raw = yaml.load(fh, Loader=_SAFE_LOADER)
    out = {}
    for name, row in raw.items():
        unit = info(name).unit
        meta = {k: v for k, v in row.items() if k not in ("value", "variants")}
        out[name] = (parse_quantity(row["value"], unit), meta)
        for var, vrow in (row.get("variants") or {}).items():
            vmeta = {k: v for k, v in vrow.items() if k != "value"}
            out[f"{name}[{var}]"] = (parse_quantity(vrow["value"], unit), vmeta)
    return out


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
