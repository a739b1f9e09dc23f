"""The result of :func:`~mlsysim_sym.tasks.serving.predict` for a decoder or MoE LLM.

A :class:`Prediction` holds the lazy evaluation of the serving kernel and its inputs (base-unit
magnitudes by name); an attribute is a pint quantity made on first access, :meth:`Prediction.value`
an output's base-unit magnitude, :meth:`Prediction.base_inputs` the inputs by name.
"""

from __future__ import annotations

import numpy as np

from ...feasibility import memory_reason
from ...symbols import info
from ...units import Q_, base_factor, to_base
from .._core import knobs
from .._core.fabric import ring_efficiency, tp_defaults
from .._core.inputs import MLA_DIMS, latent_attention, peak_field, sliding_window
from .._core.result import Result, binding_codes, bottleneck_names
from .system import (OUTPUTS, PER_TOKEN, SPECULATIVE_EXTRA, moe_serving_system, per_token_kernel,
                     serving_system)

_MOE_EXTRA = ("parameters", "active_parameters", "moe_decode_experts_touched")

__all__ = ["Prediction"]


class Prediction(Result):
    """Result of :func:`~mlsysim_sym.tasks.serving.predict`; every attribute is a pint quantity
    (or bool / str)."""

    __slots__ = ("_ev", "phase", "model", "hardware", "precision", "_order", "_named",
                 "_cache", "_alias", "bands", "_defaults_key", "_moe", "_speculative")

    HEADLINE = ("latency", "throughput", "memory_footprint")

    def __init__(self, evaluation, phase, model, hardware, precision, order, alias=None,
                 defaults_key=(None, None), speculative=False):
        """``evaluation``: the kernel's :class:`~mlsysim_sym.numeric.Evaluation` (its ``args``
        are the inputs, in the kernel's input ``order``); the inputs by name are made on first
        use (a scalar prediction that is only read for one output never builds them)."""
        self._ev = evaluation
        self.phase = phase
        self.model = model
        self.hardware = hardware
        self.precision = precision
        self._order = order
        self._named = None
        self._cache = {}
        self._alias = alias or {}
        self.bands = None  # {output: Band} with predict(..., uncertainty=True)
        self._defaults_key = defaults_key  # (stack, efficiency given): see defaults_used()
        self._speculative = speculative    # the speculative outputs stand for the dense ones
        self._moe = bool(self._alias) and not speculative

    @property
    def _inputs(self) -> dict:
        """``{input name: base magnitude}`` (built once, read only)."""
        named = self._named
        if named is None:
            named = self._named = dict(zip(self._order, self._ev.args))
        return named

    def quantity(self, name):
        """Output ``name`` (one of :data:`~.system.OUTPUTS`; for an MoE model also
        ``parameters``, ``active_parameters``, ``moe_decode_experts_touched``; with speculative
        decoding also :data:`~.system.SPECULATIVE_EXTRA`) as a pint quantity in its declared
        unit, made once."""
        q = self._cache.get(name)
        if q is None:
            if name == "prefill_throughput" and self._moe:
                q = (Q_(np.asarray(self._inputs["prompt_length"]) * self._inputs["batch"], "token")
                     / self.quantity("ttft")).to("token/s")
            else:
                q = self._ev.quantity(self._output(name))
            self._cache[name] = q
        return q

    def _output(self, name, inputs=False):
        """The kernel's name of output ``name``; a clear error for a name it does not have."""
        key = self._alias.get(name, name)
        if key not in self._ev.compiled.output_names:
            names = sorted(OUTPUTS + self._extra())
            raise ValueError(f"{name!r} is not an output {'or input ' if inputs else ''}of this "
                             f"prediction; outputs: {', '.join(names)}"
                             + (f"; inputs: {', '.join(self._inputs)}" if inputs else ""))
        return key

    def value(self, name):
        """Output ``name``'s magnitude in base units (s, bit, FLOP, token/s, as
        :func:`mlsysim_sym.units.to_base`; a float, or a numpy array for a sweep): what
        :meth:`quantity` shows, without pint. An input's name gives the input's magnitude."""
        if name == "prefill_throughput" and self._moe:  # the MoE record has no prefill rate
            v = (np.asarray(self._inputs["prompt_length"]) * self._inputs["batch"]
                 / np.asarray(self._ev.value(self._alias["ttft"])))
            return float(v) if np.ndim(v) == 0 else v
        key = self._alias.get(name, name)
        if key not in self._ev.compiled.output_names and name in self._inputs:
            return self._inputs[name]
        return self._ev.value(self._output(name, inputs=True))

    def prefetch(self, names=None, block=None) -> None:
        """Evaluate the outputs ``names`` of a sweep (default: all of them) in one kernel call,
        common subexpressions computed once, so that reading them afterwards evaluates nothing.
        ``"feasible"`` and ``"bottleneck"`` bring what they are made of; names that are not
        kernel outputs (``mfu``, ``energy_per_token``) are left to be read as usual. A point
        (scalar inputs) has every output already: nothing to do. ``block``: evaluate in slices
        of about that many points (:data:`mlsysim_sym.numeric.BLOCK`, what a sweep uses)."""
        ev = self._ev
        if not ev.vectorised:
            return
        if names is None:
            ev.prefetch(block=block)
            return
        outputs, keys = ev.compiled.output_names, []
        for name in names:
            if name in ("latency", "throughput"):
                name = {"latency": "ttft", "throughput": "prefill_throughput"}[name] \
                    if self.phase == "prefill" else {"latency": "time_per_output_token",
                                                     "throughput": "decode_throughput"}[name]
            if name == "prefill_throughput" and self._moe:
                name = "ttft"
            if name in ("feasible", "bottleneck"):
                keys.append(self._alias.get("memory_utilization", "memory_utilization"))
                if name == "bottleneck":
                    keys += ev.branch_keys(self._binding_owner())
            elif self._alias.get(name, name) in outputs:
                keys.append(self._alias.get(name, name))
        ev.prefetch(keys, block)

    def magnitude(self, name):
        """Output ``name`` in its declared unit as a float or numpy array (what
        ``quantity(name).magnitude`` holds), without making a pint quantity."""
        if name == "prefill_throughput" and self._moe:
            return self.quantity(name).magnitude
        key = self._output(name)
        v, f = self._ev.value(key), base_factor(self._ev.compiled.unit_of(key))
        return v if f == 1.0 else v / f

    def base_inputs(self) -> dict:
        """``{input name: base-unit magnitude}`` of every input of the kernel this prediction
        ran (a copy; arrays for a swept knob)."""
        return dict(self._inputs)

    def _extra(self) -> tuple:
        """The outputs beyond :data:`~.system.OUTPUTS`: the MoE structure or speculation's."""
        return _MOE_EXTRA if self._moe else SPECULATIVE_EXTRA if self._speculative else ()

    def _binding_owner(self) -> str:
        """The output whose Max names the binding wall of the phase's latency (speculation:
        the verification pass, the target's roofline at the batch)."""
        if self.phase == "prefill":
            return self._output("ttft")
        return "verify_step_time" if self._speculative else self._output("time_per_output_token")

    def latency_branches(self):
        """``(kind, {wall: base magnitudes})`` of the phase's latency: the terms of its max
        (``kind == "max"``) or min whose largest (smallest) is the binding wall."""
        owner = self._binding_owner()
        return self._ev.compiled.branch_kind[owner], self._ev.branches(owner)

    ttft = property(lambda self: self.quantity("ttft"), doc="time to first token (prefill pass)")
    time_per_output_token = property(lambda self: self.quantity("time_per_output_token"),
                                     doc="time per output token (one decode step)")
    memory_footprint = property(lambda self: self.quantity("memory_footprint"))
    kv_cache = property(lambda self: self.quantity("kv_cache_bytes"))
    weights = property(lambda self: self.quantity("weight_bytes"))
    activations = property(lambda self: self.quantity("activation_bytes"))
    memory_utilization = property(lambda self: self.quantity("memory_utilization"))
    prefill_flops = property(lambda self: self.quantity("prefill_flops"))
    decode_bytes_read = property(lambda self: self.quantity("decode_bytes"),
                                 doc="bytes one decode step moves (weights touched + KV cache)")

    @property
    def parameters(self):
        """Total weights (MoE: all experts)."""
        return self._ev.quantity("parameters") if self._moe else self.model.parameters

    @property
    def active_parameters(self):
        """Weights touched per token (MoE: shared + top-k experts)."""
        return (self._ev.quantity("active_parameters") if self._moe
                else self.model.active_parameters)
    decode_flops = property(lambda self: self.quantity("decode_flops"))

    @property
    def memory_capacity(self):
        return Q_(self._inputs["memory_capacity"] / base_factor("GB"), "GB")

    @property
    def latency(self):
        """TTFT for the prefill phase, time per output token for decode."""
        return self.ttft if self.phase == "prefill" else self.time_per_output_token

    @property
    def throughput(self):
        """Prompt tokens/s (prefill) or output tokens/s of the whole batch (decode)."""
        return self.quantity("prefill_throughput" if self.phase == "prefill"
                             else "decode_throughput")

    @property
    def feasible(self):
        u = self._ev.value(self._alias.get("memory_utilization", "memory_utilization"))
        return bool(u <= 1.0) if np.ndim(u) == 0 else np.asarray(u) <= 1.0

    @property
    def bottleneck(self):
        """Binding wall: "Compute" or "Memory" (bandwidth), or "Memory" when it does not fit
        (for a sweep an object array of names, made from :attr:`bottleneck_code`)."""
        if self._ev.vectorised:
            return bottleneck_names(self.bottleneck_code)
        bind = self._ev.binding(self._binding_owner())
        feas = self.feasible
        if np.ndim(bind) == 0 and np.ndim(feas) == 0:
            return bind if feas else "Memory"
        bind, feas = np.broadcast_arrays(np.asarray(bind, dtype=object), np.asarray(feas))
        return np.where(feas, bind, "Memory")

    @property
    def bottleneck_code(self):
        """:attr:`bottleneck` as an index into :data:`~mlsysim_sym.vocabulary.BOTTLENECKS`
        (``numpy.int8`` codes for a sweep, from the latency's branch values: no strings)."""
        if not self._ev.vectorised:
            return super().bottleneck_code
        self.prefetch(("bottleneck",))
        kind, branches = self.latency_branches()
        return binding_codes(kind, branches, self.feasible)

    @property
    def reason(self):
        """One line: what does not fit in memory and by how much, or how much a fitting
        configuration uses (an array of lines for a sweep)."""
        t = np.asarray(self._inputs["tensor_parallel"])  # the footprint is per device
        weights, kv = self.quantity("weight_bytes") / t, self.quantity("kv_cache_bytes") / t
        parts = {"weights": weights, "KV cache": kv,
                 "activations and workspace": self._ev.quantity("memory_footprint") - weights - kv}
        if self._speculative:
            parts["draft model"] = self.memory_footprint - self._ev.quantity("memory_footprint")
        return memory_reason(self.memory_footprint, self.memory_capacity, parts=parts)

    @property
    def bottleneck_detail(self) -> str:
        if np.ndim(self.feasible) == 0 and not self.feasible:
            return (f"does not fit: footprint {self.memory_footprint.to('GB'):.4g~P} exceeds "
                    f"capacity {self.memory_capacity:.4g~P}")
        b = self.bottleneck
        if np.ndim(b):
            return "vectorised: see .bottleneck per point"
        kind = {"Compute": "compute-bound", "Memory": "memory-bandwidth-bound"}.get(
            b, f"{b.lower()}-bound")
        return f"{self.phase} is {kind}"

    def _per_token(self, name):
        q = self._cache.get(name)
        if q is None:
            # per_token_system().evaluate(name, ...) on the base magnitudes this prediction
            # holds: no conversion to declared units and back, no input checks of its outputs
            k = per_token_kernel(name)
            args = [to_base(self.hardware.tdp) if n == "device_power" else self.value(n)
                    for n in k.input_names]
            q = self._cache[name] = k.lazy(args).quantity(name)
        return q

    @property
    def mfu(self):
        """Model FLOPs utilisation of the phase: its model FLOPs over what the chips' peak
        (all ``tp`` of them) does in its time (wall 3, PaLM App. B's definition)."""
        return self._per_token(PER_TOKEN[self.phase][0])

    @property
    def energy_per_token(self):
        """Energy of the ``tp`` chips per output token (decode) or prompt token (prefill) at
        their TDP, an upper bound (wall 18); None when the registry has no TDP for the chip."""
        if self.hardware.tdp is None:
            return None
        return self._per_token(PER_TOKEN[self.phase][1])

    def outputs(self) -> dict:
        """Every output as a quantity (a sweep's in one kernel call)."""
        self.prefetch()
        out = {n: self.quantity(n) for n in OUTPUTS}
        for n in self._extra():
            out[n] = self._ev.quantity(n)
        out["latency"], out["throughput"] = self.latency, self.throughput
        out["mfu"] = self.mfu
        if self.hardware.tdp is not None:
            out["energy_per_token"] = self.energy_per_token
        return out

    def rows(self) -> list:
        """``(label, quantity)`` rows: the phase's latency and throughput, TTFT, time per output
        token, the footprint per device and its split, capacity, MFU and energy per token."""
        rows = [("latency", self.latency), ("throughput", self.throughput), ("ttft", self.ttft),
                ("time per output token", self.time_per_output_token),
                ("memory footprint", self.memory_footprint.to("GB")),
                ("  weights", self.weights.to("GB")), ("  kv cache", self.kv_cache.to("GB")),
                ("  activations", self.activations.to("GB")),
                ("memory capacity", self.memory_capacity)]
        for attr, label in (("mfu", "mfu"), ("energy_per_token", "energy per token")):
            value = getattr(self, attr, None)
            if value is not None:
                rows.append((label, value))
        return rows

    def to_dict(self) -> dict:
        """JSON-ready dict: every output as {"value", "unit"}, plus bottleneck and feasible."""
        def enc(q):
            m = q.magnitude
            return {"value": m.tolist() if isinstance(m, np.ndarray) else float(m),
                    "unit": f"{q.units:~P}"}
        d = {k: enc(v) for k, v in self.outputs().items()}
        d["kv_cache"] = d["kv_cache_bytes"]
        d["memory_capacity"] = enc(self.memory_capacity)
        b, f = self.bottleneck, self.feasible
        d["bottleneck"] = b.tolist() if isinstance(b, np.ndarray) else b
        d["feasible"] = f.tolist() if isinstance(f, np.ndarray) else bool(f)
        why = self.reason
        d["reason"] = why.tolist() if isinstance(why, np.ndarray) else why
        d["phase"], d["precision"] = self.phase, self.precision
        d["model"], d["hardware"] = self.model.name, self.hardware.name
        if self.bands:
            d["bands"] = {k: band.to_dict() for k, band in self.bands.items()}
        return d

    def frame_columns(self):
        """What ``to_frame()`` shows, as :meth:`to_dict` has it; a sweep's as arrays (one
        kernel call, no lists, the bottleneck as int8 codes, no per-point reason lines)."""
        if not self._ev.vectorised:
            return super().frame_columns()
        qs = {k: (q.magnitude, f"{q.units:~P}") for k, q in self.outputs().items()}
        qs["kv_cache"] = qs["kv_cache_bytes"]
        cap = self.memory_capacity
        qs["memory_capacity"] = (cap.magnitude, f"{cap.units:~P}")
        return qs, {"bottleneck": self.bottleneck_code, "feasible": self.feasible,
                    "phase": self.phase, "precision": self.precision,
                    "model": self.model.name, "hardware": self.hardware.name}

    @classmethod
    def json_schema(cls) -> dict:
        """JSON Schema (draft 2020-12) of :meth:`to_dict`'s output."""
        from ...export import result_schema
        return result_schema("Prediction", OUTPUTS + ("latency", "throughput", "kv_cache",
                                                       "memory_capacity"),
                             labels=("bottleneck", "reason"), flags=("feasible",),
                             strings=("phase", "precision", "model", "hardware"))

    def inputs(self, names=None) -> dict:
        """The inputs used (or those called ``names``), as quantities in each symbol's
        declared unit."""
        return {k: Q_(np.asarray(v) / base_factor(info(k).unit) if isinstance(v, np.ndarray)
                      else v / base_factor(info(k).unit), info(k).unit)
                for k, v in self._inputs.items() if names is None or k in names}

    @property
    def system(self):
        """The composed system this prediction was computed with."""
        variant = ("kv_lora_rank" in self._inputs, "attention_window" in self._inputs)
        return moe_serving_system(*variant) if self._moe else serving_system(*variant)

    def registry_fields(self) -> list:
        """(registry object, field path) of every registry value this prediction used."""
        peak = peak_field(self.hardware, self.precision, self._defaults_key[0])
        rows = [(self.hardware, peak), (self.hardware, "memory.0.bandwidth"),
                (self.hardware, "memory.0.capacity")]
        if getattr(self.hardware, "tdp", None) is not None:
            rows.append((self.hardware, "tdp"))  # energy_per_token
        attention = (("attention", *("architecture.mla." + d for d in MLA_DIMS))
                     if latent_attention(self.model) else ("kv_heads", "head_dim"))
        rows += [(self.model, f) for f in ("layers", "hidden", "heads", *attention, "ffn",
                                            "vocab")]
        if sliding_window(self.model):
            rows += [(self.model, "sliding_window")]
            if "windowed_layer_share" in self.model.quantities():
                rows += [(self.model, "windowed_layer_share")]
        return rows

    def defaults_used(self) -> dict:
        """``{symbol: defaults.Resolved}``: each calibrated default this prediction used, the
        entry it came from (``compute_efficiency[serve-hopper]``) and how it was fitted."""
        stack, efficiency = self._defaults_key
        used = knobs.serving_defaults(self.hardware, self.precision, stack, efficiency)
        if ring_efficiency(self.hardware) is not None:   # the fabric's published fraction
            used.pop("communication_efficiency", None)
        if np.any(np.asarray(self._inputs.get("tensor_parallel", 1)) > 1):
            used.update(tp_defaults(self.hardware, efficiency))
        return used

    def __repr__(self):
        if self._ev.vectorised:
            return f"Prediction({self.model.name} on {self.hardware.name}, vectorised)"
        return (f"Prediction({self.model.name} on {self.hardware.name}, {self.phase}: "
                f"latency={self.latency:.4g~P}, throughput={self.throughput:.4g~P}, "
                f"memory={self.memory_footprint:.4g~P}, feasible={self.feasible}, "
                f"bottleneck={self.bottleneck})")
