"""Workload records (meta-test) and the workload facades: vectorised knobs, bad input, defaults."""

import numpy as np
import pytest
import sympy

from mlsysim_sym import symbols
from mlsysim_sym.equations import walls, workloads
from mlsysim_sym.equations.base import check_constraint, check_equation
from mlsysim_sym.equations.references import REFERENCES
from mlsysim_sym.units import Q_
from mlsysim_sym.defaults import defaults, provenance
from mlsysim_sym.tasks.workloads import (moe_inputs, predict_diffusion, predict_tinyml,
                                         predict_vision, workload_default)

EQUATIONS = [(w.name, eq) for w in workloads for eq in w.equations]
CONSTRAINTS = [(w.name, c) for w in workloads for c in w.constraints]


# ----------------------------------------------------------------------------- meta-test
def test_the_four_families_are_discovered_as_workloads_not_walls():
    names = {w.name for w in workloads}
    assert {"MoE", "Diffusion", "TinyML", "Encoders"} <= names
    assert all(w.kind == "workload" for w in workloads)
    assert not names & {w.name for w in walls}


@pytest.mark.parametrize("family,eq", EQUATIONS, ids=[f"{w}:{e.name}" for w, e in EQUATIONS])
def test_every_workload_equation_is_dimensionally_consistent_and_cited(family, eq):
    check_equation(eq)
    assert eq.cite in REFERENCES and eq.locator
    for sym in eq.rhs.free_symbols | {eq.lhs}:
        symbols.info(sym)


@pytest.mark.parametrize("family,c", CONSTRAINTS, ids=[f"{w}:{c.name}" for w, c in CONSTRAINTS])
def test_every_workload_constraint_is_dimensionally_consistent(family, c):
    check_constraint(c)


@pytest.mark.parametrize("wall", list(workloads), ids=lambda w: w.name)
def test_every_workload_has_text_and_known_references(wall):
    assert wall.references and all(k in REFERENCES for k in wall.references)
    assert len(wall.summary) > 80 and wall.regime and wall.domain
    for eq in wall.equations:
        assert eq.cite in wall.references
        if eq.branches:  # every named branch is an argument of a Max in the definition
            maxes = [m for m in eq.rhs.atoms(sympy.Max)]
            assert any(set(eq.branches) <= set(m.args) for m in maxes)


def test_every_default_parses_with_provenance_within_bounds():
    for name in defaults():
        row = provenance(name)
        q = workload_default(name)
        base = name.split("[")[0]  # variants (per generation, regime, stack) share the symbol
        assert q.dimensionality == Q_(1, symbols.info(base).unit).dimensionality
        lo, hi = symbols.info(base).bounds
        assert lo <= q.to(symbols.info(base).unit).magnitude <= hi
        # vendor_spec: an engine default from its documentation (as in the registry)
        assert row["basis"] in ("assumption", "derived", "measured", "paper", "fitted",
                                "vendor_spec")
        assert row["source"] and row["locator"] and row["note"]


# ----------------------------------------------------------------------------- facades
def test_tinyml_result_attributes_and_units():
    r = predict_tinyml("ds-cnn", "stm32f746")
    assert r.latency.to("ms").magnitude > 0 and r.feasible in (True, False)
    assert r.throughput.units == Q_(1, "inference/s").units
    assert r.bottleneck in ("Compute", "Memory")
    assert r.weights_in_sram is True and r.flash_footprint.magnitude == 0
    assert r.memory_capacity.to("KiB").magnitude == pytest.approx(320)
    d = r.to_dict()
    assert d["family"] == "tinyml" and d["throughput"]["unit"] == "inference/s" and d["notes"]
    assert "lin2020mcunet" in r.cite()


def test_tinyml_efficiency_array_broadcasts_and_matches_scalars():
    cpm = np.array([0.5, 1.0, 2.0, 4.0])
    r = predict_tinyml("vww-mobilenet", "stm32f746", efficiency={"cycles_per_mac": cpm})
    lat = r.latency.to("ms").magnitude
    assert lat.shape == (4,) and np.all(np.diff(lat) > 0)
    for i, c in enumerate(cpm):
        one = predict_tinyml("vww-mobilenet", "stm32f746", efficiency={"cycles_per_mac": float(c)})
        assert one.latency.to("ms").magnitude == pytest.approx(lat[i], rel=1e-12)


