"""Named input builders: a model, a chip, a precision and a parallel layout as the base-unit
magnitudes of the serving system's inputs.

Every serving task (``predict``, ``serve``, ``size_fleet``, ``synthesize``, the calibration
cases) builds its inputs here, by name: :func:`serving_inputs` returns ``{input: magnitude}``
for everything but the workload's knobs, and :func:`args` orders a dict for a compiled kernel.
Per-object magnitudes (a model's shape, a chip's roofs) are cached by identity, so a repeated
call does no unit work.
"""

from __future__ import annotations

from functools import lru_cache
from operator import itemgetter

import numpy as np

from ... import checks, registry, vocabulary
from ...defaults import default
from ...symbols import info
from ...units import Q_
from . import knobs, memo
from .fabric import communication as fabric_communication
from .fabric import link_rest, mesh_share, peer_access, scale_up_domain, tp_overrides
from .knobs import EFFICIENCY_INPUTS, magnitude
from .weights import embedding_tables, head_peak_share, weight_bits_magnitude, weight_values

__all__ = ["MODEL_INPUTS", "HARDWARE_INPUTS", "PRECISION_INPUTS", "EFFICIENCY_INPUTS",
           "KNOB_INPUTS", "TP_INPUTS", "STEP_INPUTS", "SERVING_INPUTS", "MLA_DIMS",
           "WINDOW_INPUTS", "latent_attention", "sliding_window", "model_input_names",
           "with_model", "args", "cached",
           "model_magnitudes", "hardware_magnitudes", "peak_field", "precision_magnitudes",
           "link_magnitudes",
           "tp_magnitudes", "tp_overrides", "peer_access", "scale_up_domain", "check_tp",
           "serving_inputs", "step_magnitudes",
           "max_batched_tokens_magnitude", "weight_bits_magnitude", "CACHE_INPUTS",
           "SPECULATIVE_INPUTS", "NO_SPECULATION", "prefix_cache_magnitude", "speculative_values",
           "embedding_tables", "weight_values", "ATTENTION_DP_INPUTS"]

MODEL_INPUTS = ("parameters", "active_parameters", "layers", "heads", "kv_heads", "head_dim",
                "hidden", "ffn_width", "embedding_parameters", "embedding_row_width",
                "head_parameters")
#: the chip's roofs, its measured matmul ceiling (1: none recorded), the LM head's share of the peak
HARDWARE_INPUTS = ("peak_flops", "memory_bandwidth", "memory_capacity", "matmul_ceiling",
                   "head_peak_share")
PRECISION_INPUTS = ("bytes_per_parameter", "kv_bytes_per_element", "activation_bytes_per_element",
                    "dequantized_share", "vocab_bytes_per_parameter")
KNOB_INPUTS = ("batch", "prompt_length", "context_length")
TP_INPUTS = ("tensor_parallel", "scale_up_bandwidth", "scale_up_latency", "scale_up_peer_access",
             "allreduce_fixed_time")
STEP_INPUTS = ("prefill_chunk_tokens", "max_batched_tokens")
#: the share of each prompt found in the prefix cache (0: none)
CACHE_INPUTS = ("prefix_cache_hit_rate",)
#: attention data parallelism (TensorRT-LLM enable_attention_dp): its degree d_a in the TP group
#: (1: none); serve's attention_dp also sets the weights that stay sharded under it (the routed
#: experts) and each rank's copies (``tasks.fleet.load.attention_dp_values``)
ATTENTION_DP_INPUTS = ("attention_data_parallel",)
#: every input of the dense serving system, in the order of its compiled kernel
SERVING_INPUTS = (MODEL_INPUTS + HARDWARE_INPUTS + PRECISION_INPUTS + EFFICIENCY_INPUTS
                  + KNOB_INPUTS + TP_INPUTS + ("communication_efficiency", "unoverlapped_fraction")
                  + STEP_INPUTS + CACHE_INPUTS + ATTENTION_DP_INPUTS)
