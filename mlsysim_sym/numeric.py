"""Compiled forward evaluation: lambdify once per (system, outputs, inputs), evaluate many.

Magnitudes inside, units at the edges. Inputs are converted to the registry's coherent base
units once (:func:`mlsysim_sym.units.to_base`), the compiled kernel runs on floats or numpy
arrays (broadcasting: a million design points is one call), and outputs are wrapped back into
pint quantities only when asked for. The kernel also returns the value of every argument of each
named Max/Min branch, so a result can say which wall binds, point by point.

Two kernels are generated lazily from the same common-subexpression-eliminated expressions:
one on the ``math`` module (fastest for scalars) and one on numpy (for arrays). sympy's solve
and simplify never run here.
"""

from __future__ import annotations

import numpy as np
import sympy

from .symbols import info, is_constant
from .units import Q_, base_factor, parse_unit

__all__ = ["Compiled", "compile_system", "Evaluation"]

_CACHE: dict = {}


def constant_values(exprs) -> dict:
    consts = set()
    for e in exprs:
        consts |= {s for s in e.free_symbols if is_constant(s)}
    return {c: sympy.Float(info(c).value * base_factor(info(c).unit)) for c in consts}


class Evaluation:
    """Outputs of one compiled evaluation, as base-unit magnitudes with lazy pint wrapping.

    Scalar inputs are evaluated all at once by the ``math`` kernel (fastest for one point).
    Array inputs are evaluated lazily, one output at a time, by per-output numpy kernels, so a
    sweep pays only for the outputs that are read.
    """

    __slots__ = ("compiled", "args", "_values", "_branches", "vectorised", "_result")

    def __init__(self, compiled, args, result=None):
        self.compiled = compiled
        self.args = args
        self._values: dict = {}
        self._branches: dict = {}
        self.vectorised = result is None
        self._result = result  # scalar path: every output and branch, in slot order

    @property
    def values(self) -> dict:
        """All outputs (computes the remaining ones when vectorised)."""
        for name in self.compiled.output_names:
            self.value(name)
        return self._values

    def value(self, name):
        """Base-unit magnitude of output ``name``."""
        if self._result is not None:
            return self._result[self.compiled._slot_of[name]]
        v = self._values.get(name)
        if v is None:
            v = self._values[name] = self.compiled.single(name, self.args)
        return v

    @property
    def branch_values(self) -> dict:
        for owner in self.compiled.branch_kind:
            self._branch(owner)
        return self._branches

    def branches(self, owner) -> dict:
        """``{label: base magnitude}`` of the terms of ``owner``'s Max/Min (arrays in a sweep)."""
        return self._branch(owner)

    def _branch(self, owner):
        b = self._branches.get(owner)
        if b is None:
            slot_of, res = self.compiled._slot_of, self._result
            b = self._branches[owner] = {
                label: (res[slot_of[("branch", owner, label)]] if res is not None
                        else self.compiled.single(("branch", owner, label), self.args))
                for (o, label) in self.compiled._branch_slots if o == owner}
        return b

    def quantity(self, name):
        """Output ``name`` as a pint quantity in the symbol's declared unit."""
        unit = info(name).unit
        v = self.value(name)
        return Q_((np.asarray(v) if isinstance(v, np.ndarray) else v) / base_factor(unit),
                  parse_unit(unit))

    def binding(self, owner: str):
        """Name of the binding branch of ``owner``'s Max/Min (array of names when vectorised)."""
        kind, labels_values = self.compiled.branch_kind[owner], self._branch(owner)
        labels = list(labels_values)
        vals = [labels_values[k] for k in labels]
        if all(np.ndim(v) == 0 for v in vals):
            pick = max if kind == "max" else min
            return pick(zip(vals, labels), key=lambda t: t[0])[1]
        stacked = np.stack(np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in vals]))
        idx = np.argmax(stacked, axis=0) if kind == "max" else np.argmin(stacked, axis=0)
        return np.asarray(labels, dtype=object)[idx]