def test_vision_batch_sweep_matches_scalars_and_crosses_roofs():
    batch = np.array([1, 2, 16, 128, 1024])
    eff = {"compute": 0.64, "memory": 0.8, "fixed_overhead": "0 ms"}  # not the calibrated ones
    r = predict_vision("resnet-50", "h100", batch=batch, efficiency=eff)
    lat = r.latency.to("ms").magnitude
    assert lat.shape == (5,) and np.all(np.diff(lat) > 0)
    assert r.bottleneck[0] == "Memory" and r.bottleneck[-1] == "Compute"
    for i, b in enumerate(batch):
        assert predict_vision("resnet-50", "h100", batch=int(b), efficiency=eff).latency.to(
            "ms").magnitude == \
            pytest.approx(lat[i], rel=1e-12)


def test_vision_does_not_fit_is_flagged():
    r = predict_vision("bert-large", "stm32f746", precision="int8")
    assert r.feasible is False and r.bottleneck == "Memory"
    assert "does not fit" in r.bottleneck_detail


def test_moe_inputs_mixtral():
    got = moe_inputs("mixtral-8x7b")
    assert got["moe_expert_parameters"].magnitude == 3 * 4096 * 14336
    assert got["moe_experts"] == 8 and got["experts_per_token"] == 2


@pytest.mark.parametrize("call,match", [
    (lambda: predict_vision("llama-3-8b", "h100"), "use predict"),
    (lambda: predict_diffusion("resnet-50", "h100"), "diffusion"),
    (lambda: predict_tinyml("ds-cnn", "h100"), "microcontroller"),
    (lambda: predict_tinyml("bert-base", "stm32f746"), "takes"),
    (lambda: predict_vision("resnet-50", "h100", batch=0), "batch"),
    (lambda: predict_vision("resnet-50", "h100", batch=1.5), "batch"),
    (lambda: predict_vision("resnet-50", "h100", batch=np.array([1, -2])), "batch"),
    (lambda: predict_vision("resnet-50", "h100", batch=True), "batch"),
    (lambda: predict_vision("resnet-50", "h100", batch=float("nan")), "batch"),
    (lambda: predict_vision("resnet-50", "h100", precision="fp7"), "precision"),
    (lambda: predict_vision("resnet-50", "h100", efficiency=1.5), "efficiency"),
    (lambda: predict_vision("resnet-50", "h100", efficiency={"speed": 1}), "unknown efficiency"),
    (lambda: predict_vision("resnet-50", "h100", seq_len=128), "seq_len"),
    (lambda: predict_vision("bert-base", "h100", seq_len=0), "seq_len"),
    (lambda: predict_tinyml("ds-cnn", "stm32f746", efficiency={"cycles": 2}), "unknown efficiency"),
    (lambda: predict_tinyml("ds-cnn", "stm32f746", efficiency={"cycles_per_mac": -1}), "positive"),
    (lambda: predict_tinyml("ds-cnn", "stm32f746", efficiency=0), "efficiency"),
])
def test_bad_input_raises_clear_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_diffusion_bad_steps():
    with pytest.raises(ValueError, match="steps"):
        predict_diffusion("dit-xl-2-256", "h100", steps=0)


@pytest.mark.parametrize("name,field", [("sdxl-base-1-0", "backbone_flops_per_step"),
                                        ("dit-xl-2-256", "published_params")])
def test_registry_gaps_are_errors_not_guesses(name, field):
    from mlsysim_sym import registry
    m = registry.model(name)
    missing = (m.diffusion.backbone_flops_per_step is None if field.startswith("backbone")
               else m.parameters is None)
    if not missing:  # the registry has since recorded it
        assert predict_diffusion(name, "h100").latency.magnitude > 0
        return
    with pytest.raises(ValueError, match=field):
        predict_diffusion(name, "h100")


def test_workload_results_carry_a_one_line_reason():
    import mlsysim_sym as ms
    r = ms.predict("resnet-50", "a100")
    assert r.feasible and r.reason.startswith("fits:") and r.to_dict()["reason"] == r.reason


