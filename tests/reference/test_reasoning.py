"""Wall 12 (Reasoning): chains of thought, best-of-N and speculative decoding.

Published values used: Leviathan, Kalman, Matias (ICML 2023) eq. (1) and Theorem 3.8, Corollary
3.9 (at gamma = 1 the improvement is (1 + alpha) / (1 + c)), and their Table 2 (T5-XXL EnDe
target, argmax, gamma = 7): T5-small draft alpha = 0.75, 3.4X; T5-base alpha = 0.80, 2.8X;
T5-large alpha = 0.82, 1.7X. Llama-3-8B shape and H100 numbers as in test_serving_reference.py.
"""

import math

import pytest

from mlsysim_sym.equations import walls
from mlsysim_sym.system import System
from mlsysim_sym.units import Q_

SYSTEM = System.from_walls(walls.reasoning)


def evaluate(system, outputs, **values):
    k = system.compile(outputs)
    return k.evaluate(**{n: values[n] for n in k.input_names})


CHAIN = dict(reasoning_steps=10, tokens_per_reasoning_step=Q_(50, "token"),
             time_per_output_token=Q_(5, "ms"), reasoning_samples=8)


def test_chain_of_thought_latency_by_hand():
    # 10 steps x 50 tokens = 500 tokens x 5 ms = 2.5 s; 8 samples in one batch: 2.5 s
    ev = evaluate(SYSTEM, ["reasoning_tokens", "reasoning_generated_tokens", "reasoning_latency"],
                  concurrent_samples=8, **CHAIN)
    assert ev.quantity("reasoning_tokens").to("token").magnitude == 500
    assert ev.quantity("reasoning_generated_tokens").to("token").magnitude == 4000
    assert ev.quantity("reasoning_latency").to("s").magnitude == pytest.approx(2.5)
    # one at a time: 8 x 2.5 = 20 s; three at a time: ceil(8/3) = 3 rounds = 7.5 s
    for conc, expect in ((1, 20.0), (3, 7.5)):
        ev = evaluate(SYSTEM, ["reasoning_latency"], concurrent_samples=conc, **CHAIN)
        assert ev.quantity("reasoning_latency").to("s").magnitude == pytest.approx(expect)


def test_reasoning_flops_by_hand():
    # weights: 2 x 8.03e9 x 500 = 8.03e12
    # attention: 4 L H d_h (S_p T + T (T+1)/2) = 4 x 32 x 32 x 128 x (1000 x 500 + 500 x 501 / 2)
    #          = 524288 x 625250 = 3.27811072e11
    # per sample 8.357811072e12; x 8 samples = 6.6862488576e13
    ev = evaluate(SYSTEM, ["reasoning_flops"], active_parameters=Q_(8.03e9, "param"), layers=32,
                  heads=32, head_dim=128, prompt_length=Q_(1000, "token"), **CHAIN)
    assert ev.quantity("reasoning_flops").to("FLOP").magnitude == pytest.approx(6.6862488576e13)


def test_best_of_8_in_one_batch_costs_little_latency_on_memory_bound_decode():
    # Compose with walls 1, 2, 4: Llama-3-8B on H100 at fp16, context 1500 tokens.
    # batch 1: (16.06e9 + 2x32x8x128x1500x2 = 0.196608e9) B / 3.35e12 B/s = 4.8527 ms
    # batch 8: (16.06e9 + 8 x 0.196608e9) / 3.35e12 = 5.2635 ms -> 8x the tokens for +8.5% time
    # plus each token's memory-bound kernels (wall 4: 32 x 2 B x (10 x 4096 + 1.5 x 28672) =
    # 0.005373952e9 B): 4.8543 and 5.2764 ms, +8.7%
    S = System.from_walls(walls.compute, walls.memory, walls.serving, walls.reasoning)
    common = dict(parameters=Q_(8.03e9, "param"), active_parameters=Q_(8.03e9, "param"),
                  layers=32, heads=32, kv_heads=8, head_dim=128, peak_flops=Q_(989.4, "TFLOP/s"),
                  memory_bandwidth=Q_(3.35, "TB/s"), matmul_ceiling=1.0,  # datasheet-peak arithmetic
                  bytes_per_parameter=Q_(2, "B/param"),
                  kv_bytes_per_element=Q_(2, "B"), compute_efficiency=1.0, memory_efficiency=1.0,
                  fixed_overhead=Q_(0, "ms"), context_length=Q_(1500, "token"),
                  reasoning_steps=10, tokens_per_reasoning_step=Q_(50, "token"),
                  # one device: wall 4's tensor-parallel all-reduces are exactly zero
                  hidden=4096, ffn_width=2 * 14336, activation_bytes_per_element=Q_(2, "B"),
                  tensor_parallel=1,
                  scale_up_bandwidth=Q_(450, "GB/s"), scale_up_latency=Q_(5, "us"),
                  scale_up_peer_access=0, allreduce_fixed_time=Q_(0, "us"),
                  communication_efficiency=1.0, unoverlapped_fraction=0.0,
                  # a pure decode step within vLLM's token budget
                  prefill_chunk_tokens=Q_(0, "token"), max_batched_tokens=Q_(8192, "token"),
                  prompt_length=Q_(1500, "token"), prefix_cache_hit_rate=0.0,
                  attention_data_parallel=1,
                  # every weight read whole (no untied lookup table), stored at the compute width
                  embedding_parameters=0, embedding_row_width=0, dequantized_share=0.0,
                  head_parameters=0, vocab_bytes_per_parameter=2, head_peak_share=1)
    one = evaluate(S, ["reasoning_latency"], batch=1, reasoning_samples=1, concurrent_samples=1,
                   **common).quantity("reasoning_latency").to("s").magnitude
    eight = evaluate(S, ["reasoning_latency"], batch=8, reasoning_samples=8, concurrent_samples=8,
                     **common).quantity("reasoning_latency").to("s").magnitude
    per_sequence = 0.196608e9 + 0.005373952e9
    assert one == pytest.approx(500 * (16.06e9 + per_sequence) / 3.35e12)
    assert eight == pytest.approx(500 * (16.06e9 + 8 * per_sequence) / 3.35e12)
    assert eight / one == pytest.approx(1.0869, abs=1e-4)


