"""The training task as a package: its config, the glue equations built once, the plain-number
access of its result, and the old import path."""

import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest

import mlsysim_sym as ms
from mlsysim_sym import vocabulary
from mlsysim_sym.equations import operations
from mlsysim_sym.equations.base import check_equation
from mlsysim_sym.equations.references import reference
from mlsysim_sym.tasks import training
from mlsysim_sym.tasks._core.result import Result
from mlsysim_sym.tasks.training import TrainConfig, TrainResult, train
from mlsysim_sym.tasks.training.config import state_bytes
from mlsysim_sym.tasks.training.ops import ops_system
from mlsysim_sym.tasks.training.result import ALIASES
from mlsysim_sym.tasks.training.step import zero_inputs

ONE_NODE = dict(devices=8, micro_batch=1, global_batch=64, seq_len=4096)


def test_old_path_and_top_level_are_the_same_objects():
    import mlsysim_sym.training_scenarios as old
    for name in old.__all__:
        assert getattr(old, name) is getattr(training, name)
    assert ms.train is training.train and ms.TrainResult is TrainResult
    assert ms.iron_law is training.iron_law


def test_task_modules_and_train_stay_small():
    for path in Path(training.__file__).parent.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path.name
    assert len(inspect.getsourcelines(train)[0]) <= 80


@pytest.mark.parametrize("eq", operations.ZERO + (operations.FAILURE_GOODPUT,
                                                  operations.CHECKPOINT_GOODPUT,
                                                  operations.DALY_INTERVAL),
                         ids=lambda eq: eq.name)
def test_glue_equations_are_cited_and_dimensionally_consistent(eq):
    check_equation(eq)
    assert reference(eq.cite) and eq.locator


@pytest.mark.parametrize("stage", operations.ZERO_STAGES)
def test_zero_stages_partition_states_as_zero_figure_1(stage):
    # d = 6, c = 2 ranks share the states; m = B / (d b) = 96 / 12 = 8 micro-batches
    got = zero_inputs(stage, 6.0, 2.0, 96.0, 2.0)
    shard = 1.0 / (6.0 * 2.0)
    assert got == {"optimizer_shard_factor": shard if stage >= 1 else 1.0,
                   "gradient_shard_factor": shard if stage >= 2 else 1.0,
                   "parameter_shard_factor": shard if stage >= 3 else 1.0,
                   "gradient_reduce_passes": 8.0 if stage >= 2 else 1.0,
                   "parameter_gather_passes": 16.0 if stage == 3 else 1.0}


def test_zero_glue_is_the_formula_bit_for_bit_and_keeps_scalars_scalar():
    rng = np.random.default_rng(7)
    d = rng.integers(1, 4097, 500).astype(float)
    b = rng.integers(1, 17, 500).astype(float)
    B = d * b * rng.integers(1, 65, 500)
    got = zero_inputs(3, d, 3.0, B, b)
    assert np.array_equal(got["parameter_shard_factor"], 1.0 / (d * 3.0))
    assert np.array_equal(got["parameter_gather_passes"], 2.0 * (B / (d * b)))
    plain = zero_inputs(0, d, 3.0, B, b)
    assert all(isinstance(v, float) and v == 1.0 for v in plain.values())


def test_state_bytes_follow_the_precision_formats():
    for name in vocabulary.TRAINING_PRECISIONS:
        sb = state_bytes(name)
        if vocabulary.PRECISIONS[name].mixed:   # 16-bit states + fp32 master and two moments
            assert (sb.weights, sb.gradients, sb.optimizer, sb.activations) == (2, 2, 12, 2)
        else:                                   # fp32 / tf32: the weights are the master copy
            assert (sb.weights, sb.gradients, sb.optimizer, sb.activations) == (4, 4, 8, 4)
    r32 = train("llama-3-8b", "a100", devices=16, global_batch=64, precision="fp32")
    assert r32.inputs()["optimizer_bytes_per_parameter"].to("B/param").magnitude == 8


