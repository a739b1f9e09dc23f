"""Wall 21 - Sensitivity: closed-form partial derivatives and elasticities of any output.

``d output / d input`` comes from ``sympy.diff`` of the composed closed form, compiled like the
forward path (one lambdified function per (system, output, inputs), cached). Elasticities
``d ln y / d ln x = (dy/dx) x / y`` are unit-free, so they rank inputs of different units: the
largest |elasticity| names the binding constraint.

At a ``Max`` kink sympy's derivative is ``Heaviside(0) = 1/2`` times each branch (a number that
is the derivative of neither branch). Here every Max/Min is rewritten as a Piecewise before
differentiating, twice: once preferring its first argument at a tie and once its last. Away from
kinks the two agree; at a kink they give the derivative of each branch, both reported as
one-sided values, and the active branch is named. The Piecewise conditions compare the Max/Min
arguments as they are (nested Max/Min kept, unevaluated): conditions holding a Piecewise would
make sympy fold them, which grows exponentially with the nesting (the continuous-batching fixed
point with speculative decoding nests a Max of branch roots over Max guards).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import sympy

from sympy.logic.boolalg import Boolean

from ..checks import InputError, sweep_shape, symbol_value
from ..symbols import info, is_constant
from ..units import Q_, base_factor, parse_unit, quantity_json

__all__ = ["sensitivity", "Sensitivity", "compile_gradient"]

_CACHE: dict = {}


def _rebuild(expr, consts, explicit: bool, reverse: bool = False):
    """``expr`` with the constants substituted and, with ``explicit``, every Max/Min as a
    Piecewise preferring its first (or, ``reverse``, last) argument at a tie. The conditions
    compare the original arguments (constants substituted, Max/Min unevaluated), so they never
    hold a Piecewise; Max/Min nodes are rebuilt unevaluated (no symbolic comparison of their
    arguments)."""
    memo: dict = {}

    def plain(e):                       # constants in, Max/Min kept and unevaluated
        hit = memo.get(("p", e))
        if hit is None:
            if e in consts:
                hit = consts[e]
            elif not e.args:
                hit = e
            elif isinstance(e, (sympy.Max, sympy.Min)):
                hit = e.func(*map(plain, e.args), evaluate=False)
            else:
                hit = e.func(*map(plain, e.args))
            memo[("p", e)] = hit
        return hit

    def branch(e):                      # constants in, Max/Min as Piecewise
        hit = memo.get(("b", e))
        if hit is None:
            if e in consts or not e.args or isinstance(e, Boolean):
                hit = plain(e)
            elif isinstance(e, (sympy.Max, sympy.Min)):
                orig = [plain(a) for a in e.args]
                new = [branch(a) for a in e.args]
                order = list(range(len(orig)))[::-1] if reverse else list(range(len(orig)))
                pieces = []
                for k, i in enumerate(order[:-1]):
                    cond = sympy.And(*[(orig[i] >= orig[j]) if isinstance(e, sympy.Max)
                                       else (orig[i] <= orig[j]) for j in order[k + 1:]])
                    pieces.append((new[i], cond))
                pieces.append((new[order[-1]], True))
                hit = sympy.Piecewise(*pieces)
            elif isinstance(e, sympy.Piecewise):
                hit = sympy.Piecewise(*[(branch(x), plain(c)) for x, c in e.args])
            else:
                hit = e.func(*map(branch, e.args))
            memo[("b", e)] = hit
        return hit

    return branch(expr) if explicit else plain(expr)


class _Gradient:
    """Compiled value and gradient of one output with respect to a tuple of inputs."""

    def __init__(self, system, output, wrt):
        from ..numeric import constant_values
        self.output = system.symbol(output).name
        expr = system.expr(self.output, constants=False)
        self.input_syms = tuple(sorted((s for s in expr.free_symbols if not is_constant(s)),
                                       key=lambda s: s.name))
        self.input_names = tuple(s.name for s in self.input_syms)
        wrt_syms = self.input_syms if wrt is None else tuple(system.symbol(w) for w in wrt)
        self.wrt_names = tuple(s.name for s in wrt_syms)
        consts = constant_values([expr])
        first = _rebuild(expr, consts, explicit=True)
        last = _rebuild(expr, consts, explicit=True, reverse=True)
        exprs = ([_rebuild(expr, consts, explicit=False)] + [sympy.diff(first, s) for s in wrt_syms]
                 + [sympy.diff(last, s) for s in wrt_syms])
        self._n = len(wrt_syms)
        self.wrt_index = tuple(self.input_names.index(n) for n in self.wrt_names)
        self.forward = system.compile([self.output])
        self._math = sympy.lambdify(self.input_syms, exprs, modules="math", cse=True)
        self._numpy = None
        self._exprs = exprs

    def __call__(self, magnitudes):
        """(value, derivatives preferring first branches, derivatives preferring last branches)."""
        if any(isinstance(m, np.ndarray) for m in magnitudes):
            if self._numpy is None:
                self._numpy = sympy.lambdify(self.input_syms, self._exprs, modules="numpy", cse=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                out = self._numpy(*magnitudes)
        else:
            out = self._math(*magnitudes)
        return out[0], out[1:1 + self._n], out[1 + self._n:]


def compile_gradient(system, output, wrt=None) -> _Gradient:
    key = (system.key, str(output), None if wrt is None else tuple(wrt))
    g = _CACHE.get(key)
    if g is None:
        g = _CACHE[key] = _Gradient(system, output, wrt)
    return g


@dataclass
class Sensitivity:
    """Derivatives and elasticities of ``output`` at one point (or a sweep).

    Attributes
    ----------
    output : str
    value : pint.Quantity
    derivatives : dict
        ``{input: d output / d input}`` as quantities (output unit per input unit).
    elasticities : dict
        ``{input: d ln output / d ln input}`` (floats or arrays), ranked by |value| descending.
    one_sided : dict
        ``{input: (with the lower branch, with the upper branch)}`` elasticities where the two
        differ (a Max/Min kink at this point).
    binding : dict
        ``{equation: wall}`` of every named Max/Min the output depends on.
    """

    output: str
    _value: object
    _derivatives: dict
    elasticities: dict
    one_sided: dict = field(default_factory=dict)
    binding: dict = field(default_factory=dict)

    @property
    def value(self):
        """The output at the point, as a quantity in its declared unit."""
        unit = info(self.output).unit
        v = self._value
        return Q_((np.asarray(v) if np.ndim(v) else v) / base_factor(unit), parse_unit(unit))

    @property
    def derivatives(self) -> dict:
        """``{input: d output / d input}`` as quantities (output unit per input unit)."""
        out_unit = info(self.output).unit
        out = {}
        for name, d in self._derivatives.items():
            in_unit = info(name).unit
            scale = base_factor(in_unit) / base_factor(out_unit)
            out[name] = Q_(np.asarray(d) * scale if np.ndim(d) else d * scale,
                           parse_unit(out_unit) / parse_unit(in_unit))
        return out

    def to_dict(self) -> dict:
        """JSON-ready dict: ``output``, its ``value``, the ``elasticities`` ranked by size,
        ``one_sided`` pairs at a kink, and ``binding``."""
        def enc(v):
            return np.asarray(v, dtype=float).tolist() if np.ndim(v) else float(v)
        order = self.ranked() if all(np.ndim(v) == 0 for v in self.elasticities.values()) \
            else self.elasticities.items()
        return {"output": self.output, "value": quantity_json(self.value),
                "elasticities": {k: enc(v) for k, v in order},
                "one_sided": {k: [enc(a), enc(b)] for k, (a, b) in self.one_sided.items()},
                "binding": dict(self.binding)}

    def ranked(self):
        """Inputs by |elasticity|, largest first (scalar points only)."""
        return sorted(self.elasticities.items(), key=lambda kv: -abs(float(np.max(np.abs(kv[1])))))

    @property
    def dominant(self) -> str:
        """The input with the largest |elasticity|."""
        return self.ranked()[0][0]

    def __getitem__(self, name):
        return self.elasticities[name]

    def __iter__(self):
        return iter(self.elasticities)

    def __len__(self):
        return len(self.elasticities)

    def items(self):
        return self.elasticities.items()

    def keys(self):
        return self.elasticities.keys()

    def plot(self, kind="tornado", path=None, **options):
        """Tornado of the inputs' first-order effects (:func:`mlsysim_sym.plot.tornado`)."""
        from ..plot import plot
        return plot(self, kind=kind, path=path, **options)


