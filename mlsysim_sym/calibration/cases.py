"""Cases: a published measurement turned into a prediction of this model.

A :class:`Case` pairs a :class:`~mlsysim_sym.calibration.measurements.Measurement` with the
facade call that reproduces it (``train``, the serving path, TinyML, ...), described by the
measurement's ``mlsysim`` block. ``case.predict(params)`` returns the prediction in the
measurement's own unit for a mapping of calibrated parameters (name -> value in the symbol's
declared unit; values may be numpy arrays, which broadcast, so a Jacobian or a Monte Carlo
sample is one call per case).

The ``mlsysim`` block
---------------------
``predict``: which reproduction (``train``, ``serve_static``, ``ttft``, ``decode_rate``,
``prefill_rate``, ``batch_latency``, ``itl``, ``max_load``, ``serve_load`` (``serve`` at a
Poisson ``request_rate``: ``tpot`` or ``ttft_mean``), ``vision``, ``tinyml``, ``gpu_hours``,
``time_to_train`` (the train outputs of those names, a whole run of ``tokens``), ``emissions``; see :data:`PREDICTORS`); ``output``: which result is compared;
``unit``: the measured value's unit in this package's units (``percent``, ``token/s``,
``s``, ...); ``hardware``: a registry accelerator (training: optionally ``cluster``, a registry
cluster of that chip, when its standard node is not the job's scale-up domain, e.g. a TPU
slice); ``model``: a registry model name, or a mapping
``{name, architecture: {...}, published_params}`` built through the registry schema (the
architecture as the measurement's source prints it); the knobs of the facade (``tp``, ``pp``,
``micro_batch``, ``seq_len``, ``precision``, ...); ``assumptions``: the configuration choices the
source does not state, in words (they are printed by the validation harness); or
``covered: false`` with ``why`` when the model cannot express the measurement.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping

import numpy as np
from pydantic.json_schema import SkipJsonSchema

from .. import registry
from ..defaults import GENERATION, parent, variant_name
from ..tasks._core.fabric import measured_latency, ring_efficiency
from ..units import Q_, parse_unit
from ..vocabulary import SERVING_ENGINES
from .measurements import Measurement

__all__ = ["Case", "NotCovered", "build_cases", "PREDICTORS"]


@dataclass
class Case:
    """A measurement and the prediction that reproduces it."""

    measurement: Measurement
    kind: str
    uses: tuple            # calibrated parameters the prediction depends on
    # the prediction function is code, not data: left out of the JSON Schema of a case / a row
    _predict: SkipJsonSchema[Callable] = field(repr=False)
    assumptions: tuple = ()

    id = property(lambda self: self.measurement.id)
    category = property(lambda self: self.measurement.category)
    source = property(lambda self: self.measurement.source_key)
    measured = property(lambda self: self.measurement.value)

    @property
    def unit(self) -> str:
        return self.measurement.spec.get("unit", self.measurement.unit)

    def predict(self, params: Mapping[str, Any]):
        """Prediction in the measurement's unit (array if any parameter is an array)."""
        return self._predict(params)


@dataclass(frozen=True)
class NotCovered:
    """A measurement this model does not reproduce, and why."""

    measurement: Measurement
    why: str

    id = property(lambda self: self.measurement.id)
    category = property(lambda self: self.measurement.category)


# -------------------------------------------------------------------------------------- helpers
@lru_cache(maxsize=1)
def _calibration_source():
    from ..registry.schema import Source
    return Source(id="calibration-measurement", title="Published measurement (calibration set)",
                  publisher="see the measurement's source", year=_dt.date.today().year,
                  url="https://github.com/mlcommons", kind="report")


def _model(spec, meas: Measurement):
    """A registry model, or one built from the architecture the measurement's source prints."""
    m = spec.get("model")
    if isinstance(m, str):
        return registry.model(m)
    if not isinstance(m, dict) or "architecture" not in m:
        raise ValueError(f"{meas.id}: 'model' must be a registry name or a mapping with "
                         "name and architecture")
    from ..registry.loader import build_entry
    src = _calibration_source()
    raw = {"name": m["name"], "display_name": m.get("display_name", m["name"]),
           "family": m.get("family", "decoder"),
           "provenance": {"source": src.id, "locator": f"{meas.id}: {meas.source}"[:300],
                          "retrieved": _dt.date.today(), "basis": "paper"},
           "architecture": dict(m["architecture"])}
    if m.get("published_params"):
        raw["published_params"] = f"{float(m['published_params']):.12g} param"
    return build_entry("model", raw, {src.id: src}, file=meas.file or "<measurement>")


