"""Wall 22 - Synthesis: run a composed system backwards (any input from output targets).

Strategy for one unknown and one target (DESIGN decision 8):

1. **Algebra first, once.** The target's closed form is split into its Max/Min branches (every
   choice of argument); on each branch whose numerator is a polynomial of degree <= 2 in the
   unknown, the linear or quadratic formula on its coefficients gives closed-form roots in the
   other inputs and a target placeholder (not ``sympy.solve``: its simplification of the large
   coefficients of the training step ran for minutes).
   This runs once per (system, unknown, target), at first use, on our own expressions only (never
   on user text), and is skipped when the branch is not polynomial. At request time the roots
   are compiled functions: each is evaluated, and kept only if it is real, inside the bounds, and
   reproduces the target through the forward model (which also proves its branch is the active
   one there).
2. **Numbers second.** Otherwise the target is bracketed on a log grid over the unknown's bounds
   and refined with ``scipy.optimize.brentq``.
3. **Honest failure.** If no point of the range reaches the target the result is infeasible, with
   the best reachable value and where it is reached; if the target does not move with the unknown
   in the binding regime, the result says the unknown is not identifiable there (instead of
   returning a guess).

4. **Whole numbers.** An unknown declared ``integer`` (batch, devices, replicas, parallel
   degrees) is answered with an integer: one that reproduces the target when there is one,
   otherwise the integer next to the exact solution on the side that meets the target (the
   smallest device count under a latency limit, the largest batch within it, the smallest batch
   reaching a throughput), with ``SolveResult.margin``, the relative slack there.

Several unknowns (or targets) use ``scipy.optimize.least_squares`` on log-scaled unknowns
(continuous: whole-number unknowns are not rounded there).

User values (``targets``, ``given``, ``bounds``) are checked by :mod:`mlsysim_sym.checks`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import sympy

from .. import checks
from ..symbols import info, is_constant
from ..units import Q_, base_factor, parse_unit, quantity_json

__all__ = ["solve_for", "SolveResult", "BaseValues"]

_FORMS: dict = {}
_TARGET = sympy.Symbol("solve_target", positive=True)
_REL_TOL = 1e-9


@dataclass
class SolveResult:
    """Outcome of an inverse solve.

    Attributes
    ----------
    unknown : str
    value : pint.Quantity or None
        The solved input (None when infeasible or not identifiable).
    method : str
        ``"closed-form"``, ``"brentq"``, ``"least_squares"``.
    converged : bool
    residual : float
        Relative residual ``|y(x) - target| / |target|`` of the (first) target.
    binding : dict
        ``{equation: wall}`` of the named Max/Min branches at the solution (or best point).
    identifiable : bool
        False when the target does not depend on the unknown in the active regime.
    feasible : bool
        False when no value within the bounds reaches the target.
    best_reachable : pint.Quantity or None
        Closest reachable value of the target when infeasible.
    at : pint.Quantity or None
        Where (value of the unknown) the best reachable target value is attained.
    message : str
    margin : float or None
        For a whole-number unknown (the symbol's ``integer`` flag: batch, devices, replicas,
        parallel degrees) that no integer reproduces exactly: the relative slack of the target at
        the integer returned, ``(target - y) / target`` for a limit from above (times, bytes,
        cost) or ``(y - target) / target`` for a goal from below (throughputs, rates,
        utilisations of FLOPs); 0 when an integer reproduces the target; None for continuous
        unknowns.
    """

    unknown: str
    value: object
    method: str
    converged: bool
    residual: float
    binding: dict = field(default_factory=dict)
    identifiable: bool = True
    feasible: bool = True
    best_reachable: object = None
    at: object = None
    message: str = ""
    margin: object = None

    def to_dict(self) -> dict:
        """JSON-ready dict of every field (quantities as ``{"value", "unit"}``)."""
        return {"unknown": self.unknown, "value": quantity_json(self.value),
                "method": self.method, "converged": bool(self.converged),
                "residual": float(self.residual), "binding": dict(self.binding),
                "identifiable": bool(self.identifiable), "feasible": bool(self.feasible),
                "best_reachable": quantity_json(self.best_reachable),
                "at": quantity_json(self.at), "message": self.message,
                "margin": None if self.margin is None else float(self.margin)}

    def __repr__(self):
        if self.feasible and self.value is not None:
            extra = "" if self.margin is None else f", margin={self.margin:.3g}"
            return (f"SolveResult({self.unknown} = {self.value:.6g~P}, method={self.method}, "
                    f"residual={self.residual:.2g}{extra}, binding={self.binding})")
        return f"SolveResult({self.unknown}: infeasible, {self.message})"


# ------------------------------------------------------------------------------------ helpers
def _branch_variants(expr, x=None):
    """Every variant of ``expr`` with one argument chosen per Max/Min node (per node that
    depends on ``x`` when given: the others are functions of the known inputs, evaluated as
    they stand)."""
    nodes = sorted({n for n in expr.atoms(sympy.Max, sympy.Min)
                    if x is None or x in n.free_symbols}, key=sympy.default_sort_key)
    if not nodes:
        return [expr]
    if len(nodes) > 6:   # 2^6 variants at most: each is checked once per (system, unknown, target)
        return []
    variants = []
    for choice in itertools.product(*[n.args for n in nodes]):
        pick, g = dict(zip(nodes, choice)), expr
        for _ in nodes:   # xreplace does not look inside what it put in: nested nodes
            g, before = g.xreplace(pick), g
            if g == before:
                break
        variants.append(g)
    return variants


def _low_degree_coefficients(num, x):
    """Coefficients (highest first) of ``num`` as a polynomial of degree 1 or 2 in ``x``, or
    None. Derivatives at x = 0 instead of ``sympy.Poly``, which expands every other symbol and
    took 10 s per branch on the training step's data-parallel term."""
    if not num.is_polynomial(x):
        return None
    d1 = sympy.diff(num, x)
    d2 = sympy.diff(d1, x)
    if d1 == 0 or sympy.diff(d2, x) != 0:
        return None
    c0, c1 = num.subs(x, 0), d1.subs(x, 0)
    return [c1, c0] if d2 == 0 else [d2 / 2, c1, c0]