def _point_from(result_or_system, at):
    """(system, {input name: base magnitude}) from a result or a system + at.

    A result's own inputs are already base-unit magnitudes; every value of ``at`` is user input
    (quantity, quantity string, number or array in the symbol's declared unit) and goes through
    :func:`mlsysim_sym.checks.symbol_value` (finite, physical range, whole for counts).
    """
    from ..system import System
    if at is not None and not isinstance(at, dict):
        raise InputError(f"at must be a dict {{input name: value}}, got {at!r:.60}")
    if isinstance(result_or_system, System):
        if at is None:
            raise InputError("sensitivity(system, ...) needs at={input: value, ...}")
        system, point = result_or_system, {}
    else:
        system = getattr(result_or_system, "system", None)
        base_inputs = getattr(result_or_system, "base_inputs", None)
        inputs = base_inputs() if callable(base_inputs) else None
        if system is None or not inputs:
            raise InputError("sensitivity() takes a System (with at=...) or a result of "
                             f"predict/train/serve, got {type(result_or_system).__name__}")
        point = dict(inputs)
    names = {s.name for s in system.inputs}
    for k, v in (at or {}).items():
        if k not in names:
            close = difflib.get_close_matches(str(k), sorted(names), n=3)
            raise InputError(f"at: {k!r} is not an input of system {system.name!r}"
                             + (f"; did you mean {', '.join(close)}?" if close else
                                "; see ms.sensitivity(...) inputs via system.inputs"))
        point[k] = symbol_value(k, v)
    arrays = [(k, v) for k, v in point.items() if isinstance(v, np.ndarray)]
    if arrays:
        sweep_shape(*arrays, arrays=3 * len(point))
    return system, point


