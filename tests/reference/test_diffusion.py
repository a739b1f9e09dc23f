"""Diffusion workload record against Peebles & Xie (DiT) Table 4 and hand arithmetic.

DiT-XL/2 at 256x256: 118.6 Gflops per forward pass (Peebles & Xie 2023, Table 4), where the
paper's "flops" are multiply-adds (registry note: 28 x 256 x (4 x 1152^2 + 2 x 1152 x 4608)
+ attention = 118.4e9 multiply-adds), i.e. 237.2 GFLOP per pass; sample.py runs 250 steps with
classifier-free guidance as a doubled batch (Ho & Salimans 2022, Eq. 6: a conditional and an
unconditional evaluation per step). Weights: 675,129,632 parameters, counted from the DiT repo's
models.py (DiT_XL_2: depth 28, hidden 1152, patch 2, 1000 classes, learn_sigma): per block
qkv+proj 5,313,024 + MLP 10,622,592 + adaLN 7,969,536 = 23,905,152, x 28 = 669,344,256; plus
patch embed 19,584, timestep MLP 1,624,320, label table 1,153,152, positional table 294,912 and
final layer 2,693,408 (the paper's "675M").
"""

import datetime

import numpy as np
import pytest

from mlsysim_sym import registry
from mlsysim_sym.equations import workloads
from mlsysim_sym.registry.loader import build_entry
from mlsysim_sym.system import System
from mlsysim_sym.units import Q_
from mlsysim_sym.tasks.workloads import predict_diffusion

SYSTEM = System.from_walls(workloads.diffusion)
DIT_PARAMS = 675_129_632
DIT_MAC = 118.6e9


def dit_model():
    """The registry's DiT-XL/2 entry plus its parameter count (not yet in the shipped YAML)."""
    day = datetime.date(2026, 11, 22)
    ids = ("dit-repo-sample", "peebles2023-dit", "dit-repo-models")
    raw = {
        "name": "dit-xl-2-256-with-params", "family": "diffusion",
        "provenance": {"source": "dit-repo-sample", "locator": "sample.py defaults",
                       "retrieved": day, "basis": "paper"},
        "published_params": {"value": f"{DIT_PARAMS} param", "source": "dit-repo-models",
                             "locator": "DiT_XL_2 module parameters, counted", "retrieved": day,
                             "basis": "derived", "note": "sum of the modules, see above"},
        "input": {"resolution": 256, "channels": 3},
        "diffusion": {"steps": 250, "cfg": True, "latent": {"resolution": 32, "channels": 4},
                      "backbone_flops_per_step": {"value": "118.6 GMAC", "source": "peebles2023-dit",
                                                  "locator": "Table 4", "retrieved": day,
                                                  "basis": "derived",
                                                  "note": "Gflops are multiply-adds"}},
    }
    return build_entry("model", raw, {i: registry.source(i) for i in ids})


def evaluate(outputs, **over):
    values = dict(parameters=Q_(DIT_PARAMS, "param"), bytes_per_parameter=Q_(2, "B/param"),
                  diffusion_backbone_flops=Q_(DIT_MAC, "MAC"), diffusion_text_encoder_flops=0,
                  diffusion_vae_decoder_flops=0, diffusion_text_encoder_bytes=0,
                  diffusion_vae_decoder_bytes=0, guidance_passes=2, diffusion_steps=250, batch=1,
                  peak_flops=Q_(989.5, "TFLOP/s"), memory_bandwidth=Q_(3.35, "TB/s"),
                  memory_capacity=Q_(80, "GB"), compute_efficiency=1.0, memory_efficiency=1.0,
                  fixed_overhead=Q_(0, "ms"))
    values.update(over)
    k = SYSTEM.compile(outputs)
    return k.evaluate(**{n: values[n] for n in k.input_names})


def test_dit_table4_gflops_per_step_and_per_image():
    # Table 4: 118.6 GMAC = 237.2 GFLOP per pass; CFG: 474.4 GFLOP per step;
    # 250 steps: 118.6 TFLOP per image (= what predict reports from the registry's per-step
    # backbone compute: the total is the record's formula, not a registry value)
    ev = evaluate(["diffusion_step_flops", "diffusion_flops"])
    assert ev.quantity("diffusion_step_flops").to("GFLOP").magnitude == pytest.approx(474.4)
    assert ev.quantity("diffusion_flops").to("TFLOP").magnitude == pytest.approx(118.6)
    import mlsysim_sym as ms
    assert ms.predict("dit-xl-2-256", "h100", steps=250).flops.to("TFLOP").magnitude == \
        pytest.approx(118.6)
    assert registry.model("dit-xl-2-256").flops_per_inference is None   # data only


