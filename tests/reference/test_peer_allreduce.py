"""One-shot / two-shot peer-memory all-reduce (wall 14) and the serving all-reduce (wall 4).

Sources: vLLM ``csrc/custom_all_reduce.cuh`` (``cross_device_reduce_1stage``: one
synchronisation, then every rank reads all peers' whole buffers; ``_2stage``: reduce-scatter and
all-gather through peer memory; 1stage below 512 KB at <= 4 GPUs and 256 KB at <= 8 with full
NVLink) and the alpha-beta cost model of Thakur, Rabenseifner & Gropp (IJHPCA 2005): a message
of n bytes costs alpha + n beta. Hand cases: N = 8, B = 450 GB/s per direction (H100 NVLink 4),
alpha = 2 us, eta = 1.
"""

import math

import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st

import mlsysim_sym as ms_
from mlsysim_sym import registry
from mlsysim_sym import symbols as s
from mlsysim_sym.equations import communication, walls
from mlsysim_sym.system import System
from mlsysim_sym.tasks._core.inputs import peer_access
from mlsysim_sym.units import Q_

B, ALPHA = 450e9, 2e-6
BASE = dict(message_bytes=Q_(1, "MB"), collective_ranks=8, link_bandwidth=Q_(25, "GB/s"),
            link_latency=Q_(1, "us"), communication_efficiency=1.0, devices_per_node=8,
            scale_up_bandwidth=Q_(450, "GB/s"), scale_up_latency=Q_(2, "us"),
            scale_up_peer_access=1, allreduce_fixed_time=Q_(0, "us"))


@pytest.fixture(scope="module")
def system():
    return System.from_walls(walls.communication)


def us(system, name, **over):
    k = system.compile([name])
    values = {**BASE, **over}
    return k.evaluate(**{n: values[n] for n in k.input_names}).quantity(name).to("us").magnitude


def test_one_and_two_shot_hand(system):
    # one-shot: alpha + (N-1) M/B = 2 us + 7 x 1e6 B / 450e9 B/s = 2 + 15.5556 = 17.5556 us
    assert us(system, "allreduce_time_one_shot") == pytest.approx(2 + 7e6 / 450e9 * 1e6,
                                                                  rel=1e-12)
    assert us(system, "allreduce_time_one_shot") == pytest.approx(17.5556, rel=1e-5)
    # two-shot: 2 alpha + 2 (N-1)/N M/B = 4 us + 3.8889 us = 7.8889 us
    assert us(system, "allreduce_time_two_shot") == pytest.approx(7.8889, rel=1e-5)
    # ring (for the Min): 14 alpha + 3.8889 us = 31.8889 us; the engine picks two-shot at 1 MB
    assert us(system, "allreduce_time_serving") == pytest.approx(7.8889, rel=1e-5)
    # without peer access the ring
    assert us(system, "allreduce_time_serving", scale_up_peer_access=0) == pytest.approx(
        31.8889, rel=1e-5)


def test_ring_one_shot_crossover_hand(system):
    # ring 2(N-1) alpha + 2(N-1)/N M/B = one-shot alpha + (N-1) M/B
    # -> M_x = (2N - 3) alpha B N / ((N-1)(N-2)) = 13 x 2e-6 x 450e9 x 8 / 42 = 2.2286 MB
    m_x = communication.one_shot_crossover(8, B, ALPHA, 1.0)
    assert m_x == pytest.approx(13 * 2e-6 * 450e9 * 8 / 42, rel=1e-12)
    assert m_x == pytest.approx(2.2286e6, rel=1e-4)
    # both 36.667 us there: one-shot 2 + 7 x 2.2286e6 / 450e9 = 2 + 34.667; ring 28 + 8.667
    one = us(system, "allreduce_time_one_shot", message_bytes=Q_(m_x, "B"))
    ring = us(system, "allreduce_time_ring", message_bytes=Q_(m_x, "B"), link_latency=Q_(2, "us"),
              link_bandwidth=Q_(450, "GB/s"))
    assert one == pytest.approx(ring, rel=1e-12) and one == pytest.approx(36.667, rel=1e-4)
    half, double = Q_(m_x / 2, "B"), Q_(2 * m_x, "B")
    ring_kw = dict(link_latency=Q_(2, "us"), link_bandwidth=Q_(450, "GB/s"))
    assert us(system, "allreduce_time_one_shot", message_bytes=half) < us(
        system, "allreduce_time_ring", message_bytes=half, **ring_kw)
    assert us(system, "allreduce_time_one_shot", message_bytes=double) > us(
        system, "allreduce_time_ring", message_bytes=double, **ring_kw)


def test_crossover_elasticities():
    # M_x is linear in alpha and in B eta: elasticity 1 in each
    n, a, b = sympy.symbols("n a b", positive=True)
    m_x = communication.one_shot_crossover(n, b, a, 1)
    for v in (a, b):
        assert sympy.simplify(sympy.diff(m_x, v) * v / m_x) == 1


