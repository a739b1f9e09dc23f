"""Task-level facade for the workload families: diffusion, TinyML and vision/encoder forward passes.

``predict_diffusion``, ``predict_tinyml`` and ``predict_vision`` turn registry objects (or names)
into base-unit magnitudes, run the compiled system of their workload record (composed once per
process) and return a :class:`WorkloadPrediction` whose attributes are pint quantities created
lazily. Knobs (batch, steps, efficiencies) may be numpy arrays; they broadcast together.

Registry gaps are never filled silently: a stage or memory term the registry does not record is
either an error (what the prediction cannot do without) or left out with a line in
``result.notes`` (what only makes the prediction a bound). ``moe_inputs`` gives the inputs the MoE
record needs, for composing it with walls 1, 2 and 4.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np

from ... import checks, registry
from ...display import ResultDisplay
from ...equations import walls, workloads
from ...symbols import info
from ...system import System
from ... import vocabulary
from ...feasibility import memory_reason
from ...units import Q_, as_quantity, base_factor, parse_quantity, to_base

__all__ = ["predict_diffusion", "predict_tinyml", "predict_vision", "WorkloadPrediction",
           "moe_inputs", "workload_default"]

@lru_cache(maxsize=32)
def workload_default(name: str):
    """Default of an empirical symbol (``defaults.yaml``, with its provenance)."""
    from ...defaults import default
    return default(name)


def _b(name, value) -> float:
    """Base-unit magnitude of ``value`` (quantity, quantity string or number in name's unit)."""
    return checks.magnitude(name, value)


def _precision_bits(precision) -> int:
    return vocabulary.precision(precision).bits


def _numbers(name, value):
    """``value`` as a float (scalar) or a non-empty float array; a clear error otherwise."""
    return checks.number(name, value)


def _count(name, value, low, high):
    """A whole-number knob in [low, high] (scalar or array) as float or float array."""
    return checks.count(name, value, low, high)


def _positive(name, value, high=None):
    """A positive finite knob (at most ``high``), scalar or array."""
    return checks.number(name, value, low=0.0, low_open=True, high=high)


def _roofline_efficiency(efficiency, hardware=None, precision=None, model=None, stack=None):
    """(compute efficiency, memory efficiency, fixed overhead) as base magnitudes.

    Defaults are the serving-regime values of the chip's generation and precision; CNNs use the
    convolution variant (``compute_efficiency[serve-cnn]``); a named ``stack`` (framework) its
    own fixed overhead.
    """
    from ...defaults import VariantKey, default
    if isinstance(efficiency, dict) and "fixed_overhead" in efficiency:
        stack = None      # the stack only selects the overhead default, and it is given
    key = VariantKey.for_chip(hardware, precision, "serve", stack=stack)
    names = [key.name(n) for n in ("compute_efficiency", "memory_efficiency", "fixed_overhead")]
    if getattr(model, "family", None) == "cnn":
        names[0] = "compute_efficiency[serve-cnn]"
    comp, mem, over = (_b(n.split("[")[0], default(n)) for n in names)
    if efficiency is None:
        return comp, mem, over
    if isinstance(efficiency, dict):
        for key, v in efficiency.items():
            if key in ("compute", "compute_efficiency"):
                comp = _positive("compute efficiency", v, 1.0)
            elif key in ("memory", "memory_efficiency"):
                mem = _positive("memory efficiency", v, 1.0)
            elif key == "fixed_overhead":
                over = checks.quantity("fixed_overhead", v, info("fixed_overhead").unit, low=0.0)
            else:
                raise ValueError(f"unknown efficiency key {key!r}; allowed: compute, memory, "
                                 "fixed_overhead")
        return comp, mem, over
    eff = _positive("efficiency", efficiency, 1.0)
    return eff, eff, over


def _model(model, families, function):
    m = registry.model(model)
    if m.family not in families:
        raise ValueError(f"{function}() takes {', '.join(families)} models; {m.name} is a "
                         f"{m.family} model" + (" (use predict())" if m.family in
                                                 ("decoder", "moe", "ssm") else ""))
    return m


def _need(value, what, model):
    if value is None:
        raise ValueError(f"{model.name} has no {what} in the registry; add it (with a source) "
                         "to predict this model")
    return value


def _input_tensor_bytes(model, bits):
    """Bytes of the model's input tensor (resolution^2 x channels), or None if not recorded."""
    inp = model.input
    if inp is None or not inp.resolution or not inp.channels:
        return None
    return Q_(inp.resolution ** 2 * inp.channels * bits, "bit")


class WorkloadPrediction(ResultDisplay):
    """Result of a workload facade; attributes are pint quantities (or bool / str / arrays).

    Common attributes: ``latency``, ``throughput`` (samples/s: images/s or inferences/s),
    ``memory_footprint``, ``memory_capacity``, ``memory_utilization``, ``feasible``,
    ``bottleneck`` (binding wall name), ``notes`` (what the registry did not record). The
    family's own outputs are attributes too (see ``EXTRA``) and all are in :meth:`outputs`.
    """

    family = ""
    LATENCY = THROUGHPUT = FOOTPRINT = UTILIZATION = BINDING = ""
    EXTRA: dict = {}

    SAMPLE = "sample"

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
        kind = "compute-bound" if b == "Compute" else "memory-bandwidth-bound"
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

    def cite(self) -> str:
        from ...citations import cite
        return cite(self)

    def __repr__(self):
        if self._ev.vectorised:
            return f"{type(self).__name__}({self.model.name} on {self.hardware.name}, vectorised)"
        return (f"{type(self).__name__}({self.model.name} on {self.hardware.name}: "
                f"latency={self.latency:.4g~P}, throughput={self.throughput:.4g~P}, "
                f"memory={self.memory_footprint.to('MB'):.4g~P}, feasible={self.feasible}, "
                f"bottleneck={self.bottleneck})")


class DiffusionPrediction(WorkloadPrediction):
    """``latency`` is the time to generate the whole batch; ``throughput`` images/s."""

    family, SAMPLE = "diffusion", "image"
    LATENCY, THROUGHPUT = "diffusion_latency", "image_throughput"
    FOOTPRINT, UTILIZATION, BINDING = ("diffusion_memory_footprint",
                                       "diffusion_memory_utilization", "diffusion_step_time")
    EXTRA = {"step_time": "diffusion_step_time", "text_encoder_time": "diffusion_text_encoder_time",
             "vae_decoder_time": "diffusion_vae_decoder_time", "flops": "diffusion_flops",
             "step_flops": "diffusion_step_flops", "weights": "weight_bytes"}

    @property
    def time_per_image(self):
        """Latency / batch = 1 / throughput [s/image] (the batch's images finish together)."""
        return (1 / self.throughput).to("s/image")


class TinyMLPrediction(WorkloadPrediction):
    """``latency`` of one inference; ``throughput`` inferences/s; footprint = SRAM footprint."""

    family, SAMPLE = "tinyml", "inference"
    LATENCY, THROUGHPUT = "tinyml_latency", "tinyml_throughput"
    FOOTPRINT, UTILIZATION, BINDING = ("tinyml_sram_footprint", "tinyml_sram_utilization",
                                       "tinyml_latency")
    EXTRA = {"compute_time": "tinyml_compute_time", "weight_read_time": "tinyml_weight_read_time",
             "sram_footprint": "tinyml_sram_footprint", "flash_footprint": "tinyml_flash_footprint",
             "sram_utilization": "tinyml_sram_utilization",
             "flash_utilization": "tinyml_flash_utilization",
             "weight_bandwidth": "tinyml_weight_bandwidth", "weights": "weight_bytes"}

    def _fits(self):
        return (np.asarray(self._ev.value("tinyml_sram_utilization")) <= 1.0) & \
               (np.asarray(self._ev.value("tinyml_flash_utilization")) <= 1.0)

    @property
    def bottleneck_detail(self) -> str:
        if np.ndim(self.feasible) == 0 and not self.feasible:
            if self.sram_utilization.magnitude > 1:
                return (f"does not fit: SRAM footprint {self.sram_footprint.to('KiB'):.4g~P} "
                        f"exceeds SRAM {self.memory_capacity.to('KiB'):.4g~P}")
            flash = self._inputs["mcu_flash_capacity"] / base_factor("KiB")
            return (f"does not fit: weights {self.flash_footprint.to('KiB'):.4g~P} exceed "
                    f"flash {flash:.4g} KiB")
        return super().bottleneck_detail

    @property
    def weights_in_sram(self):
        w = np.asarray(self._ev.value("tinyml_flash_footprint")) == 0
        return bool(w) if np.ndim(w) == 0 else w


class VisionPrediction(WorkloadPrediction):
    """``latency`` of the batch's forward pass; ``throughput`` images (or sequences)/s."""

    family = "vision"
    LATENCY, THROUGHPUT = "encoder_latency", "encoder_throughput"
    FOOTPRINT, UTILIZATION, BINDING = ("encoder_memory_footprint", "encoder_memory_utilization",
                                       "encoder_latency")
    EXTRA = {"flops": "encoder_flops", "bytes_moved": "encoder_bytes",
             "compute_time": "encoder_compute_time", "memory_time": "encoder_memory_time",
             "weights": "weight_bytes"}


def _known_fields(pairs):
    out = []
    for obj, path in pairs:
        try:
            obj.provenance(path)
        except Exception:  # a field the entry does not have
            continue
        out.append((obj, path))
    return out


def _run(system, outputs, names, values):
    """Compile ``outputs`` of ``system`` on ``names`` (cached) and evaluate ``values`` lazily."""
    args = tuple(values[n] for n in names)
    vectorised = any(isinstance(a, np.ndarray) for a in args)
    if vectorised:
        checks.sweep_shape(*[(n, a) for n, a in zip(names, args) if isinstance(a, np.ndarray)],
                           arrays=len(outputs) + len(args))
    return system.compile(outputs, names).lazy(args, vectorised), dict(zip(names, args))


def _hardware_roofs(hw, precision):
    peak = hw.peak_flops(precision)
    if hw.memory_bandwidth is None:
        raise ValueError(f"{hw.name} has no main-memory bandwidth in the registry")
    return {"peak_flops": _b("peak_flops", peak),
            "memory_bandwidth": _b("memory_bandwidth", hw.memory_bandwidth),
            "memory_capacity": _b("memory_capacity", hw.memory_capacity)}


# ------------------------------------------------------------------------------------ diffusion
@lru_cache(maxsize=1)
def diffusion_system() -> System:
    return System.from_walls(workloads.diffusion, name="diffusion")


_DIFFUSION_OUT = ("diffusion_latency", "image_throughput", "diffusion_memory_footprint",
                  "diffusion_memory_utilization", *DiffusionPrediction.EXTRA.values())


def predict_diffusion(model, hardware, *, batch=1, steps=None, precision="fp16",
                      efficiency=None) -> DiffusionPrediction:
    """Predict image generation time, images/s and memory of a diffusion model on one chip.

    Parameters
    ----------
    model, hardware : str or registry object
    batch : int or array of int
        Images generated together [1, 1e6].
    steps : int or array of int, optional
        Denoising steps; the registry's default sampler length when None.
    precision : str
        Weight and compute precision (fp16, bf16, fp8, ...).
    efficiency : float or dict, optional
        As :func:`mlsysim_sym.predict`: one fraction for compute and memory, or
        ``{"compute": .., "memory": .., "fixed_overhead": "1 ms"}``.

    Raises
    ------
    ValueError
        For a non-diffusion model, bad knobs, or a model without backbone FLOPs or parameters.
    """
    m = _model(model, ("diffusion",), "predict_diffusion")
    hw = registry.hardware(hardware)
    bits = _precision_bits(precision)
    d = m.diffusion
    knobs = {"batch": _count("batch", batch, *info("batch").bounds),
             "diffusion_steps": _count("steps", d.steps if steps is None else steps,
                                       *info("diffusion_steps").bounds)}
    flops = _need(d.backbone_flops_per_step, "diffusion.backbone_flops_per_step (per-step "
                  "backbone compute)", m).quantity
    params = _need(m.parameters, "published_params (backbone weights)", m)
    notes = []
    if d.text_encoder_flops is None:
        notes.append("text encoder compute not in the registry: omitted")
    if d.vae_decoder_flops is None:
        notes.append("VAE decoder compute not in the registry: omitted")
    notes.append("text encoder and VAE decoder weights not in the registry: their memory time and "
                 "footprint are omitted (footprint = backbone weights)")
    values = {
        "parameters": _b("parameters", params),
        "bytes_per_parameter": _b("bytes_per_parameter", Q_(bits, "bit/param")),
        "diffusion_backbone_flops": _b("diffusion_backbone_flops", flops),
        "diffusion_text_encoder_flops": _b("diffusion_text_encoder_flops",
                                           d.text_encoder_flops.quantity if d.text_encoder_flops
                                           else Q_(0, "FLOP")),
        "diffusion_vae_decoder_flops": _b("diffusion_vae_decoder_flops",
                                          d.vae_decoder_flops.quantity if d.vae_decoder_flops
                                          else Q_(0, "FLOP")),
        "diffusion_text_encoder_bytes": 0.0, "diffusion_vae_decoder_bytes": 0.0,
        "guidance_passes": 2.0 if d.cfg else 1.0, **knobs, **_hardware_roofs(hw, precision),
    }
    values.update(zip(("compute_efficiency", "memory_efficiency", "fixed_overhead"),
                      _roofline_efficiency(efficiency, hw, precision.lower())))
    system = diffusion_system()
    ev, used = _run(system, _DIFFUSION_OUT, tuple(sorted(values)), values)
    fields = _known_fields([(hw, f"peak.{precision.lower()}"), (hw, "memory.0.bandwidth"),
                            (hw, "memory.0.capacity"), (m, "published_params"),
                            (m, "diffusion.backbone_flops_per_step"), (m, "diffusion")])
    return DiffusionPrediction(ev, system, m, hw, precision.lower(), used,
                               hw.memory_capacity, notes, fields)


# ------------------------------------------------------------------------------------ tinyml
@lru_cache(maxsize=1)
def tinyml_system() -> System:
    return System.from_walls(workloads.tinyml, name="tinyml")


_TINYML_OUT = ("tinyml_latency", "tinyml_throughput", *TinyMLPrediction.EXTRA.values())


def _tier(hw, kind):
    return next((t for t in hw.memory_tiers if t.tier == kind), None)


def predict_tinyml(model, hardware, *, precision="int8", efficiency=None, stack=None,
                   clock=None) -> TinyMLPrediction:
    """Predict one inference's latency, SRAM/flash placement and feasibility on a microcontroller.

    Parameters
    ----------
    model : str or Model
        A model with published MACs (or FLOPs) and parameters (tinyml, cnn, vit families).
    hardware : str or Hardware
        A device with an SRAM memory tier and a clock (an MCU).
    precision : str
        Weight precision (int8 by default: 1 byte per weight).
    efficiency : float or dict, optional
        A float is the achieved fraction of the chip's peak MAC rate at ``precision`` (so
        cycles per MAC = clock x 2 FLOP/MAC / (peak x fraction)); a dict may set
        ``cycles_per_mac``, ``flash_bytes_per_cycle`` and ``fixed_overhead``. Default: the
        fraction ``tinyml_mac_efficiency`` of the registry's peak (``tinyml_cycles_per_mac`` for
        a chip without a peak), calibrated per software stack (see ``workload_default``).
    stack : str, optional
        The inference engine (``cmsis_nn``, ``tflm_mvp``, ``x_cube_ai``, ``plumerai``,
        ``gap_sdk``, ``hale``, ...): the MAC efficiency is calibrated per stack, which moves
        MCU latency as much as the clock does. Default: the generic (pooled) value.
    clock : quantity or str, optional
        Core clock the device runs at when below its registry maximum (the peak scales with
        it), e.g. ``"240 MHz"``.
    """
    m = _model(model, ("tinyml", "cnn", "vit"), "predict_tinyml")
    hw = registry.hardware(hardware)
    bits = _precision_bits(precision)
    sram, flash = _tier(hw, "sram"), _tier(hw, "flash")
    if sram is None or sram.bandwidth is None or hw.clock is None:
        raise ValueError(f"{hw.name} has no SRAM tier with a bandwidth and a clock: "
                         "predict_tinyml() needs a microcontroller (use predict_vision())")
    macs = _need(m.flops_per_inference, "published MACs or FLOPs", m).to("MAC")
    params = _need(m.parameters, "published_params", m)
    notes = []
    act = m.peak_activation_memory
    if act is None:
        act = _input_tensor_bytes(m, bits) or Q_(0, "B")
        notes.append(f"peak activation memory not in the registry: the input tensor "
                     f"({act.to('B'):.0f~P}; 0 B when the input size is not recorded either) "
                     "is used as a lower bound, so feasibility is optimistic")
    hw_clock = hw.clock
    try:
        peak = hw.peak_flops(precision)
    except registry.PrecisionError:
        peak = None
    if clock is not None:
        top = float(hw.clock.to("MHz").magnitude)
        q = Q_(checks.quantity("clock", clock, "MHz", low=0.0, low_open=True,
                               high=top * (1 + 1e-9)) / base_factor("MHz"), "MHz")
        if not np.all((q / hw.clock).to("").magnitude <= 1.0 + 1e-9):
            raise ValueError(f"clock must be positive and at most {hw.name}'s {hw.clock:~P}, "
                             f"got {clock!r}")
        if peak is not None:
            peak = peak * (q / hw.clock).to("")
        hw_clock = q
        notes.append(f"clock {q:~P} (registry maximum {hw.clock:~P}): peak scaled with it")
    clock = _b("mcu_clock_frequency", hw_clock)
    if stack is not None and (not isinstance(stack, str)
                              or not re.fullmatch(r"[a-z0-9][a-z0-9._+_-]{0,40}", stack)):
        raise ValueError(f"stack must be a lower-case name such as 'cmsis_nn', got {stack!r}")
    mac_default = f"tinyml_mac_efficiency[{stack}]" if stack else "tinyml_mac_efficiency"
    mac_given = efficiency is not None and (not isinstance(efficiency, dict)
                                            or "cycles_per_mac" in efficiency)
    if stack is not None and not mac_given:
        from ...defaults import check_stack
        check_stack(stack, "tinyml_mac_efficiency")   # a stack with a calibrated MAC rate

    def cycles(fraction):  # cycles per MAC at ``fraction`` of the device's peak MAC rate
        return _b("tinyml_cycles_per_mac", (hw_clock / (peak * fraction)).to("1/MAC"))

    if peak is not None:
        cpm = cycles(workload_default(mac_default).to("").magnitude)
    else:
        cpm = _b("tinyml_cycles_per_mac", workload_default("tinyml_cycles_per_mac"))
        notes.append(f"{hw.name} has no {precision} peak: default cycles per MAC used")
    over = _b("fixed_overhead", Q_(0, "ms"))
    if flash is not None and flash.bandwidth is not None:
        # B/s over 1/s at the registry clock: base bits per cycle (flash scales with the clock)
        fbpc = to_base(flash.bandwidth) / _b("mcu_clock_frequency", hw.clock)
    else:
        fbpc = _b("mcu_flash_read_bytes_per_cycle",
                  workload_default("mcu_flash_read_bytes_per_cycle"))
        notes.append("flash bandwidth not in the registry: default bytes per cycle x clock")
    if flash is None:
        notes.append("no flash tier recorded: flash capacity not checked")
    if isinstance(efficiency, dict):
        for key, v in efficiency.items():
            if key == "cycles_per_mac":
                cpm = _b("tinyml_cycles_per_mac", _positive("cycles_per_mac", v)
                         if not isinstance(v, str) else v)
            elif key == "flash_bytes_per_cycle":
                fbpc = _b("mcu_flash_read_bytes_per_cycle", _positive("flash_bytes_per_cycle", v)
                          if not isinstance(v, str) else v)
            elif key == "fixed_overhead":
                over = checks.quantity("fixed_overhead", v, info("fixed_overhead").unit, low=0.0)
            else:
                raise ValueError(f"unknown efficiency key {key!r}; allowed: cycles_per_mac, "
                                 "flash_bytes_per_cycle, fixed_overhead")
    elif efficiency is not None:
        if peak is None:
            raise ValueError(f"{hw.name} has no {precision} peak: pass efficiency="
                             "{'cycles_per_mac': ...} instead of a fraction of peak")
        cpm = cycles(_positive("efficiency", efficiency, 1.0))
    values = {
        "parameters": _b("parameters", params),
        "bytes_per_parameter": _b("bytes_per_parameter", Q_(bits, "bit/param")),
        "tinyml_macs": _b("tinyml_macs", macs),
        "tinyml_peak_activation_bytes": _b("tinyml_peak_activation_bytes", act),
        "mcu_clock_frequency": clock, "tinyml_cycles_per_mac": cpm,
        "mcu_sram_capacity": _b("mcu_sram_capacity", sram.capacity),
        "mcu_sram_bandwidth": _b("mcu_sram_bandwidth", sram.bandwidth),
        "mcu_flash_capacity": _b("mcu_flash_capacity", flash.capacity) if flash else math.inf,
        "mcu_flash_read_bytes_per_cycle": fbpc, "fixed_overhead": over,
    }
    system = tinyml_system()
    ev, used = _run(system, _TINYML_OUT, tuple(sorted(values)), values)
    i_sram, i_flash = hw.memory_tiers.index(sram), hw.memory_tiers.index(flash) if flash else None
    fields = _known_fields([(hw, "clock"), (hw, f"memory.{i_sram}.capacity"),
                            (hw, f"memory.{i_sram}.bandwidth"), (m, "published_params"),
                            (m, "published_macs"), (m, "published_flops"),
                            (m, "peak_activation_memory")]
                           + ([(hw, f"memory.{i_flash}.capacity")] if flash else []))
    return TinyMLPrediction(ev, system, m, hw, precision.lower(), used, sram.capacity, notes,
                            fields)


# ------------------------------------------------------------------------------------ vision
@lru_cache(maxsize=2)
def vision_system(architecture: bool) -> System:
    """The encoder record; without the per-sample equations when FLOPs are published."""
    w = workloads.encoders
    if architecture:
        return System.from_walls(w, name="encoder")
    from ...equations.encoders import PER_SAMPLE
    return System([e for e in w.equations if e.name not in PER_SAMPLE], w.constraints, (w,),
                  name="vision")


_VISION_OUT = ("encoder_latency", "encoder_throughput", "encoder_memory_footprint",
               "encoder_memory_utilization", *VisionPrediction.EXTRA.values())


def predict_vision(model, hardware, *, batch=1, precision="fp16", efficiency=None,
                   seq_len=None, stack=None) -> VisionPrediction:
    """Predict a CNN / ViT / encoder forward pass: latency, images (sequences)/s, memory.

    Transformer encoders with an architecture (BERT) derive FLOPs and activation traffic from
    layers, width and sequence length; CNNs and ViTs use their published FLOPs (MACs x 2) with
    the input tensor as compulsory activation traffic.

    Parameters
    ----------
    model, hardware : str or registry object
    batch : int or array of int
        Images (or sequences) per forward pass [1, 1e6].
    precision : str
        Weight and activation precision.
    efficiency : float or dict, optional
        As :func:`mlsysim_sym.predict`.
    seq_len : int, optional
        Encoders only: tokens per sequence (default: the registry's input.seq_len, else
        max_context).
    stack : str, optional
        The framework (``tensorrt``, ``mxnet``, ...): its calibrated per-pass overhead.
    """
    m = _model(model, ("encoder", "cnn", "vit", "tinyml"), "predict_vision")
    hw = registry.hardware(hardware)
    bits = _precision_bits(precision)
    params = _need(m.parameters, "parameters", m)
    per_elem = Q_(bits, "bit")
    notes = []
    values = {"parameters": _b("parameters", params),
              "bytes_per_parameter": _b("bytes_per_parameter", Q_(bits, "bit/param")),
              "batch": _count("batch", batch, *info("batch").bounds),
              **_hardware_roofs(hw, precision)}
    if stack is not None and (not isinstance(stack, str)
                              or not re.fullmatch(r"[a-z0-9][a-z0-9._+_-]{0,40}", stack)):
        raise ValueError(f"stack must be a lower-case name such as 'tensorrt', got {stack!r}")
    values.update(zip(("compute_efficiency", "memory_efficiency", "fixed_overhead"),
                      _roofline_efficiency(efficiency, hw, precision.lower(), m, stack)))
    architecture = m.family == "encoder"
    if architecture:
        parts = m.parameter_breakdown()
        dense = sum(v for k, v in parts.items()
                    if k not in ("embedding", "position_embedding", "type_embedding"))
        s = seq_len if seq_len is not None else (m.input.seq_len if m.input and m.input.seq_len
                                                 else m.max_context)
        values.update({
            "encoder_dense_parameters": _b("encoder_dense_parameters", Q_(dense, "param")),
            "encoder_sequence_length": _count("seq_len", _need(s, "input.seq_len", m),
                                              *info("encoder_sequence_length").bounds),
            "layers": float(m.layers), "heads": float(m.heads), "head_dim": float(m.head_dim),
            "hidden": float(m.hidden),
            "ffn_width": float((2 if m.ffn_gated else 1) * m.ffn),
            "activation_bytes_per_element": _b("activation_bytes_per_element", per_elem)})
    else:
        if seq_len is not None:
            raise ValueError("seq_len applies to transformer encoders only")
        flops = _need(m.flops_per_inference, "published FLOPs or MACs", m)
        inp = _input_tensor_bytes(m, bits)
        if inp is None:
            inp = Q_(0, "B")
            notes.append("input tensor size not in the registry: activation traffic omitted")
        act = m.peak_activation_memory
        if act is None:
            act = inp
            notes.append("peak activation memory not in the registry: the input tensor is used "
                         "(footprint is a lower bound)")
        notes.append("activation traffic = the input tensor (compulsory traffic): memory time is "
                     "a lower bound")
        values.update({
            "encoder_dense_parameters": _b("encoder_dense_parameters", params),
            "encoder_sample_flops": _b("encoder_sample_flops", flops),
            "encoder_sample_activation_traffic": _b("encoder_sample_activation_traffic", inp),
            "encoder_sample_activation_bytes": _b("encoder_sample_activation_bytes", act)})
    system = vision_system(architecture)
    ev, used = _run(system, _VISION_OUT, tuple(sorted(values)), values)
    fields = _known_fields([(hw, f"peak.{precision.lower()}"), (hw, "memory.0.bandwidth"),
                            (hw, "memory.0.capacity"), (m, "published_params"),
                            (m, "published_macs"), (m, "published_flops"), (m, "architecture")])
    return VisionPrediction(ev, system, m, hw, precision.lower(), used, hw.memory_capacity, notes,
                            fields, sample="sequence" if architecture else "image")


# ------------------------------------------------------------------------------------ MoE inputs
def moe_inputs(model) -> dict:
    """Inputs of the MoE record for a registry MoE model, as quantities.

    ``moe_dense_parameters`` is everything outside the routed and shared experts, so that the
    record's ``parameters`` and ``active_parameters`` equal the registry's derived counts.
    """
    from ...registry import params as _params
    m = registry.model(model)
    if m.family != "moe" or m.moe is None:
        raise ValueError(f"{m.name} is not a mixture-of-experts model")
    expert = _params.ffn_parameters(m, m.moe.expert_ffn)
    total = sum(m.parameter_breakdown().values())
    layers, experts, shared = m.moe_layers, m.moe.experts, m.moe.shared_experts
    return {"moe_dense_parameters": Q_(total - layers * (experts + shared) * expert, "param"),
            "moe_expert_parameters": Q_(expert, "param"), "moe_experts": experts,
            "experts_per_token": m.moe.experts_per_token, "moe_shared_experts": shared,
            "moe_layers": layers}