def sensitivity(result_or_system, output, wrt=None, at=None) -> Sensitivity:
    """Closed-form partial derivatives and elasticities of ``output``.

    Parameters
    ----------
    result_or_system : Prediction or System
        A forward result (its inputs are the point) or a composed system with ``at``.
    output : str
        Output name, e.g. ``"time_per_output_token"``.
    wrt : iterable of str, optional
        Inputs to differentiate with respect to (default: every input the output depends on).
    at : dict, optional
        ``{input: quantity | quantity string | number or array in the symbol's declared unit}``
        (``ms.symbols.info(name).unit``: ``memory_bandwidth=4800`` is 4800 GB/s); overrides
        the result's inputs. NaN, infinities and values beyond the symbol's physical range
        (negative, a fraction above 1, a non-whole count) raise ``InputError``.

    Returns
    -------
    Sensitivity
        Mapping-like: ``s["memory_bandwidth"]`` is an elasticity; ``s.ranked()``, ``s.dominant``.
    """
    system, point = _point_from(result_or_system, at)
    if not isinstance(output, str) or output not in {o.name for o in system.outputs}:
        outs = ", ".join(sorted(o.name for o in system.outputs)[:12])
        raise InputError(f"output must be the name of an output of system {system.name!r} "
                         f"(e.g. {outs}, ...), got {output!r:.60}")
    if wrt is not None:
        if isinstance(wrt, str):
            wrt = [wrt]
        names = {x.name for x in system.inputs}
        if not isinstance(wrt, (list, tuple)) or not wrt or not all(
                isinstance(w, str) and w in names for w in wrt):
            raise InputError(f"wrt must be a list of input names of system {system.name!r}, "
                             f"got {wrt!r:.60}")
    grad = compile_gradient(system, output, None if wrt is None else tuple(wrt))
    missing = [n for n in grad.input_names if n not in point]
    if missing:
        raise ValueError(f"sensitivity of {output} needs values for: {', '.join(missing)}")
    mags = [point[n] for n in grad.input_names]   # base-unit magnitudes (checked above)
    y, lower, upper = grad(mags)
    scalar = not isinstance(y, np.ndarray) and not any(isinstance(v, np.ndarray) for v in lower) \
        and not any(isinstance(v, np.ndarray) for v in upper)
    elast, one_sided, raw = {}, {}, {}
    index = grad.wrt_index
    for i, name in enumerate(grad.wrt_names):
        x = mags[index[i]]
        d_lo, d_hi = lower[i], upper[i]
        if scalar:
            e_lo = d_lo * x / y if y else (0.0 if d_lo == 0 else float("inf"))
            e_hi = d_hi * x / y if y else (0.0 if d_hi == 0 else float("inf"))
            raw[name] = (d_lo + d_hi) / 2
            e_lo, e_hi = float(e_lo), float(e_hi)
            if e_lo == e_hi or abs(e_lo - e_hi) <= 1e-12 * max(abs(e_lo), abs(e_hi)):
                elast[name] = float(e_lo)
            else:
                elast[name] = (e_lo + e_hi) / 2
                one_sided[name] = (float(e_lo), float(e_hi))
            continue
        raw[name] = (np.asarray(d_lo) + np.asarray(d_hi)) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            e_lo = np.asarray(d_lo) * x / y
            e_hi = np.asarray(d_hi) * x / y
        elast[name] = e_lo if np.array_equal(e_lo, e_hi) else (e_lo + e_hi) / 2
        if not np.allclose(e_lo, e_hi, rtol=1e-12, atol=0):
            one_sided[name] = (e_lo, e_hi)
    binding = {}
    if grad.forward.branch_kind:
        ev = grad.forward.lazy([mags[grad.input_names.index(n)] if n in grad.input_names
                                else point[n] for n in grad.forward.input_names])
        binding = {owner: ev.binding(owner) for owner in grad.forward.branch_kind}
    if scalar:
        ordered = dict(sorted(elast.items(), key=lambda kv: -abs(kv[1])))
    else:
        ordered = dict(sorted(elast.items(), key=lambda kv: -float(np.max(np.abs(kv[1])))))
    return Sensitivity(grad.output, y, raw, ordered, one_sided, binding)
