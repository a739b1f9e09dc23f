"""``calibrate``: fit calibrated parameters to measurements by nonlinear least squares.

The residual of a measurement is ln(predicted / measured), so every measurement weighs the same
whatever its unit and size, and errors are relative. The fit is scipy's bounded trust-region
least squares (``least_squares(method="trf")``) with the soft_l1 loss at a 2% scale, i.e. least
absolute log deviations: the published targets are median |errors|, and the model's misses are
heavy-tailed (a configuration it cannot express should cost its distance, not its square). The
Jacobian is a forward difference evaluated in one vectorised call per case (every case
broadcasts over parameter arrays).

Variants (``compute_efficiency[hopper]``, ``tinyml_mac_efficiency[plumerai]``) are fitted as
multiplicative deviations from their base parameter, value = base x exp(delta), with a prior
penalty row delta / tau per variant (tau = ``variant_spread``; under the same loss that is a
Laplace prior of scale tau, a Gaussian one with ``loss="linear"``): the
base is fitted on every measurement, a variant moves away from it only as far as its own
measurements pull, and a variant without measurements stays at the base. That is what makes
leave-one-source-out and cross-generation predictions honest: a held-out chip generation or
software stack is predicted with the base value, never with a value fitted on itself.

Uncertainty and identifiability come from the Jacobian J at the solution: the covariance is
s^2 (J^T J)^-1 with s^2 = RSS / (n - p), and the 95% interval is computed where the parameter
lives so it never crosses a physical bound: ln theta +- t_{0.975, n-p} sd(ln theta) for a
positive parameter, logit theta +- t sd(logit theta) for a fraction in (0, 1) (variants through
the delta method). With as many free parameters as measurements (n <= p: no residual left) or a
rank-deficient Jacobian, a fitted parameter is reported as *not determined* with the reason
(``ParameterEstimate.determined``), never with a zero-width interval. A base parameter the data cannot move (zero column) or cannot separate
from others (a near-null singular vector of the scaled J) is reported as not identifiable and
held at its starting value, never reported as fitted; a variant with no measurement of its own is
reported as held at its base.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from .. import defaults as _defaults
from ..units import Q_
from .cases import Case, NotCovered, build_cases
from .measurements import Measurement, load_measurements, shipped_measurements
from ..defaults import parent
from .parameters import parameter, split_name

__all__ = ["calibrate", "CalibrationResult", "ParameterEstimate", "FitRow", "as_cases",
           "starting_values", "evaluate", "VARIANT_SPREAD", "F_SCALE"]

_BAD = 5.0            # residual of a prediction that is not a positive finite number
_NULL_RATIO = 1e-5    # singular value / largest below which a direction is not identified
#: prior log-spread of a variant around its base parameter (a factor e = 2.7 at 1 sigma)
VARIANT_SPREAD = 1.0
#: scale of the soft_l1 loss: below 2% a log residual costs its square, above it its absolute
#: value, so the fit is least absolute deviations (the estimator of the median error)
F_SCALE = 0.02


@dataclass(frozen=True)
class ParameterEstimate:
    """A fitted (or held) parameter: value, standard error, 95% interval, identifiability."""

    name: str
    value: float
    unit: str
    start: float
    stderr: float
    ci: tuple
    identifiable: bool
    note: str = ""
    log_sd: float = float("nan")   # standard deviation of ln(value) (for uncertainty bands)
    #: False when the fit moved the parameter but the data cannot say how well: as many free
    #: parameters as measurements (no residual left), or a rank-deficient Jacobian; ``note``
    #: says which, and ``ci`` is (nan, nan)
    determined: bool = True

    @property
    def quantity(self):
        return Q_(self.value, self.unit)

    def __str__(self):
        u = f" {self.unit}" if self.unit not in ("", "dimensionless") else ""
        if not self.identifiable:
            return f"{self.name} = {self.value:.4g}{u} (held: {self.note})"
        if not self.determined:
            return f"{self.name} = {self.value:.4g}{u} (not determined: {self.note})"
        return (f"{self.name} = {self.value:.4g}{u} (95% CI {self.ci[0]:.4g} .. "
                f"{self.ci[1]:.4g}{u})")


@dataclass(frozen=True)
class FitRow:
    """One measurement at the fitted parameters."""

    id: str
    category: str
    source: str
    measured: float
    predicted: float
    unit: str

    @property
    def error(self) -> float:
        """Relative error (predicted - measured) / measured."""
        return self.predicted / self.measured - 1.0


@dataclass
class CalibrationResult:
    """What :func:`calibrate` returns."""

    parameters: dict
    rows: list
    n: int
    dof: int
    converged: bool
    message: str
    not_covered: list = field(default_factory=list)
    residual_sd: float = float("nan")
    #: parents of requested variants, fitted alongside them (a variant is a deviation from its
    #: base) but not asked for: ``parameters`` holds exactly the requested names
    auxiliary: dict = field(default_factory=dict)

    @property
    def values(self) -> dict:
        """Parameter name -> fitted (or held) value, in the symbol's declared unit: the requested
        parameters and the parents fitted alongside them (what a prediction needs)."""
        out = {k: p.value for k, p in self.auxiliary.items()}
        out.update({k: p.value for k, p in self.parameters.items()})
        return out

    @property
    def rms_log_error(self) -> float:
        r = np.log([row.predicted / row.measured for row in self.rows])
        return float(np.sqrt(np.mean(r ** 2))) if len(r) else float("nan")

    @property
    def median_abs_error(self) -> float:
        return float(np.median([abs(r.error) for r in self.rows])) if self.rows else float("nan")

    def report(self) -> str:
        lines = [f"fit of {len(self.parameters)} parameters to {self.n} measurements "
                 f"({'converged' if self.converged else 'NOT converged'}: {self.message})"]
        lines += [f"  {p}" for p in self.parameters.values()]
        if self.auxiliary:
            lines.append("  fitted alongside (parents of the requested variants):")
            lines += [f"    {p}" for p in self.auxiliary.values()]
        lines.append(f"  median |error| {self.median_abs_error:.1%}, rms log error "
                     f"{self.rms_log_error:.3f} (in sample: the fitted measurements)")
        if self.not_covered:
            lines.append(f"  {len(self.not_covered)} measurements not covered")
        return "\n".join(lines)

    __str__ = report


def as_cases(measurements) -> tuple[list[Case], list[NotCovered]]:
    """Cases from a path, a list of entries / Measurements / Cases, or None (the shipped set)."""
    if measurements is None:
        return build_cases(shipped_measurements())
    if isinstance(measurements, (list, tuple)) and measurements \
            and all(isinstance(c, Case) for c in measurements):
        return list(measurements), []
    if isinstance(measurements, (list, tuple)) and measurements \
            and all(isinstance(m, Measurement) for m in measurements):
        return build_cases(list(measurements))
    return build_cases(load_measurements(measurements))


def starting_values(model=None, names=()) -> dict:
    """Parameter values (declared units): the shipped defaults, overridden by ``model``."""
    out = {}
    for name in set(names) | set(model or {}):
        p = parameter(name)
        look, v = name, None
        while model and look is not None:  # a variant starts at its nearest given ancestor
            if look in model:
                v = model[look]
                break
            look = parent(look)
        if v is None:
            v = _defaults.default(name)
        v = v.to(p.unit).magnitude if hasattr(v, "to") else float(v)
        out[name] = float(v)
    return out


def evaluate(cases, values: Mapping[str, object]) -> list:
    """Predictions of ``cases`` at parameter ``values`` (arrays broadcast: one call per case)."""
    out = []
    for c in cases:
        try:
            with np.errstate(all="ignore"):
                y = np.asarray(c.predict(values), dtype=float)
        except (ValueError, ZeroDivisionError, FloatingPointError, OverflowError):
            y = np.asarray(np.nan)
        out.append(y)
    return out


def _residuals(preds, measured):
    shape = ()
    for y in preds:
        shape = np.broadcast_shapes(shape, np.shape(y))
    out = np.empty((len(preds),) + shape)
    for i, (y, m) in enumerate(zip(preds, measured)):
        with np.errstate(all="ignore"):
            r = np.log(np.broadcast_to(y, shape) / m)
        out[i] = np.where(np.isfinite(r), r, _BAD)
    return out


class _Space:
    """The fitted coordinates: base parameters (natural values) and variant log-deviations."""

    def __init__(self, names, base_values, spread, held=()):
        # a parameter held fixed (``fixed=``: a base or a variant) anchors the variants below it
        # without being a coordinate
        self.held = {b: base_values[b] for b in held}
        self.bases = sorted({split_name(n)[0] for n in names} - set(self.held))
        # parents before children, so values() can walk down each chain
        self.variants = sorted((n for n in names if split_name(n)[1] is not None),
                               key=lambda n: (split_name(n)[1].count("-"), n))
        self.coords = self.bases + self.variants
        self.spread = spread
        self.params = {split_name(b)[0]: parameter(split_name(b)[0])
                       for b in [*self.bases, *self.held]}
        lo = [self.params[b].bounds[0] for b in self.bases] + [-6.0] * len(self.variants)
        hi = [self.params[b].bounds[1] for b in self.bases] + [6.0] * len(self.variants)
        self.lo, self.hi = np.array(lo), np.array(hi)
        self.start = base_values

    def x0(self, start):
        xs = []
        for b in self.bases:
            lo, hi = self.params[b].bounds
            v = min(max(start[b], lo), hi)
            xs.append(lo + 1e-6 * (hi - lo) if v <= lo else v)
        for v in self.variants:
            up = parent(v)
            sv, sb = start.get(v, start[up]), start[up]
            xs.append(math.log(sv / sb) if sv > 0 and sb > 0 else 0.0)
        return np.clip(np.array(xs, dtype=float), self.lo, self.hi)

    def values(self, x) -> dict:
        """Parameter name -> value (arrays when x holds columns of points)."""
        x = np.asarray(x, dtype=float)
        out = {b: x[i] for i, b in enumerate(self.bases)}
        out.update(self.held)
        for j, v in enumerate(self.variants):
            hi = self.params[split_name(v)[0]].bounds[1]
            out[v] = np.minimum(out[parent(v)] * np.exp(x[len(self.bases) + j]), hi)
        return out


class _Problem:
    """Residuals (data + variant prior rows) and their forward-difference Jacobian."""

    def __init__(self, cases, space, fixed_values, active):
        self.cases, self.space, self.fixed = cases, space, dict(fixed_values)
        self.active = list(active)           # indices of coordinates being fitted
        self.measured = np.array([c.measured for c in cases], dtype=float)
        self.full = space.x0(fixed_values)
        self._memo = (None, None, None)

    def _expand(self, xa):
        x = np.array(self.full, dtype=float)
        x[self.active] = xa
        return x

    def both(self, xa):
        xa = np.asarray(xa, dtype=float)
        key = xa.tobytes()
        if self._memo[0] == key:
            return self._memo[1], self._memo[2]
        lo, hi = self.space.lo[self.active], self.space.hi[self.active]
        h = 1e-6 * np.maximum(np.abs(xa), 1e-3 * np.minimum(hi - lo, 1.0))
        h = np.where(xa + h > hi, -h, h)
        p = len(xa)
        grid = np.tile(xa, (p + 1, 1))
        grid[1:][np.arange(p), np.arange(p)] += h
        full = np.tile(self.full, (p + 1, 1))
        full[:, self.active] = grid
        values = dict(self.fixed)
        values.update(self.space.values(full.T))
        r = _residuals(evaluate(self.cases, values), self.measured)   # (n, p + 1)
        nb = len(self.space.bases)
        prior = full[:, nb:].T / self.space.spread                       # (variants, p + 1)
        r = np.vstack([r, prior]) if prior.size else r
        f = r[:, 0]
        jac = (r[:, 1:] - f[:, None]) / h[None, :]
        self._memo = (key, f, jac)
        return f, jac

    def fun(self, xa):
        return self.both(xa)[0]

    def jac(self, xa):
        return self.both(xa)[1]


class _Reported:
    """``problem.fun`` that also reports each evaluation of the model to ``progress``."""

    def __init__(self, both, progress, what):
        self.both, self.progress, self.what, self.calls = both, progress, what, 0

    def __call__(self, xa):
        self.calls += 1
        self.progress(f"{self.what}, {self.calls} evaluations")
        return self.both(xa)[0]


def _identify(jac, x, names, n_data, scale_ranges, typical=None):
    """Coordinates not identifiable at ``x`` and why (zero column, or a near-null direction).

    Columns are scaled by the coordinate's typical size (its value, or its starting value when
    the fit drove it to zero), so a parameter at a bound of 0 is not mistaken for a flat one.
    """
    scale = np.maximum(np.abs(x), 1e-3 * np.minimum(scale_ranges, 1.0))
    if typical is not None:
        scale = np.maximum(scale, np.abs(typical))
    js = jac[:n_data] * scale[None, :]
    why = {}
    norms = np.linalg.norm(js, axis=0)
    top = norms.max() if norms.size else 0.0
    for j, n in enumerate(names):
        if not np.isfinite(norms[j]) or norms[j] <= 1e-9 * max(top, 1e-300):
            why[n] = "the measurements do not depend on it"
    keep = [j for j, n in enumerate(names) if n not in why and split_name(n)[1] is None]
    while len(keep) > 1:  # hold one base per near-null direction, then look again
        _u, s, vt = np.linalg.svd(js[:, keep], full_matrices=False)
        if s[-1] >= _NULL_RATIO * s[0]:
            break
        v = np.abs(vt[-1])
        worst = int(np.argmax(v))
        others = [names[keep[i]] for i in np.argsort(-v) if v[i] > 0.2 and i != worst]
        why[names[keep[worst]]] = ("not separable from " + ", ".join(others) if others
                                   else "a near-flat direction of the fit")
        keep.pop(worst)
    return why


def _staged_start(cases, model, kw):
    """Per-category fits from ``model``, combined: the joint fit's starting point.

    Each category's measurements pull mostly on their own parameters; fitting them apart first
    (a parameter shared by categories keeps the value of the category with the most
    measurements using it) puts the joint fit in the right basin instead of a compromise.
    """
    by_cat = {}
    for c in cases:
        by_cat.setdefault(c.category, []).append(c)
    start, votes = dict(model or {}), {}
    for cat, group in sorted(by_cat.items(), key=lambda kv: len(kv[1])):
        r = calibrate(group, model=model, staged=False, **kw)
        for name, est in r.parameters.items():
            n_use = sum(1 for c in group if name in c.uses)
            if est.identifiable and n_use >= votes.get(name, 0):
                start[name], votes[name] = est.value, n_use
    return start


def _calibrate(measurements=None, parameters=None, model=None, *, max_nfev: int = 200,
               fixed=None, variant_spread: float = VARIANT_SPREAD, loss: str = "soft_l1",
               f_scale: float = F_SCALE, staged: bool = False,
               progress=None) -> CalibrationResult:
    """Fit ``parameters`` to ``measurements`` by least squares on ln(predicted / measured).

    Parameters
    ----------
    measurements : str, Path, list, or None
        A measurement file in the format of the shipped calibration set (each entry with an
        ``mlsysim`` block saying how to reproduce it), a list of such entries, of
        :class:`Measurement` or of :class:`Case`; None for the shipped 145 + 134 measurements.
    parameters : list of str, optional
        Names of calibrated parameters to fit (``compute_efficiency``, ``memory_efficiency``,
        ``tinyml_mac_efficiency[plumerai]``, ...); default: every parameter the cases use (a
        variant brings its base parameter with it).
    model : mapping, optional
        Parameter values (numbers in the symbol's unit, or quantities) to start from and to hold
        for the parameters not fitted; default: the shipped defaults (``defaults.yaml``).
    max_nfev : int
        Iteration cap of the trust-region solver.
    fixed : iterable of str, optional
        Parameters never fitted (held at their value in ``model`` or the defaults). A fixed
        base still anchors its variants: ``fixed=["communication_efficiency"]`` with
        ``communication_efficiency[serve]`` in ``parameters`` fits the serving deviation from
        the held base.
    variant_spread : float
        Prior standard deviation of ln(variant / base).
    loss, f_scale : str, float
        scipy's robust loss on the log residuals and the prior rows (``"soft_l1"``: quadratic
        below ``f_scale``, linear above; with the default 0.02 the fit is least absolute
        deviations, the estimator whose target is the median |error|, and the variant prior is
        in effect Laplace(0, tau): a variant leaves its base only when its own measurements
        pull harder than the prior; a measurement the model cannot express costs its distance,
        not its square, so it cannot drag the rest; ``"linear"`` for plain least squares).
    staged : bool
        Start the joint fit from per-category fits (more robust with several categories).
    progress : callable(str), optional
        Called with a line per step of the fit (round, model evaluations so far);
        :class:`mlsysim_sym.progress.Progress` shows them with the elapsed time.

    Returns
    -------
    CalibrationResult
        ``parameters`` (name -> :class:`ParameterEstimate` with value, 95% interval and
        identifiability), ``rows`` (predicted vs measured per measurement), ``report()``.
    """
    from scipy.optimize import least_squares
    from scipy.stats import t as student_t

    cases, uncovered = as_cases(measurements)
    if not cases:
        raise ValueError("no measurement can be reproduced: give entries with an 'mlsysim' "
                         "block (see mlsysim_sym.calibration.cases)")
    if not (isinstance(variant_spread, (int, float)) and variant_spread > 0):
        raise ValueError(f"variant_spread must be a positive number, got {variant_spread!r}")
    if staged and parameters is None and len({c.category for c in cases}) > 1:
        model = _staged_start(cases, model, dict(max_nfev=max_nfev, fixed=fixed,
                                                 variant_spread=variant_spread, loss=loss,
                                                 f_scale=f_scale))
    used = sorted({u for c in cases for u in c.uses})
    if parameters is not None and (isinstance(parameters, str)
                                   or not all(isinstance(n, str) for n in parameters)):
        raise ValueError(f"parameters must be a list of parameter names, got {parameters!r:.60}")
    requested = list(parameters) if parameters is not None else None
    names = list(parameters) if parameters is not None else list(used)
    for n in names:
        parameter(n)  # clear error for an unknown name
    fixed = set(fixed or ())
    names = [n for n in names if n not in fixed]
    chain = []
    for n in names:
        up = parent(n)
        while up is not None:
            if up not in names and up not in chain and up not in fixed:
                chain.append(up)
            up = parent(up)
    names += chain
    ancestors = set()
    for n in used:
        up = parent(n)
        while up is not None:
            ancestors.add(up)
            up = parent(up)
    start = starting_values(model, set(used) | set(names) | ancestors)
    space = _Space(names, start, float(variant_spread),
                   held=[b for b in fixed if b in start])
    coords = space.coords
    full0 = space.x0(start)
    fixed_values = {k: v for k, v in start.items() if k not in coords}
    n_data = len(cases)
    spans = np.minimum(space.hi - space.lo, 1.0)

    probe = _Problem(cases, space, {**fixed_values, **start}, range(len(coords)))
    probe.full = full0
    _f0, j0 = probe.both(full0)
    held = _identify(j0, full0, coords, n_data, spans)
    converged, message, x = True, "nothing to fit", full0.copy()
    pinned = set()
    cov_active = np.zeros((0, 0))
    s2 = float("nan")
    for _round in range(3):  # refit without what the solution shows to be flat
        active = [i for i, c in enumerate(coords) if c not in held or c in pinned]
        if not active:
            break
        problem = _Problem(cases, space, {**fixed_values, **start}, active)
        problem.full = full0
        if progress is not None:
            problem.fun = _Reported(problem.both, progress, f"round {_round + 1}: fitting "
                                    f"{len(active)} parameters to {n_data} measurements")
        x0 = np.where(np.isin(np.arange(len(coords)), list(
            coords.index(c) for c in pinned)), x, full0)[active]
        sol = least_squares(problem.fun, x0, jac=problem.jac,
                            bounds=(space.lo[active], space.hi[active]), method="trf",
                            x_scale="jac", max_nfev=max_nfev, loss=loss, f_scale=f_scale,
                            ftol=1e-10, xtol=1e-10)
        converged, message = bool(sol.status > 0), str(sol.message)
        x = full0.copy()
        x[active] = sol.x
        f, jac = problem.both(sol.x)
        names_active = [coords[i] for i in active]
        late = {k: v for k, v in _identify(jac, sol.x, names_active, n_data, spans[active],
                                           full0[active]).items() if k not in pinned}
        for jj, i in enumerate(active):  # driven onto a bound: the data only say "at most"
            lo_i, hi_i = space.lo[i], space.hi[i]
            tol = 1e-6 * max(hi_i - lo_i, 1e-12)
            if coords[i] not in late and (sol.x[jj] - lo_i <= tol or hi_i - sol.x[jj] <= tol):
                side = "lower" if sol.x[jj] - lo_i <= tol else "upper"
                held[coords[i]] = (f"pinned at its {side} bound: the data favour no more "
                                   "(or less) of it, and do not determine its size")
                pinned.add(coords[i])
        if not late:
            break
        held.update(late)   # back to the start value, and fit the rest again
    undetermined = {}
    if active:
        data = f[:n_data]
        dof = max(n_data - len(active), 1)
        s2 = float(data @ data) / dof
        cov_active = s2 * np.linalg.pinv(jac.T @ jac)
        scale = np.maximum(np.abs(x[active]), 1e-3 * spans[active])
        undetermined = _undetermined(jac * scale[None, :], [coords[i] for i in active], n_data)
    tq = float(student_t.ppf(0.975, max(n_data - len(active), 1)))
    cov = np.full((len(coords), len(coords)), np.nan)
    if active:
        cov[np.ix_(active, active)] = cov_active
    values = space.values(x)
    estimates = {}
    for i, c in enumerate(coords):
        base, var = split_name(c)
        p = parameter(c)
        val = float(values[c])
        if c in held:
            note = held[c]
            if var is not None and c not in pinned:
                note = (f"no measurement of its own: equals {parent(c)}" if c not in used
                        else f"measured, but the data do not separate it from {parent(c)}, "
                             "which it equals")
            estimates[c] = ParameterEstimate(c, val, p.unit, start.get(c, val), float("nan"),
                                             (float("nan"), float("nan")), False, note,
                                             0.0 if c in pinned else float("nan"))
            continue
        if c in undetermined:
            estimates[c] = ParameterEstimate(c, val, p.unit, start.get(c, val), float("nan"),
                                             (float("nan"), float("nan")), True,
                                             undetermined[c], float("nan"), False)
            continue
        if var is None:
            se = math.sqrt(max(cov[i, i], 0.0))
            log_sd = se / val if val > 0 else float("nan")
        else:  # delta method on ln v = ln base + sum of the deltas down the chain
            vb = float(values[base])
            idx, grad = [], []
            look = c
            while look != base and look not in space.held:  # a held level ends the chain
                idx.append(coords.index(look))
                grad.append(1.0)
                look = parent(look)
            if look == base and base in coords:
                idx.append(coords.index(base))
                grad.append(1.0 / vb if vb > 0 else 0.0)
            sub = cov[np.ix_(idx, idx)]
            g = np.array(grad)
            keep = np.isfinite(np.diag(sub))
            var_log = float(g[keep] @ np.nan_to_num(sub[np.ix_(keep, keep)]) @ g[keep])
            log_sd = math.sqrt(max(var_log, 0.0))
            se = val * log_sd
        estimates[c] = ParameterEstimate(c, val, p.unit, start.get(c, val), se,
                                         _interval(val, se, log_sd, tq, p.bounds), True, "",
                                         log_sd)
    final = dict(fixed_values)
    final.update({k: float(v) for k, v in values.items()})
    preds = evaluate(cases, final)
    rows = [FitRow(c.id, c.category, c.source, c.measured,
                   float(np.asarray(y, dtype=float).reshape(-1)[0]), c.unit)
            for c, y in zip(cases, preds)]
    order = [n for n in coords if n in estimates]
    asked = set(requested) if requested is not None else set(order)
    return CalibrationResult({n: estimates[n] for n in order if n in asked}, rows, n_data,
                             max(n_data - len(active), 0), converged, message, uncovered,
                             math.sqrt(s2) if s2 == s2 else float("nan"),
                             {n: estimates[n] for n in order if n not in asked})



@functools.wraps(_calibrate)
def calibrate(*args, **kwargs) -> CalibrationResult:
    # The fit's dense linear algebra (trust-region SVDs of a Jacobian of a few hundred rows by
    # tens of parameters) runs on one BLAS thread: at this size a thread pool costs more than
    # it saves, and on a loaded machine, or beside the processes of a parallel
    # leave-one-source-out run, OpenBLAS's spinning threads made each SVD ~500x slower (3.7 s
    # vs 7 ms for 300 x 100, measured on the project's 2-core machine under load).
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        return _calibrate(*args, **kwargs)


def _interval(val, se, log_sd, tq, bounds):
    """95% interval computed where the parameter lives, so it never crosses a physical bound.

    A fraction (a parameter whose range ends at 1: efficiencies, overlaps) on the logit scale,
    any other positive parameter on the log scale (its standard deviation of ln value, from the
    delta method), back-transformed; a parameter at 0 keeps the linear interval, cut at 0.
    """
    if not (math.isfinite(val) and val > 0):
        return (max(val - tq * se, 0.0), val + tq * se)
    if not math.isfinite(log_sd):
        log_sd = se / val
    if bounds[1] <= 1.0 and val < 1.0:
        z, sd = math.log(val / (1.0 - val)), log_sd / (1.0 - val)
        lo, hi = z - tq * sd, z + tq * sd
        return (1.0 / (1.0 + math.exp(-lo)) if lo > -700 else 0.0,
                1.0 / (1.0 + math.exp(-hi)) if hi < 700 else 1.0)
    return (val * math.exp(max(-tq * log_sd, -700.0)), val * math.exp(min(tq * log_sd, 700.0)))


def _undetermined(jac, names, n_data) -> dict:
    """Fitted coordinates whose uncertainty the data cannot give, and why.

    With as many free parameters as measurements the fit passes through every point and leaves
    no residual to estimate the noise from (a zero-width interval would be a false claim); with
    a rank-deficient Jacobian (data and prior rows) the parameters in its null space are not
    determined. Variants carry a prior row each, so only the data count against the bases.
    """
    p = len(names)
    if n_data <= p:
        why = (f"{n_data} measurement(s) for {p} free parameter(s) leave no residual to "
               f"estimate the uncertainty from (the fit passes through every point; measure at "
               f"least {p + 1} points, or hold some parameters with fixed=[...])")
        return {n: why for n in names}
    out = {}
    if p and np.all(np.isfinite(jac)):
        _u, s, vt = np.linalg.svd(jac, full_matrices=False)
        if s.size and s[0] > 0:
            rank = int(np.sum(s > _NULL_RATIO * s[0]))
            if rank < p:
                for row in vt[rank:]:
                    for j in np.nonzero(np.abs(row) > 0.2)[0]:
                        out[names[j]] = (f"the Jacobian is rank-deficient (rank {rank} of {p}): "
                                         "the data do not separate it from "
                                         + (", ".join(names[k] for k in np.nonzero(
                                             np.abs(row) > 0.2)[0] if k != j) or "the others"))
    return out