def _scale(unit: str, target: str) -> float:
    """Factor from ``target`` (a result's unit) to ``unit`` (the measurement's)."""
    return float(Q_(1.0, target).to(parse_unit(unit)).magnitude)


#: parameters that may differ per hardware generation (``name[architecture]``)
GENERATION_PARAMETERS = GENERATION


def _with_variants(table, hardware, precision=None, regime=None, kernel=None) -> dict:
    """Full parameter name -> base symbol; generation (and precision) variants of the chip
    (and the attention kernel's: ``eager`` when the attention core is not fused, ``fa2``)."""
    return {variant_name(p, hardware, precision, regime, kernel): p for p in table}


def _default_value(name):
    from ..defaults import default
    from .parameters import parameter
    return default(name).to(parameter(name).unit).magnitude


def _stack_variant(uses, stack):
    """The serving engine's own fixed overhead when named (``fixed_overhead[trt_llm]``)."""
    if not stack:
        return uses

    def name_of(name, base):   # a new engine being calibrated need not be known yet
        return f"{base}[{stack}]" if base == "fixed_overhead" else name
    return {name_of(name, base): base for name, base in uses.items()}


def _pick(params, name, base):
    """A parameter's value: the variant if given, else up its chain, else None (default)."""
    look = name
    while look is not None:
        if look in params:
            return params[look]
        look = parent(look)
    return None


# -------------------------------------------------------------------------------------- training
_TRAIN_KNOBS = ("devices", "tp", "pp", "dp", "cp", "ep", "micro_batch", "global_batch", "seq_len",
                "precision", "recompute", "zero_stage", "sequence_parallel", "interleave",
                "flash_attention", "attention_kernel", "overlap", "model_parallel_overlap",
                "even_layer_split", "tokens", "lora_rank", "lora_targets", "dropout",
                "memory_kernels", "loss", "fp8_recipe", "capacity_factor", "token_dispatcher",
                "ep_overlap", "tp_overlap", "pp_overlap", "state_dtypes", "cuda_graphs",
                "vocab_tiles", "sequence_fill", "head_token_fraction", "recompute_modules",
                "cpu_binding", "stage_layers")
#: calibrated parameter -> train(efficiency=...) key
TRAIN_PARAMETERS = {"compute_efficiency": "compute", "memory_efficiency": "memory",
                    "communication_efficiency": "communication",
                    "scale_out_efficiency": "scale_out",
                    "attention_efficiency": "attention",
                    "training_step_overhead": "step_overhead",
                    "layer_pass_overhead": "layer_overhead"}
_TRAIN_OUTPUTS = {  # output -> (function of result, unit of that function)
    "mfu": (lambda r, k: r.value("model_flops_utilization"), ""),
    "hfu": (lambda r, k: r.value("hardware_flops_utilization"), ""),
    "step_time": (lambda r, k: r.value("training_step_time"), "s"),
    "tokens_per_s_per_device": (lambda r, k: r.value("training_throughput") / k["devices"],
                                "token/s"),
    "tokens_per_s": (lambda r, k: r.value("training_throughput"), "token/s"),
    # the tokens computed per second over the tokens a sequence is computed at (its mean
    # padded length when batches are padded only to their longest sequence: sequence_fill)
    "sequences_per_s": (lambda r, k: r.value("training_throughput")
                        / (k["seq_len"] * k.get("sequence_fill", 1.0)), "1/s"),
    "model_tflops_per_device": (lambda r, k: r.value("model_flops_utilization")
                                * r.base_inputs()["peak_flops"], "FLOP/s"),
    # a whole run of ``tokens`` (evaluation excluded): wall-clock and device-time
    "time_to_train": (lambda r, k: r.value("time_to_train"), "s"),
    "gpu_hours": (lambda r, k: r.value("time_to_train") * k["devices"], "s"),
    # MFU as the source counts it (``source_flops``): the predicted throughput per device x
    # the source's own model FLOPs per token / the peak
    "mfu_as_published": (lambda r, k: r.value("training_throughput") / k["devices"]
                         * k["source_flops_per_token"] / r.base_inputs()["peak_flops"], ""),
    # model FLOP/s per device as the source counts them (``source_flops``)
    "model_tflops_as_published": (lambda r, k: r.value("training_throughput") / k["devices"]
                                  * k["source_flops_per_token"], "FLOP/s"),
}


