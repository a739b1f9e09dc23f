"""One validation layer for every input of the public API.

Every facade (``predict``, ``train``, ``serve``, ``size_fleet``, ``synthesize``, ``sensitivity``,
``solve_for``, the workload predictors) turns user values into base-unit magnitudes through the
functions here, so a value is checked the same way wherever it enters:

* **parsing**: a pint quantity, a quantity string (``"3.35 TB/s"``, parsed by the strict
  :func:`~mlsysim_sym.units.parse_quantity`, never evaluated) or a bare number / list / numpy
  array *in the declared unit* of the argument (``memory_bandwidth=4800`` is 4800 GB/s: the
  unit the symbol is declared and displayed in, ``ms.symbols.info(name).unit``);
* **finiteness**: NaN and infinities are refused;
* **range**: positivity for every model quantity (symbols are positive), ``<= 1`` for
  fractions, whole numbers for counts (the symbol's ``integer`` flag), and the explicit ranges
  of the knobs (``batch`` in [1, 1e6], ...);
* **size**: an array (or the broadcast of several) with more points than
  :data:`config` ``.max_sweep_points`` (default 1e7; environment variable
  ``MLSYSIM_MAX_SWEEP_POINTS``) is refused *before* anything is allocated, with the estimated
  memory and how to run it in chunks.

Errors are :class:`InputError` (a ``ValueError``) and :class:`SweepTooLargeError` (an
``InputError``), or :class:`~mlsysim_sym.units.UnitError` (a ``ValueError``) for a malformed or
wrong-dimension quantity; each message names the argument, what was wrong and what is allowed.
Array checks are vectorised (min / max reductions, no Python loops).

This module imports only :mod:`~mlsysim_sym.units` and :mod:`~mlsysim_sym.symbols` (it will move
into the core package with them); task-level rules that need the registry (tensor parallelism
that must divide the heads and fit the node) live in the facades.
"""

from __future__ import annotations

import math
import os
from numbers import Real

import numpy as np
import pint

from .units import UnitError, base_factor, check_dimension, parse_quantity, parse_unit

__all__ = ["InputError", "SweepTooLargeError", "config", "number", "count", "fraction",
           "quantity", "symbol_value", "scalar_value", "magnitude", "one", "sweep_shape", "check_size",
           "ERRORS"]


class InputError(ValueError):
    """A value given to the public API that is malformed, out of range or too large."""


class SweepTooLargeError(InputError):
    """A sweep (array knobs broadcast together) with more points than the configured limit."""


#: The exception classes the public API raises for bad input (all are ``ValueError``; an unknown
#: registry name is a ``RegistryLookupError``, which is both a ``LookupError`` and a
#: ``ValueError``).
ERRORS = (InputError, UnitError, ValueError)

_ENV = "MLSYSIM_MAX_SWEEP_POINTS"
_DEFAULT_MAX_POINTS = 10_000_000


class _Config:
    """Runtime settings of the validation layer (``mlsysim_sym.config``).

    Attributes
    ----------
    max_sweep_points : int
        Largest number of points (product of the broadcast shape of the array knobs) one call
        evaluates; default 10,000,000, or the environment variable ``MLSYSIM_MAX_SWEEP_POINTS``.
    """

    def __init__(self):
        self._max = None

    @property
    def max_sweep_points(self) -> int:
        if self._max is not None:
            return self._max
        text = os.environ.get(_ENV)
        if text is None:
            return _DEFAULT_MAX_POINTS
        try:
            value = int(float(text))
        except ValueError:
            raise InputError(f"environment variable {_ENV} must be a whole number of points, "
                             f"got {text[:40]!r}") from None
        if value < 1:
            raise InputError(f"environment variable {_ENV} must be >= 1, got {text[:40]!r}")
        return value

    @max_sweep_points.setter
    def max_sweep_points(self, value):
        if value is None:
            self._max = None
            return
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer)) \
                or not math.isfinite(value) or value < 1:
            raise InputError(f"max_sweep_points must be a whole number >= 1, got {value!r}")
        self._max = int(value)

    def __repr__(self):
        return f"config(max_sweep_points={self.max_sweep_points:,})"


