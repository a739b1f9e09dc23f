"""``predict_ssm``: serving a selective state-space model (Mamba) on one chip.

The SSM record (:mod:`mlsysim_sym.equations.ssm`) is composed once per process; a call turns the
registry model (layers, width, ``architecture.ssm``: d_state, d_conv, expand), the chip's roofs
and the calibrated serving efficiencies into base-unit magnitudes, evaluates the compiled
system (scalars or numpy arrays for ``batch`` and ``seq_len``) and wraps it in an
:class:`SSMPrediction`, whose fields carry the names of the LLM :class:`~mlsysim_sym.Prediction`
where they mean the same (``ttft``, ``time_per_output_token``, ``latency``, ``throughput``,
``memory_footprint``, ``feasible``, ``bottleneck``). There is no KV cache: ``state`` is the
batch's recurrent state, flat in the sequence length.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ... import checks, registry, vocabulary
from ...feasibility import memory_reason
from ...symbols import info
from ...units import Q_, base_factor
from .._core import inputs as _in, knobs
from .._core.result import Result

__all__ = ["predict_ssm", "SSMPrediction", "ssm_system"]

#: the output fields of an SSM prediction and the record's symbols they read
FIELDS = {"ttft": "ssm_ttft", "time_per_output_token": "ssm_time_per_output_token",
          "decode_throughput": "ssm_decode_throughput",
          "prefill_throughput": "ssm_prefill_throughput",
          "memory_footprint": "ssm_memory_footprint",
          "memory_utilization": "ssm_memory_utilization", "weights": "weight_bytes",
          "state": "ssm_state_bytes", "activations": "ssm_activation_bytes",
          "decode_flops": "ssm_decode_flops", "prefill_flops": "ssm_prefill_flops",
          "decode_bytes": "ssm_decode_bytes", "prefill_bytes": "ssm_prefill_bytes",
          "decode_compute_time": "ssm_decode_compute_time",
          "decode_memory_time": "ssm_decode_memory_time",
          "prefill_compute_time": "ssm_prefill_compute_time",
          "prefill_memory_time": "ssm_prefill_memory_time"}
#: the efficiency keys an SSM prediction uses (the LLM-only ones would be silently ignored)
_EFFICIENCY_KEYS = {"compute", "memory", "fixed_overhead", "compute_efficiency",
                    "memory_efficiency"}


@lru_cache(maxsize=1)
def ssm_system():
    """The SSM serving record as a system (walls 1 and 2 enter through its roofline terms)."""
    from ...equations import workloads
    from ...system import System
    return System.from_walls(workloads.ssm, name="ssm serving")


class SSMPrediction(Result):
    """Result of :func:`predict_ssm`; every attribute is a pint quantity (or bool / str).

    ``latency`` / ``throughput`` follow ``phase`` (time per output token and output tokens/s of
    the batch for decode; TTFT and prompt tokens/s for prefill), as for the LLM prediction.
    ``state`` is the batch's recurrent state (SSM state plus convolution window of every layer),
    ``weights`` and ``activations`` the other footprint terms; ``notes`` say what is assumed.
    """

    HEADLINE = ("latency", "throughput", "memory_footprint")
    family = "ssm"

    def __init__(self, evaluation, phase, model, hardware, precision, inputs, notes,
                 defaults_key=(None, None)):
        self._ev, self.phase, self.model, self.hardware = evaluation, phase, model, hardware
        self.precision, self._inputs, self.notes = precision, inputs, tuple(notes)
        self._defaults_key, self._cache = defaults_key, {}

    def _q(self, field):
        q = self._cache.get(field)
        if q is None:
            q = self._cache[field] = self._ev.quantity(FIELDS[field])
        return q

    def value(self, name):
        """Base-unit magnitude (float, or numpy array for a sweep; no pint) of an output, named
        by its field (``time_per_output_token``, ``latency``) or by the record's symbol
        (``ssm_ttft``); an input's name gives the input's magnitude."""
        if name in ("latency", "throughput"):
            name = {"latency": ("ttft", "time_per_output_token"),
                    "throughput": ("prefill_throughput", "decode_throughput")}[name][
                self.phase == "decode"]
        symbol = FIELDS.get(name, name)
        if symbol in self._ev.compiled.output_names:
            return self._ev.value(symbol)
        if name in self._inputs:
            return self._inputs[name]
        raise ValueError(f"SSMPrediction has no output or input {name!r}; outputs: "
                         f"{', '.join(FIELDS)}, latency, throughput")

    def base_inputs(self) -> dict:
        """``{input name: base-unit magnitude}`` of every input the evaluation used."""
        return dict(self._inputs)

    ttft = property(lambda self: self._q("ttft"), doc="time to first token (prefill pass)")
    time_per_output_token = property(lambda self: self._q("time_per_output_token"),
                                     doc="time per output token (one recurrent decode step)")
    memory_footprint = property(lambda self: self._q("memory_footprint"))
    memory_utilization = property(lambda self: self._q("memory_utilization"))
    weights = property(lambda self: self._q("weights"))
    state = property(lambda self: self._q("state"),
                     doc="the batch's recurrent state (constant in the sequence length)")
    activations = property(lambda self: self._q("activations"))
    decode_flops = property(lambda self: self._q("decode_flops"))
    prefill_flops = property(lambda self: self._q("prefill_flops"))
    decode_bytes_read = property(lambda self: self._q("decode_bytes"),
                                 doc="bytes one decode step moves (weights + state read and "
                                     "written)")

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
        return self._q("prefill_throughput" if self.phase == "prefill" else "decode_throughput")

    @property
    def feasible(self):
        u = self._ev.value("ssm_memory_utilization")
        return bool(u <= 1.0) if np.ndim(u) == 0 else np.asarray(u) <= 1.0

    @property
    def bottleneck(self):
        """Binding wall of the phase: "Compute" or "Memory" (bandwidth), or "Memory" when the
        footprint does not fit."""
        owner = FIELDS["ttft" if self.phase == "prefill" else "time_per_output_token"]
        bind, feas = self._ev.binding(owner), self.feasible
        if np.ndim(bind) == 0 and np.ndim(feas) == 0:
            return bind if feas else "Memory"
        bind, feas = np.broadcast_arrays(np.asarray(bind, dtype=object), np.asarray(feas))
        return np.where(feas, bind, "Memory")

    @property
    def reason(self):
        """One line: what does not fit and by how much (weights, state, activations), or how
        much of the memory a fitting configuration uses (an array of lines for a sweep)."""
        parts = {"weights": self.weights, "recurrent state": self.state,
                 "activations": self.activations}
        return memory_reason(self.memory_footprint, self.memory_capacity, parts=parts)

    @property
    def bottleneck_detail(self) -> str:
        if np.ndim(self.feasible) == 0 and not self.feasible:
            return (f"does not fit: footprint {self.memory_footprint.to('GB'):.4g~P} exceeds "
                    f"capacity {self.memory_capacity:.4g~P}")
        b = self.bottleneck
        if np.ndim(b):
            return "vectorised: see .bottleneck per point"
        kind = "compute-bound" if b == "Compute" else "memory-bandwidth-bound"
        return f"{self.phase} is {kind}"

    def outputs(self) -> dict:
        """Every output as a quantity (``latency`` and ``throughput`` of the phase included)."""
        out = {f: self._q(f) for f in FIELDS}
        out["latency"], out["throughput"] = self.latency, self.throughput
        return out

    def to_dict(self) -> dict:
        """JSON-ready dict: every output as {"value", "unit"}, plus bottleneck, feasible and
        reason, the phase, precision, model, hardware, family and notes."""
        def enc(q):
            m = q.magnitude
            return {"value": m.tolist() if isinstance(m, np.ndarray) else float(m),
                    "unit": f"{q.units:~P}"}
        d = {k: enc(v) for k, v in self.outputs().items()}
        d["memory_capacity"] = enc(self.memory_capacity)
        b, f, why = self.bottleneck, self.feasible, self.reason
        d["bottleneck"] = b.tolist() if isinstance(b, np.ndarray) else b
        d["feasible"] = f.tolist() if isinstance(f, np.ndarray) else bool(f)
        d["reason"] = why.tolist() if isinstance(why, np.ndarray) else why
        d.update(phase=self.phase, precision=self.precision, model=self.model.name,
                 hardware=self.hardware.name, family=self.family, notes=list(self.notes))
        return d

    @classmethod
    def json_schema(cls) -> dict:
        """JSON Schema (draft 2020-12) of :meth:`to_dict`'s output."""
        from ...export import result_schema
        return result_schema(cls.__name__, tuple(FIELDS) + ("latency", "throughput",
                                                            "memory_capacity"),
                             labels=("bottleneck", "reason"), flags=("feasible",),
                             strings=("phase", "precision", "model", "hardware", "family"),
                             lists=("notes",))

    def inputs(self) -> dict:
        """The inputs used, as quantities in each symbol's declared unit."""
        return {k: Q_(np.asarray(v) / base_factor(info(k).unit), info(k).unit)
                for k, v in self._inputs.items()}

    @property
    def system(self):
        """The composed system this prediction was computed with."""
        return ssm_system()

    def registry_fields(self) -> list:
        """(registry object, field path) of every registry value this prediction used."""
        used, _ = self.hardware.resolve_precision(self.precision) \
            if hasattr(self.hardware, "resolve_precision") else (self.precision, None)
        return [(self.hardware, f"peak.{used}"), (self.hardware, "memory.0.bandwidth"),
                (self.hardware, "memory.0.capacity"), (self.model, "layers"),
                (self.model, "hidden"), (self.model, "vocab"), (self.model, "ssm")]

    def defaults_used(self) -> dict:
        """``{symbol: defaults.Resolved}``: each calibrated serving default used (compute and
        memory efficiency, fixed overhead) and the entry it came from."""
        stack, efficiency = self._defaults_key
        rows = knobs.serving_defaults(self.hardware, self.precision, stack, efficiency)
        return {k: v for k, v in rows.items() if k in knobs.EFFICIENCY_INPUTS}

    def __repr__(self):
        if self._ev.vectorised:
            return f"SSMPrediction({self.model.name} on {self.hardware.name}, vectorised)"
        return (f"SSMPrediction({self.model.name} on {self.hardware.name}, {self.phase}: "
                f"latency={self.latency:.4g~P}, throughput={self.throughput:.4g~P}, "
                f"memory={self.memory_footprint.to('GB'):.4g~P}, feasible={self.feasible}, "
                f"bottleneck={self.bottleneck})")