# ----------------------------------------------------------------------------- result API
@pytest.mark.parametrize("call,attrs", [
    (lambda: predict_vision("resnet-50", "a100", batch=8), ("compute_time", "weights")),
    (lambda: predict_diffusion("dit-xl-2-256", "h100", batch=2), ("step_time", "step_flops")),
    (lambda: predict_tinyml("ds-cnn", "stm32f746"), ("sram_footprint", "weight_bandwidth")),
])
def test_value_is_the_base_magnitude_of_each_output(call, attrs):
    from mlsysim_sym.units import to_base
    r = call()
    for name in ("latency", "memory_footprint", "memory_utilization", *attrs):
        assert r.value(name) == pytest.approx(float(to_base(getattr(r, name))), rel=1e-12)
    assert r.value(r.LATENCY) == r.value("latency")     # the record's symbol, or the attribute
    assert r.value("throughput") == pytest.approx(float(to_base(r.throughput)), rel=1e-12)
    with pytest.raises(ValueError, match="no output or input 'nonsense'"):
        r.value("nonsense")


def test_base_inputs_are_the_inputs_in_base_units_and_a_copy():
    from mlsysim_sym.units import to_base
    r = predict_vision("bert-base", "a100", batch=np.array([1, 4]))
    base = r.base_inputs()
    assert set(base) == set(r.inputs()) and np.array_equal(base["batch"], [1.0, 4.0])
    for k, q in r.inputs().items():
        assert np.allclose(base[k], to_base(q), rtol=1e-12)
    assert r.value("encoder_sequence_length") == base["encoder_sequence_length"]
    base["batch"] = 0
    assert np.array_equal(r.base_inputs()["batch"], [1.0, 4.0])
    lat = r.value("latency")
    assert isinstance(lat, np.ndarray) and lat.shape == (2,)


def test_workload_results_are_task_results_with_a_headline():
    from mlsysim_sym.tasks._core.result import Result
    r = predict_tinyml("ds-cnn", "stm32f746")
    assert isinstance(r, Result)
    line = r.headline()
    assert line.startswith(f"{r.model.name} on {r.hardware.name}: latency ")
    assert "throughput" in line and "memory footprint" in line
    assert repr(r).startswith("TinyMLPrediction(") and "latency=" in repr(r)


def test_old_import_path_reexports_the_same_objects():
    import mlsysim_sym.tasks.workloads as new
    import mlsysim_sym.workload_scenarios as old
    assert old.__all__ and all(getattr(old, n) is getattr(new, n) for n in old.__all__)


@pytest.mark.parametrize("model, hw, expected", [
    # a CNN's compute efficiency is the convolution variant; the others the chip generation's
    ("resnet-50", "a100", {"compute_efficiency": "compute_efficiency[serve-cnn]",
                           "memory_efficiency": "memory_efficiency[serve]",
                           "pass_overhead": "pass_overhead"}),
    ("bert-base", "a100", {"compute_efficiency": "compute_efficiency[serve-ampere]"}),
    ("dit-xl-2-256", "h100", {"compute_efficiency": "compute_efficiency[serve-hopper]"}),
    ("mlperf-tiny-ic-resnet8", "st-stm32f746",
     {"tinyml_mac_efficiency": "tinyml_mac_efficiency"}),
])
def test_workload_results_name_the_default_variant_they_used(model, hw, expected):
    import mlsysim_sym as ms
    r = ms.predict(model, hw)
    used = r.defaults_used()
    for symbol, variant in expected.items():
        # a forward pass's overhead is its own symbol; until a refit gives it an entry it
        # resolves to the LLM step overhead it succeeds (defaults.keys.SUCCEEDS)
        assert used[symbol].variant == variant or (
            used[symbol].requested == variant and used[symbol].variant == "fixed_overhead")
        if symbol in r.inputs():   # the value the prediction ran with is the default's
            given = r.inputs()[symbol]
            assert used[symbol].value.to(given.units).magnitude == pytest.approx(given.magnitude)
    assert "calibrated defaults used" in r.explain()
    assert "mlsysim_sym_defaults" in r.cite()


def test_a_given_efficiency_is_not_reported_as_a_default():
    import mlsysim_sym as ms
    used = ms.predict("resnet-50", "a100", efficiency={"compute": 0.5}).defaults_used()
    assert "compute_efficiency" not in used and "memory_efficiency" in used
    assert ms.predict("resnet-50", "a100", efficiency=0.5).defaults_used().keys() == \
        {"pass_overhead"}
    assert not ms.predict("resnet-50", "a100", efficiency={"compute": 0.5, "memory": 0.5,
                                                           "fixed_overhead": "0.1 ms"}
                          ).defaults_used()