#: speculative decoding: draft tokens per step, acceptance rate and the draft model's shape
SPECULATIVE_INPUTS = ("draft_length", "draft_acceptance_rate", "draft_parameters", "draft_layers",
                      "draft_heads", "draft_kv_heads", "draft_head_dim", "draft_hidden")
#: no speculation: no drafted tokens and no draft model, so every draft term is zero and a step
#: yields E = (1 - alpha) / (1 - alpha) = 1 token for any alpha; alpha = 1/2 (not 0) keeps E's
#: derivatives finite for ``sensitivity`` (they hold alpha^gamma and ln alpha)
NO_SPECULATION = {**dict.fromkeys(SPECULATIVE_INPUTS, 0.0), "draft_acceptance_rate": 0.5}
#: multi-head latent attention (DeepSeek-V2/V3): the MLA record (equations/mla.py) defines wall 4's
#: attention quantities from these dimensions instead of kv_heads and head_dim
MLA_DIMS = ("kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim")
#: sliding-window attention (Mistral 7B, Gemma 2): the sliding-window record
#: (equations/sliding_window.py) bounds the attention spans by the window on a share of the layers
WINDOW_INPUTS = ("attention_window", "windowed_layer_share")


def latent_attention(model) -> bool:
    """True when ``model`` uses multi-head latent attention (served with the MLA record)."""
    return getattr(model, "attention", None) == "mla"


def sliding_window(model) -> bool:
    """True when ``model`` has sliding-window attention layers (served with the sliding-window
    record)."""
    return getattr(model, "sliding_window", None) is not None


def with_model(inputs, latent: bool, windowed: bool = False) -> tuple:
    """A kernel's input names ``inputs`` for the attention variant: with ``latent``, the MLA
    dimensions in place of ``kv_heads`` and ``head_dim``; with ``windowed``, the window and the
    windowed share of the layers after the model's shape."""
    out = []
    for name in inputs:
        if latent and name == "kv_heads":
            out.extend(MLA_DIMS)
        elif not (latent and name == "head_dim"):
            out.append(name)
        if windowed and name == "ffn_width":
            out.extend(WINDOW_INPUTS)
    return tuple(out)


def model_input_names(model) -> tuple:
    """The names :func:`model_magnitudes` gives for ``model`` (:data:`MODEL_INPUTS`, with the
    MLA dimensions in place of ``kv_heads`` and ``head_dim`` for an MLA model, and the window
    inputs for a sliding-window model)."""
    return with_model(MODEL_INPUTS, latent_attention(model), sliding_window(model))


def args(values: dict, order) -> tuple:
    """``values`` in a kernel's argument ``order``, naming what is missing."""
    try:
        return _getter(order if type(order) is tuple else tuple(order))(values)
    except KeyError as e:
        missing = [n for n in order if n not in values]
        raise ValueError(f"inputs missing for the kernel: {missing}") from e


@lru_cache(maxsize=64)
def _getter(order: tuple):
    """A C-level ``values -> tuple`` for ``order`` (``operator.itemgetter``)."""
    if len(order) < 2:   # itemgetter of one name gives the value, not a tuple
        return lambda values: tuple(values[n] for n in order)
    return itemgetter(*order)


#: per-object magnitudes by identity (an entry of a replaced registry is only unreachable, not
#: wrong; the table is emptied when the registry changes so that it does not keep it alive)
_OBJ_CACHE: dict = memo.table()


def cached(fn, obj, *extra):
    """``fn(obj, *extra)``, cached by the identity of ``obj`` (registry objects need not be
    hashable) and the value of ``extra``; a new object with a reused id is recomputed."""
    key = (fn, id(obj)) + tuple(e if isinstance(e, (str, int, float, type(None))) else id(e)
                                for e in extra)
    hit = _OBJ_CACHE.get(key)
    if hit is None or hit[0] is not obj:
        hit = memo.put(_OBJ_CACHE, key, (obj, fn(obj, *extra)))
    return hit[1]


