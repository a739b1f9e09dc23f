"""What a training job runs on, and how it is laid out over it.

A registry cluster, or a chip with ``devices=N`` (standard nodes of that chip: the registry's
node for it, with its scale-up and scale-out fabrics, the smallest that holds the N devices in
one scale-up domain or else the largest, DGX before HGX; 8 per node and the chip's own links
when no node is recorded), becomes the step's machine inputs (:func:`machine`);
:func:`layout` checks the tp x pp x dp x cp (x ep) split against the devices, the node and the
attention heads, with errors that list the valid choices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ... import checks, registry
from ...units import Q_
from .._core import memo

__all__ = ["Machine", "machine", "machine_of", "node_for_chip", "layout", "divisors", "first_bad",
           "DEFAULT_DEVICES_PER_NODE"]

#: accelerators per node assumed for a chip with no registry node (HGX/DGX-class baseboards)
DEFAULT_DEVICES_PER_NODE = 8


@dataclass(frozen=True)
class Machine:
    """The hardware of a job: chip, node, links and the step's machine inputs (quantities)."""

    hardware: Any
    node: Optional[Any]
    devices: int
    datacenter: Optional[Any]
    scale_up_fabric: Optional[Any]
    scale_out_fabric: Optional[Any]
    values: dict


def node_for_chip(hw, devices=None):
    """The registry node of a chip, or None: of the chip's nodes, the smallest whose scale-up
    domain holds ``devices`` (a job on 512 TPU v5p chips runs in one ICI slice, not over the
    data-center network between 4-chip hosts), else the largest (GPUs: N/8 nodes); DGX before
    HGX among equal sizes."""
    nodes = [n for n in registry.list_nodes() if n.accelerator.name == hw.name]
    if not nodes:
        return None
    holds = [n for n in nodes if devices is not None and n.accelerators_per_node >= devices]
    if holds:
        return min(holds, key=lambda n: (n.accelerators_per_node, not n.name.startswith("dgx"),
                                         n.name))
    return min(nodes, key=lambda n: (-n.accelerators_per_node, not n.name.startswith("dgx"),
                                     n.name))


def _fabric(fab, hw_bw, hw_lat, what, notes):
    bw = fab.link_bandwidth if fab is not None else hw_bw
    lat = fab.latency if fab is not None else hw_lat
    if bw is None:
        return None, None
    if lat is None:
        notes.append(f"{what} latency unknown: 0 assumed (bandwidth term only)")
        lat = Q_(0.0, "us")
    return bw, lat


def _lookup(cluster):
    """(registry object, "cluster" or "hardware") of a name, Cluster or Hardware."""
    if isinstance(cluster, registry.Cluster):
        return cluster, "cluster"
    if isinstance(cluster, registry.Hardware):
        return cluster, "hardware"
    if not isinstance(cluster, str):
        raise ValueError(f"cluster must be a registry name, Cluster or Hardware, got {cluster!r}")
    for kind, get in (("cluster", registry.cluster), ("hardware", registry.hardware)):
        try:
            return get(cluster), kind
        except LookupError:
            pass
    raise ValueError(f"{cluster!r} is neither a registry cluster nor an accelerator "
                     "(see registry.list_clusters() and registry.list_hardware())")


#: (cluster name or id, devices) -> (the cluster or chip given, Machine, notes): emptied when the
#: registry changes
_MACHINES = memo.table()


def machine_of(cluster, devices) -> tuple:
    """(:func:`machine`, the notes it made as a tuple) of a cluster or chip and ``devices``,
    memoised while the registry is unchanged (the Machine is shared: read only)."""
    memo.fresh()
    key = (cluster if type(cluster) is str else id(cluster), devices)
    hit = _MACHINES.get(key)
    if hit is None:
        notes: list = []
        mach = machine(cluster, devices, notes)
        hit = memo.put(_MACHINES, key, (cluster, mach, tuple(notes)))   # cluster pins its id
    return hit[1], hit[2]


