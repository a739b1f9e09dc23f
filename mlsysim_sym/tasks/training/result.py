"""The result of a training step: :class:`TrainResult`.

Outputs are read lazily from the kernel's evaluation and wrapped as pint quantities on first
use; :meth:`TrainResult.value` and :meth:`TrainResult.base_inputs` give the same numbers as
plain base-unit magnitudes (what calibration and sweeps read). The step-time terms are grouped
by the wall they belong to (:data:`TERMS`, :data:`GROUPS`): the bottleneck is the largest group.
"""

from __future__ import annotations

import numpy as np

from ...feasibility import memory_reason
from ...symbols import info
from ...units import Q_, base_factor
from .._core.result import BOTTLENECKS, Result, bottleneck_names
from .efficiency import training_defaults
from .ops import ops_quantity
from .step import OUTPUTS, iron_law, training_system

__all__ = ["TrainResult", "TERMS", "GROUPS", "COMPUTE_PARTS", "ALIASES"]

#: step-time terms: (name, output, the wall it belongs to); the bottleneck is the largest group
TERMS = (("compute", "step_compute_time", "Compute"),
         ("optimizer", "optimizer_step_time", "Memory"),
         ("tp_communication", "tp_comm_time", "Communication"),
         ("pp_communication", "pp_comm_time", "Communication"),
         ("cp_communication", "cp_comm_time", "Communication"),
         ("ep_communication", "ep_comm_time", "Communication"),
         ("dp_communication", "dp_exposed_time", "Communication"),
         ("pp_bubble", "pipeline_bubble_time", "Pipeline"),
         ("pp_imbalance", "stage_imbalance_time", "Pipeline"),
         ("step_overhead", "training_step_overhead", "Software"),
         ("host_wait", "host_wait_time", "Software"))
#: the walls a step-time term can belong to, in bottleneck-code order
GROUPS = BOTTLENECKS
#: parts of the compute term, reported by breakdown() (they sum into "compute" with the GEMMs)
COMPUTE_PARTS = (("compute_attention", "attention_compute_time"),
                 ("compute_memory_bound", "elementwise_time"))
#: result attributes -> the kernel output they read (:meth:`TrainResult.value` takes either)
ALIASES = {"step_time": "training_step_time", "mfu": "model_flops_utilization",
           "hfu": "hardware_flops_utilization", "tokens_per_s": "training_throughput",
           "memory_per_device": "training_memory",
           "memory_utilization": "training_memory_utilization",
           "compute_time": "step_compute_time", "optimizer_time": "optimizer_step_time",
           "pp_bubble_fraction": "pipeline_bubble_fraction",
           "pp_bubble_time": "pipeline_bubble_time", "weight_bytes": "weight_memory",
           "gradient_bytes": "gradient_memory", "optimizer_bytes": "optimizer_memory",
           "activation_bytes": "activation_memory", "logits_bytes": "logits_memory",
           "step_flops": "training_step_flops", "step_bytes": "training_step_bytes"}


def _q(value_base, unit):
    v = np.asarray(value_base, dtype=float) if isinstance(value_base, np.ndarray) else value_base
    return Q_(v / base_factor(unit), unit)


