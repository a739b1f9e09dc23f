"""Task-level facade: ``train`` a model on a cluster (the training-step workload composed with
walls 1, 2, 3 and 14; walls 15, 17, 18, 19 on demand for failures, energy, carbon, water, cost).

The composed system is compiled once per mode (full training or LoRA); a call converts the
registry objects and knobs to base-unit magnitudes, runs the kernel (numpy arrays broadcast, so a
parallelism search is one call) and returns a :class:`TrainResult` whose attributes are pint
quantities created lazily.

Assumptions the facade makes (each also listed in ``TrainResult.assumptions`` when used):

- A hardware name with ``devices=N`` means standard nodes of that chip: the registry's node for
  it (DGX before HGX), with that node's scale-up and scale-out fabrics; a chip with no registry
  node gets 8 per node and its own ``links`` entries (an error if it has none).
- Each device drives ``nics_per_node / accelerators_per_node`` of one scale-out port (rails).
- Megatron rank order tp-cp-dp-pp; ZeRO shards over the d x c data-parallel ranks.
- Mixed precision (bf16/fp16/fp8 compute): 2-byte weights and gradients, 12 bytes of Adam state
  (fp32 master + two moments; ZeRO Sec. 3.1); fp32/tf32: 4 + 4 + 8. Activations and their
  messages are 16-bit (32-bit for fp32).
- FlashAttention by default (no s^2 attention activations); ``flash_attention=False`` gives
  Korthikanti's eager attention.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ... import checks, registry
from ...defaults import default, variant_name
from ...display import ResultDisplay
from .._core.knobs import fraction as _fraction
from ...equations import walls
from ...equations import training as _tr
from ...symbols import info
from ...system import System
from ...analysis.iron_law import IronLaw
from ...analysis.iron_law import iron_law as _iron_law
from ... import vocabulary
from ...feasibility import memory_reason
from ...vocabulary import MIXED_PRECISIONS, NATIVE_16BIT, PRECISION_BITS, TRAINING_PRECISIONS
from ...units import Q_, base_factor

__all__ = ["train", "TrainResult", "training_system", "iron_law", "IronLaw"]

_MIXED = MIXED_PRECISIONS
_RECOMPUTE = {"none": (0.0, 0.0), "selective": (0.0, 1.0), "full": (1.0, 1.0)}

_MODEL_IN = ("parameters", "active_parameters", "expert_parameters", "layers", "heads",
             "kv_heads", "head_dim", "hidden", "vocabulary", "moe_layers", "experts_per_token")
_HW_IN = ("peak_flops", "memory_bandwidth", "memory_capacity", "scale_up_bandwidth",
          "scale_up_latency", "link_bandwidth", "link_latency", "devices_per_node")
_PREC_IN = ("bytes_per_parameter", "gradient_bytes_per_parameter",
            "optimizer_bytes_per_parameter", "activation_bytes_per_element",
            "logits_bytes_per_element", "framework_workspace")
#: bytes per logit at the loss's peak: Megatron-Core's in-place vocab-parallel cross-entropy
#: (16-bit logits + fp32 copy), PyTorch cross_entropy on an fp32 upcast (torchtitan)
_LOSS_BYTES = {"fused": 6.0, "unfused": 12.0}
_EFF_IN = ("compute_efficiency", "memory_efficiency", "communication_efficiency",
           "scale_out_efficiency", "attention_efficiency", "elementwise_traffic_factor", "training_step_overhead",
           "layer_pass_overhead", "attention_peak_flops", "dp_overlap",
           "model_parallel_overlap")
#: efficiency keys a user may set: short name -> (symbol, allowed range, unit or None)
EFFICIENCY_KEYS = {
    "compute": ("compute_efficiency", (0.0, 1.0), None),
    "memory": ("memory_efficiency", (0.0, 1.0), None),
    "communication": ("communication_efficiency", (0.0, 1.0), None),
    "scale_out": ("scale_out_efficiency", (0.0, 1.0), None),
    "attention": ("attention_efficiency", (0.0, 1.0), None),
    "elementwise": ("elementwise_traffic_factor", (0.0, 100.0), None),
    "step_overhead": ("training_step_overhead", (0.0, 1e6), "ms"),
    "layer_overhead": ("layer_pass_overhead", (0.0, 1e5), "us"),
}
_KNOB_IN = ("tensor_parallel", "pipeline_parallel", "data_parallel", "context_parallel",
            "expert_parallel", "pipeline_interleave", "micro_batch", "global_batch",
            "sequence_length", "recomputed_dense_fraction", "recomputed_attention_fraction",
            "sequence_parallel", "attention_scores_stored", "dropout_masks_stored",
            "parameter_shard_factor",
            "gradient_shard_factor", "optimizer_shard_factor", "parameter_gather_passes",
            "gradient_reduce_passes", "head_stage_imbalance",
            "training_tokens")
_TRAINABLE_IN = {"full": ("trainable_parameters",), "lora": ("lora_rank", "lora_adapted_width")}

_OUTPUTS = ("training_step_time", "step_compute_time", "attention_compute_time",
            "elementwise_time", "tp_comm_time", "pp_comm_time",
            "cp_comm_time", "ep_comm_time", "pipeline_bubble_time", "pipeline_bubble_fraction",
            "dp_comm_time", "dp_exposed_time", "optimizer_step_time", "scaling_efficiency",
            "model_flops_utilization", "hardware_flops_utilization", "training_throughput",
            "time_to_train", "micro_batches", "model_flops_per_token", "hardware_flops_per_token",
            "weight_memory", "gradient_memory", "optimizer_memory", "activation_memory",
            "logits_memory", "last_stage_activation_memory", "recompute_working_memory",
            "parameter_gather_memory", "training_memory", "training_memory_utilization",
            "trainable_parameters", "devices",
            "training_step_flops", "training_step_bytes")

# step-time terms -> the wall each belongs to (bottleneck = the largest group)
_TERMS = (("compute", "step_compute_time", "Compute"),
          ("optimizer", "optimizer_step_time", "Memory"),
          ("tp_communication", "tp_comm_time", "Communication"),
          ("pp_communication", "pp_comm_time", "Communication"),
          ("cp_communication", "cp_comm_time", "Communication"),
          ("ep_communication", "ep_comm_time", "Communication"),
          ("dp_communication", "dp_exposed_time", "Communication"),
          ("pp_bubble", "pipeline_bubble_time", "Pipeline"),
          ("step_overhead", "training_step_overhead", "Software"))
_GROUPS = ("Compute", "Memory", "Communication", "Pipeline", "Software")
#: parts of the compute term, reported by breakdown() (they sum into "compute" with the GEMMs)
_COMPUTE_PARTS = (("compute_attention", "attention_compute_time"),
                  ("compute_memory_bound", "elementwise_time"))


# ---------------------------------------------------------------------------------------------
# The composed system
# ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=2)
def training_system(mode: str = "full") -> System:
    """Walls 1-3 and 14 composed by the training-step record (``mode``: "full" or "lora")."""
    return System(_tr.equations(mode), _tr.WALL.constraints, walls=(walls.software, _tr.WALL),
                  name=f"training ({mode})")


def iron_law(system: System | None = None) -> IronLaw:
    """The Iron Law of training for ``system`` (default: the full-training system)."""
    return _iron_law(system or training_system("full"))


def _inputs(mode):
    return _MODEL_IN + _TRAINABLE_IN[mode] + _HW_IN + _PREC_IN + _EFF_IN + _KNOB_IN


@lru_cache(maxsize=2)
def _kernel(mode):
    return training_system(mode).compile(_OUTPUTS, _inputs(mode))


def _b(name, value) -> float:
    return checks.magnitude(name, value)


def _bm(name, value):
    """Base magnitude of a number (or array) in the symbol's declared unit."""
    return np.asarray(value, dtype=float) * base_factor(info(name).unit) \
        if isinstance(value, np.ndarray) else float(value) * base_factor(info(name).unit)


