"""Walls 15, 17, 18, 19 composed on a training run's time to train, on demand.

A result's failures, goodput, wall-clock time, energy, carbon, water and cost come from one of
four small systems (no failure model; failures; failures and checkpoints, with or without a
given interval), each built once from the walls and the glue of
:mod:`mlsysim_sym.equations.operations` and compiled once per output.
"""

from __future__ import annotations

from functools import lru_cache

from ...units import Q_, base_factor
from .._core import memo

__all__ = ["OPS_KEYS", "ops_context", "ops_system", "ops_kernel", "ops_quantity"]

#: inputs of the operations walls a user may give in ``train(..., ops={...})``
OPS_KEYS = ("device_mtbf", "node_component_mtbf", "recovery_time", "storage_write_bandwidth",
            "checkpoint_interval", "device_peak_power", "device_idle_power",
            "device_utilization", "pue", "carbon_intensity", "wue", "embodied_carbon_per_device",
            "service_life", "lifetime_utilization", "cloud_price", "electricity_price")
_FAILURES = {"device_mtbf", "node_component_mtbf", "recovery_time"}
_NO_FAILURES = ("no failure model (ops device_mtbf, node_component_mtbf, recovery_time not "
                "given): goodput 1")


#: (chip, node, datacenter, checkpoint bytes) -> the context of a run without ``ops``: emptied
#: when the registry changes
_CONTEXTS = memo.table()


def ops_context(hw, node, dc, ops, checkpoint_bytes) -> dict:
    """The operations inputs of a run: the user's ``ops``, the device power of the node (or
    the chip's TDP), the datacenter's PUE, carbon and water intensity and electricity price,
    and the checkpoint's bytes per parameter. Without ``ops`` the context is memoised per
    (chip, node, datacenter, checkpoint bytes) and shared: read only."""
    if ops is None:
        memo.fresh()
        key = (id(hw), id(node), id(dc), checkpoint_bytes)
        hit = _CONTEXTS.get(key)
        if hit is None:   # the objects pin their ids
            hit = memo.put(_CONTEXTS, key,
                           (hw, node, dc, _context(hw, node, dc, {}, checkpoint_bytes)))
        return hit[3]
    return _context(hw, node, dc, ops, checkpoint_bytes)


def _context(hw, node, dc, ops, checkpoint_bytes) -> dict:
    ops = dict(ops or {})
    unknown = set(ops) - set(OPS_KEYS)
    if unknown:
        raise ValueError(f"unknown ops inputs {sorted(unknown)}; allowed: {', '.join(OPS_KEYS)}")
    values = dict(ops)
    if "device_peak_power" not in values:
        if node is not None and node.power is not None:
            values["device_peak_power"] = node.power / node.accelerators_per_node
        elif hw.tdp is not None:
            values["device_peak_power"] = hw.tdp
    if "device_utilization" not in values:
        values["device_utilization"] = 1.0  # busy for the whole run: idle power drops out
        values.setdefault("device_idle_power", Q_(0.0, "W"))
    if dc is not None:
        for k in ("pue", "carbon_intensity", "wue", "electricity_price"):
            if k not in values and getattr(dc, k, None) is not None:
                values[k] = getattr(dc, k)
    return {"values": values, "checkpoint_bytes_per_param": Q_(checkpoint_bytes, "B/param")}


def goodput_model(given) -> tuple:
    """(goodput from "none" | "fragility" | "checkpoint", Daly's interval used) for the ops
    inputs ``given``."""
    if _FAILURES | {"storage_write_bandwidth"} <= given:
        return "checkpoint", "checkpoint_interval" not in given
    return ("fragility" if _FAILURES <= given else "none"), False


@lru_cache(maxsize=None)
def ops_system(goodput_from: str, daly: bool):
    """The operations walls composed on the run (one system per goodput model, built once)."""
    from ... import symbols as s
    from ...equations import operations, walls
    from ...equations import training as training_record
    from ...system import System
    mine = {eq.lhs: eq for eq in training_record.WALL.equations}
    eqs = [mine[s.job_duration], mine[s.nodes]]
    names = ["sustainability"]
    if goodput_from in ("fragility", "checkpoint"):
        names.append("fragility")
    if goodput_from == "checkpoint":
        names.append("checkpoint")
        if daly:
            eqs.append(operations.DALY_INTERVAL)
    eqs.extend(operations.GOODPUT[goodput_from])
    keys = [w.key for w in walls]
    if "capital" in keys:
        names.append("capital")
    ws = [walls[n] for n in names if n in keys]
    return System(eqs + [eq for w in ws for eq in w.equations], walls=ws, name="training ops")


@lru_cache(maxsize=None)
def ops_kernel(goodput_from: str, daly: bool, name: str):
    """``name`` of :func:`ops_system` compiled (once)."""
    return ops_system(goodput_from, daly).compile((name,))


def ops_quantity(name, context, run, assumptions):
    """Output ``name`` of the operations walls for a run.

    ``context`` is :func:`ops_context`'s dict; ``run`` the run's base magnitudes
    (``time_to_train``, ``devices``, ``devices_per_node``, ``parameters``); ``assumptions``
    the result's list (the no-failure-model note is added to it when it applies)."""
    values = dict(context["values"])
    goodput_from, daly = goodput_model(set(values))
    system = ops_system(goodput_from, daly)
    if goodput_from == "none":
        values["training_goodput"] = 1.0
        if _NO_FAILURES not in assumptions:
            assumptions.append(_NO_FAILURES)
        if name == "training_goodput":
            return Q_(1.0, "")
    if name not in {o.name for o in system.outputs}:
        raise AttributeError(f"{name} is not available: its wall is not composed here (give "
                             "its inputs in ops=...; failures need device_mtbf, "
                             "node_component_mtbf and recovery_time)")
    if goodput_from == "checkpoint":
        values.setdefault("bytes_per_parameter_checkpoint", context["checkpoint_bytes_per_param"])
    values["time_to_train"] = Q_(run["time_to_train"] / base_factor("h"), "h")
    values["devices"] = run["devices"]
    values["devices_per_node"] = run["devices_per_node"]
    values["parameters"] = Q_(run["parameters"] / base_factor("param"), "param")
    k = ops_kernel(goodput_from, daly, name)
    missing = [n for n in k.input_names if n not in values]
    if missing:
        raise ValueError(f"{name} needs {', '.join(missing)}: pass them in "
                         f"train(..., ops={{{', '.join(repr(x) + ': ...' for x in missing)}}})")
    return k.evaluate(**{n: values[n] for n in k.input_names}).quantity(name)
