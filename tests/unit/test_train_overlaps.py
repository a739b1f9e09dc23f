"""One overlap per model-parallel traffic class (issue 17): TP, PP and EP communication are each
hidden behind compute by their own calibrated fraction, read the same way by train() and by the
calibration's case runner; ``model_parallel_overlap`` sets every class at once."""

import pytest
import yaml

from mlsysim_sym import symbols
from mlsysim_sym.calibration import build_cases, shipped_measurements
from mlsysim_sym.calibration.measurements import DATA_DIR
from mlsysim_sym.calibration.parameters import CALIBRATED
from mlsysim_sym.calibration.validate import neutral_start
from mlsysim_sym.defaults import default, resolve
from mlsysim_sym.equations import workloads
from mlsysim_sym.equations.base import check_equation
from mlsysim_sym.tasks.training import train

OVERLAPS = {"tp_overlap": ("tensor_parallel_overlap", "tp_comm_time"),
            "pp_overlap": ("pipeline_parallel_overlap", "pp_comm_time"),
            "ep_overlap": ("expert_parallel_overlap", "ep_comm_time")}
# Mixtral 8x7B with every model-parallel class present: TP 2, PP 2, EP 4 (dp 16)
EVERY_CLASS = dict(devices=64, tp=2, pp=2, ep=4, micro_batch=1, global_batch=64, seq_len=4096,
                   zero_stage=1, sequence_parallel=True)


def _mixtral(**kw):
    return train("mixtral-8x7b", "nvidia-h100-sxm", **{**EVERY_CLASS, **kw})


@pytest.mark.parametrize("key", OVERLAPS)
def test_each_class_is_a_declared_calibrated_symbol_with_a_neutral_start(key):
    name = OVERLAPS[key][0]
    row = symbols.info(name)
    assert row.unit in ("", "dimensionless") and row.bounds == (0, 1) and row.description
    assert CALIBRATED[name] == (0.0, 1.0)
    with open(DATA_DIR / "start.yaml", encoding="utf-8") as fh:
        start = yaml.safe_load(fh)
    assert start[name]["why"] and 0 < neutral_start()[name] < 1
    # one fraction for TP and PP is no longer fitted: each class is
    assert "model_parallel_overlap" not in CALIBRATED
    # until the refit writes its own entry, a class resolves to the one fitted overlap
    r = resolve(name)
    assert r.variant in (name, "model_parallel_overlap")
    assert default(name).to("").magnitude == pytest.approx(r.value.to("").magnitude)


def test_each_comm_term_reads_only_its_own_overlap_and_is_dimensionally_consistent():
    eqs = {eq.lhs.name: eq for eq in workloads.training_step.equations}
    for _key, (symbol, term) in OVERLAPS.items():
        eq = eqs[term]
        check_equation(eq)
        names = {s.name for s in eq.rhs.free_symbols}
        others = {v[0] for v in OVERLAPS.values()} - {symbol}
        assert symbol in names and not names & (others | {"model_parallel_overlap"})


@pytest.mark.parametrize("key", OVERLAPS)
def test_each_overlap_moves_only_its_own_comm_term(key):
    """Finite difference: raising one class's overlap by 0.1 shrinks its exposed traffic by
    0.1 / (1 - o) and leaves the other two classes' terms as they were."""
    base = dict(tp_overlap=0.3, pp_overlap=0.4, ep_overlap=0.5)
    r0 = _mixtral(**base)
    r1 = _mixtral(**{**base, key: base[key] + 0.1})
    for other, (_sym, term) in OVERLAPS.items():
        t0, t1 = r0.value(term), r1.value(term)
        assert t0 > 0
        if other == key:
            assert t1 == pytest.approx(t0 * (1 - base[key] - 0.1) / (1 - base[key]), rel=1e-9)
        else:
            assert t1 == pytest.approx(t0, rel=1e-12)
    assert r1.value("training_step_time") < r0.value("training_step_time")


def test_model_parallel_overlap_sets_every_class_and_a_class_keyword_wins():
    r = _mixtral(model_parallel_overlap=0.6, pp_overlap=0.1)
    got = {s: r.inputs()[s].magnitude for s, _t in OVERLAPS.values()}
    assert got == pytest.approx({"tensor_parallel_overlap": 0.6,
                                 "pipeline_parallel_overlap": 0.1,
                                 "expert_parallel_overlap": 0.6})
    # left out: each class's calibrated default
    d = _mixtral()
    for symbol, _term in OVERLAPS.values():
        assert d.inputs()[symbol].magnitude == pytest.approx(
            default(symbol).to("").magnitude)


