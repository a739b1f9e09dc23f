"""Workload - Multi-head latent attention (MLA): the KV cache and attention work of DeepSeek-V2/V3.

Bounds: MLA (DeepSeek-V2 Sec. 2.1) caches, per token and layer, one compressed latent c^KV of
d_c elements from which every head's keys and values are up-projected (W^UK, W^UV), plus one
decoupled RoPE key k^R of d_h^R elements shared by all heads: (d_c + d_h^R) l elements per
token against 2 n_h d_h l for multi-head attention (Table 1; DeepSeek-V3: 512 + 64 = 576 per
layer, 61 layers: 35,136 elements, 70,272 bytes at 16 bits). Wall 4 reads three quantities from
the attention variant, and this record defines them for MLA (wall 4 defines them for
MHA/GQA/MQA; :func:`latent_attention` swaps the definitions when composing a system):

* e_kv, the cached elements per token and layer over a tensor-parallel group of t ranks:
  t (d_c + d_h^R). The latent is shared by all heads, so it cannot be split by heads: serving
  engines count it as one KV head ("when using MLA during decode it becomes MQA", vLLM
  ``ModelConfig.get_num_kv_heads``), which tensor parallelism replicates on every rank, as
  wall 4 does for t > H_kv.
* w_d, the elements per (query, cached key) pair of a decode token, summed over the heads and
  the two attention matmuls: with W^UK absorbed into the query and W^UV into the output
  projection (Sec. 2.1.2), decode attends over the latent directly, an MQA with keys of
  d_c + d_h^R and values of d_c elements: w_d = n_h (2 d_c + d_h^R), so
  2 l n_h (2 d_c + d_h^R) S FLOPs per decode token (vLLM's and FlashMLA's decode path). The
  absorbed up-projections run once per query token and are part of the 2 N_a FLOPs (their
  weights are counted in the parameters), and each layer reads the compressed cache once.
* w_p, the same for a prompt token: prefill up-projects each head's keys and values from the
  latents and runs ordinary attention with queries and keys of d_h^C + d_h^R and values of d_v
  elements (Sec. 2.1.3, where d_h^C is the paper's d_h; vLLM's compute-friendly prefill path):
  w_p = n_h (d_h^C + d_h^R + d_v).

Regime of validity: MLA served with the absorbed decode and unabsorbed prefill of vLLM, SGLang
and FlashMLA; the latent replicated on every tensor-parallel rank (no data-parallel attention,
which would shard the sequences instead); the cache stored at the KV precision (the 16-bit
RoPE part of DeepSeek's FP8 cache layouts is not modelled); the up-projection of cached
latents for a chunked prompt's earlier chunks is not charged.

References
----------
DeepSeek-AI, "DeepSeek-V2: A Strong, Economical, and Efficient Mixture-of-Experts Language
Model", arXiv:2405.04434, 2024, Sec. 2.1 and Table 1.
vLLM, ``vllm/v1/attention/backends/mla/common.py`` (decode and prefill paths) and
``vllm/config/model.py`` (``get_num_kv_heads``: one KV head under MLA).
"""

import dataclasses

from .. import symbols as s
from . import serving
from .base import Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("deepseek2024v2", "DeepSeek-AI", "DeepSeek-V2: A Strong, Economical, and Efficient "
              "Mixture-of-Experts Language Model", "arXiv:2405.04434", 2024,
              url="https://arxiv.org/abs/2405.04434", kind="misc"),
    Reference("vllm2025mla", "vLLM Team", "vLLM multi-head latent attention backend: "
              "vllm/v1/attention/backends/mla/common.py (decode and prefill paths) and "
              "vllm/config/model.py (get_num_kv_heads)", "vLLM source code", 2025,
              url="https://github.com/vllm-project/vllm/blob/main/vllm/v1/attention/backends/"
                  "mla/common.py", kind="misc"),
)

_t, _H = s.tensor_parallel, s.heads
_dc, _dr = s.kv_lora_rank, s.qk_rope_head_dim

WALL = Wall(
    number=0,
    name="Multi-head latent attention",
    domain="workload",
    summary=(
        "Multi-head latent attention caches one compressed latent and one shared RoPE key per "
        "token and layer instead of every head's keys and values (576 elements per layer "
        "for DeepSeek-V3's shape, against 2 x 128 heads x 128 for multi-head attention). "
        "Decode attends over the latent "
        "directly (the key and value up-projections absorbed into the query and output "
        "projections), so its attention reads the compressed cache once per layer but spans "
        "the latent width per head; prefill expands per-head keys and values as ordinary "
        "attention. Tensor parallelism cannot split the latent: every rank holds all of it."
    ),
    regime="MLA served with absorbed decode and per-head prefill (vLLM, SGLang, FlashMLA); the "
           "latent replicated on every tensor-parallel rank; cache stored at the KV precision; "
           "wall 4's roofline, footprint and TP all-reduces otherwise.",
    equations=(
        Equation(s.kv_elements_per_layer,
                 _t / s.attention_data_parallel * (_dc + _dr) * s.per_token,
                 cite="deepseek2024v2",
                 locator="Sec. 2.1.4, Table 1: KV cache per token (d_c + d_h^R) l elements for "
                         "MLA, against 2 n_h d_h l for MHA",
                 note="the latent c^KV and the decoupled RoPE key k^R, shared by all heads; "
                      "engines count them as one KV head (vLLM get_num_kv_heads: 1 under MLA), "
                      "so each of the t tensor-parallel ranks holds a copy (each of the "
                      "t/d_a ranks of an attention group under attention data parallelism)"),
        Equation(s.decode_attention_width, _H * (_dc + _dr) + _H * _dc,
                 cite="deepseek2024v2",
                 locator="Sec. 2.1.2: W^UK can be absorbed into W^Q and W^UV into W^O, so keys "
                         "and values need not be computed for attention",
                 note="absorbed decode (vLLM's data-movement-friendly path, FlashMLA): per head "
                      "Q K^T over the latent and RoPE key (d_c + d_h^R) and A V over the latent "
                      "(d_c); the absorbed projections stay in the 2 N_a FLOPs per token"),
        Equation(s.prefill_attention_width,
                 _H * (s.qk_nope_head_dim + _dr) + _H * s.v_head_dim,
                 cite="deepseek2024v2",
                 locator="Sec. 2.1.3: per-head queries [q^C; q^R] and keys [k^C; k^R] of "
                         "d_h + d_h^R elements, values v^C of d_h",
                 note="prefill up-projects each head's keys and values from the latents and "
                      "runs ordinary attention (vLLM's compute-friendly path)"),
    ),
    references=("deepseek2024v2", "vllm2025mla"),
    kind="workload",
)


def latent_attention(*records) -> list:
    """``records`` (walls and workload records) with wall 4's MHA/GQA/MQA definitions of the
    attention quantities (:data:`serving.ATTENTION_WIDTHS`) replaced by this record's MLA
    definitions: a system holds one definition per symbol, and every other equation of wall 4
    and of the records composed with it (continuous batching, MoE) reads the same symbols."""
    out = []
    for record in records:
        if record is serving.WALL:
            record = dataclasses.replace(record, equations=tuple(
                eq for eq in record.equations if eq.lhs not in serving.ATTENTION_WIDTHS))
        out.append(record)
    if not any(r is not rec for r, rec in zip(out, records)):
        raise ValueError("latent_attention() replaces wall 4's attention quantities: compose it "
                         "with the Serving wall (equations.walls.serving)")
    return out + [WALL]
