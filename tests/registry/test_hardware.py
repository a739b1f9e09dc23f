"""Hardware objects: peaks, precision fallback, memory tiers, links, provenance, BibTeX."""

from __future__ import annotations

import datetime as dt

import pytest

from mlsysim_sym.registry import PrecisionError, RegistryLookupError
from mlsysim_sym.units import Q_

from .conftest import SOURCES, chip, write_user_file


@pytest.fixture
def x1(empty_registry, tmp_path):
    (hw,) = empty_registry.load(write_user_file(tmp_path, [chip("acme-x1")]))
    return hw


def test_peak_lookup_in_flop_per_second(x1):
    assert x1.peak_flops("bf16") == Q_(1200, "TFLOP/s")
    assert x1.peak_flops("BF16").to("FLOP/s").magnitude == pytest.approx(1.2e15)
    assert x1.peak_flops("int8").dimensionality == Q_(1, "FLOP/s").dimensionality
    assert x1.peak_flops("fp8", sparse=True) == 2 * x1.peak_flops("fp8")
    assert x1.precisions == ("fp32", "bf16", "fp8", "int8")  # canonical order, not file order


def test_fp16_falls_back_to_bf16_and_says_so(x1):
    assert x1.lookup_notes == []
    assert x1.peak_flops("fp16") == x1.peak_flops("bf16")
    assert len(x1.lookup_notes) == 1 and "bf16" in x1.lookup_notes[0]
    assert x1.resolve_precision("fp16") == ("bf16", x1.lookup_notes[0])
    x1.peak_flops("fp16")
    assert len(x1.lookup_notes) == 1  # recorded once


def test_no_fallback_the_other_way(empty_registry, tmp_path):
    (hw,) = empty_registry.load(write_user_file(tmp_path, [chip("acme-v1", peak={"fp16": "100 TFLOP/s"},
                                                                 peak_sparse=None)]))
    with pytest.raises(PrecisionError) as info:
        hw.peak_flops("bf16")
    assert "has no bf16 peak" in str(info.value) and "fp16" in str(info.value)


def test_missing_precision_lists_the_ones_it_has(x1):
    with pytest.raises(PrecisionError) as info:
        x1.peak_flops("fp64")
    assert "fp32, bf16, fp8, int8" in str(info.value)
    with pytest.raises(PrecisionError) as info:
        x1.peak_flops("fp12")
    assert "unknown precision" in str(info.value) and "int4" in str(info.value)


def test_memory_tiers_and_links(x1):
    assert x1.memory_capacity == Q_(192, "GB")
    assert x1.memory_bandwidth == Q_(8, "TB/s")
    assert [t.tier for t in x1.memory_tiers] == ["hbm", "sram"]
    assert x1.memory_tiers[1].capacity.to("B").magnitude == 256 * 2**20
    assert x1.scale_up_bandwidth == Q_(900, "GB/s") and x1.scale_up_links == 18
    assert x1.scale_up_latency == Q_(1.5, "us")
    assert x1.scale_out_bandwidth.to("GB/s").magnitude == pytest.approx(50)
    assert x1.scale_out_latency is None
    assert x1.tdp == Q_(1000, "W") and x1.clock == Q_(2, "GHz")
    assert x1.price == Q_(40000, "USD")


def test_objects_are_read_only(x1):
    with pytest.raises(AttributeError):
        x1.tdp = Q_(1, "W")
    with pytest.raises(AttributeError):
        x1.memory_tiers[0].capacity = Q_(1, "B")


def test_provenance_inherited_and_overridden(empty_registry, x1):
    inherited = empty_registry.provenance(x1, "memory.0.bandwidth")
    assert inherited.source == "acme-x1-datasheet" and inherited.basis == "vendor_spec"
    assert inherited.locator == "Table 2, Specifications"
    assert inherited.retrieved == dt.date(2026, 1, 15)
    assert x1.provenance("memory_bandwidth") == inherited  # attribute name works too
    fp8 = x1.provenance("peak.fp8")
    assert fp8.basis == "derived" and fp8.source == "acme-x1-datasheet"
    assert fp8.locator.startswith("Table 3") and "sparsity" in fp8.note
    price = x1.provenance("price")
    assert price.currency_year == 2026 and price.basis == "assumption"
    assert x1.provenance("peak.fp16") == x1.provenance("peak.bf16")  # follows the fallback
    assert x1.provenance("vendor") == x1.spec.provenance  # non-quantity fields: the entry block
    with pytest.raises(RegistryLookupError) as info:
        x1.provenance("memory.3.bandwidth")
    assert "memory.0.bandwidth" in str(info.value)


def test_value_keeps_text_and_quantity(x1):
    value = x1.value("links.scale_out.bandwidth")
    assert value.text == "400 Gbit/s" and value.quantity == Q_(400, "Gbit/s")
    assert set(x1.quantities()) >= {"peak.bf16", "memory.1.capacity", "tdp", "price"}


