"""What a default varies by: the structured key, the variant chain and the stacks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from ..vocabulary import NATIVE_16BIT

__all__ = ["VariantKey", "Resolved", "parent", "split_name", "GENERATION", "REGIME",
           "ATTENTION_KERNELS", "STACK_SYMBOLS", "SUCCEEDS"]

_NAME = re.compile(r"^([a-z_][a-z0-9_]*)(?:\[([a-z0-9][a-z0-9._+_-]*)\])?$")
#: precisions a chip's GEMMs run at their "native" 16-bit efficiency; others get their own
#: variant under the generation (``compute_efficiency[hopper-fp8]``)
_NATIVE = NATIVE_16BIT
#: efficiencies that differ per hardware generation (and, for GEMMs, per precision)
GENERATION = ("compute_efficiency", "attention_efficiency")


def parent(name: str):
    """The next value up a variant chain: ``x[hopper-fp8]`` -> ``x[hopper]`` -> ``x`` -> None."""
    base, var = split_name(name)
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
            from . import check_stack   # the known stacks are the table's entries
            from ..vocabulary import COMPILED_PASS_STACKS
            stack = check_stack(self.stack, symbol)
            if symbol == "pass_overhead" and stack in COMPILED_PASS_STACKS:
                return symbol   # a compiled engine's pass is what the base value describes
            return f"{symbol}[{stack}]"
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
STACK_SYMBOLS = ("fixed_overhead", "pass_overhead", "tinyml_mac_efficiency")

#: a calibrated symbol added since the shipped table was last refitted resolves to the symbol it
#: refines until the refit (``scripts/calibrate_defaults.py``) writes its own entry: the
#: per-pass overhead of a CNN / encoder was the LLM per-step overhead before it had its own
SUCCEEDS = {"pass_overhead": "fixed_overhead",
            # the fixed cost per serving all-reduce call was absorbed by the serving latency
            "allreduce_fixed_time": "scale_up_latency",
            # issue 17: one fitted overlap covered TP and PP (and EP by default) before each
            # traffic class had its own
            "tensor_parallel_overlap": "model_parallel_overlap",
            "pipeline_parallel_overlap": "model_parallel_overlap",
            "expert_parallel_overlap": "model_parallel_overlap"}


def split_name(name: str):
    """``(symbol, variant or None)`` of ``name[variant]``; a KeyError for a malformed name."""
    m = _NAME.match(name) if isinstance(name, str) and len(name) <= 120 else None
    if m is None:
        raise KeyError(f"{name!r} is not a symbol name (optionally followed by [variant])")
    return m.group(1), m.group(2)
