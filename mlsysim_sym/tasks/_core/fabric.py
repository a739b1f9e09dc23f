"""Which all-reduce a serving engine can run on a chip's scale-up fabric (registry look-up)."""

from __future__ import annotations

from functools import lru_cache

from ... import registry
from . import memo

__all__ = ["peer_access"]


def peer_access(hardware) -> float:
    """1.0 when a node the registry records for this chip has a scale-up fabric with
    ``peer_access`` (NVSwitch, NVLink or Infinity Fabric full mesh: serving engines reduce with
    one-shot / two-shot peer-memory kernels), or else the chip's scale-up link records it; 0.0
    otherwise (the ring)."""
    memo.fresh()   # the nodes may have changed (a user's file loaded)
    if _peer_access(getattr(hardware, "name", hardware)):
        return 1.0
    return 1.0 if getattr(hardware, "scale_up_peer_access", None) else 0.0


@memo.on_change_clear
@lru_cache(maxsize=128)
def _peer_access(hw_name) -> float:
    for node in registry.list_nodes():
        node = registry.node(node) if isinstance(node, str) else node
        acc, fabric = getattr(node, "accelerator", None), getattr(node, "scale_up_fabric", None)
        if getattr(acc, "name", None) == hw_name and getattr(fabric, "peer_access", False):
            return 1.0
    return 0.0
