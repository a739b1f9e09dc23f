"""Wall 12 - Reasoning: the latency and compute of inference-time reasoning.

Bounds: a chain of thought of K steps of t_K tokens generates T = K t_K tokens, one decode step
each, so it takes T x T_TPOT (wall 4's time per output token). Best-of-N and self-consistency
draw N_s independent samples; decoded N_c at a time (one batch of N_c sequences), they take
ceil(N_s / N_c) rounds, each at the decode step time *of that batch* (compose with wall 4 at
batch = N_c x requests: the batch-N roofline prices the extra samples, nearly free while decode
is memory-bound). Tokens and FLOPs scale by N_s: each generated token costs 2 N_a FLOPs plus
attention over its context, 4 L H d_h (S_p + i) for the i-th generated token, which sums to
4 L H d_h (S_p T + T (T + 1) / 2) per sample (quadratic in chain length).
Speculative decoding (Leviathan et al.): a draft model proposes gamma tokens, the target
verifies them in one pass; with acceptance rate alpha the expected tokens per target pass are
E = (1 - alpha^(gamma+1)) / (1 - alpha) (eq. 1, alpha < 1; gamma + 1 is its limit at 1) and the
walltime improvement is E / (gamma c + v) (Theorem 3.8 has v = 1; MagicDec eq. 2, Chen et al.
2024), c = T_D / T_T the draft-to-target and v = T_V(gamma) / T_T the verification-to-decode
step-time ratio. Alone this wall takes c and v as given; composed with wall 4 and the
speculative-decoding record (``equations/speculative.py``) both are rooflines at the batch, so
the speed-up falls as the batch makes the verification pass compute-bound.

Regime of validity: decode-dominated generation (prompt prefill is wall 4's TTFT and is not
included); T_TPOT is the mean step time over the chain (context grows during the chain; pass the
step time at the mean context); speculative decoding assumes i.i.d. acceptance; the
verification pass costs v decode steps (v = 1: Leviathan et al.'s memory-bound decode; the
speculative-decoding record derives v and c from the rooflines at the batch); the reasoning
FLOP count here is that of the accepted tokens (rejected drafts add target and draft FLOPs).

References
----------
Wei et al., "Chain-of-Thought Prompting Elicits Reasoning in Large Language Models", NeurIPS 2022.
Wang et al., "Self-Consistency Improves Chain of Thought Reasoning in Language Models", ICLR 2023.
Snell et al., "Scaling LLM Test-Time Compute Optimally can be More Effective than Scaling Model
Parameters", arXiv:2408.03314, 2024.
Leviathan, Kalman, Matias, "Fast Inference from Transformers via Speculative Decoding", ICML 2023.
Chen et al., "MagicDec: Breaking the Latency-Throughput Tradeoff for Long Context Generation
with Speculative Decoding", arXiv:2408.11049, 2024 (ICLR 2025), Sec. 3.1.
Kaplan et al., "Scaling Laws for Neural Language Models", 2020, Table 1 (FLOPs per token).
"""

import sympy

from .. import symbols as s
from .base import Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("wei2022chainofthought", "Wei, Jason and Wang, Xuezhi and Schuurmans, Dale and others",
              "Chain-of-Thought Prompting Elicits Reasoning in Large Language Models",
              "Advances in NeurIPS 35", 2022, url="https://arxiv.org/abs/2201.11903",
              kind="inproceedings"),
    Reference("wang2023selfconsistency", "Wang, Xuezhi and Wei, Jason and Schuurmans, Dale and others",
              "Self-Consistency Improves Chain of Thought Reasoning in Language Models",
              "Proceedings of ICLR 2023", 2023, url="https://arxiv.org/abs/2203.11171",
              kind="inproceedings"),
    Reference("snell2024testtime", "Snell, Charlie and Lee, Jaehoon and Xu, Kelvin and Kumar, Aviral",
              "Scaling LLM Test-Time Compute Optimally can be More Effective than Scaling Model "
              "Parameters", "arXiv:2408.03314", 2024, url="https://arxiv.org/abs/2408.03314",
              kind="misc"),
    Reference("leviathan2023speculative", "Leviathan, Yaniv and Kalman, Matan and Matias, Yossi",
              "Fast Inference from Transformers via Speculative Decoding",
              "Proceedings of ICML 2023 (PMLR 202)", 2023, url="https://arxiv.org/abs/2211.17192",
              kind="inproceedings"),
    Reference("chen2024magicdec", "Chen, Jian and Tiwari, Vashisth and Sadhukhan, Ranajoy and "
              "Chen, Zhuoming and Shi, Jinyuan and Yen, Ian En-Hsu and Chen, Beidi",
              "MagicDec: Breaking the Latency-Throughput Tradeoff for Long Context Generation "
              "with Speculative Decoding", "arXiv:2408.11049 (ICLR 2025)", 2024,
              url="https://arxiv.org/abs/2408.11049", kind="misc"),
)

