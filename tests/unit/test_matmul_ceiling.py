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

# a synthetic chip and fixed efficiencies (no calibrated default moves these tests); the GEMM
# shape tests reuse them
SYNTHETIC_CHIP = {"name": "acme-mm", "vendor": "acme", "tier": "datacenter",
         "peak": {"bf16": "1 PFLOP/s"},
         "memory": [{"tier": "hbm", "capacity": "192 GB", "bandwidth": "4 TB/s"}],
         "links": {"scale_up": {"bandwidth": "450 GB/s", "latency": "1 us"},
                   "scale_out": {"bandwidth": "50 GB/s", "latency": "5 us"}}}
FIXED_EFFICIENCY = dict(efficiency={"compute": 0.7, "attention": 0.5, "memory": 0.8, "communication": 1.0,
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
        ms.Hardware.from_spec({**SYNTHETIC_CHIP, "matmul_ceiling": "1.2"})


def test_the_gemms_run_at_the_ceiling_and_attention_at_its_own_rate():
    """GEMM time = FLOPs / (peak x kappa x eta_c): a ceiling of 0.8 stretches the GEMM part by
    1/0.8 and leaves the attention core (FlashAttention's fraction of the datasheet peak) and
    the memory-bound kernels as they were."""
    kw = dict(devices=8, global_batch=32, seq_len=4096, **FIXED_EFFICIENCY)
    none = ms.train("llama-3-8b", ms.Hardware.from_spec(SYNTHETIC_CHIP), **kw)
    capped = ms.train("llama-3-8b", ms.Hardware.from_spec({**SYNTHETIC_CHIP, "matmul_ceiling": "0.8"}),
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


# ------------------------------------------------------------------------------------- serving
# Bekman's table (hw-bekman-mamf-2024: the v1 table of the version at commit b9e29720eebd;
# hw-bekman-mamf-2025: a later version's BF16 table) and AMD's own (hw-amd-maf-2025: "Measuring
# Max-Achievable FLOPs - Part 2", Table 1, hipBLASLt: MI300X BF16 708 TFLOPs, MI325X 843), each
# measured rate over the registry entry's own BF16 peak.
@pytest.mark.parametrize("name,value,source,basis", [
    ("amd-mi300x", 708 / 1307.4, "hw-amd-maf-2025", "derived"),
    ("amd-mi325x", 843 / 1307.4, "hw-amd-maf-2025", "derived"),
    ("amd-mi250x", 147.0 / 191.5, "hw-bekman-mamf-2024", "derived"),   # one GCD of two
    ("amd-mi355x", 1565.0 / 2500, "hw-bekman-mamf-2025", "derived"),
    ("intel-gaudi2", 429.3 / 432, "hw-bekman-mamf-2024", "measured"),
    ("intel-gaudi3", 1288.8 / 1835, "hw-bekman-mamf-2024", "derived"),
    ("nvidia-b200", 1745.0 / 2250, "hw-bekman-mamf-2025", "measured"),
    ("nvidia-gb200", 1822.0 / 2500, "hw-bekman-mamf-2025", "measured"),
])
def test_every_table_chip_in_the_registry_carries_its_ceiling(name, value, source, basis):
    hw = registry.hardware(name)
    assert float(hw.matmul_ceiling.magnitude) == pytest.approx(value, abs=6e-4)
    prov = hw.provenance("matmul_ceiling")
    assert prov.source == source and prov.basis == basis
    assert ("Maximum Achievable Matmul FLOPS" in prov.locator or "MAF" in prov.locator) \
        and prov.note
    # the ceiling is a share of the BF16 peak the entry records
    assert float(hw.matmul_ceiling.magnitude) * hw.peak_flops("bf16").to("TFLOP/s").magnitude \
        == pytest.approx(value * hw.peak_flops("bf16").to("TFLOP/s").magnitude, rel=1e-3)


# FP8 GEMMs: AMD's Table 1 (MI300X FP8 1273 TFLOPs, MI325X 1519 of the 2614.9 peak) and
# Bekman's FP8 table (H100 SXM 1402.6 of 1979 at commit b9e29720eebd; H200 1453.4, B200 3432.5
# of 4500, GB200 3615.6 of 5000, Gaudi 2 826.5, Gaudi 3 1289.5 in the later version)
@pytest.mark.parametrize("name,value,source", [
    ("amd-mi300x", 1273 / 2614.9, "hw-amd-maf-2025"),
    ("amd-mi325x", 1519 / 2614.9, "hw-amd-maf-2025"),
    ("nvidia-h100-sxm", 1402.6 / 1979, "hw-bekman-mamf-2024"),
    ("nvidia-h200-sxm", 1453.4 / 1979, "hw-bekman-mamf-2025"),
    ("nvidia-b200", 3432.5 / 4500, "hw-bekman-mamf-2025"),
    ("nvidia-gb200", 3615.6 / 5000, "hw-bekman-mamf-2025"),
    ("intel-gaudi2", 826.5 / 864, "hw-bekman-mamf-2025"),
    ("intel-gaudi3", 1289.5 / 1835, "hw-bekman-mamf-2025"),
])
def test_fp8_ceilings_carry_their_provenance(name, value, source):
    hw = registry.hardware(name)
    assert float(hw.matmul_ceiling_fp8.magnitude) == pytest.approx(value, abs=6e-4)
    prov = hw.provenance("matmul_ceiling_fp8")
    assert prov.source == source and prov.locator and prov.basis in ("measured", "derived")


def test_serving_reads_the_fp8_ceiling_at_fp8_and_the_16_bit_one_otherwise():
    from mlsysim_sym.tasks._core.inputs import hardware_magnitudes
    mi300x = registry.hardware("amd-mi300x")
    assert hardware_magnitudes(mi300x, "fp8")[3] == pytest.approx(0.487)
    assert hardware_magnitudes(mi300x, "bf16")[3] == pytest.approx(0.542)
    # a chip with a 16-bit ceiling only: FP8 GEMMs take it
    assert hardware_magnitudes(registry.hardware("nvidia-a100-80gb-sxm"), "int8")[3] == \
        pytest.approx(0.859)
    with pytest.raises(RegistryError, match="matmul_ceiling_fp8"):
        ms.Hardware.from_spec({**SYNTHETIC_CHIP, "matmul_ceiling_fp8": "1.5"})


def _prefill(**over):
    from mlsysim_sym.equations import walls
    from mlsysim_sym.system import System
    from mlsysim_sym.units import Q_
    values = dict(parameters=Q_(8.03e9, "param"), active_parameters=Q_(8.03e9, "param"),
                  layers=32, heads=32, kv_heads=8, head_dim=128, hidden=4096,
                  ffn_width=2 * 14336, embedding_parameters=0, embedding_row_width=0,
                  dequantized_share=0, head_parameters=0, vocab_bytes_per_parameter=2,
                  head_peak_share=1, peak_flops=Q_(1307.4, "TFLOP/s"),
                  memory_bandwidth=Q_(5.3, "TB/s"), memory_capacity=Q_(192, "GB"),
                  matmul_ceiling=0.598, bytes_per_parameter=Q_(2, "B/param"),
                  kv_bytes_per_element=Q_(2, "B"), activation_bytes_per_element=Q_(2, "B"),
                  tensor_parallel=1, scale_up_bandwidth=Q_(448, "GB/s"),
                  scale_up_latency=Q_(5, "us"), scale_up_peer_access=1,
                  allreduce_fixed_time=Q_(0, "us"), communication_efficiency=1.0,
                  unoverlapped_fraction=0.0, compute_efficiency=1.0, memory_efficiency=1.0,
                  fixed_overhead=Q_(0, "ms"), batch=1, prompt_length=Q_(2048, "token"),
                  context_length=Q_(2048, "token"), prefill_chunk_tokens=Q_(0, "token"),
                  max_batched_tokens=Q_(8192, "token"), prefix_cache_hit_rate=0,
                  attention_data_parallel=1)
    values.update(over)
    k = System.from_walls(walls.compute, walls.memory, walls.serving).compile(
        ["prefill_compute_time"])
    return k.evaluate(**{n: values[n] for n in k.input_names}).value("prefill_compute_time")


def test_serving_gemms_run_at_the_chips_ceiling_by_hand():
    """A Llama-3-8B prompt of 2048 tokens on an MI300X-like chip (1307.4 TFLOP/s BF16, the ROCm
    MI300 table) with kappa_mm = 0.598 (Bekman's MAMF v1 row: 781.9 / 1307.4), eta_c = 1:
    GEMMs 2 x 8.03e9 x 2048 = 3.289088e13 FLOPs at 1307.4e12 x 0.598 -> 42.070 ms;
    attention 2 x 32 x (2 x 32 x 128) x 1024 x 2048 = 1.099511627776e12 FLOPs (S_p^2/2 pairs)
    at the peak -> 0.841 ms; 42.911 ms in all (the datasheet peak alone: 25.998 ms)."""
    gemm, attn = 2 * 8.03e9 * 2048, 2 * 32 * (2 * 32 * 128) * 1024 * 2048
    assert _prefill() == pytest.approx(gemm / (1307.4e12 * 0.598) + attn / 1307.4e12, rel=1e-12)
    assert _prefill(matmul_ceiling=1.0) == pytest.approx((gemm + attn) / 1307.4e12, rel=1e-12)
    # eta_c scales both parts: it is the achieved fraction of the ceiling (GEMMs) and of the
    # peak (attention)
    assert _prefill(compute_efficiency=0.5) == pytest.approx(2 * _prefill(), rel=1e-12)


def test_predict_reads_the_registry_ceiling_for_every_serving_path():
    """The same chip with and without a recorded ceiling: the compute-bound prefill's GEMMs
    stretch by 1/kappa, a memory-bound decode step does not move; the MoE path and serve()'s
    loaded step read it too."""
    spec = {**SYNTHETIC_CHIP, "peak": {"bf16": "1 PFLOP/s", "fp16": "1 PFLOP/s"}}
    free = ms.Hardware.from_spec(spec)
    capped = ms.Hardware.from_spec({**spec, "matmul_ceiling": "0.6"})
    eff = {"compute": 0.7, "memory": 0.8, "fixed_overhead": "0 ms", "unoverlapped": 0.0}
    kw = dict(batch=8, seq_len=4096, efficiency=eff)
    a, b = (ms.predict("llama-3-8b", hw, **kw) for hw in (free, capped))
    ratio = b.value("prefill_compute_time") / a.value("prefill_compute_time")
    assert 1 < ratio < 1 / 0.6          # the attention part stays at the peak
    assert b.value("time_per_output_token") == pytest.approx(
        a.value("time_per_output_token"), rel=1e-9)            # batch-8 decode: memory-bound
    moe = [ms.predict("mixtral-8x7b", hw, **kw).value("prefill_compute_time")
           for hw in (free, capped)]
    assert 1 < moe[1] / moe[0] < 1 / 0.6
    load = dict(qps=50, input_tokens=2048, output_tokens=128, efficiency=eff)
    s_free, s_capped = (ms.serve("llama-3-8b", hw, **load) for hw in (free, capped))
    assert s_capped.capacity < s_free.capacity