def _polynomial_roots(coeffs):
    """Roots of a polynomial of degree 1 or 2 given its coefficients (highest first), by the
    textbook formulas: no sympy.solve, whose simplification of large coefficient expressions
    can run for minutes. A root that is not real or not positive at a point is rejected when
    it is evaluated there."""
    if len(coeffs) == 2:
        a, b = coeffs
        return [-b / a]
    if len(coeffs) == 3:
        a, b, c = coeffs
        disc = sympy.sqrt(b ** 2 - 4 * a * c)
        return [(-b + disc) / (2 * a), (-b - disc) / (2 * a)]
    return []


def _closed_forms(system, unknown_sym, target_name):
    """Closed-form roots of target(x) = T per branch, as compiled functions (cached)."""
    key = (system.key, unknown_sym.name, target_name)
    if key in _FORMS:
        return _FORMS[key]
    from ..numeric import constant_values
    expr = system.expr(target_name, constants=False)
    consts = constant_values([expr])
    expr = expr.xreplace(consts)
    inputs = tuple(sorted((s for s in expr.free_symbols if not is_constant(s) and s != unknown_sym),
                          key=lambda s: s.name))
    roots = []
    for g in _branch_variants(expr, unknown_sym):
        if unknown_sym not in g.free_symbols:
            continue
        num, _den = sympy.together(g - _TARGET).as_numer_denom()
        coeffs = _low_degree_coefficients(num, unknown_sym)
        if coeffs:
            roots.extend(_polynomial_roots(coeffs))
    fns = [sympy.lambdify(inputs + (_TARGET,), r, modules="math") for r in roots]
    _FORMS[key] = (tuple(s.name for s in inputs), fns, roots)
    return _FORMS[key]


