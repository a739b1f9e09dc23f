"""Per-tensor activation placement (``recompute={class: "remat" | "device" | "offload"}``).

JAX's ``jax.checkpoint_policies.save_and_offload_only_these_names`` (MaxText remat_policy
"custom", base.yml: each named tensor 'remat', 'device' or 'offload') keeps a named activation
in HBM, saves it in pinned host memory or recomputes it. Offloaded bytes leave HBM and cross the
host link twice per step (ZeRO-Offload, Ren et al. 2021, Sec. 4: PCIe transfers, overlapped with
compute on separate streams). Reference numbers below are hand-computed from Llama 3.1 8B's
shapes (Grattafiori et al. 2024, Table 3: h 4096, 32 layers, 32 heads, 8 KV heads, FFN 14336)
and PCIe 4.0 x16 (31.5 GB/s per direction, the assumed host link).
"""

import pytest
import sympy

from mlsysim_sym import symbols as s
from mlsysim_sym.equations.base import DimensionError, Equation, check_equation
from mlsysim_sym.equations.training import WALL
from mlsysim_sym.tasks.training import train

H, L, SEQ, HOST = 4096, 32, 8192, 31.5e9
KW = dict(devices=8, global_batch=8, seq_len=SEQ, micro_batch=1)   # dp 8: one micro-batch
FOUR = ("layer_input", "query", "key_value", "out_proj")
# one [s, b, h] bf16 tensor; Q and the attention projection output 1 unit each, K + V 2 x 1/4
UNIT = SEQ * H * 2
OFFLOADED_UNITS = 1 + 1 + 0.5 + 1


def _run(placement):
    return train("llama-3-1-8b", "google-tpu-v6e", recompute=placement, **KW)


def _q(r, name, unit):
    return r._quantity(name).to(unit).magnitude


def test_offload_moves_bytes_off_hbm_and_over_the_host_link_twice():
    device = _run({k: "device" for k in FOUR})
    offload = _run({k: "offload" for k in FOUR})
    per_step = L * UNIT * OFFLOADED_UNITS                         # 7.52 GB, one micro-batch
    assert _q(device, "activation_memory", "B") - _q(offload, "activation_memory", "B") \
        == pytest.approx(per_step, rel=1e-9)
    assert _q(offload, "activation_memory", "B") == pytest.approx(0.0, abs=1.0)  # rest remat
    assert _q(offload, "offload_time", "s") == pytest.approx(2 * per_step / HOST, rel=1e-9)
    assert _q(device, "offload_time", "s") == 0.0
    # the same recomputation either way: placement does not change the FLOPs
    assert _q(offload, "hardware_flops_per_token", "FLOP/token") == pytest.approx(
        _q(device, "hardware_flops_per_token", "FLOP/token"), rel=1e-12)


def test_all_device_placement_is_the_dots_saved_policy():
    """Keeping the names checkpoint_dots_with_no_batch_dims saves (layer input, Q, K, V, the
    attention projection, the FFN up-projections) on device and recomputing the attention core
    is MaxText's 'minimal' policy: the same bytes and FLOPs."""
    dots = train("llama-3-1-8b", "google-tpu-v6e", recompute="dots", **KW)
    placed = _run({k: "device" for k in (*FOUR, "mlp_up")})
    for name, unit in (("activation_memory", "B"), ("hardware_flops_per_token", "FLOP/token"),
                       ("training_step_time", "s")):
        assert _q(placed, name, unit) == pytest.approx(_q(dots, name, unit), rel=1e-9), name


def test_remat_adds_the_named_gemms_flops():
    """Recomputing Q (h x h), K and V (2 x h x h/4), the attention projection (h x h) and the
    gated FFN up-projections (h x 2 x 14336) adds 2 FLOPs per weight per token and layer."""
    kept = _run({k: "device" for k in (*FOUR, "mlp_up")})
    remat = _run({"layer_input": "device"})
    extra = 2 * L * H * (H + H / 2 + H + 2 * 14336)
    assert _q(remat, "hardware_flops_per_token", "FLOP/token") \
        - _q(kept, "hardware_flops_per_token", "FLOP/token") == pytest.approx(extra, rel=1e-9)
    # the attention core runs again unless its output (context) is saved
    ctx = _run({"layer_input": "device", "context": "device"})
    assert _q(ctx, "hardware_flops_per_token", "FLOP/token") \
        < _q(remat, "hardware_flops_per_token", "FLOP/token")


def test_offload_time_is_exposed_only_beyond_compute():
    eq = next(e for e in WALL.equations if e.name == "offload_exposed_time")
    for off, comp, exposed in ((1.0, 3.0, 0.0), (3.0, 3.0, 0.0), (5.0, 3.0, 2.0)):
        got = eq.rhs.subs({s.offload_time: off, s.step_compute_time: comp})
        assert float(got) == pytest.approx(exposed)
    r = _run({k: "offload" for k in FOUR})
    off, comp = _q(r, "offload_time", "s"), _q(r, "step_compute_time", "s")
    assert _q(r, "offload_exposed_time", "s") == pytest.approx(max(0.0, off - comp), abs=1e-12)


def test_placement_equations_are_dimensionally_consistent():
    for name in ("offload_time", "offload_exposed_time", "activation_memory",
                 "recomputed_forward_fraction", "training_step_time"):
        check_equation(next(e for e in WALL.equations if e.name == name))
    with pytest.raises(DimensionError):   # bytes over bandwidth is a time, not a byte count
        check_equation(Equation(s.offload_time, s.offload_time * s.host_link_bandwidth,
                                cite="ren2021zerooffload", locator="Sec. 4.1"))
    assert sympy.Symbol("host_link_bandwidth", positive=True) == s.host_link_bandwidth


@pytest.mark.parametrize("bad,match", [
    ({"qkv": "offload"}, "placement classes must be among"),
    ({"query": "host"}, "must be one of remat, device, offload"),
    ({"query": 1}, "must be one of remat, device, offload"),
])
def test_bad_placement_is_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        _run(bad)
