"""Equation, Constraint and Wall records, and the dimensional check every equation passes.

An :class:`Equation` is definitional (``lhs := rhs``): the composed system is a DAG and forward
prediction is topological substitution. Regimes are written with ``Max``/``Min``/``Piecewise``
(never Python branching) and an equation may name the wall each argument of its top-level Max
stands for (``branches``), so a result can say which wall binds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy
from pint.util import UnitsContainer

from ..symbols import info
from ..units import parse_unit
from .references import reference

__all__ = ["Equation", "Constraint", "Wall", "DimensionError", "dimension_of", "check_equation"]


class DimensionError(ValueError):
    """An equation whose terms do not share a dimension."""


@dataclass(frozen=True)
class Equation:
    """A definition ``lhs := rhs`` with its citation.

    Parameters
    ----------
    lhs : sympy.Symbol
        The defined quantity (declared in ``symbols.py``).
    rhs : sympy.Expr
        Its expression in other declared symbols.
    cite : str
        Key in :data:`mlsysim_sym.equations.references.REFERENCES`.
    locator : str
        Equation, table or section in the cited source.
    branches : dict, optional
        ``{argument symbol: wall name}`` for the arguments of a ``Max``/``Min`` in ``rhs``.
    note : str
        Where and why the model departs from the source, if it does.
    """

    lhs: sympy.Symbol
    rhs: sympy.Expr
    cite: str
    locator: str = ""
    branches: dict = field(default_factory=dict, hash=False, compare=False)
    note: str = ""

    def __post_init__(self):
        info(self.lhs)  # declared?
        reference(self.cite)
        for s in self.rhs.free_symbols:
            info(s)

    @property
    def name(self) -> str:
        return self.lhs.name

    def latex(self) -> str:
        from ..report import latex_expr
        return f"{info(self.lhs).latex} = {latex_expr(self.rhs)}"

    def _repr_latex_(self) -> str:
        from ..report import notebook_latex
        return notebook_latex(self)


@dataclass(frozen=True)
class Constraint:
    """A capacity or SLA limit ``lhs <= rhs`` (kept apart from the definitions)."""

    name: str
    lhs: sympy.Expr
    rhs: sympy.Expr
    cite: str
    #: capacity | sla | stability | domain (a relation the inputs must satisfy for the
    #: equations to mean anything, such as k <= E experts: :meth:`System.check_domain`)
    kind: str = "capacity"
    locator: str = ""

    def __post_init__(self):
        reference(self.cite)
        for s in (self.lhs.free_symbols | self.rhs.free_symbols):
            info(s)

    def latex(self) -> str:
        from ..report import latex_expr
        return f"{latex_expr(self.lhs)} \\le {latex_expr(self.rhs)}"

    def _repr_latex_(self) -> str:
        from ..report import notebook_latex
        return notebook_latex(self)


@dataclass(frozen=True)
class Wall:
    """One physical limit of an ML system."""

    number: int
    name: str
    domain: str
    summary: str
    regime: str
    equations: tuple
    constraints: tuple = ()
    references: tuple = ()
    kind: str = "wall"  # "wall" (numbered physical limit) | "workload" (a model family's work)

    def __post_init__(self):
        if self.kind not in ("wall", "workload"):
            raise ValueError(f"Wall.kind must be 'wall' or 'workload', got {self.kind!r}")
        if not self.references:
            raise ValueError(f"wall {self.number} {self.name} cites no reference")
        for key in self.references:
            reference(key)
        for eq in self.equations:
            if eq.cite not in self.references:
                raise ValueError(f"wall {self.name}: equation {eq.name} cites {eq.cite!r}, "
                                 "which is not in the wall's references")

    @property
    def key(self) -> str:
        return self.name.lower().replace(" ", "_").replace("-", "_")

    def symbols(self) -> set:
        out = set()
        for eq in self.equations:
            out |= {eq.lhs} | eq.rhs.free_symbols
        for c in self.constraints:
            out |= c.lhs.free_symbols | c.rhs.free_symbols
        return out

    def latex(self) -> str:
        from ..report import wall_latex
        return wall_latex(self)

    def _repr_latex_(self) -> str:
        from ..report import notebook_latex
        return notebook_latex(self)

    def __repr__(self) -> str:
        return f"Wall({self.number}, {self.name!r}, {len(self.equations)} equations)"


# ---------------------------------------------------------------------------------------------
# Dimensional analysis over sympy expressions
# ---------------------------------------------------------------------------------------------
_DIMLESS = UnitsContainer({})
_SAME_DIM_FUNCS = (sympy.Max, sympy.Min)
_DIMLESS_FUNCS = (sympy.exp, sympy.log, sympy.sin, sympy.cos, sympy.tanh, sympy.erf, sympy.erfc,
                  sympy.Heaviside, sympy.gamma, sympy.loggamma, sympy.LambertW)


def _fmt(dim: UnitsContainer) -> str:
    return "dimensionless" if dim == _DIMLESS else str(dim)


def _is_wildcard(expr) -> bool:
    """0 and +-infinity are valid in any dimension."""
    return expr.is_Number and (expr == 0 or expr in (sympy.oo, -sympy.oo))


def symbol_dimension(sym) -> UnitsContainer:
    return parse_unit(info(sym).unit).dimensionality


def dimension_of(expr, where: str = "expression") -> UnitsContainer:
    """Dimension of a sympy expression built from declared symbols.

    Raises :class:`DimensionError` naming the offending term and both dimensions.
    """
    if isinstance(expr, sympy.Symbol):
        return symbol_dimension(expr)
    if expr.is_Number or isinstance(expr, (sympy.core.numbers.NumberSymbol,)):
        return _DIMLESS
    if isinstance(expr, sympy.Add) or isinstance(expr, _SAME_DIM_FUNCS):
        # 0 and +-oo carry any dimension (an unbounded latency is still a time)
        dims = [(a, dimension_of(a, where)) for a in expr.args if not _is_wildcard(a)]
        if not dims:
            return _DIMLESS
        first_arg, first = dims[0]
        for arg, d in dims[1:]:
            if d != first:
                raise DimensionError(
                    f"{where}: term {arg} has dimension {_fmt(d)}, but term {first_arg} has "
                    f"{_fmt(first)}; terms of a sum, Max or Min must share one dimension")
        return first
    if isinstance(expr, sympy.Mul):
        out = _DIMLESS
        for a in expr.args:
            out = out * dimension_of(a, where)
        return out
    if isinstance(expr, sympy.Pow):
        base, exponent = expr.args
        bdim = dimension_of(base, where)
        if exponent.is_Number:
            return bdim ** float(exponent) if not exponent.is_Integer else bdim ** int(exponent)
        edim = dimension_of(exponent, where)
        if bdim != _DIMLESS or edim != _DIMLESS:
            raise DimensionError(f"{where}: {expr} raises {_fmt(bdim)} to a symbolic power of "
                                 f"{_fmt(edim)}; both must be dimensionless")
        return _DIMLESS
    if isinstance(expr, sympy.Piecewise):
        dims = []
        for value, cond in expr.args:
            if not _is_wildcard(value):
                dims.append((value, dimension_of(value, where)))
            if cond not in (sympy.true, sympy.false):
                dimension_of(cond, where)
        if not dims:
            return _DIMLESS
        first_arg, first = dims[0]
        for arg, d in dims[1:]:
            if d != first and not _is_wildcard(arg):
                raise DimensionError(f"{where}: branch {arg} has dimension {_fmt(d)}, but branch "
                                     f"{first_arg} has {_fmt(first)}")
        return first
    if isinstance(expr, sympy.core.relational.Relational):
        lhs, rhs = expr.args
        dl, dr = dimension_of(lhs, where), dimension_of(rhs, where)
        if dl != dr and not _is_wildcard(rhs) and not _is_wildcard(lhs):
            raise DimensionError(f"{where}: comparison {expr} compares {_fmt(dl)} with {_fmt(dr)}")
        return _DIMLESS
    if isinstance(expr, (sympy.And, sympy.Or, sympy.Not)):
        for a in expr.args:
            dimension_of(a, where)
        return _DIMLESS
    if isinstance(expr, (sympy.floor, sympy.ceiling, sympy.Abs)):
        return dimension_of(expr.args[0], where)
    if isinstance(expr, _DIMLESS_FUNCS) or isinstance(expr, sympy.Function):
        # transcendental and special functions (exp, log, erf, gamma, uppergamma, ...) take
        # dimensionless arguments and return dimensionless values
        for a in expr.args:
            d = dimension_of(a, where)
            if d != _DIMLESS:
                raise DimensionError(f"{where}: argument {a} of {expr.func.__name__} has dimension "
                                     f"{_fmt(d)}; it must be dimensionless")
        return _DIMLESS
    raise DimensionError(f"{where}: cannot determine the dimension of {expr!r} "
                         f"({type(expr).__name__} is not supported by the checker)")


def check_equation(eq: Equation) -> None:
    """Raise :class:`DimensionError` unless ``lhs`` and ``rhs`` have the same dimension."""
    where = f"equation {eq.name} ({eq.cite})"
    rdim = dimension_of(eq.rhs, where)
    ldim = symbol_dimension(eq.lhs)
    if ldim != rdim:
        raise DimensionError(f"{where}: the left side {eq.name} is {info(eq.lhs).unit} "
                             f"({_fmt(ldim)}) but the right side {eq.rhs} is {_fmt(rdim)}")


def check_constraint(c: Constraint) -> None:
    where = f"constraint {c.name} ({c.cite})"
    dl, dr = dimension_of(c.lhs, where), dimension_of(c.rhs, where)
    if dl != dr:
        raise DimensionError(f"{where}: {c.lhs} is {_fmt(dl)} but {c.rhs} is {_fmt(dr)}")
