"""Workload - Sliding-window attention: KV cache and attention work bounded by a window.

Bounds: in a sliding-window attention layer each token attends only to the W tokens before it
(Mistral 7B, Jiang et al. 2023, Sec. 2: window W = 4096, Table 1). The keys and values older
than the window are never read again, so the layer keeps a rolling buffer of W positions
(Sec. 2, "Rolling Buffer Cache": on a 32k-token sequence the cache is 8x smaller). Gemma 2
alternates local layers (window 4096) with global ones (Gemma Team 2024, Sec. 2 and Table 1):
a share f of the layers is windowed, the others attend to the whole context. Averaged over the
layers, a sequence at context S therefore holds and reads

    S_att = (1 - f) S + f Min(S, W) = S - f Max(0, S - W)

tokens per layer, which is what wall 4's KV-cache bytes and decode attention FLOPs read (its
``attention_span``, the context S under full attention). The other spans follow from the same
Min(i, W) per position:

* prompt: the i-th prompt token attends to Min(i, W) keys in a windowed layer, so a causal
  prefill of S_p tokens covers S_p^2/2 - Max(0, S_p - W)^2/2 pairs there; per prompt token
  S_p/2 - f Max(0, S_p - W)^2 / (2 S_p) keys on average (wall 4's ``prompt_attention_span``);
  with a cached prefix (hit rate h) only the tokens past h S_p are computed, S_p (1 + h)/2 -
  f (Max(0, S_p - W)^2 - Max(0, h S_p - W)^2) / (2 (1 - h) S_p) keys each on average;
* decode at a request rate (the continuous-batching record): the context grows from n_in to
  n_in + n_out over a request's decode steps, and the time average of Min(S, W) over it is
  (n_in + n_out/2) - (Max(0, n_in + n_out - W)^2 - Max(0, n_in - W)^2) / (2 n_out) in a windowed
  layer (``mean_context_length``); a KV slot holds S_kv = n_in + n_out - f Max(0, n_in + n_out
  - W) tokens per layer at full context (``sequence_kv_tokens``);
* a prompt handed from a prefill to a decode replica (the disaggregation record) carries
  S_p - f Max(0, S_p - W) tokens per layer (``prompt_kv_tokens``).

Every prompt token's keys and values are still computed and written once (wall 4's prefill
bytes); only the positions older than the window are dropped.

:func:`sliding_window` swaps these definitions into the records it is given (wall 4, the
continuous-batching and disaggregation records), as :func:`~.mla.latent_attention` does for
the KV width; a model without a window is served by the records as they are, so its numbers do
not change.

Regime of validity: the windowed layers keep exactly W positions (a paged engine frees the
blocks that leave the window, vLLM's sliding-window KV manager; block rounding ignored); the
window counts the token itself as Mistral's does (a difference of one position); the share f of
windowed layers is the same in every pipeline stage and tensor-parallel rank.

References
----------
Jiang et al., "Mistral 7B", arXiv:2310.06825, 2023, Sec. 2 and Table 1.
Gemma Team, "Gemma 2: Improving Open Language Models at a Practical Size", arXiv:2408.00118,
2024, Sec. 2 and Table 1.
"""

import dataclasses

import sympy

from .. import symbols as s
from .base import Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("jiang2023mistral", "Jiang, Albert Q. and Sablayrolles, Alexandre and Mensch, "
              "Arthur and others", "Mistral 7B", "arXiv:2310.06825", 2023,
              url="https://arxiv.org/abs/2310.06825", kind="misc"),
    Reference("gemma2024gemma2", "Gemma Team, Google DeepMind", "Gemma 2: Improving Open Language "
              "Models at a Practical Size", "arXiv:2408.00118", 2024,
              url="https://arxiv.org/abs/2408.00118", kind="misc"),
)

_W, _f = s.attention_window, s.windowed_layer_share
_h = s.prefix_cache_hit_rate
_n_in, _n_out = s.prompt_length, s.output_length


def _beyond(context):
    """Tokens of ``context`` older than the window: Max(0, S - W)."""
    return sympy.Max(0, context - _W)


def span(context):
    """Tokens per layer a sequence at ``context`` holds and attends to, averaged over the layers:
    S - f Max(0, S - W)."""
    return context - _f * _beyond(context)


