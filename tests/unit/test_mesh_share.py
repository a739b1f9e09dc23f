"""The scale-up bandwidth a tensor-parallel group reaches on a full mesh (no switch).

Reference values (registry fabrics): an Intel Gaudi 3 has 21 scale-up RoCE ports at 200 Gbit/s,
3 to each of the 7 other cards of an HLS-3 box (Intel Gaudi network configuration page): 525
GB/s per direction in all, 75 GB/s to one peer; Gaudi 2 the same at 100 Gbit/s (262.5 and 37.5
GB/s); the MI300X platform's 7 xGMI links give 448 GB/s per direction, 64 GB/s to one peer. A
group of t cards moves its all-reduce over the links to its t - 1 other members only:
(t - 1) x the per-peer rate. NVSwitch gives every GPU its whole NVLink rate whatever the group.
"""

import numpy as np
import pytest

import mlsysim_sym as ms
from mlsysim_sym.tasks._core.fabric import mesh_share


def _link(hw, tp):
    p = ms.predict("llama-2-70b", hw, tp=tp, batch=8, seq_len=1024, precision="bf16"
                   if hw != "nvidia-h100-sxm" else "fp16")
    return p.inputs(["scale_up_bandwidth"])["scale_up_bandwidth"].to("GB/s").magnitude


@pytest.mark.parametrize("hw,tp,gbps", [
    ("intel-gaudi3", 8, 525.0), ("intel-gaudi3", 4, 3 * 75.0), ("intel-gaudi3", 2, 75.0),
    ("intel-gaudi2", 4, 3 * 37.5), ("intel-gaudi2", 2, 37.5),
    ("amd-mi300x", 8, 448.0), ("amd-mi300x", 2, 64.0),
    ("nvidia-h100-sxm", 2, 450.0), ("nvidia-h100-sxm", 8, 450.0),
])
def test_a_group_reaches_the_links_to_its_members(hw, tp, gbps):
    assert _link(hw, tp) == pytest.approx(gbps, rel=1e-9)


def test_the_share_follows_an_array_of_degrees():
    share = mesh_share(ms.registry.hardware("intel-gaudi3"), np.array([1.0, 2.0, 4.0, 8.0]))
    # t = 1 runs no all-reduce (the value only has to be finite and positive)
    assert share == pytest.approx([1 / 7, 1 / 7, 3 / 7, 1.0])
    assert mesh_share(ms.registry.hardware("nvidia-h100-sxm"), 4) == 1.0


def test_the_tp_all_reduce_takes_longer_on_fewer_links():
    """Gaudi 2, TP 2 against TP 8 of one card's view: the ring's bytes per rank,
    2 (t - 1)/t x M, over 37.5 instead of 262.5 GB/s."""
    kw = dict(batch=64, seq_len=2048, phase="prefill", precision="bf16",
              efficiency={"compute": 0.6, "memory": 0.8, "communication": 0.5,
                          "fixed_overhead": "0 ms", "allreduce_fixed_time": "0 us",
                          "scale_up_latency": "0 us"})
    two = ms.predict("llama-2-70b", "intel-gaudi2", tp=2, **kw).value("tp_prefill_comm_time")
    m = 64 * 2048 * 8192 * 2          # tokens x hidden x 2 bytes
    ring = 2 * 80 * 2 * (2 - 1) / 2 * m / (37.5e9 * 0.5)   # 2 all-reduces x 80 layers
    assert two == pytest.approx(ring, rel=1e-9)


# Gaudi's TP all-reduce is HCCL's (no peer-memory kernels on its RoCE ports): Intel's HCCL demo
# all-reduces 256 MB over the 8 cards of a box at a bus bandwidth of 512.957 GB/s (Intel Gaudi
# docs, Collectives Performance), 0.977 of a Gaudi 3's 525 GB/s per direction.

def test_a_ring_only_fabric_runs_at_its_published_collective_fraction():
    from mlsysim_sym.tasks._core.fabric import ring_efficiency
    assert ring_efficiency(ms.registry.hardware("intel-gaudi3")) == pytest.approx(0.977)
    assert ring_efficiency(ms.registry.hardware("intel-gaudi2")) == pytest.approx(0.977)
    # NVSwitch: the engines' own one-shot / two-shot kernels, the calibrated fraction
    assert ring_efficiency(ms.registry.hardware("nvidia-h100-sxm")) is None
    p = ms.predict("llama-3-1-70b", "intel-gaudi3", tp=8, batch=64, seq_len=2048, precision="fp8")
    assert p.inputs(["communication_efficiency"])["communication_efficiency"].magnitude == \
        pytest.approx(0.977)
    assert "communication_efficiency" not in p.defaults_used()
    h100 = ms.predict("llama-3-1-70b", "nvidia-h100-sxm", tp=8, batch=64, seq_len=2048,
                      precision="fp8")
    assert "communication_efficiency" in h100.defaults_used()


def test_a_given_fraction_still_wins():
    p = ms.predict("llama-3-1-70b", "intel-gaudi3", tp=8, batch=64, seq_len=2048, precision="fp8",
                   efficiency={"communication": 0.5})
    assert p.inputs(["communication_efficiency"])["communication_efficiency"].magnitude == 0.5


def test_serve_reads_the_same_fabric():
    r = ms.serve("llama-3-1-70b", "intel-gaudi2", tp=4, qps=1, input_tokens=128,
                 output_tokens=128, precision="fp8")
    values = r.base_inputs()   # base units: bit/s
    assert values["communication_efficiency"] == pytest.approx(0.977)
    assert values["scale_up_bandwidth"] == pytest.approx(112.5e9 * 8)
