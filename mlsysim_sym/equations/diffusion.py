"""Workload - Latent diffusion: denoising steps x backbone passes, then decode once.

Bounds: a latent diffusion model (Rombach et al. 2022) encodes the prompt once, runs its
backbone (U-Net or DiT) once per denoising step in the latent space, and decodes the final
latent to pixels once with the autoencoder's decoder. Classifier-free guidance (Ho & Salimans
2022) combines a conditional and an unconditional noise estimate at every step, so each step
evaluates the backbone twice per image (DiT's sampler runs them as one doubled batch, Peebles &
Xie ``sample.py``). Each stage is a roofline (walls 1 and 2): a step moves the backbone's weights
once (the doubled CFG batch shares one weight read) and does g x B x W_bb FLOPs, so at batch 1
a step can be memory-bound; the text encoder and decoder run once per batch. The images of a
batch finish together: latency = steps x step time + encoder + decoder; images/s = B / latency.

Regime of validity: one accelerator, a fixed number of steps (samplers with a variable step
count or step distillation change ``diffusion_steps``); activation traffic of the backbone is
not counted, so the memory time is the weight-traffic lower bound (Williams' compulsory traffic);
the unconditional prompt embedding of CFG is cached; latent and pixel buffers are not counted in
the footprint (they are megabytes against gigabytes of weights).

References
----------
Rombach et al., "High-Resolution Image Synthesis with Latent Diffusion Models", CVPR 2022.
Ho & Salimans, "Classifier-Free Diffusion Guidance", arXiv:2207.12598, 2022.
Peebles & Xie, "Scalable Diffusion Models with Transformers", ICCV 2023 (Table 4: Gflops).
Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009.
"""

from .. import symbols as s
from . import compute, memory
from .base import Constraint, Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("rombach2022ldm", "Rombach, Robin and Blattmann, Andreas and Lorenz, Dominik and "
              "Esser, Patrick and Ommer, Bj{\\\"o}rn",
              "High-Resolution Image Synthesis with Latent Diffusion Models",
              "Proceedings of CVPR 2022", 2022, url="https://arxiv.org/abs/2112.10752",
              kind="inproceedings"),
    Reference("ho2022cfg", "Ho, Jonathan and Salimans, Tim", "Classifier-Free Diffusion Guidance",
              "arXiv:2207.12598", 2022, url="https://arxiv.org/abs/2207.12598", kind="misc"),
    Reference("peebles2023dit", "Peebles, William and Xie, Saining",
              "Scalable Diffusion Models with Transformers", "Proceedings of ICCV 2023", 2023,
              url="https://arxiv.org/abs/2212.09748", kind="inproceedings"),
)

_ROOF = ("Compute", "Memory")


def _stage(flops_sym, bytes_expr, compute_sym, memory_sym, time_sym, locator):
    """Three equations: a stage's compute roof, memory roof and roofline time."""
    return (
        Equation(compute_sym, compute.time_for(flops_sym), cite="williams2009roofline",
                 locator="compute roof (wall 1)"),
        Equation(memory_sym, memory.time_for(bytes_expr), cite="williams2009roofline",
                 locator="memory roof (wall 2)"),
        Equation(time_sym, memory.roofline(compute_sym, memory_sym), cite="rombach2022ldm",
                 locator=locator, branches=dict(zip((compute_sym, memory_sym), _ROOF))),
    )


_per_batch = s.batch  # images generated together

WALL = Wall(
    number=0,
    name="Diffusion",
    domain="workload",
    summary=(
        "A latent diffusion model runs its U-Net or DiT backbone once per denoising step (twice "
        "with classifier-free guidance), then decodes the latent once; the text encoder runs "
        "once. Each step streams the backbone's weights and does the backbone's FLOPs for the "
        "whole batch, so small batches are memory-bound and large ones compute-bound; the "
        "batch's images all finish after steps x step time plus the encoder and decoder."
    ),
    regime="One accelerator, fixed step count, CFG as a doubled batch sharing one weight read "
           "per step; backbone activation traffic not counted (memory time is a lower bound); "
           "latent and pixel buffers not counted in the footprint.",
    equations=(
        Equation(s.weight_bytes, s.parameters * s.bytes_per_parameter, cite="pope2023inference",
                 locator="Sec. 2.1, memory costs: weights",
                 note="parameters = the backbone's (U-Net / DiT) weights"),
        Equation(s.diffusion_step_flops,
                 s.guidance_passes * _per_batch * s.diffusion_backbone_flops, cite="ho2022cfg",
                 locator="Sec. 3.2, Eq. 6 and Algorithm 2: the guided estimate combines a "
                 "conditional and an unconditional evaluation at every step",
                 note="g = 2 with guidance, 1 without; W_bb per image per pass, e.g. DiT Table 4"),
        *_stage(s.diffusion_step_flops, s.weight_bytes, s.diffusion_step_compute_time,
                s.diffusion_step_memory_time, s.diffusion_step_time,
                "Sec. 3-4: the denoising network runs once per step on the latent"),
        *_stage(_per_batch * s.diffusion_text_encoder_flops, s.diffusion_text_encoder_bytes,
                s.diffusion_text_encoder_compute_time, s.diffusion_text_encoder_memory_time,
                s.diffusion_text_encoder_time,
                "Sec. 3.3: the conditioning encoder tau_theta maps the prompt once"),
        *_stage(_per_batch * s.diffusion_vae_decoder_flops, s.diffusion_vae_decoder_bytes,
                s.diffusion_vae_decoder_compute_time, s.diffusion_vae_decoder_memory_time,
                s.diffusion_vae_decoder_time,
                "Sec. 3.1: the decoder D maps the final latent to pixels once"),
        Equation(s.diffusion_latency,
                 s.diffusion_steps * s.diffusion_step_time + s.diffusion_text_encoder_time
                 + s.diffusion_vae_decoder_time, cite="rombach2022ldm",
                 locator="Sec. 3: encode the condition, T denoising steps in latent space, decode"),
        Equation(s.image_throughput, _per_batch * s.samples_per_batch_element / s.diffusion_latency,
                 cite="rombach2022ldm",
                 locator="Sec. 4.1: sampling speed reported as throughput in samples/s"),
        Equation(s.diffusion_flops,
                 _per_batch * (s.diffusion_steps * s.guidance_passes * s.diffusion_backbone_flops
                               + s.diffusion_text_encoder_flops + s.diffusion_vae_decoder_flops),
                 cite="peebles2023dit", locator="Table 4: backbone Gflops per forward pass; "
                 "sampling cost = steps x passes x Gflops"),
        Equation(s.diffusion_memory_footprint,
                 s.weight_bytes + s.diffusion_text_encoder_bytes + s.diffusion_vae_decoder_bytes,
                 cite="pope2023inference", locator="Sec. 2.1: weights must fit in memory"),
        Equation(s.diffusion_memory_utilization, s.diffusion_memory_footprint / s.memory_capacity,
                 cite="pope2023inference", locator="Sec. 2.1: weights must fit in memory"),
    ),
    constraints=(
        Constraint("diffusion_fits_in_memory", s.diffusion_memory_footprint, s.memory_capacity,
                   cite="pope2023inference", kind="capacity"),
    ),
    references=("rombach2022ldm", "ho2022cfg", "peebles2023dit", "williams2009roofline",
                "pope2023inference"),
    kind="workload",
)