_MISTRAL = "Sec. 2, Sliding Window Attention: each token attends to at most W tokens of the " \
           "previous layer; Rolling Buffer Cache: the cache holds W positions"
_GEMMA = "Sec. 2: local sliding-window (4096) and global attention alternate every other layer"

WALL = Wall(
    number=0,
    name="Sliding-window attention",
    domain="workload",
    summary=(
        "A sliding-window layer attends only to the last W tokens and keeps a rolling buffer of "
        "W positions, so its KV cache and its decode attention stop growing at the window; "
        "models that alternate windowed and global layers (Gemma 2) bound only their windowed "
        "share. The span replaces the context in the KV-cache bytes, the decode attention, the "
        "causal prefill's pairs and the KV slots a serving engine reserves."
    ),
    regime="Windowed layers keep exactly W positions (paged blocks outside the window freed, "
           "block rounding ignored); a share f of the layers windowed, the rest full attention; "
           "every prompt token's keys and values still computed and written once.",
    equations=(
        Equation(s.attention_span, span(s.context_length), cite="jiang2023mistral",
                 locator=_MISTRAL,
                 note="(1 - f) S + f Min(S, W) tokens per layer (Gemma 2: f = 1/2, "
                      "Gemma Team 2024 Sec. 2)"),
        Equation(s.prompt_attention_span,
                 _n_in * (1 + _h) / 2
                 - _f * (_beyond(_n_in) ** 2 - _beyond(_h * _n_in) ** 2) / (2 * (1 - _h) * _n_in),
                 cite="jiang2023mistral",
                 locator="Sec. 2, Fig. 1: the i-th token attends to Min(i, W) keys",
                 note="sum_i Min(i, W) = S_p^2/2 - Max(0, S_p - W)^2/2 over the prompt, per "
                      "prompt token and averaged over the layers (ours); with a cached prefix "
                      "(prefix-cache hit rate h) over the computed tokens h S_p < i <= S_p only"),
        Equation(s.mean_context_length,
                 _n_in + _n_out / 2
                 - _f * (_beyond(_n_in + _n_out) ** 2 - _beyond(_n_in) ** 2) / (2 * _n_out),
                 cite="jiang2023mistral", locator=_MISTRAL,
                 note="time average of (1 - f) S + f Min(S, W) while the context grows from "
                      "n_in to n_in + n_out (ours; n_in + n_out/2 without a window)"),
        Equation(s.sequence_kv_tokens, span(_n_in + _n_out), cite="jiang2023mistral",
                 locator="Sec. 2, Rolling Buffer Cache: a cache of fixed size W; on a sequence of "
                         "32k tokens it is 8x smaller",
                 note="the KV slot a sequence needs at full context"),
        Equation(s.prompt_kv_tokens, span(_n_in), cite="gemma2024gemma2", locator=_GEMMA,
                 note="what a prefill replica hands to a decode replica: the windowed layers' "
                      "rolling buffers and the global layers' whole prompt"),
    ),
    references=("jiang2023mistral", "gemma2024gemma2"),
    kind="workload",
)

#: the spans this record defines (wall 4, the continuous-batching and disaggregation records
#: define them without a window)
SPANS = tuple(eq.lhs for eq in WALL.equations)


def sliding_window(*records) -> list:
    """``records`` with their full-attention definitions of the spans (:data:`SPANS`) replaced
    by the windowed ones: each record loses the span equations it has, and this record adds the
    windowed definition of every span one of them defined (a system holds one definition per
    symbol). Wall 4 must be among them."""
    out, replaced = [], set()
    for record in records:
        own = {eq.lhs for eq in record.equations} & set(SPANS)
        if own:
            record = dataclasses.replace(record, equations=tuple(
                eq for eq in record.equations if eq.lhs not in own))
            replaced |= own
        out.append(record)
    if s.attention_span not in replaced:
        raise ValueError("sliding_window() replaces wall 4's attention span: compose it with the "
                         "Serving wall (equations.walls.serving)")
    windowed = dataclasses.replace(WALL, equations=tuple(
        eq for eq in WALL.equations if eq.lhs in replaced))
    return out + [windowed]