config = _Config()


# ------------------------------------------------------------------------------------- helpers
def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _range_text(low, high, low_open, high_open, integer, unit="", plural=False) -> str:
    unit = _unit_text(unit)
    kind = ("whole numbers" if plural else "a whole number") if integer else \
        ("numbers" if plural else "a number")
    u = f" {unit}" if unit else ""
    if low is not None and high is not None and math.isfinite(high):
        if integer and not low_open and not high_open:
            return f"{kind} between {low:g} and {high:g}{u}"
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{']' if not high_open else ')'}{u}"
        return f"{'values' if plural else ''} in {interval}".strip() if not integer \
            else f"{kind} in {interval}"
    if low == 0 and high is None:
        word = "positive" if low_open else "non-negative"
        return (f"{word} {kind}" if plural else f"a {word} {kind[2:]}") + (
            f" (in {unit})" if unit else "")
    if low is not None:
        return f"{kind} {'>' if low_open else '>='} {low:g}{u}"
    if high is not None:
        return f"{kind} {'<' if high_open else '<='} {high:g}{u}"
    return f"finite {kind}" if plural else f"a finite {kind[2:]}"


def check_size(name, n_points, *, arrays: int = 8) -> None:
    """Refuse ``n_points`` above ``config.max_sweep_points`` (before anything is allocated)."""
    limit = config.max_sweep_points
    if n_points <= limit:
        return
    est = n_points * np.dtype(np.float64).itemsize * max(arrays, 1)   # float64 outputs
    raise SweepTooLargeError(
        f"{name} has {n_points:,} points, more than mlsysim_sym.config.max_sweep_points = "
        f"{limit:,}; evaluating it would need about {_bytes(est)} of memory (8 bytes per point for "
        f"each of ~{max(arrays, 1)} arrays). Run it in bounded chunks with ms.sweep (e.g. "
        f"`ms.sweep('predict', model=..., hardware=..., batch=..., seq_len=..., reduce=[...])`; "
        f"backend='dask' distributes it), or loop over `np.array_split(values, "
        f"{math.ceil(n_points / limit)})` yourself, or raise the limit "
        f"(mlsysim_sym.config.max_sweep_points = N, or the environment variable {_ENV})")


def _bytes(n) -> str:
    for unit, f in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= f:
            return f"{n / f:.3g} {unit}"
    return f"{n:.0f} B"


def sweep_shape(*named, arrays: int = 8) -> tuple:
    """Broadcast shape of ``(name, value)`` pairs, refused above the sweep limit.

    Only shapes are looked at (``np.broadcast_shapes``): nothing is allocated. ``arrays`` is the
    rough number of point-sized arrays the evaluation builds, for the memory estimate.
    """
    shapes = [np.shape(v) for _n, v in named]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        desc = ", ".join(f"{n} {s}" for (n, _v), s in zip(named, shapes) if s)
        raise InputError(f"the array knobs cannot be broadcast together: {desc}; give arrays "
                         "of one shape, or shapes such as (n, 1) and (1, m) for a grid") from None
    n = math.prod(shape)
    if n > config.max_sweep_points:
        names = " x ".join(f"{nm}{tuple(np.shape(v))}" for nm, v in named if np.ndim(v))
        check_size(f"the sweep {names} (broadcast shape {shape})", n, arrays=arrays)
    return shape


