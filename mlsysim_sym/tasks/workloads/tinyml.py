"""One inference on a microcontroller: :func:`predict_tinyml` and its result.

Compute is (MACs + fully connected MACs x their extra slots + depthwise MACs x theirs (CMSIS-NN
stacks) + output elements x the requantization epilogue) x cycles per MAC at the core clock (a core other than the dual-issue
Cortex-M7 reaches its CoreMark/MHz over the M7's share of its dual-MAC peak); weights stay in SRAM when they fit beside
the peak activations, else they stream from flash at its bytes per cycle. Cycles per MAC come
from the chip's peak MAC rate and the calibrated MAC efficiency of the inference engine
(``stack``), or from a generic default for a chip without a recorded peak.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ... import checks, registry
from ...checks import magnitude
from ...defaults import VariantKey, check_stack
from ...symbols import info
from ...units import Q_, base_factor, to_base
from .common import (check_stack_name, evaluate, input_tensor_bytes, known_fields, need,
                     precision_bits, workload_default, workload_model)
from .result import WorkloadPrediction

__all__ = ["predict_tinyml", "TinyMLPrediction", "tinyml_system"]


class TinyMLPrediction(WorkloadPrediction):
    """``latency`` of one inference; ``throughput`` inferences/s; footprint = SRAM footprint;
    ``energy`` of one inference (active power x latency; NaN when no power is recorded)."""

    family, SAMPLE = "tinyml", "inference"
    LATENCY, THROUGHPUT = "tinyml_latency", "tinyml_throughput"
    FOOTPRINT, UTILIZATION, BINDING = ("tinyml_sram_footprint", "tinyml_sram_utilization",
                                       "tinyml_latency")
    EXTRA = {"compute_time": "tinyml_compute_time", "weight_read_time": "tinyml_weight_read_time",
             "sram_footprint": "tinyml_sram_footprint", "flash_footprint": "tinyml_flash_footprint",
             "sram_utilization": "tinyml_sram_utilization",
             "flash_utilization": "tinyml_flash_utilization",
             "weight_bandwidth": "tinyml_weight_bandwidth", "weights": "weight_bytes",
             "energy": "tinyml_energy"}

    def outputs(self) -> dict:
        """Every output; ``energy`` only when the chip's active power is recorded (else the
        attribute is NaN and tables and JSON leave it out)."""
        out = super().outputs()
        if np.all(np.isnan(np.asarray(self.value("tinyml_energy"), dtype=float))):
            out.pop("energy", None)
        return out

    def _fits(self):
        return (np.asarray(self.value("tinyml_sram_utilization")) <= 1.0) & \
               (np.asarray(self.value("tinyml_flash_utilization")) <= 1.0)

    @property
    def bottleneck_detail(self) -> str:
        if np.ndim(self.feasible) == 0 and not self.feasible:
            if self.sram_utilization.magnitude > 1:
                return (f"does not fit: SRAM footprint {self.sram_footprint.to('KiB'):.4g~P} "
                        f"exceeds SRAM {self.memory_capacity.to('KiB'):.4g~P}")
            flash = self.value("mcu_flash_capacity") / base_factor("KiB")
            return (f"does not fit: weights {self.flash_footprint.to('KiB'):.4g~P} exceed "
                    f"flash {flash:.4g} KiB")
        return super().bottleneck_detail

    @property
    def weights_in_sram(self):
        w = np.asarray(self.value("tinyml_flash_footprint")) == 0
        return bool(w) if np.ndim(w) == 0 else w


@lru_cache(maxsize=1)
def tinyml_system():
    """The TinyML workload record, composed once per process."""
    from ...equations import workloads
    from ...system import System
    return System.from_walls(workloads.tinyml, name="tinyml")


_TINYML_OUT = ("tinyml_latency", "tinyml_throughput", *TinyMLPrediction.EXTRA.values())


def _mcu_tiers(hw):
    """(SRAM tier, flash tier or None) of a microcontroller; an error for another device."""
    sram, flash = (next((t for t in hw.memory_tiers if t.tier == kind), None)
                   for kind in ("sram", "flash"))
    if sram is None or sram.bandwidth is None or hw.clock is None:
        raise ValueError(f"{hw.name} has no SRAM tier with a bandwidth and a clock: "
                         "predict_tinyml() needs a microcontroller (use predict_vision())")
    return sram, flash


def _activation_bytes(m, bits, notes):
    act = m.peak_activation_memory
    if act is None:
        act = input_tensor_bytes(m, bits) or Q_(0, "B")
        notes.append(f"peak activation memory not in the registry: the input tensor "
                     f"({act.to('B'):.0f~P}; 0 B when the input size is not recorded either) "
                     "is used as a lower bound, so feasibility is optimistic")
    return act


def _peak_at_clock(hw, precision, clock, notes):
    """(peak FLOP/s at ``precision`` or None, core clock): the registry's, or both scaled
    down to a given ``clock``."""
    try:
        peak = hw.peak_flops(precision)
    except registry.PrecisionError:
        peak = None
    if clock is None:
        return peak, hw.clock
    top = float(hw.clock.to("MHz").magnitude)
    q = Q_(checks.quantity("clock", clock, "MHz", low=0.0, low_open=True,
                           high=top * (1 + 1e-9)) / base_factor("MHz"), "MHz")
    if not np.all((q / hw.clock).to("").magnitude <= 1.0 + 1e-9):
        raise ValueError(f"clock must be positive and at most {hw.name}'s {hw.clock:~P}, "
                         f"got {clock!r}")
    if peak is not None:
        peak = peak * (q / hw.clock).to("")
    notes.append(f"clock {q:~P} (registry maximum {hw.clock:~P}): peak scaled with it")
    return peak, q


def _issue_fraction(hw, stack, notes) -> float:
    """Share of the ISA peak an int8 loop can issue on the chip's CPU family (1 when the stack
    offloads the MACs to an accelerator, or the family is not in the table)."""
    from ...equations.tinyml import CORE_ISSUE_FRACTION, OFFLOAD_STACKS, core_family
    family = core_family(hw.isa)
    if stack in OFFLOAD_STACKS or family not in CORE_ISSUE_FRACTION:
        return 1.0
    fraction = CORE_ISSUE_FRACTION[family][0]
    if fraction < 1.0:
        notes.append(f"{family} issues the int8 loop's integer code at {fraction:.3g} of the "
                     "dual-issue Cortex-M7's rate (CoreMark/MHz ratio): that share of the "
                     "registry peak")
    return fraction


def _dense(m, hw, stack, notes) -> tuple:
    """(dense MACs, extra slots per dense MAC) of the model on the chip's CPU family (no extra
    when the stack offloads the MACs or the family runs no SIMD kernel)."""
    from ...equations.tinyml import DENSE_EXTRA_SLOTS, OFFLOAD_STACKS, core_family
    if m.dense_macs is None:
        notes.append("fully connected MACs not in the registry: no dense-layer extra counted")
        return 0.0, 0.0
    family = core_family(hw.isa)
    if stack in OFFLOAD_STACKS or family not in DENSE_EXTRA_SLOTS:
        return m.dense_macs, 0.0
    return m.dense_macs, DENSE_EXTRA_SLOTS[family][0]


def _depthwise(m, hw, stack, notes) -> tuple:
    """(depthwise MACs, extra slots per depthwise MAC): the extra only where a stack running
    CMSIS-NN's kernels (``CMSIS_NN_STACKS``) runs them on a DSP-extension core."""
    from ...equations.tinyml import CMSIS_NN_STACKS, DEPTHWISE_EXTRA_SLOTS, core_family
    if m.depthwise_macs is None:
        return 0.0, 0.0
    family = core_family(hw.isa)
    if stack not in CMSIS_NN_STACKS or family not in DEPTHWISE_EXTRA_SLOTS:
        return m.depthwise_macs, 0.0
    extra = DEPTHWISE_EXTRA_SLOTS[family][0]
    notes.append(f"CMSIS-NN's 3x3 depthwise kernel: each depthwise MAC costs {1 + extra:.3g} "
                 "convolution MACs on this core (operand-by-operand half-word MACs)")
    return m.depthwise_macs, extra


