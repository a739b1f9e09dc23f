"""The one unit registry of mlsysim_sym.

Every quantity in the project is a pint quantity from ``ureg``, built once from ``units.txt``
(our own definitions, not pint's defaults): information, compute, tokens, requests, samples,
parameters, currency and emissions are real base dimensions, and SI (GB) and binary (GiB)
prefixes are both defined and never confused.

Magnitudes inside, units at the edges: :func:`to_base` turns a quantity into a float in the
registry's coherent base units (second, meter, gram, bit, FLOP, token, ...), which is what the
compiled numeric kernels consume; :func:`from_base` wraps a base magnitude back into a quantity.

User text is only ever parsed by :func:`parse_quantity`, which checks an anchored pattern and a
length cap *before* pint sees the string (``pint.Quantity('9**9**9 byte')`` hangs otherwise).
Counts may carry the multiplier ML papers write after the number: ``'2T token'`` (2e12 tokens),
``'70B param'``, ``'1.5M request'`` (k/K 1e3, M 1e6, B/G 1e9, T 1e12, P 1e15), only in front of a
count unit (token, parameter, FLOP, sample, request); link rates may be written ``'400 Gbps'``.
"""

from __future__ import annotations

import difflib
import math
import re
from functools import lru_cache
from pathlib import Path

import pint

__all__ = [
    "ureg",
    "readable",
    "Q_",
    "UnitError",
    "parse_quantity",
    "parse_unit",
    "as_quantity",
    "to_base",
    "from_base",
    "base_factor",
    "same_dimension",
    "quantity_json",
]

ureg = pint.UnitRegistry(
    str(Path(__file__).with_name("units.txt")),
    autoconvert_offset_to_baseunit=False,
    on_redefinition="raise",
)
ureg.formatter.default_format = "~P"
Q_ = ureg.Quantity
pint.set_application_registry(ureg)


class UnitError(ValueError):
    """A quantity string or unit that is malformed, unknown or of the wrong dimension."""


_MAX_LEN = 64
# number (optional sign, decimals, exponent), then a unit made only of letters, digits used as
# exponents, '/', '*', '^', '.', spaces, parentheses, '%', 'µ'.
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?"
_UNIT = r"(?:[A-Za-zµμ%_][A-Za-z0-9µμ%_]*(?:\s*(?:\*\*|\^)\s*-?[1-9])?)"
_UNIT_EXPR = rf"{_UNIT}(?:\s*(?:/|\*|\s)\s*\(?\s*{_UNIT}\s*\)?)*"
# a count multiplier sits right after the number and before a blank: '2T token', '70B param'
_QUANTITY_RE = re.compile(rf"^\s*({_NUMBER})(?:([kKMBGTP])(?=\s))?\s*({_UNIT_EXPR})?\s*$")
#: the multipliers of counts, as ML papers and model cards write them (B = billion)
COUNT_MULTIPLIERS = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12, "P": 1e15}
_COUNT_DIMENSIONS = ("[token]", "[parameter]", "[compute]", "[sample]", "[request]")
#: spellings offered when a unit is unknown (every one parses: a test checks)
COMMON_UNITS = ("B", "kB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB", "bit", "Mbit", "Gbit",
                "Tbit", "Mbps", "Gbps", "Tbps", "GB/s", "TB/s", "s", "ms", "us", "ns", "min", "h",
                "day", "FLOP", "GFLOP", "TFLOP", "PFLOP", "TFLOP/s", "TOP/s", "MAC", "token",
                "token/s", "param", "request", "request/s", "sample", "image", "W", "kW", "MW",
                "J", "kWh", "MWh", "Hz", "MHz", "GHz", "USD", "USD/h", "USD/kWh", "gCO2e",
                "kgCO2e", "tCO2e", "gCO2e/kWh", "L", "L/kWh", "%")
_UNIT_RE = re.compile(rf"^\s*(?:1\s*/\s*)?\(?\s*{_UNIT_EXPR}\s*\)?\s*$")


