"""Stable Diffusion 1.5 on the diffusion record, with the registry's per-pass compute.

Source: MLPerf Mobile's SD v1.5 benchmark models (mlcommons/mobile_app_open pull request #917,
comment of 2024-10-01): the U-Net as two graphs, sd_diffusion_1 (447,042,560 parameters,
147.435 G MACs) and sd_diffusion_2 (412,478,404 parameters, 281.060 G MACs); text_encoder
8.958 G MACs; vae_decoder 1273.718 G MACs. One U-Net pass for one 512x512 image is therefore
428.495 G MACs = 856.99 GFLOP (1 MAC = 2 FLOP), and the two graphs' parameters add up to
859,520,964, the SD v1.5 U-Net's count.

By hand on an H100 SXM (registry: 989.5 TFLOP/s fp16 dense) at efficiency 1 and no overhead, one
image, 50 steps, classifier-free guidance (2 passes per step):
  step = 2 x 856.99e9 / 989.5e12 = 1.73217 ms (compute-bound: the 1.72 GB of weights take
  0.513 ms at 3.35 TB/s); text encoder 2 x 8.958e9 / 989.5e12 = 0.0181 ms; VAE decoder
  2 x 1273.718e9 / 989.5e12 = 2.5745 ms; latency 50 x 1.73217 + 0.0181 + 2.5745 = 89.20 ms.
"""

import pytest

import mlsysim_sym as ms
from mlsysim_sym import registry

IDEAL = {"compute": 1.0, "memory": 1.0, "fixed_overhead": 0.0}
UNET_MAC = 147.435e9 + 281.060e9


def test_registry_carries_the_mlperf_mobile_macs_as_flops():
    m = registry.model("stable-diffusion-1-5")
    d = m.diffusion
    assert d.backbone_flops_per_step.quantity.to("FLOP").magnitude == pytest.approx(2 * UNET_MAC)
    assert d.text_encoder_flops.quantity.to("GFLOP").magnitude == pytest.approx(2 * 8.958)
    assert d.vae_decoder_flops.quantity.to("GFLOP").magnitude == pytest.approx(2 * 1273.718)
    prov = m.provenance("diffusion.backbone_flops_per_step")
    assert prov.source == "mlperf-mobile-sd-macs" and prov.basis == "derived"
    assert "147.435" in prov.locator and "281.060" in prov.locator
    assert 447_042_560 + 412_478_404 == 859_520_964


def test_sd15_on_h100_by_hand():
    r = ms.predict("stable-diffusion-1-5", "h100", efficiency=IDEAL)
    step = 2 * 2 * UNET_MAC / 989.5e12
    assert r.step_time.to("s").magnitude == pytest.approx(step, rel=1e-9)
    assert step * 1e3 == pytest.approx(1.73217, rel=1e-5)
    te, vae = 2 * 8.958e9 / 989.5e12, 2 * 1273.718e9 / 989.5e12
    assert r.latency.to("s").magnitude == pytest.approx(50 * step + te + vae, rel=1e-9)
    assert r.latency.to("ms").magnitude == pytest.approx(89.20, abs=0.01)
    assert r.bottleneck == "Compute" and r.feasible


def test_sd15_predicts_with_the_calibrated_defaults_and_sdxl_still_says_why():
    r = ms.predict("stable-diffusion-1-5", "h100")
    assert r.latency.to("s").magnitude > 0.0892 and r.throughput.magnitude > 0
    with pytest.raises(ValueError, match="backbone_flops_per_step"):
        ms.predict("sdxl-base-1-0", "h100")
