"""The Google TPU rows of measurements_more.yaml (cases_more/tpu.yaml): every row builds through
train() and predicts a finite positive value of the right order; the conversions the cases use
(the source's FLOP formula, a registry cluster) do what they say."""

import functools
import math
from types import SimpleNamespace

import pytest
import yaml

from mlsysim_sym import registry

from mlsysim_sym.calibration import build_cases, shipped_measurements
from mlsysim_sym.calibration.cases import source_flops_per_token
from mlsysim_sym.calibration.measurements import DATA_DIR
from mlsysim_sym.units import Q_

TPU = [m for m in shipped_measurements()
       if m.id.startswith(("more-train-maxtext-", "more-train-tpurecipes-", "more-train-ironwood-",
                           "more-train-mlperf40-tpuv5p-"))]
# ids from the reproductions' YAML at collection; cases built on first use, not at import (every
# pytest-xdist worker collects this module)
SPEC_IDS = sorted(yaml.safe_load((DATA_DIR / "cases_more" / "tpu.yaml").read_text()))


@functools.cache
def _built():
    cases, uncovered = build_cases(TPU)
    return {c.id: c for c in cases}, {u.id: u for u in uncovered}


def test_all_38_tpu_rows_have_a_reproduction_or_say_why():
    cases, uncovered = _built()
    assert len(TPU) == 38                      # README, "Extension": Google TPU, 38 training rows
    assert {m.id for m in TPU} == set(SPEC_IDS)
    assert len(cases) + len(uncovered) == 38
    assert set(uncovered) == {"more-train-tpurecipes-v6e256-gemma3-12b-32k",
                                         "more-train-tpurecipes-v6e1024-gemma3-12b-32k"}
    assert all("sliding-window" in u.why for u in uncovered.values())


@pytest.mark.parametrize("row_id", SPEC_IDS)
def test_each_tpu_row_predicts_a_physical_value(row_id):
    cases, uncovered = _built()
    if row_id in uncovered:                    # the two sliding-window rows, checked above
        assert "sliding-window" in uncovered[row_id].why
        return
    case = cases[row_id]
    p = float(case.predict({}))
    assert math.isfinite(p) and p > 0
    # broad physical range: within a factor 3 of the published number (an MFU stays below 100%)
    assert case.measured / 3 < p < case.measured * 3, (case.id, p, case.measured)
    if case.unit == "percent":
        assert p < 100
    assert case.assumptions, case.id


def test_tpu_rows_fit_their_own_generation_variant():
    uses = {c.id: set(c.uses) for c in _built()[0].values()}
    assert "compute_efficiency[tpu-v5e]" in uses["more-train-maxtext-v5e-16b-1x256"]
    assert "compute_efficiency[tpu-v7-fp8]" in uses["more-train-ironwood-llama31-70b-64chip-fp8"]
    assert "compute_efficiency[tpu-v5p-int8]" in uses["more-train-mlperf40-tpuv5p-512-gpt3"]


def test_mfu_as_published_uses_the_sources_formula():
    # MaxText Oct-2023 (v5e): 6 N + 12 L H d_h s per token; the 16B row's own notes give the
    # derived step time 10.659 s at 120 TFLOP/s for 6 sequences of 2048 per chip
    m = next(x for x in TPU if x.id == "more-train-maxtext-v5e-16b-1x256")
    arch = m.spec["model"]["architecture"]
    model = SimpleNamespace(parameters=Q_(m.spec["model"]["published_params"], "param"),
                            layers=arch["layers"], heads=arch["heads"], hidden=arch["hidden"],
                            head_dim=arch["head_dim"])
    f = source_flops_per_token(m.spec, model, m)
    expect = 6 * 16274232320 + 12 * 32 * 32 * 256 * 2048
    assert f == pytest.approx(expect, rel=1e-9)
    step = f * 6 * 2048 / 120e12                 # the source's derived step time
    assert step == pytest.approx(10.659, rel=2e-3)
    with pytest.raises(ValueError, match="source_flops"):
        source_flops_per_token({"source_flops": {"per_parameter": 6}}, model, m)


def test_a_case_cluster_must_be_built_of_its_chip():
    m = next(x for x in TPU if x.id == "more-train-maxtext-v5p-128-32b-2x")
    bad = dict(m.spec, hardware="google-tpu-v5e")
    from dataclasses import replace
    with pytest.raises(ValueError, match="built of google-tpu-v5p"):
        build_cases([replace(m, spec=bad)])


def test_multislice_traffic_crosses_dcn():
    """2 x v5p-128 (MaxText's 2x row): each slice reduces over ICI, then the slices exchange
    gradient shards over the 50 Gbit/s DCN, so the data-parallel traffic takes longer than in
    one 64-chip slice with the same per-chip batch."""
    from mlsysim_sym.tasks.training import train
    m = next(x for x in TPU if x.id == "more-train-maxtext-v5p-128-32b-2x").spec
    kw = dict(tp=4, micro_batch=32, seq_len=2048, recompute="selective", zero_stage=3)
    one = train("llama-3-1-70b", registry.cluster("tpu-v5p-6144-slice"), devices=64,
                global_batch=512, **kw)
    two = train("llama-3-1-70b", registry.cluster(m["cluster"]), devices=128, global_batch=1024,
                **kw)
    assert two.value("dp_comm_time") > one.value("dp_comm_time")
