"""CNN / ViT / transformer-encoder forward passes: :func:`predict_vision` and its result.

Transformer encoders with an architecture (BERT) derive FLOPs and activation traffic from
layers, width and sequence length; CNNs and ViTs use their published FLOPs (MACs x 2) with the
input tensor as compulsory activation traffic (so memory time is a lower bound).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ... import checks, registry, vocabulary
from ...checks import magnitude
from ...symbols import info
from ...units import Q_
from .._core.knobs import PASS_EFFICIENCY_INPUTS
from ..training.host import host_op_us
from .common import (check_stack_name, evaluate, hardware_roofs,
                     input_tensor_bytes, known_fields, need, precision_bits, roofline_defaults,
                     roofline_efficiency, workload_model)
from .result import WorkloadPrediction

__all__ = ["predict_vision", "VisionPrediction", "vision_system"]


class VisionPrediction(WorkloadPrediction):
    """``latency`` of the batch's forward pass; ``throughput`` images (or sequences)/s."""

    family = "vision"
    LATENCY, THROUGHPUT = "encoder_latency", "encoder_throughput"
    FOOTPRINT, UTILIZATION, BINDING = ("encoder_memory_footprint", "encoder_memory_utilization",
                                       "encoder_latency")
    EXTRA = {"flops": "encoder_flops", "bytes_moved": "encoder_bytes",
             "compute_time": "encoder_compute_time", "memory_time": "encoder_memory_time",
             "weights": "weight_bytes", "host_wait": "encoder_host_wait_time"}

    @property
    def bottleneck(self):
        """As the roofline binds ("Compute" / "Memory"), but "Software" where the device waits
        for the host issuing an eager framework's operators (``encoder_host_wait_time`` > 0),
        and "Memory" when the pass does not fit."""
        bind = super().bottleneck
        waits = np.asarray(self._ev.value("encoder_host_wait_time")) > 0
        if np.ndim(bind) == 0 and np.ndim(waits) == 0:
            return "Software" if (waits and self.feasible) else bind
        bind, waits, feas = np.broadcast_arrays(np.asarray(bind, dtype=object), waits,
                                                np.asarray(self.feasible))
        return np.where(waits & feas, "Software", bind)


@lru_cache(maxsize=2)
def vision_system(architecture: bool):
    """The encoder record; without the per-sample equations when FLOPs are published."""
    from ...equations import workloads
    from ...equations.encoders import PER_SAMPLE
    from ...system import System
    w = workloads.encoders
    if architecture:
        return System.from_walls(w, name="encoder")
    return System([e for e in w.equations if e.name not in PER_SAMPLE], w.constraints, (w,),
                  name="vision")


_VISION_OUT = ("encoder_latency", "encoder_throughput", "encoder_memory_footprint",
               "encoder_memory_utilization", *VisionPrediction.EXTRA.values())


def _architecture_values(m, seq_len, bits) -> dict:
    """Inputs of a transformer encoder from its architecture (layers, width, sequence)."""
    parts = m.parameter_breakdown()
    dense = sum(v for k, v in parts.items()
                if k not in ("embedding", "position_embedding", "type_embedding"))
    s = seq_len if seq_len is not None else (m.input.seq_len if m.input and m.input.seq_len
                                             else m.max_context)
    return {
        "encoder_dense_parameters": magnitude("encoder_dense_parameters", Q_(dense, "param")),
        "encoder_sequence_length": checks.count("seq_len", need(s, "input.seq_len", m),
                                                *info("encoder_sequence_length").bounds),
        "layers": float(m.layers), "heads": float(m.heads), "head_dim": float(m.head_dim),
        "hidden": float(m.hidden),
        "ffn_width": float((2 if m.ffn_gated else 1) * m.ffn),
        "activation_bytes_per_element": magnitude("activation_bytes_per_element", Q_(bits, "bit"))}


def _published_values(m, params, bits, seq_len, notes) -> dict:
    """Inputs of a CNN / ViT from its published FLOPs, with the input tensor as activations."""
    if seq_len is not None:
        raise ValueError("seq_len applies to transformer encoders only")
    flops = need(m.flops_per_inference, "published FLOPs or MACs", m)
    inp = input_tensor_bytes(m, bits)
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
    return {"encoder_dense_parameters": magnitude("encoder_dense_parameters", params),
            "encoder_sample_flops": magnitude("encoder_sample_flops", flops),
            "encoder_sample_activation_traffic": magnitude("encoder_sample_activation_traffic",
                                                           inp),
            "encoder_sample_activation_bytes": magnitude("encoder_sample_activation_bytes", act)}


