"""Embedding reads per token (wall 4, the MoE record, continuous batching).

A decode or prefill step reads every weight once (Pope et al. 2023 Sec. 2.1), except the input
lookup tables: an embedding lookup gathers one row of d weights per token (Vaswani et al. 2017
Sec. 3.4), so a step reads of an untied token embedding only its tokens' rows, at most the
whole table. An LM head tied to the embedding is a matmul over the whole table, which is then
read once, in full. The table still resides in memory. Shapes from the models' Hugging Face
config.json: Llama 2 7B vocab 32000 x hidden 4096 (untied), Llama 3.2 1B 128256 x 2048 (tied),
Mixtral 8x7B 32000 x 4096 (untied), DeepSeek-V3 129280 x 7168 (untied), GPT-3 175B a learned
2048 x 12288 position table (tied token embedding).
"""

import pytest

import mlsysim_sym as ms
from mlsysim_sym import symbols as s
from mlsysim_sym.equations.base import dimension_of
from mlsysim_sym.equations.serving import streamed_weight_bytes
from mlsysim_sym.tasks._core.inputs import embedding_tables

EFF = {"compute": 0.6, "memory": 0.8, "fixed_overhead": "0 ms", "unoverlapped": 0.0}


def _b(q):
    return q.to("B").magnitude


def _kernels(r, tokens):
    """B of the tokens' memory-bound kernels on one device (wall 4, Korthikanti et al. Sec. 4.1:
    2 norms, 2 residual adds, the FFN activation): L x 2 B x (10 d + 1.5 d_ff) per token."""
    v = r.base_inputs()
    return tokens * v["layers"] * 2 * (10 * v["hidden"] + 1.5 * v["ffn_width"])


def test_streamed_weight_bytes_are_bytes():
    dim = dimension_of(streamed_weight_bytes(s.batch * s.tokens_per_decode_step), "test")
    assert dim == dimension_of(s.weight_bytes, "test")


@pytest.mark.parametrize("model, table, width", [
    ("llama-2-7b", 32000 * 4096, 4096),          # untied token embedding
    ("llama-3-8b", 128256 * 4096, 4096),
    ("mixtral-8x7b", 32000 * 4096, 4096),        # MoE
    ("deepseek-v3", 129280 * 7168, 7168),        # MoE with MLA
    ("llama-3-2-1b", 0, 0),                      # tied: read whole as the LM head
    ("gpt-3-175b", 2048 * 12288, 12288),         # tied tokens, learned positions
    ("mamba-2-8b", 0, 0),                        # SSM, tied
])
def test_lookup_tables_of_each_family(model, table, width):
    e = embedding_tables(ms.registry.model(model))
    assert e["embedding_parameters"].to("param").magnitude == table
    assert e["embedding_row_width"].to("param/token").magnitude == width


def test_dense_decode_reads_one_row_per_token_of_an_untied_table():
    # Llama 2 7B fp16, batch 4 at 1024 tokens: (N - 32000 x 4096 + 4 x 4096) x 2 B + KV
    r = ms.predict("llama-2-7b", "h100", batch=4, seq_len=1024, efficiency=EFF)
    n = ms.registry.model("llama-2-7b").parameters.to("param").magnitude
    want = (n - 32000 * 4096 + 4 * 4096) * 2 + _b(r.kv_cache) + _kernels(r, 4)
    assert r.value("decode_bytes") / 8 == pytest.approx(want, rel=1e-12)   # bits -> B
    # the table still resides: the footprint holds every weight
    assert _b(r.weights) == pytest.approx(n * 2, rel=1e-12)


def test_a_tied_table_is_read_whole_as_the_lm_head():
    r = ms.predict("llama-3-2-1b", "h100", batch=4, seq_len=1024, efficiency=EFF)
    assert r.value("decode_bytes") / 8 == pytest.approx(
        _b(r.weights) + _b(r.kv_cache) + _kernels(r, 4), rel=1e-12)


def test_a_long_prefill_reads_at_most_the_whole_table():
    # 64 x 1024 prompt tokens look up 65536 rows > the 32000 of the table: all of it is read
    r = ms.predict("llama-2-7b", "h100", batch=64, seq_len=1024, phase="prefill", efficiency=EFF)
    kv_written = 64 * 1024 * 2 * 32 * 32 * 128 * 2          # B: K and V, 32 layers, 32 heads
    assert r.value("prefill_bytes") / 8 == pytest.approx(
        _b(r.weights) + kv_written + _kernels(r, 64 * 1024), rel=1e-12)
    short = ms.predict("llama-2-7b", "h100", batch=1, seq_len=100, phase="prefill",
                       efficiency=EFF)
    n = ms.registry.model("llama-2-7b").parameters.to("param").magnitude
    assert short.value("prefill_bytes") / 8 == pytest.approx(
        (n - 32000 * 4096 + 100 * 4096) * 2 + 100 * 2 * 32 * 32 * 128 * 2
        + _kernels(short, 100), rel=1e-12)


@pytest.mark.parametrize("model", ["mixtral-8x7b", "deepseek-v3"])
def test_moe_decode_reads_the_rows_of_its_tokens(model):
    # (dense - N_e - N_h + L (E_s + touched) P_e) b + (N_h + B w_e) b_v + KV, DeepSeek-V3
    # through the MLA record; at fp8 the vocabulary tables (LM head, embedding rows) are read at
    # 16 bits (ModelOpt excludes lm_head, vLLM's Fp8Config quantises LinearBase layers only)
    r = ms.predict(model, "h100", batch=8, seq_len=1024, precision="fp8", efficiency=EFF)
    v = r.base_inputs()
    assert v["vocab_bytes_per_parameter"] == 2 * v["bytes_per_parameter"]
    weights = ((v["moe_dense_parameters"] - v["embedding_parameters"] - v["head_parameters"]
                + v["moe_layers"] * (v["moe_shared_experts"]
                                     + r.value("moe_decode_experts_touched"))
                * v["moe_expert_parameters"]) * v["bytes_per_parameter"]
               + (v["head_parameters"] + 8 * v["embedding_row_width"])
               * v["vocab_bytes_per_parameter"])
    kernels = 8 * v["layers"] * v["activation_bytes_per_element"] * (
        10 * v["hidden"] + 1.5 * v["ffn_width"])
    assert r.value("moe_decode_bytes") == pytest.approx(
        weights + r.value("kv_cache_bytes") + kernels, rel=1e-12)
    e = embedding_tables(ms.registry.model(model))
    assert v["embedding_parameters"] == e["embedding_parameters"].to("param").magnitude > 0


def test_serve_charges_the_rows_per_token_not_the_table():
    # at a vanishing load a continuous-batching step reads the weights but the table
    kw = dict(qps=1e-9, input_tokens=512, output_tokens=64, efficiency=EFF)
    r = ms.serve("llama-2-7b", "h100", **kw)
    v = r.base_inputs()
    n = ms.registry.model("llama-2-7b").parameters.to("param").magnitude
    step = (n - 32000 * 4096) * 16 / (v["memory_bandwidth"] * 0.8)
    assert r.time_per_output_token.to("s").magnitude == pytest.approx(step, rel=1e-6)
