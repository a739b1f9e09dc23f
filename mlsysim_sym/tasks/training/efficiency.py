"""The calibrated efficiencies of a training step, resolved in one place.

An efficiency the user gives (a number, an array, or a dict of named fractions and times) is
checked here; one left out comes from :mod:`mlsysim_sym.defaults` by the structured
:class:`~mlsysim_sym.defaults.VariantKey` (chip generation, precision, attention kernel), the
key the calibration fitted; a link whose fabric publishes its collective bus bandwidth (NCCL
on NVLink / NVSwitch) uses that figure instead. :func:`training_defaults` says which entry
each default came from.
"""

from __future__ import annotations

from functools import lru_cache

from ... import checks, registry
from ...defaults import VariantKey, default, resolve
from ...vocabulary import MIXED_PRECISIONS, NATIVE_16BIT
from .._core.knobs import fraction
from .machine import node_for_chip

__all__ = ["EFFICIENCY_KEYS", "attention_variant", "efficiency_default", "default_name",
           "default_efficiencies", "efficiencies", "given_keys", "OVERLAP_KEYS", "overlaps",
           "calibrated_overlap", "published_link_efficiencies", "attention_peak", "head_peak", "training_defaults"]

#: efficiency keys a user may set: short name -> (symbol, allowed range, unit or None)
EFFICIENCY_KEYS = {
    "compute": ("compute_efficiency", (0.0, 1.0), None),
    "memory": ("memory_efficiency", (0.0, 1.0), None),
    "communication": ("communication_efficiency", (0.0, 1.0), None),
    "scale_out": ("scale_out_efficiency", (0.0, 1.0), None),
    "attention": ("attention_efficiency", (0.0, 1.0), None),
    "step_overhead": ("training_step_overhead", (0.0, 1e6), "ms"),
    "layer_overhead": ("layer_pass_overhead", (0.0, 1e5), "us"),
}
_BY_SYMBOL = {sym: key for key, (sym, _r, _u) in EFFICIENCY_KEYS.items()}
#: attention kernels a user may name (None: the generation's fused kernel)
_KERNELS = ("fused", "fa2", "eager")


def attention_variant(flash_attention=True, attention_kernel=None):
    """The attention-efficiency variant of a training configuration: ``"eager"`` (unfused),
    ``"fa2"`` (FlashAttention-2) or None (the generation's fused kernel); a clear error for
    an unknown or contradictory choice."""
    if attention_kernel is not None and attention_kernel not in _KERNELS:
        raise ValueError(f"attention_kernel must be 'fused', 'fa2' or 'eager', got "
                         f"{attention_kernel!r}")
    if attention_kernel == "eager":
        return "eager"
    if not flash_attention:
        if attention_kernel is not None:
            raise ValueError(f"attention_kernel={attention_kernel!r} is a FlashAttention-class "
                             "kernel: it contradicts flash_attention=False")
        return "eager"
    return "fa2" if attention_kernel == "fa2" else None


def _key(hardware=None, precision=None, kernel=None) -> VariantKey:
    """The training key of a chip (None: a training framework, not a serving engine)."""
    return VariantKey.for_chip(hardware, precision, kernel=kernel)


def default_name(symbol: str, hardware=None, precision=None, attention_kernel=None) -> str:
    """The most specific default entry name of an efficiency symbol for a chip, precision and
    attention kernel (``compute_efficiency[hopper-fp8]``)."""
    return _key(hardware, precision, attention_kernel).name(symbol)


def efficiency_default(symbol: str, hardware=None, precision=None, attention_kernel=None):
    """Default of an efficiency symbol for a chip, precision and attention kernel (the most
    specific variant recorded)."""
    return default(default_name(symbol, hardware, precision, attention_kernel))


def default_efficiencies(hardware=None, precision=None, kernel=None) -> dict:
    """{symbol: base magnitude} of every efficiency default for a chip's generation and
    precision (and attention kernel: ``eager`` when the attention core is not fused, ``fa2``)."""
    return dict(_defaults_by(getattr(hardware, "architecture", None), precision, kernel))


@lru_cache(maxsize=64)
def _defaults_by(arch, precision, kernel) -> tuple:
    key = VariantKey(generation=arch, precision=precision, kernel=kernel)
    return tuple((sym, checks.magnitude(sym, default(key.name(sym))))
                 for sym, _r, _u in EFFICIENCY_KEYS.values())


def given_keys(efficiency) -> set:
    """The efficiency keys (short names) ``efficiency`` sets."""
    if isinstance(efficiency, dict):
        return {_BY_SYMBOL.get(k, k) for k in efficiency}
    return set() if efficiency is None else {"compute"}


