"""The Apple-silicon llama.cpp and SGLang/vLLM reproductions (data/cases_more/apple.yaml and
sglang.yaml) build, predict finite values in a physical range, and keep their physics honest."""

import functools
import math

import numpy as np
import pytest
import yaml

from mlsysim_sym import registry
from mlsysim_sym.calibration import build_cases, load_measurements, shipped_measurements
from mlsysim_sym.calibration.measurements import DATA_DIR


def _specs(name):
    return yaml.safe_load((DATA_DIR / "cases_more" / f"{name}.yaml").read_text())


# Case ids and kinds are read from the YAML at collection; the cases themselves are built on
# first use (building the SGLang serve-load cases evaluates the load model: seconds of CPU that
# every pytest-xdist worker would otherwise spend collecting this module).
APPLE_SPECS, SGLANG_SPECS = _specs("apple"), _specs("sglang")
APPLE_IDS, SGLANG_IDS = set(APPLE_SPECS), set(SGLANG_SPECS)


@functools.cache
def _group(name):
    ids = set(_specs(name))
    cases, _ = build_cases([m for m in shipped_measurements() if m.id in ids])
    return {c.id: c for c in cases}


def _apple():
    return list(_group("apple").values())


def _sglang():
    return list(_group("sglang").values())


def _case(case_id):
    return (_group("apple") if case_id in APPLE_IDS else _group("sglang"))[case_id]


def test_every_apple_and_sglang_row_has_a_reproduction():
    rows = {m.id for m in shipped_measurements()}
    apple = {i for i in rows if i.startswith("more-infer-llamacpp-apple-")}
    sharegpt = {i for i in rows if "sharegpt" in i}
    assert APPLE_IDS == apple and len(apple) == 15      # XiongjieDai, PRs, geerlingguy
    assert SGLANG_IDS == sharegpt and len(sharegpt) == 8
    assert len(_apple()) == 15 and len(_sglang()) == 8  # all built, none "not covered"


# broad physical ranges per kind (unit of the case): a decode rate of a batch-1 llama.cpp run is
# a few to a few hundred tokens/s; a 512-token prefill on an Apple GPU 10-10^4 tokens/s; a TPOT
# at a few requests/s on A100/H100 1-200 ms; a single-replica max-load throughput 10^2-10^5 tok/s
RANGE = {"decode_rate": (1.0, 1000.0), "prefill_rate": (10.0, 1e4),
         "serve_load": (1.0, 200.0), "max_load": (100.0, 1e5)}


@pytest.mark.parametrize("case_id", sorted(APPLE_IDS) + sorted(SGLANG_IDS))
def test_prediction_is_finite_positive_and_in_a_physical_range(case_id):
    case = _case(case_id)
    lo, hi = RANGE[case.kind]
    p = float(case.predict({}))
    assert math.isfinite(p) and lo < p < hi, (case.id, p)
    # and within a factor of three of the published number with the shipped defaults
    assert 1 / 3 < p / case.measured < 3, (case.id, p, case.measured)


def _decode_bound(case):
    """Tokens/s if the chip streamed the weights at its full peak bandwidth and did nothing else
    (the roofline's memory roof, KV reads and overheads left out)."""
    spec = case.measurement.spec
    hw = registry.hardware(spec["hardware"])
    model = registry.model(spec["model"]) if isinstance(spec["model"], str) else None
    params = (model.parameters.to("param").magnitude if model is not None
              else float(spec["model"]["published_params"]))
    bits = spec.get("weight_bits", 16)
    return hw.memory_bandwidth.to("B/s").magnitude / (params * bits / 8)


@pytest.mark.parametrize("case_id", sorted(i for i, spec in APPLE_SPECS.items()
                                            if spec["predict"] == "decode_rate"))
def test_decode_never_beats_the_weight_read_bound(case_id):
    """Batch-1 decode reads every weight once per token: no efficiency or overhead can make it
    faster than peak bandwidth / weight bytes (weight bytes from the format's bits per weight)."""
    case = _case(case_id)
    assert case.kind == "decode_rate"
    assert float(case.predict({})) < _decode_bound(case)
    # and the measurement does not either (a check on the bits per weight chosen)
    assert case.measured < _decode_bound(case)


def test_weight_bits_are_the_formats_own_figures():
    """Q4_K_M 4.84/4.80 (llama.cpp quantize README, Llama 2 7B/70B), Q4_0 4.5 (18-byte blocks of
    32 weights, ggml-quants.h), F16 none: never a file-size fit."""
    raw = yaml.safe_load((DATA_DIR / "cases_more" / "apple.yaml").read_text())
    for key, spec in raw.items():
        bits = spec.get("weight_bits")
        fmt = key.split("-")[-2] if "pp1" not in key else "q4_0"
        expected = {"q4_k_m": 4.80 if "70b" in key else 4.84, "q4km": 4.84, "q4_0": 4.5,
                    "f16": None}[fmt]
        assert bits == expected, key


def test_lower_bits_decode_faster_on_the_same_chip():
    by = {c.id: float(c.predict({})) for c in _apple()}
    p = "more-infer-llamacpp-apple-m2ultra-llama3-"
    assert by[p + "8b-q4_k_m-tg512"] > by[p + "8b-f16-tg512"]
    assert by[p + "70b-q4_k_m-tg512"] > by[p + "70b-f16-tg512"]


def test_tpot_grows_with_the_request_rate():
    """More requests/s -> a larger running batch (Little's law) -> a longer step."""
    by = _group("sglang")
    for gpu in ("a100-llama31-8b-tp1", "h100x4-llama31-70b-tp4"):
        r4 = float(by[f"more-infer-sglang-{gpu}-sharegpt-rps4"].predict({}))
        r8 = float(by[f"more-infer-sglang-{gpu}-sharegpt-rps8"].predict({}))
        assert r8 > r4


def test_serve_load_broadcasts_parameter_arrays():
    case = next(c for c in _sglang() if c.kind == "serve_load")
    name = next(u for u in case.uses if u.startswith("memory_efficiency"))
    out = np.asarray(case.predict({name: np.array([0.6, 0.8])}))
    assert out.shape == (2,) and out[0] > out[1]     # less bandwidth -> slower steps


def test_serve_load_refuses_an_unknown_output():
    entry = {"id": "x", "category": "inference",
             "measured": {"metric": "tpot", "value": 10.0, "unit": "ms"},
             "mlsysim": {"predict": "serve_load", "output": "p99", "unit": "ms",
                         "hardware": "nvidia-a100-80gb-sxm", "model": "llama-3-1-8b",
                         "request_rate": 4, "input_tokens": 224, "output_tokens": 194}}
    with pytest.raises(ValueError, match="tpot or ttft_mean"):
        build_cases(load_measurements([entry]))


def test_deepseek_v3_gpu_hours_run_on_the_h800():
    cases, _ = build_cases([m for m in shipped_measurements()
                            if m.id == "energy-deepseek-v3-pretraining-gpuhours"])
    assert cases[0].measurement.spec["hardware"] == "nvidia-h800-sxm"
    assert any("H800" in a for a in cases[0].assumptions)
    assert math.isfinite(float(cases[0].predict({})))
