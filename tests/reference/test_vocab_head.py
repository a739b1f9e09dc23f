"""The vocabulary tables and the LM head in serving, by hand.

Sources: NVIDIA ModelOpt's FP8 export writes ``exclude_modules: ['lm_head']`` into the
checkpoint's hf_quant_config.json (modelopt/torch/export/convert_hf_config.py, FP8 example);
vLLM's ``Fp8Config.get_quant_method`` quantises ``LinearBase`` layers, ``FusedMoE`` and the KV
cache only, so ``ParallelLMHead`` (a ``VocabParallelEmbedding``) and the token embedding keep the
model's 16-bit dtype (vllm/model_executor/layers/quantization/fp8.py); vLLM's GPU model runner
computes logits only at ``logits_indices = query_start_loc[1:] - 1``, each request's last
scheduled token (vllm/v1/worker/gpu_model_runner.py). Llama 3.1 8B: vocabulary 128256, hidden
4096 (525,336,576 weights per table, untied), 8,030,261,248 weights in all; H100 SXM: 1979
TFLOP/s at FP8, 989.5 TFLOP/s at BF16 (the registry's datasheet peaks).
"""

import pytest

import mlsysim_sym as ms
from mlsysim_sym.tasks.serving import serving_system
from mlsysim_sym.units import Q_

N, TABLE = 8_030_261_248, 128256 * 4096


def test_the_tables_are_16_bit_at_fp8_and_the_rest_one_byte():
    r = ms.predict("llama-3-1-8b", "h100", batch=1, seq_len=1024, precision="fp8")
    v = r.base_inputs()
    assert v["head_parameters"] == v["embedding_parameters"] == TABLE == 525_336_576
    # bits per weight (base unit): 8 for the blocks, 16 for the embedding and the LM head
    assert (v["bytes_per_parameter"], v["vocab_bytes_per_parameter"]) == (8.0, 16.0)
    # footprint: (N - 2 V d) x 1 B + 2 V d x 2 B = N + 2 V d = 9,080,934,400 B
    assert r.weights.to("B").magnitude == pytest.approx(N + 2 * TABLE, rel=1e-12)
    # at fp16 every weight is 2 B (the tables too): 2 N
    f16 = ms.predict("llama-3-1-8b", "h100", batch=1, seq_len=1024, precision="fp16")
    assert f16.weights.to("B").magnitude == pytest.approx(2 * N, rel=1e-12)


def test_a_decode_step_reads_the_head_at_2_bytes():
    # the same step with the tables at 1 B differs by the LM head read whole (V d) plus the
    # batch's embedding rows (8 x 4096), 1 B more each
    r = ms.predict("llama-3-1-8b", "h100", batch=8, seq_len=1024, precision="fp8")
    v = r.base_inputs()
    k = serving_system().compile(["decode_bytes"])
    base = {**v, "vocab_bytes_per_parameter": 8.0}          # base units: bits per weight
    (narrow,) = k.raw(*[base[n] for n in k.input_names])
    assert (r.value("decode_bytes") - narrow) / 8 == pytest.approx(TABLE + 8 * 4096, rel=1e-9)


def test_head_peak_share_is_the_16_bit_over_the_fp8_peak():
    fp8 = ms.predict("llama-3-1-8b", "h100", precision="fp8").base_inputs()["head_peak_share"]
    assert fp8 == pytest.approx(989.5 / 1979, rel=1e-12)
    assert ms.predict("llama-3-1-8b", "h100").base_inputs()["head_peak_share"] == 1.0
    # MI300X: 1307.4 / 2614.9 TFLOP/s (dense BF16 over dense FP8)
    mi = ms.predict("llama-3-1-8b", "mi300x", precision="fp8").base_inputs()["head_peak_share"]
    assert mi == pytest.approx(1307.4 / 2614.9, rel=1e-12)


def test_decode_compute_charges_the_head_at_its_own_peak():
    # a compute-bound decode step of 1000 tokens by hand: N_a = 8e9 of which N_h = 5e8, peak
    # 2000 TFLOP/s, ceiling and efficiency 1: blocks 2 x 7.5e9 x 1000 / 2e15 = 7.5 ms; head
    # 2 x 5e8 x 1000 / (2e15 x 0.5) = 1 ms; attention 4 L H d_h S B = 4 x 1000 FLOPs at the peak
    k = serving_system().compile(["decode_compute_time"])
    values = dict(active_parameters=Q_(8e9, "param"), head_parameters=Q_(5e8, "param"),
                  layers=1, heads=1, kv_heads=1, head_dim=1, batch=1000,
                  context_length=Q_(1, "token"), prompt_length=Q_(1, "token"),
                  prefill_chunk_tokens=Q_(0, "token"), prefix_cache_hit_rate=0,
                  peak_flops=Q_(2000, "TFLOP/s"), matmul_ceiling=1.0, compute_efficiency=1.0,
                  head_peak_share=0.5, tensor_parallel=1, attention_data_parallel=1)
    t = k.evaluate(**{n: values[n] for n in k.input_names}).quantity("decode_compute_time")
    assert t.to("s").magnitude == pytest.approx(7.5e-3 + 1e-3 + 4000 / 2e15, rel=1e-12)
    # at share 1 (fp16) the head is one more GEMM at the ceiling: 8 ms
    values["head_peak_share"] = 1.0
    t = k.evaluate(**{n: values[n] for n in k.input_names}).quantity("decode_compute_time")
    assert t.to("s").magnitude == pytest.approx(8e-3 + 4000 / 2e15, rel=1e-12)


def test_a_prompt_runs_the_head_on_its_last_token_only():
    # Llama 3.1 8B, 2 prompts of 1000 tokens: 2 (N_a - N_h) per prompt token (N_a = N for a
    # dense model, as the registry counts it) plus 2 N_h per prompt (its last token's logits);
    # attention 2 L H d_h S^2 per prompt
    r = ms.predict("llama-3-1-8b", "h100", batch=2, seq_len=1000, phase="prefill")
    dense = 2 * (N - TABLE) * 1000 * 2 + 2 * TABLE * 2
    attention = 2 * 32 * 32 * 128 * 1000 ** 2 * 2
    assert r.prefill_flops.to("FLOP").magnitude == pytest.approx(dense + attention, rel=1e-12)
    # a decode token computes its logits: 2 N_a + 4 L H d_h S
    d = ms.predict("llama-3-1-8b", "h100", batch=2, seq_len=1000)
    assert d.value("decode_flops") == pytest.approx(
        2 * (2 * N + 4 * 32 * 32 * 128 * 1000), rel=1e-12)
