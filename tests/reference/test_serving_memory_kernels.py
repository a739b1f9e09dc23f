"""Memory-bound kernels of a serving forward pass (wall 4, the MoE record, continuous batching).

Per token and layer a serving pass runs two norms (read x, write y: 2 x 2 h-wide elements), two
residual adds (read 2, write 1: 2 x 3) and the FFN activation (a fused SwiGLU reads the gate and
up halves of the live width d_ff = 2 f and writes f: 1.5 d_ff), each memory-bound (Ivanov et
al. 2021 Table 1); Korthikanti et al. (MLSys 2023) Sec. 4.1 list the tensors, and Sec. 4.2.2
note that without sequence parallelism the h-wide ones are replicated over the tensor-parallel
ranks, while the FFN intermediate splits. Shapes: Llama 2 7B (32 layers, 4096 hidden, FFN 11008
gated: d_ff = 22016; Hugging Face config.json), 16-bit activations.
"""

import pytest

import mlsysim_sym as ms
from mlsysim_sym import symbols as s
from mlsysim_sym.equations import memory_kernels
from mlsysim_sym.equations.base import dimension_of

EFF = {"compute": 0.6, "memory": 0.8, "fixed_overhead": "0 ms", "unoverlapped": 0.0}
L, H, DFF = 32, 4096, 2 * 11008


def _per_token(t):
    """Hand count: L b_a (10 h t + 1.5 d_ff) bytes over a t-rank group."""
    return L * 2 * (10 * H * t + 1.5 * DFF)


def test_serving_kernel_bytes_are_bytes_per_token():
    dim = dimension_of(memory_kernels.serving_forward(), "test")
    assert dim == dimension_of(s.memory_kernel_bytes_per_token, "test")
    assert dim == dimension_of(s.kv_group_bytes_per_token, "test")


def test_counts_are_the_fused_inference_set_of_the_table():
    # 2 norms (2 x 2) + 2 residual adds (2 x 3) = 10 h-wide elements; SwiGLU 3 f = 1.5 d_ff
    assert memory_kernels.SERVING_RESIDUAL_COUNT == 10
    assert float(memory_kernels.SERVING_ACTIVATION_COUNT) == 1.5


@pytest.mark.parametrize("tp", [1, 2, 4])
def test_llama2_7b_kernel_bytes_by_hand(tp):
    # t = 1: 32 x 2 B x (40960 + 33024) = 4 734 976 B/token; the h-wide part per rank, so the
    # group total grows by 32 x 2 x 40960 = 2 621 440 B/token per extra rank
    r = ms.predict("llama-2-7b", "h100", batch=4, seq_len=1024, efficiency=EFF, tp=tp)
    got = r.value("decode_bytes") / 8      # bits -> B
    n = ms.registry.model("llama-2-7b").parameters.to("param").magnitude
    weights = (n - 32000 * 4096 + 4 * 4096) * 2
    kv = r.kv_cache.to("B").magnitude
    assert got == pytest.approx(weights + kv + 4 * _per_token(tp), rel=1e-12)
    assert _per_token(1) == pytest.approx(4_734_976, rel=1e-12)


def test_prefill_pays_the_kernel_bytes_of_every_prompt_token():
    # Llama 2 7B fp16, batch 2 x 100-token prompts, one device: the weights (100 x 2 rows of
    # the untied embedding), the KV written and 200 tokens' kernel bytes
    r = ms.predict("llama-2-7b", "h100", batch=2, seq_len=100, phase="prefill", efficiency=EFF)
    n = ms.registry.model("llama-2-7b").parameters.to("param").magnitude
    want = ((n - 32000 * 4096 + 200 * 4096) * 2 + 200 * 2 * 32 * 32 * 128 * 2
            + 200 * _per_token(1))
    assert r.value("prefill_bytes") / 8 == pytest.approx(want, rel=1e-12)


def test_tensor_parallel_ranks_each_pay_the_residual_stream():
    # per rank: t = 8 divides the weights and the FFN share, not the h-wide kernels: the
    # memory time of a large decode batch falls by less than 8x
    one = ms.predict("llama-2-7b", "h100", batch=512, seq_len=256, efficiency=EFF)
    eight = ms.predict("llama-2-7b", "h100", batch=512, seq_len=256, efficiency=EFF, tp=8)
    ratio = one.value("decode_memory_time") / eight.value("decode_memory_time")
    assert 1 < ratio < 8
    per_rank_kernels = 512 * L * 2 * (10 * H + 1.5 * DFF / 8)
    assert eight.value("decode_bytes") / 8 / 8 == pytest.approx(
        (one.value("decode_bytes") / 8 - 512 * _per_token(1)) / 8 + per_rank_kernels, rel=1e-9)


def test_loaded_step_charges_the_kernel_bytes_per_token():
    # the continuous-batching record: a request's memory time holds the KV traffic, the rows of
    # its tokens (none here: no lookup table) and the kernel bytes of its n_out decode and n_in
    # prompt tokens, at the memory roof (Llama 3 8B shape, t = 1, H100 3.35 TB/s x 0.8)
    from mlsysim_sym.tasks._core.inputs import NO_SPECULATION
    from mlsysim_sym.tasks.serving import serving_system
    from mlsysim_sym.units import Q_
    values = dict(parameters=Q_(8.03e9, "param"), active_parameters=Q_(8.03e9, "param"),
                  layers=32, heads=32, kv_heads=8, head_dim=128, hidden=4096,
                  ffn_width=2 * 14336, embedding_parameters=0, embedding_row_width=0,
                  dequantized_share=0, head_parameters=0, vocab_bytes_per_parameter=2,
                  head_peak_share=1, memory_bandwidth=Q_(3.35, "TB/s"),
                  memory_efficiency=0.8, kv_bytes_per_element=Q_(2, "B"),
                  activation_bytes_per_element=Q_(2, "B"), bytes_per_parameter=Q_(2, "B/param"),
                  tensor_parallel=1, prompt_length=Q_(1024, "token"),
                  output_length=Q_(128, "token"), prefix_cache_hit_rate=0.0,
                  attention_data_parallel=1, **NO_SPECULATION)
    k = serving_system().compile(["request_memory_time", "memory_kernel_bytes_per_token"])
    ev = k.evaluate(**{n: values[n] for n in k.input_names})
    per_token = 32 * 2 * (10 * 4096 + 1.5 * 2 * 14336)          # 5 373 952 B/token
    assert ev.quantity("memory_kernel_bytes_per_token").to("B/token").magnitude == \
        pytest.approx(per_token, rel=1e-12)
    kv = 131072 * (128 * (1024 + 64) + 1024)                    # B: reads + the prompt's writes
    want = (kv + per_token * (128 + 1024)) / (3.35e12 * 0.8)
    assert ev.quantity("request_memory_time").to("s").magnitude == pytest.approx(want, rel=1e-12)
