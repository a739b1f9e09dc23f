"""A chip's scale-up fabric as the serving all-reduce sees it (registry look-up): whether a
serving engine can run its peer-memory all-reduces there, and the fabric's measured per-step
latency."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ... import checks, registry
from ...defaults import VariantKey, default, resolve, variant_name
from . import knobs, memo
from .knobs import magnitude

__all__ = ["peer_access", "scale_up_fabric", "measured_latency", "link_rest",
           "tp_overrides", "scale_up_domain", "mesh_share", "ring_efficiency",
           "communication"]


def peer_access(hardware) -> float:
    """1.0 when a node the registry records for this chip has a scale-up fabric with
    ``peer_access`` (NVSwitch, NVLink or Infinity Fabric full mesh: serving engines reduce with
    one-shot / two-shot peer-memory kernels), or else the chip's scale-up link records it; 0.0
    otherwise (the ring)."""
    fabric = scale_up_fabric(hardware)
    if getattr(fabric, "peer_access", False):
        return 1.0
    return 1.0 if getattr(hardware, "scale_up_peer_access", None) else 0.0


def scale_up_fabric(hardware):
    """The scale-up fabric of a node the registry records for this chip (one with peer access
    first), or None."""
    memo.fresh()   # the nodes may have changed (a user's file loaded)
    return _scale_up_fabric(getattr(hardware, "name", hardware))


def measured_latency(hardware):
    """The scale-up fabric's per-step latency when the registry derives it from a measurement
    or the library's own cost model (NVLink 3 / 4: NCCL), else None: a placeholder
    (``basis: assumption``, e.g. Gaudi RoCE, MI300X xGMI) leaves the calibrated serving
    latency in charge."""
    fabric = scale_up_fabric(hardware)
    lat = getattr(fabric, "latency", None)
    if lat is None or fabric.provenance("latency").basis == "assumption":
        return None
    return lat


@memo.on_change_clear
@lru_cache(maxsize=128)
def _scale_up_fabric(hw_name):
    found = None
    for node, fabric in _fabrics_of(hw_name):
        if getattr(fabric, "peer_access", False):
            return fabric
        found = found or fabric
    return found


def link_rest(hardware, measured=True) -> tuple:
    """(latency, peer access, fixed cost per all-reduce call) of the chip's scale-up link: the
    registry fabric's per-step latency where it is measured (:func:`measured_latency`, as
    ``train()`` reads it), else the chip's own, else the calibrated ``scale_up_latency[serve]``;
    the calibrated ``allreduce_fixed_time``. ``measured=False`` (one device: every TP term
    vanishes, the values only have to be finite) skips the fabric's provenance, whose schema
    object would import pydantic on a warm command line."""
    lat = (measured_latency(hardware) if measured else None) or hardware.scale_up_latency \
        or default(variant_name("scale_up_latency", regime="serve"))
    return (magnitude("scale_up_latency", lat), peer_access(hardware),
            knobs.allreduce_fixed_time())


def tp_defaults(hardware, efficiency=None) -> dict:
    """``{symbol: defaults.Resolved}`` of the calibrated defaults a tensor-parallel serving step
    reads (what ``defaults_used()`` lists at tp > 1): ``allreduce_fixed_time`` always, and
    ``scale_up_latency[serve]`` when :func:`link_rest` falls back to it (no measured fabric
    latency, none on the chip); a value ``efficiency`` gives is not a default."""
    given = set(efficiency) if isinstance(efficiency, dict) else set()
    used = {}
    if "allreduce_fixed_time" not in given:
        used["allreduce_fixed_time"] = resolve("allreduce_fixed_time")
    if "scale_up_latency" not in given and measured_latency(hardware) is None \
            and hardware.scale_up_latency is None:
        used["scale_up_latency"] = resolve("scale_up_latency", VariantKey(regime="serve"))
    return used


def tp_overrides(values, efficiency) -> dict:
    """``values`` (the TP inputs by name) with what ``efficiency`` gives: ``scale_up_latency``
    and ``allreduce_fixed_time`` (us)."""
    if not isinstance(efficiency, dict):
        return values
    for key in ("scale_up_latency", "allreduce_fixed_time"):
        if efficiency.get(key) is not None:
            values[key] = checks.quantity(key, efficiency[key], "us", low=0.0)
    return values


def scale_up_domain(hardware):
    """(accelerators, node name) of the largest scale-up domain the registry records for this
    chip (a node whose scale-up fabric is a switch or all-to-all: NVLink/NVSwitch, Infinity
    Fabric, Gaudi), or None when unknown or when the fabric spans hosts (a TPU ICI torus)."""
    memo.fresh()   # the nodes may have changed (a user's file loaded)
    return _scale_up_domain(getattr(hardware, "name", hardware))


@memo.on_change_clear
@lru_cache(maxsize=128)
def _scale_up_domain(hw_name):
    best = None
    for node, fabric in _fabrics_of(hw_name):
        if getattr(fabric, "topology", None) not in ("switch", "all-to-all"):
            return None
        size = int(node.accelerators_per_node)
        if best is None or size > best[0]:
            best = (size, node.name)
    return best


def ring_efficiency(hardware):
    """The large-message bus-bandwidth fraction of the collective library's all-reduce on the
    chip's scale-up fabric (registry ``collective_efficiency``, e.g. HCCL on Gaudi's RoCE mesh)
    where serving engines reduce through that library (no peer access: the ring), else None.
    With peer access the engines run their own one-shot / two-shot kernels, whose achieved
    fraction is the calibrated ``communication_efficiency[serve]``."""
    if peer_access(hardware):
        return None
    eff = getattr(scale_up_fabric(hardware), "collective_efficiency", None)
    return None if eff is None else float(eff.to("").magnitude)


def communication(hardware, efficiency=None) -> float:
    """Achieved fraction of the scale-up bandwidth in a serving step's TP all-reduces: given
    (``efficiency={"communication": ..}``), else the fabric's published collective-library
    fraction where the all-reduce is that library's ring (:func:`ring_efficiency`), else the
    calibrated ``communication_efficiency[serve]``."""
    if isinstance(efficiency, dict) and "communication" in efficiency:
        return knobs.communication(efficiency)
    published = ring_efficiency(hardware)
    return knobs.communication(efficiency) if published is None else published


def mesh_share(hardware, tp):
    """Share of the chip's scale-up bandwidth a tensor-parallel group of ``tp`` ranks reaches
    (a number, or an array like ``tp``).

    On a switched fabric (NVSwitch) every rank reaches its whole link bandwidth whatever the
    group: 1. On a full mesh without a switch (registry topology ``all-to-all``: Gaudi's 21
    RoCE ports, 3 to each of the 7 peers of an 8-card box; the MI300X platform's 7 xGMI links)
    each peer pair has its own links, B / (n - 1) of the chip's aggregate B, so a group of t
    of the n devices reaches (t - 1) / (n - 1) of it: the all-reduce moves its bytes only over
    the links to the group's t - 1 other members (Bekman's all_reduce_bench on 8x MI300X: 2
    GPUs reach one link, busbw 47.7 of 312.9 GB/s at 8). 1 at t = 1 (no all-reduce) and when
    the registry records no such node."""
    memo.fresh()   # the nodes may have changed (a user's file loaded)
    n = _mesh_size(getattr(hardware, "name", hardware))
    if n is None:
        return 1.0
    t = np.clip(np.asarray(tp, dtype=float), 2.0, n)
    share = (t - 1.0) / (n - 1.0)
    return float(share) if np.ndim(share) == 0 else share


@memo.on_change_clear
@lru_cache(maxsize=128)
def _mesh_size(hw_name):
    """Devices of the largest full-mesh (``all-to-all``) scale-up fabric node built from the
    chip ``hw_name``, or None when its scale-up fabric is switched or unknown."""
    sizes = [int(node.accelerators_per_node) for node, fabric in _fabrics_of(hw_name)
             if getattr(fabric, "topology", None) == "all-to-all"]
    if not sizes or len(sizes) != sum(1 for _ in _fabrics_of(hw_name)):
        return None
    n = max(sizes)
    return n if n > 1 else None


def _fabrics_of(hw_name):
    """(node, its scale-up fabric) for each registry node built from the chip ``hw_name``."""
    for node in registry.list_nodes():
        node = registry.node(node) if isinstance(node, str) else node
        acc, fabric = getattr(node, "accelerator", None), getattr(node, "scale_up_fabric", None)
        if acc is not None and getattr(acc, "name", None) == hw_name and fabric is not None:
            yield node, fabric