class Compiled:
    """A system's outputs compiled for fast numeric evaluation.

    Call :meth:`raw` with base-unit magnitudes in ``input_names`` order for the fastest path,
    or :meth:`evaluate` with keyword quantities / numbers in each symbol's declared unit.
    """

    def __init__(self, system, outputs, inputs=None):
        self.system = system
        self.output_names = tuple(system.symbol(o).name for o in outputs)
        exprs = [system.expr(o, constants=False) for o in self.output_names]
        # branch arguments of every named Max/Min the outputs depend on
        self.branch_kind, self._branch_slots = {}, []
        for o in self.output_names:
            for eq, kind, branches in system.branch_points(o):
                if eq.name in self.branch_kind:
                    continue
                self.branch_kind[eq.name] = kind
                for arg_sym, label in branches.items():
                    self._branch_slots.append((eq.name, label))
                    exprs.append(system.expr(arg_sym, constants=False))
        free = set()
        for e in exprs:
            free |= {s for s in e.free_symbols if not is_constant(s)}
        if inputs is None:
            input_syms = tuple(sorted(free, key=lambda x: x.name))
        else:
            input_syms = tuple(system.symbol(i) for i in inputs)
            missing = free - set(input_syms)
            if missing:
                raise ValueError("the outputs also depend on inputs not listed: "
                                 + ", ".join(sorted(m.name for m in missing)))
        self.input_names = tuple(s.name for s in input_syms)
        self._input_syms = input_syms
        consts = constant_values(exprs)
        # rebuilding Max/Min nodes with evaluation on runs sympy's pairwise simplification of
        # every argument (minutes for the continuous-batching fixed point); the substitution of
        # numbers for constants needs none of it
        with sympy.core.parameters.evaluate(False):
            self._exprs = [e.xreplace(consts) for e in exprs]
        self._math = None
        self._numpy = None
        self._single: dict = {}
        self._n_out = len(self.output_names)
        self._slot_of = {name: i for i, name in enumerate(self.output_names)}
        for j, (owner, label) in enumerate(self._branch_slots):
            self._slot_of[("branch", owner, label)] = self._n_out + j

    # lazily generated kernels ------------------------------------------------------------
    def _kernel(self, vectorised: bool):
        if vectorised:
            if self._numpy is None:
                self._numpy = sympy.lambdify(self._input_syms, self._exprs, modules="numpy", cse=True)
            return self._numpy
        if self._math is None:
            self._math = sympy.lambdify(self._input_syms, self._exprs, modules="math", cse=True)
        return self._math

    def single(self, name, magnitudes):
        """One output (or branch argument) on numpy arrays, compiled on first use."""
        fn = self._single.get(name)
        if fn is None:
            expr = self._exprs[self._slot_of[name]]
            fn = self._single[name] = sympy.lambdify(self._input_syms, expr, modules="numpy",
                                                     cse=True)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(*magnitudes)

    def raw(self, *magnitudes):
        """Evaluate with base-unit magnitudes in ``input_names`` order; returns a list."""
        vectorised = any(isinstance(m, np.ndarray) for m in magnitudes)
        if not vectorised:
            try:
                return self._kernel(False)(*magnitudes)
            except (ZeroDivisionError, OverflowError, ValueError):
                vectorised = True  # numpy gives inf/nan instead of raising
                magnitudes = [np.asarray(m, dtype=float) for m in magnitudes]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self._kernel(True)(*magnitudes)

    def to_base_inputs(self, values: dict) -> list:
        """Convert {input name: quantity | quantity string | number in declared unit} to magnitudes."""
        missing = [n for n in self.input_names if n not in values]
        if missing:
            raise ValueError(f"missing inputs: {', '.join(missing)}")
        unknown = set(values) - set(self.input_names)
        if unknown:
            raise ValueError(f"not inputs of these outputs: {', '.join(sorted(unknown))}; "
                             f"inputs are: {', '.join(self.input_names)}")
        from .checks import symbol_value, sweep_shape
        out = [symbol_value(n, values[n]) for n in self.input_names]
        if any(isinstance(v, np.ndarray) for v in out):
            sweep_shape(*zip(self.input_names, out), arrays=len(self.output_names) + len(out))
        return out

    def evaluate(self, **values) -> Evaluation:
        """Evaluate from keyword inputs (quantities, quantity strings, or numbers in declared units)."""
        return self.lazy(self.to_base_inputs(values))

    def lazy(self, magnitudes, vectorised=None) -> Evaluation:
        """An :class:`Evaluation` of base-unit magnitudes: eager for scalars, lazy for arrays.

        ``vectorised`` may be passed by callers that already know whether any input is an array.
        """
        if vectorised is None:
            vectorised = any(isinstance(m, np.ndarray) for m in magnitudes)
        if vectorised:
            return Evaluation(self, magnitudes)
        try:
            return Evaluation(self, magnitudes, self._kernel(False)(*magnitudes))
        except (ZeroDivisionError, OverflowError, ValueError):
            return Evaluation(self, magnitudes, self.raw(*magnitudes))

    def __repr__(self):
        return f"Compiled({', '.join(self.output_names)} <- {len(self.input_names)} inputs)"


def compile_system(system, outputs, inputs=None) -> Compiled:
    """Compile (and cache) ``outputs`` of ``system``."""
    if isinstance(outputs, str):
        outputs = (outputs,)
    key = (system.key, tuple(str(o) for o in outputs), None if inputs is None else tuple(inputs))
    hit = _CACHE.get(key)
    if hit is None:
        hit = _CACHE[key] = Compiled(system, outputs, inputs)
    return hit