def machine(cluster, devices, notes) -> Machine:
    """The machine of a cluster or a chip name (``devices``: None for a whole cluster);
    assumptions it makes are appended to ``notes``."""
    obj, kind = _lookup(cluster)
    if kind == "cluster":
        node, hw, fab, dc = obj.node, obj.accelerator, obj.fabric, obj.datacenter
        if devices is None:
            devices = obj.devices
        elif devices > obj.devices:
            raise ValueError(f"devices={devices} exceeds cluster {obj.name!r}, which has "
                             f"{obj.devices} accelerators")
    else:
        hw, dc = obj, None
        if devices is None:
            raise ValueError(f"devices must be given: {hw.name} is a chip, not a cluster "
                             "(pass devices=N, a whole number >= 1)")
        node = node_for_chip(hw, devices)
        fab = node.scale_out_fabric if node is not None else None
        where = f"registry nodes {node.name}" if node else "nodes"
        notes.append(f"{devices} x {hw.name} in {where} of "
                     f"{node.accelerators_per_node if node else DEFAULT_DEVICES_PER_NODE} "
                     "accelerators" + (f", scale-out over {fab.name}" if fab else ""))
    g = node.accelerators_per_node if node is not None else DEFAULT_DEVICES_PER_NODE
    up = node.scale_up_fabric if node is not None else None
    up_bw, up_lat = _fabric(up, hw.scale_up_bandwidth, hw.scale_up_latency, "scale-up", notes)
    out_bw, out_lat = _fabric(fab, hw.scale_out_bandwidth, hw.scale_out_latency, "scale-out",
                              notes)
    if up_bw is None:
        up_bw, up_lat = out_bw, out_lat
    if out_bw is None:
        if devices > g:
            raise ValueError(f"no scale-out fabric is known for {hw.name} nodes: pass a Cluster "
                             "whose fabric is given")
        out_bw, out_lat = up_bw, up_lat
    if up_bw is None:
        raise ValueError(f"no interconnect is known for {hw.name}; pass a Cluster")
    nics = getattr(node, "nics_per_node", None) if node is not None else None
    if nics and nics < g and fab is not None:
        out_bw = out_bw * nics / g
        notes.append(f"{nics} NICs per {g} accelerators: each device gets {nics}/{g} of a port")
    values = {"memory_bandwidth": hw.memory_bandwidth, "memory_capacity": hw.memory_capacity,
              "scale_up_bandwidth": up_bw, "scale_up_latency": up_lat,
              "link_bandwidth": out_bw, "link_latency": out_lat, "devices_per_node": g,
              # the measured matmul ceiling; a chip without one runs its GEMMs against the peak
              "matmul_ceiling": 1.0 if hw.matmul_ceiling is None else hw.matmul_ceiling}
    return Machine(hw, node, int(devices), dc, up, fab, values)


# ---------------------------------------------------------------------------------------------
# The layout: tp x pp x dp x cp (x ep) over the devices
# ---------------------------------------------------------------------------------------------
def first_bad(mask, *arrays):
    """Values of ``arrays`` at the first point where ``mask`` holds, and where that is."""
    shape = np.broadcast_shapes(np.shape(mask), *[np.shape(a) for a in arrays])
    idx = tuple(int(i) for i in np.argwhere(np.broadcast_to(mask, shape))[0]) if shape else ()
    return ([float(np.broadcast_to(a, shape)[idx]) for a in arrays],
            f" (at index {idx})" if idx else "")


def divisors(n):
    """Divisors of n, ascending (O(sqrt n): n may be a user's device count or batch)."""
    n = int(n)
    low = [k for k in range(1, math.isqrt(n) + 1) if n % k == 0]
    return sorted(set(low + [n // k for k in low]))


def _check_tp(tp, g, heads, allow_cross_node_tp):
    if np.any(np.asarray(tp) > g) and not allow_cross_node_tp:
        (t,), where = first_bad(np.asarray(tp) > g, tp)
        raise ValueError(f"tp={int(t)}{where} crosses the node boundary: a node has {g} "
                         "accelerators on its scale-up fabric, so the tensor-parallel all-reduces "
                         f"would run over the scale-out network; use tp <= {g} or pass "
                         "allow_cross_node_tp=True to model it anyway")
    bad = np.mod(heads, tp) != 0
    if np.any(bad):
        (t,), where = first_bad(bad, tp)
        raise ValueError(f"tp={int(t)}{where} does not divide the {heads} attention heads "
                         f"(Megatron splits heads over TP ranks); valid tp: "
                         f"{[k for k in divisors(heads) if k <= g]}")


def _data_parallel(devices, tp, pp, dp, cp):
    model_par = tp * pp * cp
    if dp is None:
        dp = devices / model_par
        bad = dp != np.floor(dp)
        if np.any(bad):
            (t, p_), where = first_bad(bad, tp, pp)
            raise ValueError(f"tp x pp x cp = {int(t)} x {int(p_)} x {int(cp)} = "
                             f"{int(t * p_ * cp)}{where} does not divide the {devices} devices, so "
                             f"dp = {devices / (t * p_ * cp):.4g} is not whole; tp x pp x cp must "
                             f"divide {devices}: one of {divisors(devices)}")
        return dp
    dp = checks.count("dp", dp, 1, None)
    bad = model_par * dp != devices
    if np.any(bad):
        (t, p_, d_), where = first_bad(bad, tp, pp, dp)
        prod = int(t * p_ * d_ * cp)
        hint = (f"use dp = {int(devices // (t * p_ * cp))}" if devices % (t * p_ * cp) == 0
                else f"tp x pp x cp = {int(t * p_ * cp)} does not divide {devices}")
        raise ValueError(f"tp x pp x dp x cp = {int(t)} x {int(p_)} x {int(d_)} x {int(cp)} "
                         f"= {prod}{where}, but the job has {devices} devices; {hint}")
    return dp


def layout(devices, tp, pp, dp, cp, ep, g, heads, allow_cross_node_tp, moe):
    """The data-parallel degree of a tp x pp x cp (x ep) split of ``devices`` (``dp``: None to
    derive it), checked against the node size ``g`` and the attention heads."""
    _check_tp(tp, g, heads, allow_cross_node_tp)
    dp = _data_parallel(devices, tp, pp, dp, cp)
    if moe:
        bad = np.mod(dp * cp, ep) != 0
        if np.any(bad):
            (d_,), where = first_bad(bad, dp)
            raise ValueError(f"ep={int(ep)} does not divide dp x cp = {int(d_ * cp)}{where}: "
                             "expert-parallel ranks are carved from the data-parallel ranks")
    elif ep != 1:
        raise ValueError(f"ep={int(ep)} needs a mixture-of-experts model")
    return dp