def _magnitude(name, value):
    """One value for the symbol ``name`` as a checked base-unit scalar."""
    return checks.scalar_value(name, value)


class BaseValues(dict):
    """A ``given`` mapping whose values are already base-unit magnitudes (no conversion)."""


def _given_magnitudes(given) -> dict:
    """``given`` as base magnitudes: a result object's inputs, or a dict of user values."""
    if isinstance(given, BaseValues):
        return dict(given)
    if callable(getattr(given, "base_inputs", None)):   # a result of predict/train/serve
        return dict(given.base_inputs())
    from ..symbols import all_symbols
    table = all_symbols()
    bad = [k for k in (given or {}) if not isinstance(k, str) or k not in table]
    if bad:
        raise checks.InputError(f"given: {bad[0]!r:.40} is not a model quantity; give "
                                "{input name: value} with names such as 'memory_bandwidth'")
    return {k: _magnitude(k, v) for k, v in (given or {}).items()}


def _bounds_base(name, bounds):
    row = info(name)
    if bounds is None:
        lo, hi = (float(b) * base_factor(row.unit) for b in row.bounds)
    else:
        if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
            raise checks.InputError(f"bounds for {name} must be a pair (low, high), got "
                                    f"{bounds!r:.60}")
        lo, hi = (float(checks.quantity(f"bounds of {name}", b, row.unit, low=0.0))
                  if not isinstance(b, np.ndarray) else float("nan") for b in bounds)
    if lo <= 0:
        lo = hi * 1e-12
    if not lo < hi:
        raise ValueError(f"bounds for {name} must satisfy 0 < low < high, got {bounds}")
    return lo, hi


# ------------------------------------------------------------------------------------ solver
def solve_for(system, unknown, targets, given=None, *, bounds=None, method=None):
    """Solve ``system`` for the input(s) ``unknown`` that meet output ``targets``.

    Parameters
    ----------
    system : System
    unknown : str or list of str
        Input symbol name(s) to solve for.
    targets : dict
        ``{output name: value}`` (quantity, quantity string, or number in the declared unit).
    given : dict or result, optional
        Values of every other input the targets depend on, or a forward result (its inputs).
    bounds : tuple, optional
        ``(low, high)`` of the unknown (quantities or declared-unit numbers); default: the
        symbol's plausible bounds. For several unknowns, a dict name -> (low, high).
    method : {None, "closed-form", "brentq", "least_squares"}
        Force a method (default: closed form, then brentq).

    Returns
    -------
    SolveResult, or dict name -> SolveResult for several unknowns.
    """
    if not isinstance(unknown, (str, list, tuple)) or not unknown or (
            not isinstance(unknown, str) and not all(isinstance(u, str) for u in unknown)):
        raise checks.InputError(f"unknown must be an input name or a list of input names, got "
                                f"{unknown!r:.60}")
    unknowns = [unknown] if isinstance(unknown, str) else list(unknown)
    if not isinstance(targets, dict):
        raise checks.InputError(f"targets must be a dict {{output name: value}}, got "
                                f"{targets!r:.60}")
    if given is not None and not isinstance(given, dict) and not callable(getattr(given, "base_inputs", None)):
        raise checks.InputError(f"given must be a dict {{input name: value}} or a result of "
                                f"predict/train/serve, got {given!r:.60}")
    if not targets:
        raise ValueError("targets is empty: give at least one {output: value}")
    names = system.symbol_table
    for t in list(targets) + unknowns:
        if not isinstance(t, str) or t not in names:
            what = "targets" if t in targets else "unknown"
            kind = "an output" if what == "targets" else "an input"
            raise checks.InputError(f"{what}: {t!r:.40} is not a symbol of system "
                                    f"{system.name!r}; give the name of {kind} of it "
                                    "(system.outputs / system.inputs list them)")
    for t in targets:
        if not system.is_output(t):
            raise ValueError(f"{t!r} is an input, not an output of {system.name!r}; targets must "
                             "be outputs")
    for u in unknowns:
        if system.is_output(u):
            raise ValueError(f"{u!r} is an output of {system.name!r}; solve for inputs only")
    known = _given_magnitudes(given)
    for u in unknowns:
        known.pop(u, None)
    # inputs that break a domain relation (the MoE record's k <= E) have no meaning: refused;
    # an unknown in one is searched only where it holds
    system.check_domain(known)
    if len(unknowns) == 1 and bounds is None and system.domain:
        u = unknowns[0]
        unit_factor = base_factor(info(u).unit)
        lo, hi = (float(b) * unit_factor for b in info(u).bounds)
        nlo, nhi = system.domain_bounds(u, known, lo, hi)
        if (nlo, nhi) != (lo, hi):
            if not nlo < nhi:
                raise ValueError(f"no value of {u} satisfies the domain constraints of "
                                 f"{system.name!r} with the given inputs")
            bounds = (nlo / unit_factor, nhi / unit_factor)
    # a target only has to be a positive finite value of the output's dimension: one beyond
    # what the system can reach is answered as infeasible, not refused
    target_mags = {}
    for t, v in targets.items():
        m = checks.quantity(f"target {t}", v, info(t).unit, low=0.0, low_open=True)
        if isinstance(m, np.ndarray):
            raise checks.InputError(f"target {t} must be a single value, got an array")
        target_mags[t] = float(m)
    if len(unknowns) == 1 and len(targets) == 1 and method != "least_squares":
        (tname, tval), = target_mags.items()
        return _solve_scalar(system, unknowns[0], tname, tval, known, bounds, method)
    return _solve_many(system, unknowns, target_mags, known, bounds)


