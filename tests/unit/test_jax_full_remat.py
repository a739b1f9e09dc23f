"""JAX's full rematerialisation (``recompute="nothing_saveable"``, MaxText ``remat_policy: full``).

MaxText's Decoder wraps each layer in ``nn.remat`` with ``policy=None`` for ``remat_policy:
full`` (MaxText layers.py), i.e. ``jax.checkpoint``'s default: no intermediate is saved, and
"any residuals consumed on the backward pass are re-computed from those inputs as needed" (JAX
documentation, "Control autodiff's saved values with jax.checkpoint"). A GEMM whose output only
feeds a residual add is no residual of anything (the add is linear), so JAX does not run it
again; Megatron's and PyTorch's full recomputation re-run the whole layer forward
(``recompute="full"``). The memory is the same: one layer input per layer kept.

Hand counts: Llama 3.1 8B (Grattafiori et al. 2024, Table 3: h 4096, 32 layers, FFN 14336,
gated) and the MaxText v5e synthetic 16B decoder as its README's run script configures it
(h 5120, 32 layers, 32 heads x head_dim 256, one ReLU up-projection of 32768, parallel block).
"""

import pytest

from mlsysim_sym.calibration.cases import _train_runner
from mlsysim_sym.calibration.measurements import shipped_measurements
from mlsysim_sym.tasks.training import train

KW = dict(devices=8, global_batch=8, seq_len=8192, micro_batch=1, zero_stage=3)


def _q(r, name, unit):
    return r._quantity(name).to(unit).magnitude


def _pair(run):
    return run(recompute="full"), run(recompute="nothing_saveable")


def test_sequential_block_skips_the_down_projection_only():
    """Llama: the attention projection's output feeds the second norm (a residual of the
    backward), so it is recomputed; the FFN down-projection's output only feeds the residual
    add: 2 FLOPs per weight per token and layer fewer, h x 14336 weights per layer."""
    full, jax_full = _pair(lambda **k: train("llama-3-1-8b", "google-tpu-v6e", **KW, **k))
    # "full" re-runs the forward's 2 N FLOPs but the LM head's (Korthikanti et al., App. A):
    # with 2 N counting the untied input embedding (128256 x 4096) and the norm weights (2 per
    # layer and the final one, 4096 each), those are counted too
    saved = 2 * 32 * 4096 * 14336 + 2 * 128256 * 4096 + 2 * 65 * 4096   # 3.76 + 1.05 GFLOP
    assert _q(full, "hardware_flops_per_token", "FLOP/token") \
        - _q(jax_full, "hardware_flops_per_token", "FLOP/token") == pytest.approx(saved,
                                                                                 rel=1e-9)
    # the model FLOPs (what MFU counts) do not depend on recomputation
    assert _q(full, "model_flops_per_token", "FLOP/token") == pytest.approx(
        _q(jax_full, "model_flops_per_token", "FLOP/token"), rel=1e-12)
    # the same memory: only the layer input of each layer is kept either way
    for name in ("activation_memory", "recompute_working_memory", "training_memory"):
        assert _q(jax_full, name, "B") == pytest.approx(_q(full, name, "B"), rel=1e-9), name


def test_parallel_block_skips_the_attention_projection_too():
    """MaxText's 2023 parallel block adds the attention and MLP outputs to the layer input:
    neither the attention projection (8192 x 5120) nor the down-projection (32768 x 5120) is
    recomputed; Q, K, V (3 x 5120 x 8192), the up-projection and the attention core are."""
    meas = next(m for m in shipped_measurements() if m.id == "more-train-maxtext-v5e-16b-1x256")
    run, _, _ = _train_runner(meas, meas.spec)
    full, jax_full = _pair(lambda **k: run({}, **k))
    # plus the norm weights (2 per layer and the final one: 5120 each), which 2 N counts
    saved = 2 * 32 * (8192 * 5120 + 32768 * 5120) + 2 * (32 * 2 + 1) * 5120   # 13.4 GFLOP
    assert _q(full, "hardware_flops_per_token", "FLOP/token") \
        - _q(jax_full, "hardware_flops_per_token", "FLOP/token") == pytest.approx(saved,
                                                                                 rel=1e-9)
    assert _q(jax_full, "training_step_time", "s") < _q(full, "training_step_time", "s")


def test_nothing_saveable_is_the_placement_with_everything_recomputed():
    named = train("llama-3-1-8b", "google-tpu-v6e", recompute="nothing_saveable", **KW)
    placed = train("llama-3-1-8b", "google-tpu-v6e", recompute={"layer_input": "device"}, **KW)
    for name, unit in (("activation_memory", "B"), ("hardware_flops_per_token", "FLOP/token"),
                       ("training_step_time", "s")):
        assert _q(named, name, unit) == pytest.approx(_q(placed, name, unit), rel=1e-12), name


def test_unknown_recompute_name_lists_the_choices():
    with pytest.raises(ValueError, match="nothing_saveable"):
        train("llama-3-1-8b", "google-tpu-v6e", recompute="everything", **KW)
