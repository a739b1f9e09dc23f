"""The serving TP all-reduce's fixed cost per call (wall 14's ``allreduce_time_serving``, wall 4)
and the link latency it leaves to the fabric.

Sources:
- SGLang PR 2904 (sgl-project/sglang, "optimize custom allreduce kernel"), unit-test table of
  vLLM's custom all-reduce on H100 without CUDA graph, TP 8: 512 B 10.1 us, 4 KB 9.3 us, 32 KB
  11.8 us: a per-call fixed cost, the bytes taking well under 1 us.
- nccl-tests on 8 x H200 (registry nvlink-4 latency, 1.31 us per ring step, NCCL-derived);
  the Gaudi RoCE and MI300X xGMI latencies are registry placeholders (basis: assumption).
"""

import pytest

import mlsysim_sym as ms
from mlsysim_sym import registry
from mlsysim_sym.defaults import default
from mlsysim_sym.equations import walls
from mlsysim_sym.system import System
from mlsysim_sym.tasks._core.fabric import measured_latency
from mlsysim_sym.units import Q_

H100 = dict(collective_ranks=8, scale_up_bandwidth=Q_(450, "GB/s"),
            scale_up_latency=Q_(1.31, "us"), scale_up_peer_access=1, communication_efficiency=1,
            link_bandwidth=Q_(25, "GB/s"), link_latency=Q_(1, "us"), devices_per_node=8)


@pytest.fixture(scope="module")
def kernel():
    return System.from_walls(walls.communication).compile(
        ["allreduce_time_serving", "allreduce_time_one_shot"])


def us(kernel, name, **values):
    v = {**H100, "allreduce_fixed_time": Q_(10, "us"), **values}
    r = kernel.evaluate(**{n: v[n] for n in kernel.input_names})
    return r.quantity(name).to("us").magnitude


@pytest.mark.parametrize("size, measured_us", [(512, 10.1), (4096, 9.3), (32768, 11.8)])
def test_small_allreduce_is_the_fixed_cost_per_call(kernel, size, measured_us):
    # at the start value of allreduce_fixed_time (10 us, calibration/data/start.yaml) plus one
    # synchronisation (1.31 us, nvlink-4) and the one-shot bytes 7 M / 450 GB/s, within 25% of
    # SGLang PR 2904 (the table's own scatter: its 4 KB call runs 8% faster than its 512 B one)
    t = us(kernel, "allreduce_time_serving", message_bytes=Q_(size, "B"))
    assert t == pytest.approx(10 + 1.31 + 7 * size / 450e9 * 1e6, rel=1e-9)
    assert t == pytest.approx(measured_us, rel=0.25)
    # without the fixed cost the alpha-beta terms give an eighth of the measured time at most
    assert us(kernel, "allreduce_time_serving", message_bytes=Q_(size, "B"),
              allreduce_fixed_time=Q_(0, "us")) < measured_us / 4


def test_fixed_cost_is_per_call_not_per_step(kernel):
    # the ring pays 2 (N - 1) = 14 latencies but one fixed cost: 10 + 14 x 1.31 + 2 x 7/8 x
    # 1 MB / 450 GB/s = 10 + 18.34 + 3.889 us
    t = us(kernel, "allreduce_time_serving", message_bytes=Q_(1, "MB"), scale_up_peer_access=0)
    assert t == pytest.approx(10 + 14 * 1.31 + 1.75e6 / 450e9 * 1e6, rel=1e-9)
    # and none on one device
    assert us(kernel, "allreduce_time_serving", message_bytes=Q_(1, "MB"),
              collective_ranks=1) == 0


def test_serving_latency_is_the_fabrics_measured_one_else_calibrated():
    # NVLink 3 / 4: NCCL-derived per-step latencies (registry, basis derived) are used as is
    assert measured_latency(registry.hardware("nvidia-h100-sxm")).to("us").magnitude == \
        pytest.approx(1.31)
    assert measured_latency(registry.hardware("nvidia-a100-80gb-sxm")).to("us").magnitude == \
        pytest.approx(0.73)
    r = ms.predict("llama-3.1-70b", "h100", tp=8)
    assert r.base_inputs()["scale_up_latency"] == pytest.approx(1.31e-6)
    # placeholders (Gaudi RoCE, MI300X xGMI: basis assumption) leave the calibrated value
    for chip in ("intel-gaudi3", "amd-mi300x"):
        assert measured_latency(registry.hardware(chip)) is None
        r = ms.predict("llama-3.1-70b", chip, tp=8)
        assert r.base_inputs()["scale_up_latency"] == pytest.approx(
            default("scale_up_latency[serve]").to("s").magnitude)


def test_fixed_cost_is_paid_per_call_and_only_with_tp():
    # Llama 3.1 70B decode at batch 1 on 8 x H100: 2 all-reduces x 80 layers = 160 calls
    kw = dict(tp=8, batch=1, seq_len=1024)
    a = ms.predict("llama-3.1-70b", "h100", efficiency={"allreduce_fixed_time": "0 us"}, **kw)
    b = ms.predict("llama-3.1-70b", "h100", efficiency={"allreduce_fixed_time": "10 us"}, **kw)
    assert b.value("tp_decode_comm_time") - a.value("tp_decode_comm_time") == pytest.approx(
        160 * 10e-6, rel=1e-9)
    one = ms.predict("llama-3.1-70b", "h100", batch=1, seq_len=1024,
                     efficiency={"allreduce_fixed_time": "10 us"})
    assert one.value("tp_decode_comm_time") == 0
    with pytest.raises(ValueError, match="allreduce_fixed_time"):
        ms.predict("llama-3.1-70b", "h100", tp=8, efficiency={"allreduce_fixed_time": "-1 us"})


def test_serve_charges_the_fixed_cost_in_its_fixed_point():
    # the continuous-batching step carries the same 160 calls per step: a larger fixed cost
    # lowers the saturation rate
    kw = dict(qps=1.0, input_tokens=512, output_tokens=128, tp=8)
    lo = ms.serve("llama-3.1-70b", "h100", efficiency={"allreduce_fixed_time": "0 us"}, **kw)
    hi = ms.serve("llama-3.1-70b", "h100", efficiency={"allreduce_fixed_time": "50 us"}, **kw)
    assert hi.time_per_output_token > lo.time_per_output_token
    assert hi.capacity < lo.capacity


@pytest.mark.parametrize("precision", ["fp8", "int8"])
def test_activations_between_layers_stay_16_bit(precision):
    # vLLM FP8 W8A8 (docs, "FP8 W8A8"): a BF16/FP16 model's Linear modules get FP8 weights and
    # per-pass activation scales, the residual stream stays 16-bit (the ROCm MI300X FP8 rows run
    # --dtype float16): an 8-bit engine all-reduces T x d x 2 B per layer output
    r = ms.predict("llama-3.1-70b", "h100", tp=8, precision=precision, batch=1, seq_len=1024)
    assert r.base_inputs()["activation_bytes_per_element"] == pytest.approx(16)   # bits
    assert r.base_inputs()["bytes_per_parameter"] == pytest.approx(8)              # bit/param
    fp32 = ms.predict("llama-3-8b", "h100", precision="fp32", batch=1, seq_len=1024)
    assert fp32.base_inputs()["activation_bytes_per_element"] == pytest.approx(32)