# ---------------------------------------------------------------------------------------------
# Resolving the model and the machine
# ---------------------------------------------------------------------------------------------
def _model_values(m) -> dict:
    head_dim, kv_heads = getattr(m, "head_dim", None), getattr(m, "kv_heads", None)
    mla = getattr(m, "mla", None)
    if mla is not None and m.heads:
        # multi-head latent attention trains with per-head queries and keys of
        # qk_nope + qk_rope dims and values of v dims: Q K^T and A V cost 2 H (d_qk + d_v) per
        # query-key pair, i.e. 4 H d with d = (d_qk + d_v) / 2; K and V are materialised per
        # head (DeepSeek-V2 Sec. 2.1), so kv_heads = heads for the training step.
        head_dim = (mla.qk_nope_head_dim + mla.qk_rope_head_dim + mla.v_head_dim) / 2
        kv_heads = m.heads
    missing = [k for k, v in (("layers", m.layers), ("heads", m.heads), ("hidden", m.hidden),
                              ("head_dim", head_dim), ("kv_heads", kv_heads), ("vocab", m.vocab))
               if v in (None, 0)]
    if missing or m.parameters is None:
        raise ValueError(f"model {m.name!r} lacks {', '.join(missing) or 'a parameter count'}: "
                         "train() needs a decoder transformer architecture")
    experts = 0
    if getattr(m, "family", None) == "moe":
        experts = m.parameter_breakdown().get("experts", 0)
    return {"parameters": m.parameters, "active_parameters": m.active_parameters,
            "expert_parameters": Q_(experts, "param"), "layers": m.layers, "heads": m.heads,
            "kv_heads": kv_heads, "head_dim": head_dim, "hidden": m.hidden,
            "vocabulary": m.vocab, "moe_layers": m.moe_layers or 0,
            "experts_per_token": m.experts_per_token or 0}


def _lora_width(m, targets) -> float:
    """sum over adapted matrices of (d_in + d_out), all layers (Hu et al. Sec. 4.1)."""
    h, q, kv = m.hidden, m.heads * m.head_dim, m.kv_heads * m.head_dim
    f = m.ffn or 4 * h
    dims = {"q": h + q, "k": h + kv, "v": h + kv, "o": q + h, "up": h + f, "gate": h + f,
            "down": f + h}
    bad = [x for x in targets if x not in dims]
    if bad:
        raise ValueError(f"unknown LoRA targets {bad}; choose from {', '.join(dims)}")
    if "gate" in targets and not m.ffn_gated:
        raise ValueError(f"model {m.name!r} has no gated FFN: LoRA target 'gate' does not exist")
    return float(m.layers * sum(dims[x] for x in targets))


def _node_for_chip(hw):
    nodes = [n for n in registry.list_nodes() if n.accelerator.name == hw.name]
    nodes.sort(key=lambda n: (not n.name.startswith("dgx"), n.name))
    return nodes[0] if nodes else None


def _fabric(fab, hw_bw, hw_lat, what, notes):
    bw = fab.link_bandwidth if fab is not None else hw_bw
    lat = fab.latency if fab is not None else hw_lat
    if bw is None:
        return None, None
    if lat is None:
        notes.append(f"{what} latency unknown: 0 assumed (bandwidth term only)")
        lat = Q_(0.0, "us")
    return bw, lat


def _machine(cluster, devices, notes):
    """(hardware, node, machine values, devices, datacenter) of a cluster or a chip name."""
    obj, kind = cluster, None
    if isinstance(cluster, registry.Cluster):
        kind = "cluster"
    elif isinstance(cluster, registry.Hardware):
        kind = "hardware"
    elif isinstance(cluster, str):
        for kind, get in (("cluster", registry.cluster), ("hardware", registry.hardware)):
            try:
                obj = get(cluster)
                break
            except LookupError:
                obj = None
        if obj is None:
            raise ValueError(f"{cluster!r} is neither a registry cluster nor an accelerator "
                             "(see registry.list_clusters() and registry.list_hardware())")
    else:
        raise ValueError(f"cluster must be a registry name, Cluster or Hardware, got {cluster!r}")
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
        node = _node_for_chip(hw)
        fab = node.scale_out_fabric if node is not None else None
        where = f"registry nodes {node.name}" if node else "nodes"
        notes.append(f"{devices} x {hw.name} in {where} of "
                     f"{node.accelerators_per_node if node else 8} accelerators"
                     + (f", scale-out over {fab.name}" if fab else ""))
    g = node.accelerators_per_node if node is not None else 8
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
              "link_bandwidth": out_bw, "link_latency": out_lat, "devices_per_node": g}
    values["published_efficiency"] = published_link_efficiencies(hw, node, up, fab)
    return hw, node, values, int(devices), dc


def published_link_efficiencies(hw, node=None, up=None, out=None) -> dict:
    """{efficiency key: value} of the links whose fabric publishes a large-message collective
    bus-bandwidth fraction (registry ``collective_efficiency``, e.g. NCCL on NVLink 4 /
    NVSwitch): ``communication`` for the scale-up fabric, ``scale_out`` for the NIC fabric.
    Those links use the published value instead of the calibrated fallback."""
    if node is None and up is None and out is None:
        node = _node_for_chip(hw)
    if node is not None:
        up = up if up is not None else node.scale_up_fabric
        out = out if out is not None else node.scale_out_fabric
    found = {}
    for key, fab in (("communication", up), ("scale_out", out)):
        eff = getattr(fab, "collective_efficiency", None) if fab is not None else None
        if eff is not None:
            found[key] = float(eff.to("").magnitude)
    return found


