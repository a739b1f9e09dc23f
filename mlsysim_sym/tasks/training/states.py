"""The bytes each training state takes: :func:`state_bytes` (mixed-precision Adam at a
precision, or a JAX / optax layout with the states' own dtypes) and the FP8 recipes' saved
linear inputs; the loss kernels' bytes per logit; the largest weight tensor a per-tensor (XLA)
ZeRO-3 gather materialises.
Re-exported by :mod:`.config`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ... import vocabulary
from ...units import Q_

__all__ = ["FP8_RECIPES", "STATE_CLASSES", "StateBytes", "state_bytes", "state_dtype_map",
           "largest_tensors", "LOSS_BYTES", "LOSS_TRAFFIC"]

#: FP8 training recipes: whether the linear layers save the FP8 cast of their input for the
#: weight gradient (Transformer Engine, ``_Linear.forward``) or the 16-bit input (torchao's
#: ``Float8Linear``, ``matmul_with_hp_or_float8_args``: torchtitan). Transformer Engine's MXFP8
#: recipe (1x32 blocks, E8M0 scales; Megatron-Core ``--fp8-recipe mxfp8``) saves the cast too;
#: its block scales cost the host operations of their own (``tasks/training/host.py``), fewer
#: since TE's fused scale allocation and swizzle (the default) than before ("_unfused")
FP8_RECIPES = {"transformer_engine": True, "torchao": False, "transformer_engine_mxfp8": True,
               "transformer_engine_mxfp8_unfused": True,
               "transformer_engine_mxfp8_unfused_swizzle": True}
#: bytes per logit at the loss's peak: Megatron-Core's in-place vocab-parallel cross-entropy
#: (16-bit logits + fp32 copy), PyTorch cross_entropy on an fp32 upcast (torchtitan), and
#: "xla": MaxText's cross-entropy compiled by XLA (the default on a TPU). The LM head writes
#: 16-bit logits (base.yml logits_dot_in_fp32: false); the fp32 cast (cast_logits_to_fp32),
#: shift, exp and normalisation are elementwise producers of reductions and of the gradient,
#: which XLA fuses into their consumers (loop and input fusion) or, when memory is short,
#: recomputes (HloRematerialization: "rematerializes instructions to reduce peak memory"), so
#: no fp32 [tokens, V] array need be live: the 16-bit logits and their 16-bit gradient (the
#: input of the head's two backward dots) are, 2 + 2 bytes
LOSS_BYTES = {"fused": 6.0, "unfused": 12.0, "xla": 4.0}
#: bytes per logit the loss kernels move (forward + backward), 16-bit logits from the LM head:
#: "fused" Megatron-Core's vocab-parallel cross-entropy (cross_entropy.py): .float() r 2 w 4,
#: max r 4, subtract r 4 w 4, exp r 4 w 4, sum r 4, divide r 4 w 4 (= 38); backward: the
#: gradient in place r 4 w 4, cast to 16 bits r 4 w 2 (= 14): 52. "unfused" PyTorch
#: cross_entropy on an fp32 upcast (torchtitan): .float() r 2 w 4, log_softmax max / sum /
#: write r 12 w 4 (= 22); backward: nll_loss grad w 4, log_softmax backward r 12 w 4, cast
#: r 4 w 2 (= 26): 48. "xla": MaxText's custom-VJP cross-entropy (max_utils.py,
#: _cross_entropy_with_logits_fwd / _bwd) as XLA schedules it unforced: the max reduction
#: r 2, the exp-sum fusion r 2 w 4 (exp_shifted, the one [tokens, V] residual the backward
#: reads), the target term r 2 (= 10); backward: the gradient fusion r 4 w 2 (= 6): 16 (the
#: rematerialised schedule of a program short of memory reads the 16-bit logits instead: 10)
LOSS_TRAFFIC = {"fused": 52.0, "unfused": 48.0, "xla": 16.0}
#: Adam keeps two moments per parameter (Kingma & Ba 2015, Algorithm 1) in fp32
_ADAM_MOMENTS, _FP32_BYTES = 2, 4
#: the training states a JAX / optax layout stores at a dtype of their own (``state_dtypes``):
#: MaxText's weight_dtype (the stored parameters, float32 by default: no separate 16-bit copy;
#: the layers cast them to the compute dtype), grad_dtype (the gradients; default: the
#: parameters' dtype, as jax.grad returns cotangents in the primal's dtype) and optax
#: scale_by_adam's mu_dtype (first moment; "if None then the dtype is inferred from params")
#: and nu (second moment: zeros_like(params), the parameters' dtype)
STATE_CLASSES = ("weights", "gradients", "first_moment", "second_moment")
_STATE_DTYPES = {d: vocabulary.PRECISION_BITS[d] // 8 for d in ("fp32", "bf16", "fp16")}


@dataclass(frozen=True)
class StateBytes:
    """Bytes per parameter (and per activation element) of the training states."""

    weights: int
    gradients: int
    optimizer: int
    activations: int
    gemm_inputs: float
    gathered: float = 0.0   # bytes of a weight a ZeRO-3 gather materialises (compute width)


def _optax_layout(word: int, dtypes: dict) -> tuple:
    """(weights, gradients, optimizer, gathered) bytes per parameter of a JAX / optax layout."""
    w = _STATE_DTYPES[dtypes.get("weights", "fp32")]
    g = _STATE_DTYPES[dtypes["gradients"]] if "gradients" in dtypes else w
    mu = _STATE_DTYPES[dtypes["first_moment"]] if "first_moment" in dtypes else w
    nu = _STATE_DTYPES[dtypes["second_moment"]] if "second_moment" in dtypes else w
    return w, g, mu + nu, min(w, word)


def state_dtype_map(given) -> dict:
    """Checked ``state_dtypes``: {class: "fp32" | "bf16" | "fp16"} over STATE_CLASSES."""
    if given is None:
        return {}
    items = dict(given) if isinstance(given, (dict, tuple)) else None
    if items is None:
        raise ValueError("state_dtypes must be a dict {class: dtype} over "
                         f"{', '.join(STATE_CLASSES)}, got {given!r:.60}")
    for k, v in items.items():
        if k not in STATE_CLASSES:
            raise ValueError(f"state_dtypes classes must be among {', '.join(STATE_CLASSES)}; "
                             f"got {k!r:.60}")
        if not isinstance(v, str) or v not in _STATE_DTYPES:
            raise ValueError(f"state_dtypes[{k!r}] must be one of "
                             f"{', '.join(_STATE_DTYPES)}, got {v!r:.60}")
    return items


def state_bytes(precision: str, fp8_recipe: str = "transformer_engine",
                state_dtypes=None) -> StateBytes:
    """Training-state bytes at ``precision``, from its format in the vocabulary.

    Mixed precision (``Precision.mixed``: bf16/fp16/fp8 compute) stores 16-bit weights,
    gradients and activations and keeps an fp32 master copy beside Adam's two fp32 moments:
    2 + 2 + 12 bytes per parameter (ZeRO, Sec. 3.1; Micikevicius et al. 2018). fp32 and tf32
    (stored in 32 bits) keep the weights as the master copy: 4 + 4 + 8.

    The inputs of the linear layers, saved for the weight gradients, take the activation width,
    except under Transformer Engine's recipe at a precision narrower than 16 bits: it saves
    the low-precision cast the forward GEMM used (``_Linear.forward``: ``saved_inputmat``),
    ``bits / 8`` bytes. torchao's Float8Linear saves the 16-bit input.

    ``state_dtypes`` ({class: dtype} over :data:`STATE_CLASSES`) is the JAX / optax layout
    instead: the parameters stored at their dtype (fp32 unless named) with no separate 16-bit
    copy, the gradients and both Adam moments at theirs (each defaulting to the parameters'
    dtype, as jax.grad and optax do). A ZeRO-3 gather materialises the weights at the compute
    width (the layers cast before they use them).
    """
    if fp8_recipe not in FP8_RECIPES:
        raise ValueError(f"fp8_recipe must be one of {', '.join(FP8_RECIPES)}, got "
                         f"{fp8_recipe!r:.60}")
    p = vocabulary.PRECISIONS[precision]
    word = (16 if p.mixed else p.bits) // 8
    master = 1 if p.mixed else 0
    narrow = p.bits < 16 and FP8_RECIPES[fp8_recipe]
    gemm_in = p.bits / 8 if narrow else word
    dtypes = state_dtype_map(state_dtypes)
    if dtypes:
        w, g, opt, gathered = _optax_layout(word, dtypes)
        return StateBytes(w, g, opt, word, gemm_in, gathered)
    return StateBytes(word, word, (_ADAM_MOMENTS + master) * _FP32_BYTES, word, gemm_in, word)


def largest_tensors(m, head_dim, kv_heads, experts) -> dict:
    """Parameters of the largest weight tensor a per-tensor gather materialises (XLA's SPMD
    partitioner gathers each dot's weight operand): among the dense ones a layer's Q / K / V /
    output projection (h x heads x head_dim), a dense FFN matrix (h x ffn) and the embedding /
    LM head (V x h); apart, one projection of an MoE layer's routed experts, which MaxText keeps
    stacked in one [E, h, f_e] tensor (moe.py: wi_0, wi_1, wo)."""
    h = float(m.hidden)
    dense = [h * m.heads * head_dim, h * kv_heads * head_dim, float(m.vocab) * h]
    if not experts or (m.moe_layers or 0) < m.layers:
        dense.append(h * float(m.ffn or 4 * m.hidden))
    expert = float(m.moe.experts) * h * float(m.expert_ffn or 0) if experts else 0.0
    return {"largest_weight_tensor": Q_(max(dense), "param"),
            "largest_expert_tensor": Q_(expert, "param")}