def _cycles_per_mac(clock, peak, fraction) -> float:
    """Cycles per MAC at ``fraction`` of the device's peak MAC rate (base magnitude)."""
    return magnitude("tinyml_cycles_per_mac", (clock / (peak * fraction)).to("1/MAC"))


def _default_cycles(hw, precision, efficiency, stack, peak, clock, notes) -> float:
    """Cycles per MAC from the calibrated MAC efficiency (of ``stack``) x the issue-limited
    peak, or the generic default for a chip without a ``precision`` peak."""
    mac_default = f"tinyml_mac_efficiency[{stack}]" if stack else "tinyml_mac_efficiency"
    mac_given = efficiency is not None and (not isinstance(efficiency, dict)
                                            or "cycles_per_mac" in efficiency)
    if stack is not None and not mac_given:
        check_stack(stack, "tinyml_mac_efficiency")   # a stack with a calibrated MAC rate
    if peak is not None:
        return _cycles_per_mac(clock, peak, workload_default(mac_default).to("").magnitude)
    cpm = magnitude("tinyml_cycles_per_mac", workload_default("tinyml_cycles_per_mac"))
    notes.append(f"{hw.name} has no {precision} peak: default cycles per MAC used")
    return cpm


def _flash_bytes_per_cycle(hw, flash, notes) -> float:
    if flash is not None and flash.bandwidth is not None:
        # B/s over 1/s at the registry clock: base bits per cycle (flash scales with the clock)
        fbpc = to_base(flash.bandwidth) / magnitude("mcu_clock_frequency", hw.clock)
    else:
        fbpc = magnitude("mcu_flash_read_bytes_per_cycle",
                         workload_default("mcu_flash_read_bytes_per_cycle"))
        notes.append("flash bandwidth not in the registry: default bytes per cycle x clock")
    if flash is None:
        notes.append("no flash tier recorded: flash capacity not checked")
    return fbpc