def _kernel_for(system, target, unknown_name, known):
    k = system.compile([target])
    missing = [n for n in k.input_names if n != unknown_name and n not in known]
    if missing:
        raise ValueError(f"to solve for {unknown_name} from {target}, give values for: "
                         + ", ".join(missing))
    if unknown_name not in k.input_names:
        return k, None
    return k, k.input_names.index(unknown_name)


_IS_ARRAY = np.ndarray.__instancecheck__


class _Forward:
    """A one-output kernel as a function of the unknown, every other input held at ``known``
    (base magnitudes): ``fwd(x)`` is the target at ``x`` (an array of ``x``: numpy, one output
    only); the last few scalar points' evaluations are kept, so the residual, the binding
    branches and the identifiability check at a solution share one kernel call."""

    __slots__ = ("k", "idx", "args", "scalar", "out", "_seen")

    def __init__(self, k, idx, known, unknown_name):
        self.k, self.idx, self.out = k, idx, k.output_names[0]
        self.args = [None if n == unknown_name else known[n] for n in k.input_names]
        self.scalar = not any(map(_IS_ARRAY, self.args))
        self._seen: dict = {}

    def _with(self, x) -> list:
        args = self.args.copy()
        args[self.idx] = x
        return args

    def evaluation(self, x):
        """The kernel's :class:`~mlsysim_sym.numeric.Evaluation` at a scalar ``x``."""
        ev = self._seen.get(x)
        if ev is None:
            if len(self._seen) > 8:
                self._seen.clear()
            ev = self._seen[x] = self.k.lazy(self._with(x), not self.scalar)
        return ev

    def __call__(self, x):
        if isinstance(x, np.ndarray):
            return self.k.single(self.out, self._with(x))
        if not self.scalar:
            return self.k.raw(*self._with(x))[0]
        return self.evaluation(x).value(self.out)

    def binding(self, x) -> dict:
        """``{equation: binding branch}`` of the kernel's Max/Min at ``x``."""
        if not self.k.branch_kind:
            return {}
        ev = self.evaluation(x) if self.scalar and not isinstance(x, np.ndarray) \
            else self.k.lazy(self._with(x))
        return {owner: ev.binding(owner) for owner in self.k.branch_kind}


