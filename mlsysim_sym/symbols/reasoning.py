"""Symbols of wall 12 (Reasoning): inference-time compute (chains of thought, sampling,
speculative decoding). Decode-step time is wall 4's ``time_per_output_token``."""

from .base import declare

reasoning_steps = declare("reasoning_steps", "dimensionless", r"K",
                          "reasoning steps in one chain of thought", (1, 1e6))
tokens_per_reasoning_step = declare("tokens_per_reasoning_step", "token", r"t_{K}",
                                    "tokens generated per reasoning step", (1, 1e6))
reasoning_tokens = declare("reasoning_tokens", "token", r"T_{\mathrm{gen}}",
                           "tokens one sample generates (K x tokens per step)", (0, 1e12))
reasoning_samples = declare("reasoning_samples", "dimensionless", r"N_{s}",
                            "independent samples per query (best-of-N, self-consistency)",
                            (1, 1e5), integer=True)
concurrent_samples = declare("concurrent_samples", "dimensionless", r"N_{c}",
                             "samples decoded together in one batch (1 = one after another)",
                             (1, 1e5), integer=True)
reasoning_generated_tokens = declare("reasoning_generated_tokens", "token", r"T_{\mathrm{tot}}",
                                     "tokens generated for one query over all samples", (0, 1e15))
reasoning_flops = declare("reasoning_flops", "FLOP", r"W_{\mathrm{reason}}",
                          "decode FLOPs of one query over all samples (weights + attention)",
                          (0, 1e30))
reasoning_latency = declare("reasoning_latency", "s", r"T_{\mathrm{reason}}",
                            "wall time to generate all samples of one query", (0, 1e12))
draft_acceptance_rate = declare(
    "draft_acceptance_rate", "dimensionless", r"\alpha",
    "expected probability the target model accepts a drafted token (Leviathan et al. Def. 3.2; "
    "below one)",
    (0, 1))
draft_length = declare("draft_length", "dimensionless", r"\gamma",
                       "tokens the draft model proposes per target pass (0: no speculation)",
                       (0, 128), integer=True)
draft_cost_ratio = declare("draft_cost_ratio", "dimensionless", r"c",
                           "time of one draft-model step over one target-model step "
                           "(Leviathan et al. Def. 3.7)", (0, 1))
verify_cost_ratio = declare("verify_cost_ratio", "dimensionless", r"v",
                            "time of the target's pass verifying gamma drafted tokens over one "
                            "decode step (MagicDec T_V(gamma)/T_T; 1 when decode is "
                            "memory-bound, Leviathan et al.'s assumption)", (0, 1e3))
speculative_tokens_per_pass = declare(
    "speculative_tokens_per_pass", "token", r"E[\#\mathrm{tokens}]",
    "expected tokens produced per target-model pass (accepted drafts + 1)", (0, 1e3))
speculative_speedup = declare("speculative_speedup", "dimensionless", r"S_{\mathrm{spec}}",
                              "expected walltime improvement factor of speculative decoding",
                              (0, 1e3))
speculative_time_per_output_token = declare(
    "speculative_time_per_output_token", "ms", r"T_{\mathrm{TPOT}}^{\mathrm{spec}}",
    "expected time per output token with speculative decoding", (0, 1e12))