def test_one_vs_two_shot_switch_is_vllms_order_of_magnitude():
    # one-shot beats two-shot below alpha B N / ((N-1)(N-2)) (eta = 1): with the NCCL-measured
    # 1.31 us per step on NVLink 4 (registry nvlink-4 latency) and 450 GB/s at N = 8: 112 KB, the
    # order of vLLM's 256 KB switch at <= 8 GPUs (csrc/custom_all_reduce.cuh)
    m = 1.31e-6 * 450e9 * 8 / (7 * 6)
    assert 64e3 < m < 512e3


def _decode_comm(hw, latency_us, layers=80, hidden=8192):
    r = ms_.predict("llama-3.1-70b", hw, tp=8, batch=1, seq_len=1024,
                    efficiency={"communication": 1.0, "scale_up_latency": f"{latency_us} us",
                                "allreduce_fixed_time": "0 us"})
    return r.value("tp_decode_comm_time"), layers, hidden


def test_h100_nvswitch_decode_allreduce_is_one_sync_step():
    # one decode token x hidden 8192 x 2 B = 16 KB per all-reduce on 8 x H100 (NVSwitch: peer
    # access): latency-bound, charged one synchronisation, not the ring's 2 (8 - 1) = 14:
    # 2 x 80 layers x (5 us + 7 x 16384 B / 450 GB/s) = 160 x 5.2549 us = 0.84079 ms
    t, layers, hidden = _decode_comm("nvidia-h100-sxm", 5)
    m = hidden * 2
    assert t == pytest.approx(2 * layers * (5e-6 + 7 * m / 450e9), rel=1e-9)
    assert t < 2 * layers * 2 * 5e-6            # below two synchronisations per all-reduce
    ring = 2 * layers * (14 * 5e-6 + 2 * 7 / 8 * m / 450e9)
    assert ring / t > 13


def test_gaudi_has_no_peer_access_so_the_ring():
    # Gaudi's scale-up ports are RoCE NICs (HCCL): the fabric records peer_access false
    assert peer_access(registry.hardware("intel-gaudi3")) == 0.0
    assert peer_access(registry.hardware("nvidia-h100-sxm")) == 1.0
    assert peer_access(registry.hardware("amd-mi300x")) == 1.0
    assert registry.fabric("nvlink-4").peer_access is True
    assert registry.fabric("amd-infinity-fabric-mi300x").peer_access is True
    assert registry.fabric("gaudi3-scale-up").peer_access is False
    assert registry.fabric("infiniband-ndr").peer_access is False   # absent: false
    # no node records the H200 board or the MI355X platform: the chip's scale-up link says so
    assert registry.hardware("nvidia-h200-sxm").scale_up_peer_access is True
    assert peer_access(registry.hardware("nvidia-h200-sxm")) == 1.0
    assert peer_access(registry.hardware("amd-mi355x")) == 1.0
    assert peer_access(registry.hardware("nvidia-h100-pcie")) == 0.0   # PCIe: the ring


_ALLREDUCE = sympy.lambdify(
    [s.message_bytes, s.collective_ranks, s.scale_up_bandwidth, s.scale_up_latency,
     s.scale_up_peer_access],
    [communication.serving_allreduce(s.message_bytes, s.collective_ranks, s.scale_up_bandwidth,
                                     s.scale_up_latency, s.scale_up_peer_access, 1),
     communication.ring_allreduce(s.message_bytes, s.collective_ranks, s.scale_up_bandwidth,
                                  s.scale_up_latency, 1)], "numpy")


@settings(max_examples=200, deadline=None)
@given(m=st.floats(1.0, 1e10), n=st.integers(1, 64), b=st.floats(1e9, 2e12),
       a=st.floats(1e-8, 1e-4), p=st.sampled_from([0, 1]))
def test_serving_allreduce_positive_finite_and_never_above_the_ring(m, n, b, a, p):
    serve, ring = (float(v) for v in _ALLREDUCE(m, n, b, a, p))
    assert math.isfinite(serve) and serve >= 0
    if n == 1:
        assert serve == 0                        # one device: no collective
    else:
        assert serve > 0
    assert serve <= ring * (1 + 1e-12)
    if p == 0:
        assert serve == pytest.approx(ring, rel=1e-12)


def test_serving_allreduce_vectorises():
    m = np.array([16e3, 1e6, 1e8])
    serve, ring = _ALLREDUCE(m, 8, B, ALPHA, 1)
    one = ALPHA + 7 * m / B
    two = 2 * ALPHA + 1.75 * m / B
    np.testing.assert_allclose(serve, np.minimum(np.minimum(one, two), ring), rtol=1e-12)