def _to_float_array(name, value, allowed):
    """A float (or float array) from a number / list / array; refuses everything else.
    ``allowed()`` gives the text of what is allowed (built only for a message)."""
    if type(value) is float or type(value) is int:   # the common case, fast
        try:
            return float(value)
        except OverflowError:
            raise InputError(f"{name} must be {allowed()}, got {_show(value)}") from None
    if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, (str, bytes, dict)):
        raise InputError(f"{name} must be {allowed()}, got {_show(value)}")
    if isinstance(value, Real):
        try:
            return float(value)
        except (OverflowError, ValueError, TypeError):
            raise InputError(f"{name} must be {allowed()}, got {_show(value)}") from None
    if isinstance(value, (list, tuple)):
        try:
            value = np.asarray(value)
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"{name} must be {allowed()} (or a list / array of them, of one "
                             f"shape), got {_show(value)}") from None
    if not isinstance(value, np.ndarray):
        raise InputError(f"{name} must be {allowed()}, got {type(value).__name__} {_show(value)}")
    check_size(name, value.size)
    kind = value.dtype.kind
    if kind in "bcUSVMm":
        what = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes"}.get(
            kind, str(value.dtype))
        raise InputError(f"{name} must be {allowed()}, got an array of {what}")
    try:
        arr = value.astype(float, copy=False)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{name} must be {allowed()} (or a list / array of them, of one shape), "
                         f"got {_show(value)}") from None
    if arr.size == 0:
        raise InputError(f"{name} is an empty array; give at least one value")
    return arr if arr.ndim else float(arr)


def number(name, value, *, low=None, high=None, low_open=False, high_open=False,
           integer=False, unit="", shown=None):
    """``value`` (a number, list or numpy array) checked to be finite and in range.

    Returns a float or a float array. ``unit`` (a string or a pint unit) only decorates the
    message, as ``shown`` (how to show the value: a string, or a function giving it) does.
    """
    def allowed():
        return _range_text(low, high, low_open, high_open, integer, unit)
    v = _to_float_array(name, value, allowed)
    if isinstance(v, float):
        ok = math.isfinite(v) and (low is None or (v > low if low_open else v >= low)) \
            and (high is None or (v < high if high_open else v <= high)) \
            and (not integer or v == math.floor(v))
        if not ok:
            raise InputError(f"{name} must be {allowed()}, got "
                             f"{_show(value) if shown is None else _text(shown)}")
        return v
    lo_v, hi_v = float(np.min(v)), float(np.max(v))   # NaN propagates through min / max
    # integer arrays hold whole numbers; a float array's (all finite here) are whole where
    # floor(v) == v (np.mod's sign handling costs 5x more)
    whole = not integer or (isinstance(value, np.ndarray) and value.dtype.kind in "iu") \
        or bool((np.floor(v) == v).all())
    bad = (math.isnan(lo_v) or math.isnan(hi_v) or math.isinf(lo_v) or math.isinf(hi_v)
           or (low is not None and (lo_v <= low if low_open else lo_v < low))
           or (high is not None and (hi_v >= high if high_open else hi_v > high))
           or not whole)
    if bad:
        mask = ~np.isfinite(v)
        if low is not None:
            mask |= (v <= low) if low_open else (v < low)
        if high is not None:
            mask |= (v >= high) if high_open else (v > high)
        if integer:
            mask |= np.mod(np.where(np.isfinite(v), v, 0.0), 1.0) != 0
        first = v[mask].flat[0] if mask.any() else lo_v
        plural = _range_text(low, high, low_open, high_open, integer, unit, plural=True)
        raise InputError(f"{name} must hold {plural}; "
                         f"{int(mask.sum())} value(s) are not (e.g. {float(first)!r})")
    return v


def _text(shown) -> str:
    return shown() if callable(shown) else shown


def count(name, value, low, high):
    """A whole-number knob (scalar or array) in [low, high]; float or float array."""
    if type(value) is int and -_EXACT <= value <= _EXACT:   # the common case, inline
        v = float(value)
        if (low is None or v >= low) and (high is None or v <= high):
            return v
    return number(name, value, low=low, high=high, integer=True)


#: integers a float holds exactly (2^53): the inline path of :func:`count` stays within them
_EXACT = 2 ** 53


def fraction(name, value, *, zero=False):
    """A fraction in (0, 1] (``zero=True``: [0, 1]); float or float array."""
    return number(name, value, low=0.0, high=1.0, low_open=not zero)