def model_magnitudes(model) -> tuple:
    """A decoder model's shape (:func:`model_input_names`) as base magnitudes."""
    gated = bool(getattr(model, "ffn_gated", False))
    ffn = getattr(model, "ffn", None)
    if not ffn:
        raise ValueError(f"model {model.name!r} has no FFN width (ffn): predict() needs it for the "
                         "activation footprint")
    values = {
        "parameters": model.parameters,
        "active_parameters": model.active_parameters,
        **embedding_tables(model),
        "layers": model.layers, "heads": model.heads, "kv_heads": model.kv_heads,
        "head_dim": model.head_dim, "hidden": model.hidden,
        # gated FFNs hold the gate and up projections live at once
        "ffn_width": (2 if gated else 1) * ffn,
    }
    needed = ("layers", "heads", "kv_heads", "head_dim", "hidden")
    if latent_attention(model):   # the MLA record reads the latent dimensions instead
        mla = getattr(model, "mla", None)
        values.update({k: getattr(mla, k, None) for k in MLA_DIMS})
        needed = ("layers", "heads", "hidden") + MLA_DIMS
    for key in needed:
        if values[key] is None:
            raise ValueError(f"model {model.name!r} has no {key}: predict() needs a decoder "
                             f"transformer architecture ({', '.join(needed)})")
    if sliding_window(model):     # the sliding-window record reads the window and its share
        values.update(attention_window=model.sliding_window,
                      windowed_layer_share=model.windowed_layer_share)
    return tuple(magnitude(k, values[k]) for k in model_input_names(model))


def peak_field(hardware, precision, stack=None) -> str:
    """The registry field of the compute roof a ``stack``'s GEMMs run at ``precision``:
    ``peak_fp16_accumulate`` for an engine accumulating fp16 GEMMs in FP16
    (:data:`~mlsysim_sym.vocabulary.FP16_ACCUMULATE_STACKS`) on a chip recording that rate,
    else ``peak.<precision>`` (the precision the chip's table resolves it to)."""
    if precision == "fp16" and stack in vocabulary.FP16_ACCUMULATE_STACKS \
            and getattr(hardware, "fp16_accumulate_peak", None) is not None:
        return "peak_fp16_accumulate"
    resolve = getattr(hardware, "resolve_precision", None)
    return f"peak.{resolve(precision)[0] if resolve else precision}"


def hardware_magnitudes(hardware, precision, stack=None) -> tuple:
    """A chip's roofs at ``precision`` (:data:`HARDWARE_INPUTS`) as base magnitudes; the
    compute roof is the one ``stack``'s GEMMs run (:func:`peak_field`); the matmul ceiling is the
    registry's (Bekman's Maximum Achievable Matmul FLOPS over the peak; at fp8 the FP8 one
    where measured), 1 where it records none."""
    ceiling = hardware.matmul_ceiling
    if precision == "fp8" and getattr(hardware, "matmul_ceiling_fp8", None) is not None:
        ceiling = hardware.matmul_ceiling_fp8
    field = peak_field(hardware, precision, stack)
    peak = hardware.fp16_accumulate_peak if field == "peak_fp16_accumulate" \
        else hardware.peak_flops(precision)
    return (magnitude("peak_flops", peak),
            magnitude("memory_bandwidth", hardware.memory_bandwidth),
            magnitude("memory_capacity", hardware.memory_capacity),
            1.0 if ceiling is None else magnitude("matmul_ceiling", ceiling),
            head_peak_share(hardware, precision, peak))


