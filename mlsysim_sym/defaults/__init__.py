"""Default values of the empirical symbols (efficiencies, overheads), each with provenance.

Values live in ``defaults/defaults.yaml`` (read once, with PyYAML's safe loader: libyaml's when
present; later processes read the parsed file from the on-disk cache), never as constants in
code, and are validated when read (:mod:`.schema`). An entry may hold ``variants`` (``name[variant]``: for example one MAC efficiency per microcontroller
software stack, one compute efficiency per chip generation and precision); a variant without an
entry of its own falls back to its parent. What a default varies by is a structured key,
:class:`~.keys.VariantKey` (regime, generation, precision, kernel, stack), and
:func:`resolve` returns the value *and* the entry it came from with its provenance
(:class:`~.keys.Resolved`). Fitted entries record how they were fitted (``fit``: data,
method, residual) and their spread (``spread``: standard deviation of the natural log, for
uncertainty bands).

- :mod:`.keys`: the key, the variant chain (``parent``), the stacks;
- :mod:`.schema`: the fields an entry may have, checked on load;
- this module: the table and its lookups (``default``, ``resolve``, ``provenance``, ...).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional

from .schema import load_file
from .keys import (ATTENTION_KERNELS, GENERATION, REGIME, STACK_SYMBOLS, SUCCEEDS, Resolved,
                   VariantKey, parent, split_name)

__all__ = ["default", "defaults", "provenance", "spread", "variants", "parent", "variant_name",
           "VariantKey", "Resolved", "resolve", "stacks", "check_stack", "GENERATION", "REGIME",
           "ATTENTION_KERNELS", "STACK_SYMBOLS", "PATH"]

#: the shipped defaults file
PATH = Path(__file__).with_name("defaults.yaml")


def stacks(symbol: str = "fixed_overhead") -> list:
    """The software stacks known for ``symbol``: those with a value of their own, and the named
    LLM serving engines for ``fixed_overhead`` (:data:`~mlsysim_sym.vocabulary.SERVING_ENGINES`),
    forward-pass frameworks for ``pass_overhead``
    (:data:`~mlsysim_sym.vocabulary.PASS_STACKS`) or microcontroller engines for
    ``tinyml_mac_efficiency`` (:data:`~mlsysim_sym.vocabulary.MCU_STACKS`), which resolve up
    their variant chain until calibration data give them their own."""
    from ..vocabulary import MCU_STACKS, PASS_STACKS, SERVING_ENGINES
    own = set(variants(symbol))
    if symbol == "tinyml_mac_efficiency":
        return sorted(own | set(MCU_STACKS))
    if symbol == "fixed_overhead":
        # a forward-pass framework is not an LLM engine (``fixed_overhead[tensorrt]`` /
        # ``[mxnet]`` entries from before ``pass_overhead`` are not LLM stacks either)
        return sorted((own - set(PASS_STACKS)) | set(SERVING_ENGINES))
    if symbol == "pass_overhead":
        return sorted(own | set(PASS_STACKS))
    return sorted(own)


def check_stack(stack, symbol: str = "fixed_overhead"):
    """``stack`` if it is known for ``symbol`` (:func:`stacks`), else a ValueError listing the
    known stacks.

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
        look = _up(look)
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


@lru_cache(maxsize=1)
def _table() -> dict:
    return load_file(PATH)


def _up(name: str):
    """The next entry to try: the parent up the variant chain, and past the base of a symbol
    new since the last refit, the symbol it succeeds (:data:`~.keys.SUCCEEDS`)."""
    up = parent(name)
    if up is None:
        return SUCCEEDS.get(name)
    return up


def _row(name: str):
    table = _table()
    look = name
    while look is not None:
        if look in table:
            return table[look]
        look = _up(look)
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
