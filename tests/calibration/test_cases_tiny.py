"""The tinyml/edge rows of measurements_more.yaml (MLPerf Tiny v1.0-v1.3, MLPerf Inference edge
on Jetson AGX Orin): each has a reproduction in data/cases_more/tiny.yaml, covered rows build and
predict a finite positive value at the shipped defaults, the rest say why not."""

import functools
import math

import numpy as np
import pytest
import yaml

from mlsysim_sym.calibration import build_cases, shipped_measurements
from mlsysim_sym.calibration.measurements import DATA_DIR

# Row ids come from the reproductions' YAML at collection; the cases are built on first use
# (not at import: every pytest-xdist worker collects this module).
SPEC_IDS = sorted(yaml.safe_load((DATA_DIR / "cases_more" / "tiny.yaml").read_text()))


def _rows():
    return [m for m in shipped_measurements() if m.category == "tinyml" and m.file is not None
            and "measurements_more" in str(m.file)]


@functools.cache
def _built():
    cases, uncovered = build_cases(_rows())
    return {c.id: c for c in cases}, {n.id: n for n in uncovered}


def test_every_tinyml_row_of_the_extension_has_a_reproduction():
    rows = _rows()
    cases, uncovered = _built()
    assert len(rows) == 22
    assert {m.id for m in rows} == set(SPEC_IDS)
    assert len(cases) + len(uncovered) == 22


@pytest.mark.parametrize("row_id", SPEC_IDS)
def test_row_predicts_a_finite_positive_value_or_says_why_not(row_id):
    cases, uncovered = _built()
    if row_id in uncovered:
        assert len(uncovered[row_id].why) > 40
        return
    case = cases[row_id]
    y = float(np.asarray(case.predict({})))
    assert math.isfinite(y) and y > 0
    # within an order of magnitude of the published number, even at stale defaults
    assert 0.1 < y / case.measured < 10, f"{case.id}: {y:.4g} vs {case.measured:.4g}"


def test_six_l4r5_kws_stacks_are_a_software_stack_test():
    # same silicon (STM32L4R5 at 120 MHz), same model: the rows differ only by the stack, and the
    # model separates them only through the calibrated per-stack MAC efficiencies
    l4r5 = [c for c in _built()[0].values() if "l4r5" in c.id and c.id.endswith("-kws")]
    assert len(l4r5) == 6
    used = {c.uses for c in l4r5}
    assert {"tinyml_mac_efficiency[cmsis_nn]", "tinyml_mac_efficiency[hale]",
            "tinyml_mac_efficiency[x_cube_ai]", "tinyml_mac_efficiency[microtvm]"} == \
        {u[0] for u in used}


def test_microtvm_native_is_a_known_stack_that_starts_at_the_pooled_value():
    # OctoML's v1.0 L4R5 row ran microTVM's own int8 schedules (system description: "microTVM
    # native schedules (no CMSIS-NN)"): predict_tinyml accepts the engine, and until a refit
    # gives it a value of its own it resolves up its chain to the pooled MAC efficiency
    from mlsysim_sym.defaults import resolve, stacks
    from mlsysim_sym.defaults.keys import VariantKey
    from mlsysim_sym.tasks.workloads import predict_tinyml
    assert "microtvm" in stacks("tinyml_mac_efficiency")
    got = resolve("tinyml_mac_efficiency", VariantKey(stack="microtvm"))
    assert got.requested == "tinyml_mac_efficiency[microtvm]"
    assert got.variant in ("tinyml_mac_efficiency", "tinyml_mac_efficiency[microtvm]")
    r = predict_tinyml("mlperf-tiny-kws-ds-cnn", "st-stm32l4r5", stack="microtvm")
    assert r.latency.to("ms").magnitude > 0
    with pytest.raises(ValueError, match="unknown stack"):
        predict_tinyml("mlperf-tiny-kws-ds-cnn", "st-stm32l4r5", stack="microtvm-native")