# ---------------------------------------------------------------------------------------------
# Knob validation (scalars or numpy arrays)
# ---------------------------------------------------------------------------------------------
def _ints(name, value, low=1):
    return checks.number(name, value, low=low, integer=True)


def _first_bad(mask, *arrays):
    """Values of ``arrays`` at the first point where ``mask`` holds, and where that is."""
    shape = np.broadcast(mask, *arrays).shape
    idx = tuple(int(i) for i in np.argwhere(np.broadcast_to(mask, shape))[0]) if shape else ()
    return ([float(np.broadcast_to(a, shape)[idx]) for a in arrays],
            f" (at index {idx})" if idx else "")


def _divisors(n):
    """Divisors of n, ascending (O(sqrt n): n may be a user's device count or batch)."""
    n = int(n)
    low = [k for k in range(1, math.isqrt(n) + 1) if n % k == 0]
    return sorted(set(low + [n // k for k in low]))


def _layout(devices, tp, pp, dp, cp, ep, g, heads, allow_cross_node_tp, moe):
    if np.any(np.asarray(tp) > g) and not allow_cross_node_tp:
        (t,), where = _first_bad(np.asarray(tp) > g, tp)
        raise ValueError(f"tp={int(t)}{where} crosses the node boundary: a node has {g} "
                         "accelerators on its scale-up fabric, so the tensor-parallel all-reduces "
                         f"would run over the scale-out network; use tp <= {g} or pass "
                         "allow_cross_node_tp=True to model it anyway")
    bad = np.mod(heads, tp) != 0
    if np.any(bad):
        (t,), where = _first_bad(bad, tp)
        raise ValueError(f"tp={int(t)}{where} does not divide the {heads} attention heads "
                         f"(Megatron splits heads over TP ranks); valid tp: "
                         f"{[k for k in _divisors(heads) if k <= g]}")
    model_par = tp * pp * cp
    if dp is None:
        dp = devices / model_par
        bad = dp != np.floor(dp)
        if np.any(bad):
            (t, p_), where = _first_bad(bad, tp, pp)
            raise ValueError(f"tp x pp x cp = {int(t)} x {int(p_)} x {int(cp)} = "
                             f"{int(t * p_ * cp)}{where} does not divide the {devices} devices, so "
                             f"dp = {devices / (t * p_ * cp):.4g} is not whole; tp x pp x cp must "
                             f"divide {devices}: one of {_divisors(devices)}")
    else:
        dp = _ints("dp", dp)
        bad = model_par * dp != devices
        if np.any(bad):
            (t, p_, d_), where = _first_bad(bad, tp, pp, dp)
            prod = int(t * p_ * d_ * cp)
            hint = (f"use dp = {int(devices // (t * p_ * cp))}" if devices % (t * p_ * cp) == 0
                    else f"tp x pp x cp = {int(t * p_ * cp)} does not divide {devices}")
            raise ValueError(f"tp x pp x dp x cp = {int(t)} x {int(p_)} x {int(d_)} x {int(cp)} "
                             f"= {prod}{where}, but the job has {devices} devices; {hint}")
    if moe:
        bad = np.mod(dp * cp, ep) != 0
        if np.any(bad):
            (d_,), where = _first_bad(bad, dp)
            raise ValueError(f"ep={int(ep)} does not divide dp x cp = {int(d_ * cp)}{where}: "
                             "expert-parallel ranks are carved from the data-parallel ranks")
    elif ep != 1:
        raise ValueError(f"ep={int(ep)} needs a mixture-of-experts model")
    return dp


# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------
def _q(value_base, unit):
    v = np.asarray(value_base, dtype=float) if isinstance(value_base, np.ndarray) else value_base
    return Q_(v / base_factor(unit), unit)


class TrainResult(ResultDisplay):
    """Result of :func:`train`: pint quantities (arrays when a knob was an array).

    A configuration that does not fit in memory is an answer, not a NaN: ``feasible`` is False,
    ``reason`` says what does not fit and by how much, and the step times (``step_time``,
    ``mfu``, ``hfu``, ``tokens_per_s``, ``time_to_train``) are what the step would take if the
    memory were there (``bottleneck`` is "Memory" and ``binding_term`` "memory_capacity").
    """

    def __init__(self, ev, model, hardware, precision, inputs, config, assumptions, ops_context):
        self._ev, self.model, self.hardware, self.precision = ev, model, hardware, precision
        self._inputs, self.config, self.assumptions = inputs, config, assumptions
        self._ops_context, self._cache = ops_context, {}
        self.bands = None  # {output: Band} with train(..., uncertainty=True)

    # ---- raw access -------------------------------------------------------------------------
    def _raw(self, name):
        if name in self._inputs and name not in self._ev_outputs():
            return np.asarray(self._inputs[name], dtype=float) + 0.0 * np.asarray(
                self._ev.value("training_step_time"))
        return self._ev.value(name)

    def _ev_outputs(self):
        return _OUTPUTS

    def _quantity(self, name):
        if name not in self._cache:
            self._cache[name] = _q(self._raw(name), info(name).unit)
        return self._cache[name]

    def _fits(self):
        return np.asarray(self._raw("training_memory_utilization")) <= 1.0

    # ---- headline results -------------------------------------------------------------------
    @property
    def feasible(self):
        f = self._fits()
        return bool(f) if f.ndim == 0 else f

    @property
    def reason(self):
        """One line: what does not fit and by how much, or how much of the memory a fitting plan
        uses (an array of lines when a knob was an array)."""
        parts = {label: self._quantity(sym) for label, sym in (
            ("weights", "weight_memory"), ("gradients", "gradient_memory"),
            ("optimizer", "optimizer_memory"), ("activations (first stage)", "activation_memory"),
            ("or last stage with logits", "last_stage_activation_memory"),
            ("recomputed layer", "recompute_working_memory"),
            ("gathered layers", "parameter_gather_memory"),
            ("workspace", "framework_workspace"))}
        return memory_reason(self.memory_per_device, self.memory_capacity, "GB", parts,
                             per=" per device")

    step_time = property(lambda self: self._quantity("training_step_time").to("s"),
                         doc="time of one optimizer step (what it would be where it does not "
                             "fit: see ``feasible`` and ``reason``)")
    mfu = property(lambda self: self._quantity("model_flops_utilization"),
                   doc="model FLOPs utilisation (PaLM App. B)")
    hfu = property(lambda self: self._quantity("hardware_flops_utilization"),
                   doc="hardware FLOPs utilisation (recomputation counted)")
    tokens_per_s = property(lambda self: self._quantity("training_throughput"))
    memory_per_device = property(lambda self: self._quantity("training_memory"))
    memory_utilization = property(lambda self: self._quantity("training_memory_utilization"))
    memory_capacity = property(lambda self: _q(self._inputs["memory_capacity"], "GB"))

    @property
    def time_to_train(self):
        if self.config["tokens"] is None:
            raise AttributeError("time_to_train needs tokens=...: train(..., tokens='2e12 token')")
        return self._quantity("time_to_train").to("day")

    # ---- breakdown --------------------------------------------------------------------------
    compute_time = property(lambda self: self._quantity("step_compute_time"))
    tp_comm_time = property(lambda self: self._quantity("tp_comm_time"))
    pp_comm_time = property(lambda self: self._quantity("pp_comm_time"))
    cp_comm_time = property(lambda self: self._quantity("cp_comm_time"))
    ep_comm_time = property(lambda self: self._quantity("ep_comm_time"))
    pp_bubble_fraction = property(lambda self: self._quantity("pipeline_bubble_fraction"))
    pp_bubble_time = property(lambda self: self._quantity("pipeline_bubble_time"))
    dp_comm_time = property(lambda self: self._quantity("dp_comm_time"),
                            doc="data-parallel communication per step (before overlap)")
    dp_exposed_time = property(lambda self: self._quantity("dp_exposed_time"))
    optimizer_time = property(lambda self: self._quantity("optimizer_step_time"))
    scaling_efficiency = property(lambda self: self._quantity("scaling_efficiency"))
    micro_batches = property(lambda self: self._quantity("micro_batches"))
    model_flops_per_token = property(lambda self: self._quantity("model_flops_per_token"))
    hardware_flops_per_token = property(lambda self: self._quantity("hardware_flops_per_token"))
    weight_bytes = property(lambda self: self._quantity("weight_memory"))
    gradient_bytes = property(lambda self: self._quantity("gradient_memory"))
    optimizer_bytes = property(lambda self: self._quantity("optimizer_memory"))
    activation_bytes = property(lambda self: self._quantity("activation_memory"))
    logits_bytes = property(lambda self: self._quantity("logits_memory"),
                            doc="logits and loss buffers of one micro-batch (last stage)")
    trainable_parameters = property(lambda self: self._quantity("trainable_parameters"))
    step_flops = property(lambda self: self._quantity("training_step_flops"),
                          doc="hardware FLOPs one device runs per step")
    step_bytes = property(lambda self: self._quantity("training_step_bytes"),
                          doc="DRAM bytes one device moves per step at the memory roof")

    def breakdown(self, unchecked: bool = True) -> dict:
        """Step-time terms (seconds) and memory terms (GB). Times are always what the step
        would take (``unchecked`` is kept for compatibility; see ``feasible``/``reason``)."""
        out = {name: self._quantity(sym) for name, sym, _ in _TERMS}
        for name, sym in _COMPUTE_PARTS:
            out[name] = self._quantity(sym)
        out["step_time"] = self._quantity("training_step_time")
        for k in ("weight_memory", "gradient_memory", "optimizer_memory", "activation_memory",
                  "logits_memory", "last_stage_activation_memory", "recompute_working_memory",
                  "parameter_gather_memory", "framework_workspace", "training_memory"):
            out[k] = self._quantity(k)
        return out

    def _terms(self):
        vals = [np.asarray(self._raw(sym), dtype=float) for _, sym, _ in _TERMS]
        return np.stack(np.broadcast_arrays(*vals))

    @property
    def binding_term(self):
        """Largest step-time term (compute, tp_communication, pp_bubble, dp_communication, ...),
        or memory_capacity where the configuration does not fit."""
        names = np.asarray([n for n, _, _ in _TERMS], dtype=object)[np.argmax(self._terms(), 0)]
        return self._pick(names, "memory_capacity")

    @property
    def bottleneck(self):
        """Wall whose terms take the most of the step: Compute, Communication, Pipeline (bubble)
        or Memory (optimizer update; or the configuration does not fit)."""
        terms = self._terms()
        groups = np.stack([sum(terms[i] for i, (_, _, w) in enumerate(_TERMS) if w == grp)
                           for grp in _GROUPS])
        names = np.asarray(_GROUPS, dtype=object)[np.argmax(groups, 0)]
        return self._pick(names, "Memory")

    def _pick(self, names, infeasible):
        fits = self._fits()
        names, fits = np.broadcast_arrays(names, fits)
        out = np.where(fits, names, infeasible)
        return str(out) if out.ndim == 0 else out

    # ---- walls 15, 17, 18, 19 (on demand) ---------------------------------------------------
    def _ops(self, name):
        key = ("ops", name)
        if key not in self._cache:
            self._cache[key] = _ops_evaluate(self, name)
        return self._cache[key]

    expected_failures = property(lambda self: self._ops("expected_failures"),
                                 doc="failures expected during the run (wall 15; needs ops "
                                     "device_mtbf, node_component_mtbf, recovery_time)")
    goodput = property(lambda self: self._ops("training_goodput"),
                       doc="fraction of wall time training (wall 15, or wall 19 with checkpoints)")
    wall_clock_time = property(lambda self: self._ops("job_duration").to("day"))
    energy = property(lambda self: self._ops("facility_energy"), doc="facility energy (wall 18)")
    carbon = property(lambda self: self._ops("operational_carbon"),
                      doc="operational emissions (wall 18)")
    total_carbon = property(lambda self: self._ops("total_carbon"),
                            doc="operational + embodied emissions (wall 18; needs embodied inputs)")
    water = property(lambda self: self._ops("water_consumption"), doc="site water (wall 18)")
    cost = property(lambda self: self._ops("cloud_cost"),
                    doc="rental cost of the run (wall 17; needs ops cloud_price)")

    # ---- reporting --------------------------------------------------------------------------
    def inputs(self) -> dict:
        """The inputs used, as quantities in each symbol's declared unit."""
        return {k: _q(v, info(k).unit) for k, v in self._inputs.items()}

    @property
    def system(self):
        return training_system(self.config["mode"])

    def iron_law(self):
        return iron_law(self.system)

    def to_dict(self) -> dict:
        def enc(q):
            m = q.magnitude
            return {"value": m.tolist() if isinstance(m, np.ndarray) else float(m),
                    "unit": f"{q.units:~P}"}
        d = {k: enc(v) for k, v in self.breakdown(unchecked=True).items()}
        for k in ("mfu", "hfu", "tokens_per_s", "memory_per_device", "memory_capacity"):
            d[k] = enc(getattr(self, k))
        for k in ("feasible", "bottleneck", "binding_term", "reason"):
            val = getattr(self, k)
            d[k] = val.tolist() if isinstance(val, np.ndarray) else val
        d["model"], d["hardware"] = self.model.name, self.hardware.name
        d["precision"] = self.precision
        d["assumptions"] = list(self.assumptions)
        if self.config["tokens"] is not None:
            d["time_to_train"] = enc(self.time_to_train)
        if self.bands:
            d["bands"] = {k: band.to_dict() for k, band in self.bands.items()}
        return d

    @classmethod
    def json_schema(cls) -> dict:
        """JSON Schema (draft 2020-12) of :meth:`to_dict`'s output (the step breakdown's
        terms are further quantities)."""
        from .export import result_schema
        return result_schema("TrainResult", ("mfu", "hfu", "tokens_per_s", "memory_per_device",
                                             "memory_capacity"),
                             labels=("bottleneck", "binding_term", "reason"), flags=("feasible",),
                             strings=("model", "hardware", "precision"), lists=("assumptions",))

    def __repr__(self):
        if np.ndim(self._raw("training_step_time")):
            return f"TrainResult({self.model.name} on {self.hardware.name}, vectorised)"
        if not self.feasible:
            return f"TrainResult({self.model.name} on {self.hardware.name}: {self.reason})"
        return (f"TrainResult({self.model.name} on {self.hardware.name}: step "
                f"{self.step_time:.4g~P}, MFU {float(self.mfu.magnitude):.3f}, "
                f"{self.tokens_per_s:.4g~P}, "
                f"{self.memory_per_device:.4g~P}/device, bottleneck {self.bottleneck} "
                f"({self.binding_term}))")


# ---------------------------------------------------------------------------------------------
# Walls 15, 17, 18, 19 composed on the run's time to train
# ---------------------------------------------------------------------------------------------
_OPS_KEYS = ("device_mtbf", "node_component_mtbf", "recovery_time", "storage_write_bandwidth",
             "checkpoint_interval", "device_peak_power", "device_idle_power",
             "device_utilization", "pue", "carbon_intensity", "wue", "embodied_carbon_per_device",
             "service_life", "lifetime_utilization", "cloud_price", "electricity_price")


def _ops_system(goodput_from, daly):
    from ...equations.base import Equation
    from ... import symbols as s
    mine = {eq.lhs: eq for eq in _tr.WALL.equations}
    eqs = [mine[s.job_duration], mine[s.nodes]]
    names = ["sustainability"]
    if goodput_from in ("fragility", "checkpoint"):
        names.append("fragility")
    if goodput_from == "checkpoint":
        names.append("checkpoint")
        glue = s.checkpoint_goodput
        if daly:
            eqs.append(Equation(s.checkpoint_interval, s.daly_checkpoint_interval,
                                cite="daly2006checkpoint", locator="eq. (37): optimum interval"))
    elif goodput_from == "fragility":
        glue = s.failure_goodput
    if goodput_from != "none":
        eqs.append(Equation(s.training_goodput, glue, cite="trivedi2016reliability",
                            locator="goodput of the run = the failure wall's goodput"))
    if "capital" in [w.key for w in walls]:
        names.append("capital")
    ws = [walls[n] for n in names if n in [w.key for w in walls]]
    return System(eqs + [eq for w in ws for eq in w.equations], walls=ws, name="training ops")


def _ops_evaluate(res, name):
    ctx = dict(res._ops_context)
    if res.config["tokens"] is None:
        raise AttributeError(f"{name} needs the run's length: train(..., tokens='2e12 token')")
    values = dict(ctx["values"])
    has = set(values)
    goodput_from = ("checkpoint" if {"device_mtbf", "node_component_mtbf", "recovery_time",
                                      "storage_write_bandwidth"} <= has
                    else "fragility" if {"device_mtbf", "node_component_mtbf",
                                         "recovery_time"} <= has else "none")
    daly = goodput_from == "checkpoint" and "checkpoint_interval" not in has
    system = _ops_system(goodput_from, daly)
    if goodput_from == "none":
        values["training_goodput"] = 1.0
        note = ("no failure model (ops device_mtbf, node_component_mtbf, recovery_time not "
                "given): goodput 1")
        if note not in res.assumptions:
            res.assumptions.append(note)
        if name == "training_goodput":
            return Q_(1.0, "")
    if name not in [o.name for o in system.outputs]:
        raise AttributeError(f"{name} is not available: its wall is not composed here (give "
                             "its inputs in ops=...; failures need device_mtbf, "
                             "node_component_mtbf and recovery_time)")
    if goodput_from == "checkpoint":
        values.setdefault("bytes_per_parameter_checkpoint", ctx["checkpoint_bytes_per_param"])
    values["time_to_train"] = _q(res._raw("time_to_train"), "h")
    values["devices"] = res._raw("devices")
    values["devices_per_node"] = res._inputs["devices_per_node"]
    values["parameters"] = _q(res._inputs["parameters"], "param")
    k = system.compile((name,))
    missing = [n for n in k.input_names if n not in values]
    if missing:
        raise ValueError(f"{name} needs {', '.join(missing)}: pass them in "
                         f"train(..., ops={{{', '.join(repr(x) + ': ...' for x in missing)}}})")
    ev = k.evaluate(**{n: values[n] for n in k.input_names})
    return ev.quantity(name)


# ---------------------------------------------------------------------------------------------
# The facade
# ---------------------------------------------------------------------------------------------
def attention_variant(flash_attention=True, attention_kernel=None):
    """The attention-efficiency variant of a training configuration: ``"eager"`` (unfused),
    ``"fa2"`` (FlashAttention-2) or None (the generation's fused kernel); a clear error for
    an unknown or contradictory choice."""
    if attention_kernel is not None and attention_kernel not in ("fused", "fa2", "eager"):
        raise ValueError(f"attention_kernel must be 'fused', 'fa2' or 'eager', got "
                         f"{attention_kernel!r}")
    if attention_kernel == "eager":
        return "eager"
    if not flash_attention:
        if attention_kernel is not None:
            raise ValueError(f"attention_kernel={attention_kernel!r} is a FlashAttention-class "
                             "kernel: it contradicts flash_attention=False")
        return "eager"
    return "fa2" if attention_kernel == "fa2" else None


def efficiency_default(symbol: str, hardware=None, precision=None, attention_kernel=None):
    """Default of an efficiency symbol for a chip, precision and attention kernel (the most
    specific variant recorded)."""
    return default(variant_name(symbol, hardware, precision, attention_kernel=attention_kernel))


@lru_cache(maxsize=64)
def _default_efficiencies(arch, precision, kernel=None) -> tuple:
    """(symbol, base magnitude) of every efficiency default for a generation and precision
    (and attention kernel: ``eager`` when the attention core is not fused, ``fa2``)."""
    class _Chip:  # variant_name only reads the architecture
        architecture = arch
    return tuple((sym, _b(sym, efficiency_default(sym, _Chip, precision, kernel)))
                 for sym, _r, _u in EFFICIENCY_KEYS.values())


def _efficiencies(efficiency, overlap, hardware=None, precision=None, kernel=None):
    """Base magnitudes of the efficiency inputs: defaults, overridden by ``efficiency``."""
    values = dict(_default_efficiencies(getattr(hardware, "architecture", None), precision,
                                        kernel))
    if isinstance(efficiency, dict):
        by_symbol = {sym: key for key, (sym, _r, _u) in EFFICIENCY_KEYS.items()}
        unknown = [k for k in efficiency if k not in EFFICIENCY_KEYS and k not in by_symbol]
        if unknown:
            raise ValueError(f"unknown efficiency keys {sorted(unknown)}; allowed: "
                             f"{', '.join(EFFICIENCY_KEYS)}")
        for key, v in efficiency.items():
            key = by_symbol.get(key, key)
            sym, (lo, hi), unit = EFFICIENCY_KEYS[key]
            open_low = key != "elementwise" and unit is None
            if unit is not None:
                values[sym] = checks.quantity(f"{key} efficiency", v, unit, low=lo, high=hi,
                                              low_open=open_low)
            else:
                values[sym] = checks.number(f"{key} efficiency", v, low=lo, high=hi,
                                            low_open=open_low)
    elif efficiency is not None:
        values["compute_efficiency"] = checks.fraction("compute efficiency", efficiency)
    values["dp_overlap"] = _fraction("overlap", overlap)
    return values


def _attention_peak(hw, precision):
    """Peak of the precision the attention core runs in: 16-bit when the GEMMs run narrower."""
    if precision in _MIXED and precision not in NATIVE_16BIT:
        for p16 in NATIVE_16BIT:
            try:
                return hw.peak_flops(p16)
            except registry.PrecisionError:
                continue
    return hw.peak_flops(precision)


def train(model, cluster, *, devices=None, tp=1, pp=1, dp=None, cp=1, ep=1, micro_batch=1,
          global_batch, seq_len=2048, precision="bf16", recompute="none", zero_stage=0,
          sequence_parallel=False, interleave=1, overlap=1.0, tokens=None, datacenter=None,
          efficiency=None, flash_attention=True, model_parallel_overlap=None, lora_rank=None,
          lora_targets=("q", "v"), attention_kernel=None, even_layer_split=False,
          allow_cross_node_tp=False, ops=None, uncertainty=False, loss="fused",
          workspace=None, dropout=False) -> TrainResult:
    """Predict step time, MFU/HFU, throughput and per-device memory of one training step.

    Parameters
    ----------
    model : str or Model
        Registry name or a Model (e.g. ``Model.from_hf_config(path)``).
    cluster : str, Cluster or Hardware
        A registry cluster, or an accelerator with ``devices=N`` (standard nodes of that chip).
    devices : int, optional
        Accelerators used (default: the whole cluster).
    tp, pp, dp, cp, ep : int or array of int
        Tensor, pipeline, data, context and expert parallel degrees; ``dp`` defaults to
        devices / (tp pp cp). Arrays broadcast (tp, pp, dp).
    micro_batch, global_batch : int or array of int
        Sequences per micro-batch and per optimizer step.
    seq_len : int or array of int
        Tokens per sequence.
    precision : str
        Compute precision (peak FLOP/s); storage follows mixed-precision Adam.
    recompute : {"none", "selective", "full"} or float
        Activation recomputation; a float in [0, 1] is the fraction of layers fully recomputed.
    zero_stage : {0, 1, 2, 3}
        ZeRO / distributed-optimizer sharding over the data-parallel ranks. Stages 0-1 reduce
        the accumulated gradients once per step; 2-3 keep only a gradient shard, so every
        micro-batch reduce-scatters, and 3 also gathers the weights for every micro-batch's
        forward and backward (PyTorch FSDP without ``no_sync``, DeepSpeed ZeRO-3).
    sequence_parallel, flash_attention : bool
    attention_kernel : {None, "fused", "fa2", "eager"}
        Which attention kernel's efficiency applies: the generation's fused kernel (default),
        FlashAttention-2 (its published utilization: ``attention_efficiency[<gen>-fa2]``) or
        unfused "eager" attention (same as ``flash_attention=False``).
    interleave : int
        Model chunks per pipeline stage (interleaved 1F1B).
    even_layer_split : bool
        Every pipeline stage gets L/pp layers and the last one also runs the LM head, so the
        whole pipeline waits for it (Megatron-LM's split unless
        ``--account-for-loss-in-pipeline-split``; Megatron-DeepSpeed's "type:transformer"
        partition). Default False: the split balances the stages (Llama 3's one layer fewer on
        the last stage), as the calibrated efficiencies assume unless a source says otherwise.
    overlap : float
        Fraction of the compute that hides data-parallel communication: the last
        micro-batch's backward (stages 0-1), every micro-batch's backward (2) or every
        micro-batch's forward and backward (3).
    model_parallel_overlap : float, optional
        Fraction of the tensor-, pipeline- and expert-parallel communication hidden behind
        compute. Default: the calibrated ``model_parallel_overlap`` of ``defaults.yaml`` (the
        value the fit used for frameworks that overlap: Megatron-Core with Transformer Engine,
        torchtitan's async TP); 0 for a framework that does not (Megatron-LM 2022,
        Megatron-DeepSpeed).
    tokens : quantity, str or float, optional
        Training tokens, for ``time_to_train`` and the ops results.
    datacenter : str or Datacenter, optional
        For energy, carbon and water (default: the cluster's).
    efficiency : float or dict, optional
        Compute (GEMM) efficiency, or a dict with any of ``compute``, ``memory``,
        ``communication`` (scale-up links), ``scale_out`` (NIC links), ``attention``
        (fractions in (0, 1]), ``elementwise`` (the traffic factor kappa), ``step_overhead``
        and ``layer_overhead`` (times); values may be arrays. Defaults: the
        calibrated values in ``defaults.yaml`` (with their fit provenance).
    lora_rank : int, optional
        Train LoRA adapters of this rank on ``lora_targets`` (q, k, v, o, up, gate, down).
    allow_cross_node_tp : bool
        Allow tp larger than a node (TP collectives then use the scale-out fabric).
    ops : dict, optional
        Inputs of walls 15, 17, 18, 19 (device_mtbf, node_component_mtbf, recovery_time,
        storage_write_bandwidth, checkpoint_interval, cloud_price, device_peak_power, ...).
    loss : {"fused", "unfused"}
        How the loss holds the logits: "fused" is Megatron-Core's vocab-parallel cross-entropy
        (16-bit logits plus one fp32 copy softmaxed in place: 6 bytes per logit); "unfused" is
        PyTorch ``cross_entropy`` on an fp32 upcast, as torchtitan (12 bytes per logit at the
        backward of log-softmax). Logits are split over tp (vocab) and cp (sequence).
    dropout : bool
        The model trains with dropout, so its masks are stored (Korthikanti et al.'s GPT);
        default False, as Llama, MPT and most current pretraining.
    workspace : quantity or str, optional
        Framework memory beyond the modelled tensors (communication buffers, library
        workspaces, allocator fragmentation); default ``framework_workspace`` of
        ``defaults.yaml``.
    uncertainty : bool or int
        Also compute p10/p50/p90 bands (``result.bands``) of the step time, MFU, tokens/s (and
        time to train) by Monte Carlo over the calibrated efficiencies' spreads and the
        model's residual training error (``True``: 2000 draws); scalar knobs only.

    Returns
    -------
    TrainResult
    """
    if uncertainty:
        kw = dict(devices=devices, tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, micro_batch=micro_batch,
                  global_batch=global_batch, seq_len=seq_len, precision=precision,
                  recompute=recompute, zero_stage=zero_stage, sequence_parallel=sequence_parallel,
                  interleave=interleave, overlap=overlap, tokens=tokens, datacenter=datacenter,
                  efficiency=efficiency, flash_attention=flash_attention,
                  model_parallel_overlap=model_parallel_overlap, lora_rank=lora_rank,
                  lora_targets=lora_targets, attention_kernel=attention_kernel,
                  even_layer_split=even_layer_split,
                  allow_cross_node_tp=allow_cross_node_tp, ops=ops, loss=loss,
                  workspace=workspace, dropout=dropout)
        return _train_with_bands(model, cluster, uncertainty, kw)
    notes: list = []
    precision = vocabulary.precision(precision, [p for p in PRECISION_BITS
                                                 if p in TRAINING_PRECISIONS]).name
    m = registry.model(model)
    if devices is not None:
        # at most 2^24 (16.8 million) accelerators: beyond any fleet built or planned
        devices = int(checks.number("devices", devices, low=1, high=2 ** 24, integer=True))
    hw, node, machine, n_dev, dc = _machine(cluster, devices, notes)
    mv = _model_values(m)
    moe = mv["moe_layers"] > 0
    g = machine["devices_per_node"]

    tp, pp, cp, ep, v = (_ints(k, x) for k, x in (("tp", tp), ("pp", pp), ("cp", cp),
                                                    ("ep", ep), ("interleave", interleave)))
    if np.ndim(cp) or np.ndim(ep) or np.ndim(v):
        raise ValueError("cp, ep and interleave must be scalars")
    b, B, S = (_ints(k, x) for k, x in (("micro_batch", micro_batch),
                                          ("global_batch", global_batch), ("seq_len", seq_len)))
    checks.sweep_shape(("tp", tp), ("pp", pp), ("micro_batch", b), ("global_batch", B),
                       ("seq_len", S), arrays=len(_OUTPUTS) + 40)
    dp = _layout(n_dev, tp, pp, dp, cp, ep, g, m.heads, allow_cross_node_tp, moe)
    bad = np.mod(B, dp * b) != 0
    if np.any(bad):
        (B_, d_, b_), where = _first_bad(bad, B, dp, b)
        step = int(d_ * b_)
        lo = int(B_ // step) * step
        if step > B_:
            raise ValueError(f"dp x micro_batch = {d_:.6g} x {b_:.6g} exceeds global_batch="
                             f"{int(B_)}{where}: micro_batch must be at most global_batch / dp "
                             f"= {B_ / d_:.6g}")
        raise ValueError(f"global_batch={int(B_)}{where} must be a multiple of dp x micro_batch "
                         f"= {int(d_)} x {int(b_)} = {step}; nearest valid global batches: "
                         f"{', '.join(str(x) for x in (lo, lo + step) if x > 0)}")
    micro = B / (dp * b)  # micro-batches per step (Narayanan Sec. 3.1: m = B / (b d))
    if v > 1:
        if np.any(np.asarray(pp) < 2):
            raise ValueError("interleave > 1 needs pp >= 2 (interleaved 1F1B)")
        bad = np.mod(B / (dp * b), pp) != 0
        if np.any(bad):
            raise ValueError("the interleaved schedule needs the micro-batches per step, "
                             "global_batch / (dp x micro_batch), to be a multiple of pp "
                             "(Narayanan et al. Sec. 2.2.2)")
    if not isinstance(dropout, (bool, np.bool_)):
        raise ValueError(f"dropout must be True or False, got {dropout!r}")
    if not isinstance(even_layer_split, (bool, np.bool_)):
        raise ValueError(f"even_layer_split must be True or False, got {even_layer_split!r}")
    if isinstance(zero_stage, (bool, np.bool_)) or not isinstance(zero_stage, (int, np.integer)) \
            or zero_stage not in (0, 1, 2, 3):
        raise ValueError(f"zero_stage must be 0, 1, 2 or 3, got {zero_stage!r:.60}")
    if isinstance(recompute, str):
        if recompute not in _RECOMPUTE:
            raise ValueError(f"recompute must be one of {', '.join(_RECOMPUTE)} or a fraction")
        r_d, r_a = _RECOMPUTE[recompute]
    else:
        r_d = checks.number(f"recompute (one of {', '.join(_RECOMPUTE)}, or a fraction)",
                            recompute, low=0.0, high=1.0)
        if isinstance(r_d, np.ndarray):
            raise checks.InputError("recompute must be one fraction in [0, 1] or one of "
                                    + ", ".join(_RECOMPUTE))
        r_a = r_d
    kernel = attention_variant(flash_attention, attention_kernel)
    flash_attention = kernel != "eager"
    eff = _efficiencies(efficiency, overlap, hw, precision, kernel=kernel)
    if model_parallel_overlap is None:  # the calibrated value: the same physics as the fit
        model_parallel_overlap = float(default("model_parallel_overlap").to("").magnitude)
    eff["model_parallel_overlap"] = _fraction("model_parallel_overlap", model_parallel_overlap)

    mixed = precision in _MIXED
    wb, gb, ob, ab = (2, 2, 12, 2) if mixed else (4, 4, 8, 4)
    shard = 1.0 / (dp * cp)
    f_o = shard if zero_stage >= 1 else 1.0
    f_g = shard if zero_stage >= 2 else 1.0
    f_w = shard if zero_stage >= 3 else 1.0
    mode = "full" if lora_rank is None else "lora"
    values = {k: _b(k, mv[k]) for k in _MODEL_IN}
    if mode == "full":
        values["trainable_parameters"] = values["parameters"]
    else:
        values["lora_rank"] = float(_ints("lora_rank", lora_rank))
        values["lora_adapted_width"] = _lora_width(m, tuple(lora_targets))
    values["peak_flops"] = _b("peak_flops", hw.peak_flops(precision))
    values.update({k: _b(k, machine[k]) for k in _HW_IN if k != "peak_flops"})
    values.update(bytes_per_parameter=_bm("bytes_per_parameter", wb),
                  gradient_bytes_per_parameter=_bm("gradient_bytes_per_parameter", gb),
                  optimizer_bytes_per_parameter=_bm("optimizer_bytes_per_parameter", ob),
                  activation_bytes_per_element=_bm("activation_bytes_per_element", ab))
    if not isinstance(loss, str) or loss not in _LOSS_BYTES:
        raise ValueError(f"loss must be 'fused' or 'unfused', got {loss!r}")
    values["logits_bytes_per_element"] = _bm("logits_bytes_per_element", _LOSS_BYTES[loss])
    values["framework_workspace"] = checks.quantity(
        "workspace", default("framework_workspace") if workspace is None else workspace, "GB",
        low=0)
    values.update(eff)
    given = set(efficiency) if isinstance(efficiency, dict) else set()
    for key, value in machine["published_efficiency"].items():
        sym = EFFICIENCY_KEYS[key][0]
        if key not in given and sym not in given:  # the fabric's published collective figure
            values[sym] = value
    values["attention_peak_flops"] = _b("attention_peak_flops", _attention_peak(hw, precision))
    tok = float("nan") if tokens is None else float(checks.quantity(
        "tokens", tokens, info("training_tokens").unit, low=0.0, low_open=True)
        if not isinstance(tokens, np.ndarray) else np.nan)
    values.update(tensor_parallel=tp, pipeline_parallel=pp, data_parallel=dp, context_parallel=cp,
                  expert_parallel=ep, pipeline_interleave=v, micro_batch=b, global_batch=B,
                  sequence_length=_bm("sequence_length", S), recomputed_dense_fraction=r_d,
                  recomputed_attention_fraction=r_a,
                  sequence_parallel=1.0 if sequence_parallel else 0.0,
                  attention_scores_stored=0.0 if flash_attention else 1.0,
                  dropout_masks_stored=1.0 if dropout else 0.0,
                  parameter_shard_factor=f_w, gradient_shard_factor=f_g,
                  optimizer_shard_factor=f_o,
                  parameter_gather_passes=2.0 * micro if zero_stage == 3 else 1.0,
                  gradient_reduce_passes=micro if zero_stage >= 2 else 1.0,
                  head_stage_imbalance=1.0 if even_layer_split else 0.0, training_tokens=tok)
    args = [values[k] for k in _inputs(mode)]
    vectorised = any(isinstance(a, np.ndarray) for a in args)
    ev = _kernel(mode).lazy(args, vectorised)
    config = dict(mode=mode, devices=n_dev, tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, micro_batch=b,
                  global_batch=B, seq_len=S, recompute=recompute, zero_stage=zero_stage,
                  sequence_parallel=bool(sequence_parallel), interleave=v,
                  even_layer_split=bool(even_layer_split),
                  flash_attention=bool(flash_attention), attention_kernel=kernel,
                  tokens=tokens, node=node and node.name)
    ops_ctx = _ops_context(hw, node, dc if datacenter is None else registry.datacenter(datacenter),
                           ops, wb + ob, notes)
    return TrainResult(ev, m, hw, precision, dict(zip(_inputs(mode), args)), config, notes,
                       ops_ctx)


def _train_with_bands(model, cluster, samples, kw):
    """train() plus Monte Carlo bands over the calibrated efficiencies."""
    from ...analysis.uncertainty import band_of, sample_parameters
    r = train(model, cluster, **kw)
    if any(np.ndim(v) for v in (r._raw("training_step_time"),)):
        raise ValueError("uncertainty=True needs scalar knobs (no arrays)")
    given = kw.get("efficiency")
    given = given if isinstance(given, dict) else ({} if given is None else {"compute": given})
    names = {}
    for key, (sym, (lo, hi), unit) in EFFICIENCY_KEYS.items():
        if key in given or sym in given:
            continue
        names[key] = (variant_name(sym, r.hardware, r.precision,
                                   attention_kernel=r.config["attention_kernel"]),
                      unit or "dimensionless",
                      (lo, hi))
    draws = sample_parameters(names, samples)
    eff = dict(given)
    for key, arr in draws.items():
        unit = EFFICIENCY_KEYS[key][2]
        eff[key] = Q_(arr, unit) if unit else arr
    mc = train(model, cluster, **{**kw, "efficiency": eff})
    r.bands = {"step_time": band_of(mc.step_time.to("s").magnitude, "s", "training"),
               "tokens_per_s": band_of(mc.tokens_per_s.to("token/s").magnitude, "token/s",
                                       "training")}
    # MFU moves inversely with the step time: the same draws, the same discrepancy
    mfu = band_of(1.0 / mc.step_time.to("s").magnitude, "1/s", "training")
    scale = (r.mfu * r.step_time).to("s").magnitude
    r.bands["mfu"] = type(mfu)(*(Q_(q.magnitude * scale, "") for q in mfu))
    if kw.get("tokens") is not None:
        r.bands["time_to_train"] = band_of(mc.time_to_train.to("h").magnitude, "h", "training")
    return r


def _ops_context(hw, node, dc, ops, ckpt_bytes, notes):
    ops = dict(ops or {})
    unknown = set(ops) - set(_OPS_KEYS)
    if unknown:
        raise ValueError(f"unknown ops inputs {sorted(unknown)}; allowed: {', '.join(_OPS_KEYS)}")
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
    return {"values": values, "checkpoint_bytes_per_param": Q_(ckpt_bytes, "B/param")}


