"""best_parallelism: every valid layout, one vectorised call per (recompute, ZeRO), ranked."""

import pytest

import mlsysim_sym as ms
from mlsysim_sym.tasks.planning import best_parallelism


@pytest.fixture(scope="module")
def plan():
    return best_parallelism("gpt-3-175b", "a100", devices=1024, global_batch=1536, seq_len=2048)


def test_every_row_is_a_valid_layout(plan):
    assert plan.evaluated >= plan.feasible_count > 0
    for row in plan.table:
        assert row["tp"] * row["pp"] * row["dp"] == 1024
        assert 1536 % (row["dp"] * row["micro_batch"]) == 0
        assert 96 % row["pp"] == 0 and row["tp"] <= 8
        assert row["memory_per_device"].to("GiB").magnitude <= 80  # H100: 80 GiB (nvidia-smi)


def test_rows_are_ranked_and_best_matches_a_direct_train_call(plan):
    times = [row["step_time"].to("s").magnitude for row in plan.table]
    assert times == sorted(times)
    b = plan.best
    r = ms.train("gpt-3-175b", "a100", devices=1024, tp=b["tp"], pp=b["pp"], dp=b["dp"],
                 micro_batch=b["micro_batch"], global_batch=1536, seq_len=2048,
                 recompute=b["recompute"], zero_stage=b["zero_stage"])
    assert r.feasible
    assert r.step_time.to("s").magnitude == pytest.approx(b["step_time"].to("s").magnitude, rel=1e-9)


def test_infeasible_layouts_are_masked():
    p = best_parallelism("gpt-3-175b", "a100", devices=64, global_batch=64, seq_len=2048,
                         recompute=("none",), zero_stages=(0,))
    # 175B with plain data parallelism (TP=PP=1) cannot fit 80 GiB
    assert all(not (row["tp"] == 1 and row["pp"] == 1) for row in p.table)
    assert p.evaluated > p.feasible_count


def test_objective_and_bad_input():
    p = best_parallelism("llama-3-8b", "h100", devices=8, global_batch=64, seq_len=4096,
                         objective="memory", zero_stages=(0, 3), recompute=("none",))
    mem = [row["memory_per_device"].magnitude for row in p.table]
    assert mem == sorted(mem)
    with pytest.raises(ValueError, match="objective"):
        best_parallelism("llama-3-8b", "h100", devices=8, global_batch=64, objective="fastest")
    with pytest.raises(ValueError, match="global batch"):
        best_parallelism("llama-3-8b", "h100", devices=7, global_batch=1, tp=(1,), pp=(1,))
