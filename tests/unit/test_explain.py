"""explain() of every result: the equations behind its headline outputs, with the numbers
substituted and the values the result reports; one line when a result cannot be explained."""

import re
import subprocess
import sys

import numpy as np
import pytest

import mlsysim_sym as ms
from mlsysim_sym.analysis.explain import HEADLINE_OUTPUTS, explain, explain_data
from mlsysim_sym.system import System
from mlsysim_sym.tasks._core.result import Result

#: what the dense prediction's explanation starts from (as before every result could be
#: explained: the dense prediction's text must not change)
DENSE = ("ttft", "time_per_output_token", "memory_footprint", "memory_utilization",
         "decode_throughput", "prefill_throughput")


def _depends(system, names) -> list:
    """Every equation ``names`` depend on, in the system's dependency order."""
    seen, stack = set(), [system.symbol(n) for n in names]
    while stack:
        sym = stack.pop()
        if sym in system.definitions and sym.name not in seen:
            seen.add(sym.name)
            stack.extend(system.definitions[sym].rhs.free_symbols)
    return [eq.name for eq in system.order if eq.name in seen]


def _value_line(q, unit) -> str:
    """How the explanation prints a value the result reports."""
    m = q.to(unit).magnitude
    return f"      = {m:.4g} {unit}" if unit else f"      = {m:.4g}"


def _block(text, name) -> list:
    """The three lines of equation ``name``: symbolic, substituted, value."""
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(f"  {name} := "))
    return lines[i:i + 3]


def test_dense_prediction_text_keeps_its_structure_and_numbers():
    r = ms.predict("llama-3-8b", "h100")
    text = r.explain()
    assert text == explain(r)
    d = explain_data(r)
    names = [eq["name"] for eq in d["equations"]]
    assert names == _depends(r.system, DENSE)
    assert {"weight_bytes", "kv_cache_bytes", "decode_memory_time", *DENSE} <= set(names)
    assert text.splitlines()[0] == "llama-3-8b on nvidia-h100-sxm, precision fp16, phase decode"
    assert text.splitlines()[-1] == (f"bottleneck: {r.bottleneck} ({r.bottleneck_detail}); "
                                     f"feasible: {r.feasible}")
    sym, _, value = _block(text, "time_per_output_token")
    assert "[pope2023inference" in sym and value == _value_line(r.time_per_output_token, "ms")
    # the vocabulary tables (embedding, LM head: 5.253e8 weights each) at their own width
    assert _block(text, "weight_bytes")[1] == (
        "      = (2 B/param)*(-(5.253e+08 param) - (5.253e+08 param) + (8.03e+09 param))"
        " + (2 B/param)*((5.253e+08 param) + (5.253e+08 param))")
    assert "calibrated defaults used" in text and "compute_efficiency[serve-hopper]" in text
    assert d["system"] == "serving" and d["feasible"] is True


def test_moe_prediction_explains_the_moe_record():
    r = ms.predict("mixtral-8x7b", "h100", batch=4)
    text = r.explain()
    assert text.splitlines()[0].startswith("mixtral-8x7b on nvidia-h100-sxm")
    # the record's own forms, with the values the prediction reports
    assert _block(text, "moe_time_per_output_token")[2] == _value_line(
        r.time_per_output_token, "ms")
    assert _block(text, "moe_ttft")[2] == _value_line(r.ttft, "ms")
    assert "parameters := " in text and "jiang2024mixtral" in text  # active from the experts
    # not the dense forms it replaces
    assert "\n  time_per_output_token := " not in text and "\n  ttft := " not in text
    assert "calibrated defaults used" in text and "unoverlapped_fraction" in text
    assert explain_data(r)["system"] == "serving (MoE)"


def test_moe_prediction_with_latent_attention_explains_both_records():
    r = ms.predict("deepseek-v3", "h200", precision="fp8")
    text = r.explain()
    assert _block(text, "moe_time_per_output_token")[2] == _value_line(
        r.time_per_output_token, "ms")
    assert "kv_elements_per_layer :=" in text and "kv_lora_rank" in text


def test_train_result_explains_the_step_and_mfu():
    t = ms.train("llama-3-8b", "h100", devices=8, tp=2, micro_batch=1, global_batch=64,
                 seq_len=2048)
    text = explain(t)
    assert text.splitlines()[0] == "llama-3-8b on nvidia-h100-sxm, precision bf16"
    assert _block(text, "training_step_time")[2] == _value_line(t.step_time, "s")
    assert _block(text, "model_flops_utilization")[2] == _value_line(t.mfu, "")
    assert "chowdhery2022palm" in _block(text, "model_flops_utilization")[0]
    assert text.splitlines()[-1] == f"bottleneck: {t.bottleneck}; feasible: {t.feasible}"
    # no token budget given: the run-length outputs are left out, not an error
    assert "time_to_train :=" not in text and "job_duration :=" not in text