def _binding_at(k, known, unknown_name, x):
    if not k.branch_kind:
        return {}
    ev = k.lazy([x if n == unknown_name else known[n] for n in k.input_names])
    return {owner: ev.binding(owner) for owner in k.branch_kind}


def _solve_scalar(system, unknown, target, tval, known, bounds, method):
    row, trow = info(unknown), info(target)
    k, idx = _kernel_for(system, target, unknown, known)
    wrap = lambda x: Q_(x / base_factor(row.unit), parse_unit(row.unit))  # noqa: E731
    twrap = lambda y: Q_(y / base_factor(trow.unit), parse_unit(trow.unit))  # noqa: E731
    if idx is None:
        y = k.raw(*[known[n] for n in k.input_names])[0]
        return SolveResult(unknown, None, "none", False, abs(y - tval) / abs(tval), {}, False,
                           math.isclose(y, tval, rel_tol=1e-9), twrap(y), None,
                           f"{target} does not depend on {unknown} in this system")
    lo, hi = _bounds_base(unknown, bounds)

    fwd = _Forward(k, idx, known, unknown)

    def residual(x):
        return abs(fwd(x) - tval) / abs(tval)

    # 1. closed form on each branch
    if method in (None, "closed-form"):
        inputs, fns, _ = _closed_forms(system, system.symbol(unknown), target)
        args = [known[n] for n in inputs]
        good = []
        for fn in fns:
            try:
                x = fn(*args, tval)
            except (ValueError, ZeroDivisionError, OverflowError, TypeError):
                continue
            if isinstance(x, complex) or not math.isfinite(x):
                continue
            if not (lo <= x <= hi):
                if lo * (1 - 1e-9) <= x <= hi * (1 + 1e-9):  # rounding at a bound
                    x = min(max(x, lo), hi)
                else:
                    continue
            if residual(x) < _REL_TOL:
                good.append(x)
        if good:
            x = min(good)
            if row.integer:
                return _whole(fwd, unknown, target, tval, x, lo, hi, wrap, twrap,
                              "closed-form")
            return SolveResult(unknown, wrap(x), "closed-form", True, residual(x),
                               fwd.binding(x), _identifiable(fwd, x))
        if method == "closed-form":
            return SolveResult(unknown, None, "closed-form", False, float("nan"), {}, True, False,
                               message="no closed-form root inside the bounds reproduces the target")
    # 2. bracket on a log grid, then brentq
    grid = np.geomspace(lo, hi, 97)
    ys = np.asarray(fwd(grid), dtype=float) * np.ones_like(grid)
    f = ys - tval
    close = np.nonzero(np.abs(f) <= _REL_TOL * abs(tval))[0]
    sign = np.sign(f)
    hits = np.nonzero(sign[:-1] * sign[1:] <= 0)[0]
    if close.size and (not hits.size or close[0] <= hits[0]):
        x = float(grid[close[0]])
        if row.integer:
            return _whole(fwd, unknown, target, tval, x, lo, hi, wrap, twrap, "brentq")
        return SolveResult(unknown, wrap(x), "brentq", True, residual(x),
                           fwd.binding(x), _identifiable(fwd, x))
    if hits.size:
        i = int(hits[0])
        if f[i] == 0 or f[i + 1] == 0:
            x = float(grid[i] if f[i] == 0 else grid[i + 1])
        else:
            from scipy.optimize import brentq
            try:
                x = brentq(lambda v: fwd(v) - tval, grid[i],
                           grid[i + 1], xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=200)
            except ValueError:
                # the scalar evaluation at the bracket's ends disagrees in sign with the grid's
                # (a degenerate input: a zero exponent or coefficient); the closer end is the
                # answer, and the residual check below reports it if it misses the target
                x = float(grid[i] if abs(f[i]) <= abs(f[i + 1]) else grid[i + 1])
        if row.integer:
            return _whole(fwd, unknown, target, tval, x, lo, hi, wrap, twrap, "brentq",
                          bracket=(float(grid[i]), float(grid[i + 1])))
        if residual(x) > 1e-6:
            return _jump(fwd, unknown, tval, float(grid[i]), float(grid[i + 1]), x,
                         wrap, twrap)
        return SolveResult(unknown, wrap(x), "brentq", True, residual(x),
                           fwd.binding(x), _identifiable(fwd, x))
    # 3. unreachable: report the closest reachable value and whether the unknown matters there
    j = int(np.argmin(np.abs(f)))
    best = float(ys[j])
    plateau = np.nonzero(np.abs(ys - best) <= 1e-9 * abs(best))[0]
    flat_everywhere = plateau.size == grid.size
    on_plateau = plateau.size > 1
    if on_plateau and not flat_everywhere:
        # refine the knee: the least (or greatest) unknown beyond which the target stops moving
        edge = int(plateau.min()) if plateau.max() == grid.size - 1 else int(plateau.max())
        inside, outside = float(grid[edge]), float(grid[edge - 1] if edge == plateau.min() else grid[edge + 1])
        for _ in range(60):
            mid = math.sqrt(inside * outside)
            if abs(fwd(mid) - best) <= 1e-9 * abs(best):
                inside = mid
            else:
                outside = mid
        x_best = inside
    else:
        x_best = float(grid[j])
    binding = fwd.binding(float(grid[plateau.max()] if on_plateau else x_best))
    if flat_everywhere:
        msg = (f"{target} does not depend on {unknown} anywhere in [{wrap(lo):.3g~P}, "
               f"{wrap(hi):.3g~P}] (binding: {binding or 'n/a'}); it stays at {twrap(best):.4g~P}")
    elif on_plateau:
        side = "at or above" if plateau.max() == grid.size - 1 else "at or below"
        msg = (f"no {unknown} reaches {target} = {twrap(tval):.4g~P}: the best reachable is "
               f"{twrap(best):.4g~P}, for {unknown} {side} {wrap(x_best):.4g~P}, where "
               f"{binding or 'another term'} binds and {unknown} no longer matters")
    else:
        msg = (f"no {unknown} in [{wrap(lo):.3g~P}, {wrap(hi):.3g~P}] reaches {target} = "
               f"{twrap(tval):.4g~P}; the best reachable is {twrap(best):.4g~P} at "
               f"{unknown} = {wrap(x_best):.4g~P} (binding: {binding or 'n/a'})")
    return SolveResult(unknown, None, "brentq", False, abs(best - tval) / abs(tval), binding,
                       not on_plateau, False, twrap(best), wrap(x_best), msg)