def test_speculative_decoding_by_hand():
    # alpha 0.8, gamma 5: (1 - 0.8^6) / 0.2 = (1 - 0.262144) / 0.2 = 3.68928 tokens per pass
    # c = 0.05, v = 1 (Leviathan's memory-bound verification): 3.68928 / (5 x 0.05 + 1)
    # = 2.951424; TPOT 5 ms -> 1.694101 ms
    ev = evaluate(SYSTEM, ["speculative_tokens_per_pass", "speculative_speedup",
                           "speculative_time_per_output_token"],
                  draft_acceptance_rate=0.8, draft_length=5, draft_cost_ratio=0.05,
                  verify_cost_ratio=1.0, time_per_output_token=Q_(5, "ms"))
    assert ev.quantity("speculative_tokens_per_pass").to("token").magnitude == pytest.approx(3.68928)
    assert ev.quantity("speculative_speedup").magnitude == pytest.approx(2.951424)
    assert ev.quantity("speculative_time_per_output_token").to("ms").magnitude == pytest.approx(
        5 / 2.951424)


def test_acceptance_near_one_tends_to_gamma_plus_one():
    # alpha < 1 (the formula has no Piecewise, so it can enter the serving queue's stability
    # condition); its limit at alpha -> 1 is gamma + 1 = 8 drafted-and-bonus tokens
    ev = evaluate(SYSTEM, ["speculative_tokens_per_pass"], draft_acceptance_rate=1 - 1e-9,
                  draft_length=7)
    assert ev.quantity("speculative_tokens_per_pass").to("token").magnitude == pytest.approx(
        8, rel=1e-6)


def test_magicdec_eq2_verification_cost_divides_the_speedup():
    # MagicDec eq. (2): speed-up = E / (gamma c + v). alpha 0.7, gamma 4: E = (1 - 0.7^5) / 0.3
    # = (1 - 0.16807) / 0.3 = 2.7731; c = 0.1, v = 3 (a compute-bound verification of 5 positions
    # at 3 decode steps): 2.7731 / (0.4 + 3) = 0.81562 < 1
    ev = evaluate(SYSTEM, ["speculative_speedup"], draft_acceptance_rate=0.7, draft_length=4,
                  draft_cost_ratio=0.1, verify_cost_ratio=3.0)
    assert ev.quantity("speculative_speedup").magnitude == pytest.approx(
        (1 - 0.7 ** 5) / 0.3 / 3.4, rel=1e-12)
    assert ev.quantity("speculative_speedup").magnitude == pytest.approx(0.81562, abs=1e-5)


@pytest.mark.parametrize("alpha,c", [(0.3, 0.1), (0.6, 0.05), (0.9, 0.5)])
def test_corollary_3_9_at_gamma_one(alpha, c):
    ev = evaluate(SYSTEM, ["speculative_speedup"], draft_acceptance_rate=alpha, draft_length=1,
                  draft_cost_ratio=c, verify_cost_ratio=1.0)
    assert ev.quantity("speculative_speedup").magnitude == pytest.approx((1 + alpha) / (1 + c))


def test_leviathan_table2_speedups_imply_growing_draft_cost():
    # Theorem 3.8 at c = 0 bounds each measured speedup; solving for c gives the draft cost the
    # measurement implies, which must grow with draft size (small < base < large).
    implied = []
    for alpha, measured in ((0.75, 3.4), (0.80, 2.8), (0.82, 1.7)):
        bound = evaluate(SYSTEM, ["speculative_speedup"], draft_acceptance_rate=alpha,
                         draft_length=7, draft_cost_ratio=0.0,
                         verify_cost_ratio=1.0).quantity("speculative_speedup").magnitude
        assert measured <= bound
        implied.append((bound / measured - 1) / 7)
    assert implied == sorted(implied) and 0 < implied[0] < 0.02 and implied[2] < 1
    # sanity of the bound for the T5-small draft: (1 - 0.75^8) / 0.25 = 3.5995
    assert (1 - 0.75 ** 8) / 0.25 == pytest.approx(3.59955, abs=1e-5)
    assert not math.isnan(implied[0])