@pytest.mark.parametrize("model,hardware,latency,unit", [
    ("resnet-50", "a100", "encoder_latency", "ms"),
    ("bert-base", "a100", "encoder_latency", "ms"),
    ("mlperf-tiny-kws-ds-cnn", "st-stm32f746", "tinyml_latency", "ms"),
    ("mamba-2.8b", "h100", "ssm_time_per_output_token", "ms"),
])
def test_workload_predictions_explain_their_record(model, hardware, latency, unit):
    r = ms.predict(model, hardware)
    text = explain(r)
    assert isinstance(r, Result) and r.explain() == text
    assert _block(text, latency)[2] == _value_line(r.latency, unit)
    assert text.splitlines()[-1].startswith(f"bottleneck: {r.bottleneck} (")
    assert "inputs:" in text and "williams2009roofline" in text


@pytest.mark.parametrize("task", ["serve", "size_fleet", "best_parallelism", "compute_optimal",
                                  "compress", "fleet_footprint"])
def test_fleet_family_results_are_explained_or_say_why_in_one_line(task):
    load = dict(qps=2, input_tokens=256, output_tokens=64)
    r = {"serve": lambda: ms.serve("llama-3-8b", "h100", **load),
         "size_fleet": lambda: ms.size_fleet("llama-3-8b", "h100", **load),
         "best_parallelism": lambda: ms.best_parallelism(
             "llama-3-8b", "h100", devices=8, global_batch=16, zero_stages=(0,),
             recompute=("none",)),
         "compute_optimal": lambda: ms.compute_optimal("1e24 FLOP"),
         "compress": lambda: ms.compress("llama-3-70b", bits=4),
         "fleet_footprint": lambda: ms.fleet_footprint("h100", 64, days=30, datacenter="quebec")}[task]()
    text = explain(r)
    if "\n" in text:  # a result that records its inputs: its equations with their numbers
        assert " := " in text and "\n      = " in text
    else:
        assert re.fullmatch(rf"explain\(\): {type(r).__name__} (has no composed system to "
                            r"explain|does not record its inputs).*", text), text
    if isinstance(r, Result):
        assert r.explain() == text


def test_what_cannot_be_explained_is_one_line():
    assert explain(ms.predict("llama-3-8b", "h100", batch=np.array([1, 2]))) == \
        "explain() needs a scalar prediction (no array knobs)"
    assert explain(ms.predict("resnet-50", "a100", batch=np.array([1, 2]))) == \
        "explain() needs a scalar prediction (no array knobs)"
    assert explain(object()).startswith("explain(): object has no composed system")
    with pytest.raises(ValueError, match="no composed system"):
        explain_data(object())


class _Weights(Result):
    """A result of the serving system that names its own headline output (EXPLAIN)."""

    EXPLAIN = ("weight_bytes", "memory_utilization")

    def __init__(self, system, inputs):
        self.system, self._base = system, inputs

    def base_inputs(self):
        return dict(self._base)

    def to_dict(self):
        return {"model": "toy", "hardware": "chip"}


def test_result_base_explains_what_a_result_names():
    p = ms.predict("llama-3-8b", "h100")
    base = {n: q.to_base_units().magnitude for n, q in p.inputs().items()}
    r = _Weights(p.system, base)
    text = r.explain()
    names = [eq["name"] for eq in explain_data(r)["equations"]]
    assert names == _depends(p.system, _Weights.EXPLAIN)
    assert {"weight_bytes", "kv_cache_bytes", "memory_footprint"} <= set(names)
    assert "ttft :=" not in text and "defaults used" not in text
    assert text.splitlines()[0] == "_Weights of system 'serving'"
    # inputs the named outputs need but the result lacks: one line naming them
    short = _Weights(p.system, {k: v for k, v in base.items() if k != "parameters"})
    assert short.explain() == "explain(): this _Weights of system 'serving' has no parameters"
    # no system: one line
    assert _Weights(None, base).explain().startswith("explain(): _Weights has no composed system")


def test_every_family_marker_is_one_of_its_headline_outputs():
    for marker, names in HEADLINE_OUTPUTS:
        assert marker in names


def test_old_paths_re_export_the_analysis_modules():
    import mlsysim_sym.analysis.citations as new_c
    import mlsysim_sym.analysis.explain as new_e
    import mlsysim_sym.analysis.uncertainty as new_u
    import mlsysim_sym.citations as old_c
    import mlsysim_sym.explain as old_e
    import mlsysim_sym.uncertainty as old_u
    from mlsysim_sym.iron_law import IronLaw, iron_law
    from mlsysim_sym.analysis import iron_law as new_i
    assert (old_c.cite, old_c.latex, old_c.values_used) == (new_c.cite, new_c.latex,
                                                            new_c.values_used)
    assert old_e.explain_prediction is new_e.explain and old_e.explain_data is new_e.explain_data
    assert (old_u.Band, old_u.band_of, old_u.discrepancy) == (new_u.Band, new_u.band_of,
                                                              new_u.discrepancy)
    assert (IronLaw, iron_law) == (new_i.IronLaw, new_i.iron_law)
    assert ms.cite is new_c.cite and ms.latex is new_c.latex and callable(ms.iron_law)


def test_uncertainty_reads_the_validation_record_without_the_calibration_modules():
    code = ("import sys, mlsysim_sym.analysis.uncertainty as u\n"
            "sd = u.discrepancy('inference')\n"
            "assert 0 < sd < 3, sd\n"
            "assert u.discrepancy('no-such-category') == 0.0\n"
            "assert not [m for m in sys.modules if m.startswith('mlsysim_sym.calibration')]\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