def _jump(fwd, unknown, tval, a, b, x, wrap, twrap):
    """Report a root of a stepwise (floor/ceiling) dependence of a continuous unknown as a jump:
    no value reproduces the target; the values on both sides of the step are given."""
    y_lo = fwd(a)
    y_hi = fwd(b)
    msg = (f"{twrap(tval):.6g~P} falls in a jump of a stepwise {unknown}-dependence near "
           f"{wrap(x):.6g~P} (from {twrap(y_lo):.6g~P} to {twrap(y_hi):.6g~P}): no exact solution")
    return SolveResult(unknown, None, "brentq", False, abs(fwd(x)
                                                          - tval) / abs(tval),
                       fwd.binding(x), True, False,
                       twrap(fwd(x)), wrap(x), msg)


_HIGHER_IS_BETTER = ("throughput", "goodput", "flops_utilization", "availability",
                     "scaling_efficiency", "capacity")


def _higher_is_better(target) -> bool:
    """True when a target is a goal from below (a rate such as tokens/s, a throughput, an
    availability or a FLOP utilisation); False for a limit from above (times, bytes, cost)."""
    dims = dict(parse_unit(info(target).unit).dimensionality)
    if dims.get("[time]", 0) < 0 and not dims.get("[currency]", 0):
        return True
    return any(word in target for word in _HIGHER_IS_BETTER)


