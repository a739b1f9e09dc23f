"""Apple silicon and H800 entries: each number equals the figure its cited source prints."""

import pytest

from mlsysim_sym import registry

# (chip, field path, expected magnitude, unit): the cited figure (see each value's locator)
CITED = [
    # MacRumors (Apple's launch figure): "2.6 teraflops of throughput"
    ("apple-m1", "peak.fp32", 2.6, "TFLOP/s"),
    # M1 LPDDR4X-4266 on a 128-bit bus (derived): 4266e6 x 16 B
    ("apple-m1", "memory_bandwidth", 68.25, "GB/s"),
    # Wccftech (Apple keynote): M1 Pro 5.2 TFLOPs, 200 GB/s; M1 Max 10.4 TFLOPs, 400 GB/s
    ("apple-m1-pro", "peak.fp32", 5.2, "TFLOP/s"),
    ("apple-m1-pro", "memory_bandwidth", 200, "GB/s"),
    ("apple-m1-max", "peak.fp32", 10.4, "TFLOP/s"),
    ("apple-m1-max", "memory_bandwidth", 400, "GB/s"),
    # MacRumors 800GB/s and 128GB; HotHardware "8,192 execution units, 21 TFLOPs"
    ("apple-m1-ultra", "peak.fp32", 21, "TFLOP/s"),
    ("apple-m1-ultra", "memory_bandwidth", 800, "GB/s"),
    ("apple-m1-ultra", "memory_capacity", 128, "GB"),
    # metal-benchmarks overview table, GFLOPS F16 column (= F32 on Apple 7-9 GPUs)
    ("apple-m1", "peak.fp16", 2.617, "TFLOP/s"),
    ("apple-m1-pro", "peak.fp16", 5.308, "TFLOP/s"),
    ("apple-m1-max", "peak.fp16", 10.62, "TFLOP/s"),
    ("apple-m1-ultra", "peak.fp16", 21.23, "TFLOP/s"),
    ("apple-m2-ultra", "peak.fp16", 27.2, "TFLOP/s"),
    # HMC Tech M3 Max column: 14.32 TFLOPS FP32 and FP16
    ("apple-m3-max", "peak.fp16", 14.32, "TFLOP/s"),
    # H800: H100 SXM die (dense = printed sparse / 2), NVLink 400 GB/s bidirectional
    ("nvidia-h800-sxm", "peak.fp8", 1979, "TFLOP/s"),
    ("nvidia-h800-sxm", "peak.bf16", 989.5, "TFLOP/s"),
    ("nvidia-h800-sxm", "peak.fp64", 1, "TFLOP/s"),
    ("nvidia-h800-sxm", "memory_bandwidth", 3.35, "TB/s"),
    ("nvidia-h800-sxm", "scale_up_bandwidth", 200, "GB/s"),
]


def _value(hw, path):
    if path.startswith("peak."):
        return hw.peak_flops(path.split(".", 1)[1])
    return getattr(hw, path)


@pytest.mark.parametrize("name, path, expected, unit", CITED,
                         ids=[f"{c[0]}:{c[1]}" for c in CITED])
def test_chip_number_equals_the_cited_figure(name, path, expected, unit):
    hw = registry.hardware(name)
    assert _value(hw, path).to(unit).magnitude == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("name", ["apple-m1", "apple-m1-pro", "apple-m1-max", "apple-m1-ultra",
                                  "apple-m2-ultra", "apple-m3-max"])
def test_apple_gpu_runs_fp16_at_its_fp32_rate(name):
    """metal-benchmarks: 256 F16 and 256 F32 OPs per clock per core on Apple 7-9 GPUs; the fp16
    figure may be the table's own rounding of Apple's fp32 figure (2.617 vs 2.6)."""
    hw = registry.hardware(name)
    ratio = (hw.peak_flops("fp16") / hw.peak_flops("fp32")).to("").magnitude
    assert ratio == pytest.approx(1.0, abs=0.025)


def test_h800_is_the_h100_die_with_a_cut_nvlink():
    h800, h100 = registry.hardware("nvidia-h800-sxm"), registry.hardware("nvidia-h100-sxm")
    for p in ("fp8", "bf16", "fp16", "tf32"):
        assert h800.peak_flops(p) == h100.peak_flops(p)
    assert h800.memory_capacity == h100.memory_capacity
    assert (h800.scale_up_bandwidth / h100.scale_up_bandwidth).to("").magnitude == \
        pytest.approx(400 / 900)
    assert h800.provenance("links.scale_up.bandwidth").basis == "derived"


def test_h800_node_scales_out_over_infiniband():
    node = registry.node("deepseek-h800-node")
    assert node.accelerator.name == "nvidia-h800-sxm" and node.accelerators_per_node == 8
    assert node.scale_out_fabric.link_bandwidth.to("GB/s").magnitude == pytest.approx(50)
    assert node.scale_up_fabric is None    # the chip's own (export-limited) NVLink applies