@lru_cache(maxsize=512)
def parse_unit(text: str) -> pint.Unit:
    """Parse a unit string ("GB/s", "TFLOP/s", "USD/kWh") after a strict pattern check."""
    if not isinstance(text, str):
        raise UnitError(f"a unit must be a string, got {type(text).__name__}")
    if len(text) > _MAX_LEN or not _UNIT_RE.match(text):
        raise UnitError(
            f"{text[:_MAX_LEN]!r} is not a unit this tool accepts: write a unit such as "
            "'GB/s', 'TFLOP/s', 'ms', 'W' or 'USD/kWh' (at most 64 characters)"
        )
    try:
        return ureg.Unit(text.strip())
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, AttributeError,
            ValueError, TypeError) as exc:
        names = getattr(exc, "unit_names", None) or ()
        names = [names] if isinstance(names, str) else list(names)
        raise UnitError(f"unknown unit in {text!r}: {exc}{_unit_hint(names)}") from None


#: the SI prefix of a count multiplier (B is billion = giga; K is kilo, 'k' in SI)
_SI_PREFIX = {"B": "G", "K": "k"}
_PREFIX_WORDS = {"k": "kilo", "K": "kilo", "M": "mega", "G": "giga", "T": "tera", "P": "peta",
                 "E": "exa", "": ""}


def _unit_hint(names) -> str:
    """A hint for undefined unit names: the spelling meant, or close matches."""
    hints = []
    for name in names:
        if re.fullmatch(r"[kKMGTPE]?bs?", name):
            p = "" if name[0] == "b" else name[0]
            si = "k" if p == "K" else p  # SI kilo is 'k'; 'Ki' is kibi
            hints.append(f"write '{si}bit' for {_PREFIX_WORDS[p]}bits ('{p or 'G'}bps' for a link "
                         f"rate) or '{si}B' for {_PREFIX_WORDS[p]}bytes")
        elif re.fullmatch(r"[kMGTPE]?(?:FLOP|OP|MAC)S", name):
            hints.append(f"write '{name[:-1]}/s' for a rate or '{name[:-1]}' for a count")
        elif name.lower() == "mbps":
            hints.append(f"for '{name}' write 'Mbps' (megabits per second; 'm' is milli)")
        elif name in COUNT_MULTIPLIERS:
            hints.append(f"'{name}' is not a unit: a count multiplier goes right after the number, "
                         f"before a count unit ('2{name} token'), or the prefix on the unit "
                         f"('2 {_SI_PREFIX.get(name, name)}FLOP')")
        else:
            close = difflib.get_close_matches(name, COMMON_UNITS, n=3, cutoff=0.6)
            if close:
                hints.append(f"did you mean {' or '.join(repr(c) for c in close)} for '{name}'?")
    return ("; " + "; ".join(hints)) if hints else ""


def parse_quantity(text: str, expected: str | pint.Unit | None = None) -> pint.Quantity:
    """Parse a quantity string such as ``"3.35 TB/s"`` without ever evaluating it as code.

    Parameters
    ----------
    text : str
        A number followed by an optional unit; at most 64 characters.
    expected : str or pint.Unit, optional
        If given, the parsed quantity must have this unit's dimension.

    Raises
    ------
    UnitError
        If the string is malformed, too long, has an unknown unit or the wrong dimension.
    """
    if not isinstance(text, str):
        raise UnitError(f"a quantity must be a string such as '80 GB', got {type(text).__name__}")
    if len(text) > _MAX_LEN:
        raise UnitError(f"quantity string is longer than {_MAX_LEN} characters: {text[:_MAX_LEN]!r}...")
    match = _QUANTITY_RE.match(text)
    if not match:
        raise UnitError(
            f"{text!r} is not a quantity: write a number then a unit, e.g. '80 GB', '3.35 TB/s', "
            "'989 TFLOP/s', '700 W', '20 ms'"
        )
    number, multiplier, unit = match.group(1), match.group(2), match.group(3)
    value = float(number)
    if not math.isfinite(value):
        raise UnitError(f"{text!r} is not a finite number")
    u = parse_unit(unit) if unit else ureg.dimensionless
    if multiplier:
        dims = u.dimensionality
        if not any(dims.get(d, 0) > 0 for d in _COUNT_DIMENSIONS):
            raise UnitError(f"{text!r}: the multiplier {multiplier!r} after the number scales "
                            f"counts (tokens, parameters, FLOPs, samples, requests), as in "
                            f"'2T token'; for {unit} write the number out ("
                            f"'{value * COUNT_MULTIPLIERS[multiplier]:g} {unit}') or put a prefix "
                            "on the unit")
        value *= COUNT_MULTIPLIERS[multiplier]
    q = Q_(value, u)
    if expected is not None:
        check_dimension(q, expected, what=repr(text))
    return q