def _whole(fwd, unknown, target, tval, x, lo, hi, wrap, twrap, method, bracket=None):
    """The integer answer for a whole-number unknown near the exact solution ``x``.

    An integer that reproduces the target (within the solver tolerance) is returned as such
    (margin 0); otherwise the integer next to ``x`` on the side that meets the target (for a
    latency limit: the smallest device count that meets it, or the largest batch that stays
    within it), with the relative margin at that integer. Vectorised over the integers of the
    bracket; never a rounded, unchecked value.
    """
    f = base_factor(info(unknown).unit)
    u = x / f
    lo_u, hi_u = max(math.ceil(lo / f - 1e-9), 1), math.floor(hi / f + 1e-9)
    a, b = (bracket[0] / f, bracket[1] / f) if bracket else (u, u)
    first, last = max(math.floor(min(a, u)), lo_u), min(math.ceil(max(b, u)), hi_u)
    if last - first > 100_000:          # keep the exact search small: the two neighbours of x
        first, last = max(math.floor(u), lo_u), min(math.ceil(u), hi_u)
    if last < first:
        return SolveResult(unknown, None, method, False, float("nan"), {}, True, False,
                           message=f"no whole {unknown} lies in [{wrap(lo):.4g~P}, "
                                   f"{wrap(hi):.4g~P}] next to the exact solution {u:.6g}")
    cand = np.arange(first, last + 1, dtype=float)
    ys = np.asarray(fwd(cand * f), dtype=float) * np.ones_like(cand)
    err = np.abs(ys - tval) / abs(tval)
    exact = np.nonzero(err <= _REL_TOL)[0]
    if exact.size:
        c = float(cand[exact[0]])
        return SolveResult(unknown, wrap(c * f), method, True, float(err[exact[0]]),
                           fwd.binding(c * f),
                           _identifiable(fwd, c * f), margin=0.0)
    higher = _higher_is_better(target)
    near = np.array(sorted({min(max(math.floor(u), lo_u), hi_u), min(max(math.ceil(u), lo_u), hi_u)}),
                    dtype=float)
    y_near = np.asarray(fwd(near * f), dtype=float) * np.ones_like(near)
    ok = y_near >= tval if higher else y_near <= tval
    sense = ">=" if higher else "<="
    if not ok.any():
        j = int(np.argmin(np.abs(y_near - tval)))
        c, y = float(near[j]), float(y_near[j])
        return SolveResult(unknown, None, method, False, abs(y - tval) / abs(tval),
                           fwd.binding(c * f), True, False, twrap(y),
                           wrap(c * f),
                           f"no whole {unknown} next to the exact solution {u:.6g} meets "
                           f"{target} {sense} {twrap(tval):.4g~P}: {unknown} = {c:g} gives "
                           f"{twrap(y):.4g~P}")
    j = int(np.nonzero(ok)[0][0])
    c, y = float(near[j]), float(y_near[j])
    margin = (y - tval) / tval if higher else (tval - y) / tval
    msg = (f"{unknown} is a whole number: {c:g} is the whole {unknown} next to the exact "
           f"solution {u:.6g} that meets {target} {sense} {twrap(tval):.4g~P} ({target} = "
           f"{twrap(y):.4g~P} there, margin {margin:.3%})")
    return SolveResult(unknown, wrap(c * f), method + " (whole number)", True,
                       abs(y - tval) / abs(tval), fwd.binding(c * f),
                       _identifiable(fwd, c * f), True, message=msg,
                       margin=float(margin))


def _identifiable(fwd, x) -> bool:
    """True if the target moves with the unknown at x (one-sided relative differences)."""
    y0 = fwd(x)
    for h in (1e-6, -1e-6):
        y1 = fwd(x * (1 + h))
        if abs(y1 - y0) > 1e-12 * max(abs(y0), 1e-300):
            return True
    return False


