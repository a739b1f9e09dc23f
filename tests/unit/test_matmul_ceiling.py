"""The chip's measured matmul ceiling (registry ``matmul_ceiling``) in the training step's GEMM
time, and the cross-generation test's held kernel figures.

Reference values: Bekman, *Machine Learning Engineering Open Book*, compute/accelerator,
"Maximum Achievable Matmul FLOPS comparison table" (BF16 matmul, best shape of mamf-finder.py,
CUDA 12.1): A100 SXM 267.9 of 312 TFLOPS (85.9%), A100 PCIe 256.4 (82.2%), H100 SXM 792.1 of
989 (80.1%).
"""

import pytest

import mlsysim_sym as ms
from mlsysim_sym import registry
from mlsysim_sym.registry.schema import RegistryError

_CHIP = {"name": "acme-mm", "vendor": "acme", "tier": "datacenter",
         "peak": {"bf16": "1 PFLOP/s"},
         "memory": [{"tier": "hbm", "capacity": "192 GB", "bandwidth": "4 TB/s"}],
         "links": {"scale_up": {"bandwidth": "450 GB/s", "latency": "1 us"},
                   "scale_out": {"bandwidth": "50 GB/s", "latency": "5 us"}}}
_EFF = dict(efficiency={"compute": 0.7, "attention": 0.5, "memory": 0.8, "communication": 1.0,
                        "step_overhead": 0, "layer_overhead": 0}, model_parallel_overlap=0.0)


@pytest.mark.parametrize("name,value,basis", [
    ("nvidia-a100-80gb-sxm", 267.9 / 312, "measured"),
    ("nvidia-a100-40gb-pcie", 256.4 / 312, "measured"),
    ("nvidia-h100-sxm", 792.1 / 989, "measured"),
    ("nvidia-h200-sxm", 792.1 / 989, "assumption"),   # same GH100 die, not measured
])
def test_the_registry_records_the_measured_ceiling(name, value, basis):
    hw = registry.hardware(name)
    assert float(hw.matmul_ceiling.magnitude) == pytest.approx(value, abs=6e-4)
    prov = hw.provenance("matmul_ceiling")
    assert prov.source == "hw-bekman-mamf-2024" and prov.basis == basis


def test_a_chip_without_a_measurement_has_none():
    assert registry.hardware("nvidia-h100-pcie").matmul_ceiling is None


def test_a_ceiling_above_one_is_refused():
    with pytest.raises(RegistryError, match="matmul_ceiling"):
        ms.Hardware.from_spec({**_CHIP, "matmul_ceiling": "1.2"})


def test_the_gemms_run_at_the_ceiling_and_attention_at_its_own_rate():
    """GEMM time = FLOPs / (peak x kappa x eta_c): a ceiling of 0.8 stretches the GEMM part by
    1/0.8 and leaves the attention core (FlashAttention's fraction of the datasheet peak) and
    the memory-bound kernels as they were."""
    kw = dict(devices=8, global_batch=32, seq_len=4096, **_EFF)
    none = ms.train("llama-3-8b", ms.Hardware.from_spec(_CHIP), **kw)
    capped = ms.train("llama-3-8b", ms.Hardware.from_spec({**_CHIP, "matmul_ceiling": "0.8"}),
                      **kw)

    def gemm(r):
        return (r.value("step_compute_time") - r.value("attention_compute_time")
                - r.value("elementwise_time"))

    assert gemm(none) > 0
    assert gemm(capped) == pytest.approx(gemm(none) / 0.8, rel=1e-9)
    for name in ("attention_compute_time", "elementwise_time"):
        assert capped.value(name) == pytest.approx(none.value(name), rel=1e-12)


def test_cross_generation_keeps_published_kernel_figures():
    """FlashAttention-2's published utilisation differs per generation (60% of the A100 peak,
    Dao 2023; 35% of the H100's, Shah et al. 2024): the cross-generation test holds it, as every
    fold does, instead of flattening it into one fitted attention efficiency."""
    import importlib
    validate = importlib.import_module("mlsysim_sym.calibration.validate")
    from mlsysim_sym.calibration.measurements import shipped_measurements
    from mlsysim_sym.calibration.cases import build_cases
    held = validate.literature_held()
    assert "attention_efficiency[hopper-fa2]" in held
    ms_ = [m for m in shipped_measurements()
           if m.id == "train-llmfoundry-mpt7b-h100-x8-seq65536"]
    case = build_cases(ms_)[0][0]
    flat = validate._without_generation(case, held)
    assert "attention_efficiency[hopper-fa2]" in flat.uses
    assert "compute_efficiency" in flat.uses and "compute_efficiency[hopper]" not in flat.uses
