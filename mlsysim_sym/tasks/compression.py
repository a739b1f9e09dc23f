"""``compress()``: a model's weights quantized (and optionally 2:4-sparse), with the accuracy
cost published evaluations report.

A task function: it gathers the inputs and evaluates wall 13 (Fidelity: bits per stored weight
with per-group scales and sparse indices, compression ratio) with wall 4's ``weight_bytes``; the
physics is the walls'. Accuracy is *not* modelled by wall 13 (no law relates bits to loss across
models): the estimate returned is the range of perplexity changes that the wall's cited
evaluations (:data:`mlsysim_sym.equations.fidelity.ACCURACY_DELTAS`: AWQ Table 4, GPTQ
Table 3, Mishra et al. 2021) measured for the same kind of compression, with their sources, or
None where they cover no such setting.

Example::

    import mlsysim_sym as ms
    c = ms.compress("llama-3-70b", bits=4)    # INT4-g128: 4.25 bit/weight, 3.76x smaller
    c.size, c.compression_ratio, c.accuracy["relative_change"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

from .. import checks, registry
from ..units import Q_, quantity_json
from ._core.result import Result

__all__ = ["compress", "CompressionResult"]

_OUTPUTS = ("bytes_per_parameter", "compression_ratio", "weight_bytes")
_SPARSITY = {None: dict(weight_density=1.0, sparsity_index_bits=Q_(0, "bit/param")),
             "2:4": dict(weight_density=0.5, sparsity_index_bits=Q_(2, "bit/param"))}
#: bits of the scale and zero point per group when weights are quantized: an fp16 scale and an
#: fp16 zero point, the INT4-g128 layout of AWQ/GPTQ (wall 13: 4 + 32/128 = 4.25 bit/weight; an
#: upper bound, packed 4-bit zeros give 4.16)
DEFAULT_SCALE_BITS = 32


@lru_cache(maxsize=1)
def _system():
    from ..equations import walls
    from ..system import System
    return System.from_walls(walls.compute, walls.memory, walls.serving, walls.fidelity,
                             name="compression")


@dataclass
class CompressionResult(Result):
    """Weights of a model after compression (pint quantities) and the published accuracy cost.

    Attributes
    ----------
    model : Model
    bits, group_size, scale_bits : float
        Bits per weight code, weights per scale group, bits of scale and zero per group.
    sparsity : str or None
        ``"2:4"`` or None (dense).
    baseline_bits : float
        Bits per weight of the uncompressed reference (16: fp16/bf16 checkpoints).
    bytes_per_parameter : pint.Quantity
        [B/param], wall 13.
    compression_ratio : pint.Quantity
        Reference over compressed weight bytes [dimensionless], wall 13.
    size, baseline_size : pint.Quantity
        Weight bytes compressed and uncompressed [GB] (wall 4: parameters x bytes per parameter).
    accuracy : dict or None
        ``metric``, ``relative_change`` (low, high: fractional change of the metric the cited
        evaluations measured), ``evidence`` (one row per published number, with its source) and
        ``note``; None where the cited evaluations cover no such setting (see ``notes``).
    notes : list of str
    """

    HEADLINE = ("bits", "bytes_per_parameter", "size", "compression_ratio")

    model: object
    bits: float
    group_size: float
    scale_bits: float
    sparsity: Optional[str]
    baseline_bits: float
    bytes_per_parameter: object
    compression_ratio: object
    size: object
    baseline_size: object
    accuracy: Optional[dict] = None
    notes: list = field(default_factory=list)

    def __repr__(self):
        acc = ""
        if self.accuracy and self.accuracy.get("relative_change"):
            lo, hi = self.accuracy["relative_change"]
            acc = f", {self.accuracy['metric']} {100 * lo:+.2g}%..{100 * hi:+.2g}% (published)"
        return (f"CompressionResult({self.model.name}: {self.bits:g}-bit"
                + (f" {self.sparsity}" if self.sparsity else "")
                + f", {self.bytes_per_parameter.to('bit/param'):.4g~P}, "
                f"{self.size:.4g~P} ({float(self.compression_ratio.magnitude):.3g}x smaller){acc})")

    @property
    def system(self):
        """The composed system the compression was evaluated with (walls 1, 2, 4 and 13)."""
        return _system()

    def to_dict(self) -> dict:
        """JSON-ready dict: quantities as ``{"value", "unit"}``, the model by name."""
        d = {"model": self.model.name, "bits": self.bits, "group_size": self.group_size,
             "scale_bits": self.scale_bits, "sparsity": self.sparsity,
             "baseline_bits": self.baseline_bits}
        for k in ("bytes_per_parameter", "compression_ratio", "size", "baseline_size"):
            d[k] = quantity_json(getattr(self, k))
        d["accuracy"] = self.accuracy
        d["notes"] = list(self.notes)
        return d


def _relative(rows, base_key, comp_key):
    return [(b, c, (c - b) / b) for b, c in zip(rows[base_key], rows[comp_key])]


def accuracy_evidence(bits: float, sparsity: Optional[str], group_size: float,
                      baseline_bits: float) -> tuple:
    """(estimate dict or None, notes) from the wall's cited evaluations for this setting."""
    from ..equations.fidelity import ACCURACY_DELTAS
    notes = []
    if bits >= baseline_bits and sparsity is None:
        return ({"metric": "none (no compression)", "relative_change": (0.0, 0.0),
                 "evidence": [], "note": "weights stored at the reference precision"}, notes)
    if sparsity == "2:4" and bits >= baseline_bits:
        entry = ACCURACY_DELTAS["sparse_2to4"]
        return ({"metric": entry["metric"], "relative_change": None,
                 "evidence": [{"source": entry["source"], "summary": entry["summary"]}],
                 "note": "published evidence, not a prediction: holds with the paper's "
                         "sparse fine-tuning recipe"}, notes)
    if sparsity is not None:
        notes.append("no cited evaluation combines 2:4 sparsity with quantization: no accuracy "
                     "estimate")
        return None, notes
    evidence = []
    if bits == 4:
        awq = ACCURACY_DELTAS["awq_int4_g128_llama2"]
        for name, (b, c, rel) in zip(awq["models"], _relative(awq, "fp16", "quantized")):
            evidence.append({"source": awq["source"], "metric": awq["metric"], "model": name,
                             "baseline": b,
                             "compressed": c, "relative_change": rel,
                             "setting": "AWQ INT4 weight-only, group 128"})
    if bits in (3, 4):
        gptq = ACCURACY_DELTAS["gptq_opt175b"]
        key = f"int{int(bits)}"
        for name, (b, c, rel) in zip(gptq["models"], _relative(gptq, "fp16", key)):
            evidence.append({"source": gptq["source"], "metric": gptq["metric"], "model": name,
                             "baseline": b,
                             "compressed": c, "relative_change": rel,
                             "setting": f"GPTQ {key.upper()} weight-only"})
    if not evidence:
        notes.append(f"the cited evaluations (AWQ Table 4, GPTQ Table 3) cover 3- and 4-bit "
                     f"weights only: no accuracy estimate for {bits:g}-bit")
        return None, notes
    if group_size != 128 and bits == 4:
        notes.append(f"the AWQ rows are for groups of 128 weights; group_size={group_size:g} "
                     "stores a different number of scales")
    rels = [e["relative_change"] for e in evidence]
    metrics = sorted({e["metric"] for e in evidence})  # one: WikiText-2 perplexity
    return ({"metric": ", ".join(metrics), "relative_change": (min(rels), max(rels)),
             "evidence": evidence,
             "note": "range of published post-training-quantization results (perplexity, lower "
                     "is better: a positive change is a loss), not a prediction: wall 13 has no "
                     "accuracy law"}, notes)


