"""Inputs of the MoE record for ``predict``: an MoE model's expert structure and the
expert-parallel link, as base-unit magnitudes by input name."""

from __future__ import annotations

from ...defaults import default
from ...symbols import info
from ...units import Q_
from .._core.knobs import magnitude
from .system import MOE_EXTRA, MOE_STRUCTURE

__all__ = ["moe_magnitudes"]


def moe_magnitudes(model, hardware) -> dict:
    """``{input: base magnitude}`` of :data:`~.system.MOE_STRUCTURE` and
    :data:`~.system.MOE_EXTRA` for ``model`` on one ``hardware`` chip.

    Expert parallelism is a fleet decision (training / fleet sizing); ``predict`` runs one
    device, so the all-to-all term is identically zero and the link values only need to be
    finite. ``communication_efficiency`` is the calibrated default (``predict`` replaces it
    with the one its ``efficiency`` gives)."""
    from ..workloads import moe_inputs
    structure = moe_inputs(model)
    bw, lat = info("link_bandwidth"), info("link_latency")
    link_bw = hardware.scale_up_bandwidth or Q_(bw.bounds[1], bw.unit)
    link_lat = hardware.scale_up_latency or Q_(lat.bounds[0] or 1, lat.unit)
    values = dict(structure, moe_routing_imbalance=default("moe_routing_imbalance"),
                  expert_parallel=1, link_bandwidth=link_bw, link_latency=link_lat,
                  communication_efficiency=default("communication_efficiency"))
    return {k: magnitude(k, values[k]) for k in MOE_STRUCTURE + MOE_EXTRA}