@pytest.mark.parametrize("kwargs, name", [
    (dict(tp_overlap=-0.1), "tp_overlap"), (dict(pp_overlap=1.2), "pp_overlap"),
    (dict(ep_overlap=1.5), "ep_overlap"), (dict(model_parallel_overlap=2), "model_parallel"),
    (dict(tp_overlap=float("nan")), "tp_overlap"), (dict(pp_overlap="half"), "pp_overlap"),
])
def test_an_overlap_outside_zero_one_is_a_clear_error(kwargs, name):
    with pytest.raises(ValueError, match=name):
        _mixtral(**kwargs)


def _case(case_id):
    ms = [m for m in shipped_measurements() if m.id == case_id]
    return build_cases(ms)[0][0]


def test_the_case_runner_and_train_agree_given_the_same_overlaps():
    """The Megatron-Core Llama 3 70B row (TP 4, PP 8 interleaved 5): the fit's per-class
    values reach train() exactly as train()'s own keywords do; a class without traffic in the
    row (EP 1) is not one the row informs."""
    case = _case("train-megatron-llama3-70b-h100x64-fp8-seq8192")
    assert {"tensor_parallel_overlap", "pipeline_parallel_overlap"} <= set(case.uses)
    assert "expert_parallel_overlap" not in case.uses
    params = {"tensor_parallel_overlap": 0.2, "pipeline_parallel_overlap": 0.7}
    r = train("llama-3-70b", "nvidia-h100-sxm", devices=64, tp=4, pp=8, cp=1, interleave=5,
              micro_batch=1, global_batch=128, seq_len=8192, precision="fp8",
              recompute="none", zero_stage=1, sequence_parallel=True,
              tp_overlap=0.2, pp_overlap=0.7)
    expected = r.value("training_throughput") / 64
    assert float(case.predict(params)) == pytest.approx(expected, rel=1e-9)
    # and with nothing given both read the calibrated defaults, as train() does
    d = train("llama-3-70b", "nvidia-h100-sxm", devices=64, tp=4, pp=8, cp=1, interleave=5,
              micro_batch=1, global_batch=128, seq_len=8192, precision="fp8",
              recompute="none", zero_stage=1, sequence_parallel=True)
    assert float(case.predict({})) == pytest.approx(d.value("training_throughput") / 64,
                                                    rel=1e-9)


def test_a_stated_framework_fact_is_not_fitted():
    """Megatron-LM 2022 overlaps no class (model_parallel_overlap 0 in the case): the row
    informs no overlap; DeepSeek-V3 on GB200 (TP 1, EP all-to-alls on the compute stream,
    ep_overlap 0) informs the pipeline class only."""
    k = _case("train-korthikanti-t5-175b-seqsel-a100x64")
    assert not {s for s, _t in OVERLAPS.values()} & set(k.uses)
    assert float(k.predict({"tensor_parallel_overlap": 0.9})) == pytest.approx(
        float(k.predict({"tensor_parallel_overlap": 0.1})), rel=1e-12)
    d = _case("train-mcore-dsv3-gb200x256-mxfp8-baseline")
    assert {s for s, _t in OVERLAPS.values()} & set(d.uses) == {"pipeline_parallel_overlap"}


def test_the_refit_writes_the_unfitted_class_at_its_start_and_drops_the_superseded_entry():
    """scripts/calibrate_defaults.py: the EP overlap, which no fitted row uses, gets its neutral
    start as an assumption (not the old single fit for ever); model_parallel_overlap, no longer
    calibrated, leaves the table once every class it stood for has its own entry."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "scripts" / "calibrate_defaults.py"
    spec = importlib.util.spec_from_file_location("refit", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    old = {"value": "0.33", "basis": "fitted", "source": "an earlier fit"}
    table = {"model_parallel_overlap": dict(old), "tensor_parallel_overlap": dict(old),
             "pipeline_parallel_overlap": dict(old)}
    start = {"expert_parallel_overlap": {"value": 0.5, "why": "neutral"}}
    out = mod.unfitted_and_superseded(table, {"tensor_parallel_overlap",
                                              "pipeline_parallel_overlap"}, start)
    ep = out["expert_parallel_overlap"]
    assert ep["basis"] == "assumption" and float(ep["value"]) == pytest.approx(0.5)
    assert "neutral" in ep["note"] and "model_parallel_overlap" not in out
    # a class the fit produced is never overwritten; without every successor the old one stays
    kept = mod.unfitted_and_superseded({"model_parallel_overlap": dict(old)}, set(), {})
    assert "model_parallel_overlap" in kept