_OUTPUTS = tuple(FIELDS.values())


def predict_ssm(model, hardware, *, batch=1, seq_len=2048, precision="fp16", phase="decode",
                efficiency=None, stack=None, state_precision=None) -> SSMPrediction:
    """Predict serving latency, throughput and memory of a Mamba (SSM) model on one chip.

    Parameters
    ----------
    model : str or Model
        A registry model of family ``ssm`` (with ``architecture.ssm``: d_state, d_conv, expand).
    hardware : str or Hardware
    batch : int or array of int
        Sequences decoded together [1, 1e6].
    seq_len : int or array of int
        Prompt length of the prefill phase [token]. A decode step does not depend on it (the
        recurrent state has a fixed size): it is the prompt the footprint's activation
        workspace is sized for, as for the LLM prediction.
    precision : str
        Storage and compute precision of weights and activations (fp16, bf16, fp8, ...).
    phase : {"decode", "prefill"}
        Which phase ``latency`` and ``throughput`` refer to (both are always computed).
    efficiency : float or dict, optional
        One achieved fraction of peak for compute and memory, or ``{"compute": ..,
        "memory": .., "fixed_overhead": "0.5 ms"}``; default: the calibrated serving values of
        the chip's generation and precision (the ones the vision and diffusion facades use).
    stack : str, optional
        The serving engine whose calibrated per-step overhead to use.
    state_precision : str, optional
        Storage precision of the recurrent state. Default: ``precision``, as the reference
        implementation allocates the state in the weights' dtype; ``"fp32"`` models an engine
        that keeps it in float32.

    Raises
    ------
    ValueError
        For a model that is not an SSM, bad knobs, an unknown precision or phase, or an
        efficiency key an SSM prediction does not use.
    """
    m = registry.model(model)
    if m.family != "ssm" or m.ssm is None:
        raise ValueError(f"predict_ssm() takes state-space (ssm) models with an architecture.ssm "
                         f"block; {m.name} is a {m.family} model (use predict())")
    hw = registry.hardware(hardware)
    precision = vocabulary.precision(precision).name
    state_precision = vocabulary.precision(state_precision or precision,
                                           what="state_precision").name
    if phase not in ("decode", "prefill"):
        raise ValueError(f"phase must be 'decode' or 'prefill', got {phase!r}")
    if isinstance(efficiency, dict) and set(efficiency) - _EFFICIENCY_KEYS:
        raise ValueError(f"unknown efficiency keys {sorted(set(efficiency) - _EFFICIENCY_KEYS)} "
                         "for an SSM model; allowed: compute, memory, fixed_overhead")
    b = checks.count("batch", batch, *info("batch").bounds)
    s = checks.count("seq_len", seq_len, *info("prompt_length").bounds)
    eff = knobs.efficiency_magnitudes(efficiency, hw, precision, knobs.check_stack(stack))
    weight_b, _kv_b, act_b = _in.precision_magnitudes(precision)[:3]
    state_b = _in.precision_magnitudes(state_precision)[2]
    shape = m.ssm
    values = {
        "parameters": knobs.magnitude("parameters", m.parameters),
        "layers": float(m.layers), "hidden": float(m.hidden),
        "ssm_inner_width": float(shape.expand * m.hidden),
        "ssm_state_size": float(shape.d_state), "ssm_conv_width": float(shape.d_conv),
        "bytes_per_parameter": weight_b, "activation_bytes_per_element": act_b,
        "ssm_state_bytes_per_element": state_b,
        "max_batched_tokens": _in.max_batched_tokens_magnitude(None),
        "batch": b, "prompt_length": s * base_factor(info("prompt_length").unit),
        # the SSM record charges all its FLOPs at wall 1's roof (its projections and scan are
        # not split): no matmul ceiling
        **{k: v for k, v in zip(_in.HARDWARE_INPUTS,
                                _in.cached(_in.hardware_magnitudes, hw, precision))
           if k not in ("matmul_ceiling", "head_peak_share")},
        **dict(zip(knobs.EFFICIENCY_INPUTS, eff)),
    }
    system = ssm_system()
    names = tuple(sorted(values))
    args = tuple(values[n] for n in names)
    vectorised = any(isinstance(a, np.ndarray) for a in args)
    if vectorised:
        checks.sweep_shape(*[(n, a) for n, a in zip(names, args) if isinstance(a, np.ndarray)],
                           arrays=len(_OUTPUTS) + len(args))
    ev = system.compile(_OUTPUTS, names).lazy(args, vectorised)
    notes = [f"recurrent state stored at {state_precision} (the reference implementation keeps "
             "the weights' dtype), d_conv columns of convolution window per channel",
             "no KV cache: a decode step and the footprint do not grow with the context length",
             "prefill traffic counts weights and the final state only: its memory time is a "
             "lower bound"]
    return SSMPrediction(ev, phase, m, hw, precision, dict(zip(names, args)), notes,
                         (stack, efficiency))