def _solve_many(system, unknowns, targets, known, bounds):
    from scipy.optimize import least_squares
    kernels = {}
    for t in targets:
        k = system.compile([t])
        missing = [n for n in k.input_names if n not in unknowns and n not in known]
        if missing:
            raise ValueError(f"to solve for {', '.join(unknowns)} from {t}, give values for: "
                             + ", ".join(missing))
        kernels[t] = k
    bnds = {u: _bounds_base(u, (bounds or {}).get(u) if isinstance(bounds, dict) else bounds)
            for u in unknowns}
    lo = np.array([math.log(bnds[u][0]) for u in unknowns])
    hi = np.array([math.log(bnds[u][1]) for u in unknowns])

    def point(z):
        return {**known, **{u: math.exp(v) for u, v in zip(unknowns, z)}}

    def res(z):
        p = point(z)
        return np.array([k.raw(*[p[n] for n in k.input_names])[0] / targets[t] - 1
                         for t, k in kernels.items()])

    sol = least_squares(res, (lo + hi) / 2, bounds=(lo, hi), xtol=1e-15, ftol=1e-15, gtol=1e-15)
    p = point(sol.x)
    resid = float(np.max(np.abs(sol.fun))) if sol.fun.size else 0.0
    ok = resid < 1e-6
    whole = [u for u in unknowns if info(u).integer]
    margin, note, method = None, "", "least_squares"
    if ok and whole:
        p, margin, note = _whole_many(kernels, targets, p, whole, bnds)
        method = "least_squares (whole number)"
        ok = margin is not None
    out = {}
    for u in unknowns:
        row = info(u)
        k0 = next(iter(kernels.values()))
        out[u] = SolveResult(u, Q_(p[u] / base_factor(row.unit), parse_unit(row.unit)),
                             method, bool(sol.success and ok), resid,
                             _binding_at(k0, p, u, p[u]) if u in k0.input_names else {},
                             True, ok, message=note if note or ok else
                             f"least squares stopped at relative residual {resid:.3g}: the targets "
                             "are not all reachable within the bounds", margin=margin)
    return out


def _whole_many(kernels, targets, p, whole, bnds):
    """Whole-number unknowns of a joint solve: every floor / ceiling combination of the exact
    solution (at most 2^4), keeping those that meet every target (each in its direction); the
    one with the fewest units wins. Returns (point, smallest relative margin, message)."""
    if len(whole) > 4:
        return p, None, (f"{len(whole)} whole-number unknowns: too many floor / ceiling "
                         "combinations to check; solve for at most 4 at once")
    options = []
    for u in whole:
        f = base_factor(info(u).unit)
        lo_u, hi_u = max(math.ceil(bnds[u][0] / f - 1e-9), 1), math.floor(bnds[u][1] / f + 1e-9)
        x = p[u] / f
        options.append(sorted({min(max(math.floor(x), lo_u), hi_u),
                               min(max(math.ceil(x), lo_u), hi_u)}))
    best = None
    for combo in itertools.product(*options):
        q = dict(p, **{u: c * base_factor(info(u).unit) for u, c in zip(whole, combo)})
        margins = []
        for t, k in kernels.items():
            y = k.raw(*[q[n] for n in k.input_names])[0]
            m = (y - targets[t]) / targets[t] if _higher_is_better(t) else \
                (targets[t] - y) / targets[t]
            margins.append(m if abs(m) > _REL_TOL else 0.0)
        if min(margins) >= 0 and (best is None or sum(combo) < best[0]):
            best = (sum(combo), q, min(margins), combo)
    if best is None:
        exact = ", ".join(f"{u} = {p[u] / base_factor(info(u).unit):.6g}" for u in whole)
        return p, None, ("no floor / ceiling combination of the whole-number unknowns next to "
                         f"the exact solution ({exact}) meets every target with the other "
                         "unknowns held there; solve for fewer unknowns or targets (a "
                         "whole-number unknown alone gets the integer that meets its target)")
    _s, q, margin, combo = best
    return q, float(margin), ("whole numbers: " + ", ".join(f"{u} = {c:g}" for u, c in
                                                           zip(whole, combo))
                              + f" meet every target (smallest relative margin {margin:.3%})")
