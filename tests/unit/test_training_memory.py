"""Training memory against published peak-memory figures (issue 17, item 2).

Source: torchtitan, ``benchmarks/llama3_h100_202412_torchtitan.md`` (PyTorch team, Dec 2024),
Table 2: Llama 3.1 8B on 8 H100, FSDP + CP + torch.compile + Float8, local batch 1, full
activation checkpointing; peak memory (max over ranks) 83.9 / 84.2 / 84.0 / 84.5 GiB at
FSDP 8 / CP 1 (32768 tokens), FSDP 4 / CP 2 (65536), FSDP 2 / CP 4 (131072), FSDP 1 / CP 8
(262144). With full checkpointing the peak is the sharded model states, the layer inputs, the
one layer being recomputed, FSDP's gathered layers and, largest, the loss's logits: torchtitan
computes ``cross_entropy(pred.float(), labels)`` on the 128,256-word vocabulary (``loss=
"unfused"``, 12 bytes per logit at the log-softmax backward), 32768 x 128256 logits per rank.

The other torchtitan tables are not used as tests: Table 1/3 use torchtitan's op-level selective
checkpointing (it saves every other matmul output, not Korthikanti's selective recomputation),
and Tables 5/6 keep FSDP's unsharded weights and gradients across pipeline micro-batches.

Feasibility: every published training run in the calibration data fits in its device's memory
(the layouts are the sources' or, where marked, assumptions).
"""

import pytest
import yaml

from mlsysim_sym.calibration.cases import _train_runner
from mlsysim_sym.calibration.measurements import DATA_DIR, shipped_measurements
from mlsysim_sym.tasks.training import train

GIB = 2**30

TORCHTITAN_TABLE2 = [  # (fsdp, cp, seq_len, published GiB)
    (8, 1, 32768, 83.9), (4, 2, 65536, 84.2), (2, 4, 131072, 84.0), (1, 8, 262144, 84.5)]


@pytest.mark.parametrize("fsdp,cp,seq,published", TORCHTITAN_TABLE2)
def test_torchtitan_llama31_8b_full_ac_peak_memory(fsdp, cp, seq, published):
    r = train("llama-3-1-8b", "nvidia-h100-sxm", devices=8, cp=cp, micro_batch=1,
              global_batch=fsdp, seq_len=seq, recompute="full", zero_stage=3,
              precision="fp8", loss="unfused")
    gib = r.memory_per_device.to("B").magnitude / GIB
    assert gib == pytest.approx(published, rel=0.15)


def test_logits_follow_vocab_sequence_and_loss_kernel():
    kw = dict(devices=8, micro_batch=1, global_batch=8, seq_len=32768, recompute="full",
              zero_stage=3)
    fused = train("llama-3-1-8b", "nvidia-h100-sxm", **kw)
    unfused = train("llama-3-1-8b", "nvidia-h100-sxm", loss="unfused", **kw)
    v = 128256
    assert fused._quantity("logits_memory").to("B").magnitude == pytest.approx(32768 * v * 6)
    assert unfused._quantity("logits_memory").to("B").magnitude == pytest.approx(
        32768 * v * 12)
    tp = train("llama-3-1-8b", "nvidia-h100-sxm", tp=8, **kw)
    assert tp._quantity("logits_memory").to("B").magnitude == pytest.approx(32768 * v * 6 / 8)
    with pytest.raises(ValueError, match="loss must be"):
        train("llama-3-1-8b", "nvidia-h100-sxm", loss="chunked", **kw)


def test_pipeline_peak_is_first_or_last_stage():
    """1F1B: the first stage holds p micro-batches, the last one plus the logits."""
    kw = dict(devices=64, tp=8, pp=8, micro_batch=1, global_batch=64, seq_len=8192,
              sequence_parallel=True)
    r = train("llama-3-1-70b", "nvidia-h100-sxm", **kw)
    first = r._quantity("activation_memory").to("B").magnitude
    last = r._quantity("last_stage_activation_memory").to("B").magnitude
    assert first == pytest.approx(8 * (last - r._quantity("logits_memory").to("B").magnitude))
    states = sum(r._quantity(n).to("B").magnitude for n in (
        "weight_memory", "gradient_memory", "optimizer_memory", "parameter_gather_memory",
        "recompute_working_memory"))
    ws = 2e9  # defaults.yaml framework_workspace
    assert r.memory_per_device.to("B").magnitude == pytest.approx(states + max(first, last) + ws)


def test_dropout_masks_only_with_dropout():
    kw = dict(devices=8, tp=8, micro_batch=1, global_batch=8, seq_len=4096)
    plain = train("llama-3-1-8b", "nvidia-h100-sxm", **kw)._quantity("activation_memory")
    with_dropout = train("llama-3-1-8b", "nvidia-h100-sxm", dropout=True,
                         **kw)._quantity("activation_memory")
    # Korthikanti Table 2 (TP, no SP): sbh (10 + 24/t) with dropout, (8 + 24/t) without
    assert (with_dropout / plain).to("").magnitude == pytest.approx((10 + 3) / (8 + 3))


def _training_rows():
    with open(DATA_DIR / "cases.yaml", encoding="utf-8") as fh:
        specs = yaml.safe_load(fh)
    meas = {m.id: m for m in shipped_measurements()}
    return [(k, v, meas[k]) for k, v in specs.items()
            if isinstance(v, dict) and v.get("predict") == "train" and k in meas]


@pytest.mark.parametrize("key,spec,meas", _training_rows(), ids=lambda x: x
                         if isinstance(x, str) else "")
def test_published_training_runs_fit_in_memory(key, spec, meas):
    if key == "train-nemo2407-nemotron-340b-h100x128-fp8":
        pytest.xfail("the case's assumed layout (no recomputation, TP8 PP8 VP12, DP2 "
                     "distributed optimizer) needs 86 GB by Megatron's own accounting: the "
                     "published run must have differed (not stated in the source table)")
    run, _, _ = _train_runner(meas, spec)
    r = run({})
    assert r.feasible, r.reason
