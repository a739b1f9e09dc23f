"""The project's vocabulary: number formats, model families, hardware tiers, regimes.

One place that knows what a precision is (its storage width, whether it is a floating-point or
an integer format, whether it is the 16-bit format GEMMs are quoted at, whether it trains in
mixed precision), which model families and hardware tiers the registry knows, and the regimes a
default efficiency can differ by. Everything else (registry schema, task functions, defaults,
CLI) imports these names; nothing here imports anything of ours, so the lowest layers may use it.

The widths are definitions of the formats (IEEE 754 binary64/32/16; bfloat16; NVIDIA TF32 is
stored in 32 bits; OCP 8-bit floating point (E4M3/E5M2), OCP Microscaling formats FP6/FP4;
two's-complement int8/int4), not measurements.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Precision", "PRECISIONS", "PRECISION_BITS", "NATIVE_16BIT", "MIXED_PRECISIONS",
           "TRAINING_PRECISIONS", "FAMILIES", "HARDWARE_TIERS", "REGIMES", "ZERO_STAGES",
           "precision", "ATTENTION_VARIANTS", "attention_variant", "kv_heads_of", "BOTTLENECKS",
           "SERVING_ENGINES", "FP16_ACCUMULATE_STACKS", "PASS_FAMILIES", "PASS_STACKS",
           "COMPILED_PASS_STACKS", "MCU_STACKS", "check_routing"]


@dataclass(frozen=True)
class Precision:
    """A number format: ``bits`` of storage per element, ``kind`` "float" or "int",
    ``native`` when it is the 16-bit format a chip's GEMM efficiency is quoted at (narrower
    formats get their own efficiency variant), ``mixed`` when training in it keeps fp32
    master weights and optimizer states (mixed precision, Micikevicius et al. 2018)."""

    name: str
    bits: int
    kind: str
    native: bool = False
    mixed: bool = True


#: every precision, widest first (the registry's peak rates are keyed by these names)
PRECISIONS: dict = {p.name: p for p in (
    Precision("fp64", 64, "float", mixed=False),
    Precision("fp32", 32, "float", mixed=False),
    Precision("tf32", 32, "float", mixed=False),
    Precision("bf16", 16, "float", native=True),
    Precision("fp16", 16, "float", native=True),
    Precision("fp8", 8, "float"),
    Precision("fp6", 6, "float"),
    Precision("fp4", 4, "float"),
    Precision("int8", 8, "int"),
    Precision("int4", 4, "int"),
)}
PRECISION_BITS = {name: p.bits for name, p in PRECISIONS.items()}
NATIVE_16BIT = tuple(name for name, p in PRECISIONS.items() if p.native)
MIXED_PRECISIONS = frozenset(name for name, p in PRECISIONS.items() if p.mixed)
#: what ``train`` accepts (fp64 has no training recipe here)
TRAINING_PRECISIONS = MIXED_PRECISIONS | {"fp32", "tf32"}

#: model families of the registry
FAMILIES = ("decoder", "moe", "encoder", "cnn", "vit", "diffusion", "ssm", "tinyml")
#: accelerator tiers of the registry
HARDWARE_TIERS = ("datacenter", "workstation", "edge", "mobile", "mcu", "wafer_scale")
#: regimes a default efficiency can differ by: a training framework or a serving engine
REGIMES = ("train", "serve")
#: LLM serving engines ``predict`` / ``serve`` know by name (``stack=``): each resolves to its own
#: per-step overhead ``fixed_overhead[<engine>]`` where the calibration data hold rows of it, and
#: to the pooled value otherwise (TensorRT-LLM, vLLM, SGLang, llama.cpp, Apple MLX, NVIDIA NIM)
SERVING_ENGINES = ("trt_llm", "vllm", "sglang", "llama.cpp", "mlx", "nim")
#: serving engines whose 16-bit GEMMs accumulate in FP16: llama.cpp's CUDA backend multiplies F16
#: and dequantised weights with cublasGemmEx(..., CUBLAS_COMPUTE_16F) (ggml-cuda
#: ggml_cuda_op_mul_mat_cublas: "convert src0 and src1 to fp16, multiply as fp16"), so on a chip
#: whose FP16-accumulate tensor rate exceeds its FP32-accumulate ``peak.fp16`` (GeForce: twice)
#: its fp16 passes run at ``peak_fp16_accumulate``; the other engines accumulate in FP32
FP16_ACCUMULATE_STACKS = ("llama.cpp",)
#: families served as one forward pass per batch (no decode loop): their per-pass overhead is
#: ``fixed_overhead[pass]``, not an LLM engine's per-step overhead
PASS_FAMILIES = ("cnn", "vit", "encoder")
#: inference frameworks of those passes known by name: a compiled engine that runs the network
#: as one prepared launch (TensorRT); the frameworks that dispatch operator by operator from the
#: host (MXNet, PyTorch eager, ONNX Runtime's executor) also run the normalisation, activation
#: and residual-add operators as kernels of their own and issue every operator from the host
#: (``predict_vision``: the model's counted operators and unfused traffic), with the same
#: ``pass_overhead``
PASS_STACKS = ("tensorrt", "mxnet", "pytorch", "onnxruntime")
COMPILED_PASS_STACKS = ("tensorrt",)
#: microcontroller inference engines ``predict_tinyml(stack=...)`` knows besides those with a
#: calibrated ``tinyml_mac_efficiency[<stack>]`` of their own (each resolves to the pooled value
#: until calibration data give it its own): microTVM's native int8 schedules (``microtvm``;
#: microTVM calling CMSIS-NN kernels is ``cmsis_nn``)
MCU_STACKS = ("microtvm",)
#: the walls a result can name as its bottleneck, in code order: a sweep's results hold the
#: bottleneck as small integer codes (``bottleneck_code``) indexing this tuple, names on read
BOTTLENECKS = ("Compute", "Memory", "Communication", "Pipeline", "Software")
#: the ZeRO stages ``train`` accepts: 0 plain data parallelism; 1 shards the optimizer states,
#: 2 also the gradients, 3 also the parameters (Rajbhandari et al. 2020, Sec. 5); the glue
#: equations of each stage are in mlsysim_sym.equations.operations
ZERO_STAGES = (0, 1, 2, 3)


#: attention variants: how the keys and values of a layer are shared among its query heads
#: (Vaswani et al. 2017 multi-head; Shazeer 2019 multi-query; Ainslie et al. 2023 grouped-query;
#: DeepSeek-AI 2024 (DeepSeek-V2 Sec. 2.1) multi-head latent attention: one compressed latent
#: per token). Sliding-window attention is orthogonal (a span limit, not a sharing scheme).
ATTENTION_VARIANTS = {
    "mha": "multi-head: one key and value head per query head",
    "gqa": "grouped-query: kv_heads groups of query heads share a key and value head",
    "mqa": "multi-query: all query heads share one key and value head",
    "mla": "multi-head latent: a compressed latent (kv_lora_rank) plus a RoPE key per token",
}


def kv_heads_of(heads, kv_heads=None, attention=None):
    """Key/value heads of a layer: ``kv_heads`` when given, else 1 for MQA, else ``heads``."""
    if kv_heads:
        return kv_heads
    return 1 if attention == "mqa" else heads


def attention_variant(heads, kv_heads) -> str:
    """The variant ``heads`` query heads over ``kv_heads`` key/value heads amount to."""
    return "mha" if kv_heads == heads else ("mqa" if kv_heads == 1 else "gqa")


def precision(name, allowed=None, what: str = "precision") -> Precision:
    """The :class:`Precision` called ``name`` (case-insensitive), or a ValueError that lists the
    allowed names (``allowed``: a subset, default all)."""
    names = tuple(allowed) if allowed is not None else tuple(PRECISIONS)
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in names:
        raise ValueError(f"unknown {what} {name!r}; allowed: {', '.join(names)}")
    return PRECISIONS[key]


def check_routing(experts, experts_per_token, where: str = "") -> None:
    """Refuse k > E (a token picks k *distinct* experts of E, Fedus et al. 2022 Sec. 2; with
    k > E the MoE record's occupancy E (1 - (1 - k/E)^B) is not even real): the message says
    what was wrong and what is allowed."""
    if not (experts_per_token <= experts):
        raise ValueError(f"{where + ': ' if where else ''}experts_per_token (k = "
                         f"{experts_per_token:g}) exceeds moe_experts (E = {experts:g}); a token "
                         "is routed to k distinct experts of E, so 1 <= k <= E is allowed")