class TrainResult(Result):
    """Result of :func:`train`: pint quantities (arrays when a knob was an array).

    A configuration that does not fit in memory is an answer, not a NaN: ``feasible`` is False,
    ``reason`` says what does not fit and by how much, and the step times (``step_time``,
    ``mfu``, ``hfu``, ``tokens_per_s``, ``time_to_train``) are what the step would take if the
    memory were there (``bottleneck`` is "Memory" and ``binding_term`` "memory_capacity").
    """

    HEADLINE = ("step_time", "mfu", "tokens_per_s", "memory_per_device")

    def __init__(self, ev, model, hardware, precision, inputs, config, assumptions, ops_context,
                 defaults=None):
        self._ev, self.model, self.hardware, self.precision = ev, model, hardware, precision
        self._inputs, self.config, self.assumptions = inputs, config, assumptions
        self._ops_context, self._cache = ops_context, {}
        # {given, published, others}: which efficiencies came from defaults.yaml
        self._defaults = defaults or {}
        self.bands = None  # {output: Band} with train(..., uncertainty=True)

    # ---- plain numbers ----------------------------------------------------------------------
    def value(self, name):
        """Base-unit magnitude (a float, or a numpy array over the swept knobs; no pint) of an
        output, named by the kernel's symbol (``training_step_time``) or by its attribute
        (``step_time``); an input's name gives the input, broadcast to the outputs' shape."""
        symbol = ALIASES.get(name, name)
        if symbol not in OUTPUTS and symbol not in self._inputs:
            raise KeyError(f"TrainResult has no output or input {name!r}; outputs: "
                           f"{', '.join(OUTPUTS)} (or {', '.join(ALIASES)})")
        return self._raw(symbol)

    def base_inputs(self) -> dict:
        """``{input name: base-unit magnitude}`` the kernel was evaluated with."""
        return dict(self._inputs)

    def _raw(self, name):
        if name in self._inputs and name not in self._ev_outputs():
            return np.asarray(self._inputs[name], dtype=float) + 0.0 * np.asarray(
                self._ev.value("training_step_time"))
        return self._ev.value(name)

    def _ev_outputs(self):
        return OUTPUTS

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
        out = {name: self._quantity(sym) for name, sym, _ in TERMS}
        for name, sym in COMPUTE_PARTS:
            out[name] = self._quantity(sym)
        out["step_time"] = self._quantity("training_step_time")
        for k in ("weight_memory", "gradient_memory", "optimizer_memory", "activation_memory",
                  "logits_memory", "last_stage_activation_memory", "recompute_working_memory",
                  "parameter_gather_memory", "framework_workspace", "training_memory"):
            out[k] = self._quantity(k)
        return out

    def _terms(self):
        vals = [np.asarray(self._raw(sym), dtype=float) for _, sym, _ in TERMS]
        return np.stack(np.broadcast_arrays(*vals))

    @property
    def binding_term(self):
        """Largest step-time term (compute, tp_communication, pp_bubble, dp_communication, ...),
        or memory_capacity where the configuration does not fit."""
        names = np.asarray([n for n, _, _ in TERMS], dtype=object)[np.argmax(self._terms(), 0)]
        return self._pick(names, "memory_capacity")

    @property
    def bottleneck(self):
        """Wall whose terms take the most of the step: Compute, Communication, Pipeline (bubble)
        or Memory (optimizer update; or the configuration does not fit)."""
        return bottleneck_names(self.bottleneck_code)

    @property
    def bottleneck_code(self):
        """:attr:`bottleneck` as an index into :data:`GROUPS` (an int, or ``numpy.int8`` codes
        when a knob was an array)."""
        terms = self._terms()
        groups = np.stack([sum(terms[i] for i, (_, _, w) in enumerate(TERMS) if w == grp)
                           for grp in GROUPS])
        codes = np.where(self._fits(), np.argmax(groups, 0), GROUPS.index("Memory"))
        return int(codes) if codes.ndim == 0 else codes.astype(np.int8)

    def _pick(self, names, infeasible):
        fits = self._fits()
        names, fits = np.broadcast_arrays(names, fits)
        out = np.where(fits, names, infeasible)
        return str(out) if out.ndim == 0 else out

    # ---- walls 15, 17, 18, 19 (on demand) ---------------------------------------------------
    def _ops(self, name):
        key = ("ops", name)
        if key not in self._cache:
            if self.config["tokens"] is None:
                raise AttributeError(f"{name} needs the run's length: "
                                     "train(..., tokens='2e12 token')")
            run = {"time_to_train": self._raw("time_to_train"), "devices": self._raw("devices"),
                   "devices_per_node": self._inputs["devices_per_node"],
                   "parameters": self._inputs["parameters"]}
            self._cache[key] = ops_quantity(name, self._ops_context, run, self.assumptions)
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

    def defaults_used(self) -> dict:
        """``{symbol: defaults.Resolved}``: each calibrated default this step used, the entry it
        came from (``compute_efficiency[hopper]``) and how it was fitted."""
        return training_defaults(self.hardware, self.precision, self.config["attention_kernel"],
                                 **self._defaults)

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
        from ...export import result_schema
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