def _given(efficiency, hw, precision, peak, clock, rates):
    """(cycles per MAC, flash bytes per cycle, fixed overhead): ``rates`` with what
    ``efficiency`` (a fraction of peak, or a dict) sets."""
    cpm, fbpc, over = rates
    if isinstance(efficiency, dict):
        for key, v in efficiency.items():
            if key == "cycles_per_mac":
                cpm = magnitude("tinyml_cycles_per_mac", checks.number(
                    "cycles_per_mac", v, low=0.0, low_open=True) if not isinstance(v, str) else v)
            elif key == "flash_bytes_per_cycle":
                fbpc = magnitude("mcu_flash_read_bytes_per_cycle", checks.number(
                    "flash_bytes_per_cycle", v, low=0.0, low_open=True)
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
        cpm = _cycles_per_mac(clock, peak, checks.fraction("efficiency", efficiency))
    return cpm, fbpc, over


def _output_elements(m, notes) -> float:
    """Activation elements the model's layers write (0, with a note, when not published)."""
    if m.output_elements is None:
        notes.append("output elements not in the registry: the per-output requantization "
                     "epilogue is not counted (latency is optimistic)")
        return 0.0
    return float(m.output_elements)


def _active_power(hw, clock, notes) -> float:
    """Run-mode power at ``clock`` (base magnitude): the registry's active power (``tdp`` of an
    MCU: datasheet run current x supply voltage at the maximum clock) scaled with the clock
    (dynamic power at a fixed voltage is proportional to it); NaN when none is recorded."""
    if hw.tdp is None:
        notes.append(f"{hw.name} has no active power in the registry: energy per inference "
                     "is not predicted")
        return math.nan
    scale = (Q_(1.0, "dimensionless") * clock / hw.clock).to("").magnitude
    return magnitude("mcu_active_power", hw.tdp) * scale


def _fields(hw, m, sram, flash):
    i_sram = hw.memory_tiers.index(sram)
    flash_field = [(hw, f"memory.{hw.memory_tiers.index(flash)}.capacity")] if flash else []
    return known_fields([(hw, "clock"), (hw, f"memory.{i_sram}.capacity"),
                         (hw, f"memory.{i_sram}.bandwidth"), (m, "published_params"),
                         (m, "published_macs"), (m, "published_flops"),
                         (m, "peak_activation_memory"), (m, "published_dense_macs"),
                         (m, "published_depthwise_macs")] + flash_field)


def predict_tinyml(model, hardware, *, precision="int8", efficiency=None, stack=None,
                   clock=None) -> TinyMLPrediction:
    """Predict one inference's latency, energy, SRAM/flash placement and feasibility on a
    microcontroller (energy = the chip's recorded active power x latency; NaN without one).

    Parameters
    ----------
    model : str or Model
        A model with published MACs (or FLOPs) and parameters (tinyml, cnn, vit families).
    hardware : str or Hardware
        A device with an SRAM memory tier and a clock (an MCU).
    precision : str
        Weight precision (int8 by default: 1 byte per weight).
    efficiency : float or dict, optional
        A float is the achieved fraction of the chip's int8 loop rate (the registry peak at
        ``precision`` times the CPU family's issue fraction, ``CORE_ISSUE_FRACTION``: its
        CoreMark/MHz over the dual-issue Cortex-M7's, M0+ 0.50, M3 0.66, M4 0.68, M33 0.80,
        M7 1), so cycles per MAC =
        clock x 2 FLOP/MAC / (peak x issue x fraction); a dict may set
        ``cycles_per_mac``, ``flash_bytes_per_cycle`` and ``fixed_overhead``. Default: the
        fraction ``tinyml_mac_efficiency`` of the registry's peak (``tinyml_cycles_per_mac`` for
        a chip without a peak), calibrated per software stack (see ``workload_default``).
    stack : str, optional
        The inference engine (``cmsis_nn``, ``tflm_mvp``, ``x_cube_ai``, ``plumerai``,
        ``gap_sdk``, ``hale``, ``microtvm``, ...): the MAC efficiency is calibrated per
        stack, which moves
        MCU latency as much as the clock does. Default: the generic (pooled) value.
    clock : quantity or str, optional
        Core clock the device runs at when below its registry maximum (the peak scales with
        it), e.g. ``"240 MHz"``.
    """
    m = workload_model(model, ("tinyml", "cnn", "vit"), "predict_tinyml")
    hw = registry.hardware(hardware)
    bits = precision_bits(precision)
    sram, flash = _mcu_tiers(hw)
    macs = need(m.flops_per_inference, "published MACs or FLOPs", m).to("MAC")
    params = need(m.parameters, "published_params", m)
    notes = []
    act = _activation_bytes(m, bits, notes)
    peak, clock = _peak_at_clock(hw, precision, clock, notes)
    clock_hz = magnitude("mcu_clock_frequency", clock)
    check_stack_name(stack, "cmsis_nn")
    if peak is not None:
        peak = peak * _issue_fraction(hw, stack, notes)
    cpm = _default_cycles(hw, precision, efficiency, stack, peak, clock, notes)
    rates = cpm, _flash_bytes_per_cycle(hw, flash, notes), magnitude("fixed_overhead", Q_(0, "ms"))
    cpm, fbpc, over = _given(efficiency, hw, precision, peak, clock, rates)
    dense, extra = _dense(m, hw, stack, notes)
    dw, dw_extra = _depthwise(m, hw, stack, notes)
    values = {
        "parameters": magnitude("parameters", params),
        "bytes_per_parameter": magnitude("bytes_per_parameter", Q_(bits, "bit/param")),
        "tinyml_macs": magnitude("tinyml_macs", macs),
        "tinyml_output_elements": _output_elements(m, notes),
        "tinyml_dense_macs": magnitude("tinyml_dense_macs", Q_(dense, "MAC")),
        "tinyml_dense_extra_slots": extra,
        "tinyml_depthwise_macs": magnitude("tinyml_depthwise_macs", Q_(dw, "MAC")),
        "tinyml_depthwise_extra_slots": dw_extra,
        "tinyml_peak_activation_bytes": magnitude("tinyml_peak_activation_bytes", act),
        "mcu_clock_frequency": clock_hz, "tinyml_cycles_per_mac": cpm,
        "mcu_sram_capacity": magnitude("mcu_sram_capacity", sram.capacity),
        "mcu_sram_bandwidth": magnitude("mcu_sram_bandwidth", sram.bandwidth),
        "mcu_flash_capacity": (magnitude("mcu_flash_capacity", flash.capacity) if flash
                               else math.inf),
        "mcu_flash_read_bytes_per_cycle": fbpc, "fixed_overhead": over,
        "mcu_active_power": _active_power(hw, clock, notes),
    }
    system = tinyml_system()
    ev, used = evaluate(system, _TINYML_OUT, tuple(sorted(values)), values)
    r = TinyMLPrediction(ev, system, m, hw, precision.lower(), used, sram.capacity, notes,
                         _fields(hw, m, sram, flash))
    return r.record_defaults(_defaults_used(efficiency, stack, peak, flash))


def _defaults_used(efficiency, stack, peak, flash) -> tuple:
    """``(symbol, VariantKey)`` of the calibrated defaults a TinyML prediction used."""
    given = set(efficiency) if isinstance(efficiency, dict) else (
        {"cycles_per_mac"} if efficiency is not None else set())
    rows = []
    if "cycles_per_mac" not in given:
        rows.append(("tinyml_mac_efficiency", VariantKey(stack=stack)) if peak is not None
                    else ("tinyml_cycles_per_mac", VariantKey()))
    if (flash is None or flash.bandwidth is None) and "flash_bytes_per_cycle" not in given:
        rows.append(("mcu_flash_read_bytes_per_cycle", VariantKey()))
    return tuple(rows)
