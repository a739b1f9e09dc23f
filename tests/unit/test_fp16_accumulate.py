"""GeForce FP16 tensor rates by accumulator, and the engine whose GEMMs accumulate in FP16.

Reference values: GeForce RTX 4090 dense FP16 tensor rate 165.2 TFLOPS with FP32 accumulate,
330.3 with FP16 accumulate (GigaGPU's RTX 4090 table, the NVIDIA Ada whitepaper appendix
figures); GeForce RTX 3090 Ti 320 "Tensor TFLOPS" (NVIDIA CES 2022: FP16 accumulate with
sparsity), so 160 dense with FP16 accumulate and 80 with FP32 accumulate (GA102 whitepaper,
Appendix A: GeForce runs FP32 accumulate at half rate). llama.cpp's CUDA backend multiplies
F16 and dequantised weights with ``cublasGemmEx(..., CUBLAS_COMPUTE_16F)``
(``ggml_cuda_op_mul_mat_cublas``); PyTorch-based engines accumulate in FP32.
"""

import pytest

import mlsysim_sym as ms
from mlsysim_sym import registry, vocabulary
from mlsysim_sym.registry.schema import RegistryError

_CHIP = {"name": "acme-geforce", "vendor": "acme", "tier": "workstation",
         "peak": {"fp16": "100 TFLOP/s"},
         "memory": [{"tier": "gddr", "capacity": "24 GB", "bandwidth": "1 TB/s"}]}


@pytest.mark.parametrize("name,fp32_acc,fp16_acc", [
    ("nvidia-rtx-4090", 165.15, 330.3),
    ("nvidia-rtx-3090-ti", 80.0, 160.0),
])
def test_the_registry_records_both_accumulators(name, fp32_acc, fp16_acc):
    hw = registry.hardware(name)
    assert hw.peak_flops("fp16").to("TFLOP/s").magnitude == pytest.approx(fp32_acc, rel=1e-6)
    assert hw.fp16_accumulate_peak.to("TFLOP/s").magnitude == pytest.approx(fp16_acc, rel=1e-6)
    assert hw.provenance("peak_fp16_accumulate").source


def test_datacenter_chips_record_no_separate_rate():
    # datacenter parts run FP32 accumulate at the full FP16 rate: one peak.fp16
    assert registry.hardware("nvidia-h100-sxm").fp16_accumulate_peak is None


def test_llama_cpp_prefill_runs_at_the_fp16_accumulate_rate():
    """A compute-bound prefill (pp512 of a 7B model) on the RTX 4090: llama.cpp's GEMMs at
    330.3 TFLOP/s, an FP32-accumulating engine's at 165.15."""
    assert "llama.cpp" in vocabulary.FP16_ACCUMULATE_STACKS
    kw = dict(batch=1, seq_len=512, phase="prefill",
              efficiency={"compute": 0.5, "memory": 0.8, "fixed_overhead": "0 ms",
                          "unoverlapped": 0.0})
    cpp = ms.predict("codellama-7b", "nvidia-rtx-4090", stack="llama.cpp", **kw)
    vllm = ms.predict("codellama-7b", "nvidia-rtx-4090", stack="vllm", **kw)
    assert cpp.inputs(["peak_flops"])["peak_flops"].to("TFLOP/s").magnitude == \
        pytest.approx(330.3)
    assert vllm.inputs(["peak_flops"])["peak_flops"].to("TFLOP/s").magnitude == \
        pytest.approx(165.15)
    assert cpp.value("prefill_compute_time") == \
        pytest.approx(vllm.value("prefill_compute_time") / 2, rel=1e-9)
    assert ("peak_fp16_accumulate" in [f for _, f in cpp.registry_fields()])
    assert ("peak.fp16" in [f for _, f in vllm.registry_fields()])


def test_other_precisions_and_chips_keep_their_peak():
    fp8 = ms.predict("codellama-7b", "nvidia-rtx-4090", batch=1, seq_len=512, phase="prefill",
                     precision="fp8", stack="llama.cpp")
    assert fp8.inputs(["peak_flops"])["peak_flops"].to("TFLOP/s").magnitude == \
        pytest.approx(330.3)   # peak.fp8, FP32 accumulate
    h100 = ms.predict("codellama-7b", "nvidia-h100-sxm", batch=1, seq_len=512, phase="prefill",
                      stack="llama.cpp")
    assert h100.inputs(["peak_flops"])["peak_flops"] == \
        registry.hardware("nvidia-h100-sxm").peak_flops("fp16")


def test_a_rate_below_peak_fp16_is_refused():
    with pytest.raises(RegistryError, match="peak_fp16_accumulate.*below peak.fp16"):
        ms.Hardware.from_spec({**_CHIP, "peak_fp16_accumulate": "50 TFLOP/s"})


def test_a_rate_without_peak_fp16_is_refused():
    with pytest.raises(RegistryError, match="peak_fp16_accumulate.*add peak.fp16"):
        ms.Hardware.from_spec({**_CHIP, "peak": {"bf16": "100 TFLOP/s"},
                               "peak_fp16_accumulate": "200 TFLOP/s"})


def test_a_user_chip_with_the_rate_is_read():
    hw = ms.Hardware.from_spec({**_CHIP, "peak_fp16_accumulate": "200 TFLOP/s"})
    p = ms.predict("codellama-7b", hw, batch=1, seq_len=512, phase="prefill", stack="llama.cpp")
    assert p.inputs(["peak_flops"])["peak_flops"].to("TFLOP/s").magnitude == pytest.approx(200)
