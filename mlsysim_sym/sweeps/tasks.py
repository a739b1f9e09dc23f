"""The tasks a sweep can run, and how one chunk's outputs are read as plain arrays.

A task is a facade (``predict``, ``train``) plus the knobs it accepts as numpy arrays: those
axes are broadcast into one vectorised call per chunk, every other axis is looped in Python.
Outputs are read once per chunk as magnitudes in the unit the result reports them in
(``time_per_output_token`` in ms, ``decode_throughput`` in token/s, ...), ``feasible`` as
booleans and ``bottleneck`` as small integer codes into :data:`BOTTLENECKS` (names on read).
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np

from ..numeric import BLOCK
from ..vocabulary import BOTTLENECKS
from .reductions import SweepError

__all__ = ["TASKS", "BOTTLENECKS", "task"]


class Task:
    def __init__(self, name, module, func, vectorised, extra=(), skip=("uncertainty",)):
        self.name, self._module, self._func = name, module, func
        self.vectorised = frozenset(vectorised)
        self._extra, self._skip = tuple(extra), tuple(skip)

    @property
    def func(self):
        return getattr(importlib.import_module(self._module, "mlsysim_sym"), self._func)

    def parameters(self) -> dict:
        """Knob name -> True when it has no default (must be given)."""
        sig = inspect.signature(self.func)
        out = {n: p.default is inspect.Parameter.empty for n, p in sig.parameters.items()
               if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and n not in self._skip}
        out.update({n: False for n in self._extra})
        return out

    def call(self, kwargs):
        return self.func(**kwargs)

    _HIDDEN = ("reason", "bottleneck_detail", "phase", "precision", "model", "hardware",
               "system", "config", "assumptions", "bands", "feasible", "bottleneck")

    def available(self, res) -> list:
        """Names of the numeric outputs of result ``res``."""
        return sorted(n for n in dir(type(res)) if not n.startswith("_")
                      and isinstance(getattr(type(res), n, None), property)
                      and n not in self._HIDDEN)

    def get(self, res, name):
        """Output ``name`` of ``res`` (a quantity or booleans); AttributeError if unknown."""
        if name.startswith("_") or name in self._HIDDEN or not hasattr(type(res), name):
            raise AttributeError(name)
        return getattr(res, name)

    # ---- reading outputs --------------------------------------------------------------------
    def read_all(self, res, names, units, shape) -> dict:
        """Outputs ``names`` of result ``res`` as 1-D arrays over the chunk's ``shape``
        (``units``: output -> the unit its magnitudes are read in)."""
        return {n: self.read(res, n, units.get(n), shape) for n in names}

    def read(self, res, name, unit, shape):
        """Output ``name`` of result ``res`` as a 1-D array over the chunk's ``shape``."""
        if name == "feasible":
            v = np.asarray(res.feasible, dtype=bool)
        elif name == "bottleneck":
            v = self.bottleneck_codes(res)
        else:
            q = self.get(res, name)
            if unit is None:
                return np.broadcast_to(np.asarray(q, dtype=bool), shape).reshape(-1)
            if format(q.units, "~P") != unit:
                q = q.to(unit)
            v = np.asarray(q.magnitude, dtype=float)
        return np.broadcast_to(v, shape).reshape(-1)

    def bottleneck_codes(self, res):
        """Codes into :data:`BOTTLENECKS` (the result's ``bottleneck_code``)."""
        try:
            codes = res.bottleneck_code
        except ValueError as e:
            raise SweepError(f"{self.name}: {e}") from None
        return np.asarray(codes, dtype=np.int8)


class _Predict(Task):
    """predict(): its properties plus every output of the serving kernel (decode_throughput,
    prefill_throughput, kv_cache_bytes, ...), read from one kernel call per chunk."""

    def _kernel_outputs(self, res):
        from ..tasks.serving import OUTPUTS, Prediction
        return OUTPUTS if isinstance(res, Prediction) else ()

    def available(self, res):
        return sorted(set(super().available(res)) | set(self._kernel_outputs(res)))

    def get(self, res, name):
        if name in self._kernel_outputs(res) and not hasattr(type(res), name):
            return res.quantity(name)
        return super().get(res, name)

    def read_all(self, res, names, units, shape):
        """One kernel call for every output of the chunk (common subexpressions computed
        once); kernel outputs read as magnitudes in their declared unit, without pint."""
        kernel = self._kernel_outputs(res)
        if not kernel:  # workload results
            return super().read_all(res, names, units, shape)
        res.prefetch(names, block=BLOCK)   # in cache-sized slices (parallel workers scale)
        out = {}
        for n in names:
            if n in kernel:  # the declared unit is the unit the sweep reports (see _probe)
                v = np.asarray(res.magnitude(n), dtype=float)
                out[n] = np.broadcast_to(v, shape).reshape(-1)
            else:
                out[n] = self.read(res, n, units.get(n), shape)
        return out


TASKS = {
    "predict": _Predict("predict", ".tasks.serving", "predict",
                        vectorised=("batch", "seq_len", "tp", "efficiency"), extra=("steps",)),
    "train": Task("train", ".tasks.training", "train",
                  vectorised=("tp", "pp", "dp", "micro_batch", "global_batch", "seq_len")),
}

DEFAULT_OUTPUTS = {
    "predict": ("ttft", "time_per_output_token", "decode_throughput", "memory_footprint",
                "feasible", "bottleneck"),
    "train": ("step_time", "mfu", "tokens_per_s", "memory_per_device", "feasible", "bottleneck"),
}


def task(name) -> Task:
    if not isinstance(name, str) or name not in TASKS:
        raise SweepError(f"task must be one of {', '.join(repr(t) for t in TASKS)}, got {name!r}")
    return TASKS[name]
