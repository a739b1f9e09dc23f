"""What a model's weights cost a serving step beyond their count: the input lookup tables a
step reads row by row (``embedding_parameters``, ``embedding_row_width``) and weights stored
below the compute precision (``bytes_per_parameter`` from ``weight_bits`` and the
``dequantized_share`` of a compute-bound pass), as base-unit magnitudes by input name."""

from __future__ import annotations

import numpy as np

from ... import checks, registry, vocabulary
from ...units import Q_
from .knobs import magnitude

__all__ = ["embedding_tables", "weight_bits_magnitude", "weight_values", "head_peak_share"]


def embedding_tables(model) -> dict:
    """The input lookup tables a pass reads row by row (``embedding_parameters``) and the
    weights one token reads from them (``embedding_row_width``: d per table): the token
    embedding unless tied to the LM head (then it is read whole, as the head), learned
    positions, token types. Zero for a model without an architecture-derived count."""
    if not getattr(model, "derives_parameters", False):
        return {"embedding_parameters": Q_(0, "param"),
                "embedding_row_width": Q_(0, "param/token"), "head_parameters": Q_(0, "param")}
    parts = model.parameter_breakdown()
    tied = bool(getattr(model, "tied_embeddings", False))
    tables = [k for k in ("embedding", "position_embedding", "type_embedding")
              if parts.get(k) and not (k == "embedding" and tied)]
    head = parts.get("embedding") if tied else parts.get("lm_head")
    return {"embedding_parameters": Q_(sum(parts[k] for k in tables), "param"),
            "embedding_row_width": Q_(len(tables) * model.hidden, "param/token"),
            "head_parameters": Q_(head or 0, "param")}


def weight_bits_magnitude(weight_bits) -> float:
    """Storage bits per weight when they differ from the precision (block-quantized formats)."""
    bits = checks.number("weight_bits", weight_bits, low=0.5, high=64, unit="bit")
    if isinstance(bits, np.ndarray):
        raise checks.InputError("weight_bits must be one number of bits between 0.5 and 64")
    return magnitude("bytes_per_parameter", Q_(bits, "bit/param"))


def weight_values(weight_bits, precision) -> dict:
    """``bytes_per_parameter`` of weights stored at ``weight_bits`` and ``dequantized_share``:
    1 when they are below the activation width at ``precision`` (weight-only quantisation: a
    compute-bound pass dequantises them), else 0. The vocabulary tables are taken at the same
    width (``vocab_bytes_per_parameter``): a block-quantised file stores them quantised too
    (llama.cpp's GGUF types cover token_embd and output)."""
    b = weight_bits_magnitude(weight_bits)
    act = magnitude("activation_bytes_per_element",
                    Q_(vocabulary.PRECISION_BITS[precision], "bit"))
    return {"bytes_per_parameter": b, "dequantized_share": 1.0 if b < act else 0.0,
            "vocab_bytes_per_parameter": b}


def head_peak_share(hardware, precision, peak) -> float:
    """Share of ``peak`` (the weight GEMMs' roof) the LM head runs at: the chip's 16-bit peak
    over it when ``precision`` is narrower than 16 bits (the engines quantise the blocks' linear
    layers only: ModelOpt's FP8 export excludes lm_head, vLLM's Fp8Config quantises LinearBase
    layers, the head being a ParallelLMHead), else 1."""
    if vocabulary.PRECISION_BITS[precision] >= 16:
        return 1.0
    for p16 in vocabulary.NATIVE_16BIT:
        try:
            return min(1.0, float((hardware.peak_flops(p16) / peak).to("").magnitude))
        except registry.PrecisionError:
            continue
    return 1.0