@lru_cache(maxsize=16)
def precision_magnitudes(precision) -> tuple:
    """Widths of weights, KV cache, activations, vocabulary tables (the activation width:
    engines quantise only the blocks' linear layers) at ``precision``; none dequantised.

    Below 16 bits the activations between layers stay at the model's 16-bit dtype: the
    engines quantise the weights and each GEMM's input, not the residual stream whose layer
    outputs the TP all-reduces carry (vLLM FP8 W8A8 docs: a BF16/FP16 model's Linear modules
    get FP8 weights and per-pass activation scales; the ROCm vLLM FP8 benchmarks run
    ``--dtype float16``)."""
    bits = vocabulary.PRECISION_BITS[precision]
    act = max(bits, vocabulary.PRECISION_BITS["fp16"])
    return (magnitude("bytes_per_parameter", Q_(bits, "bit/param")),
            magnitude("kv_bytes_per_element", Q_(bits, "bit")),
            magnitude("activation_bytes_per_element", Q_(act, "bit")), 0.0,
            magnitude("vocab_bytes_per_parameter", Q_(act, "bit/param")))


def link_magnitudes(hardware) -> tuple:
    """(scale_up_bandwidth, scale_up_latency, scale_up_peer_access, allreduce_fixed_time) base
    magnitudes at tp = 1 (the terms vanish)."""
    bw = hardware.scale_up_bandwidth or Q_(info("scale_up_bandwidth").bounds[1], "GB/s")
    return (magnitude("scale_up_bandwidth", bw),) + link_rest(hardware, measured=False)


def tp_magnitudes(hardware, tp) -> tuple:
    """(tensor_parallel, scale_up_bandwidth, scale_up_latency, scale_up_peer_access,
    allreduce_fixed_time) base magnitudes for ``tp`` chips, one device with ``tp`` times the
    roofs; their scale-up links carry the two all-reduces per layer: on a full mesh only the
    links to the group's other members (:func:`~.fabric.mesh_share`). The latency is the
    registry fabric's measured one, else the chip's, else the calibrated ``scale_up_latency``."""
    if np.ndim(tp) == 0 and tp == 1:
        return (tp,) + cached(link_magnitudes, hardware)
    if np.all(np.asarray(tp) == 1):
        return (tp,) + cached(link_magnitudes, hardware)
    if hardware.scale_up_bandwidth is None:
        raise ValueError(f"{hardware.name} has no scale-up link in the registry: tp > 1 needs one "
                         "(links.scale_up.bandwidth)")
    bandwidth = magnitude("scale_up_bandwidth", hardware.scale_up_bandwidth)
    return (tp, bandwidth * mesh_share(hardware, tp)) + cached(link_rest, hardware)


def check_tp(tp, model, hardware, *, cross_node=False):
    """Refuse a tensor-parallel degree that does not divide the model's attention heads or that
    exceeds the chip's scale-up domain (when the registry records it). Vectorised over arrays."""
    if isinstance(tp, float) and tp == 1.0:   # one device: nothing to split
        return tp
    heads = getattr(model, "heads", None)
    t = np.asarray(tp, dtype=float)
    domain = None if cross_node else scale_up_domain(hardware)
    limit = domain[0] if domain else None
    if heads:
        bad = np.mod(heads, t) != 0
        if np.any(bad):
            first = int(t[bad].flat[0]) if t.ndim else int(t)
            ok = [k for k in range(1, int(heads) + 1) if heads % k == 0
                  and (limit is None or k <= limit)]
            raise checks.InputError(
                f"tp={first} does not divide the {int(heads)} attention heads of {model.name} "
                f"(tensor parallelism splits the heads over the ranks); allowed tp: {ok}")
    if limit is not None and np.any(t > limit):
        first = int(t[t > limit].flat[0]) if t.ndim else int(t)
        raise checks.InputError(
            f"tp={first} exceeds the scale-up domain of {hardware.name}: a {domain[1]} node has "
            f"{limit} accelerators on its scale-up fabric, and the tensor-parallel all-reduces "
            f"need it; allowed tp <= {limit}")
    return tp


