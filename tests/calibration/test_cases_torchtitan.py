"""The torchtitan rows of measurements_more.yaml (calibration/data/cases_more/torchtitan.yaml):
each reproduction's memory-bound kernel set follows the benchmark table's torch.compile column
(pytorch/torchtitan benchmarks/llama3_h100_202412_torchtitan.md, commit 31a17bfd: the 8B bf16
row runs with torch.compile=False, every other H100 row with True)."""

import yaml

from mlsysim_sym.calibration import shipped_measurements
from mlsysim_sym.calibration.measurements import DATA_DIR
from tests.calibration.shipped import shipped_cases_of


def _specs():
    return yaml.safe_load((DATA_DIR / "cases_more" / "torchtitan.yaml").read_text())


def _compiled(meas) -> bool | None:
    """True / False when the row's framework states torch.compile, else None."""
    framework = str((meas.config or {}).get("framework", ""))
    if "torch.compile=False" in framework:
        return False
    if "torch.compile=True" in framework:
        return True
    return None


def test_eager_rows_run_the_unfused_memory_kernels_and_compiled_rows_the_fused():
    specs = _specs()
    stated = {m.id: _compiled(m) for m in shipped_measurements() if m.id in specs}
    assert list(stated.values()).count(False) == 1   # the 8B bf16 FSDP row
    assert list(stated.values()).count(True) == 9
    for rid, compiled in stated.items():
        if compiled is None:
            continue
        kernels = specs[rid].get("memory_kernels", "fused")
        # eager PyTorch: one kernel per elementwise op (SwiGLU's SiLU and product, RoPE's
        # multiply / rotate / add); torch.compile fuses them as Megatron's kernels do
        assert kernels == ("fused" if compiled else "unfused"), rid


def test_the_unfused_set_costs_the_eager_row_more_memory_bound_time():
    import mlsysim_sym as ms
    spec = _specs()["more-train-torchtitan-h100x8-llama31-8b-fsdp8-bf16"]
    knobs = {k: spec[k] for k in ("tp", "pp", "micro_batch", "global_batch", "seq_len",
                                  "precision", "attention_kernel", "recompute", "zero_stage",
                                  "loss")}
    hw = ms.registry.hardware(spec["hardware"])
    t = {k: ms.train(spec["model"], hw, devices=spec["devices"], memory_kernels=k, **knobs)
         for k in ("fused", "unfused")}
    mb = {k: r.breakdown()["compute_memory_bound"].to("s").magnitude for k, r in t.items()}
    # per token and layer the unfused set moves SwiGLU's 5 + 9 and RoPE's 10 + 10 elements
    # against the fused 3 + 5 and 2 + 2 (memory_kernels.py table), the norms, residuals and the
    # loss being the same: Llama 3.1 8B (f = 3.5 h, q + k = 1.25 h) gets about half again the
    # memory-bound time, and a slower step
    assert 1.2 < mb["unfused"] / mb["fused"] < 2.0
    assert t["unfused"].step_time > t["fused"].step_time