def test_config_checks_normalises_and_replaces():
    cfg = TrainConfig(model="llama-3-8b", cluster="h100", global_batch=64, devices=8,
                      precision="BF16", recompute="selective", tp=np.array([1, 2]))
    assert cfg.precision == "bf16" and cfg.devices == 8 and cfg.mode == "full"
    assert cfg.recompute_fractions == (0.0, 1.0, 0.0, 0.0) and cfg.kernel is None
    assert isinstance(cfg.tp, np.ndarray) and cfg.tp.dtype == float
    lora = dataclasses.replace(cfg, lora_rank=8, flash_attention=False)
    assert lora.mode == "lora" and lora.kernel == "eager" and lora.precision == "bf16"
    with pytest.raises(ValueError, match="zero_stage must be"):
        dataclasses.replace(cfg, zero_stage=4)
    with pytest.raises(ValueError, match="loss must be"):
        TrainConfig(model="llama-3-8b", cluster="h100", global_batch=64, loss="chunked")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.tp = 4


def test_run_of_a_config_is_train():
    cfg = TrainConfig(model="llama-3-8b", cluster="h100", zero_stage=1, **ONE_NODE)
    assert training.run(cfg).value("training_step_time") == \
        train("llama-3-8b", "h100", zero_stage=1, **ONE_NODE).value("training_step_time")


def test_value_and_base_inputs_are_plain_numbers():
    r = train("llama-3-8b", "h100", zero_stage=1, **ONE_NODE)
    t = r.value("training_step_time")
    assert isinstance(t, float) and t == pytest.approx(r.step_time.to("s").magnitude, rel=1e-12)
    assert r.value("step_time") == t and r.value("mfu") == r.value("model_flops_utilization")
    for attr in ALIASES:                       # each alias reads what its attribute shows
        assert r.value(attr) == pytest.approx(
            getattr(r, attr).to_base_units().magnitude, rel=1e-12), attr
    with pytest.raises(KeyError, match="no output or input 'stepp_time'"):
        r.value("stepp_time")
    base = r.base_inputs()
    assert base["peak_flops"] == pytest.approx(
        r.inputs()["peak_flops"].to_base_units().magnitude, rel=1e-12)
    base["peak_flops"] = 0.0                     # a copy: the result is unchanged
    assert r.base_inputs()["peak_flops"] > 0
    sweep = train("llama-3-8b", "h100", tp=np.array([1, 2, 4]), **ONE_NODE)
    assert sweep.value("training_step_time").shape == (3,)
    assert sweep.value("peak_flops").shape == (3,)  # an input, broadcast to the outputs


def test_result_records_the_default_variants_it_used():
    r = train("llama-3-8b", "nvidia-h100-sxm", **ONE_NODE)
    assert isinstance(r, Result)
    used = r.defaults_used()
    assert used["compute_efficiency"].requested == "compute_efficiency[hopper]"
    assert used["compute_efficiency"].value.magnitude == pytest.approx(
        r.inputs()["compute_efficiency"].magnitude)
    assert "communication_efficiency" not in used      # NVSwitch publishes its figure
    overlaps = {"tensor_parallel_overlap", "pipeline_parallel_overlap", "expert_parallel_overlap"}
    assert overlaps | {"framework_workspace"} <= set(used)
    mine = train("llama-3-8b", "nvidia-h100-sxm", efficiency={"compute": 0.5},
                 model_parallel_overlap=0.0, **ONE_NODE).defaults_used()
    assert "compute_efficiency" not in mine and not overlaps & set(mine)
    # one class given: the other two still come from their defaults
    tp_only = train("llama-3-8b", "nvidia-h100-sxm", tp_overlap=0.0, **ONE_NODE).defaults_used()
    assert overlaps & set(tp_only) == overlaps - {"tensor_parallel_overlap"}
    assert "mlsysim_sym_defaults" in r.cite() and "compute_efficiency[hopper]" in r.cite()
    assert r.headline().startswith("llama-3-8b on nvidia-h100-sxm: step time")


def test_operations_systems_are_built_once():
    ops = dict(device_mtbf="79230 h", node_component_mtbf="126391 h", recovery_time="30 min")
    first = train("llama-3-8b", "h100", tokens="1e12 token", ops=ops, **ONE_NODE)
    again = train("llama-3-8b", "h100", tokens="2e12 token", ops=ops, **ONE_NODE)
    # wall 15's goodput 1 / (1 + R/M) does not depend on the run's length
    assert first.goodput.magnitude == pytest.approx(again.goodput.magnitude, rel=1e-12)
    assert ops_system("fragility", False) is ops_system("fragility", False)
    assert ops_system.cache_info().currsize <= 4   # one per goodput model, not per request
    assert again.wall_clock_time > first.wall_clock_time