def serving_inputs(model, hardware, precision, *, tp, efficiency=None, stack=None,
                   weight_bits=None) -> dict:
    """Base-unit magnitudes of a model on ``tp`` chips of ``hardware`` at ``precision``: the
    model's shape, the chip's roofs, the storage widths, the calibrated (or given) efficiencies,
    the TP link and the unoverlapped share: every input of the serving system except the
    workload's knobs (batch and lengths, or a request rate)."""
    values = dict(zip(model_input_names(model), cached(model_magnitudes, model)))
    values.update(zip(HARDWARE_INPUTS, cached(hardware_magnitudes, hardware, precision, stack)))
    values.update(zip(PRECISION_INPUTS, precision_magnitudes(precision)))
    if weight_bits is not None:
        values.update(weight_values(weight_bits, precision))
    values.update(zip(EFFICIENCY_INPUTS, knobs.efficiency_magnitudes(
        efficiency, hardware, precision, knobs.check_stack(stack))))
    values.update(tp_overrides(dict(zip(TP_INPUTS, tp_magnitudes(hardware, tp))), efficiency))
    values["communication_efficiency"] = fabric_communication(hardware, efficiency)
    values["unoverlapped_fraction"] = knobs.unoverlapped(efficiency)
    values.update(attention_data_parallel=1.0, sharded_parameters=0.0)  # attention under TP
    return values


def step_magnitudes(prefill_tokens, max_batched_tokens) -> tuple:
    """(prefill_chunk_tokens, max_batched_tokens) base magnitudes, checked."""
    if type(prefill_tokens) in (int, float) and 0 <= prefill_tokens <= 1e7:  # the common case
        return (float(prefill_tokens), max_batched_tokens_magnitude(max_batched_tokens))
    if isinstance(prefill_tokens, bool) or prefill_tokens is None:
        raise ValueError(f"prefill_tokens must be a number of tokens >= 0, got {prefill_tokens!r}")
    chunk = np.asarray(prefill_tokens, dtype=float) if not np.isscalar(prefill_tokens) \
        else float(prefill_tokens) if isinstance(prefill_tokens, (int, float, np.number)) \
        else float("nan")
    if not np.all(np.isfinite(chunk) & (np.asarray(chunk) >= 0) & (np.asarray(chunk) <= 1e7)):
        raise ValueError(f"prefill_tokens must be a number of tokens between 0 and 1e7, got "
                         f"{prefill_tokens!r}")
    return (chunk, max_batched_tokens_magnitude(max_batched_tokens))


def max_batched_tokens_magnitude(value) -> float:
    """The engine's per-step token budget (default: ``defaults.yaml``), checked."""
    if value is None:
        return _max_batched_tokens_default()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not (1 <= float(value) <= 1e7):
        raise ValueError(f"max_batched_tokens must be a number of tokens between 1 and 1e7, got "
                         f"{value!r}")
    return float(value)


@lru_cache(maxsize=1)
def _max_batched_tokens_default() -> float:
    return magnitude("max_batched_tokens", default("max_batched_tokens"))


def prefix_cache_magnitude(value):
    """The prefix-cache hit rate h in [0, 1) (a number or an array for a sweep), checked."""
    if type(value) in (int, float) and 0 <= value < 1:   # the common case
        return float(value)
    return checks.number("prefix_cache_hit_rate", value, low=0.0, high=1.0, high_open=True)


_SPEC_KEYS = ("draft", "tokens", "acceptance")
_SPEC_EXAMPLE = "{'draft': 'llama-3.2-1b', 'tokens': 4, 'acceptance': 0.7}"