def source_flops_per_token(spec, model, meas) -> float:
    """Model FLOPs per token by the source's stated formula: ``per_parameter`` x N (the
    published parameter count; with ``parameters: active``, an MoE's active parameters) +
    ``attention`` x L H d_h s (MaxText: 12 counts the full non-causal attention, fwd + bwd; 6
    the causal half; 0 none; d_h of MLA: the mean of its query-key and value head widths)."""
    conv = spec.get("source_flops")
    if not isinstance(conv, dict) or not {"per_parameter", "attention"} <= set(conv) \
            or not set(conv) <= {"per_parameter", "attention", "parameters"} \
            or conv.get("parameters", "total") not in ("total", "active"):
        raise ValueError(f"{meas.id}: outputs mfu_as_published and model_tflops_as_published "
                         "need source_flops: {per_parameter: <number>, attention: <number>"
                         "[, parameters: total | active]} (the source's formula)")
    params = model.active_parameters if conv.get("parameters") == "active" else model.parameters
    n = float(params.to("param").magnitude)
    mla = getattr(model, "mla", None)
    head_dim = ((mla.qk_nope_head_dim + mla.qk_rope_head_dim + mla.v_head_dim) / 2
                if mla is not None else model.head_dim or model.hidden // model.heads)
    attn = model.layers * model.heads * head_dim * float(spec.get("seq_len", 2048))
    return float(conv["per_parameter"]) * n + float(conv["attention"]) * attn


def _train_runner(meas: Measurement, spec):
    """(run(params, **extra) -> TrainResult, uses, knobs) of a training measurement."""
    from ..tasks.training import attention_variant, published_link_efficiencies, train
    model = _model(spec, meas)
    hardware = registry.hardware(spec["hardware"])
    # a registry cluster when the chip's standard node is not the job's ICI / NVLink domain
    # (a TPU slice): train() then takes its node and fabrics
    target, node = hardware, None
    if spec.get("cluster"):
        target = registry.cluster(spec["cluster"])
        node = target.node
        if target.accelerator.name != hardware.name:
            raise ValueError(f"{meas.id}: cluster {target.name!r} is built of "
                             f"{target.accelerator.name}, not {hardware.name}")
    knobs = {k: spec[k] for k in _TRAIN_KNOBS if k in spec}
    kernel = attention_variant(knobs.get("flash_attention", True),
                               knobs.get("attention_kernel"))
    uses = _with_variants(TRAIN_PARAMETERS, hardware, knobs.get("precision", "bf16"),
                          kernel=kernel)
    # links whose fabric publishes its collective bus bandwidth (NCCL measurements) use it, as
    # train() does: the fit does not move them for this row
    published = published_link_efficiencies(hardware, node, node and node.scale_up_fabric,
                                            target.fabric if node is not None else None)
    uses = {name: base for name, base in uses.items()
            if TRAIN_PARAMETERS.get(base) not in published}
    calibrated = _train_overlaps(knobs, uses, meas)

    def run(params, **extra):
        eff = {TRAIN_PARAMETERS[base]: _pick(params, name, base) for name, base in uses.items()
               if base in TRAIN_PARAMETERS}
        eff = {k: v for k, v in eff.items() if v is not None}
        for key, symbol in calibrated.items():   # as train() defaults them
            extra.setdefault(key, params.get(symbol, _default_value(symbol)))
        return train(model, target, efficiency=eff, **{**knobs, **extra})

    run.model = model
    return run, uses, knobs


#: train()'s overlap keyword of each model-parallel traffic class -> its calibrated symbol, and
#: the parallel degree without which the class has no traffic
_OVERLAPS = {"tp_overlap": ("tensor_parallel_overlap", "tp"),
             "pp_overlap": ("pipeline_parallel_overlap", "pp"),
             "ep_overlap": ("expert_parallel_overlap", "ep")}


def _train_overlaps(knobs, uses, meas) -> dict:
    """Each traffic class's overlap of a training case: a number the case states (its
    framework's fact: 0 where it does not overlap that class; ``model_parallel_overlap`` for
    every class at once) goes to train() as given; the rest are ``calibrated``. Returns
    {train() keyword: symbol} of the calibrated ones and adds those whose class has traffic
    (its degree > 1) to ``uses``: the rows that inform the fit of that class."""
    every = knobs.pop("model_parallel_overlap", "calibrated")
    calibrated = {}
    for key, (symbol, degree) in _OVERLAPS.items():
        value = knobs.pop(key, every)
        if value == "calibrated":
            calibrated[key] = symbol
            if int(knobs.get(degree, 1)) > 1:
                uses[symbol] = symbol
        elif isinstance(value, str):
            raise ValueError(f"{meas.id}: {key} must be a number in [0, 1] or 'calibrated', "
                             f"got {value!r}")
        else:
            knobs[key] = value
    return calibrated


#: train outputs of a whole run: they need the run's ``tokens``
_RUN_OUTPUTS = ("time_to_train", "gpu_hours")


def _train_case(meas: Measurement, spec) -> Case:
    """A training measurement (``predict: train`` and its ``output``). ``predict: gpu_hours``
    (device-hours of a whole run) and ``predict: time_to_train`` (its wall-clock time, an
    MLPerf run's ``tokens`` steps, evaluation excluded) are that output of a ``train`` case."""
    kind = spec["predict"]
    output = spec["output"] if kind == "train" else kind
    if output not in _TRAIN_OUTPUTS:
        raise ValueError(f"{meas.id}: unknown train output {output!r}; allowed: "
                         f"{', '.join(_TRAIN_OUTPUTS)}")
    if output in _RUN_OUTPUTS and "tokens" not in spec:
        raise ValueError(f"{meas.id}: {output} needs the run's tokens (tokens: <number>)")
    fn, unit = _TRAIN_OUTPUTS[output]
    run, uses, knobs = _train_runner(meas, spec)
    factor = _scale(spec["unit"], unit or "dimensionless")
    base_factor = 1.0
    if unit:  # the result's raw value is in base units of `unit`
        from ..units import base_factor as _bf
        base_factor = _bf(unit)
    ctx = dict(knobs, devices=knobs["devices"], seq_len=knobs.get("seq_len", 2048))
    if output in ("mfu_as_published", "model_tflops_as_published"):
        ctx["source_flops_per_token"] = source_flops_per_token(spec, run.model, meas)

    def predict(params):
        return np.asarray(fn(run(params), ctx), dtype=float) / base_factor * factor

    predict({})  # fail now, with the facade's message, not inside a fit
    return Case(meas, kind, tuple(uses), predict, tuple(spec.get("assumptions", ())))


# -------------------------------------------------------------------------------------- serving
#: calibrated parameter -> predict(efficiency=...) key and the unit its value is given in
SERVE_PARAMETERS = {"compute_efficiency": ("compute", None),
                    "memory_efficiency": ("memory", None),
                    "fixed_overhead": ("fixed_overhead", "ms"),
                    "pass_overhead": ("pass_overhead", "ms"),
                    "communication_efficiency": ("communication", None),
                    "scale_up_latency": ("scale_up_latency", "us"),
                    "allreduce_fixed_time": ("allreduce_fixed_time", "us"),
                    "unoverlapped_fraction": ("unoverlapped", None)}


def _serve_eff(params, uses):
    """predict(efficiency=...) from the calibrated parameters a serving case uses."""
    eff = {}
    for name, base in uses.items():
        key, unit = SERVE_PARAMETERS[base]
        v = _pick(params, name, base)
        if v is None:
            continue
        eff[key] = Q_(np.asarray(v, dtype=float), unit) if unit else v
    return eff


class _LLM:
    """The serving path of one case: predict() on a TP group, raw base-unit outputs."""

    def __init__(self, meas, spec):
        from ..tasks.serving import predict
        self.predict_fn = predict
        self.model = _model(spec, meas)
        self.hw = registry.hardware(spec["hardware"])
        self.precision = spec.get("precision", "fp16")
        self.tp = int(spec.get("tp", 1))
        self.weight_bits = spec.get("weight_bits")
        self.stack = spec.get("stack")
        #: the stack as predict() knows it by name (what its kernels run, e.g. llama.cpp's
        #: FP16-accumulate GEMMs); a stack of the user's own only names its fitted overhead
        self.engine = self.stack if self.stack in SERVING_ENGINES else None
        #: TensorRT-LLM enable_attention_dp, where the source's configuration states it
        self.attention_dp = spec.get("attention_dp", False)
        uses = {"compute_efficiency": "compute_efficiency",
                "memory_efficiency": "memory_efficiency", "fixed_overhead": "fixed_overhead",
                "unoverlapped_fraction": "unoverlapped_fraction"}
        if self.tp > 1:
            # the peer kernels' achieved fraction (and the ring's where the registry fabric
            # publishes none), the fixed cost per all-reduce call, and the link latency only
            # where neither a measured fabric latency nor the chip's is recorded
            uses.update(allreduce_fixed_time="allreduce_fixed_time")
            if ring_efficiency(self.hw) is None:   # else the fabric's published fraction
                uses.update(communication_efficiency="communication_efficiency")
            if measured_latency(self.hw) is None and self.hw.scale_up_latency is None:
                uses.update(scale_up_latency="scale_up_latency")
        self.uses = _stack_variant(_with_variants(uses, self.hw, self.precision, "serve"),
                                   spec.get("stack"))

    def __call__(self, params, *, batch, seq, outputs, prefill_tokens=0):
        """Public outputs of ``predict`` (``ttft``, ``time_per_output_token``) in base units."""
        from ..units import to_base
        r = self.predict_fn(self.model, self.hw, batch=batch, seq_len=seq,
                            precision=self.precision, efficiency=_serve_eff(params, self.uses),
                            tp=self.tp, weight_bits=self.weight_bits,
                            stack=self.engine, prefill_tokens=prefill_tokens)
        return [np.asarray(to_base(getattr(r, o)), dtype=float) for o in outputs]

    def step(self, params, *, batch, context, prefill_tokens):
        """A continuous-batching step: ``batch`` decode tokens at ``context`` plus
        ``prefill_tokens`` of new prompts (wall 4's step with a prefill chunk)."""
        (t,) = self(params, batch=batch, seq=context, outputs=("time_per_output_token",),
                    prefill_tokens=prefill_tokens)
        return t

    def at_load(self, params, *, qps, n_in, n_out, reserve, max_batch, output):
        """``serve``'s public ``output`` (``time_per_output_token``, ``ttft_mean``) of one
        replica under Poisson arrivals at ``qps`` requests/s (the continuous-batching fixed
        point: the runtime sets the running batch), in base units."""
        from ..tasks.fleet import serve
        from ..units import to_base
        r = serve(self.model, self.hw, qps=qps, input_tokens=n_in, output_tokens=n_out,
                  tp=self.tp, batch=max_batch, precision=self.precision,
                  efficiency=_serve_eff(params, self.uses), memory_reserve=reserve,
                  stack=self.stack, weight_bits=self.weight_bits,
                  attention_dp=self.attention_dp)
        return np.asarray(to_base(getattr(r, output)), dtype=float)

    def max_load(self, params, *, n_in, n_out, reserve, max_batch):
        """Output tokens/s of one replica at saturation (``serve``'s public ``capacity``)."""
        from ..tasks.fleet import serve
        from ..units import to_base
        r = serve(self.model, self.hw, qps=1e-6, input_tokens=n_in, output_tokens=n_out,
                  tp=self.tp, batch=max_batch, precision=self.precision,
                  efficiency=_serve_eff(params, self.uses), memory_reserve=reserve,
                  stack=self.stack, weight_bits=self.weight_bits,
                  attention_dp=self.attention_dp)
        return np.asarray(to_base(r.capacity), dtype=float) * n_out


def _serve_case(meas: Measurement, spec) -> Case:
    """Static batch, TTFT, decode/prefill rates, batch latency, ITL, max-load throughput and
    the time per output token at a Poisson request rate."""
    from ..units import base_factor as _bf
    llm = _LLM(meas, spec)
    kind = spec["predict"]
    b = int(spec.get("batch", 1))
    n_in, n_out = int(spec.get("input_tokens", 0)), int(spec.get("output_tokens", 1))
    ctx = max(int(round(n_in + n_out / 2)), 1)
    per = llm.tp if spec.get("per_device") else 1
    unit = spec["unit"]

    if kind == "serve_static":
        # all B sequences prefill together, then n_out - 1 decode steps (the first output token
        # comes out of the prefill); throughput = B n_out / total time
        def raw(params):
            (ttft,) = llm(params, batch=b, seq=n_in, outputs=("ttft",))
            (tpot,) = llm(params, batch=b, seq=ctx, outputs=("time_per_output_token",))
            return b * n_out / (ttft + max(n_out - 1, 0) * tpot) / per, "token/s"
    elif kind == "ttft":
        def raw(params):
            return llm(params, batch=b, seq=n_in, outputs=("ttft",))[0], "s"
    elif kind == "prefill_rate":
        def raw(params):
            return b * n_in / llm(params, batch=b, seq=n_in, outputs=("ttft",))[0], "token/s"
    elif kind == "decode_rate":
        def raw(params):
            (tpot,) = llm(params, batch=b, seq=ctx, outputs=("time_per_output_token",))
            return b / tpot, "token/s"
    elif kind == "batch_latency":
        def raw(params):
            (ttft,) = llm(params, batch=b, seq=max(n_in, 1), outputs=("ttft",))
            (tpot,) = llm(params, batch=b, seq=ctx, outputs=("time_per_output_token",))
            return ttft + max(n_out - 1, 0) * tpot, "s"
    elif kind == "itl":
        c = int(spec.get("concurrency", 1))

        def raw(params):
            if c == 1:  # one user: the decode steps alone
                return llm(params, batch=1, seq=ctx, outputs=("time_per_output_token",))[0], "s"
            # c users in steady state: each decode step also carries the prompts of the
            # (c - 1) / n_out requests that arrive per step (chunked prefill)
            return llm.step(params, batch=c, context=ctx,
                            prefill_tokens=(c - 1) / n_out * n_in), "s"
    elif kind == "max_load":
        frac = float(spec.get("kv_memory_fraction", 0.9))

        def raw(params):
            # serve() at saturation: the running batch fills the KV slots (or a step's tokens
            # the budget); each step carries the prompts of the requests that replace finished
            # ones (chunked prefill)
            return llm.max_load(params, n_in=n_in, n_out=n_out, reserve=frac,
                                max_batch=int(spec.get("max_batch", 1_000_000))), "token/s"
    elif kind == "serve_load":
        frac = float(spec.get("kv_memory_fraction", 0.9))
        rate = float(spec["request_rate"])
        out = {"tpot": "time_per_output_token", "ttft_mean": "ttft_mean"}.get(
            spec.get("output", "tpot"))
        if out is None:
            raise ValueError(f"{meas.id}: serve_load output must be tpot or ttft_mean, got "
                             f"{spec.get('output')!r}")
        cap = spec.get("max_batch")

        def raw(params):
            # Poisson arrivals at request_rate: serve()'s fixed point of step time and running
            # batch (Little's law), each step carrying the prompt chunks of new requests
            return llm.at_load(params, qps=rate, n_in=n_in, n_out=n_out, reserve=frac,
                               max_batch=None if cap is None else int(cap), output=out), "s"
    else:  # pragma: no cover - guarded by PREDICTORS
        raise ValueError(kind)
    _, out_unit = raw({})
    factor = _scale(unit, out_unit) / _bf(out_unit)

    def predict(params):
        return np.asarray(raw(params)[0], dtype=float) * factor

    return Case(meas, kind, tuple(llm.uses), predict, tuple(spec.get("assumptions", ())))


# ------------------------------------------------------------------------ vision, TinyML, energy
def _roofline_eff(params, uses):
    eff = {}
    for name, base in uses.items():
        v = _pick(params, name, base)
        if v is None:
            continue
        key, unit = SERVE_PARAMETERS[base]
        eff[key] = Q_(np.asarray(v, dtype=float), unit) if unit else v
    return eff


def _vision_case(meas: Measurement, spec) -> Case:
    """CNN / encoder forward passes (predict_vision); training as three forward passes."""
    from ..units import base_factor as _bf
    from ..tasks.workloads import predict_vision
    model, hw = registry.model(spec["model"]), registry.hardware(spec["hardware"])
    # one forward pass: its own overhead (fitted on these rows), not an LLM step's; the
    # framework (stack) acts through its unfused kernels and host operators (the pass's
    # equations), not through a per-stack fitted overhead that only its own rows would see
    table = {"compute_efficiency": "compute_efficiency", "memory_efficiency": "memory_efficiency",
             "pass_overhead": "pass_overhead"}
    if model.family == "cnn":  # convolutions: a workload variant, not the chip's GEMM rate
        uses = {"compute_efficiency[serve-cnn]": "compute_efficiency",
                "memory_efficiency[serve]": "memory_efficiency",
                "pass_overhead": "pass_overhead"}
    else:
        uses = _with_variants(table, hw, spec.get("precision", "fp16"), "serve")
    kw = dict(batch=int(spec.get("batch", 1)), precision=spec.get("precision", "fp16"),
              stack=spec.get("stack"), fused_norm=bool(spec.get("fused_norm", False)))
    if spec.get("seq_len"):
        kw["seq_len"] = int(spec["seq_len"])
    train_like = spec["predict"] == "vision_train"
    devices = int(spec.get("devices", 1))
    output = "throughput" if train_like else spec.get("output", "throughput")

    def raw(params):
        r = predict_vision(model, hw, efficiency=_roofline_eff(params, uses), **kw)
        lat = np.asarray(r.value("latency"), dtype=float)
        if train_like:  # backward = 2 x forward work: an image costs three forward passes
            return devices * kw["batch"] / (3 * lat), "1/s"
        if output == "latency":
            return lat, "s"
        return kw["batch"] / lat, "1/s"

    _, out_unit = raw({})
    factor = _scale(spec["unit"], out_unit) / _bf(out_unit)
    return Case(meas, spec["predict"], tuple(uses),
                lambda params: np.asarray(raw(params)[0], dtype=float) * factor,
                tuple(spec.get("assumptions", ())))


def _tinyml_case(meas: Measurement, spec) -> Case:
    """One MCU inference (predict_tinyml) with the software stack's MAC efficiency."""
    from ..units import base_factor as _bf
    from ..tasks.workloads import predict_tinyml
    model, hw = registry.model(spec["model"]), registry.hardware(spec["hardware"])
    stack = spec.get("stack")
    name = f"tinyml_mac_efficiency[{stack}]" if stack else "tinyml_mac_efficiency"
    uses = {name: "tinyml_mac_efficiency"}
    kw = dict(precision=spec.get("precision", "int8"), stack=stack, clock=spec.get("clock"))

    def raw(params):
        v = _pick(params, name, "tinyml_mac_efficiency")
        r = predict_tinyml(model, hw, efficiency=v, **kw)
        return np.asarray(r.value("latency"), dtype=float)

    raw({})
    factor = _scale(spec["unit"], "s") / _bf("s")
    return Case(meas, "tinyml", tuple(uses), lambda p: raw(p) * factor,
                tuple(spec.get("assumptions", ())))


def _emissions_case(meas: Measurement, spec) -> Case:
    """Operational carbon of given device-hours at TDP in a grid region (wall 18)."""
    from ..equations import walls
    from ..system import System
    hw, dc = registry.hardware(spec["hardware"]), registry.datacenter(spec["datacenter"])
    k = System.from_walls(walls.sustainability).compile(["operational_carbon"])
    hours = Q_(float(spec["gpu_hours"]), "h")
    vals = {"carbon_intensity": dc.carbon_intensity, "device_idle_power": hw.tdp,
            "device_peak_power": hw.tdp, "device_utilization": 1.0, "devices": 1.0,
            "job_duration": hours, "pue": dc.pue, "wue": dc.wue if dc.wue is not None else
            Q_(0, "L/kWh")}
    value = float(k.evaluate(**{n: vals[n] for n in k.input_names})
                  .quantity("operational_carbon").to(parse_unit(spec["unit"])).magnitude)
    return Case(meas, "emissions", (), lambda p: np.asarray(value),
                tuple(spec.get("assumptions", ())))


PREDICTORS: dict[str, Callable] = {"train": _train_case}
PREDICTORS.update(vision=_vision_case, vision_train=_vision_case, tinyml=_tinyml_case,
                  gpu_hours=_train_case, time_to_train=_train_case,
                  emissions=_emissions_case)
PREDICTORS.update({k: _serve_case for k in ("serve_static", "ttft", "prefill_rate",
                                             "decode_rate", "batch_latency", "itl", "max_load",
                                             "serve_load")})


def build_cases(measurements) -> tuple[list[Case], list[NotCovered]]:
    """Split measurements into reproducible cases and those not covered (with the reason)."""
    cases, uncovered = [], []
    for meas in measurements:
        spec = meas.spec
        if spec is None:
            uncovered.append(NotCovered(meas, "no 'mlsysim' block says how to reproduce it"))
            continue
        if spec.get("covered") is False:
            uncovered.append(NotCovered(meas, str(spec.get("why", "not covered"))))
            continue
        kind = spec.get("predict")
        if kind not in PREDICTORS:
            raise ValueError(f"{meas.id}: unknown 'predict' {kind!r}; allowed: "
                             f"{', '.join(PREDICTORS)}")
        cases.append(PREDICTORS[kind](meas, spec))
    return cases, uncovered
