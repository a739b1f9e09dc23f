"""Intel Gaudi and AMD Instinct registry numbers equal the figures of the sources they cite."""

from __future__ import annotations

import pytest

import mlsysim_sym as ms
from mlsysim_sym.defaults.keys import VariantKey
from mlsysim_sym.units import Q_


def _gbps(q):
    return float(q.to("GB/s").magnitude)


@pytest.mark.parametrize("chip, ports, gbit, up_ports", [
    # Intel Gaudi Network Configuration guide: 21 scale-up + 3 scale-out ports per card;
    # 200 Gbps on Gaudi 3, 100 Gbps on Gaudi 2 ("262.5 GB/s unidirectional", "37.5 GB/s")
    ("intel-gaudi3", 24, 200, 21),
    ("intel-gaudi2", 24, 100, 21),
])
def test_gaudi_links_are_the_network_guide_port_arithmetic(chip, ports, gbit, up_ports):
    hw = ms.registry.hardware(chip)
    per_port = Q_(gbit, "Gbit/s").to("GB/s").magnitude
    assert _gbps(hw.scale_up_bandwidth) == pytest.approx(up_ports * per_port, rel=1e-9)
    assert _gbps(hw.scale_out_bandwidth) == pytest.approx((ports - up_ports) * per_port, rel=1e-9)


def test_gaudi2_values_as_cited():
    hw = ms.registry.hardware("intel-gaudi2")
    # Hot Chips 2024 'Gaudi Product Generations': 432 TFLOPS BF16, 96 GB, 2.46 TB/s;
    # Habana FP8 guide: "FP8 compute is twice as fast as BF16 compute"
    assert float(hw.peak_flops("bf16").to("TFLOP/s").magnitude) == pytest.approx(432)
    assert float(hw.peak_flops("fp8").to("TFLOP/s").magnitude) == pytest.approx(2 * 432)
    assert float(hw.memory_capacity.to("GB").magnitude) == pytest.approx(96)
    assert float(hw.memory_bandwidth.to("TB/s").magnitude) == pytest.approx(2.46)


def test_gaudi2_node_uses_the_box_fabrics():
    node = ms.registry.node("gaudi2-hls2")
    assert node.accelerator.name == "intel-gaudi2" and node.accelerators_per_node == 8
    assert _gbps(node.scale_up_fabric.link_bandwidth) == pytest.approx(262.5)
    assert _gbps(node.scale_out_fabric.link_bandwidth) == pytest.approx(37.5)
    assert node.scale_up_fabric.topology == "all-to-all"


def test_mi355x_link_is_seven_links_of_the_cited_per_link_figure():
    # Hume Consulting: Infinity Fabric/XGMI ~153 GB/s bidirectional (153.6 per link), 7 links
    hw = ms.registry.hardware("amd-mi355x")
    assert _gbps(hw.scale_up_bandwidth) == pytest.approx(7 * 153.6 / 2)


@pytest.mark.parametrize("chip, generation", [
    ("intel-gaudi2", "gaudi2"), ("intel-gaudi3", "gaudi3"), ("amd-mi250x", "cdna2"),
    ("amd-mi300x", "cdna3"), ("amd-mi325x", "cdna3"), ("amd-mi355x", "cdna4"),
])
def test_non_nvidia_chips_get_their_own_generation_variants(chip, generation):
    hw = ms.registry.hardware(chip)
    assert hw.architecture == generation
    key = VariantKey.for_chip(hw, "fp8", "serve")
    assert key.name("compute_efficiency") == f"compute_efficiency[serve-{generation}-fp8]"