def efficiencies(efficiency, overlap, hardware=None, precision=None, kernel=None) -> dict:
    """Base magnitudes of the efficiency inputs: defaults, overridden by ``efficiency``."""
    values = default_efficiencies(hardware, precision, kernel)
    if isinstance(efficiency, dict):
        unknown = [k for k in efficiency if k not in EFFICIENCY_KEYS and k not in _BY_SYMBOL]
        if unknown:
            raise ValueError(f"unknown efficiency keys {sorted(unknown)}; allowed: "
                             f"{', '.join(EFFICIENCY_KEYS)}")
        for key, v in efficiency.items():
            key = _BY_SYMBOL.get(key, key)
            sym, (lo, hi), unit = EFFICIENCY_KEYS[key]
            open_low = unit is None
            if unit is not None:
                values[sym] = checks.quantity(f"{key} efficiency", v, unit, low=lo, high=hi,
                                              low_open=open_low)
            else:
                values[sym] = checks.number(f"{key} efficiency", v, low=lo, high=hi,
                                            low_open=open_low)
    elif efficiency is not None:
        values["compute_efficiency"] = checks.fraction("compute efficiency", efficiency)
    values["dp_overlap"] = fraction("overlap", overlap)
    return values


#: the model-parallel traffic classes: train()'s keyword -> the overlap symbol it sets (CP has
#: no fraction of its own: its ring exchange hides behind the blockwise attention, cp_comm_time)
OVERLAP_KEYS = {"tp_overlap": "tensor_parallel_overlap",
                "pp_overlap": "pipeline_parallel_overlap",
                "ep_overlap": "expert_parallel_overlap"}


def overlaps(model_parallel=None, tp=None, pp=None, ep=None) -> tuple:
    """``({overlap symbol: fraction}, symbols left to their default)`` of the TP, PP and EP
    traffic. A class's own value wins, then ``model_parallel`` (every class at once), then the
    class's calibrated default: the value the fit used (calibration/cases.py reads the same)."""
    every = None if model_parallel is None else fraction("model_parallel_overlap",
                                                         model_parallel)
    values, defaulted = {}, []
    for key, given in (("tp_overlap", tp), ("pp_overlap", pp), ("ep_overlap", ep)):
        symbol = OVERLAP_KEYS[key]
        if given is not None:
            values[symbol] = fraction(key, given)
        elif every is not None:
            values[symbol] = every
        else:
            values[symbol] = calibrated_overlap(symbol)
            defaulted.append(symbol)
    return values, tuple(defaulted)


@lru_cache(maxsize=8)
def calibrated_overlap(symbol: str) -> float:
    """The calibrated default of one overlap symbol (``defaults.yaml``; a class fitted on its
    own only since issue 17 resolves to ``model_parallel_overlap`` until the refit)."""
    return float(default(symbol).to("").magnitude)


def published_link_efficiencies(hw, node=None, up=None, out=None) -> dict:
    """{efficiency key: value} of the links whose fabric publishes a large-message collective
    bus-bandwidth fraction (registry ``collective_efficiency``, e.g. NCCL on NVLink 4 /
    NVSwitch): ``communication`` for the scale-up fabric, ``scale_out`` for the NIC fabric.
    Those links use the published value instead of the calibrated fallback."""
    if node is None and up is None and out is None:
        node = node_for_chip(hw)
    if node is not None:
        up = up if up is not None else node.scale_up_fabric
        out = out if out is not None else node.scale_out_fabric
    found = {}
    for key, fab in (("communication", up), ("scale_out", out)):
        eff = getattr(fab, "collective_efficiency", None) if fab is not None else None
        if eff is not None:
            found[key] = float(eff.to("").magnitude)
    return found


def attention_peak(hw, precision):
    """Peak of the precision the attention core runs in: 16-bit when the GEMMs run narrower."""
    if precision in MIXED_PRECISIONS and precision not in NATIVE_16BIT:
        for p16 in NATIVE_16BIT:
            try:
                return hw.peak_flops(p16)
            except registry.PrecisionError:
                continue
    return hw.peak_flops(precision)


def head_peak(hw, precision):
    """Peak of the precision the output layer (LM head) GEMMs run in: 16-bit when the GEMMs run
    narrower. The FP8 training recipes leave the output layer out: Megatron-Core's output_layer
    is a ColumnParallelLinear outside Transformer Engine's FP8 modules (Megatron-LM
    megatron/core/models/gpt/gpt_model.py), torchtitan converts every nn.Linear but ``output``
    to Float8Linear (torchtitan/float8.py, ``fqn != "output"``), and a tied head (MPT in LLM
    Foundry) is a plain F.linear on the 16-bit embedding."""
    return attention_peak(hw, precision)


def training_defaults(hardware, precision, kernel=None, given=(), published=(),
                      others=()) -> dict:
    """``{symbol: defaults.Resolved}``: the calibrated default entry each efficiency a step
    used came from, for the keys neither ``given`` by the user nor ``published`` by a fabric,
    plus ``others`` (symbols with a single default, e.g. ``tensor_parallel_overlap``)."""
    key = _key(hardware, precision, kernel)
    skip = set(given) | set(published)
    out = {sym: resolve(sym, key) for k, (sym, _r, _u) in EFFICIENCY_KEYS.items()
           if k not in skip}
    out.update({sym: resolve(sym) for sym in others})
    return out