def _framework_values(m, hw, bits, stack, fused_norm, notes) -> dict:
    """Inputs that depend on how the framework runs the pass: an operator-by-operator framework
    (``mxnet``, ``pytorch``, ``onnxruntime``) runs the normalisation, activation and residual-add
    operators as kernels of their own (``fused_norm``: each normalisation with what follows it
    as one kernel) and issues every operator from the host; a compiled engine (TensorRT, the
    default) fuses them into the convolutions and launches the network at once."""
    if not isinstance(fused_norm, bool):
        raise ValueError(f"fused_norm must be True or False, got {fused_norm!r}")
    eager = stack is not None and stack not in vocabulary.COMPILED_PASS_STACKS
    unfused = ops = 0.0
    if eager:
        counts = ((m.fused_norm_elements, m.fused_norm_operators) if fused_norm
                  else (m.unfused_elements, m.operators))
        if None in counts:
            notes.append(f"{m.name}: unfused kernel traffic or operator count not in the "
                         f"registry: the {stack} pass is costed as a compiled engine's")
        else:
            unfused, ops = counts
    return {"encoder_sample_unfused_elements": unfused, "encoder_host_ops": ops,
            "host_op_time": magnitude("host_op_time", Q_(host_op_us(hw.name), "us")),
            "activation_bytes_per_element": magnitude("activation_bytes_per_element",
                                                      Q_(bits, "bit"))}


def predict_vision(model, hardware, *, batch=1, precision="fp16", efficiency=None,
                   seq_len=None, stack=None, fused_norm=False) -> VisionPrediction:
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
        The framework (``tensorrt``, ``mxnet``, ``pytorch``, ``onnxruntime``; None: a compiled
        engine). A forward pass pays ``pass_overhead`` (an engine launch and host
        synchronisation per batch, calibrated on the CNN / encoder rows, not an LLM engine's
        per-step ``fixed_overhead``). An operator-by-operator framework also runs the model's
        normalisation, activation and residual-add operators as kernels of their own (their
        feature-map traffic, ``published_unfused_elements``, at the memory roof, after the
        convolutions) and issues its ``published_operators`` one by one from the host (the
        training host model's CPU time per operation): a small batch waits for the host.
    fused_norm : bool
        With an operator-by-operator ``stack``: the framework runs each normalisation with the
        activation (and residual add) after it as one kernel (cuDNN's fused batch-norm
        kernels; MXNet's ``--fuse-bn-relu`` / ``--fuse-bn-add-relu``), so fewer kernels and
        less feature-map traffic (``published_fused_norm_elements`` / ``_operators``).
    """
    m = workload_model(model, ("encoder", "cnn", "vit", "tinyml"), "predict_vision")
    hw = registry.hardware(hardware)
    bits = precision_bits(precision)
    params = need(m.parameters, "parameters", m)
    notes = []
    values = {"parameters": magnitude("parameters", params),
              "bytes_per_parameter": magnitude("bytes_per_parameter", Q_(bits, "bit/param")),
              "batch": checks.count("batch", batch, *info("batch").bounds),
              **hardware_roofs(hw, precision)}
    check_stack_name(stack, "tensorrt")
    values.update(_framework_values(m, hw, bits, stack, fused_norm, notes))
    values.update(zip(PASS_EFFICIENCY_INPUTS,
                      roofline_efficiency(efficiency, hw, precision.lower(), m, stack)))
    architecture = m.family == "encoder"
    values.update(_architecture_values(m, seq_len, bits) if architecture
                  else _published_values(m, params, bits, seq_len, notes))
    system = vision_system(architecture)
    ev, used = evaluate(system, _VISION_OUT, tuple(sorted(values)), values)
    fields = known_fields([(hw, f"peak.{precision.lower()}"), (hw, "memory.0.bandwidth"),
                           (hw, "memory.0.capacity"), (m, "published_params"),
                           (m, "published_macs"), (m, "published_flops"), (m, "architecture")])
    r = VisionPrediction(ev, system, m, hw, precision.lower(), used, hw.memory_capacity, notes,
                         fields, sample="sequence" if architecture else "image")
    return r.record_defaults(roofline_defaults(efficiency, hw, precision.lower(), m, stack))