def quantity(name, value, unit, *, low=None, high=None, low_open=False, high_open=False,
             integer=False):
    """Base-unit magnitude of ``value`` given as a quantity, quantity string, or number / array
    in ``unit``; the range (``low``, ``high``, in ``unit``) is checked in ``unit``."""
    u = parse_unit(unit) if isinstance(unit, str) else unit
    if isinstance(value, pint.Quantity):
        check_dimension(value, u, what=name)
        mag = value.to(u).magnitude
    elif isinstance(value, str):
        if not value.strip():
            raise InputError(f"{name} is an empty string; give a quantity such as "
                             f"'1 {_unit_text(u) or 'dimensionless'}'")
        try:
            mag = parse_quantity(value, u).to(u).magnitude
        except UnitError as exc:
            ushow = _unit_text(u)
            raise UnitError(f"{name}: {exc}; give a finite quantity of the dimension of "
                            f"{ushow or 'a pure number'}, e.g. '1 {ushow}'".rstrip()) from None
    else:
        mag = value

    def shown():   # the value as the message shows it (formatted only for a message)
        return _show(value) if not isinstance(value, pint.Quantity) \
            or np.ndim(value.magnitude) else f"{value:~P}"
    v = number(name, mag, low=low, high=high, low_open=low_open, high_open=high_open,
               integer=integer, unit=u, shown=shown)
    return v * base_factor(u)


def _unit_text(unit) -> str:
    """A unit as messages show it: a string as is, a pint unit abbreviated (``GB/s``)."""
    return unit if isinstance(unit, str) else f"{unit:~P}"


def _hard_bounds(row):
    """The physical bounds of a symbol (its plausible bounds are not: they only guide search).

    Every model quantity is non-negative; a rate (a unit per time: bandwidths, FLOP/s, clocks)
    or an efficiency-like fraction whose plausible range excludes 0 must be positive (zero
    would divide a time by zero); a dimensionless quantity whose plausible range ends at 1 (a
    fraction) is at most 1. Latencies, byte counts and overheads may be 0 (an idealisation).
    """
    lo, hi = row.bounds
    unit = parse_unit(row.unit)
    dimensionless = unit.dimensionless
    high = 1.0 if dimensionless and hi == 1.0 else None
    rate = dict(unit.dimensionality).get("[time]", 0) < 0
    positive = lo > 0 and (rate or (high is not None))
    return 0.0, high, positive


def symbol_value(name, value, *, unit=None, whole=False):
    """Base-unit magnitude of a value for the model quantity ``name``.

    Accepts a quantity, a quantity string or a bare number / array in the symbol's declared unit
    (``ms.symbols.info(name).unit``, or ``unit`` when given); refuses NaN, infinities and values
    beyond the symbol's physical bounds (see :func:`_hard_bounds`). Counts (the symbol's
    ``integer`` flag) must be whole only with ``whole=True``: the equations themselves accept a
    continuous relaxation (derivatives and finite differences use it); the task-level knobs
    (batch, devices, parallel degrees) are whole numbers.
    """
    from .symbols import info
    try:
        row = info(name)
    except KeyError as exc:
        raise InputError(str(exc).strip("'\"")) from None
    low, high, low_open = _hard_bounds(row)
    return quantity(name, value, unit or row.unit, low=low, high=high, low_open=low_open,
                    integer=row.integer and whole)


def scalar_value(name, value):
    """Base-unit magnitude of one user value for the symbol ``name`` (quantity, quantity string
    or number in the declared unit), checked as :func:`symbol_value`; an array of one element is
    unwrapped and a longer one refused."""
    v = symbol_value(name, value)
    if isinstance(v, np.ndarray):
        if v.size != 1:
            raise InputError(f"{name} must be a single value here, got an array of shape {v.shape}")
        v = float(v.reshape(()))
    return v


def one(value, message: str):
    """``value`` (a checked number or quantity magnitude, as :func:`number`, :func:`count`,
    :func:`fraction` or :func:`quantity` return it) when it is one number; an array is refused
    with ``message`` (an argument that takes one value, not a sweep, such as a request rate)."""
    if isinstance(value, np.ndarray):
        raise InputError(message)
    return value


def magnitude(name, value):
    """Base-unit magnitude of a trusted scalar (registry value, default) for the symbol ``name``:
    unit and dimension are checked, the range is not (the registry schema checks its values)."""
    from .symbols import info
    from .units import as_quantity, to_base
    v = to_base(as_quantity(value, info(name).unit, what=name))
    return v if isinstance(v, np.ndarray) else float(v)