def speculative_values(speculative, model, hardware, tp) -> dict:
    """The speculative-decoding inputs by name (:data:`SPECULATIVE_INPUTS`), checked.

    ``speculative`` is None (no speculation: :data:`NO_SPECULATION`), or ``{"draft": ...,
    "tokens": gamma, "acceptance": alpha}`` (or the triple in that order): gamma whole in
    [1, 128], alpha in [0, 1), and the draft a registry model (a dense decoder sharing the
    target's vocabulary, split over the same ``tp`` ranks) or a cost ratio c in (0, 1], which
    stands for the target scaled by c (c times its layers and parameters: Leviathan et al.'s
    c, T_D = c T_T, at every batch). The target must be a dense MHA/GQA decoder."""
    if speculative is None:
        return dict(NO_SPECULATION)
    if isinstance(speculative, (tuple, list)) and len(speculative) == 3:
        speculative = dict(zip(_SPEC_KEYS, speculative))
    if not isinstance(speculative, dict):
        raise checks.InputError(f"speculative must be a dict such as {_SPEC_EXAMPLE}, got "
                                f"{speculative!r:.60}")
    unknown, missing = set(speculative) - set(_SPEC_KEYS), set(_SPEC_KEYS) - set(speculative)
    if unknown or missing:
        raise checks.InputError(f"speculative takes the keys draft, tokens, acceptance (such as "
                                f"{_SPEC_EXAMPLE}); " + (f"unknown: {sorted(unknown)}"
                                                         if unknown else
                                                         f"missing: {sorted(missing)}"))
    gamma = checks.one(checks.count("speculative tokens", speculative["tokens"], 1, 128),
                       "speculative tokens must be one whole number of drafted tokens (1-128)")
    alpha = checks.one(checks.number("speculative acceptance", speculative["acceptance"],
                                     low=0.0, high=1.0, high_open=True),
                       "speculative acceptance must be one rate in [0, 1)")
    if getattr(model, "family", "decoder") != "decoder" or latent_attention(model):
        raise checks.InputError(f"speculative decoding is modelled for dense MHA/GQA decoder "
                                f"targets; {model.name} is "
                                + ("an MLA model" if latent_attention(model)
                                   else f"a {model.family} model"))
    values = {"draft_length": gamma, "draft_acceptance_rate": alpha}
    values.update(zip(SPECULATIVE_INPUTS[2:], _draft_shape(speculative["draft"], model,
                                                           hardware, tp)))
    return values


def _draft_shape(draft, model, hardware, tp) -> tuple:
    """(parameters, layers, heads, kv_heads, head_dim, hidden) of the draft, base magnitudes."""
    if isinstance(draft, (int, float, np.integer, np.floating)) and not isinstance(draft, bool):
        c = checks.one(checks.number("speculative draft cost ratio", draft, low=0.0, high=1.0,
                                     low_open=True),
                       "speculative draft cost ratio must be one number in (0, 1]")
        return (magnitude("draft_parameters", model.active_parameters * c),
                c * model.layers, float(model.heads), float(model.kv_heads),
                float(model.head_dim), float(model.hidden))
    if not isinstance(draft, str) and not hasattr(draft, "layers"):
        raise checks.InputError(f"speculative draft must be a registry model name (such as "
                                f"'llama-3.2-1b') or a draft-to-target cost ratio in (0, 1], got "
                                f"{draft!r:.60}")
    d = registry.model(draft)
    if getattr(d, "family", "decoder") != "decoder" or latent_attention(d):
        raise checks.InputError(f"speculative draft {d.name} must be a dense MHA/GQA decoder")
    shape = [getattr(d, k, None) for k in ("layers", "heads", "kv_heads", "head_dim", "hidden")]
    if any(v is None for v in shape):
        raise checks.InputError(f"speculative draft {d.name} lacks its transformer shape "
                                "(layers, heads, kv_heads, head_dim, hidden)")
    vocab, draft_vocab = getattr(model, "vocab", None), getattr(d, "vocab", None)
    if vocab and draft_vocab and vocab != draft_vocab:
        raise checks.InputError(f"speculative draft {d.name} has a vocabulary of {draft_vocab} "
                                f"tokens, {model.name} one of {vocab}: the target verifies the "
                                "draft's tokens, so both need the same tokenizer")
    check_tp(tp, d, hardware)   # the draft is split over the same tensor-parallel ranks
    return (magnitude("draft_parameters", d.parameters),) + tuple(float(v) for v in shape)