_T = s.reasoning_tokens
_alpha, _gamma = s.draft_acceptance_rate, s.draft_length
_one = s.tokens_per_decode_step  # one token per decode step per sequence
_flops_per_sample = (
    s.flops_per_parameter_token * s.active_parameters * _T
    + 2 * s.attention_flops_per_pair * s.layers * s.heads * s.head_dim
    * (s.prompt_length * _T + _T * (_T + _one) / 2))

WALL = Wall(
    number=12,
    name="Reasoning",
    domain="algorithm",
    summary=(
        "Reasoning at inference time spends decode steps: a chain of thought of K steps costs K "
        "times the tokens per step times the time per output token, and best-of-N or "
        "self-consistency multiplies tokens and FLOPs by N while batching the samples keeps the "
        "latency near one chain. Speculative decoding buys back latency by accepting several "
        "drafted tokens per target pass, as long as verifying them costs about one decode step: "
        "at a batch large enough to make decode compute-bound it no longer does."
    ),
    regime="Decode-dominated generation with a mean step time over the chain; samples decoded in "
           "batches of N_c; speculative decoding with i.i.d. acceptance, the verification of "
           "gamma + 1 tokens per sequence costing v decode steps (1 while decode is "
           "memory-bound).",
    equations=(
        Equation(s.reasoning_tokens, s.reasoning_steps * s.tokens_per_reasoning_step,
                 cite="wei2022chainofthought",
                 locator="Sec. 2: a chain of thought is a series of intermediate reasoning steps"),
        Equation(s.reasoning_generated_tokens, s.reasoning_samples * s.reasoning_tokens,
                 cite="wang2023selfconsistency",
                 locator="Sec. 2: sample a diverse set of reasoning paths, then marginalise"),
        Equation(s.reasoning_flops, s.reasoning_samples * _flops_per_sample,
                 cite="kaplan2020scaling",
                 locator="Table 1: C_forward = 2N + 2 n_layer n_ctx d_attn per token",
                 note="attention summed over the growing context S_p + i, i = 1..T"),
        Equation(s.reasoning_latency,
                 sympy.ceiling(s.reasoning_samples / s.concurrent_samples) * s.reasoning_tokens
                 / _one * s.time_per_output_token,
                 cite="snell2024testtime",
                 locator="best-of-N baseline: N samples drawn in parallel, scored by a verifier",
                 note="time_per_output_token is wall 4's decode step at batch = concurrent "
                      "samples"),
        Equation(s.speculative_tokens_per_pass,
                 _one * (1 - _alpha ** (_gamma + 1)) / (1 - _alpha),
                 cite="leviathan2023speculative",
                 locator="eq. (1): E(# generated tokens) = (1 - a^(g+1)) / (1 - a)",
                 note="for alpha < 1 (gamma + 1 is its limit at 1, a draft that is the target): "
                      "no Piecewise, so E can enter the serving queue's stability condition"),
        Equation(s.speculative_speedup,
                 s.speculative_tokens_per_pass
                 / (_one * (_gamma * s.draft_cost_ratio + s.verify_cost_ratio)),
                 cite="chen2024magicdec",
                 locator="Sec. 3.1, eq. (2): T_SD / T_T = (gamma T_D / T_T + T_V(gamma) / T_T) "
                         "/ Omega(gamma, alpha)",
                 note="Leviathan et al. Theorem 3.8 is v = 1: (1 - a^(g+1)) / ((1 - a)(g c + 1))"),
        Equation(s.speculative_time_per_output_token,
                 s.time_per_output_token / s.speculative_speedup,
                 cite="chen2024magicdec",
                 locator="Sec. 3.1: T_avg = (gamma T_D + T_V(gamma)) / Omega(gamma, alpha)",
                 note="a run of gamma draft passes and one verification pass yields E tokens "
                      "(Leviathan et al. Theorem 3.8)"),
    ),
    references=("wei2022chainofthought", "wang2023selfconsistency", "snell2024testtime",
                "leviathan2023speculative", "chen2024magicdec", "kaplan2020scaling"),
)
