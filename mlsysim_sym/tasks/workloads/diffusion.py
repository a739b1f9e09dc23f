"""Diffusion image generation on one chip: :func:`predict_diffusion` and its result.

The denoising backbone runs ``steps`` times (twice per step with classifier-free guidance),
then the VAE decoder once; the text encoder once per prompt. Stage compute the registry does
not record is omitted with a note, so the prediction is then a lower bound.
"""

from __future__ import annotations

from functools import lru_cache

from ... import checks, registry
from ...checks import magnitude
from ...symbols import info
from ...units import Q_
from .common import (EFFICIENCY_INPUTS, evaluate, hardware_roofs, known_fields, need,
                     precision_bits, roofline_defaults, roofline_efficiency,
                     workload_model)
from .result import WorkloadPrediction

__all__ = ["predict_diffusion", "DiffusionPrediction", "diffusion_system"]


class DiffusionPrediction(WorkloadPrediction):
    """``latency`` is the time to generate the whole batch; ``throughput`` images/s."""

    family, SAMPLE = "diffusion", "image"
    LATENCY, THROUGHPUT = "diffusion_latency", "image_throughput"
    FOOTPRINT, UTILIZATION, BINDING = ("diffusion_memory_footprint",
                                       "diffusion_memory_utilization", "diffusion_step_time")
    EXTRA = {"step_time": "diffusion_step_time", "text_encoder_time": "diffusion_text_encoder_time",
             "vae_decoder_time": "diffusion_vae_decoder_time", "flops": "diffusion_flops",
             "step_flops": "diffusion_step_flops", "weights": "weight_bytes"}

    @property
    def time_per_image(self):
        """Latency / batch = 1 / throughput [s/image] (the batch's images finish together)."""
        return (1 / self.throughput).to("s/image")


@lru_cache(maxsize=1)
def diffusion_system():
    """The diffusion workload record, composed once per process."""
    from ...equations import workloads
    from ...system import System
    return System.from_walls(workloads.diffusion, name="diffusion")


_DIFFUSION_OUT = ("diffusion_latency", "image_throughput", "diffusion_memory_footprint",
                  "diffusion_memory_utilization", *DiffusionPrediction.EXTRA.values())


def _stage_flops(name, value) -> float:
    """Base magnitude of a text-encoder / VAE-decoder compute, 0 FLOP when not recorded."""
    return magnitude(name, value.quantity if value else Q_(0, "FLOP"))


def _notes(d) -> list:
    notes = []
    if d.text_encoder_flops is None:
        notes.append("text encoder compute not in the registry: omitted")
    if d.vae_decoder_flops is None:
        notes.append("VAE decoder compute not in the registry: omitted")
    notes.append("text encoder and VAE decoder weights not in the registry: their memory time and "
                 "footprint are omitted (footprint = backbone weights)")
    return notes


def predict_diffusion(model, hardware, *, batch=1, steps=None, precision="fp16",
                      efficiency=None) -> DiffusionPrediction:
    """Predict image generation time, images/s and memory of a diffusion model on one chip.

    Parameters
    ----------
    model, hardware : str or registry object
    batch : int or array of int
        Images generated together [1, 1e6].
    steps : int or array of int, optional
        Denoising steps; the registry's default sampler length when None.
    precision : str
        Weight and compute precision (fp16, bf16, fp8, ...).
    efficiency : float or dict, optional
        As :func:`mlsysim_sym.predict`: one fraction for compute and memory, or
        ``{"compute": .., "memory": .., "fixed_overhead": "1 ms"}``.

    Raises
    ------
    ValueError
        For a non-diffusion model, bad knobs, or a model without backbone FLOPs or parameters.
    """
    m = workload_model(model, ("diffusion",), "predict_diffusion")
    hw = registry.hardware(hardware)
    bits = precision_bits(precision)
    d = m.diffusion
    knobs = {"batch": checks.count("batch", batch, *info("batch").bounds),
             "diffusion_steps": checks.count("steps", d.steps if steps is None else steps,
                                             *info("diffusion_steps").bounds)}
    flops = need(d.backbone_flops_per_step, "diffusion.backbone_flops_per_step (per-step "
                 "backbone compute)", m).quantity
    params = need(m.parameters, "published_params (backbone weights)", m)
    notes = _notes(d)
    values = {
        "parameters": magnitude("parameters", params),
        "bytes_per_parameter": magnitude("bytes_per_parameter", Q_(bits, "bit/param")),
        "diffusion_backbone_flops": magnitude("diffusion_backbone_flops", flops),
        "diffusion_text_encoder_flops": _stage_flops("diffusion_text_encoder_flops",
                                                     d.text_encoder_flops),
        "diffusion_vae_decoder_flops": _stage_flops("diffusion_vae_decoder_flops",
                                                    d.vae_decoder_flops),
        "diffusion_text_encoder_bytes": 0.0, "diffusion_vae_decoder_bytes": 0.0,
        "guidance_passes": 2.0 if d.cfg else 1.0, **knobs, **hardware_roofs(hw, precision),
    }
    values.update(zip(EFFICIENCY_INPUTS, roofline_efficiency(efficiency, hw, precision.lower())))
    system = diffusion_system()
    ev, used = evaluate(system, _DIFFUSION_OUT, tuple(sorted(values)), values)
    fields = known_fields([(hw, f"peak.{precision.lower()}"), (hw, "memory.0.bandwidth"),
                           (hw, "memory.0.capacity"), (m, "published_params"),
                           (m, "diffusion.backbone_flops_per_step"), (m, "diffusion")])
    r = DiffusionPrediction(ev, system, m, hw, precision.lower(), used,
                            hw.memory_capacity, notes, fields)
    return r.record_defaults(roofline_defaults(efficiency, hw, precision.lower()))