def test_dit_on_h100_by_hand():
    # step compute: 474.4e9 / 989.5e12 = 0.479434 ms; step memory: 675,129,632 x 2 B = 1.350259e9 B
    # / 3.35e12 B/s = 0.403063 ms -> compute-bound; latency = 250 x 0.479434 = 119.859 ms;
    # throughput = 1 / 0.119859 s = 8.3432 images/s
    ev = evaluate(["diffusion_latency", "image_throughput", "diffusion_step_memory_time"])
    step = 474.4e9 / 989.5e12
    assert ev.quantity("diffusion_step_memory_time").to("s").magnitude == pytest.approx(
        DIT_PARAMS * 2 / 3.35e12, rel=1e-12)
    assert ev.binding("diffusion_step_time") == "Compute"
    assert ev.quantity("diffusion_latency").to("s").magnitude == pytest.approx(250 * step, rel=1e-12)
    assert ev.quantity("image_throughput").to("image/s").magnitude == pytest.approx(
        1 / (250 * step), rel=1e-12)


def test_batch1_step_is_memory_bound_on_a_low_bandwidth_chip():
    # L4 (registry): 121 TFLOP/s fp16, 300 GB/s. Batch 1: compute 474.4e9 / 121e12 = 3.9207 ms <
    # memory 1.350259e9 / 300e9 = 4.5009 ms -> memory-bound; batch 2 doubles the FLOPs only:
    # 7.8413 ms > 4.5009 ms -> compute-bound
    l4 = dict(peak_flops=Q_(121, "TFLOP/s"), memory_bandwidth=Q_(300, "GB/s"))
    one = evaluate(["diffusion_step_time"], **l4)
    two = evaluate(["diffusion_step_time"], batch=2, **l4)
    assert one.binding("diffusion_step_time") == "Memory"
    assert one.quantity("diffusion_step_time").to("ms").magnitude == pytest.approx(
        DIT_PARAMS * 2 / 300e9 * 1e3, rel=1e-12)
    assert two.binding("diffusion_step_time") == "Compute"


def test_text_encoder_and_decoder_run_once_per_batch():
    # 50 GFLOP encoder + 1 TFLOP decoder per image, batch 4: (4 x 1.05e12) / 989.5e12 = 4.2446 ms
    # of one-off compute (weights 0.5 GB + 0.1 GB read in 0.179 ms: compute-bound)
    ev = evaluate(["diffusion_latency", "diffusion_text_encoder_time", "diffusion_vae_decoder_time",
                   "diffusion_step_time"], batch=4,
                  diffusion_text_encoder_flops=Q_(50, "GFLOP"),
                  diffusion_vae_decoder_flops=Q_(1, "TFLOP"),
                  diffusion_text_encoder_bytes=Q_(0.5, "GB"), diffusion_vae_decoder_bytes=Q_(0.1, "GB"))
    once = (ev.quantity("diffusion_text_encoder_time") + ev.quantity("diffusion_vae_decoder_time"))
    assert once.to("ms").magnitude == pytest.approx(4 * 1.05e12 / 989.5e12 * 1e3, rel=1e-12)
    total = 250 * ev.quantity("diffusion_step_time") + once
    assert ev.quantity("diffusion_latency").to("ms").magnitude == pytest.approx(
        total.to("ms").magnitude, rel=1e-12)


def test_facade_matches_the_record_for_dit():
    r = predict_diffusion(dit_model(), "h100",
                          efficiency={"compute": 1.0, "memory": 1.0, "fixed_overhead": "0 ms"})
    assert r.latency.to("ms").magnitude == pytest.approx(250 * 474.4e9 / 989.5e12 * 1e3, rel=1e-9)
    assert r.throughput.units == Q_(1, "image/s").units
    assert (r.time_per_image * Q_(1, "image")).to("s").magnitude == pytest.approx(
        r.latency.to("s").magnitude)
    assert r.bottleneck == "Compute" and r.feasible
    assert r.flops.to("TFLOP").magnitude == pytest.approx(118.6)
    assert r.memory_footprint.to("B").magnitude == pytest.approx(DIT_PARAMS * 2)
    assert any("VAE" in n for n in r.notes)


def test_facade_steps_and_batch_broadcast():
    r = predict_diffusion(dit_model(), "nvidia-l4", batch=np.array([[1], [8]]),
                          steps=np.array([25, 50, 250]), efficiency=1.0)
    assert r.latency.magnitude.shape == (2, 3)
    assert np.all(np.diff(r.latency.magnitude, axis=1) > 0)
    assert r.bottleneck[0, 0] == "Memory" and r.bottleneck[1, 0] == "Compute"
    one = predict_diffusion(dit_model(), "nvidia-l4", batch=8, steps=50, efficiency=1.0)
    assert one.latency.to("s").magnitude == pytest.approx(r.latency.to("s").magnitude[1, 1],
                                                          rel=1e-12)