def compress(model, bits: float = 4, *, group_size: float = 128, scale_bits=None,
             sparsity: Optional[str] = None, baseline_bits: float = 16) -> CompressionResult:
    """Weights of ``model`` at ``bits`` per weight: size, compression ratio, accuracy cost.

    Parameters
    ----------
    model : str or Model
        A registry name (``"llama-3-70b"``) or a :class:`~mlsysim_sym.registry.Model`.
    bits : float
        Bits of one stored weight code (4 for INT4; 1 to 64). ``bits`` equal to
        ``baseline_bits`` with ``sparsity="2:4"`` is sparsity alone.
    group_size : float
        Weights sharing one scale and zero point (128: the AWQ/GPTQ g128 layout).
    scale_bits : float, optional
        Bits of the scale and zero point per group; default 32 (fp16 scale + fp16 zero) when
        ``bits < baseline_bits``, else 0.
    sparsity : {None, "2:4"}
        2:4 structured sparsity: half the weights kept, each with a 2-bit index (Mishra et al.).
    baseline_bits : float
        Bits per weight of the uncompressed reference: 16 (fp16/bf16, the default) or 32.

    Returns
    -------
    CompressionResult
        ``size``, ``compression_ratio``, ``bytes_per_parameter`` and ``accuracy`` (the cited
        published range, or None with a note where no cited evaluation covers the setting).

    Raises
    ------
    InputError
        For a number out of range or an unknown ``sparsity``; LookupError for an unknown model.
    """
    m = registry.model(model)
    b = checks.number("bits", bits, low=1, high=64)
    g = checks.number("group_size", group_size, low=1, high=1e7)
    base = checks.number("baseline_bits", baseline_bits, low=1, high=64)
    if sparsity not in _SPARSITY:
        raise checks.InputError(f"sparsity={sparsity!r} is not allowed; allowed: None, '2:4'")
    for name, v in (("bits", b), ("group_size", g), ("baseline_bits", base)):
        checks.one(v, f"{name} must be one number here, not an array")
    if b > base:
        raise checks.InputError(f"bits={b:g} is more than baseline_bits={base:g}: compression "
                                "stores fewer bits per weight than the reference")
    if scale_bits is None:
        qs = float(DEFAULT_SCALE_BITS) if b < base else 0.0
    else:
        qs = checks.number("scale_bits", scale_bits, low=0, high=256)
    values = {"weight_bits_per_parameter": Q_(b, "bit/param"),
              "quantization_group_size": Q_(g, "param"), "quantization_scale_bits": Q_(qs, "bit"),
              "baseline_bits_per_parameter": Q_(base, "bit/param"),
              "parameters": m.parameters, **_SPARSITY[sparsity],
              # every weight at the quantised width (the vocabulary tables are not split off)
              "embedding_parameters": Q_(0, "param"), "head_parameters": Q_(0, "param"),
              "vocab_bytes_per_parameter": Q_(base, "bit/param")}
    out = _system().evaluate(list(_OUTPUTS), values)
    ratio = out["compression_ratio"].to("")
    size = out["weight_bytes"].to("GB")
    accuracy, notes = accuracy_evidence(b, sparsity, g, base)
    return CompressionResult(
        model=m, bits=float(b), group_size=float(g), scale_bits=float(qs), sparsity=sparsity,
        baseline_bits=float(base), bytes_per_parameter=out["bytes_per_parameter"].to("B/param"),
        compression_ratio=ratio, size=size, baseline_size=(size * ratio).to("GB"),
        accuracy=accuracy, notes=notes)
