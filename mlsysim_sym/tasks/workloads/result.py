"""The result of a workload task: :class:`WorkloadPrediction`, a lazy view of one evaluation.

Attributes are pint quantities made on first access from the evaluation's base-unit
magnitudes; :meth:`WorkloadPrediction.value` and :meth:`WorkloadPrediction.base_inputs` give
the magnitudes themselves (what calibration cases and sweeps read). Each family subclasses it
with the names of its record's outputs (``LATENCY``, ``THROUGHPUT``, ... and ``EXTRA``).
"""

from __future__ import annotations

import numpy as np

from ...feasibility import memory_reason
from ...symbols import info
from ...units import Q_, base_factor
from .._core.result import Result

__all__ = ["WorkloadPrediction"]


class WorkloadPrediction(Result):
    """Result of a workload facade; attributes are pint quantities (or bool / str / arrays).

    Common attributes: ``latency``, ``throughput`` (samples/s: images/s or inferences/s),
    ``memory_footprint``, ``memory_capacity``, ``memory_utilization``, ``feasible``,
    ``bottleneck`` (binding wall name), ``notes`` (what the registry did not record). The
    family's own outputs are attributes too (see ``EXTRA``) and all are in :meth:`outputs`.
    :meth:`value` gives an output's base-unit magnitude, :meth:`base_inputs` the inputs'.
    """

    family = ""
    LATENCY = THROUGHPUT = FOOTPRINT = UTILIZATION = BINDING = ""
    EXTRA: dict = {}
    HEADLINE = ("latency", "throughput", "memory_footprint")

    SAMPLE = "sample"
    #: attribute name -> the record's output symbol (set per subclass)
    _ALIASES: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._ALIASES = {"latency": cls.LATENCY, "throughput": cls.THROUGHPUT,
                        "memory_footprint": cls.FOOTPRINT, "memory_utilization": cls.UTILIZATION,
                        **cls.EXTRA}

    def __init__(self, evaluation, system, model, hardware, precision, inputs, capacity, notes,
                 fields, sample=None):
        self._ev, self.system, self.model, self.hardware = evaluation, system, model, hardware
        self.precision, self._inputs, self._capacity = precision, inputs, capacity
        self.notes, self._fields, self._cache = tuple(notes), tuple(fields), {}
        self._sample = sample or self.SAMPLE

    def _q(self, name):
        q = self._cache.get(name)
        if q is None:
            q = self._cache[name] = self._ev.quantity(name)
        return q

    def value(self, name):
        """Base-unit magnitude (float, or numpy array for a sweep; no pint) of an output, named
        by its attribute (``latency``, ``step_time``) or by the record's symbol
        (``encoder_latency``); an input's name gives the input's magnitude."""
        symbol = self._ALIASES.get(name, name)
        if symbol in self._ev.compiled.output_names:
            return self._ev.value(symbol)
        if name in self._inputs:
            return self._inputs[name]
        raise ValueError(f"{type(self).__name__} has no output or input {name!r}; outputs: "
                         f"{', '.join(self._ev.compiled.output_names)}")

    def base_inputs(self) -> dict:
        """``{input name: base-unit magnitude}`` of every input the evaluation used."""
        return dict(self._inputs)

    def record_defaults(self, used) -> "WorkloadPrediction":
        """Record ``(symbol, VariantKey)`` of each calibrated default the facade used."""
        self._defaults = tuple(used)
        return self

    def defaults_used(self) -> dict:
        """``{symbol: defaults.Resolved}``: each calibrated default this prediction used, the
        entry it came from (``compute_efficiency[serve-hopper]``) and how it was fitted."""
        from ...defaults import resolve
        return {sym: resolve(sym, key) for sym, key in getattr(self, "_defaults", ())}

    def __getattr__(self, attr):
        extra = type(self).EXTRA
        if attr in extra:
            return self._q(extra[attr])
        raise AttributeError(f"{type(self).__name__} has no attribute {attr!r}; outputs: "
                             f"{', '.join(['latency', 'throughput', 'memory_footprint', *extra])}")

    latency = property(lambda self: self._q(self.LATENCY))
    throughput = property(lambda self: self._q(self.THROUGHPUT).to(f"{self._sample}/s"),
                          doc="samples per second in the family's sample unit (image, inference, "
                              "sequence)")
    memory_footprint = property(lambda self: self._q(self.FOOTPRINT))
    memory_utilization = property(lambda self: self._q(self.UTILIZATION))

    @property
    def memory_capacity(self):
        return self._capacity

    def _fits(self):
        return np.asarray(self._ev.value(self.UTILIZATION)) <= 1.0

    @property
    def feasible(self):
        ok = self._fits()
        return bool(ok) if np.ndim(ok) == 0 else ok

    @property
    def bottleneck(self):
        """Binding wall of the latency ("Compute" / "Memory"), or "Memory" when it does not fit."""
        bind, feas = self._ev.binding(self.BINDING), self.feasible
        if np.ndim(bind) == 0 and np.ndim(feas) == 0:
            return bind if feas else "Memory"
        bind, feas = np.broadcast_arrays(np.asarray(bind, dtype=object), np.asarray(feas))
        return np.where(feas, bind, "Memory")

    @property
    def reason(self):
        """One line: what does not fit in memory and by how much, or how much a fitting
        configuration uses (an array of lines for a sweep)."""
        return memory_reason(self.memory_footprint, self.memory_capacity)

    @property
    def bottleneck_detail(self) -> str:
        if np.ndim(self.feasible) == 0 and not self.feasible:
            return (f"does not fit: footprint {self.memory_footprint.to('MB'):.4g~P} exceeds "
                    f"capacity {self.memory_capacity.to('MB'):.4g~P}")
        b = self.bottleneck
        if np.ndim(b):
            return "vectorised: see .bottleneck per point"
        kind = {"Compute": "compute-bound", "Software": "host-bound (the device waits for the "
                "host issuing its operators)"}.get(b, "memory-bandwidth-bound")
        return f"{self.family} is {kind}"

    def outputs(self) -> dict:
        out = {"latency": self.latency, "throughput": self.throughput,
               "memory_footprint": self.memory_footprint,
               "memory_utilization": self.memory_utilization}
        out.update({k: self._q(v) for k, v in self.EXTRA.items()})
        return out

    def to_dict(self) -> dict:
        def enc(q):
            m = q.magnitude
            return {"value": m.tolist() if isinstance(m, np.ndarray) else float(m),
                    "unit": f"{q.units:~P}"}
        d = {k: enc(v) for k, v in self.outputs().items()}
        d["memory_capacity"] = enc(self.memory_capacity)
        b, f = self.bottleneck, self.feasible
        d["bottleneck"] = b.tolist() if isinstance(b, np.ndarray) else b
        d["feasible"] = f.tolist() if isinstance(f, np.ndarray) else bool(f)
        why = self.reason
        d["reason"] = why.tolist() if isinstance(why, np.ndarray) else why
        d.update(family=self.family, precision=self.precision, model=self.model.name,
                 hardware=self.hardware.name, notes=list(self.notes))
        return d

    @classmethod
    def json_schema(cls) -> dict:
        """JSON Schema (draft 2020-12) of :meth:`to_dict`'s output."""
        from ...export import result_schema
        return result_schema(cls.__name__, ("latency", "throughput", "memory_footprint",
                                            "memory_utilization", "memory_capacity"),
                             labels=("bottleneck", "reason"), flags=("feasible",),
                             strings=("family", "precision", "model", "hardware"),
                             lists=("notes",))

    def inputs(self) -> dict:
        """The inputs used, as quantities in each symbol's declared unit."""
        return {k: Q_(np.asarray(v) / base_factor(info(k).unit), info(k).unit)
                for k, v in self._inputs.items()}

    def registry_fields(self) -> list:
        """(registry object, field path) of every registry value this prediction used."""
        return list(self._fields)

    def __repr__(self):
        if self._ev.vectorised:
            return f"{type(self).__name__}({self.model.name} on {self.hardware.name}, vectorised)"
        return (f"{type(self).__name__}({self.model.name} on {self.hardware.name}: "
                f"latency={self.latency:.4g~P}, throughput={self.throughput:.4g~P}, "
                f"memory={self.memory_footprint.to('MB'):.4g~P}, feasible={self.feasible}, "
                f"bottleneck={self.bottleneck})")