def check_dimension(q: pint.Quantity, expected: str | pint.Unit, what: str = "value") -> None:
    """Raise :class:`UnitError` naming both units if ``q`` does not have ``expected``'s dimension."""
    exp_unit = parse_unit(expected) if isinstance(expected, str) else expected
    if q.dimensionality != exp_unit.dimensionality:
        have = f"{q.units:~P}" or "no unit"
        want = f"{exp_unit:~P}" or "no unit"
        raise UnitError(
            f"{what} has unit {have} ({_dim_text(q.dimensionality)}), but {want} "
            f"({_dim_text(exp_unit.dimensionality)}) is expected"
        )


def _dim_text(dim) -> str:
    text = str(dim)
    return "dimensionless" if text in ("", "dimensionless") else text


def as_quantity(value, unit: str | pint.Unit, what: str = "value") -> pint.Quantity:
    """Coerce ``value`` (quantity, quantity string, or bare number meaning ``unit``) to a quantity."""
    exp_unit = parse_unit(unit) if isinstance(unit, str) else unit
    if isinstance(value, pint.Quantity):
        check_dimension(value, exp_unit, what)
        return value
    if isinstance(value, str):
        return parse_quantity(value, exp_unit) if value.strip() else _empty(what)
    return Q_(value, exp_unit)


def _empty(what):
    raise UnitError(f"{what} is an empty string")


@lru_cache(maxsize=1024)
def base_factor(unit: str | pint.Unit) -> float:
    """Factor that converts a magnitude in ``unit`` to the registry's coherent base units."""
    u = parse_unit(unit) if isinstance(unit, str) else unit
    return float(Q_(1.0, u).to_base_units().magnitude)


@lru_cache(maxsize=1024)
def base_unit(unit: str | pint.Unit) -> pint.Unit:
    u = parse_unit(unit) if isinstance(unit, str) else unit
    return Q_(1.0, u).to_base_units().units


def to_base(q: pint.Quantity):
    """Magnitude of ``q`` in coherent base units (float or numpy array)."""
    return q.magnitude * base_factor(q.units)


def from_base(magnitude, unit: str | pint.Unit) -> pint.Quantity:
    """Wrap a base-unit magnitude as a quantity expressed in ``unit``."""
    u = parse_unit(unit) if isinstance(unit, str) else unit
    return Q_(magnitude / base_factor(u), u)


def same_dimension(a: str | pint.Unit, b: str | pint.Unit) -> bool:
    ua = parse_unit(a) if isinstance(a, str) else a
    ub = parse_unit(b) if isinstance(b, str) else b
    return ua.dimensionality == ub.dimensionality


def quantity_json(q):
    """``{"value": magnitude, "unit": compact unit}`` of a quantity, for JSON output.

    The magnitude is a float, or a (nested) list for an array; ``None`` stays ``None``.
    """
    if q is None:
        return None
    m = q.magnitude
    value = m.tolist() if hasattr(m, "tolist") and getattr(m, "ndim", 0) else float(m)
    return {"value": value, "unit": f"{q.units:~P}"}


def readable(q):
    """``q`` in a readable unit: bytes in B .. TB (KiB .. TiB when given in a binary unit),
    times in us .. s; anything else, or a value that is not one finite number, as it is."""
    try:
        mag = abs(float(q.magnitude))
    except (TypeError, ValueError, AttributeError):
        return q
    binary = "iB" in f"{q.units:~P}"  # a capacity given in KiB / MiB stays binary
    for dim_unit, ladder in (("B", ("TiB", "GiB", "MiB", "KiB", "B") if binary
                              else ("TB", "GB", "MB", "kB", "B")),
                             ("s", ("s", "ms", "us"))):
        if same_dimension(q.units, dim_unit) and mag == mag and mag != float("inf"):
            for unit in ladder:
                if mag > 0 and abs(q.to(unit).magnitude) >= 1:
                    return q.to(unit)
            return q.to(ladder[-1])
    return q
