"""Attention data parallelism in serving (``serve(attention_dp=True)``, TensorRT-LLM
``enable_attention_dp``): identities and hand-computed values.

What TensorRT-LLM does under attention DP (NVIDIA/TensorRT-LLM, PyTorch backend):
``tensorrt_llm/_torch/models/modeling_llama.py`` builds Llama 4's shared expert and dense MLPs
with ``overridden_tp_size=1``, ``modules/embedding.py`` leaves the embedding and LM head unsplit
("Attention DP doesn't work with embedding parallelization"), and the KV-cache manager
(``pyexecutor/resource_manager.py``) sizes each rank's cache with ``tp_size = 1``: every KV head
of its own requests. The routed experts stay split over the group.

Shapes: Llama 4 Maverick (NeMo Llama4Config / HF text_config: 48 layers, hidden 5120, 40 heads,
8 KV heads, head_dim 128, dense MLP 16384 on 24 layers, 24 MoE layers of 128 routed + 1 shared
SwiGLU experts of width 8192, vocabulary 202,048, untied embeddings). Qwen3-235B-A22B (HF
config.json: 94 layers, 4 KV heads, head_dim 128).
"""

import pytest

import mlsysim_sym as ms

LOAD = dict(qps=1e-6, input_tokens=128, output_tokens=2048, tp=8, precision="fp8",
            memory_reserve=0.95, stack="trt_llm", batch=64)


def _routed_maverick():
    # 24 MoE layers x 128 routed experts x 3 x 5120 x 8192 (gate, up, down)
    return 24 * 128 * 3 * 5120 * 8192


def _replicated_maverick_by_hand():
    attention = 48 * 5120 * (2 * 40 * 128 + 2 * 8 * 128)   # q, o + k, v: 3.0199e9
    dense_mlp = 24 * 3 * 5120 * 16384                      # 6.0398e9
    shared = 24 * 3 * 5120 * 8192                          # 3.0199e9
    embeddings = 2 * 202048 * 5120                         # 2.0690e9 (input table + LM head)
    return attention + dense_mlp + shared + embeddings     # 14.149e9 (+ routers and norms)


def test_attention_dp_false_is_the_plain_tensor_parallel_result():
    for model in ("llama-4-maverick", "llama-3-70b"):
        plain = ms.serve(model, "h100", **LOAD)
        off = ms.serve(model, "h100", attention_dp=False, **LOAD)
        for name in ("capacity", "time_per_output_token", "ttft", "memory_footprint"):
            assert getattr(off, name) == getattr(plain, name)


def test_memory_per_gpu_grows_by_the_replicated_bytes():
    # batch capped at 64 on both sides and H_kv = t = 8: the KV cache per rank is unchanged, so
    # the footprint per GPU grows by the replicated weights' bytes x (t - 1)/t: 1 byte each at
    # fp8, but 2 for the vocabulary tables (embedding and LM head, 2 x 202048 x 5120), which the
    # engines keep at 16 bits (ModelOpt's FP8 export excludes lm_head)
    plain = ms.serve("llama-4-maverick", "h100", **LOAD)
    dp = ms.serve("llama-4-maverick", "h100", attention_dp=True, **LOAD)
    values = dp.loaded_inputs
    assert values["attention_data_parallel"] == 8
    assert values["sharded_parameters"] == pytest.approx(_routed_maverick(), rel=1e-12)
    replicated = values["parameters"] - values["sharded_parameters"]
    # routers (24 x 5120 x 128) and the RMSNorm weights are the rest: within 0.2%
    assert replicated == pytest.approx(_replicated_maverick_by_hand(), rel=2e-3)
    vocab = 2 * 202048 * 5120
    assert values["embedding_parameters"] + values["head_parameters"] == vocab
    grown = (dp.memory_footprint - plain.memory_footprint).to("byte").magnitude
    assert grown == pytest.approx((replicated + vocab) * 7 / 8, rel=1e-9)   # ~14.2 GB per GPU
    assert grown == pytest.approx(14.2e9, rel=0.01)


def test_fewer_kv_slots_and_a_lower_capacity_when_kv_bound():
    # Maverick on 8 x H100 80GB is KV-bound at saturation: 12.4 GB less room per GPU
    load = dict(LOAD, batch=None)
    plain = ms.serve("llama-4-maverick", "h100", **load)
    dp = ms.serve("llama-4-maverick", "h100", attention_dp=True, **load)
    assert dp.batch < plain.batch
    assert dp.capacity < plain.capacity


def test_kv_heads_are_not_replicated_when_t_exceeds_them():
    # Qwen3-235B-A22B: 4 KV heads on t = 8. Under TP each rank holds Max(4/8, 1) = 1 head, the
    # group 8; under attention DP each request's 4 heads live on one rank: half the KV bytes
    # per token over the group. Footprint difference at 64 slots of 2176 tokens:
    # replicated weights x (t - 1)/t + 64 x 2176 x (4 - 8) x 2 x 94 x 128 x b_kv / t
    plain = ms.serve("qwen3-235b-a22b", "h100", **LOAD)
    dp = ms.serve("qwen3-235b-a22b", "h100", attention_dp=True, **LOAD)
    v = dp.loaded_inputs
    b_kv = v["kv_bytes_per_element"] / 8.0        # bits -> bytes (base unit: bit)
    # the replicated weights at 1 byte (fp8), their vocabulary tables (2 x 151936 x 4096:
    # embedding and LM head) at 2 (the engines keep them at 16 bits)
    vocab = v["embedding_parameters"] + v["head_parameters"]
    assert vocab == 2 * 151936 * 4096
    replicated = ((v["parameters"] - v["sharded_parameters"] - vocab) * v["bytes_per_parameter"]
                  + vocab * v["vocab_bytes_per_parameter"]) / 8.0
    kv_change = 64 * 2176 * (4 - 8) * 2 * 94 * 128 * b_kv / 8
    grown = (dp.memory_footprint - plain.memory_footprint).to("byte").magnitude
    assert grown == pytest.approx(replicated * 7 / 8 + kv_change, rel=1e-9)


@pytest.mark.parametrize("bad", ["yes", 1, None, [True]])
def test_attention_dp_must_be_a_bool(bad):
    with pytest.raises(ValueError, match="attention_dp must be True or False"):
        ms.serve("llama-4-maverick", "h100", attention_dp=bad, **LOAD)


def test_disaggregated_serving_refuses_attention_dp():
    with pytest.raises(ValueError, match="attention_dp"):
        ms.serve("llama-4-maverick", "h100", qps=1, input_tokens=128, output_tokens=128, tp=8,
                 prefill_replicas=1, decode_replicas=1, attention_dp=True)