def test_bibtex_entries_by_kind(empty_registry, x1):
    text = empty_registry.bibtex(x1)
    assert text.count("@") == 1
    assert text.startswith("@manual{acme-x1-datasheet,")
    assert "title = {{ACME X1 Accelerator Datasheet}}" in text
    assert "organization = {ACME Corp.}" in text and "year = {2026}" in text
    assert "url = {https://example.com/acme-x1.pdf}" in text
    assert "Table 2, Specifications" in text and "Table 3" in text  # locators in the note
    assert "urldate = {2026-01-15}" in text
    paper = empty_registry.bibtex(["doe-2025-tiny"])
    assert paper.startswith("@article{doe-2025-tiny,")
    assert "author = {Doe, J. and Roe, R.}" in paper and "doi = {10.1234/tiny.2025}" in paper
    with pytest.raises(RegistryLookupError):
        empty_registry.bibtex(["no-such-source"])


def test_bibtex_escapes_tex_specials(empty_registry, tmp_path):
    sources = {**SOURCES, "acme-x1-datasheet": {**SOURCES["acme-x1-datasheet"],
                                                 "title": "R&D 100% of_it"}}
    (hw,) = empty_registry.load(write_user_file(tmp_path, [chip()], sources=sources))
    assert r"R\&D 100\% of\_it" in empty_registry.bibtex(hw)


def test_source_ids_of_object(x1):
    assert x1.source_ids == frozenset({"acme-x1-datasheet"})
    assert x1.sources["acme-x1-datasheet"].kind == "datasheet"


def test_mcu_needs_clock(empty_registry, tmp_path):
    from mlsysim_sym.registry import RegistryError
    entry = chip("acme-m0", tier="mcu", clock=None)
    del entry["clock"]
    with pytest.raises(RegistryError) as info:
        empty_registry.load(write_user_file(tmp_path, [entry]))
    assert info.value.field == "clock" and "MHz" in str(info.value)


def test_tpu7x_ironwood_matches_the_cloud_tpu7x_table():
    """docs.cloud.google.com/tpu/docs/tpu7x, key specifications table (TPU7x column): BF16 2307
    and FP8 4614 TFLOPs, 192 GiB HBM at 7380 GB/s, ICI 1200 GBps bidirectional, DCN 100 Gbps."""
    from mlsysim_sym import registry
    hw = registry.hardware("tpu7x")
    assert hw.peak_flops("bf16").to("TFLOP/s").magnitude == pytest.approx(2307)
    assert hw.peak_flops("fp8").to("TFLOP/s").magnitude == pytest.approx(4614)
    assert hw.memory_capacity.to("GiB").magnitude == pytest.approx(192)
    assert hw.memory_bandwidth.to("GB/s").magnitude == pytest.approx(7380)
    assert hw.architecture == "tpu-v7"
    node = registry.node("tpu7x-pod-9216")
    assert node.scale_up_fabric.link_bandwidth.to("GB/s").magnitude == pytest.approx(600)
    assert node.scale_out_fabric.link_bandwidth.to("Gbit/s").magnitude == pytest.approx(100)


@pytest.mark.parametrize("name, arch, bf16", [("google-tpu-v4", "tpu-v4", 275),
                                              ("google-tpu-v5e", "tpu-v5e", 197),
                                              ("google-tpu-v5p", "tpu-v5p", 459),
                                              ("google-tpu-v6e", "tpu-v6e", 918)])
def test_tpu_generations_and_the_peaks_maxtext_implies(name, arch, bf16):
    """The MaxText tables' MFU / TFLOP/s ratios imply 275, 197, 459 TFLOP/s (calibration README,
    'Extension'); tpu-recipes' v6e rows use 918 (Cloud TPU v6e table)."""
    from mlsysim_sym import registry
    hw = registry.hardware(name)
    assert hw.architecture == arch
    assert hw.peak_flops("bf16").to("TFLOP/s").magnitude == pytest.approx(bf16)


def test_tpu_slice_fabrics_equal_the_cloud_tpu_tables():
    """Cloud TPU v5e: 400 GBps bidirectional ICI per chip, 6.4 Tbps DCN per 256-chip pod;
    v6e: 800 GBps ICI, 100 Gbps DCN per chip (TPU7x page's comparison table)."""
    from mlsysim_sym import registry
    v5e, v6e = registry.node("tpu-v5e-pod-256"), registry.node("tpu-v6e-pod-256")
    assert v5e.accelerators_per_node == v6e.accelerators_per_node == 256
    assert v5e.scale_up_fabric.link_bandwidth.to("GB/s").magnitude == pytest.approx(200)
    assert v5e.scale_out_fabric.link_bandwidth.to("Tbit/s").magnitude * 256 == pytest.approx(6.4)
    assert v6e.scale_up_fabric.link_bandwidth.to("GB/s").magnitude == pytest.approx(400)
    assert v6e.scale_out_fabric.link_bandwidth.to("Gbit/s").magnitude == pytest.approx(100)
    assert registry.hardware("google-tpu-v5p").peak_flops("int8").to("TOP/s").magnitude \
        == pytest.approx(918)
